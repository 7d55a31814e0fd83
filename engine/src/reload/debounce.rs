//! Debouncing file events: a save is often several events (write, rename, chmod) in a few
//! milliseconds; reload once they have been quiet for a while.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Collects changed paths and says when they are ready: `quiet` after the last event. Reads no
/// clock: the caller passes the instants.
#[derive(Debug, Clone)]
pub struct Debouncer {
    quiet: Duration,
    paths: BTreeSet<PathBuf>,
    last_event: Option<Instant>,
}

impl Debouncer {
    pub fn new(quiet: Duration) -> Self {
        Debouncer {
            quiet,
            paths: BTreeSet::new(),
            last_event: None,
        }
    }

    /// Records a changed path seen at `at`.
    pub fn push(&mut self, path: PathBuf, at: Instant) {
        self.paths.insert(path);
        self.last_event = Some(at);
    }

    /// When the collected paths will be ready, if any are waiting.
    pub fn deadline(&self) -> Option<Instant> {
        self.last_event.map(|t| t + self.quiet)
    }

    /// The collected paths if they have been quiet long enough at `now`; they are then cleared.
    pub fn take_due(&mut self, now: Instant) -> Option<BTreeSet<PathBuf>> {
        match self.deadline() {
            Some(deadline) if now >= deadline => {
                self.last_event = None;
                Some(std::mem::take(&mut self.paths))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_events_is_one_batch_after_the_quiet_time() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut d = Debouncer::new(ms(150));
        assert_eq!(d.take_due(t0), None);
        d.push("a.rhai".into(), t0);
        d.push("a.rhai".into(), t0 + ms(20));
        d.push("b.rhai".into(), t0 + ms(100));
        assert_eq!(d.deadline(), Some(t0 + ms(250)));
        assert_eq!(d.take_due(t0 + ms(249)), None);
        let batch = d.take_due(t0 + ms(250)).expect("due");
        assert_eq!(batch.len(), 2);
        assert_eq!(d.deadline(), None);
        assert_eq!(d.take_due(t0 + ms(1000)), None);
    }
}
