//! The SQLite store: last good snapshot per source, applied state, rule-pack versions, audit log.
