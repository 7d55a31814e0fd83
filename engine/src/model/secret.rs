//! `Secret`: a PIN, card number, password or token that must never reach a log line.

use serde::{Deserialize, Serialize};

/// A secret string. `Debug` and `Display` print `***`; the value is reachable only through
/// [`Secret::expose`], so it cannot slip into a log line by formatting.
///
/// It serializes as its value, because the store and the controller wire need it. Views meant
/// for people (plans, the dashboard, errors) carry no `Secret` at all.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value itself. Call only where the value is sent to its one rightful reader.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_never_shows_the_value() {
        let s = Secret::new("4711");
        assert_eq!(format!("{s} {s:?} {s:#?}"), "*** *** ***");
        assert_eq!(s.expose(), "4711");
    }
}
