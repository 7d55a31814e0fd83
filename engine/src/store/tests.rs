//! Store tests: migrations, snapshots, applied state, audit, corruption.

use super::*;
use crate::model::{BookingStatus, ZoneId};
use crate::plan::Target;
use crate::reconcile::audit_changes;
use crate::rules::RuleLocation;
use chrono::TimeZone;

fn at(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, h, 0, 0).unwrap()
}

fn booking() -> Booking {
    serde_json::from_str(
        r#"{"id": "B-1", "source": "halls", "resource": "7", "title": "Håndbold",
            "start": "2026-11-23T16:00:00Z", "end": "2026-11-23T18:00:00Z",
            "responsible": {"name": "Mette", "member_no": "42", "pin": "4711"}}"#,
    )
    .unwrap()
}

fn row(from: u32, to: u32) -> AppliedWindow {
    AppliedWindow {
        target: Target::Zone {
            zone: ZoneId::new("Z-1"),
        },
        source: "halls".into(),
        booking: "B-1".into(),
        title: "Håndbold".into(),
        window: Window::new(at(from), at(to)).unwrap(),
        pack: "margins".into(),
        pack_version: "1.2.0".into(),
        rule: RuleLocation {
            file: "margins/rules/zone.rhai".into(),
            line: 4,
            column: 1,
        },
        booked: None,
    }
}

/// The plan an audit is reasoned against at `h`: the margins pack, and B-1 known or not.
fn plan_at(h: u32, known: bool) -> crate::plan::Plan {
    let mut p = crate::plan::Plan::empty(
        "t".into(),
        at(h),
        Window::new(at(h), at(h + 1)).unwrap(),
        vec![PackRef {
            name: "margins".into(),
            version: "1.2.0".into(),
        }],
    );
    if known {
        p.bookings.insert(
            ("halls".into(), "B-1".into()),
            crate::plan::Booked::of(&booking()),
        );
    }
    p
}

#[test]
fn a_new_store_is_at_the_latest_schema_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("klar.db");
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    store
        .save_snapshot(&"halls".into(), at(9), &[booking()])
        .unwrap();
    drop(store);
    let store = Store::open(&path).unwrap();
    let snap = store.snapshot(&"halls".into()).unwrap().unwrap();
    assert_eq!(snap.fetched_at, at(9));
    assert_eq!(snap.bookings, vec![booking()]);
    assert_eq!(snap.bookings[0].status, BookingStatus::Confirmed);
}

#[test]
fn applies_and_audit_round_trip() {
    let mut store = Store::in_memory().unwrap();
    let first = vec![row(15, 19)];
    let changes = audit_changes(&[], &first, &plan_at(9, true));
    store
        .record_apply(
            "unilock-sim",
            at(9),
            &first,
            &changes,
            &["+ shared exception 12".into()],
            &[PackRef {
                name: "margins".into(),
                version: "1.2.0".into(),
            }],
        )
        .unwrap();
    assert_eq!(store.applied("unilock-sim").unwrap(), first);
    let second = vec![row(15, 20)];
    let changes = audit_changes(&first, &second, &plan_at(10, true));
    store
        .record_apply(
            "unilock-sim",
            at(10),
            &second,
            &changes,
            &["~ x".into()],
            &[],
        )
        .unwrap();
    let changes = audit_changes(&second, &[], &plan_at(11, false));
    store
        .record_apply("unilock-sim", at(11), &[], &changes, &["- x".into()], &[])
        .unwrap();
    let audit = store.audit(10).unwrap();
    let reasons: Vec<ChangeReason> = audit.iter().map(|a| a.reason).collect();
    assert_eq!(
        reasons,
        vec![
            ChangeReason::Created,
            ChangeReason::Extended,
            ChangeReason::Cancelled
        ]
    );
    assert_eq!(audit[1].before, vec![Window::new(at(15), at(19)).unwrap()]);
    assert_eq!(audit[1].rule, "margins/rules/zone.rhai:4:1");
    assert_eq!(audit[1].pack_version, "1.2.0");
    assert!(store.applied("unilock-sim").unwrap().is_empty());
    assert_eq!(store.packs().unwrap()[0].version, "1.2.0");
    assert_eq!(
        store.last_actions("unilock-sim").unwrap().unwrap().1,
        vec!["- x".to_owned()]
    );
}

