//! The daemon's counters for `/metrics`, written in the Prometheus text format (version 0.0.4)
//! by hand: a few counters, gauges and histograms do not need a metrics crate.
//!
//! The core records each poll, plan, apply and reload here as it happens; the web server only
//! reads. Label values are source names and fixed words, never booking data or secrets.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// Bucket bounds in seconds for rule evaluation (planning) and apply latency.
const BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A Prometheus histogram: cumulative bucket counts, sum and count.
#[derive(Debug, Clone, Default)]
struct Histogram {
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if self.buckets.len() != BUCKETS.len() {
            self.buckets = vec![0; BUCKETS.len()];
        }
        for (bound, n) in BUCKETS.iter().zip(self.buckets.iter_mut()) {
            if seconds <= *bound {
                *n += 1;
            }
        }
        self.sum += seconds;
        self.count += 1;
    }

    fn write(&self, out: &mut String, name: &str) {
        for (i, bound) in BUCKETS.iter().enumerate() {
            let n = self.buckets.get(i).copied().unwrap_or(0);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {n}");
        }
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum {}", self.sum);
        let _ = writeln!(out, "{name}_count {}", self.count);
    }
}

/// One source's numbers.
#[derive(Debug, Clone, Default)]
struct SourceNumbers {
    /// (scope, outcome) -> polls.
    polls: BTreeMap<(&'static str, &'static str), u64>,
    bookings: usize,
    last_good: Option<DateTime<Utc>>,
}

#[derive(Debug, Default)]
struct Inner {
    sources: BTreeMap<String, SourceNumbers>,
    plans: u64,
    plan_targets: usize,
    plan_windows: usize,
    plan_rule_errors: usize,
    rule_evaluation: Histogram,
    /// outcome ("ok", "error") -> applies.
    applies: BTreeMap<&'static str, u64>,
    apply_actions: u64,
    apply_problems: usize,
    apply_latency: Histogram,
    last_apply_ok: Option<DateTime<Utc>>,
    /// outcome ("swapped", "refused", "unchanged") -> reloads.
    reloads: BTreeMap<&'static str, u64>,
    /// action ("sync", "reload") -> requests from the web server.
    requests: BTreeMap<&'static str, u64>,
    /// Connections to the web server open now, and how many it may hold.
    web_connections_open: usize,
    web_connection_limit: usize,
    /// reason ("full", "evicted", "timeout") -> connections the web server closed or refused.
    web_connections_dropped: BTreeMap<&'static str, u64>,
    /// via ("bearer", "login") -> requests with a wrong token.
    web_auth_failures: BTreeMap<&'static str, u64>,
    /// Requests refused because their address gave too many wrong tokens.
    web_auth_throttled: u64,
}

/// The daemon's metrics. Cheap to record: one short lock per event.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

/// How a reload ended, for `klar_reloads_total{outcome}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadResult {
    Swapped,
    Refused,
    Unchanged,
}

impl ReloadResult {
    fn as_str(self) -> &'static str {
        match self {
            ReloadResult::Swapped => "swapped",
            ReloadResult::Refused => "refused",
            ReloadResult::Unchanged => "unchanged",
        }
    }
}

/// Why the web server closed or refused a connection, for
/// `klar_web_connections_dropped_total{reason}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionDrop {
    /// Refused: at the limit with every connection in a request.
    Full,
    /// Closed to make room for a new one (it was idle or still sending its headers).
    Evicted,
    /// Closed by the header, request or write timeout.
    Timeout,
}

impl ConnectionDrop {
    fn as_str(self) -> &'static str {
        match self {
            ConnectionDrop::Full => "full",
            ConnectionDrop::Evicted => "evicted",
            ConnectionDrop::Timeout => "timeout",
        }
    }
}

/// Where a wrong dashboard token came, for `klar_web_auth_failures_total{via}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthVia {
    Bearer,
    Login,
}

