//! The iCalendar source over loopback HTTP and from a file, and the local calendar source,
//! built from `[[sources]]` settings as the daemon builds them.

mod common;

use std::sync::{Arc, Mutex};

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use common::*;
use klar_adapters::sources::SourceError;
use klar_engine::model::BookingStatus;

/// A Google-style feed: the calendar's zone in X-WR-TIMEZONE, floating and UTC times.
const GOOGLE: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\r\nX-WR-TIMEZONE:Europe/Copenhagen\r\n\
BEGIN:VEVENT\r\nUID:g1@google.com\r\nSUMMARY:Kor-prøve\r\nDTSTART:20261124T170000Z\r\nDTEND:20261124T190000Z\r\n\
ORGANIZER;CN=Signe Møller:mailto:signe@example.dk\r\nLOCATION:Multisal\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:g2@google.com\r\nSUMMARY:Aflyst\r\nDTSTART:20261124T100000\r\nDTEND:20261124T110000\r\nSTATUS:CANCELLED\r\nLOCATION:Klublokale\r\nEND:VEVENT\r\n\
END:VCALENDAR\r\n";

async fn serve(body: Arc<Mutex<(u16, String, String)>>) -> String {
    let app = axum::Router::new().route(
        "/calendar/secret-abc123/basic.ics",
        axum::routing::get(move || {
            let body = body.clone();
            async move {
                let (status, ct, text) = body.lock().unwrap().clone();
                (
                    StatusCode::from_u16(status).unwrap(),
                    [(header::CONTENT_TYPE, ct)],
                    text,
                )
                    .into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/calendar/secret-abc123/basic.ics")
}

#[tokio::test]
async fn a_feed_over_http_with_one_room_per_location() {
    let body = Arc::new(Mutex::new((
        200,
        "text/calendar".to_owned(),
        GOOGLE.to_owned(),
    )));
    let url = serve(body.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let http = client();
    let mut src = build(
        "ical",
        "club",
        &format!("url = '{url}'\nresource_from_location = true"),
        dir.path(),
        &http,
    );
    let r = req(
        "2026-11-24T00:00:00Z",
        "2026-11-24T00:00:00Z",
        "2026-11-25T00:00:00Z",
    );
    let out = src.poll(r).await.unwrap().bookings;
    assert_eq!(out.len(), 2);
    assert_eq!(
        (out[0].resource.as_str(), out[0].status),
        ("Klublokale", BookingStatus::Cancelled)
    );
    assert_eq!(
        out[0].start,
        utc("2026-11-24T09:00:00Z"),
        "floating time in X-WR-TIMEZONE"
    );
    assert_eq!(
        (out[1].resource.as_str(), out[1].start),
        ("Multisal", utc("2026-11-24T17:00:00Z"))
    );
    assert_eq!(
        out[1].responsible.as_ref().unwrap().email.as_deref(),
        Some("signe@example.dk")
    );
    let rooms = src.resources(utc("2026-11-24T00:00:00Z")).await.unwrap();
    assert_eq!(
        rooms.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        vec!["Klublokale", "Multisal"]
    );

    *body.lock().unwrap() = (
        200,
        "text/html".into(),
        "<!DOCTYPE html><html>Sign in</html>".into(),
    );
    let e = src.poll(r).await.unwrap_err();
    assert!(
        matches!(e, SourceError::Malformed { .. }) && e.to_string().contains("BEGIN:VCALENDAR"),
        "{e}"
    );
    *body.lock().unwrap() = (404, "text/plain".into(), "gone".into());
    let e = src.poll(r).await.unwrap_err();
    assert!(
        matches!(e, SourceError::Vendor(_)) && e.to_string().contains("HTTP 404"),
        "{e}"
    );
}

#[tokio::test]
async fn a_feed_from_a_file_for_one_room() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hal.ics"), GOOGLE).unwrap();
    let http = client();
    let mut src = build(
        "ical",
        "hall",
        "file = 'hal.ics'\nresource = 'hal-1'\nresource_name = 'Hal 1'",
        dir.path(),
        &http,
    );
    let r = req(
        "2026-11-24T00:00:00Z",
        "2026-11-24T00:00:00Z",
        "2026-11-25T00:00:00Z",
    );
    let out = src.poll(r).await.unwrap().bookings;
    assert!(
        out.iter()
            .all(|b| b.resource.as_str() == "hal-1" && b.resource_name.as_deref() == Some("Hal 1"))
    );
    assert_eq!(out[1].location.as_deref(), Some("Multisal"));
    std::fs::remove_file(dir.path().join("hal.ics")).unwrap();
    assert!(matches!(
        src.poll(r).await.unwrap_err(),
        SourceError::Read { .. }
    ));
    // Config errors name the source and the problem.
    let e = build_result("ical", "hall", "file = 'hal.ics'", dir.path(), &http)
        .err()
        .unwrap();
    assert!(
        e.to_string().contains("\"hall\"") && e.to_string().contains("resource is required"),
        "{e}"
    );
}

#[tokio::test]
async fn the_local_calendar_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("calendar.yaml"),
        "holiday:\n  - {name: Juleferie, from: '2026-12-21', to: '2027-01-03'}\nstanding:\n  - {title: Rengøring, resource: hal-1, weekdays: [tir], from: '06:00', to: '07:00'}\n",
    )
    .unwrap();
    let http = client();
    let mut src = build(
        "local",
        "local",
        "file = 'calendar.yaml'",
        dir.path(),
        &http,
    );
    let r = req(
        "2026-12-20T00:00:00Z",
        "2026-12-20T00:00:00Z",
        "2026-12-23T00:00:00Z",
    );
    let out = src.poll(r).await.unwrap().bookings;
    let titles: Vec<_> = out
        .iter()
        .map(|b| (b.title.as_str(), b.resource.as_str(), b.start))
        .collect();
    assert_eq!(
        titles,
        vec![
            ("Juleferie", "site", utc("2026-12-20T23:00:00Z")),
            ("Rengøring", "hal-1", utc("2026-12-22T05:00:00Z"))
        ]
    );
    let ids: Vec<_> = src
        .resources(utc("2026-12-20T00:00:00Z"))
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id.0)
        .collect();
    assert_eq!(ids, vec!["hal-1", "site"]);
    std::fs::write(dir.path().join("calendar.yaml"), "holiday: [{name: x}]\n").unwrap();
    let e = src.poll(r).await.unwrap_err();
    assert!(
        matches!(e, SourceError::Malformed { .. }) && e.to_string().contains("calendar.yaml"),
        "{e}"
    );
}
