//! Property tests of the bookings JSON (`klar plan --bookings`, the store's snapshots): no input
//! makes the reader or `validate` panic, a booking that parses writes and reads back as itself
//! (the store keeps snapshots this way), and `validate` accepts exactly the bookings whose
//! window is non-empty and whose id is not blank.

use chrono::Datelike;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::{Booking, BookingError};

/// Instants as RFC 3339 text: ordinary ones, chrono's edges, odd offsets and broken ones.
fn instant() -> BoxedStrategy<String> {
    prop_oneof![
        (2020u32..2030, 1u32..13, 1u32..29, 0u32..24, 0u32..60)
            .prop_map(|(y, m, d, h, mi)| { format!("{y}-{m:02}-{d:02}T{h:02}:{mi:02}:00+01:00") }),
        (
            0u32..10_000,
            0u32..14,
            0u32..33,
            0u32..25,
            0u32..61,
            -24i32..25
        )
            .prop_map(|(y, m, d, h, mi, o)| format!(
                "{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:00{o:+03}:00"
            )),
        Just("+262142-12-31T23:59:59Z".to_owned()),
        Just("-262143-01-01T00:00:00Z".to_owned()),
        Just("9999-12-31T23:59:59.999999999-23:59".to_owned()),
        Just("0000-01-01T00:00:00+23:59".to_owned()),
        Just("2026-03-29T02:30:00".to_owned()),
        "\\PC{0,24}",
    ]
    .boxed()
}

fn text() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(json!("")),
        Just(json!("   ")),
        Just(json!("W-1042")),
        Just(json!(4711)),
        Just(json!(null)),
        "\\PC{0,12}".prop_map(Value::String),
    ]
    .boxed()
}

fn booking_json() -> impl Strategy<Value = Value> {
    (
        (text(), text(), text()),
        (instant(), instant()),
        prop::option::of(prop_oneof![
            Just(json!("confirmed")),
            Just(json!("tentative")),
            Just(json!("cancelled")),
            Just(json!("Cancelled")),
            Just(json!(1)),
        ]),
        prop::option::of(prop_oneof![Just(json!(0)), Just(json!(u32::MAX)), Just(json!(-1)), Just(json!(u64::MAX))]),
        prop::option::of((text(), text(), text())),
        prop::option::of(prop_oneof![Just("titel"), Just("extra")]),
    )
        .prop_map(|((id, source, resource), (start, end), status, setup, person, unknown)| {
            let mut b = json!({"id": id, "source": source, "resource": resource, "start": start, "end": end,
                               "title": "Håndbold", "tags": ["club"], "attrs": {"winkas.booking_type": "Sæson"}});
            if let Some(s) = status {
                b["status"] = s;
            }
            if let Some(s) = setup {
                b["setup_minutes"] = s.clone();
                b["teardown_minutes"] = s;
            }
            if let Some((name, pin, card)) = person {
                b["responsible"] = json!({"name": name, "member_no": "1042", "pin": pin, "card": card});
            }
            if let Some(k) = unknown {
                b[k] = json!("x");
            }
            b
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_are_read_without_panicking(bytes in prop::collection::vec(any::<u8>(), 0..256), text in "\\PC{0,200}") {
        let _ = serde_json::from_slice::<Vec<Booking>>(&bytes);
        if let Ok(list) = serde_json::from_str::<Vec<Booking>>(&text) {
            for b in &list {
                let _ = b.validate();
            }
        }
    }

    #[test]
    fn a_booking_that_reads_writes_back_as_itself_and_validates_by_its_window(raw in prop::collection::vec(booking_json(), 0..4)) {
        let text = serde_json::to_string(&raw).unwrap();
        let Ok(list) = serde_json::from_str::<Vec<Booking>>(&text) else {
            return Ok(());
        };
        let again: Vec<Booking> = serde_json::from_str(&serde_json::to_string(&list).unwrap()).unwrap();
        prop_assert_eq!(&again, &list);
        for b in &list {
            match b.validate() {
                Ok(()) => prop_assert!(b.start < b.end && !b.id.as_str().trim().is_empty()),
                Err(BookingError::OutOfRange { .. }) => prop_assert!(b.start.year() < 1 || b.end.year() > 9999),
                Err(BookingError::EmptyId) => prop_assert!(b.id.as_str().trim().is_empty()),
                Err(BookingError::EndBeforeStart { .. }) => prop_assert!(b.end <= b.start),
            }
        }
    }
}
