//! Where each key of a TOML file is: the line and column of `margin_before` in
//! `[rules.settings.school]`, so an error about a value can point at the line that wrote it.
//! The config is parsed into serde types elsewhere; this reads the same text again for places.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::de::{DeTable, DeValue};

/// A key's place in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// 1-based line and column of the key (for a table, of its name in the header).
    pub line: usize,
    pub column: usize,
    /// The byte range of the key's value in the text.
    pub value: Range<usize>,
}

/// Every key of a TOML text and its place. Arrays of tables (`[[sources]]`) are indexed by
/// position: `["sources", "0", "url"]`.
#[derive(Debug, Clone, Default)]
pub struct TomlPlaces {
    text: String,
    places: BTreeMap<Vec<String>, Place>,
}

impl TomlPlaces {
    /// The places of `text`; `None` when it does not parse (its parse error says where).
    pub fn parse(text: &str) -> Option<TomlPlaces> {
        let root = DeTable::parse(text).ok()?;
        let mut places = BTreeMap::new();
        walk_table(text, root.get_ref(), &mut Vec::new(), &mut places);
        Some(TomlPlaces {
            text: text.to_owned(),
            places,
        })
    }

    /// Reads and parses a file; `None` when it cannot be read or parsed.
    pub fn read(path: &std::path::Path) -> Option<TomlPlaces> {
        TomlPlaces::parse(&std::fs::read_to_string(path).ok()?)
    }

    /// The place of the key at `path`, e.g. `["rules", "settings", "school", "margin_before"]`.
    pub fn get(&self, path: &[&str]) -> Option<&Place> {
        let key: Vec<String> = path.iter().map(|s| (*s).to_owned()).collect();
        self.places.get(&key)
    }

    /// The value at `path` as written (`"45"`, `[1, 2]`).
    pub fn value_text(&self, path: &[&str]) -> Option<&str> {
        let place = self.get(path)?;
        self.text.get(place.value.clone())
    }

    /// The text of a 1-based line.
    pub fn line(&self, line: usize) -> Option<&str> {
        self.text.lines().nth(line.checked_sub(1)?)
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The place a message about the config is about, found by what it names: a dotted key
    /// (`site.horizon_hours`), a holiday period, source or room by name (`holiday period
    /// "Juleferie"`, `source name "halls"`, `room "halls:7"`).
    pub fn place_of(&self, message: &str) -> Option<&Place> {
        for word in message.split(|c: char| c.is_whitespace() || c == ':' || c == ',') {
            let parts: Vec<&str> = word.split('.').collect();
            if parts.len() > 1
                && parts.iter().all(|p| {
                    !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                })
                && let Some(place) = self.get(&parts)
            {
                return Some(place);
            }
        }
        let quoted = |after: &str| -> Option<String> {
            let rest = &message[message.find(after)? + after.len()..];
            let rest = rest.strip_prefix('"')?;
            Some(rest[..rest.find('"')?].to_owned())
        };
        for words in ["room key ", "room "] {
            if let Some(key) = quoted(words)
                && let Some(place) = self.get(&["rooms", &key])
            {
                return Some(place);
            }
        }
        for (words, list) in [
            ("holiday period ", ["site", "holiday_periods"]),
            ("source name ", ["sources", ""]),
            ("source ", ["sources", ""]),
        ] {
            if let Some(name) = quoted(words) {
                let prefix: Vec<&str> = list.iter().copied().filter(|s| !s.is_empty()).collect();
                for i in 0.. {
                    let index = i.to_string();
                    let mut path = prefix.clone();
                    path.push(&index);
                    if self.get(&path).is_none() {
                        break;
                    }
                    path.push("name");
                    if self.value_text(&path) == Some(format!("{name:?}").as_str()) {
                        return self.get(&path[..path.len() - 1]);
                    }
                }
            }
        }
        None
    }
}

fn walk_table(
    text: &str,
    table: &DeTable<'_>,
    path: &mut Vec<String>,
    places: &mut BTreeMap<Vec<String>, Place>,
) {
    for (key, value) in table {
        path.push(key.get_ref().to_string());
        let (line, column) = crate::site::line_column(text, key.span().start);
        places.insert(
            path.clone(),
            Place {
                line,
                column,
                value: value.span(),
            },
        );
        walk_value(text, value.get_ref(), path, places);
        path.pop();
    }
}

fn walk_value(
    text: &str,
    value: &DeValue<'_>,
    path: &mut Vec<String>,
    places: &mut BTreeMap<Vec<String>, Place>,
) {
    match value {
        DeValue::Table(t) => walk_table(text, t, path, places),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(i.to_string());
                let (line, column) = crate::site::line_column(text, item.span().start);
                places.insert(
                    path.clone(),
                    Place {
                        line,
                        column,
                        value: item.span(),
                    },
                );
                walk_value(text, item.get_ref(), path, places);
                path.pop();
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SITE: &str = "[site]\nname = \"x\"\n\n[rules]\npacks = [\"rules/school\"]\n\n[rules.settings.school]\nmargin_before = \"45\"\n\n[[sources]]\nname = \"planner\"\nurl = \"http://127.0.0.1:1\"\n\n[[sources]]\nname = \"halls\"\nurl = \"http://127.0.0.1:2\"\n[rooms.\"halls:1\"]\ndoors = [\"D-1\", \"D-NOPE\"]\n";

    #[test]
    fn keys_have_their_lines_and_values() {
        let p = TomlPlaces::parse(SITE).unwrap();
        let m = p
            .get(&["rules", "settings", "school", "margin_before"])
            .unwrap();
        assert_eq!((m.line, m.column), (8, 1));
        assert_eq!(
            p.value_text(&["rules", "settings", "school", "margin_before"]),
            Some("\"45\"")
        );
        assert_eq!(p.get(&["sources", "1", "url"]).unwrap().line, 16);
        assert_eq!(
            p.value_text(&["sources", "1", "url"]),
            Some("\"http://127.0.0.1:2\"")
        );
        let door = p.get(&["rooms", "halls:1", "doors", "1"]).unwrap();
        assert_eq!((door.line, door.column), (18, 17));
        assert_eq!(p.line(18), Some("doors = [\"D-1\", \"D-NOPE\"]"));
        assert!(TomlPlaces::parse("[site\n").is_none());
        assert_eq!(
            p.place_of("source name \"halls\" is used twice")
                .map(|p| p.line),
            Some(14)
        );
        assert_eq!(
            p.place_of("room \"halls:1\" names source \"halls\"")
                .map(|p| p.line),
            Some(17)
        );
        assert_eq!(p.place_of("site.name must be x").map(|p| p.line), Some(2));
    }
}
