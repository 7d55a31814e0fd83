//! The web "sync now" has a cooldown per source: fifty presses in a row give one full poll of
//! each source now and one more when the cooldown ends, and every answer says when.

mod dashboard_common;

use dashboard_common::prom::{Exposition, parse};
use dashboard_common::{DemoSite, Klar, client, wait_for};

fn full_polls(m: &Exposition, source: &str) -> f64 {
    ["ok", "error"]
        .iter()
        .filter_map(|o| {
            m.get(
                "klar_polls_total",
                &[("source", source), ("scope", "full"), ("outcome", o)],
            )
        })
        .sum()
}

#[test]
fn fifty_web_syncs_poll_each_source_once_and_say_when_the_next_runs() {
    let site = DemoSite::start();
    let mut klar = Klar::start(&site.config, "127.0.0.1:0", &[]);
    let url = klar.url();
    let http = client();
    let metrics = || {
        parse(
            &http
                .get(format!("{url}metrics"))
                .send()
                .unwrap()
                .text()
                .unwrap(),
        )
        .unwrap()
    };
    wait_for("ready", || {
        (http.get(format!("{url}readyz")).send().ok()?.status() == 200).then_some(())
    });
    let before = metrics();
    let answers: Vec<String> = (0..50)
        .map(|_| {
            let r = http.post(format!("{url}api/sync")).send().unwrap();
            assert_eq!(r.status(), 200);
            r.text().unwrap()
        })
        .collect();
    assert!(
        answers[0].contains("halls now") && answers[0].contains("planner now"),
        "{}",
        answers[0]
    );
    for a in &answers[1..] {
        assert!(
            a.starts_with("full poll requested:")
                && a.contains("halls in ")
                && a.contains("planner in "),
            "{a}"
        );
        assert!(a.contains("at most once per 30 s"), "{a}");
    }
    // One full poll of each source now; the next one waits for the cooldown.
    wait_for("the requested polls", || {
        let m = metrics();
        ["halls", "planner"]
            .iter()
            .all(|s| full_polls(&m, s) >= full_polls(&before, s) + 1.0)
            .then_some(())
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(1500);
    while std::time::Instant::now() < deadline {
        let m = metrics();
        for s in ["halls", "planner"] {
            assert_eq!(
                full_polls(&m, s),
                full_polls(&before, s) + 1.0,
                "{s}: one full poll for fifty requests"
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        metrics().get("klar_web_requests_total", &[("action", "sync")]),
        Some(50.0)
    );
    // One log line for the poll that was asked for, not fifty.
    let log = klar.log();
    assert_eq!(
        log.matches("Sync requested through the web server.")
            .count(),
        2,
        "one for the polls now, one for the polls after the cooldown:\n{log}"
    );
}
