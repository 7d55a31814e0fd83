//! A pack's settings have types: each setting's default in `pack.toml` `[settings]` gives its
//! type, and an override (a site's `[rules.settings.<pack>]`, a case's `settings:`) must be a
//! setting the pack has, of that type. A wrong type or an unknown key is an error before any
//! booking is decided, not a rule failing on every booking.

use std::collections::BTreeMap;

use super::PackInfo;

/// The type of a setting, as its default in `pack.toml` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingType {
    Text,
    WholeNumber,
    Decimal,
    Boolean,
    DateTime,
    /// A list; its items' type when the default has items.
    List(Option<Box<SettingType>>),
    Table,
}

impl SettingType {
    /// The type of a TOML value.
    pub fn of(value: &toml::Value) -> SettingType {
        match value {
            toml::Value::String(_) => SettingType::Text,
            toml::Value::Integer(_) => SettingType::WholeNumber,
            toml::Value::Float(_) => SettingType::Decimal,
            toml::Value::Boolean(_) => SettingType::Boolean,
            toml::Value::Datetime(_) => SettingType::DateTime,
            toml::Value::Array(items) => {
                SettingType::List(items.first().map(|i| Box::new(SettingType::of(i))))
            }
            toml::Value::Table(_) => SettingType::Table,
        }
    }

    /// Whether `value` is of this type. A list's items must all be of its item type; an empty
    /// default list takes any list.
    pub fn accepts(&self, value: &toml::Value) -> bool {
        match (self, value) {
            (SettingType::List(None), toml::Value::Array(_)) => true,
            (SettingType::List(Some(item)), toml::Value::Array(items)) => {
                items.iter().all(|i| item.accepts(i))
            }
            (wanted, value) => *wanted == SettingType::of(value),
        }
    }

    /// The type in words, with an article: "a whole number", "a list of texts".
    pub fn words(&self) -> String {
        match self {
            SettingType::Text => "a text (in quotes)".into(),
            SettingType::WholeNumber => "a whole number".into(),
            SettingType::Decimal => "a decimal number".into(),
            SettingType::Boolean => "true or false".into(),
            SettingType::DateTime => "a date or time".into(),
            SettingType::List(None) => "a list".into(),
            SettingType::List(Some(item)) => format!("a list of {}", item.plural()),
            SettingType::Table => "a table".into(),
        }
    }

    fn plural(&self) -> &'static str {
        match self {
            SettingType::Text => "texts (in quotes)",
            SettingType::WholeNumber => "whole numbers",
            SettingType::Decimal => "decimal numbers",
            SettingType::Boolean => "booleans",
            SettingType::DateTime => "dates or times",
            SettingType::List(_) => "lists",
            SettingType::Table => "tables",
        }
    }
}

/// One override a pack cannot take.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingProblem {
    pub pack: String,
    pub key: String,
    pub kind: SettingProblemKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SettingProblemKind {
    /// The pack has no setting of this name.
    Unknown {
        /// The pack's setting the name is closest to, if any is close.
        suggestion: Option<String>,
        /// Every setting the pack has.
        known: Vec<String>,
    },
    /// The value is not of the setting's type.
    WrongType {
        value: toml::Value,
        default: toml::Value,
    },
}

impl std::fmt::Display for SettingProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (pack, key) = (&self.pack, &self.key);
        match &self.kind {
            SettingProblemKind::Unknown { suggestion, known } => {
                write!(f, "{key}: pack {pack} has no such setting")?;
                match suggestion {
                    Some(s) => write!(f, " (did you mean {s}?)"),
                    None if known.is_empty() => write!(f, " (it has no settings)"),
                    None => write!(f, "; its settings are {}", known.join(", ")),
                }
            }
            SettingProblemKind::WrongType { value, default } => {
                let wanted = SettingType::of(default);
                write!(
                    f,
                    "{key} = {value} is {}, but pack {pack}'s {key} is {} (its default: {key} = {default})",
                    SettingType::of(value).words(),
                    wanted.words(),
                )?;
                if let Some(fixed) = converted(value, &wanted) {
                    write!(f, ": write {key} = {fixed}")?;
                }
                Ok(())
            }
        }
    }
}

/// The value written as the type the setting has, where that is plain (`"45"` -> `45`).
fn converted(value: &toml::Value, wanted: &SettingType) -> Option<toml::Value> {
    match (value, wanted) {
        (toml::Value::String(s), SettingType::WholeNumber) => {
            s.trim().parse::<i64>().ok().map(toml::Value::Integer)
        }
        (toml::Value::String(s), SettingType::Boolean) => {
            s.trim().parse::<bool>().ok().map(toml::Value::Boolean)
        }
        (toml::Value::Integer(n), SettingType::Text) => Some(toml::Value::String(n.to_string())),
        (toml::Value::Integer(n), SettingType::Decimal) => {
            // A whole number as a decimal: exact for any number a setting holds.
            #[allow(clippy::cast_precision_loss)]
            Some(toml::Value::Float(*n as f64))
        }
        (toml::Value::Float(x), SettingType::WholeNumber) if x.fract() == 0.0 =>
        {
            #[allow(clippy::cast_possible_truncation)]
            Some(toml::Value::Integer(*x as i64))
        }
        _ => None,
    }
}

