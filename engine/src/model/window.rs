//! The half-open time window `[from, to)` every effect carries, in UTC.
//!
//! The half-open rule lives here and nowhere else: two windows where one ends exactly when the
//! other starts *touch* (and merge), but do not *overlap*.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A half-open window `[from, to)` in UTC. Always non-empty: `from < to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawWindow")]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

#[derive(Deserialize)]
struct RawWindow {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

impl TryFrom<RawWindow> for Window {
    type Error = WindowError;
    fn try_from(raw: RawWindow) -> Result<Self, Self::Error> {
        Window::new(raw.from, raw.to)
    }
}

/// A window whose end is not after its start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("window ends ({to}) before or when it starts ({from})")]
pub struct WindowError {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Window {
    /// A window `[from, to)`; an error unless `from < to`.
    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Self, WindowError> {
        if from < to {
            Ok(Window { from, to })
        } else {
            Err(WindowError { from, to })
        }
    }

    pub fn duration(&self) -> chrono::Duration {
        self.to - self.from
    }

    /// Whether `at` lies inside `[from, to)`.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.from <= at && at < self.to
    }

    /// Whether the two windows share at least one instant.
    pub fn overlaps(&self, other: &Window) -> bool {
        self.from < other.to && other.from < self.to
    }

    /// Whether the two windows overlap or one ends exactly where the other starts.
    pub fn touches(&self, other: &Window) -> bool {
        self.from <= other.to && other.from <= self.to
    }

    /// The common part of two windows, if any.
    pub fn intersect(&self, other: &Window) -> Option<Window> {
        Window::new(self.from.max(other.from), self.to.min(other.to)).ok()
    }

    /// The parts of `self` not covered by `other` (zero, one or two windows).
    pub fn subtract(&self, other: &Window) -> Vec<Window> {
        if !self.overlaps(other) {
            return vec![*self];
        }
        let mut rest = Vec::with_capacity(2);
        if let Ok(before) = Window::new(self.from, other.from) {
            rest.push(before);
        }
        if let Ok(after) = Window::new(other.to, self.to) {
            rest.push(after);
        }
        rest
    }
}

/// Merges overlapping and touching windows into their union, sorted by start.
///
/// Idempotent and independent of input order.
pub fn union(mut windows: Vec<Window>) -> Vec<Window> {
    windows.sort();
    let mut merged: Vec<Window> = Vec::with_capacity(windows.len());
    for w in windows {
        match merged.last_mut() {
            Some(last) if last.touches(&w) => last.to = last.to.max(w.to),
            _ => merged.push(w),
        }
    }
    merged
}

/// The instants both lists cover, as a union (the inputs need not be merged).
pub fn intersection(a: &[Window], b: &[Window]) -> Vec<Window> {
    let (a, b) = (union(a.to_vec()), union(b.to_vec()));
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() && j < b.len() {
        if let Some(common) = a[i].intersect(&b[j]) {
            out.push(common);
        }
        if a[i].to <= b[j].to {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// The instants `a` covers and `b` does not, as a union.
pub fn difference(a: &[Window], b: &[Window]) -> Vec<Window> {
    let b = union(b.to_vec());
    let mut out = Vec::new();
    for w in union(a.to_vec()) {
        let mut pieces = vec![w];
        for cut in b.iter().filter(|c| c.overlaps(&w)) {
            pieces = pieces.iter().flat_map(|p| p.subtract(cut)).collect();
        }
        out.extend(pieces);
    }
    out
}

impl std::fmt::Display for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[{}, {})",
            self.from
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            self.to.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, h, m, 0).unwrap()
    }
    fn w(a: (u32, u32), b: (u32, u32)) -> Window {
        Window::new(at(a.0, a.1), at(b.0, b.1)).unwrap()
    }

    #[test]
    fn empty_and_reversed_windows_are_rejected() {
        assert!(Window::new(at(10, 0), at(10, 0)).is_err());
        assert!(Window::new(at(11, 0), at(10, 0)).is_err());
    }

    #[test]
    fn half_open_edges() {
        let a = w((10, 0), (11, 0));
        assert!(a.contains(at(10, 0)));
        assert!(!a.contains(at(11, 0)));
        let b = w((11, 0), (12, 0));
        assert!(!a.overlaps(&b));
        assert!(a.touches(&b));
    }

    #[test]
    fn union_merges_touching_and_overlapping_in_any_order() {
        let input = vec![
            w((13, 0), (14, 0)),
            w((10, 0), (11, 0)),
            w((11, 0), (12, 0)),
            w((10, 30), (10, 45)),
        ];
        let merged = union(input.clone());
        assert_eq!(merged, vec![w((10, 0), (12, 0)), w((13, 0), (14, 0))]);
        let mut reversed = input;
        reversed.reverse();
        assert_eq!(union(reversed), merged);
        assert_eq!(union(merged.clone()), merged);
    }

    #[test]
    fn subtract_splits() {
        let a = w((10, 0), (14, 0));
        assert_eq!(
            a.subtract(&w((11, 0), (12, 0))),
            vec![w((10, 0), (11, 0)), w((12, 0), (14, 0))]
        );
        assert_eq!(a.subtract(&w((9, 0), (15, 0))), vec![]);
        assert_eq!(a.subtract(&w((14, 0), (15, 0))), vec![a]);
    }

    #[test]
    fn intersection_and_difference_of_lists() {
        let a = vec![w((10, 0), (12, 0)), w((13, 0), (15, 0))];
        let b = vec![w((11, 0), (13, 30)), w((14, 0), (14, 30))];
        assert_eq!(
            intersection(&a, &b),
            vec![
                w((11, 0), (12, 0)),
                w((13, 0), (13, 30)),
                w((14, 0), (14, 30))
            ]
        );
        assert_eq!(
            difference(&a, &b),
            vec![
                w((10, 0), (11, 0)),
                w((13, 30), (14, 0)),
                w((14, 30), (15, 0))
            ]
        );
        assert_eq!(intersection(&a, &[]), vec![]);
        assert_eq!(difference(&a, &[]), a);
    }
}
