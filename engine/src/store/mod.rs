//! The SQLite store: last good snapshot per source, what was applied to each controller, the
//! rule-pack versions seen, the audit log (each change with booking, rule, pack version,
//! before/after and reason), and each pack's last good decision per booking (so a pack that
//! fails after a restart still falls back on it).
//!
//! The schema is migrated from its first version on, by `PRAGMA user_version`: each migration
//! runs once, in a transaction. A file that is not a klar store, or is damaged, is a
//! [`StoreError::Corrupt`] naming the file; klar never overwrites it.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::model::{Booking, SourceName, Window};
use crate::plan::{DecisionKey, PackDecision, PackRef};
use crate::reconcile::{AppliedWindow, AuditChange, ChangeReason};

/// The migrations, in order; `user_version` is the number applied.
const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    "CREATE TABLE source_snapshots (
         source TEXT PRIMARY KEY,
         fetched_at TEXT NOT NULL,
         bookings TEXT NOT NULL
     );
     CREATE TABLE applied_windows (
         controller TEXT NOT NULL,
         row TEXT NOT NULL
     );
     CREATE INDEX applied_windows_controller ON applied_windows (controller);
     CREATE TABLE applies (
         id INTEGER PRIMARY KEY,
         controller TEXT NOT NULL,
         at TEXT NOT NULL,
         actions TEXT NOT NULL
     );
     CREATE TABLE rule_packs (
         name TEXT NOT NULL,
         version TEXT NOT NULL,
         first_seen TEXT NOT NULL,
         last_seen TEXT NOT NULL,
         PRIMARY KEY (name, version)
     );
     CREATE TABLE audit (
         id INTEGER PRIMARY KEY,
         at TEXT NOT NULL,
         controller TEXT NOT NULL,
         target TEXT NOT NULL,
         source TEXT NOT NULL,
         booking TEXT NOT NULL,
         title TEXT NOT NULL,
         rule TEXT NOT NULL,
         pack TEXT NOT NULL,
         pack_version TEXT NOT NULL,
         before TEXT NOT NULL,
         after TEXT NOT NULL,
         reason TEXT NOT NULL
     );",
    // 2: each pack's last good decision per booking (the planner's memory).
    "CREATE TABLE decisions (
         source TEXT NOT NULL,
         booking TEXT NOT NULL,
         pack TEXT NOT NULL,
         row TEXT NOT NULL,
         PRIMARY KEY (source, booking, pack)
     );",
];

/// The schema version this klar writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "{path}: the store is damaged or not a klar store ({message}); klar leaves it untouched: move it aside to start a new one"
    )]
    Corrupt { path: PathBuf, message: String },
    #[error(
        "{path}: the store has schema version {found}, newer than this klar understands ({SCHEMA_VERSION})"
    )]
    TooNew { path: PathBuf, found: i64 },
    #[error("{path}: {message}")]
    Sqlite { path: PathBuf, message: String },
    #[error("store data cannot be encoded or decoded: {0}")]
    Encoding(String),
}

impl StoreError {
    /// Whether retrying may help (a busy or locked database).
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Sqlite { message, .. } if message.contains("locked") || message.contains("busy"))
    }
}

/// The last good snapshot of one source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub source: SourceName,
    pub fetched_at: DateTime<Utc>,
    pub bookings: Vec<Booking>,
}

/// One audit row, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub controller: String,
    pub target: String,
    pub source: String,
    pub booking: String,
    pub title: String,
    pub rule: String,
    pub pack: String,
    pub pack_version: String,
    pub before: Vec<Window>,
    pub after: Vec<Window>,
    pub reason: ChangeReason,
}

/// A rule-pack version klar has planned with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackVersion {
    pub name: String,
    pub version: String,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

/// When an apply happened and its action lines.
pub type AppliedActions = (DateTime<Utc>, Vec<String>);