/// Checks a pack's overrides against its settings: every key must be one of the pack's, of its
/// default's type. Problems are in key order.
pub fn check_overrides(
    pack: &PackInfo,
    overrides: &BTreeMap<String, toml::Value>,
) -> Vec<SettingProblem> {
    let mut problems = Vec::new();
    for (key, value) in overrides {
        let kind = match pack.settings.get(key) {
            None => SettingProblemKind::Unknown {
                suggestion: closest(key, pack.settings.keys().map(String::as_str)),
                known: pack.settings.keys().cloned().collect(),
            },
            Some(default) if !SettingType::of(default).accepts(value) => {
                SettingProblemKind::WrongType {
                    value: value.clone(),
                    default: default.clone(),
                }
            }
            Some(_) => continue,
        };
        problems.push(SettingProblem {
            pack: pack.name.clone(),
            key: key.clone(),
            kind,
        });
    }
    problems
}

/// The candidate closest to `word` by edits (letters added, removed, changed or swapped), if it
/// is close enough to be a slip of the keyboard: at most a third of the word's letters.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edits(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, c.len()))
        .map(|(_, c)| c.to_owned())
}

/// Optimal string alignment distance: insertions, deletions, substitutions and transpositions
/// of neighbours, each counting one.
fn edits(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn school() -> PackInfo {
        let settings: toml::Table = toml::from_str(
            "margin_before = 15\nventilation_before = 60\nschool_start = \"07:45\"\nopen_house_titles = [\"åbent hus\"]\nmember_sources = []\nratio = 0.5\n",
        )
        .unwrap();
        PackInfo {
            name: "school".into(),
            version: "1".into(),
            runtime: crate::rules::RuntimeKind::Rhai,
            dir: "rules/school".into(),
            settings: settings.into_iter().collect(),
        }
    }

    fn over(text: &str) -> BTreeMap<String, toml::Value> {
        toml::from_str::<toml::Table>(text)
            .unwrap()
            .into_iter()
            .collect()
    }

    #[test]
    fn a_setting_of_its_defaults_type_passes() {
        let ok = over(
            "margin_before = 45\nschool_start = \"08:00\"\nopen_house_titles = [\"x\", \"y\"]\nmember_sources = [\"halls\"]\nratio = 1.5\n",
        );
        assert_eq!(check_overrides(&school(), &ok), Vec::new());
    }

    #[test]
    fn a_number_in_quotes_is_refused_with_the_fix() {
        let problems = check_overrides(&school(), &over("margin_before = \"45\""));
        assert_eq!(problems.len(), 1);
        assert_eq!(
            problems[0].to_string(),
            "margin_before = \"45\" is a text (in quotes), but pack school's margin_before is a whole number (its default: margin_before = 15): write margin_before = 45"
        );
    }

    #[test]
    fn a_misspelt_setting_is_refused_with_the_likely_name() {
        let problems = check_overrides(&school(), &over("ventilaton_before = 45"));
        assert_eq!(
            problems[0].to_string(),
            "ventilaton_before: pack school has no such setting (did you mean ventilation_before?)"
        );
        let problems = check_overrides(&school(), &over("colour = \"red\""));
        assert!(
            problems[0]
                .to_string()
                .contains("its settings are margin_before, member_sources,"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn list_items_have_the_defaults_item_type() {
        let problems = check_overrides(&school(), &over("open_house_titles = [1, 2]"));
        assert!(
            problems[0].to_string().contains("a list of texts"),
            "{}",
            problems[0]
        );
        let problems = check_overrides(&school(), &over("ratio = 1"));
        assert!(
            problems[0].to_string().ends_with("write ratio = 1.0"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn edits_count_slips_of_the_keyboard() {
        assert_eq!(edits("ventilaton_before", "ventilation_before"), 1);
        assert_eq!(edits("Kopenhagen", "Copenhagen"), 1);
        assert_eq!(edits("ab", "ba"), 1);
        assert_eq!(closest("colour", ["margin_before"]), None);
        assert_eq!(
            closest("Europe/Kopenhagen", ["Europe/Copenhagen", "Europe/Oslo"]).as_deref(),
            Some("Europe/Copenhagen")
        );
    }
}
