//! `/`: is klar healthy? Everything that keeps it from green, first and in one list (the
//! header's badge counts it, `/readyz` says it); each source (last good poll, errors, bookings
//! held), the controller (reachable, last apply, what is still pending), the rule packs
//! (version, the last reload and what it changed or why it was refused, errors with file:line
//! and the offending line, rule errors grouped by cause), and the two actions.

use axum::extract::{Query, State};
use serde::Deserialize;

use super::html::{Html, ago, local};
use super::{Ctx, row};
use crate::daemon::web::{Web, missing};

#[derive(Deserialize)]
pub struct Params {
    requested: Option<String>,
}

pub async fn page(State(web): State<Web>, Query(p): Query<Params>) -> axum::response::Html<String> {
    let ctx = Ctx::of(&web);
    let core = web.daemon.core.clone();
    let status = core.status();
    let reading = web.live.read_now(core.last_plan(), ctx.now).await;
    let mut h = Html::new();

    h.raw("<section class=\"card actions\"><h1>Overview</h1>");
    match p.requested.as_deref() {
        Some("sync") => {
            h.el(
                "p",
                "good",
                "Sync requested: every source is being polled now.",
            );
        }
        Some("reload") => {
            h.el(
                "p",
                "good",
                "Reload requested: the rules are validated and swapped.",
            );
        }
        _ => {}
    }
    h.raw("<div class=\"buttons\">")
        .raw("<form method=\"post\" action=\"/api/sync\" data-action=\"sync\"><button id=\"sync\" type=\"submit\">Sync now</button></form>")
        .raw("<form method=\"post\" action=\"/api/reload\" data-action=\"reload\"><button id=\"reload\" type=\"submit\">Reload rules</button></form>")
        .raw("</div>");
    let missing = missing(&core);
    if ctx.problems.is_empty() {
        h.el(
            "p",
            "good",
            "All good: every source read, the plan applied, every booking decided, nothing refused.",
        );
    } else {
        if !missing.is_empty() {
            h.raw("<p class=\"warn\">Not ready: ")
                .text(&missing.join("; "))
                .raw("</p>");
        }
        let rest = &ctx.problems[missing.len()..];
        if !rest.is_empty() {
            h.raw("<ul class=\"problems\" id=\"problems\">");
            for p in rest {
                h.raw("<li>").text(p).raw("</li>");
            }
            h.raw("</ul>");
        }
    }
    h.raw("</section>");

    // Sources.
    h.raw("<section class=\"card\"><h2>Sources</h2><div class=\"grid\">");
    for s in &status.sources {
        let (class, health) = match &s.health {
            None => ("warn", "not polled yet".to_owned()),
            Some(klar_adapters::sources::guard::Health::Healthy) => ("good", "healthy".to_owned()),
            Some(klar_adapters::sources::guard::Health::Degraded { .. }) => (
                "bad",
                "degraded: the last poll failed; the last good bookings stay in force".to_owned(),
            ),
            Some(klar_adapters::sources::guard::Health::Unusable { problems }) => (
                "warn",
                format!(
                    "{} unusable booking(s) set aside (what klar knew of them stays in force): {}",
                    problems.len(),
                    problems.join("; ")
                ),
            ),
            Some(klar_adapters::sources::guard::Health::HeldBack { vanished, of }) => (
                "warn",
                format!(
                    "held back: {} of {of} bookings vanished at once; waiting for the next poll to confirm",
                    vanished.len()
                ),
            ),
        };
        h.raw("<article class=\"source\" id=\"source-")
            .text(&s.name)
            .raw("\"><h3>")
            .text(&s.name)
            .raw(" <small>")
            .text(&s.kind)
            .raw("</small></h3><p class=\"")
            .raw(class)
            .raw("\">")
            .text(&health)
            .raw("</p><dl>");
        row(&mut h, "bookings held", &s.bookings.to_string());
        row(
            &mut h,
            "last good poll",
            &s.last_good.map_or("never".to_owned(), |t| {
                format!("{} ({})", local(t, ctx.tz), ago(t, ctx.now))
            }),
        );
        row(
            &mut h,
            "last poll",
            &s.last_poll.map_or("never".to_owned(), |t| {
                format!(
                    "{} {} ({})",
                    s.last_scope.as_deref().unwrap_or(""),
                    local(t, ctx.tz),
                    ago(t, ctx.now)
                )
            }),
        );
        row(
            &mut h,
            "polls / failures",
            &format!("{} / {}", s.polls, s.failures),
        );
        if let Some(e) = &s.last_error {
            row(&mut h, "last error", e);
        }
        h.raw("</dl></article>");
    }
    h.raw("</div></section>");

    // Controller.
    let site = core.rules.current().site.clone();
    let kind = site
        .controller
        .get("kind")
        .and_then(|v| v.as_str())
        .unwrap_or("unilock-sim")
        .to_owned();
    h.raw("<section class=\"card\" id=\"controller\"><h2>Controller <small>")
        .text(&kind)
        .raw("</small></h2>");
    match &reading {
        Ok(_) => h.el("p", "good", "connected: its database was read just now"),
        Err(e) => h.el("p", "bad", &format!("not connected: {e}")),
    };
    h.raw("<dl>");
    match &status.last_apply {
        None => row(&mut h, "last apply", "none yet"),
        Some(a) => {
            row(
                &mut h,
                "last apply",
                &format!(
                    "{} ({}), {} action(s)",
                    local(a.at, ctx.tz),
                    ago(a.at, ctx.now),
                    a.actions
                ),
            );
            if let Some(e) = &a.error {
                row(&mut h, "apply error", e);
            }
        }
    }
    if let Ok(r) = &reading {
        row(&mut h, "pending actions", &r.pending.len().to_string());
        row(&mut h, "problems", &r.problems.len().to_string());
    }
    h.raw("</dl>");
    if let Ok(r) = &reading {
        list(&mut h, "Pending", &r.pending);
        list(&mut h, "Cannot be realised as planned", &r.problems);
    }
    if let Some(a) = &status.last_apply {
        list(&mut h, "Problems at the last apply", &a.problems);
    }
    h.raw("</section>");

    // Rule packs.
    h.raw("<section class=\"card\" id=\"rules\"><h2>Rule packs</h2><dl>");
    row(
        &mut h,
        "in force",
        &format!(
            "{} (generation {})",
            status.rules.packs.join(", "),
            status.rules.generation
        ),
    );
    row(
        &mut h,
        "last reload",
        &status
            .rules
            .last_reload
            .map_or("none since start".to_owned(), |t| {
                format!("{} ({})", local(t, ctx.tz), ago(t, ctx.now))
            }),
    );
    if let Some(plan) = &status.plan {
        row(
            &mut h,
            "last plan",
            &format!(
                "{} ({}): {} targets, {} windows",
                local(plan.at, ctx.tz),
                ago(plan.at, ctx.now),
                plan.targets,
                plan.windows
            ),
        );
    }
    h.raw("</dl>");
    if !status.rules.errors.is_empty() {
        h.el(
            "p",
            "bad",
            "The last reload was refused; the previous rules stay in force:",
        );
        h.raw("<ul class=\"problems\">");
        for e in &status.rules.errors {
            h.raw("<li><code>").text(&e.to_string()).raw("</code>");
            if let Some(text) = offending_line(&e.file, e.line) {
                h.raw("<pre>").text(&text).raw("</pre>");
            }
            h.raw("</li>");
        }
        h.raw("</ul>");
    }
    if let Some(plan) = &status.plan
        && !plan.causes.is_empty()
    {
        let failed: usize = plan.causes.iter().map(|c| c.bookings.len()).sum();
        h.el(
            "h3",
            "",
            &format!(
                "Bookings a rule fails on (fail closed): {failed}, {} {}",
                plan.causes.len(),
                if plan.causes.len() == 1 {
                    "cause"
                } else {
                    "causes"
                }
            ),
        )
        .raw("<ul class=\"problems causes\">");
        for c in &plan.causes {
            let names: Vec<String> = c
                .bookings
                .iter()
                .take(3)
                .map(|b| format!("{}:{} {}", b.source, b.id, b.title))
                .collect();
            h.raw("<li><code>")
                .text(&c.to_string())
                .raw("</code>")
                .text(&format!(
                    "; {} {} ({}{})",
                    c.bookings.len(),
                    if c.bookings.len() == 1 {
                        "consequence"
                    } else {
                        "consequences"
                    },
                    names.join(", "),
                    if c.bookings.len() > names.len() {
                        ", ..."
                    } else {
                        ""
                    }
                ));
            if let Some(l) = &c.location
                && let Some(dir) = core
                    .rules
                    .current()
                    .packs
                    .iter()
                    .find(|p| p.pack().name == c.pack)
                    .map(|p| p.pack().dir.clone())
                && let Some(text) = offending_line(&dir.join(&l.file), Some(l.line))
            {
                h.raw("<pre>").text(&text).raw("</pre>");
            }
            h.raw("</li>");
        }
        h.raw("</ul>");
    }
    match status.rules.reloads.first() {
        Some(r) => super::reloads::record(&mut h, r, &ctx, 10),
        None => {
            h.el("p", "note", "No reload since klar started.");
        }
    }
    h.raw("</section>");
    ctx.page("Overview", "/", h)
}

/// A titled list, shown only when it has items.
fn list(h: &mut Html, title: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    h.el("h3", "", title).raw("<ul class=\"problems\">");
    for i in items {
        h.raw("<li>").text(i).raw("</li>");
    }
    h.raw("</ul>");
}

/// The line a reload error points at, numbered, for the overview.
fn offending_line(file: &std::path::Path, line: Option<u32>) -> Option<String> {
    let n = usize::try_from(line?).ok()?;
    let text = std::fs::read_to_string(file).ok()?;
    let l = text.lines().nth(n.checked_sub(1)?)?;
    Some(format!("{n:>4} | {l}"))
}
