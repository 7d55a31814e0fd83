//! `/timeline`: today's and tomorrow's windows (local days) as an inline-SVG chart with now
//! marked: one row per room (its bookings), one per door, zone and output (the plan's windows),
//! then persons' access and day types. Each bar links to its booking and names its rule and
//! pack in its tooltip.

use std::fmt::Write as _;

use axum::extract::State;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use klar_engine::plan::{PlanEntry, Target, local_midnight};

use super::html::{Html, esc, local, local_short};
use super::{BookingView, Ctx};
use crate::daemon::web::Web;

/// The chart's span: local midnight today to local midnight after tomorrow.
pub struct Span {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Span {
    pub fn of(ctx: &Ctx) -> Span {
        let today = ctx.now.with_timezone(&ctx.tz).date_naive();
        let after = today + chrono::Days::new(2);
        Span {
            from: local_midnight(ctx.tz, today),
            to: local_midnight(ctx.tz, after),
        }
    }

    /// Where `t` falls, in percent of the span (clamped).
    fn pct(&self, t: DateTime<Utc>) -> f64 {
        let whole = (self.to - self.from).num_seconds().max(1) as f64;
        let x = (t - self.from).num_seconds() as f64 / whole * 100.0;
        x.clamp(0.0, 100.0)
    }

    fn overlaps(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
        from < self.to && to > self.from
    }
}

fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// One bar: a link around a rect, with a tooltip and the window in data attributes.
struct Bar<'a> {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    class: &'a str,
    href: String,
    label: String,
    tooltip: String,
    target: String,
}

/// One chart row: the label, then the bars in an SVG with the grid and the now line.
fn chart_row(
    h: &mut Html,
    span: &Span,
    now: DateTime<Utc>,
    label: &str,
    note: &str,
    bars: &[Bar<'_>],
) {
    h.raw("<div class=\"trow\"><div class=\"tlabel\">")
        .text(label);
    if !note.is_empty() {
        h.raw(" <small>").text(note).raw("</small>");
    }
    h.raw("</div><svg class=\"bars\" width=\"100%\" height=\"44\" role=\"img\" aria-label=\"")
        .text(label)
        .raw("\">");
    grid(h, span);
    for b in bars {
        let x = span.pct(b.from);
        let w = (span.pct(b.to) - x).max(0.4);
        h.raw(&format!(
            "<a class=\"window\" href=\"{}\" data-target=\"{}\" data-from=\"{}\" data-to=\"{}\"><rect class=\"{}\" x=\"{x:.3}%\" y=\"4\" width=\"{w:.3}%\" height=\"36\" rx=\"3\"><title>{}</title></rect><text x=\"{:.3}%\" y=\"27\">{}</text></a>",
            esc(&b.href),
            esc(&b.target),
            rfc(b.from),
            rfc(b.to),
            b.class,
            esc(&b.tooltip),
            x + 0.3,
            esc(&b.label),
        ));
    }
    now_line(h, span, now);
    h.raw("</svg></div>");
}

/// Vertical lines every six hours (local), the midnight between the days stronger.
fn grid(h: &mut Html, span: &Span) {
    let mut t = span.from;
    let mut i = 0;
    while t < span.to {
        let x = span.pct(t);
        let class = if i % 4 == 0 { "midnight" } else { "hour" };
        h.raw(&format!(
            "<line class=\"{class}\" x1=\"{x:.3}%\" x2=\"{x:.3}%\" y1=\"0\" y2=\"44\"/>"
        ));
        t += Duration::hours(6);
        i += 1;
    }
}

fn now_line(h: &mut Html, span: &Span, now: DateTime<Utc>) {
    if now >= span.from && now < span.to {
        let x = span.pct(now);
        h.raw(&format!(
            "<line class=\"now\" x1=\"{x:.3}%\" x2=\"{x:.3}%\" y1=\"0\" y2=\"44\"/>"
        ));
    }
}

fn class_of(target: &Target) -> &'static str {
    match target {
        Target::Door { .. } => "door",
        Target::Zone { .. } => "zone",
        Target::Output { .. } => "output",
        Target::Membership { .. } => "person",
        Target::Deny { .. } => "deny",
        Target::Day { .. } => "day",
        Target::SharedException { .. } => "shared",
    }
}