impl AuthVia {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthVia::Bearer => "bearer",
            AuthVia::Login => "login",
        }
    }
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A source known before its first poll (its bookings loaded from the store).
    pub fn source_known(&self, source: &str, bookings: usize, last_good: Option<DateTime<Utc>>) {
        let mut m = self.lock();
        let s = m.sources.entry(source.to_owned()).or_default();
        s.bookings = bookings;
        s.last_good = last_good;
    }

    /// One poll of `source` for `scope` (`near`, `full`).
    pub fn poll(
        &self,
        source: &str,
        scope: &'static str,
        ok: bool,
        bookings: usize,
        at: DateTime<Utc>,
    ) {
        let mut m = self.lock();
        let s = m.sources.entry(source.to_owned()).or_default();
        let outcome = if ok { "ok" } else { "error" };
        *s.polls.entry((scope, outcome)).or_default() += 1;
        s.bookings = bookings;
        if ok {
            s.last_good = Some(at);
        }
    }

    /// One plan built in `took` (rule evaluation and merging).
    pub fn planned(&self, targets: usize, windows: usize, rule_errors: usize, took: Duration) {
        let mut m = self.lock();
        m.plans += 1;
        m.plan_targets = targets;
        m.plan_windows = windows;
        m.plan_rule_errors = rule_errors;
        m.rule_evaluation.observe(took.as_secs_f64());
    }

    /// One apply to the controller that took `took`; `ok` false when it failed as a whole.
    pub fn applied(
        &self,
        ok: bool,
        actions: usize,
        problems: usize,
        took: Duration,
        at: DateTime<Utc>,
    ) {
        let mut m = self.lock();
        *m.applies
            .entry(if ok { "ok" } else { "error" })
            .or_default() += 1;
        m.apply_actions += actions as u64;
        m.apply_problems = problems;
        m.apply_latency.observe(took.as_secs_f64());
        if ok {
            m.last_apply_ok = Some(at);
        }
    }

    pub fn reloaded(&self, result: ReloadResult) {
        *self.lock().reloads.entry(result.as_str()).or_default() += 1;
    }

    /// A "sync now" or "reload rules" request from the web server.
    pub fn requested(&self, action: &'static str) {
        *self.lock().requests.entry(action).or_default() += 1;
    }

    /// The web server's open connections now.
    pub fn web_connections_open(&self, open: usize) {
        self.lock().web_connections_open = open;
    }

    /// How many connections the web server may hold.
    pub fn web_connection_limit(&self, limit: usize) {
        self.lock().web_connection_limit = limit;
    }

    /// A connection the web server closed or refused.
    pub fn web_connection_dropped(&self, reason: ConnectionDrop) {
        *self
            .lock()
            .web_connections_dropped
            .entry(reason.as_str())
            .or_default() += 1;
    }

    /// A request with a wrong dashboard token.
    pub fn web_auth_failed(&self, via: AuthVia) {
        *self
            .lock()
            .web_auth_failures
            .entry(via.as_str())
            .or_default() += 1;
    }

    /// A request refused because its address gave too many wrong tokens.
    pub fn web_auth_throttled(&self) {
        self.lock().web_auth_throttled += 1;
    }

    /// When a plan was last applied without error, if ever.
    pub fn last_apply_ok(&self) -> Option<DateTime<Utc>> {
        self.lock().last_apply_ok
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let m = self.lock();
        let mut out = String::new();
        let head = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
        };

        head(
            &mut out,
            "klar_polls_total",
            "counter",
            "Polls of each source, by scope (near, full) and outcome (ok, error).",
        );
        for (name, s) in &m.sources {
            for scope in ["near", "full"] {
                for outcome in ["ok", "error"] {
                    let n = s.polls.get(&(scope, outcome)).copied().unwrap_or(0);
                    let _ = writeln!(
                        out,
                        "klar_polls_total{{source=\"{}\",scope=\"{scope}\",outcome=\"{outcome}\"}} {n}",
                        label(name)
                    );
                }
            }
        }
        head(
            &mut out,
            "klar_source_bookings",
            "gauge",
            "Bookings held in force for each source (the last good snapshot).",
        );
        for (name, s) in &m.sources {
            let _ = writeln!(
                out,
                "klar_source_bookings{{source=\"{}\"}} {}",
                label(name),
                s.bookings
            );
        }
        head(
            &mut out,
            "klar_source_last_good_poll_timestamp_seconds",
            "gauge",
            "When each source last answered well (Unix time; 0: never).",
        );
        for (name, s) in &m.sources {
            let _ = writeln!(
                out,
                "klar_source_last_good_poll_timestamp_seconds{{source=\"{}\"}} {}",
                label(name),
                s.last_good.map_or(0, |t| t.timestamp())
            );
        }

        head(
            &mut out,
            "klar_plans_total",
            "counter",
            "Plans built from the bookings and rules.",
        );
        let _ = writeln!(out, "klar_plans_total {}", m.plans);
        head(
            &mut out,
            "klar_plan_targets",
            "gauge",
            "Targets in the last plan.",
        );
        let _ = writeln!(out, "klar_plan_targets {}", m.plan_targets);
        head(
            &mut out,
            "klar_plan_windows",
            "gauge",
            "Windows in the last plan.",
        );
        let _ = writeln!(out, "klar_plan_windows {}", m.plan_windows);
        head(
            &mut out,
            "klar_plan_rule_errors",
            "gauge",
            "Bookings a rule failed on in the last plan (they fail closed, per pack).",
        );
        let _ = writeln!(out, "klar_plan_rule_errors {}", m.plan_rule_errors);
        head(
            &mut out,
            "klar_rule_evaluation_seconds",
            "histogram",
            "Time to build one plan: every booking decided by the rule packs, then merged.",
        );
        m.rule_evaluation
            .write(&mut out, "klar_rule_evaluation_seconds");

        head(
            &mut out,
            "klar_applies_total",
            "counter",
            "Applies of a plan to the controller, by outcome (ok, error).",
        );
        for outcome in ["ok", "error"] {
            let n = m.applies.get(outcome).copied().unwrap_or(0);
            let _ = writeln!(out, "klar_applies_total{{outcome=\"{outcome}\"}} {n}");
        }
        head(
            &mut out,
            "klar_apply_actions_total",
            "counter",
            "Actions (creates, updates, deletes) applied to the controller.",
        );
        let _ = writeln!(out, "klar_apply_actions_total {}", m.apply_actions);
        head(
            &mut out,
            "klar_apply_problems",
            "gauge",
            "What the last apply could not realise as planned.",
        );
        let _ = writeln!(out, "klar_apply_problems {}", m.apply_problems);
        head(
            &mut out,
            "klar_apply_duration_seconds",
            "histogram",
            "Time of one apply: observe, diff, apply action by action, read back, record.",
        );
        m.apply_latency
            .write(&mut out, "klar_apply_duration_seconds");

        head(
            &mut out,
            "klar_reloads_total",
            "counter",
            "Rule reloads, by outcome (swapped, refused, unchanged).",
        );
        for outcome in ["swapped", "refused", "unchanged"] {
            let n = m.reloads.get(outcome).copied().unwrap_or(0);
            let _ = writeln!(out, "klar_reloads_total{{outcome=\"{outcome}\"}} {n}");
        }
        head(
            &mut out,
            "klar_web_requests_total",
            "counter",
            "Actions asked for through the web server (sync, reload).",
        );
        for action in ["sync", "reload"] {
            let n = m.requests.get(action).copied().unwrap_or(0);
            let _ = writeln!(out, "klar_web_requests_total{{action=\"{action}\"}} {n}");
        }
        head(
            &mut out,
            "klar_web_connections_open",
            "gauge",
            "Connections to the web server open now.",
        );
        let _ = writeln!(out, "klar_web_connections_open {}", m.web_connections_open);
        head(
            &mut out,
            "klar_web_connection_limit",
            "gauge",
            "Connections the web server may hold ([web] max_connections, lowered for the file limit).",
        );
        let _ = writeln!(out, "klar_web_connection_limit {}", m.web_connection_limit);
        head(
            &mut out,
            "klar_web_connections_dropped_total",
            "counter",
            "Connections the web server closed or refused, by reason (full: refused at the limit; evicted: idle, closed to make room; timeout: headers, request or answer too slow).",
        );
        for reason in ["full", "evicted", "timeout"] {
            let n = m.web_connections_dropped.get(reason).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "klar_web_connections_dropped_total{{reason=\"{reason}\"}} {n}"
            );
        }
        head(
            &mut out,
            "klar_web_auth_failures_total",
            "counter",
            "Requests with a wrong dashboard token, by way (bearer, login).",
        );
        for via in ["bearer", "login"] {
            let n = m.web_auth_failures.get(via).copied().unwrap_or(0);
            let _ = writeln!(out, "klar_web_auth_failures_total{{via=\"{via}\"}} {n}");
        }
        head(
            &mut out,
            "klar_web_auth_throttled_total",
            "counter",
            "Requests refused (429) because their address gave too many wrong tokens.",
        );
        let _ = writeln!(
            out,
            "klar_web_auth_throttled_total {}",
            m.web_auth_throttled
        );
        out
    }
}

