//! The bookings in force for one source: the last good snapshot, with each poll's answer
//! judged by the sources' [`SnapshotGuard`] (a failed or malformed poll keeps the snapshot,
//! bookings gone from the polled window are cancelled, a mass disappearance is held back until
//! the next poll confirms it). A near-window poll answers only for its window, so the rest of
//! the horizon stays as the last full poll left it.

use chrono::{DateTime, Utc};
use klar_adapters::sources::guard::{GuardConfig, Health, Snapshot, SnapshotGuard};
use klar_adapters::sources::{PollOutcome, SourceError};
use klar_engine::model::{Booking, SourceName, Window};
use klar_engine::site::Retention;

/// One source's bookings in force.
#[derive(Debug, Clone)]
pub struct SourceBookings {
    name: SourceName,
    guard: SnapshotGuard,
    last_good: Option<Snapshot>,
}

/// What one poll did to the bookings in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merge {
    /// The bookings in force changed.
    pub changed: bool,
    pub health: Health,
    /// A new last good snapshot to save in the store.
    pub save: bool,
}

impl SourceBookings {
    pub fn new(name: SourceName) -> Self {
        SourceBookings {
            name,
            guard: SnapshotGuard::new(GuardConfig::default()),
            last_good: None,
        }
    }

    /// Starts from the snapshot the store kept.
    pub fn from_store(name: SourceName, bookings: Vec<Booking>, fetched_at: DateTime<Utc>) -> Self {
        let window = Window::new(fetched_at, fetched_at + chrono::Duration::seconds(1))
            .expect("a one-second window is non-empty");
        SourceBookings {
            last_good: Some(Snapshot {
                source: name.clone(),
                taken_at: fetched_at,
                window,
                bookings,
            }),
            ..SourceBookings::new(name)
        }
    }

    pub fn bookings(&self) -> &[Booking] {
        self.last_good
            .as_ref()
            .map_or(&[], |s| s.bookings.as_slice())
    }

    pub fn fetched_at(&self) -> Option<DateTime<Utc>> {
        self.last_good.as_ref().map(|s| s.taken_at)
    }

    /// Judges a poll and keeps what is in force. `retention` is the site's: how long a booking
    /// that has ended stays (its after-margins end on their own; it is never cancelled).
    pub fn merge(
        &mut self,
        poll: Result<&PollOutcome, &SourceError>,
        now: DateTime<Utc>,
        retention: Retention,
    ) -> Merge {
        self.guard.set_retention(retention);
        let verdict = self
            .guard
            .accept(&self.name, self.last_good.as_ref(), poll, now);
        match verdict.store {
            Some(snapshot) => {
                let changed = snapshot.bookings != self.bookings();
                self.last_good = Some(snapshot);
                Merge {
                    changed,
                    health: verdict.health,
                    save: true,
                }
            }
            None => Merge {
                changed: false,
                health: verdict.health,
                save: false,
            },
        }
    }
}