fn entry_bars<'a>(entry: &PlanEntry, span: &Span, ctx: &Ctx) -> Vec<Bar<'a>> {
    let day = ctx.now.with_timezone(&ctx.tz).date_naive();
    let class = class_of(&entry.target);
    entry
        .windows
        .iter()
        .filter(|w| span.overlaps(w.window.from, w.window.to))
        .map(|w| {
            let mut tooltip = format!(
                "{} {} .. {}",
                entry.target,
                local_short(w.window.from, ctx.tz, day),
                local_short(w.window.to, ctx.tz, day)
            );
            for r in &w.reasons {
                let _ = write!(
                    tooltip,
                    "\nbooking {}:{} ({}), rule {} in pack {} {}",
                    r.source, r.booking, r.title, r.rule, r.pack, r.pack_version
                );
            }
            let (href, label) = match w.reasons.first() {
                Some(r) => (
                    BookingView::href(r.source.as_str(), r.booking.as_str()),
                    r.title.clone(),
                ),
                None => ("/bookings".to_owned(), String::new()),
            };
            Bar {
                from: w.window.from,
                to: w.window.to,
                class,
                href,
                label,
                tooltip,
                target: entry.target.to_string(),
            }
        })
        .collect()
}

pub async fn page(State(web): State<Web>) -> axum::response::Html<String> {
    let ctx = Ctx::of(&web);
    let core = &web.daemon.core;
    let span = Span::of(&ctx);
    let rules = core.rules.current();
    let bookings = core.bookings();
    let plan = core.last_plan();
    let mut h = Html::new();
    h.raw("<section class=\"card\"><h1>Timeline</h1><p>")
        .text(&format!(
            "{} to {}, now {} (red line). Tap a bar for its booking and the rule and pack behind each window; hover for a summary.",
            local(span.from, ctx.tz),
            local(span.to, ctx.tz),
            local(ctx.now, ctx.tz)
        ))
        .raw("</p>");
    if let Some(p) = &plan
        && p.horizon.to < span.to
    {
        h.el(
            "p",
            "note",
            &format!(
                "The plan looks ahead to {} (horizon); later windows are planned as time goes on.",
                local(p.horizon.to, ctx.tz)
            ),
        );
    }
    h.raw(&format!(
        "<div class=\"chart\" data-from=\"{}\" data-to=\"{}\" data-now=\"{:.3}\">",
        rfc(span.from),
        rfc(span.to),
        span.pct(ctx.now)
    ));
    // The axis: day names and hours.
    h.raw("<div class=\"trow axis\"><div class=\"tlabel\"></div><svg class=\"bars\" width=\"100%\" height=\"22\">");
    let mut t = span.from;
    while t < span.to {
        let x = span.pct(t);
        let label = t.with_timezone(&ctx.tz).format("%a %H:%M").to_string();
        h.raw(&format!(
            "<text x=\"{:.3}%\" y=\"15\">{}</text>",
            x + 0.3,
            esc(&label)
        ));
        t += Duration::hours(6);
    }
    h.raw("</svg></div>");

    h.el("h2", "", "Rooms");
    for room in rules.site.rooms.values() {
        let bars: Vec<Bar<'_>> = bookings
            .iter()
            .filter(|b| format!("{}:{}", b.source, b.resource) == room.key)
            .filter(|b| span.overlaps(b.start, b.end))
            .map(|b| {
                let v = BookingView::of(b);
                let class = if v.status == "cancelled" {
                    "booking cancelled"
                } else {
                    "booking"
                };
                Bar {
                    from: b.start,
                    to: b.end,
                    class,
                    href: BookingView::href(&v.source, &v.id),
                    label: v.title.clone(),
                    tooltip: format!(
                        "{} ({}) {} .. {}, {}",
                        v.title,
                        v.id,
                        local(b.start, ctx.tz),
                        local(b.end, ctx.tz),
                        v.status
                    ),
                    target: format!("room {}", room.key),
                }
            })
            .collect();
        let name = if room.name.is_empty() {
            &room.key
        } else {
            &room.name
        };
        chart_row(&mut h, &span, ctx.now, name, &room.key, &bars);
    }

    match &plan {
        None => {
            h.el("p", "warn", "No plan yet.");
        }
        Some(plan) => {
            for (title, wanted) in [
                ("Doors, zones and outputs", true),
                ("Access and day types", false),
            ] {
                h.el("h2", "", title);
                for entry in &plan.entries {
                    let physical = matches!(
                        entry.target,
                        Target::Door { .. } | Target::Zone { .. } | Target::Output { .. }
                    );
                    if physical != wanted {
                        continue;
                    }
                    let bars = entry_bars(entry, &span, &ctx);
                    chart_row(&mut h, &span, ctx.now, &entry.target.to_string(), "", &bars);
                }
            }
        }
    }
    h.raw("</div></section>");
    ctx.page("Timeline", "/timeline", h)
}
