//! The local calendar source: a TOML or YAML file of holiday periods, special days and weekly
//! standing bookings, turned into bookings (tagged `holiday`, `special_day` and the day's kind,
//! so rules can set day types) for the poll window.

pub mod config;

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use klar_engine::model::{
    Booking, BookingId, BookingStatus, Person, ResourceId, SourceName, Window,
};

pub use config::{LocalCalendar, LocalConfig};

use super::time::local_to_utc;
use super::{
    BoxFuture, BuildContext, Cadence, PollOutcome, PollRequest, Resource, Source, SourceError,
};

pub struct LocalSource {
    name: SourceName,
    config: LocalConfig,
    path: PathBuf,
    time_zone: Tz,
}

impl LocalSource {
    pub fn build(
        name: SourceName,
        config: LocalConfig,
        ctx: &BuildContext,
    ) -> Result<LocalSource, String> {
        config.validate()?;
        let path = if config.file.is_absolute() {
            config.file.clone()
        } else {
            ctx.base_dir.join(&config.file)
        };
        let time_zone = config.time_zone.unwrap_or(ctx.time_zone);
        Ok(LocalSource {
            name,
            config,
            path,
            time_zone,
        })
    }

    async fn read(&self) -> Result<LocalCalendar, SourceError> {
        let text = tokio::fs::read_to_string(&self.path)
            .await
            .map_err(|e| SourceError::Read {
                path: self.path.clone(),
                message: e.kind().to_string(),
            })?;
        let ext = self
            .path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("toml");
        LocalCalendar::parse(&text, ext).map_err(|message| SourceError::Malformed {
            what: self.path.display().to_string(),
            message,
        })
    }
}

/// The bookings a calendar gives in `window`.
pub fn bookings(
    cal: &LocalCalendar,
    source: &SourceName,
    default_resource: &str,
    tz: Tz,
    window: &Window,
) -> Vec<Booking> {
    let midnight = |d: NaiveDate| local_to_utc(d.and_time(NaiveTime::MIN), tz);
    let base = |id: String, resource: &str, title: &str, start, end| Booking {
        id: BookingId::new(id),
        source: source.clone(),
        resource: ResourceId::new(resource),
        resource_name: None,
        location: None,
        title: title.to_owned(),
        start,
        end,
        setup_minutes: 0,
        teardown_minutes: 0,
        status: BookingStatus::Confirmed,
        responsible: None,
        attendees: Vec::new(),
        tags: Vec::new(),
        attrs: BTreeMap::new(),
    };
    let mut out = Vec::new();
    for h in &cal.holiday {
        let resource = h.resource.as_deref().unwrap_or(default_resource);
        let mut b = base(
            format!("holiday:{}:{}", h.from, h.name),
            resource,
            &h.name,
            midnight(h.from),
            midnight(h.to + Duration::days(1)),
        );
        b.tags = vec!["holiday".into()];
        b.attrs.insert("local.kind".into(), "holiday".into());
        b.attrs.insert("local.from".into(), h.from.to_string());
        b.attrs.insert("local.to".into(), h.to.to_string());
        out.push(b);
    }
    for d in &cal.special_day {
        let resource = d.resource.as_deref().unwrap_or(default_resource);
        let (start, end) = match (d.from, d.to) {
            (Some(a), Some(b)) => (
                local_to_utc(d.date.and_time(a), tz),
                local_to_utc(d.date.and_time(b), tz),
            ),
            _ => (midnight(d.date), midnight(d.date + Duration::days(1))),
        };
        let mut b = base(
            format!("special:{}:{}", d.date, d.name),
            resource,
            &d.name,
            start,
            end,
        );
        b.tags = vec!["special_day".into(), d.kind.to_lowercase()];
        b.attrs.insert("local.kind".into(), d.kind.to_lowercase());
        b.attrs.insert("local.date".into(), d.date.to_string());
        out.push(b);
    }
    // Standing bookings: each local day the window touches (plus one either side).
    let first = window.from.with_timezone(&tz).date_naive() - Duration::days(1);
    let last = window.to.with_timezone(&tz).date_naive() + Duration::days(1);
    for s in &cal.standing {
        let days: Vec<_> = s
            .weekdays
            .iter()
            .filter_map(|w| config::weekday(w))
            .collect();
        let (Some(from), Some(to)) = (s.from, s.to) else {
            continue;
        };
        let mut date = first;
        while date <= last {
            let valid =
                s.valid_from.is_none_or(|v| date >= v.0) && s.valid_to.is_none_or(|v| date <= v.0);
            if valid && days.contains(&date.weekday()) && !s.except.iter().any(|e| e.0 == date) {
                let mut b = base(
                    format!("standing:{}:{}:{}", s.resource, s.title, date),
                    &s.resource,
                    &s.title,
                    local_to_utc(date.and_time(from), tz),
                    local_to_utc(date.and_time(to), tz),
                );
                b.tags = s
                    .tags
                    .iter()
                    .map(|t| t.to_lowercase())
                    .chain(["standing".to_owned()])
                    .collect();
                b.responsible = s.responsible.as_ref().map(|r| Person {
                    name: r.name.clone(),
                    email: r.email.clone(),
                    phone: r.phone.clone(),
                    member_no: r.member_no.clone(),
                    pin: None,
                    card: None,
                });
                out.push(b);
            }
            date += Duration::days(1);
        }
    }
    out.retain(|b| b.start < window.to && window.from < b.end);
    out.iter_mut().for_each(crate::sources::text::clean_booking);
    out.sort_by(|a, b| (a.start, &a.id).cmp(&(b.start, &b.id)));
    out
}

