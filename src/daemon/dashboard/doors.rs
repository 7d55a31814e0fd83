//! `/doors`: every door, zone and output as the controller holds it now, with the persons it
//! lets in; `/doors/{id}` and `/explain?target=kind:id[&at=...]`: why, in the words of
//! `klar explain` (the same code: [`crate::cli::explain::explain`]).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use klar_adapters::controllers::unilock::protocol::{Cause, ObjectState, StateAt};
use klar_engine::plan::{PlanInput, plan};
use serde::{Deserialize, Serialize};

use super::html::{Html, local, url_encode};
use super::{Ctx, problem};
use crate::cli::explain::Kind;
use crate::daemon::web::Web;

fn words(kind: &str, s: &ObjectState) -> String {
    crate::cli::state::words(kind, s.value)
}

fn object_rows(h: &mut Html, kind: &str, items: &[ObjectState]) {
    for s in items {
        let state = words(kind, s);
        let klar = s
            .causes
            .first()
            .is_some_and(|c| !matches!(c, Cause::Weekly { .. }));
        h.raw("<tr id=\"")
            .text(&format!("{kind}-{}", s.id))
            .raw("\"><td><a class=\"tap\" href=\"/doors/")
            .text(&url_encode(&s.id))
            .raw("\">")
            .text(&s.id)
            .raw("</a></td><td class=\"state ")
            .raw(if klar { "exception" } else { "weekly" })
            .raw("\">")
            .text(&state)
            .raw("</td><td>")
            .text(
                &s.causes
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            )
            .raw("</td></tr>");
    }
}

pub async fn page(State(web): State<Web>) -> axum::response::Html<String> {
    let ctx = Ctx::of(&web);
    let reading = web
        .live
        .read_now(web.daemon.core.last_plan(), ctx.now)
        .await;
    let mut h = Html::new();
    h.raw("<section class=\"card\"><h1>Doors, zones and outputs</h1>");
    match reading {
        Err(e) => problem(&mut h, &e),
        Ok(r) => {
            h.raw("<p>")
                .text(&format!(
                    "As the controller holds them at {} (day type {}). Tap one for why.",
                    local(r.state.at, ctx.tz),
                    r.state.day_type
                ))
                .raw("</p>");
            state_tables(&mut h, &r.state);
        }
    }
    h.raw("</section>");
    h.raw("<section class=\"card\"><h2>Explain</h2><form method=\"get\" action=\"/explain\" class=\"search\">")
        .raw("<label for=\"target\">door, zone, output or person</label>")
        .raw("<input id=\"target\" name=\"target\" placeholder=\"door:D-HAL-N or person:member:1042\" required>")
        .raw("<button type=\"submit\">Explain</button></form></section>");
    ctx.page("Doors", "/doors", h)
}

fn state_tables(h: &mut Html, state: &StateAt) {
    for (title, kind, items) in [
        ("Doors", "door", &state.doors),
        ("Zones", "zone", &state.zones),
        ("Outputs", "output", &state.outputs),
    ] {
        h.el("h2", "", title)
            .raw("<div class=\"scroll\"><table><thead><tr><th>id</th><th>state</th><th>because</th></tr></thead><tbody>");
        object_rows(h, kind, items);
        h.raw("</tbody></table></div>");
    }
    h.el("h2", "", "Persons klar grants access")
        .raw("<div class=\"scroll\"><table><thead><tr><th>person</th><th>name</th><th>credentials</th><th>doors now</th></tr></thead><tbody>");
    if state.grants.is_empty() {
        h.raw("<tr><td colspan=\"4\">none</td></tr>");
    }
    for g in &state.grants {
        let pin = if g.pin_set { "PIN set" } else { "no PIN" };
        h.raw("<tr><td><a class=\"tap\" href=\"/explain?target=")
            .text(&url_encode(&format!("person:{}", g.person)))
            .raw("\">")
            .text(&g.person)
            .raw("</a></td><td>")
            .text(&g.name)
            .raw("</td><td>")
            .text(&format!("{pin}, {} card(s)", g.cards))
            .raw("</td><td>")
            .text(&if g.doors.is_empty() {
                "none".to_owned()
            } else {
                g.doors.join(", ")
            })
            .raw("</td></tr>");
    }
    h.raw("</tbody></table></div>");
}

/// `/api/doors`: the live state and what is pending, as JSON (no credential values: grants
/// carry "PIN set" and a card count only).
pub async fn json(State(web): State<Web>) -> Response {
    #[derive(Serialize)]
    struct Doors {
        state: StateAt,
        pending: Vec<String>,
        problems: Vec<String>,
    }
    let now = web.daemon.core.clock.now();
    match web.live.read_now(web.daemon.core.last_plan(), now).await {
        Ok(r) => Json(Doors {
            state: r.state,
            pending: r.pending,
            problems: r.problems,
        })
        .into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, format!("{e}\n")).into_response(),
    }
}

