//! `/metrics`, `/healthz` and `/readyz` of `klar run` on the demo's site: the exposition parses
//! strictly as Prometheus text and its counters move when a sync runs; readiness says what is
//! missing while a source has never answered.

mod dashboard_common;

use dashboard_common::prom::parse;
use dashboard_common::{DemoSite, Klar, client, wait_for};

fn metrics(url: &str) -> dashboard_common::prom::Exposition {
    let r = client().get(format!("{url}metrics")).send().unwrap();
    assert_eq!(r.status(), 200);
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let text = r.text().unwrap();
    parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

#[test]
fn metrics_parse_and_counters_move_when_a_sync_runs() {
    let site = DemoSite::start();
    let mut klar = Klar::start(&site.config, "127.0.0.1:0", &[]);
    let url = klar.url();
    let http = client();
    assert_eq!(
        http.get(format!("{url}healthz"))
            .send()
            .unwrap()
            .text()
            .unwrap(),
        "ok"
    );
    wait_for("/readyz to say ready", || {
        let r = http.get(format!("{url}readyz")).send().ok()?;
        (r.status() == 200).then_some(())
    });

    let before = metrics(&url);
    let full = |m: &dashboard_common::prom::Exposition, source: &str| {
        m.get(
            "klar_polls_total",
            &[("source", source), ("scope", "full"), ("outcome", "ok")],
        )
        .unwrap_or_else(|| panic!("no full-poll counter for {source}"))
    };
    for source in ["halls", "planner"] {
        assert!(full(&before, source) >= 1.0);
        assert!(
            before
                .get("klar_source_bookings", &[("source", source)])
                .unwrap()
                > 0.0
        );
    }
    assert!(before.get("klar_plans_total", &[]).unwrap() >= 1.0);
    assert!(before.get("klar_plan_windows", &[]).unwrap() > 0.0);
    assert!(
        before
            .get("klar_applies_total", &[("outcome", "ok")])
            .unwrap()
            >= 1.0
    );
    assert!(
        before
            .get("klar_rule_evaluation_seconds_count", &[])
            .unwrap()
            >= 1.0
    );
    assert!(
        before
            .get("klar_apply_duration_seconds_count", &[])
            .unwrap()
            >= 1.0
    );
    assert_eq!(
        before.get("klar_web_requests_total", &[("action", "sync")]),
        Some(0.0)
    );
    for outcome in ["swapped", "refused", "unchanged"] {
        assert!(
            before
                .get("klar_reloads_total", &[("outcome", outcome)])
                .is_some()
        );
    }

    let r = http.post(format!("{url}api/sync")).send().unwrap();
    assert_eq!(r.status(), 200);
    let after = wait_for("a full poll of every source after the sync", || {
        let m = metrics(&url);
        (full(&m, "halls") > full(&before, "halls")
            && full(&m, "planner") > full(&before, "planner"))
        .then_some(m)
    });
    assert_eq!(
        after.get("klar_web_requests_total", &[("action", "sync")]),
        Some(1.0)
    );

    // A reload of unchanged rules is counted too.
    let r = http.post(format!("{url}api/reload")).send().unwrap();
    assert_eq!(r.status(), 200);
    wait_for("the reload counted", || {
        let m = metrics(&url);
        let n: f64 = ["swapped", "unchanged"]
            .iter()
            .filter_map(|o| m.get("klar_reloads_total", &[("outcome", o)]))
            .sum();
        (n >= 1.0).then_some(())
    });
}

#[test]
fn readyz_names_the_source_that_has_never_answered() {
    let mut site = DemoSite::start();
    site.runtime.block_on(site.winkas.take_down());
    let mut klar = Klar::start(&site.config, "127.0.0.1:0", &[]);
    let url = klar.url();
    let http = client();
    // Pronestor answers; WinKAS fails. (Whether the plan is applied yet depends on the
    // daemon's first-poll rule; readiness names whatever is missing.)
    let body = wait_for("a failed WinKAS poll and Pronestor's answer", || {
        let r = http.get(format!("{url}readyz")).send().ok()?;
        assert_eq!(r.status(), 503);
        let body = r.text().ok()?;
        let failed = metrics(&url).get(
            "klar_polls_total",
            &[("source", "halls"), ("scope", "full"), ("outcome", "error")],
        )? >= 1.0;
        (failed && !body.contains("planner")).then_some(body)
    });
    assert!(body.starts_with("not ready: "), "{body}");
    assert!(body.contains("source halls has not answered"), "{body}");
    assert_eq!(
        http.get(format!("{url}healthz")).send().unwrap().status(),
        200
    );
}

#[test]
fn the_parser_refuses_what_is_not_prometheus_text() {
    assert!(parse("# TYPE a counter\na 1\n").is_ok());
    assert!(parse("a 1\n").is_err(), "sample without TYPE");
    assert!(parse("# TYPE a counter\na{b=\"1} 1\n").is_err());
    assert!(parse("# TYPE a counter\na one\n").is_err());
    assert!(parse("# TYPE a counter\na 1\na 2\n").is_err());
    assert!(parse("# TYPE a counter\na -1\n").is_err());
    assert!(
        parse("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum 0\n")
            .is_err()
    );
    assert!(parse("# TYPE a counter\na 1").is_err(), "no final newline");
}
