//! `Booking`: the common model every source is normalised into (DESIGN.md §3).

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};

use super::{BookingId, PersonKey, ResourceId, Secret, SourceName, Window, WindowError};

/// One booking of one resource, as a source reported it. Instants are UTC; `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Booking {
    pub id: BookingId,
    pub source: SourceName,
    pub resource: ResourceId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default)]
    pub title: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Minutes the room is needed before `start` (Pronestor: preparation time).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub setup_minutes: u32,
    /// Minutes the room is needed after `end` (Pronestor: follow-up time).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub teardown_minutes: u32,
    #[serde(default)]
    pub status: BookingStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responsible: Option<Person>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attendees: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Vendor extras, read-only strings. Nothing vendor-specific is a field.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attrs: BTreeMap<String, String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    #[default]
    Confirmed,
    /// Awaiting approval.
    Tentative,
    Cancelled,
}

impl BookingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BookingStatus::Confirmed => "confirmed",
            BookingStatus::Tentative => "tentative",
            BookingStatus::Cancelled => "cancelled",
        }
    }
}

/// The person answerable for a booking, as far as the source knows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<Secret>,
}

impl Person {
    /// The stable key klar uses for this person: member number, else e-mail (lower case), else
    /// name. `None` for an anonymous person (a spontaneous panel booking).
    pub fn key(&self) -> Option<PersonKey> {
        fn pick(s: &Option<String>) -> Option<&str> {
            s.as_deref().map(str::trim).filter(|s| !s.is_empty())
        }
        if let Some(no) = pick(&self.member_no) {
            return Some(PersonKey(format!("member:{no}")));
        }
        if let Some(email) = pick(&self.email) {
            return Some(PersonKey(format!("email:{}", email.to_lowercase())));
        }
        let name = self.name.trim();
        (!name.is_empty()).then(|| PersonKey(format!("name:{name}")))
    }
}

/// A booking that cannot be used as it stands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookingError {
    #[error("booking {id} ends before or when it starts ({start} .. {end})")]
    EndBeforeStart {
        id: BookingId,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
    #[error("booking has an empty id")]
    EmptyId,
    #[error("booking {id} lies outside the years 1 to 9999 ({start} .. {end})")]
    OutOfRange {
        id: BookingId,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
}

impl Booking {
    /// Checks what serde cannot: a non-empty id, `start < end`, and both inside the years 1 to
    /// 9999 (a vendor's `/Date(8210298412799999)/` is a valid instant, but local time and
    /// margins around it leave chrono's range).
    pub fn validate(&self) -> Result<(), BookingError> {
        if self.id.0.trim().is_empty() {
            return Err(BookingError::EmptyId);
        }
        self.window()
            .map_err(|_: WindowError| BookingError::EndBeforeStart {
                id: self.id.clone(),
                start: self.start,
                end: self.end,
            })?;
        let years = 1..=9999;
        if !years.contains(&self.start.year()) || !years.contains(&self.end.year()) {
            return Err(BookingError::OutOfRange {
                id: self.id.clone(),
                start: self.start,
                end: self.end,
            });
        }
        Ok(())
    }

    /// The booked period `[start, end)`.
    pub fn window(&self) -> Result<Window, WindowError> {
        Window::new(self.start, self.end)
    }

    pub fn is_cancelled(&self) -> bool {
        self.status == BookingStatus::Cancelled
    }

    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t.eq_ignore_ascii_case(tag))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &str = r#"{
        "id": "B-1", "source": "halls", "resource": "7", "title": "Håndbold U12",
        "start": "2026-11-23T16:00:00Z", "end": "2026-11-23T18:00:00+00:00",
        "status": "confirmed",
        "responsible": {"name": "Mette Hansen", "member_no": "1042", "pin": "4711"},
        "tags": ["club"], "attrs": {"winkas.booking_type": "Sæson"}
    }"#;

    #[test]
    fn parses_the_documented_json_and_hides_the_pin_in_debug() {
        let b: Booking = serde_json::from_str(JSON).unwrap();
        b.validate().unwrap();
        assert_eq!(
            b.responsible.as_ref().unwrap().key().unwrap().0,
            "member:1042"
        );
        assert!(!format!("{b:?}").contains("4711"));
    }

    #[test]
    fn end_before_start_is_rejected() {
        let mut b: Booking = serde_json::from_str(JSON).unwrap();
        std::mem::swap(&mut b.start, &mut b.end);
        assert!(matches!(
            b.validate(),
            Err(BookingError::EndBeforeStart { .. })
        ));
    }

    #[test]
    fn instants_past_the_year_9999_are_rejected() {
        let far = JSON.replace("2026-11-23T18:00:00+00:00", "+262142-12-31T23:00:00Z");
        let b: Booking = serde_json::from_str(&far).unwrap();
        assert!(matches!(b.validate(), Err(BookingError::OutOfRange { .. })));
    }

    #[test]
    fn unknown_fields_are_an_error() {
        let bad = JSON.replace("\"title\"", "\"titel\"");
        assert!(serde_json::from_str::<Booking>(&bad).is_err());
    }
}
