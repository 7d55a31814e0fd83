//! `/reloads`: every recent reload, newest first, with what it changed on the live bookings in
//! the site's local time (the diff: windows added, removed, moved or changed in level, bookings
//! that newly fail or are decided again, a line per room), or why it was refused, with an
//! "Apply anyway" button where a confirmation applies it. `/api/reloads` is the same as JSON.

use axum::Json;
use axum::extract::State;
use chrono_tz::Tz;
use klar_engine::reload::PlanDiff;
use klar_engine::reload::diff::ChangeKind;

use super::html::{Html, ago};
use super::{Ctx, row};
use crate::daemon::status::ReloadRecord;
use crate::daemon::web::Web;
use crate::local_time;

pub async fn page(State(web): State<Web>) -> axum::response::Html<String> {
    let ctx = Ctx::of(&web);
    let status = web.daemon.core.status();
    let mut h = Html::new();
    h.raw("<section class=\"card\"><h1>Reloads</h1>")
        .raw("<p class=\"note\">Each save of a rule or the site config is tried on the live bookings before it applies. A change that fails a booking the rules in force decide, or removes most windows in force, is refused until confirmed.</p>");
    if status.rules.reloads.is_empty() {
        h.el("p", "note", "No reload since klar started.");
    }
    for r in &status.rules.reloads {
        record(&mut h, r, &ctx, usize::MAX);
    }
    h.raw("</section>");
    ctx.page("Reloads", "/reloads", h)
}

pub async fn json(State(web): State<Web>) -> Json<Vec<ReloadRecord>> {
    Json(web.daemon.core.status().rules.reloads)
}

/// One reload: outcome, what asked, problems, the confirmation button, and its diff (at most
/// `limit` window changes; a link to `/reloads` for the rest).
pub fn record(h: &mut Html, r: &ReloadRecord, ctx: &Ctx, limit: usize) {
    let class = match r.outcome.as_str() {
        "refused" => "refused",
        _ => "swapped",
    };
    h.raw("<article class=\"reload ")
        .raw(class)
        .raw("\" id=\"reload-")
        .text(&r.id.to_string())
        .raw("\"><h2>")
        .text(&format!("Reload {} ", r.id))
        .raw("<small>")
        .text(&format!(
            "{} ({}), {}",
            local_time::instant(r.at, ctx.tz),
            ago(r.at, ctx.now),
            trigger_words(&r.trigger)
        ))
        .raw("</small></h2>");
    let summary_class = if r.outcome == "refused" {
        "bad"
    } else if r.overridden_by.is_some() {
        "warn"
    } else {
        "good"
    };
    h.el("p", summary_class, &r.summary());
    if !r.problems.is_empty() {
        let title = if r.outcome == "refused" {
            "Why it was refused"
        } else {
            "What the guard would have refused it for"
        };
        h.el("h3", "", title).raw("<ul class=\"problems\">");
        for p in &r.problems {
            h.raw("<li><code>").text(&p.to_string()).raw("</code></li>");
        }
        h.raw("</ul>");
    }
    if r.confirmable {
        h.raw("<div class=\"buttons\"><form method=\"post\" action=\"/api/reload?confirm=1\" data-action=\"confirm\"><button class=\"confirm\" type=\"submit\">Apply anyway</button></form></div>")
            .el(
                "p",
                "note",
                "Applies the files as they are now, although the guard refused them (klar reload --confirm does the same).",
            );
    }
    if let Some(diff) = &r.diff {
        let verb = if r.outcome == "refused" {
            "would change"
        } else {
            "changed"
        };
        diff_html(h, diff, ctx.tz, verb, limit);
    }
    h.raw("</article>");
}

fn trigger_words(trigger: &str) -> &str {
    match trigger {
        "file" => "a file was saved",
        "dashboard" => "asked on the dashboard",
        "cli" => "asked by klar reload",
        "signal" => "asked by SIGHUP",
        other => other,
    }
}