#[derive(Deserialize)]
pub struct ExplainParams {
    /// `door:D-HAL-N`, `zone:Z-HAL`, `output:K-HAL-LYS`, `person:member:1042`.
    target: Option<String>,
    /// RFC 3339 or local time; default now.
    at: Option<String>,
}

/// `/doors/{id}`: the explain view of a door, zone or output, whichever has that id.
pub async fn door_page(
    State(web): State<Web>,
    Path(id): Path<String>,
    Query(p): Query<ExplainParams>,
) -> Response {
    let rules = web.daemon.core.rules.current();
    let kind = match klar_adapters::controllers::unilock::driver_for(&rules.site) {
        Ok((_, driver)) => {
            let inst = driver.installation();
            if inst.doors.contains_key(&id) {
                Kind::Door
            } else if inst.zones.contains_key(&id) {
                Kind::Zone
            } else if inst.outputs.contains_key(&id) {
                Kind::Output
            } else {
                Kind::Person
            }
        }
        Err(_) => Kind::Door,
    };
    explain_view(&web, kind, id, p.at).await
}

/// `/explain?target=kind:id`.
pub async fn explain_page(State(web): State<Web>, Query(p): Query<ExplainParams>) -> Response {
    let Some(target) = p.target.as_deref().map(str::trim) else {
        return (StatusCode::BAD_REQUEST, "target=kind:id is missing\n").into_response();
    };
    let (kind, id) = match target.split_once(':') {
        Some(("door", id)) => (Kind::Door, id),
        Some(("zone", id)) => (Kind::Zone, id),
        Some(("output", id)) => (Kind::Output, id),
        Some(("person", id)) => (Kind::Person, id),
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                "target must be door:ID, zone:ID, output:ID or person:KEY\n",
            )
                .into_response();
        }
    };
    explain_view(&web, kind, id.to_owned(), p.at).await
}

fn kind_word(kind: Kind) -> &'static str {
    match kind {
        Kind::Door => "door",
        Kind::Zone => "zone",
        Kind::Output => "output",
        Kind::Person => "person",
    }
}

/// Plans the daemon's bookings with the rules in force at `at`, applies the plan to a fresh
/// simulator and explains, exactly as `klar explain` does from the store's snapshots.
pub fn explain_lines(
    core: &crate::daemon::Core,
    kind: Kind,
    id: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<Vec<String>> {
    let rules = core.rules.current();
    let bookings = core.bookings();
    let plan = plan(&PlanInput {
        bookings: &bookings,
        packs: &rules.packs,
        site: &rules.site,
        now: at,
    });
    // A page view applies nothing to the controller: the throwaway simulator's apply must not
    // log as if it had ("Controller in step with the plan ...").
    let sim =
        tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
            crate::cli::state::simulate_plan(&rules.site, &plan, at)
        })?;
    crate::cli::explain::explain(&rules.site, &plan, sim.simulator(), kind, id, at)
}

async fn explain_view(web: &Web, kind: Kind, id: String, at: Option<String>) -> Response {
    let ctx = Ctx::of(web);
    let at = match at.as_deref().filter(|s| !s.trim().is_empty()) {
        None => ctx.now,
        Some(text) => match crate::cli::parse_at(text.trim(), ctx.tz) {
            Ok(t) => t,
            Err(e) => return (StatusCode::BAD_REQUEST, format!("at: {e}\n")).into_response(),
        },
    };
    let core = web.daemon.core.clone();
    let id2 = id.clone();
    let lines = tokio::task::spawn_blocking(move || explain_lines(&core, kind, &id2, at)).await;
    let word = kind_word(kind);
    let mut h = Html::new();
    h.raw("<section class=\"card\"><h1>")
        .text(&format!("Why is {word} {id} in its state?"))
        .raw("</h1>");
    let code = match lines {
        Ok(Ok(lines)) => {
            h.raw("<pre class=\"explain\" id=\"explain\">")
                .text(&lines.join("\n"))
                .raw("</pre>");
            StatusCode::OK
        }
        Ok(Err(e)) => {
            problem(&mut h, &format!("{e:#}"));
            StatusCode::NOT_FOUND
        }
        Err(e) => {
            problem(&mut h, &format!("the explanation failed: {e}"));
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    h.raw("<p class=\"note\">The same answer as <code>")
        .text(&format!(
            "klar explain {word} {id} --config site.toml --at {}",
            at.to_rfc3339()
        ))
        .raw("</code>: the bookings in force, the rules in force, a fresh simulator.</p>")
        .raw("<form method=\"get\" action=\"/explain\" class=\"search\">")
        .raw("<input type=\"hidden\" name=\"target\" value=\"")
        .text(&format!("{word}:{id}"))
        .raw("\"><label for=\"at\">at another time</label><input id=\"at\" name=\"at\" placeholder=\"2026-11-23 17:00\">")
        .raw("<button type=\"submit\">Explain</button></form></section>");
    (code, ctx.page(&format!("Explain {id}"), "/doors", h)).into_response()
}
