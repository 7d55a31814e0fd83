//! `/bookings?q=...`: every booking in force, searchable, with its status and what it caused
//! in the last plan (windows with their rule and pack; rule errors, caps, conflicts, unbound).

use axum::Json;
use axum::extract::{Query, State};
use chrono::NaiveDate;
use klar_engine::model::Booking;
use klar_engine::plan::Plan;
use serde::{Deserialize, Serialize};

use super::html::{Html, local, local_short};
use super::{BookingView, Ctx};
use crate::daemon::web::Web;

#[derive(Deserialize, Default)]
pub struct Params {
    q: Option<String>,
}

/// A booking and what it caused.
#[derive(Serialize)]
pub struct BookingRow {
    #[serde(flatten)]
    pub booking: BookingView,
    /// Windows the plan holds for it: `door D-HAL-N unlocked 15:45 .. 18:15 by rules/doors.rhai:12 (school 1.1.0)`.
    pub caused: Vec<String>,
    /// What went wrong with it: rule errors, windows cut by caps, conflicts lost, no room.
    pub problems: Vec<String>,
}

fn matches(v: &BookingView, room: &str, q: &str) -> bool {
    if q.is_empty() {
        return true;
    }
    let q = q.to_lowercase();
    [
        v.id.as_str(),
        v.title.as_str(),
        v.source.as_str(),
        v.resource.as_str(),
        room,
        v.status,
        v.responsible.as_deref().unwrap_or(""),
    ]
    .iter()
    .any(|f| f.to_lowercase().contains(&q))
}

/// What `b` caused in `plan`, and its problems.
fn effects(
    b: &Booking,
    plan: Option<&Plan>,
    tz: chrono_tz::Tz,
    day: NaiveDate,
) -> (Vec<String>, Vec<String>) {
    let Some(plan) = plan else {
        return (Vec::new(), vec!["no plan yet".to_owned()]);
    };
    let mine = |source: &klar_engine::model::SourceName, id: &klar_engine::model::BookingId| {
        *source == b.source && *id == b.id
    };
    let mut caused = Vec::new();
    for e in &plan.entries {
        for w in &e.windows {
            for r in w.reasons.iter().filter(|r| mine(&r.source, &r.booking)) {
                caused.push(format!(
                    "{} {} .. {} by {} ({} {})",
                    e.target,
                    local_short(w.window.from, tz, day),
                    local_short(w.window.to, tz, day),
                    r.rule,
                    r.pack,
                    r.pack_version
                ));
            }
        }
    }
    let mut problems = Vec::new();
    for e in plan.errors.iter().filter(|e| e.booking == b.id) {
        problems.push(e.to_string());
    }
    for a in plan
        .adjustments
        .iter()
        .filter(|a| mine(&a.booking.source, &a.booking.id))
    {
        problems.push(format!(
            "{}: window {} {} by the site's caps",
            a.target,
            a.before,
            match &a.after {
                Some(after) => format!("became {after}"),
                None => "was removed".to_owned(),
            }
        ));
    }
    for c in &plan.conflicts {
        if c.losers.iter().any(|l| mine(&l.source, &l.id)) {
            problems.push(format!("{} {}: lost, {}", c.target, c.window, c.resolution));
        }
    }
    if plan.unbound.iter().any(|u| mine(&u.source, &u.id)) {
        problems.push("no room is bound to its resource".to_owned());
    }
    for r in plan
        .rejected
        .iter()
        .filter(|r| mine(&r.booking.source, &r.booking.id))
    {
        problems.push(format!("rejected: {}", r.reason));
    }
    (caused, problems)
}

fn rows(web: &Web, q: &str) -> Vec<(BookingRow, String)> {
    let core = &web.daemon.core;
    let rules = core.rules.current();
    let tz = rules.site.site.time_zone;
    let day = core.clock.now().with_timezone(&tz).date_naive();
    let plan = core.last_plan();
    let mut bookings = core.bookings();
    bookings.sort_by(|a, b| (a.start, &a.source, &a.id).cmp(&(b.start, &b.source, &b.id)));
    bookings
        .iter()
        .filter_map(|b| {
            let v = BookingView::of(b);
            let room = rules
                .site
                .rooms
                .get(&format!("{}:{}", b.source, b.resource))
                .map(|r| r.name.clone())
                .or_else(|| v.room.clone())
                .unwrap_or_default();
            if !matches(&v, &room, q) {
                return None;
            }
            let (caused, problems) = effects(b, plan.as_deref(), tz, day);
            Some((
                BookingRow {
                    booking: v,
                    caused,
                    problems,
                },
                room,
            ))
        })
        .collect()
}

pub async fn page(State(web): State<Web>, Query(p): Query<Params>) -> axum::response::Html<String> {
    let ctx = Ctx::of(&web);
    let q = p.q.unwrap_or_default();
    let rows = rows(&web, q.trim());
    let mut h = Html::new();
    h.raw("<section class=\"card\"><h1>Bookings</h1>")
        .raw("<form method=\"get\" action=\"/bookings\" class=\"search\"><label for=\"q\">search</label>")
        .raw("<input id=\"q\" name=\"q\" type=\"search\" placeholder=\"title, room, id, person\" value=\"")
        .text(&q)
        .raw("\"><button type=\"submit\">Search</button></form><p>")
        .text(&format!("{} booking(s)", rows.len()))
        .raw("</p></section>");
    for (r, room) in &rows {
        let v = &r.booking;
        h.raw("<article class=\"card booking ")
            .raw(v.status)
            .raw("\" id=\"")
            .text(&BookingView::anchor(&v.source, &v.id))
            .raw("\"><h2>")
            .text(if v.title.is_empty() {
                "(no title)"
            } else {
                &v.title
            })
            .raw(" <small class=\"status\">")
            .text(v.status)
            .raw("</small></h2><p>")
            .text(&format!(
                "{} .. {} · {} · {}:{}",
                local(v.start, ctx.tz),
                local(v.end, ctx.tz),
                if room.is_empty() { &v.resource } else { room },
                v.source,
                v.id
            ));
        if let Some(name) = &v.responsible {
            h.raw(" · responsible ").text(name);
        }
        h.raw("</p>");
        if r.caused.is_empty() {
            h.el("p", "note", "It caused nothing in the current plan.");
        } else {
            h.raw("<ul class=\"caused\">");
            for c in &r.caused {
                h.raw("<li>").text(c).raw("</li>");
            }
            h.raw("</ul>");
        }
        if !r.problems.is_empty() {
            h.raw("<ul class=\"problems\">");
            for p in &r.problems {
                h.raw("<li>").text(p).raw("</li>");
            }
            h.raw("</ul>");
        }
        h.raw("</article>");
    }
    ctx.page("Bookings", "/bookings", h)
}

/// `/api/bookings?q=...`.
pub async fn json(State(web): State<Web>, Query(p): Query<Params>) -> Json<Vec<BookingRow>> {
    let q = p.q.unwrap_or_default();
    Json(rows(&web, q.trim()).into_iter().map(|(r, _)| r).collect())
}