/// A diff for people: a line per room, bookings newly failing by cause, then the window changes
/// in local time.
pub fn diff_html(h: &mut Html, d: &PlanDiff, tz: Tz, verb: &str, limit: usize) {
    h.raw("<dl>");
    row(
        h,
        "live bookings",
        &format!(
            "planned at {}, up to {}",
            local_time::instant(d.at, tz),
            local_time::instant(d.until, tz)
        ),
    );
    row(h, verb, &d.counts.to_string());
    h.raw("</dl>");
    if !d.rooms.is_empty() {
        h.el("h3", "", "Rooms").raw("<ul class=\"rooms\">");
        for room in &d.rooms {
            h.raw("<li>").text(&room.to_string()).raw("</li>");
        }
        h.raw("</ul>");
    }
    if !d.newly_failing.is_empty() {
        h.el("h3", "", "Bookings its rules newly fail (fail closed)")
            .raw("<ul class=\"problems\">");
        for c in &d.newly_failing {
            let titles: Vec<String> = c
                .bookings
                .iter()
                .take(5)
                .map(|b| format!("{}:{} {}", b.source, b.id, b.title))
                .collect();
            h.raw("<li><code>")
                .text(&c.to_string())
                .raw("</code>: ")
                .text(&format!(
                    "{} {}: {}{}",
                    c.bookings.len(),
                    if c.bookings.len() == 1 {
                        "booking"
                    } else {
                        "bookings"
                    },
                    titles.join(", "),
                    if c.bookings.len() > titles.len() {
                        ", ..."
                    } else {
                        ""
                    }
                ))
                .raw("</li>");
        }
        h.raw("</ul>");
    }
    for (title, list) in [
        ("Bookings decided again", &d.newly_decided),
        ("Bookings no room is bound to any more", &d.newly_unbound),
        ("Bookings now bound to a room", &d.newly_bound),
    ] {
        if list.is_empty() {
            continue;
        }
        h.el("h3", "", title).raw("<ul>");
        for b in list {
            h.raw("<li>")
                .text(&format!("{}:{} {}", b.source, b.id, b.title))
                .raw("</li>");
        }
        h.raw("</ul>");
    }
    if d.changes.is_empty() {
        return;
    }
    h.el("h3", "", "Windows")
        .raw("<div class=\"scroll\"><table class=\"cards diff\"><thead><tr><th>what</th><th>change</th><th>before</th><th>after</th><th>bookings</th></tr></thead><tbody>");
    for c in d.changes.iter().take(limit) {
        let level = |l: Option<klar_engine::model::DoorLevel>| {
            l.map(|l| format!(" {l}")).unwrap_or_default()
        };
        let what = match c.kind {
            ChangeKind::Moved => match (&c.before, &c.after) {
                (Some(b), Some(a)) => format!("moved: {}", local_time::shift(b, a)),
                _ => "moved".to_owned(),
            },
            ChangeKind::Level => {
                format!("level{} ->{}", level(c.level_before), level(c.level_after))
            }
            other => other.as_str().to_owned(),
        };
        let bookings: Vec<String> = c
            .bookings
            .iter()
            .map(|b| format!("{}:{} {}", b.source, b.id, b.title))
            .collect();
        h.raw("<tr class=\"change\"><td data-label=\"what\">")
            .text(&c.object)
            .raw("</td><td data-label=\"change\" class=\"kind ")
            .raw(c.kind.as_str())
            .raw("\">")
            .text(&what)
            .raw("</td><td data-label=\"before\">")
            .text(&c.before.as_ref().map_or_else(String::new, |w| {
                format!("{}{}", local_time::window(w, tz), level(c.level_before))
            }))
            .raw("</td><td data-label=\"after\">")
            .text(&c.after.as_ref().map_or_else(String::new, |w| {
                let shown = match &c.before {
                    Some(b) => local_time::window_beside(w, b, tz),
                    None => local_time::window(w, tz),
                };
                format!("{shown}{}", level(c.level_after))
            }))
            .raw("</td><td data-label=\"bookings\">")
            .text(&bookings.join("; "))
            .raw("</td></tr>");
    }
    h.raw("</tbody></table></div>");
    if d.changes.len() > limit {
        h.raw("<p class=\"note\">")
            .text(&format!("and {} more: ", d.changes.len() - limit))
            .link("/reloads", "every change")
            .raw("</p>");
    }
}
