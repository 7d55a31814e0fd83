//! What `klar run` writes to its log cannot be forged through vendor text, and looking at the
//! dashboard writes nothing that reads as an apply. A club member whose name in WinKAS holds a
//! newline and a fake log line, and an escape sequence that clears a terminal, gets one log
//! line per event and no escape byte; explain pages viewed again and again leave no
//! "Controller in step" or "Applied." line.

mod dashboard_common;

use dashboard_common::{DemoSite, Klar, client, slot_ahead, wait_for};
use klar_adapters::fake::FakeData;

const FORGED: &str =
    "2030-01-01T00:00:00.000000Z  WARN klar::daemon::core: Door D-AULA forced open.";

#[test]
fn vendor_text_cannot_forge_a_log_line_and_page_views_log_no_apply() {
    let site = DemoSite::start();
    let start = slot_ahead(chrono::Utc::now());
    let mut booking = FakeData::booking(
        2,
        &format!("Badminton\n{FORGED}"),
        start,
        start + chrono::Duration::hours(1),
    );
    let owner = booking.owner.as_mut().unwrap();
    owner.first_name = format!("Mette\n{FORGED}\r");
    owner.last_name = "\u{1b}[2J\u{1b}]0;pwned\u{7}Hansen".into();
    owner.member_no = Some("4711".into());
    site.winkas.add_booking(booking);
    let mut klar = Klar::start(
        &site.config,
        "127.0.0.1:0",
        &["RUST_LOG", "debug"]
            .chunks(2)
            .map(|p| (p[0], p[1]))
            .collect::<Vec<_>>(),
    );
    let url = klar.url();
    wait_for("the booking's person applied", || {
        klar.log()
            .lines()
            .any(|l| l.contains("Applied.") && l.contains("member:4711"))
            .then_some(())
    });
    let log = klar.log();
    assert!(
        !log.lines().any(|l| l.starts_with("2030-01-01")),
        "a forged line:\n{log}"
    );
    assert!(
        !log.contains('\u{1b}') && !log.contains('\u{7}'),
        "an escape byte reached the log"
    );
    assert!(
        log.contains("Mette 2030-01-01T00:00:00.000000Z  WARN"),
        "the name is still readable:\n{log}"
    );

    // Inspection applies nothing, and does not log as if it did.
    let http = client();
    let count = |log: &str| {
        log.lines()
            .filter(|l| l.contains("Controller in step") || l.contains("Applied."))
            .count()
    };
    let before = count(&klar.log());
    for _ in 0..10 {
        for page in [
            "explain?target=door:D-AULA",
            "doors/D-HAL-N",
            "explain?target=person:member:4711",
            "doors",
            "",
        ] {
            assert_eq!(
                http.get(format!("{url}{page}")).send().unwrap().status(),
                200,
                "/{page}"
            );
        }
    }
    let after = klar.log();
    assert_eq!(count(&after), before, "page views logged applies:\n{after}");
}
