//! `Secret`: a PIN, card number, password or token that must never reach a log line.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

/// A secret string. `Debug` and `Display` print `***`; the value is reachable only through
/// [`Secret::expose`], so it cannot slip into a log line by formatting.
///
/// It serializes as its value, because the store and the controller wire need it. Views meant
/// for people (plans, the dashboard, errors) carry no `Secret` at all. It reads as a string
/// does, but a value it cannot read is refused without being quoted (serde's own error would:
/// "invalid type: integer `4711`").
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Secret(String);

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Read as a `String` would be (so YAML's plain scalars still work), but replace the
        // format's error, which may quote the value, with one that does not.
        String::deserialize(d).map(Secret).map_err(|_| {
            de::Error::custom(
                "a secret (PIN, card, password, token) must be a string; the value is not shown",
            )
        })
    }
}

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

    #[test]
    fn reads_a_string_and_refuses_anything_else_without_quoting_it() {
        let s: Secret = serde_json::from_str("\"73925814\"").unwrap();
        assert_eq!(s.expose(), "73925814");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"73925814\"");
        for json in [
            "73925814",
            "-73925814",
            "7392581.4",
            "true",
            "[73925814]",
            "{\"a\": 73925814}",
        ] {
            let e = serde_json::from_str::<Secret>(json)
                .unwrap_err()
                .to_string();
            assert!(!e.contains("7392581"), "{json}: {e}");
        }
        // In a file: the error still names the place.
        let e = serde_json::from_str::<Vec<Secret>>("[\n \"1\",\n 73925814]").unwrap_err();
        assert_eq!(e.line(), 3, "{e}");
        // YAML's plain scalars read as before.
        let s: Secret = serde_yaml_ng::from_str("4711").unwrap();
        assert_eq!(s.expose(), "4711");
    }
}
