//! The commissioning dashboard: server-rendered pages for a phone in a corridor, a little plain
//! JavaScript for live refresh and the action buttons, and their JSON twins.
//!
//! Pages: `/` overview (sources, controller, rule packs, the actions), `/timeline` (today's and
//! tomorrow's windows per room and per target), `/doors` (live state from the controller) with
//! `/doors/{id}` and `/explain?target=kind:id` (the answer of `klar explain`), `/bookings`
//! (searchable, with what each booking caused), `/audit` (the store's audit log, filterable).
//! JSON: `/api/plan`, `/api/bookings`, `/api/doors`, `/api/audit`, `/api/live` (a stamp that
//! changes when anything shown changes; the script polls it). The CSS and JS are compiled in.
//!
//! Nothing here shows a PIN, card, password or token: bookings are shown through
//! [`BookingView`], which has no field for them, and persons by name or key.

pub mod audit;
pub mod bookings;
pub mod doors;
pub mod html;
pub mod overview;
pub mod persons;
pub mod reloads;
pub mod timeline;

use std::path::PathBuf;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use klar_adapters::controllers::mqtt::{MqttConfig, TargetFilter};
use klar_adapters::controllers::unilock::driver::load_database;
use klar_adapters::controllers::unilock::protocol::StateAt;
use klar_adapters::controllers::unilock::{
    HttpUnilock, UnilockDriver, UnilockSimulator, driver_for,
};
use klar_engine::model::{Booking, BookingStatus};
use klar_engine::plan::Plan;
use klar_engine::reconcile::diff;
use serde::Serialize;

use super::web::Web;
use html::{Html, esc};

const CSS: &str = include_str!("klar.css");
const JS: &str = include_str!("klar.js");

/// The dashboard's routes (the web server adds access rules and the actions).
pub fn routes() -> axum::Router<Web> {
    axum::Router::new()
        .route("/", get(overview::page))
        .route("/timeline", get(timeline::page))
        .route("/doors", get(doors::page))
        .route("/doors/{id}", get(doors::door_page))
        .route("/explain", get(doors::explain_page))
        .route("/bookings", get(bookings::page))
        .route("/audit", get(audit::page))
        .route("/reloads", get(reloads::page))
        .route("/api/reloads", get(reloads::json))
        .route("/api/plan", get(plan_json))
        .route("/api/bookings", get(bookings::json))
        .route("/api/doors", get(doors::json))
        .route("/api/audit", get(audit::json))
        .route("/api/live", get(live))
        .route(
            "/assets/klar.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS) }),
        )
        .route(
            "/assets/klar.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    JS,
                )
            }),
        )
}

/// What every page needs: the site's name and zone, now, and what keeps klar from green.
pub struct Ctx {
    pub site: String,
    pub tz: Tz,
    pub now: DateTime<Utc>,
    /// Everything not as it should be (not ready yet, a refused reload, a failed apply, a
    /// booking its rules fail on, ...): the header shows their count, the overview the list.
    pub problems: Vec<String>,
}

impl Ctx {
    pub fn of(web: &Web) -> Ctx {
        let rules = web.daemon.core.rules.current();
        let mut problems = super::web::missing(&web.daemon.core);
        problems.extend(web.daemon.core.status().problems());
        Ctx {
            site: rules.site.site.name.clone(),
            tz: rules.site.site.time_zone,
            now: web.daemon.core.clock.now(),
            problems,
        }
    }

    pub fn page(&self, title: &str, current: &str, body: Html) -> axum::response::Html<String> {
        axum::response::Html(html::page_with(
            &self.site,
            title,
            current,
            &body.into_string(),
            Some(&self.problems),
        ))
    }
}

/// The login form (shown with a 401 when a token is required and missing).
pub fn login_page(problem: &str) -> String {
    let mut h = Html::new();
    h.raw("<section class=\"card\"><h1>Log in</h1>")
        .raw("<p>This dashboard needs its token (from <code>[web] token_file</code> or <code>KLAR_WEB_TOKEN</code>).</p>");
    if !problem.is_empty() {
        h.el("p", "bad", problem);
    }
    h.raw("<form method=\"post\" action=\"/login\" class=\"login\">")
        .raw("<label for=\"token\">Token</label>")
        .raw("<input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required>")
        .raw("<button type=\"submit\">Log in</button></form></section>");
    html::page("", "Log in", "/login", &h.into_string())
}

/// A booking as people may see it: no PIN, card, e-mail or phone; the responsible person by
/// name only.
#[derive(Debug, Clone, Serialize)]
pub struct BookingView {
    pub source: String,
    pub id: String,
    pub resource: String,
    pub room: Option<String>,
    pub title: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub status: &'static str,
    pub responsible: Option<String>,
}

impl BookingView {
    pub fn of(b: &Booking) -> BookingView {
        BookingView {
            source: b.source.to_string(),
            id: b.id.to_string(),
            resource: b.resource.to_string(),
            room: b.resource_name.clone(),
            title: b.title.clone(),
            start: b.start,
            end: b.end,
            status: status_word(b.status),
            responsible: b.responsible.as_ref().map(|p| p.name.clone()),
        }
    }

    /// The anchor of this booking on the bookings page.
    pub fn anchor(source: &str, id: &str) -> String {
        format!("b-{}-{}", html::url_encode(source), html::url_encode(id))
    }

    /// The link to this booking on the bookings page.
    pub fn href(source: &str, id: &str) -> String {
        format!(
            "/bookings?q={}#{}",
            html::url_encode(id),
            BookingView::anchor(source, id)
        )
    }
}

