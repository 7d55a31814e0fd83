//! Weekly tables: per day type, steps `HH:MM value` starting at 00:00, so a table's value never
//! depends on history.

use std::collections::BTreeMap;

use chrono::{NaiveTime, Weekday};

use crate::controllers::unilock::protocol::{DayType, Value, weekday_key};

/// A weekly table: security levels for a door, or on/off for a zone, an output or a group's
/// access. Keys are `mon`..`sun`, `weekdays`, `weekend`, `all`, `holiday` and the names of the
/// installation's fictive day types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeeklyTable {
    pub name: String,
    days: BTreeMap<String, Vec<(NaiveTime, Value)>>,
}

const WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

impl WeeklyTable {
    /// Parses a table's day entries; every weekday must be covered (directly, by `weekdays` /
    /// `weekend`, or by `all`), and every day must start at 00:00.
    pub fn parse(
        name: &str,
        days: &BTreeMap<String, Vec<String>>,
        fictive: &[String],
    ) -> Result<WeeklyTable, String> {
        let mut parsed = BTreeMap::new();
        for (day, steps) in days {
            let known = matches!(day.as_str(), "weekdays" | "weekend" | "all" | "holiday")
                || WEEKDAYS.iter().any(|w| weekday_key(*w) == *day)
                || fictive.contains(day);
            if !known {
                return Err(format!(
                    "table {name:?}: unknown day {day:?} (mon..sun, weekdays, weekend, all, holiday, or a fictive day type: {})",
                    fictive.join(", ")
                ));
            }
            let mut list = Vec::with_capacity(steps.len());
            for step in steps {
                let (time, value) = step.trim().split_once(' ').ok_or_else(|| {
                    format!("table {name:?} {day}: step {step:?} is not \"HH:MM value\"")
                })?;
                let time = NaiveTime::parse_from_str(time, "%H:%M")
                    .map_err(|_| format!("table {name:?} {day}: bad time in {step:?}"))?;
                let value = Value::parse(value)
                    .ok_or_else(|| format!("table {name:?} {day}: bad value in {step:?}"))?;
                if list.last().is_some_and(|(t, _)| *t >= time) {
                    return Err(format!(
                        "table {name:?} {day}: steps must be in increasing time order"
                    ));
                }
                list.push((time, value));
            }
            if list.first().map(|(t, _)| *t) != Some(NaiveTime::MIN) {
                return Err(format!(
                    "table {name:?} {day}: the first step must be at 00:00"
                ));
            }
            parsed.insert(day.clone(), list);
        }
        let table = WeeklyTable {
            name: name.to_owned(),
            days: parsed,
        };
        for w in WEEKDAYS {
            if table.steps_for(&[weekday_key(w)], w).is_none() {
                return Err(format!(
                    "table {name:?}: no steps for {} (give it, weekdays/weekend, or all)",
                    weekday_key(w)
                ));
            }
        }
        let kinds: std::collections::BTreeSet<bool> = table
            .days
            .values()
            .flatten()
            .map(|(_, v)| v.is_level())
            .collect();
        if kinds.len() > 1 {
            return Err(format!("table {name:?} mixes door levels and on/off"));
        }
        Ok(table)
    }

    /// Whether the table holds door levels (else on/off).
    pub fn is_level_table(&self) -> bool {
        self.days.values().flatten().any(|(_, v)| v.is_level())
    }

    fn steps_for(&self, keys: &[String], weekday: Weekday) -> Option<&Vec<(NaiveTime, Value)>> {
        let group = if matches!(weekday, Weekday::Sat | Weekday::Sun) {
            "weekend"
        } else {
            "weekdays"
        };
        keys.iter()
            .map(String::as_str)
            .chain([weekday_key(weekday).as_str(), group, "all"])
            .find_map(|k| self.days.get(k))
    }

    /// The weekly value on a day of `day_type` (whose calendar weekday is `weekday`) at `time`.
    /// A special day type the table does not list falls back to the date's own weekday.
    pub fn value_at(
        &self,
        day_type: DayType,
        weekday: Weekday,
        time: NaiveTime,
        fictive: &[String],
    ) -> Value {
        let keys: Vec<String> = match day_type {
            DayType::Holiday => vec!["holiday".into()],
            DayType::Fictive(n) => fictive
                .get(usize::from(n).saturating_sub(1))
                .cloned()
                .into_iter()
                .collect(),
            DayType::Weekday(w) => vec![weekday_key(w)],
        };
        let weekday = match day_type {
            DayType::Weekday(w) => w,
            _ => weekday,
        };
        let steps = self
            .steps_for(&keys, weekday)
            .expect("every weekday is covered: checked at parse");
        steps
            .iter()
            .rev()
            .find(|(t, _)| *t <= time)
            .map(|(_, v)| *v)
            .expect("every day starts at 00:00: checked at parse")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use klar_engine::model::DoorLevel;

    fn table() -> WeeklyTable {
        let mut days = BTreeMap::new();
        days.insert(
            "weekdays".to_owned(),
            vec![
                "00:00 locked".to_owned(),
                "07:00 card".to_owned(),
                "17:00 locked".to_owned(),
            ],
        );
        days.insert("weekend".to_owned(), vec!["00:00 locked".to_owned()]);
        days.insert(
            "open_house".to_owned(),
            vec![
                "00:00 locked".to_owned(),
                "10:00 unlocked".to_owned(),
                "14:00 locked".to_owned(),
            ],
        );
        WeeklyTable::parse("T", &days, &["open_house".to_owned()]).unwrap()
    }

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn weekly_steps_and_day_types() {
        let tab = table();
        let f = ["open_house".to_owned()];
        let mon = DayType::Weekday(Weekday::Mon);
        assert_eq!(
            tab.value_at(mon, Weekday::Mon, t(6, 59), &f),
            Value::Level(DoorLevel::Locked)
        );
        assert_eq!(
            tab.value_at(mon, Weekday::Mon, t(7, 0), &f),
            Value::Level(DoorLevel::Card)
        );
        assert_eq!(
            tab.value_at(mon, Weekday::Mon, t(17, 0), &f),
            Value::Level(DoorLevel::Locked)
        );
        // A Monday made "open house" follows that day type; a holiday the table does not list
        // falls back to the weekday.
        assert_eq!(
            tab.value_at(DayType::Fictive(1), Weekday::Mon, t(11, 0), &f),
            Value::Level(DoorLevel::Unlocked)
        );
        assert_eq!(
            tab.value_at(DayType::Holiday, Weekday::Mon, t(11, 0), &f),
            Value::Level(DoorLevel::Card)
        );
        assert_eq!(
            tab.value_at(DayType::Weekday(Weekday::Sun), Weekday::Mon, t(11, 0), &f),
            Value::Level(DoorLevel::Locked)
        );
    }

    #[test]
    fn bad_tables_are_refused() {
        let mut days = BTreeMap::new();
        days.insert("weekdays".to_owned(), vec!["07:00 card".to_owned()]);
        assert!(
            WeeklyTable::parse("T", &days, &[])
                .unwrap_err()
                .contains("00:00")
        );
        days.insert("weekdays".to_owned(), vec!["00:00 card".to_owned()]);
        assert!(
            WeeklyTable::parse("T", &days, &[])
                .unwrap_err()
                .contains("sat")
        );
        days.insert("funday".to_owned(), vec!["00:00 card".to_owned()]);
        assert!(
            WeeklyTable::parse("T", &days, &[])
                .unwrap_err()
                .contains("funday")
        );
    }
}
