//! When each source is polled, and for which window: the near window often, the full horizon
//! rarely. Pure: it is told the time.

use std::time::Duration;

use chrono::{DateTime, Utc};
use klar_adapters::sources::Cadence;
use klar_engine::model::Window;

/// Which window a poll asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `now .. now + near_ahead`: new and cancelled bookings that matter soon.
    Near,
    /// The source's whole horizon.
    Full,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Near => "near",
            Scope::Full => "full",
        }
    }
}

/// One source's poll schedule.
#[derive(Debug, Clone)]
pub struct PollSchedule {
    cadence: Cadence,
    full_every: chrono::Duration,
    near: Option<(chrono::Duration, chrono::Duration)>,
    next_full: DateTime<Utc>,
    next_near: DateTime<Utc>,
}

fn chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

impl PollSchedule {
    /// A schedule whose first poll (a full one) is due at `start`. `near`: how often and how far
    /// ahead near polls look; `None` for full polls only.
    pub fn new(
        start: DateTime<Utc>,
        cadence: Cadence,
        full_every: Option<Duration>,
        near: Option<(Duration, Duration)>,
    ) -> Self {
        let full_every =
            chrono(full_every.unwrap_or(cadence.every)).max(chrono::Duration::seconds(1));
        let near = near
            .filter(|(every, ahead)| !every.is_zero() && !ahead.is_zero())
            .map(|(every, ahead)| (chrono(every), chrono(ahead)));
        PollSchedule {
            cadence,
            full_every,
            near,
            next_full: start,
            next_near: start,
        }
    }

    /// The poll due at `now`, if any, and advances the schedule past it. A full poll covers the
    /// near window too, so it also postpones the next near poll.
    pub fn due(&mut self, now: DateTime<Utc>) -> Option<Scope> {
        if now >= self.next_full {
            self.next_full = now + self.full_every;
            if let Some((every, _)) = self.near {
                self.next_near = now + every;
            }
            return Some(Scope::Full);
        }
        if let Some((every, _)) = self.near
            && now >= self.next_near
        {
            self.next_near = now + every;
            return Some(Scope::Near);
        }
        None
    }

    /// When the next poll is due.
    pub fn next_at(&self) -> DateTime<Utc> {
        match self.near {
            Some(_) => self.next_full.min(self.next_near),
            None => self.next_full,
        }
    }

    /// Makes a full poll due now (a "sync now" from the dashboard, or a failed full poll to
    /// retry at the next near slot).
    pub fn full_now(&mut self, now: DateTime<Utc>) {
        self.next_full = now;
    }

    /// Makes a full poll due at `at` at the latest (a web "sync now" after its cooldown); an
    /// earlier one already due stays.
    pub fn full_by(&mut self, at: DateTime<Utc>) {
        self.next_full = self.next_full.min(at);
    }

    /// The window a poll of `scope` asks for at `now`.
    pub fn window(&self, scope: Scope, now: DateTime<Utc>) -> Window {
        match (scope, self.near) {
            (Scope::Near, Some((_, ahead))) => {
                Window::new(now, now + ahead).expect("near_ahead is positive")
            }
            _ => self.cadence.window(now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_795_000_000 + s, 0).unwrap()
    }

    fn cadence() -> Cadence {
        Cadence {
            every: Duration::from_secs(900),
            ahead: Duration::from_secs(24 * 3600),
            behind: Duration::ZERO,
        }
    }

    #[test]
    fn full_first_then_near_every_45s_and_full_every_15_min() {
        let mut s = PollSchedule::new(
            at(0),
            cadence(),
            None,
            Some((Duration::from_secs(45), Duration::from_secs(7200))),
        );
        let mut polls = Vec::new();
        for t in 0..=3600 {
            if let Some(scope) = s.due(at(t)) {
                polls.push((t, scope));
            }
        }
        let full: Vec<i64> = polls
            .iter()
            .filter(|p| p.1 == Scope::Full)
            .map(|p| p.0)
            .collect();
        assert_eq!(full, vec![0, 900, 1800, 2700, 3600]);
        let near = polls.iter().filter(|p| p.1 == Scope::Near).count();
        // 20 slots of 45 s per 15 minutes, the one that falls on a full poll replaced by it.
        assert_eq!(near, 76, "{polls:?}");
        // No gap between polls is longer than 45 s.
        assert!(polls.windows(2).all(|w| w[1].0 - w[0].0 <= 45));
        assert_eq!(
            s.window(Scope::Near, at(0)).to - at(0),
            chrono::Duration::hours(2)
        );
        assert_eq!(
            s.window(Scope::Full, at(0)).to - at(0),
            chrono::Duration::hours(24)
        );
    }

    #[test]
    fn without_near_polls_only_full_ones() {
        let mut s = PollSchedule::new(at(0), cadence(), None, None);
        assert_eq!(s.due(at(0)), Some(Scope::Full));
        assert_eq!(s.next_at(), at(900));
        assert_eq!(s.due(at(899)), None);
    }
}