impl Source for LocalSource {
    fn name(&self) -> &SourceName {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "local"
    }

    fn cadence(&self) -> Cadence {
        Cadence {
            every: super::minutes(self.config.poll_every_minutes),
            ahead: super::hours(self.config.lookahead_hours),
            behind: super::minutes(0),
        }
    }

    fn poll(&mut self, req: PollRequest) -> BoxFuture<'_, Result<PollOutcome, SourceError>> {
        Box::pin(async move {
            let cal = self.read().await?;
            let bookings = bookings(
                &cal,
                &self.name,
                &self.config.resource,
                self.time_zone,
                &req.window,
            );
            Ok(PollOutcome {
                window: req.window,
                bookings,
                unusable: Vec::new(),
            })
        })
    }

    fn resources(
        &mut self,
        _now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Vec<Resource>, SourceError>> {
        Box::pin(async move {
            let cal = self.read().await?;
            let mut ids: Vec<String> = vec![self.config.resource.clone()];
            ids.extend(cal.holiday.iter().filter_map(|h| h.resource.clone()));
            ids.extend(cal.special_day.iter().filter_map(|d| d.resource.clone()));
            ids.extend(cal.standing.iter().map(|s| s.resource.clone()));
            ids.sort();
            ids.dedup();
            Ok(ids
                .into_iter()
                .map(|id| Resource {
                    id: ResourceId::new(id.clone()),
                    name: id,
                    location: None,
                    details: Vec::new(),
                })
                .collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOML: &str = r#"
[[holiday]]
name = "Juleferie"
from = 2026-12-21
to = 2027-01-03

[[special_day]]
name = "Åbent hus"
date = 2026-11-28
kind = "open_house"
from = "10:00"
to = "14:00"

[[standing]]
title = "Rengøring"
resource = "hal-1"
weekdays = ["man", "thu"]
from = "06:00"
to = "07:30"
except = [2026-11-26]
responsible = { name = "Pedel Jens", member_no = "9001" }
tags = ["Cleaning"]
"#;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn toml_and_yaml_give_the_same_bookings() {
        let cal = LocalCalendar::parse(TOML, "toml").unwrap();
        let yaml = "holiday:\n  - {name: Juleferie, from: '2026-12-21', to: '2027-01-03'}\nspecial_day:\n  - {name: Åbent hus, date: '2026-11-28', kind: open_house, from: '10:00', to: '14:00'}\nstanding:\n  - {title: Rengøring, resource: hal-1, weekdays: [man, thu], from: '06:00', to: '07:30', except: ['2026-11-26'], responsible: {name: Pedel Jens, member_no: '9001'}, tags: [Cleaning]}\n";
        let cal2 = LocalCalendar::parse(yaml, "yaml").unwrap();
        let w = Window::new(utc("2026-11-22T23:00:00Z"), utc("2027-01-10T00:00:00Z")).unwrap();
        let a = bookings(
            &cal,
            &"local".into(),
            "site",
            chrono_tz::Europe::Copenhagen,
            &w,
        );
        assert_eq!(
            a,
            bookings(
                &cal2,
                &"local".into(),
                "site",
                chrono_tz::Europe::Copenhagen,
                &w
            )
        );
        let holiday = a.iter().find(|b| b.has_tag("holiday")).unwrap();
        assert_eq!(
            (holiday.start, holiday.end),
            (utc("2026-12-20T23:00:00Z"), utc("2027-01-03T23:00:00Z"))
        );
        let open = a.iter().find(|b| b.has_tag("open_house")).unwrap();
        assert_eq!(
            (open.start, open.end),
            (utc("2026-11-28T09:00:00Z"), utc("2026-11-28T13:00:00Z"))
        );
        let cleaning: Vec<_> = a
            .iter()
            .filter(|b| b.has_tag("standing"))
            .map(|b| b.start)
            .collect();
        // Mondays and Thursdays from 23 Nov; Thursday 26 Nov is excepted.
        assert_eq!(
            cleaning[..3],
            [
                utc("2026-11-23T05:00:00Z"),
                utc("2026-11-30T05:00:00Z"),
                utc("2026-12-03T05:00:00Z")
            ]
        );
        let first = a.iter().find(|b| b.has_tag("standing")).unwrap();
        assert_eq!(
            first.responsible.as_ref().unwrap().member_no.as_deref(),
            Some("9001")
        );
    }

    #[test]
    fn control_characters_in_the_file_are_stripped_at_the_edge() {
        let toml = "[[standing]]\ntitle = \"Rengøring\\n2026-12-04T17:00:00Z  WARN fake\\u001b[2J\"\nresource = \"hal-1\"\nweekdays = [\"man\"]\nfrom = \"06:00\"\nto = \"07:30\"\nresponsible = { name = \"Pedel\\rJens\\u0007\", member_no = \"9001\" }\n";
        let cal = LocalCalendar::parse(toml, "toml").unwrap();
        let w = Window::new(utc("2026-11-22T23:00:00Z"), utc("2026-11-30T00:00:00Z")).unwrap();
        let got = bookings(
            &cal,
            &"local".into(),
            "site",
            chrono_tz::Europe::Copenhagen,
            &w,
        );
        assert_eq!(got[0].title, "Rengøring 2026-12-04T17:00:00Z  WARN fake[2J");
        assert_eq!(got[0].responsible.as_ref().unwrap().name, "Pedel Jens");
    }

    #[test]
    fn bad_files_name_the_problem() {
        assert!(
            LocalCalendar::parse(
                "[[holiday]]\nname = 'x'\nfrom = 2026-12-21\nto = 2026-12-01",
                "toml"
            )
            .unwrap_err()
            .contains("ends")
        );
        let e = LocalCalendar::parse("[[standing]]\ntitle = 'x'\nresource = 'r'\nweekdays = ['funday']\nfrom = '06:00'\nto = '07:00'", "toml").unwrap_err();
        assert!(e.contains("funday"));
        assert!(
            LocalCalendar::parse("[[holliday]]\nname = 'x'", "toml")
                .unwrap_err()
                .starts_with("1:")
        );
    }
}
