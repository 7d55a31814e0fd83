//! The iCalendar source: an ICS feed by URL or file (Outlook/Exchange, Google, Office 365
//! published room calendars), recurring events expanded with their exceptions.

pub mod config;
pub mod expand;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use klar_engine::model::{ResourceId, SourceName, Window};
use tracing::debug;

pub use config::IcalConfig;
pub use expand::{Target, expand};

use super::{
    BoxFuture, BuildContext, Cadence, PollOutcome, PollRequest, Resource, Source, SourceError,
};
use crate::http::{HttpClient, HttpRequest};

enum Feed {
    Url(String),
    File(PathBuf),
}

pub struct IcalSource {
    name: SourceName,
    config: IcalConfig,
    http: HttpClient,
    feed: Feed,
    time_zone: Tz,
}

impl IcalSource {
    pub fn build(
        name: SourceName,
        config: IcalConfig,
        ctx: &BuildContext,
    ) -> Result<IcalSource, String> {
        config.validate()?;
        let feed = if let Some(u) = &config.url {
            Feed::Url(webcal_to_https(u))
        } else if let Some(var) = &config.url_env {
            let u = std::env::var(var)
                .map_err(|_| format!("url_env: environment variable {var} is not set"))?;
            url::Url::parse(&u).map_err(|_| format!("url_env: {var} does not hold a URL"))?;
            // A published calendar's URL is its password: keep it out of logs.
            ctx.http.redactor().add(&u);
            if let Ok(parsed) = url::Url::parse(&u) {
                ctx.http.redactor().add(parsed.path());
            }
            Feed::Url(webcal_to_https(&u))
        } else {
            let f = config
                .file
                .clone()
                .expect("validate checked that one of url, url_env and file is set");
            Feed::File(if f.is_absolute() {
                f
            } else {
                ctx.base_dir.join(f)
            })
        };
        let time_zone = config.time_zone.unwrap_or(ctx.time_zone);
        Ok(IcalSource {
            name,
            config,
            http: ctx.http.clone(),
            feed,
            time_zone,
        })
    }

    async fn fetch(&self) -> Result<String, SourceError> {
        match &self.feed {
            Feed::File(path) => {
                tokio::fs::read_to_string(path)
                    .await
                    .map_err(|e| SourceError::Read {
                        path: path.clone(),
                        message: e.kind().to_string(),
                    })
            }
            Feed::Url(u) => {
                let resp = self
                    .http
                    .send(&HttpRequest::get(u)?.header("Accept", "text/calendar"))
                    .await?;
                if !(200..300).contains(&resp.status) {
                    // Not the URL: a published calendar's URL is its password.
                    return Err(SourceError::Vendor(format!(
                        "calendar feed: HTTP {}",
                        resp.status
                    )));
                }
                String::from_utf8(resp.body).map_err(|_| SourceError::Malformed {
                    what: "calendar feed".into(),
                    message: "not UTF-8 text".into(),
                })
            }
        }
    }

    fn target(&self) -> Target {
        Target {
            source: self.name.clone(),
            resource: self.config.resource.clone(),
            resource_name: self.config.resource_name.clone(),
            location: self.config.location.clone(),
            time_zone: self.time_zone,
        }
    }

    fn what(&self) -> String {
        match &self.feed {
            Feed::File(p) => p.display().to_string(),
            Feed::Url(_) => "calendar feed".into(),
        }
    }
}

fn webcal_to_https(u: &str) -> String {
    match u.strip_prefix("webcal://") {
        Some(rest) => format!("https://{rest}"),
        None => u.to_owned(),
    }
}

impl Source for IcalSource {
    fn name(&self) -> &SourceName {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "ical"
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
            let text = self.fetch().await?;
            let bookings = expand(&text, &self.target(), &req.window).map_err(|message| {
                SourceError::Malformed {
                    what: self.what(),
                    message,
                }
            })?;
            debug!(source = %self.name, bookings = bookings.len(), "Calendar read.");
            Ok(PollOutcome {
                window: req.window,
                bookings,
                unusable: Vec::new(),
            })
        })
    }

    fn resources(
        &mut self,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Vec<Resource>, SourceError>> {
        Box::pin(async move {
            if let Some(r) = &self.config.resource {
                return Ok(vec![Resource {
                    id: ResourceId::new(r.clone()),
                    name: self
                        .config
                        .resource_name
                        .clone()
                        .unwrap_or_else(|| r.clone()),
                    location: self.config.location.clone(),
                    details: Vec::new(),
                }]);
            }
            // A shared calendar: the locations its events name in the next 30 days.
            let text = self.fetch().await?;
            let window =
                Window::new(now, now + chrono::Duration::days(30)).expect("30 days is a window");
            let bookings = expand(&text, &self.target(), &window).map_err(|message| {
                SourceError::Malformed {
                    what: self.what(),
                    message,
                }
            })?;
            let mut seen = BTreeMap::new();
            for b in bookings {
                seen.entry(b.resource.clone()).or_insert(Resource {
                    id: b.resource.clone(),
                    name: b
                        .resource_name
                        .clone()
                        .unwrap_or_else(|| b.resource.0.clone()),
                    location: b.location.clone(),
                    details: Vec::new(),
                });
            }
            Ok(seen.into_values().collect())
        })
    }
}
