//! The site's own calendar on the controller: public holidays and holiday periods (ferie)
//! inside the horizon become day types in UniLock's special-day calendar, so the doors follow
//! the tables' `holiday` rows on those days without any booking or rule asking.
//!
//! `[site] write_holidays = false` turns it off; a period's `day_type` maps it to a fictive day
//! type (`"skoleferie"`) or leaves it out (`"none"`). A day type a rule sets for a date wins over the
//! site's for that date, and the conflict is reported.

use super::collect::Contribution;
use super::types::{BookingRef, Conflict, Reason, Target};
use crate::model::{DayKind, Window};
use crate::rules::RuleLocation;
use crate::site::SiteConfig;
use crate::site::local_time::{local_dates, local_midnight};

/// The source name the site's own calendar entries carry in reasons. Configured source names
/// cannot contain brackets' meaning here: `[site]` names the config table.
pub const SITE_SOURCE: &str = "[site]";

/// Day-type contributions for the site's holidays inside `horizon`.
pub(super) fn site_days(site: &SiteConfig, horizon: &Window) -> Vec<Contribution> {
    if !site.site.write_holidays {
        return Vec::new();
    }
    let tz = site.site.time_zone;
    let (first, last) = local_dates(tz, horizon.from, horizon.to);
    // UniLock's special-day calendar reaches one year ahead; the horizon can reach a day more.
    let last = first
        .checked_add_months(chrono::Months::new(12))
        .map_or(last, |year| last.min(year));
    let mut out = Vec::new();
    for date in first.iter_days().take_while(|d| *d <= last) {
        let Some(window) = date
            .succ_opt()
            .and_then(|next| Some((local_midnight(tz, date)?, local_midnight(tz, next)?)))
            .and_then(|(from, to)| Window::new(from, to.min(horizon.to)).ok())
        else {
            continue;
        };
        if let Some(name) = site.public_holiday(date) {
            out.push(Contribution {
                target: Target::Day {
                    day: DayKind::Holiday,
                },
                window,
                reason: reason(
                    &format!("public_holiday {date}"),
                    name,
                    "[site] public_holidays",
                ),
                core: None,
            });
        }
        for p in site
            .site
            .holiday_periods
            .iter()
            .filter(|p| p.from <= date && date <= p.to)
        {
            let Some(day) = p.controller_day() else {
                continue;
            };
            out.push(Contribution {
                target: Target::Day { day },
                window,
                reason: reason(
                    &format!("holiday_period {}", p.name),
                    &p.name,
                    "[[site.holiday_periods]]",
                ),
                core: None,
            });
        }
    }
    out
}

fn reason(id: &str, title: &str, file: &str) -> Reason {
    Reason {
        source: SITE_SOURCE.into(),
        booking: id.into(),
        title: title.to_owned(),
        pack: "site".into(),
        pack_version: "config".into(),
        rule: RuleLocation {
            file: file.into(),
            line: 0,
            column: 0,
        },
        window: None,
    }
}

/// Whether a reason is the site's own calendar.
pub fn is_site(reason: &Reason) -> bool {
    reason.source.as_str() == SITE_SOURCE
}

/// Drops the site's day types on dates a booking's rule gives another day type, and reports
/// each: a rule's explicit day type for a date wins over the site's calendar.
pub(super) fn yield_to_rules(
    site_days: Vec<Contribution>,
    booked: &[Contribution],
    conflicts: &mut Vec<Conflict>,
) -> Vec<Contribution> {
    let rule_days: Vec<&Contribution> = booked
        .iter()
        .filter(|c| matches!(c.target, Target::Day { .. }))
        .collect();
    site_days
        .into_iter()
        .filter(|s| {
            let others: Vec<&&Contribution> = rule_days
                .iter()
                .filter(|r| r.target != s.target && r.window.overlaps(&s.window))
                .collect();
            if others.is_empty() {
                return true;
            }
            conflicts.push(Conflict {
                target: s.target.clone(),
                window: s.window,
                resolution: format!(
                    "a rule sets {} for this date: a booking's day type wins over the site's {}",
                    others
                        .iter()
                        .map(|o| o.target.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    s.target
                ),
                winners: others.iter().map(|o| o.reason.booking_ref()).collect(),
                losers: vec![BookingRef {
                    source: s.reason.source.clone(),
                    id: s.reason.booking.clone(),
                    title: s.reason.title.clone(),
                }],
            });
            false
        })
        .collect()
}