#[test]
fn a_corrupt_file_is_a_clear_error_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("klar.db");
    let junk =
        b"this is not a database, it is a shopping list: milk, eggs, bread, more milk".repeat(100);
    std::fs::write(&path, &junk).unwrap();
    let e = Store::open(&path).unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");
    assert!(e.to_string().contains("klar.db"), "{e}");
    assert!(e.to_string().contains("move it aside"), "{e}");
    assert_eq!(std::fs::read(&path).unwrap(), junk);
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("klar.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    assert!(matches!(
        Store::open(&path).unwrap_err(),
        StoreError::TooNew { found: 99, .. }
    ));
}

#[cfg(unix)]
#[test]
fn the_store_and_its_journals_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("klar.db");
    let store = Store::open(&path).unwrap();
    store
        .save_snapshot(&"halls".into(), at(9), &[booking()])
        .unwrap();
    drop(store);
    assert_eq!(mode(&path), 0o600);
    // Made by an older klar, readable by everyone: tightened at the next open.
    let journal = dir.path().join("klar.db-journal");
    std::fs::write(&journal, "").unwrap();
    for p in [&path, &journal] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    std::fs::remove_file(&journal).unwrap();
    std::fs::write(&journal, "").unwrap();
    std::fs::set_permissions(&journal, std::fs::Permissions::from_mode(0o644)).unwrap();
    drop(Store::open(&path));
    assert_eq!(mode(&path), 0o600);
    if journal.exists() {
        assert_eq!(mode(&journal), 0o600);
    }
}

#[test]
fn last_good_decisions_survive_a_restart_and_only_changes_are_written() {
    use crate::plan::{Decisions, PackDecision};
    use crate::rules::RuledEffect;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("klar.db");
    let decision = |pack: &str, booking: &str| PackDecision {
        source: "halls".into(),
        booking: booking.into(),
        pack: pack.into(),
        pack_version: "1.0.0".into(),
        start: at(16),
        end: at(18),
        decided_at: at(9),
        effects: vec![RuledEffect {
            effect: crate::model::Effect::DoorMode {
                door: "D-1".into(),
                level: crate::model::DoorLevel::CardPin,
                window: Window::new(at(16), at(18)).unwrap(),
            },
            rule: RuleLocation {
                file: "rules/exam.rhai".into(),
                line: 3,
                column: 5,
            },
            core: Default::default(),
        }],
        inputs: None,
    };
    let first = Decisions::from_list([decision("exam", "B-1"), decision("notify", "B-1")]);
    let mut store = Store::open(&path).unwrap();
    let none = Decisions::default();
    let (upserts, deletes) = first.changes_from(&none);
    assert_eq!((upserts.len(), deletes.len()), (2, 0));
    store.save_decisions(&upserts, &deletes).unwrap();
    drop(store);
    // After a restart: the same decisions; then one goes and one is added.
    let mut store = Store::open(&path).unwrap();
    let loaded = Decisions::from_list(store.decisions().unwrap());
    assert_eq!(loaded, first);
    let second = Decisions::from_list([decision("exam", "B-1"), decision("exam", "B-2")]);
    let (upserts, deletes) = second.changes_from(&loaded);
    assert_eq!(upserts.len(), 1, "only B-2 is new");
    assert_eq!(deletes.len(), 1, "notify's decision goes");
    store.save_decisions(&upserts, &deletes).unwrap();
    assert_eq!(Decisions::from_list(store.decisions().unwrap()), second);
}

#[test]
fn a_first_version_store_is_migrated_keeping_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("klar.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO source_snapshots (source, fetched_at, bookings) VALUES ('halls', ?1, '[]')",
            [at(9).to_rfc3339()],
        )
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert!(store.snapshot(&"halls".into()).unwrap().is_some());
    assert!(store.decisions().unwrap().is_empty());
}