/// The store: one SQLite file.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if absent) and migrates the store at `path`. It holds the sources'
    /// bookings (names, phones, e-mails, PINs), so the file and its journals are made readable
    /// by their owner only (SQLite gives its journals the database file's permissions).
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let private = |p: &Path| {
            crate::private_file::ensure(p).map_err(|e| StoreError::Sqlite {
                path: p.to_owned(),
                message: format!("cannot make it private: {e}"),
            })
        };
        private(path)?;
        for suffix in ["-journal", "-wal", "-shm"] {
            let mut extra = path.as_os_str().to_owned();
            extra.push(suffix);
            crate::private_file::tighten(Path::new(&extra)).map_err(|e| StoreError::Sqlite {
                path: PathBuf::from(&extra),
                message: format!("cannot make it private: {e}"),
            })?;
        }
        let conn = Connection::open(path).map_err(|e| classify(path, e))?;
        Store::init(conn, path.to_owned())
    }

    /// A store in memory, for tests and `klar state`.
    pub fn in_memory() -> Result<Store, StoreError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|e| classify(&path, e))?;
        Store::init(conn, path)
    }

    fn init(conn: Connection, path: PathBuf) -> Result<Store, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| classify(&path, e))?;
        let check: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(|e| classify(&path, e))?;
        if check != "ok" {
            return Err(StoreError::Corrupt {
                path,
                message: check,
            });
        }
        let mut store = Store { conn, path };
        store.migrate()?;
        Ok(store)
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        classify(&self.path, e)
    }

    /// The schema version of the file.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let found = self.schema_version()?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found,
            });
        }
        for (i, sql) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(found).unwrap_or(0))
        {
            let path = self.path.clone();
            let tx = self.conn.transaction().map_err(|e| classify(&path, e))?;
            tx.execute_batch(sql).map_err(|e| classify(&path, e))?;
            tx.pragma_update(None, "user_version", i as i64 + 1)
                .map_err(|e| classify(&path, e))?;
            tx.commit().map_err(|e| classify(&path, e))?;
            tracing::info!(path = %self.path.display(), version = i + 1, "Store migrated.");
        }
        Ok(())
    }

    /// Keeps a source's bookings as its last good snapshot.
    pub fn save_snapshot(
        &self,
        source: &SourceName,
        fetched_at: DateTime<Utc>,
        bookings: &[Booking],
    ) -> Result<(), StoreError> {
        let json =
            serde_json::to_string(bookings).map_err(|e| StoreError::Encoding(e.to_string()))?;
        self.conn
            .execute(
                "INSERT INTO source_snapshots (source, fetched_at, bookings) VALUES (?1, ?2, ?3)
                 ON CONFLICT (source) DO UPDATE SET fetched_at = excluded.fetched_at, bookings = excluded.bookings",
                params![source.as_str(), fetched_at.to_rfc3339(), json],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Every source's last good snapshot, by source name.
    pub fn snapshots(&self) -> Result<Vec<Snapshot>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT source, fetched_at, bookings FROM source_snapshots ORDER BY source")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (source, fetched_at, bookings) = row.map_err(|e| self.err(e))?;
            out.push(Snapshot {
                source: SourceName::new(source),
                fetched_at: parse_time(&fetched_at)?,
                bookings: serde_json::from_str(&bookings)
                    .map_err(|e| StoreError::Encoding(e.to_string()))?,
            });
        }
        Ok(out)
    }

    /// One source's last good snapshot.
    pub fn snapshot(&self, source: &SourceName) -> Result<Option<Snapshot>, StoreError> {
        Ok(self.snapshots()?.into_iter().find(|s| &s.source == source))
    }

    /// What was last applied to a controller, as (target, booking, window) rows.
    pub fn applied(&self, controller: &str) -> Result<Vec<AppliedWindow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT row FROM applied_windows WHERE controller = ?1")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([controller], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let text = row.map_err(|e| self.err(e))?;
            out.push(serde_json::from_str(&text).map_err(|e| StoreError::Encoding(e.to_string()))?);
        }
        out.sort();
        Ok(out)
    }

    /// Records one successful apply in one transaction: the applied rows replace the previous
    /// ones, the audit changes and action lines are appended, the pack versions are noted.
    /// `actions` are for people (no secrets).
    pub fn record_apply(
        &mut self,
        controller: &str,
        at: DateTime<Utc>,
        applied: &[AppliedWindow],
        changes: &[AuditChange],
        actions: &[String],
        packs: &[PackRef],
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let e = |e: rusqlite::Error| classify(&path, e);
        let enc = |e: serde_json::Error| StoreError::Encoding(e.to_string());
        let tx = self.conn.transaction().map_err(e)?;
        tx.execute(
            "DELETE FROM applied_windows WHERE controller = ?1",
            [controller],
        )
        .map_err(e)?;
        for row in applied {
            tx.execute(
                "INSERT INTO applied_windows (controller, row) VALUES (?1, ?2)",
                params![controller, serde_json::to_string(row).map_err(enc)?],
            )
            .map_err(e)?;
        }
        if !actions.is_empty() {
            tx.execute(
                "INSERT INTO applies (controller, at, actions) VALUES (?1, ?2, ?3)",
                params![
                    controller,
                    at.to_rfc3339(),
                    serde_json::to_string(actions).map_err(enc)?
                ],
            )
            .map_err(e)?;
        }
        for c in changes {
            tx.execute(
                "INSERT INTO audit (at, controller, target, source, booking, title, rule, pack, pack_version, before, after, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    at.to_rfc3339(),
                    controller,
                    c.target.to_string(),
                    c.source.as_str(),
                    c.booking.as_str(),
                    c.title,
                    c.rule.to_string(),
                    c.pack,
                    c.pack_version,
                    serde_json::to_string(&c.before).map_err(enc)?,
                    serde_json::to_string(&c.after).map_err(enc)?,
                    c.reason.as_str(),
                ],
            )
            .map_err(e)?;
        }
        for p in packs {
            tx.execute(
                "INSERT INTO rule_packs (name, version, first_seen, last_seen) VALUES (?1, ?2, ?3, ?3)
                 ON CONFLICT (name, version) DO UPDATE SET last_seen = excluded.last_seen",
                params![p.name, p.version, at.to_rfc3339()],
            )
            .map_err(e)?;
        }
        tx.commit().map_err(e)
    }

    /// The audit log, oldest first; at most `limit` of the newest rows.
    pub fn audit(&self, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, at, controller, target, source, booking, title, rule, pack, pack_version, before, after, reason
                 FROM audit ORDER BY id DESC LIMIT ?1",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    [
                        r.get::<_, String>(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                        r.get(8)?,
                        r.get(9)?,
                    ],
                    r.get::<_, String>(10)?,
                    r.get::<_, String>(11)?,
                    r.get::<_, String>(12)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (
                id,
                at,
                [
                    controller,
                    target,
                    source,
                    booking,
                    title,
                    rule,
                    pack,
                    pack_version,
                ],
                before,
                after,
                reason,
            ) = row.map_err(|e| self.err(e))?;
            let dec = |e: serde_json::Error| StoreError::Encoding(e.to_string());
            out.push(AuditRecord {
                id,
                at: parse_time(&at)?,
                controller,
                target,
                source,
                booking,
                title,
                rule,
                pack,
                pack_version,
                before: serde_json::from_str(&before).map_err(dec)?,
                after: serde_json::from_str(&after).map_err(dec)?,
                reason: serde_json::from_value(serde_json::Value::String(reason)).map_err(dec)?,
            });
        }
        out.reverse();
        Ok(out)
    }

    /// Every rule-pack version planned with.
    pub fn packs(&self) -> Result<Vec<PackVersion>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, version, first_seen, last_seen FROM rule_packs ORDER BY name, first_seen")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (name, version, first, last) = row.map_err(|e| self.err(e))?;
            out.push(PackVersion {
                name,
                version,
                first_seen: parse_time(&first)?,
                last_seen: parse_time(&last)?,
            });
        }
        Ok(out)
    }

    /// Every pack's last good decision per booking.
    pub fn decisions(&self) -> Result<Vec<PackDecision>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT row FROM decisions ORDER BY source, booking, pack")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let text = row.map_err(|e| self.err(e))?;
            out.push(serde_json::from_str(&text).map_err(|e| StoreError::Encoding(e.to_string()))?);
        }
        Ok(out)
    }

    /// Writes changed decisions and deletes those no longer kept, in one transaction.
    pub fn save_decisions(
        &mut self,
        upserts: &[&PackDecision],
        deletes: &[&DecisionKey],
    ) -> Result<(), StoreError> {
        if upserts.is_empty() && deletes.is_empty() {
            return Ok(());
        }
        let path = self.path.clone();
        let e = |e: rusqlite::Error| classify(&path, e);
        let tx = self.conn.transaction().map_err(e)?;
        for k in deletes {
            tx.execute(
                "DELETE FROM decisions WHERE source = ?1 AND booking = ?2 AND pack = ?3",
                params![k.source.as_str(), k.booking.as_str(), k.pack],
            )
            .map_err(e)?;
        }
        for d in upserts {
            let row = serde_json::to_string(d).map_err(|e| StoreError::Encoding(e.to_string()))?;
            tx.execute(
                "INSERT INTO decisions (source, booking, pack, row) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (source, booking, pack) DO UPDATE SET row = excluded.row",
                params![d.source.as_str(), d.booking.as_str(), d.pack, row],
            )
            .map_err(e)?;
        }
        tx.commit().map_err(e)
    }

    /// The action lines of the last apply to a controller, if any.
    pub fn last_actions(&self, controller: &str) -> Result<Option<AppliedActions>, StoreError> {
        let row: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT at, actions FROM applies WHERE controller = ?1 ORDER BY id DESC LIMIT 1",
                [controller],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        match row {
            None => Ok(None),
            Some((at, actions)) => Ok(Some((
                parse_time(&at)?,
                serde_json::from_str(&actions).map_err(|e| StoreError::Encoding(e.to_string()))?,
            ))),
        }
    }
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Encoding(format!("bad time {text:?}: {e}")))
}

fn classify(path: &Path, e: rusqlite::Error) -> StoreError {
    use rusqlite::ffi::ErrorCode;
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) =>
        {
            StoreError::Corrupt {
                path: path.to_owned(),
                message: e.to_string(),
            }
        }
        _ => StoreError::Sqlite {
            path: path.to_owned(),
            message: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests;