pub fn status_word(s: BookingStatus) -> &'static str {
    match s {
        BookingStatus::Confirmed => "confirmed",
        BookingStatus::Tentative => "tentative",
        BookingStatus::Cancelled => "cancelled",
    }
}

/// The last plan as JSON (it carries no credentials: `Plan::persons` is never serialized).
async fn plan_json(State(web): State<Web>) -> axum::response::Response {
    match web.daemon.core.last_plan() {
        Some(plan) => Json(plan.as_ref().clone()).into_response(),
        None => (axum::http::StatusCode::SERVICE_UNAVAILABLE, "no plan yet\n").into_response(),
    }
}

#[derive(Serialize)]
struct Live {
    stamp: String,
}

/// A stamp that changes whenever a page would: polls, plans, applies (which write the audit
/// rows), reloads. It does not touch the store, whose lock an apply holds.
async fn live(State(web): State<Web>) -> Json<Live> {
    let s = web.daemon.core.status();
    let polls: u64 = s.sources.iter().map(|s| s.polls).sum();
    Json(Live {
        stamp: format!(
            "{polls}/{}/{}/{}/{}/{}",
            s.plan.as_ref().map(|p| p.at.timestamp()).unwrap_or(0),
            s.last_apply.as_ref().map(|a| a.at.timestamp()).unwrap_or(0),
            s.rules.generation,
            s.rules.errors.len(),
            s.rules.reloads.first().map_or(0, |r| r.id),
        ),
    })
}

/// Reads the controller's database for the doors page and the overview, apart from the
/// reconciler's connection: the embedded simulator's state file, or the HTTP controller's
/// database.
pub struct LiveController {
    driver: Result<UnilockDriver, String>,
    source: LiveSource,
    /// The targets MQTT drives (not UniLock's), when the site has `[mqtt]`.
    mqtt: Option<TargetFilter>,
}

enum LiveSource {
    File(PathBuf),
    Http { url: String, timeout: Duration },
}

/// What the controller holds now, and what klar still has to apply to it.
pub struct Reading {
    pub state: StateAt,
    /// Actions the last plan still needs on the controller (empty: in step).
    pub pending: Vec<String>,
    /// What the last plan asks that this controller cannot hold.
    pub problems: Vec<String>,
}

impl LiveController {
    pub fn for_core(core: &super::Core) -> LiveController {
        let site = core.rules.current().site.clone();
        let mqtt = MqttConfig::from_table(&site.mqtt)
            .ok()
            .flatten()
            .and_then(|c| c.filter().ok());
        match driver_for(&site) {
            Err(e) => LiveController {
                driver: Err(e.to_string()),
                source: LiveSource::File(PathBuf::new()),
                mqtt,
            },
            Ok((config, driver)) => {
                let source = match (config.kind.as_str(), &config.url) {
                    ("unilock-http", Some(url)) => LiveSource::Http {
                        url: url.clone(),
                        timeout: Duration::from_millis(config.timeout_ms),
                    },
                    _ => LiveSource::File(
                        config
                            .state_file
                            .as_ref()
                            .map(|p| site.resolve(p))
                            .unwrap_or_else(|| {
                                super::core::store_path(&site).with_extension("unilock-sim.json")
                            }),
                    ),
                };
                LiveController {
                    driver: Ok(driver),
                    source,
                    mqtt,
                }
            }
        }
    }

    /// The controller's state at `at`, and what `plan` still needs on it. Blocking (a file or
    /// an HTTP request): call from a blocking thread.
    pub fn read(&self, plan: Option<&Plan>, at: DateTime<Utc>) -> Result<Reading, String> {
        let driver = self.driver.as_ref().map_err(Clone::clone)?;
        let db = match &self.source {
            LiveSource::File(path) => load_database(path)?,
            LiveSource::Http { url, timeout } => HttpUnilock::new(driver.clone(), url, *timeout)
                .and_then(|c| c.database())
                .map_err(|e| format!("the controller cannot be read: {e}"))?,
        };
        let (pending, problems) = match plan {
            Some(plan) => {
                let plan = match &self.mqtt {
                    Some(filter) => filter.exclude(plan),
                    None => plan.clone(),
                };
                let observed = driver.observed(&db);
                let desired = driver.desired(&plan, &observed);
                (
                    diff(&desired.objects, &observed)
                        .iter()
                        .map(ToString::to_string)
                        .collect(),
                    desired.problems.iter().map(ToString::to_string).collect(),
                )
            }
            None => (Vec::new(), Vec::new()),
        };
        let state = UnilockSimulator::with_database(driver.installation().clone(), db).state_at(at);
        Ok(Reading {
            state,
            pending,
            problems,
        })
    }

    /// [`LiveController::read`] on a blocking thread.
    pub async fn read_now(
        self: &std::sync::Arc<Self>,
        plan: Option<std::sync::Arc<Plan>>,
        at: DateTime<Utc>,
    ) -> Result<Reading, String> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.read(plan.as_deref(), at))
            .await
            .map_err(|e| format!("reading the controller failed: {e}"))?
    }
}

/// A definition list row: `<dt>term</dt><dd>value</dd>`, the value escaped.
pub fn row(h: &mut Html, term: &str, value: &str) {
    h.raw("<dt>")
        .text(term)
        .raw("</dt><dd>")
        .text(value)
        .raw("</dd>");
}

/// An error shown as a page section.
pub fn problem(h: &mut Html, text: &str) {
    h.raw("<p class=\"bad\">").raw(&esc(text)).raw("</p>");
}
