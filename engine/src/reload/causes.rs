//! Rule errors grouped by cause: one unknown function in one rule line fails every booking that
//! reaches it, and that is one cause with many consequences, not many problems.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::Booking;
use crate::plan::BookingRef;
use crate::rules::{RuleError, RuleErrorKind, RuleLocation};

/// One cause and the bookings it failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cause {
    pub pack: String,
    pub kind: RuleErrorKind,
    pub location: Option<RuleLocation>,
    /// The message of the first booking it failed (the same for all, unless the rule puts
    /// booking data in it).
    pub message: String,
    pub bookings: Vec<BookingRef>,
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.location {
            Some(l) => write!(f, "{l}: {}", self.message),
            None => write!(f, "{}: {}", self.pack, self.message),
        }
    }
}

/// Groups errors by pack and rule location (by message where there is no location), the
/// causes that fail the most bookings first. `bookings` names the bookings (source, title).
pub fn causes(errors: &[RuleError], bookings: &[Booking]) -> Vec<Cause> {
    let by_id: BTreeMap<&str, &Booking> = bookings.iter().map(|b| (b.id.as_str(), b)).collect();
    let mut groups: BTreeMap<(String, Option<RuleLocation>, String), Cause> = BTreeMap::new();
    for e in errors {
        let key = (
            e.pack.clone(),
            e.location.clone(),
            if e.location.is_some() {
                String::new()
            } else {
                e.message.clone()
            },
        );
        let cause = groups.entry(key).or_insert_with(|| Cause {
            pack: e.pack.clone(),
            kind: e.kind,
            location: e.location.clone(),
            message: e.message.clone(),
            bookings: Vec::new(),
        });
        let booking = by_id.get(e.booking.as_str()).map_or_else(
            || BookingRef {
                source: crate::model::SourceName::from(""),
                id: e.booking.clone(),
                title: String::new(),
            },
            |b| BookingRef::of(b),
        );
        cause.bookings.push(booking);
    }
    let mut out: Vec<Cause> = groups.into_values().collect();
    for c in &mut out {
        c.bookings.sort();
        c.bookings.dedup();
    }
    out.sort_by_key(|c| std::cmp::Reverse(c.bookings.len()));
    out
}

/// `1 cause: rules/doors.rhai:20:32 Function not found: open_door_now; 70 bookings`: causes and
/// their consequences in one line.
pub fn one_line(causes: &[Cause]) -> String {
    let failed: usize = causes.iter().map(|c| c.bookings.len()).sum();
    let parts: Vec<String> = causes
        .iter()
        .map(|c| {
            if causes.len() == 1 {
                c.to_string()
            } else {
                format!("{c} ({} {})", c.bookings.len(), plural(c.bookings.len()))
            }
        })
        .collect();
    format!(
        "{} {}: {}; {failed} {}",
        causes.len(),
        if causes.len() == 1 { "cause" } else { "causes" },
        parts.join("; "),
        plural(failed)
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "booking" } else { "bookings" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::BookingId;

    fn error(booking: &str, line: u32, message: &str) -> RuleError {
        RuleError {
            pack: "school".into(),
            booking: BookingId::from(booking),
            kind: RuleErrorKind::Runtime,
            message: message.into(),
            location: Some(RuleLocation {
                file: "rules/doors.rhai".into(),
                line,
                column: 32,
            }),
        }
    }

    #[test]
    fn one_rule_line_is_one_cause() {
        let errors: Vec<RuleError> = (0..70)
            .map(|i| error(&format!("B-{i}"), 20, "Function not found: open_door_now"))
            .chain([error("X", 8, "Variable not found: x")])
            .collect();
        let c = causes(&errors, &[]);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].bookings.len(), 70);
        assert_eq!(
            one_line(&c[..1]),
            "1 cause: rules/doors.rhai:20:32: Function not found: open_door_now; 70 bookings"
        );
        assert!(one_line(&c).starts_with("2 causes: rules/doors.rhai:20:32: Function not found: open_door_now (70 bookings); rules/doors.rhai:8:32: Variable not found: x (1 booking); 71 bookings"));
    }
}