/// A label value escaped as the text format asks (backslash, quote, newline).
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_move_and_histograms_are_cumulative() {
        let m = Metrics::default();
        let t = Utc::now();
        m.source_known("halls", 3, None);
        m.poll("halls", "full", true, 4, t);
        m.poll("halls", "near", false, 4, t);
        m.planned(5, 7, 0, Duration::from_millis(3));
        m.applied(true, 2, 0, Duration::from_millis(30), t);
        m.reloaded(ReloadResult::Refused);
        let text = m.render();
        for line in [
            "klar_polls_total{source=\"halls\",scope=\"full\",outcome=\"ok\"} 1",
            "klar_polls_total{source=\"halls\",scope=\"near\",outcome=\"error\"} 1",
            "klar_source_bookings{source=\"halls\"} 4",
            "klar_plan_windows 7",
            "klar_rule_evaluation_seconds_bucket{le=\"0.001\"} 0",
            "klar_rule_evaluation_seconds_bucket{le=\"0.005\"} 1",
            "klar_rule_evaluation_seconds_bucket{le=\"+Inf\"} 1",
            "klar_apply_duration_seconds_count 1",
            "klar_applies_total{outcome=\"ok\"} 1",
            "klar_apply_actions_total 2",
            "klar_reloads_total{outcome=\"refused\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        assert_eq!(m.last_apply_ok(), Some(t));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
