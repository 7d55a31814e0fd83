//! `/audit?target=...&from=...&to=...`: every change applied to the controller, from the
//! store's audit log, newest first: when, which target, before and after, why, and the booking,
//! rule and pack version behind it.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use klar_engine::store::AuditRecord;
use serde::Deserialize;

use super::html::{Html, local};
use super::{BookingView, Ctx, problem};
use crate::daemon::web::Web;

/// The newest rows read from the store before filtering.
const READ: usize = 5000;

#[derive(Deserialize, Default)]
pub struct Params {
    /// Part of the target's text (`D-HAL`, `zone`, `member:1042`).
    target: Option<String>,
    /// RFC 3339 or local time (`2026-11-23 08:00`).
    from: Option<String>,
    to: Option<String>,
    /// At most this many rows (default 500).
    limit: Option<usize>,
}

struct Filter {
    target: String,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    limit: usize,
}

impl Filter {
    fn parse(p: &Params, tz: chrono_tz::Tz) -> Result<Filter, String> {
        let time = |s: &Option<String>, name: &str| -> Result<Option<DateTime<Utc>>, String> {
            match s.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(text) => crate::cli::parse_at(text, tz)
                    .map(Some)
                    .map_err(|e| format!("{name}: {e}")),
            }
        };
        Ok(Filter {
            target: p.target.as_deref().unwrap_or("").trim().to_lowercase(),
            from: time(&p.from, "from")?,
            to: time(&p.to, "to")?,
            limit: p.limit.unwrap_or(500).clamp(1, READ),
        })
    }

    fn keeps(&self, r: &AuditRecord) -> bool {
        (self.target.is_empty() || r.target.to_lowercase().contains(&self.target))
            && self.from.is_none_or(|f| r.at >= f)
            && self.to.is_none_or(|t| r.at < t)
    }
}

/// The filtered rows, newest first. On a blocking thread: an apply holds the store's lock.
async fn rows(web: &Web, f: &Filter) -> Result<Vec<AuditRecord>, String> {
    let core = web.daemon.core.clone();
    let all = tokio::task::spawn_blocking(move || core.with_store(|s| s.audit(READ)))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    Ok(all
        .into_iter()
        .rev()
        .filter(|r| f.keeps(r))
        .take(f.limit)
        .collect())
}

fn windows(ws: &[klar_engine::model::Window], tz: chrono_tz::Tz) -> String {
    if ws.is_empty() {
        return "none".to_owned();
    }
    ws.iter()
        .map(|w| format!("{} .. {}", local(w.from, tz), local(w.to, tz)))
        .collect::<Vec<_>>()
        .join(", ")
}

pub async fn page(State(web): State<Web>, Query(p): Query<Params>) -> Response {
    let ctx = Ctx::of(&web);
    let mut h = Html::new();
    h.raw("<section class=\"card\"><h1>Audit log</h1>")
        .raw("<form method=\"get\" action=\"/audit\" class=\"search\">")
        .raw("<label for=\"target\">target</label><input id=\"target\" name=\"target\" placeholder=\"D-HAL-N\" value=\"")
        .text(p.target.as_deref().unwrap_or(""))
        .raw("\"><label for=\"from\">from</label><input id=\"from\" name=\"from\" placeholder=\"2026-11-23 08:00\" value=\"")
        .text(p.from.as_deref().unwrap_or(""))
        .raw("\"><label for=\"to\">to</label><input id=\"to\" name=\"to\" placeholder=\"2026-11-24 08:00\" value=\"")
        .text(p.to.as_deref().unwrap_or(""))
        .raw("\"><button type=\"submit\">Filter</button></form>");
    let filter = match Filter::parse(&p, ctx.tz) {
        Ok(f) => f,
        Err(e) => {
            problem(&mut h, &e);
            h.raw("</section>");
            return (StatusCode::BAD_REQUEST, ctx.page("Audit log", "/audit", h)).into_response();
        }
    };
    match rows(&web, &filter).await {
        Err(e) => problem(&mut h, &format!("the store cannot be read: {e}")),
        Ok(rows) => {
            h.raw("<p id=\"audit-count\">")
                .text(&format!("{} change(s)", rows.len()))
                .raw("</p><div class=\"scroll\"><table id=\"audit\" class=\"cards\"><thead><tr><th>when</th><th>target</th><th>change</th><th>before</th><th>after</th><th>booking</th><th>rule</th></tr></thead><tbody>");
            for r in &rows {
                h.raw("<tr class=\"audit-row\"><td data-label=\"when\">")
                    .text(&local(r.at, ctx.tz))
                    .raw("</td><td data-label=\"target\">")
                    .text(&r.target)
                    .raw("</td><td data-label=\"change\">")
                    .text(r.reason.as_str())
                    .raw("</td><td data-label=\"before\">")
                    .text(&windows(&r.before, ctx.tz))
                    .raw("</td><td data-label=\"after\">")
                    .text(&windows(&r.after, ctx.tz))
                    .raw("</td><td data-label=\"booking\">");
                h.link(
                    &BookingView::href(&r.source, &r.booking),
                    &format!("{}:{} {}", r.source, r.booking, r.title),
                );
                h.raw("</td><td data-label=\"rule\">")
                    .text(&format!("{} ({} {})", r.rule, r.pack, r.pack_version))
                    .raw("</td></tr>");
            }
            h.raw("</tbody></table></div>");
        }
    }
    h.raw("</section>");
    ctx.page("Audit log", "/audit", h).into_response()
}

/// `/api/audit?...`: the same rows as JSON, newest first.
pub async fn json(State(web): State<Web>, Query(p): Query<Params>) -> Response {
    let tz = web.daemon.core.rules.current().site.site.time_zone;
    let filter = match Filter::parse(&p, tz) {
        Ok(f) => f,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
    };
    match rows(&web, &filter).await {
        Ok(rows) => Json(rows).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}
