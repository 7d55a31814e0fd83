//! WinKAS answers into the common model: a resource, and one calendar entry as a `Booking`.

use std::collections::BTreeMap;

use chrono_tz::Tz;
use klar_engine::model::{Booking, BookingId, BookingStatus, Person, ResourceId, SourceName};
use serde_json::Value;

use super::wire::{field, text};

/// A resource as `GetAllResources` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WinkasResource {
    /// The id exactly as WinKAS sent it (number or string), to send back.
    pub raw_id: Value,
    pub id: String,
    pub name: String,
    pub location: Option<String>,
    pub address: Option<String>,
}

/// A `GetAllResources` entry; `None` without an id.
pub fn parse_resource(r: &Value) -> Option<WinkasResource> {
    let raw_id = field(r, "Id")?.clone();
    let id = text(Some(&raw_id))?;
    let location = field(r, "ResourceLocation").filter(|l| l.is_object());
    let clean = |t: String| crate::sources::text::clean(&t);
    Some(WinkasResource {
        raw_id,
        id,
        name: clean(text(field(r, "Name")).unwrap_or_default()),
        location: location.and_then(|l| text(field(l, "Name"))).map(clean),
        address: location.and_then(|l| text(field(l, "Address"))).map(clean),
    })
}

/// One `ResourceCalendarbookings` entry as a booking. Keyed by `Id`, else by
/// (resource, start, stop, subject).
pub fn to_booking(
    source: &SourceName,
    resource: &WinkasResource,
    entry: &Value,
    tz: Tz,
) -> Result<Booking, String> {
    let inner = field(entry, "ResourceCalendarbooking")
        .filter(|v| v.is_object())
        .unwrap_or(entry);
    let start_text = text(field(inner, "Start")).ok_or("no Start")?;
    let stop_text = text(field(inner, "Stop"))
        .or_else(|| text(field(inner, "End")))
        .ok_or("no Stop")?;
    let start = crate::sources::time::parse_datetime(&start_text, tz)?;
    let end = crate::sources::time::parse_datetime(&stop_text, tz)?;
    if end <= start {
        return Err(format!(
            "Stop ({stop_text}) is not after Start ({start_text})"
        ));
    }
    let subject = text(field(inner, "Subject")).unwrap_or_default();
    let id = match text(field(inner, "Id")).or_else(|| text(field(entry, "Id"))) {
        Some(id) => id,
        None => format!(
            "{}@{}-{}:{}",
            resource.id,
            start.format("%Y%m%dT%H%MZ"),
            end.format("%Y%m%dT%H%MZ"),
            subject
        ),
    };
    let owner = field(entry, "BookingOwner").filter(|o| o.is_object());
    let responsible = owner.and_then(|o| {
        let name = [text(field(o, "FirstName")), text(field(o, "LastName"))]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let person = Person {
            name,
            email: text(field(o, "Email")),
            phone: text(field(o, "Mobile")).or_else(|| text(field(o, "Phone"))),
            member_no: text(field(o, "MemberNumber")).or_else(|| text(field(o, "MemberNo"))),
            pin: None,
            card: None,
        };
        person.key().map(|_| person)
    });
    let mut tags = Vec::new();
    let mut attrs = BTreeMap::new();
    if let Some(kind) = text(field(inner, "BookingType")) {
        tags.push(kind.to_lowercase());
        attrs.insert("winkas.booking_type".into(), kind);
    }
    if let Some(address) = &resource.address {
        attrs.insert("winkas.location_address".into(), address.clone());
    }
    if let Some(owner_id) = owner.and_then(|o| text(field(o, "Id"))) {
        attrs.insert("winkas.owner_id".into(), owner_id);
    }
    let mut booking = Booking {
        id: BookingId::new(id),
        source: source.clone(),
        resource: ResourceId::new(resource.id.clone()),
        resource_name: (!resource.name.is_empty()).then(|| resource.name.clone()),
        location: resource.location.clone(),
        title: subject,
        start,
        end,
        setup_minutes: 0,
        teardown_minutes: 0,
        status: BookingStatus::Confirmed,
        responsible,
        attendees: Vec::new(),
        tags,
        attrs,
    };
    crate::sources::text::clean_booking(&mut booking);
    Ok(booking)
}
