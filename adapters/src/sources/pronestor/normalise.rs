//! Pronestor meetings into the common model: one `Booking` per room a meeting holds.

use std::collections::BTreeMap;

use chrono_tz::Tz;
use klar_engine::model::{Booking, BookingId, BookingStatus, Person, ResourceId, SourceName};
use serde_json::Value;

use super::wire::{any_field, field, flag, minutes, text};
use super::{Location, Room};
use crate::sources::time::parse_datetime;

/// One meeting as bookings, one per room it holds (catering and equipment are skipped). Returns
/// the meeting id too; no bookings means an "empty meeting".
pub fn meeting_bookings(
    source: &SourceName,
    meeting: &Value,
    rooms: &BTreeMap<String, Room>,
    location: &Location,
    default_tz: Tz,
) -> Result<(String, Vec<Booking>), String> {
    let mid = text(field(meeting, "Id")).ok_or("no Id")?;
    let status = if flag(field(meeting, "IsDeleted")) {
        BookingStatus::Cancelled
    } else if flag(any_field(
        meeting,
        &["AwaitingApproval", "IsAwaitingApproval"],
    )) {
        BookingStatus::Tentative
    } else {
        BookingStatus::Confirmed
    };
    let responsible = field(meeting, "Owner")
        .filter(|o| o.is_object())
        .and_then(|o| {
            let name = [text(field(o, "FirstName")), text(field(o, "LastName"))]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            let name = if name.is_empty() {
                text(any_field(o, &["Name", "FullName"])).unwrap_or_default()
            } else {
                name
            };
            let person = Person {
                name,
                email: text(field(o, "Email")),
                phone: text(any_field(o, &["Phone", "Mobile", "PhoneNumber"])),
                member_no: None,
                pin: None,
                card: None,
            };
            // A spontaneous panel booking has an anonymous owner (id 0, no e-mail).
            let anonymous = text(field(o, "Id")).as_deref() == Some("0") && person.email.is_none();
            (!anonymous).then_some(person).filter(|p| p.key().is_some())
        });
    let title = text(any_field(meeting, &["Title", "Subject", "Name"])).unwrap_or_default();
    let mut tags = Vec::new();
    let mut attrs = BTreeMap::new();
    attrs.insert("pronestor.meeting_id".to_owned(), mid.clone());
    if let Some(t) = text(field(meeting, "MeetingType"))
        .or_else(|| field(meeting, "MeetingType").and_then(|t| text(field(t, "Name"))))
    {
        tags.push(t.to_lowercase());
    }
    if let Some(t) = text(field(meeting, "MeetingTypeId")) {
        attrs.insert("pronestor.meeting_type_id".into(), t);
    }
    if let Some(p) = text(field(meeting, "Participants")) {
        attrs.insert("pronestor.participants".into(), p);
    }
    let attendees: Vec<String> = field(meeting, "Participants")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .filter_map(|p| text(Some(p)).or_else(|| text(any_field(p, &["Email", "Name"]))))
                .collect()
        })
        .unwrap_or_default();
    let entries = field(meeting, "Resources")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut out = Vec::new();
    for entry in &entries {
        let Some(rid) = text(any_field(entry, &["ResourceId", "Id"])) else {
            continue;
        };
        let Some(room) = rooms.get(&rid) else {
            continue;
        };
        let tz = room.time_zone.or(location.time_zone).unwrap_or(default_tz);
        let start_text = text(field(entry, "Start"))
            .or_else(|| text(field(meeting, "Start")))
            .ok_or("no Start")?;
        let end_text = text(field(entry, "End"))
            .or_else(|| text(field(meeting, "End")))
            .ok_or("no End")?;
        let start = parse_datetime(&start_text, tz)?;
        let end = parse_datetime(&end_text, tz)?;
        if end <= start {
            return Err(format!(
                "End ({end_text}) is not after Start ({start_text})"
            ));
        }
        let setup = field(entry, "PreparationMinutes")
            .map(|v| minutes(Some(v)))
            .unwrap_or(room.preparation_minutes);
        let teardown = field(entry, "FollowUpMinutes")
            .map(|v| minutes(Some(v)))
            .unwrap_or(room.follow_up_minutes);
        out.push(Booking {
            id: BookingId::new(format!("{mid}/{rid}")),
            source: source.clone(),
            resource: ResourceId::new(rid),
            resource_name: (!room.name.is_empty()).then(|| room.name.clone()),
            location: (!location.name.is_empty()).then(|| location.name.clone()),
            title: title.clone(),
            start,
            end,
            setup_minutes: setup,
            teardown_minutes: teardown,
            status,
            responsible: responsible.clone(),
            attendees: attendees.clone(),
            tags: tags.clone(),
            attrs: attrs.clone(),
        });
    }
    out.iter_mut().for_each(crate::sources::text::clean_booking);
    Ok((mid, out))
}
