//! The WinKAS source: token login with the licence number, the token reused for its lifetime
//! (refetched on start, renewed before expiry, one re-login on a token error), the envelope
//! checked on every answer, resources with locations, and bookings fetched for a wide window and
//! filtered locally. WinKAS has no cancelled flag: a booking missing from the window is
//! cancelled.

pub mod config;
pub mod normalise;
#[cfg(test)]
mod tests;
pub mod wire;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use klar_engine::model::{
    Booking, BookingId, BookingStatus, ResourceId, Secret, SourceName, Window,
};
use serde_json::{Value, json};
use tracing::{debug, info, warn};

pub use config::{RequestTimeFormat, WinkasConfig};
pub use normalise::{WinkasResource, parse_resource, to_booking};
pub use wire::Envelope;
use wire::{field, text};

use super::{
    BoxFuture, BuildContext, Cadence, PollOutcome, PollRequest, Resource, Source, SourceError,
    Unusable,
};
use crate::http::{HttpClient, HttpRequest};

struct Token {
    value: Secret,
    obtained: DateTime<Utc>,
}

pub struct WinkasSource {
    name: SourceName,
    config: WinkasConfig,
    http: HttpClient,
    password: Secret,
    token: Option<Token>,
    started: bool,
    /// Bookings of the last successful fetch, by id, to notice the ones that disappear.
    previous: BTreeMap<BookingId, Booking>,
}

impl WinkasSource {
    pub fn build(
        name: SourceName,
        config: WinkasConfig,
        ctx: &BuildContext,
    ) -> Result<WinkasSource, String> {
        config.validate()?;
        let password = config.password_ref().resolve("password", &ctx.base_dir)?;
        ctx.http.redactor().add(password.expose());
        Ok(WinkasSource {
            name,
            config,
            http: ctx.http.clone(),
            password,
            token: None,
            started: false,
            previous: BTreeMap::new(),
        })
    }

    fn url(&self, action: &str) -> String {
        format!("{}{}", self.config.base(), action)
    }

    /// One POST; the answer must be a JSON envelope.
    async fn post(&self, action: &str, body: &Value) -> Result<Envelope, SourceError> {
        let req = HttpRequest::post(&self.url(action))?.json(body);
        let resp = self.http.send(&req).await?;
        let what = format!("WinKAS {action}");
        if !(200..300).contains(&resp.status) {
            return Err(SourceError::Vendor(format!("{what}: HTTP {}", resp.status)));
        }
        if resp.is_html() {
            return Err(SourceError::Malformed {
                what,
                message: "an HTML page instead of JSON".into(),
            });
        }
        let value: Value = resp.json().map_err(|e| SourceError::Malformed {
            what: what.clone(),
            message: format!("not JSON (line {}, column {})", e.line(), e.column()),
        })?;
        Envelope::parse(value).map_err(|message| SourceError::Malformed { what, message })
    }

    fn keep_token(&mut self, env: &Envelope, now: DateTime<Utc>, top_level: &str) -> Option<()> {
        let token = env
            .payload(top_level)
            .and_then(Value::as_str)
            .filter(|t| !t.trim().is_empty())?;
        self.http.redactor().add(token);
        self.token = Some(Token {
            value: Secret::new(token),
            obtained: now,
        });
        Some(())
    }

    async fn login(&mut self, now: DateTime<Utc>) -> Result<(), SourceError> {
        let body = json!({
            "UserName": self.config.username,
            "UserPassword": self.password.expose(),
            "UserContractCode": self.config.contract_code,
        });
        let env = self.post("Authentication/Authenticate", &body).await?;
        if env.is_error() {
            let reason = self.http.redactor().redact(&env.message);
            return Err(SourceError::LoginRejected(format!("WinKAS: {reason}")));
        }
        self.keep_token(&env, now, "CurrentToken")
            .ok_or_else(|| SourceError::Malformed {
                what: "WinKAS Authenticate".into(),
                message: "no CurrentToken".into(),
            })?;
        info!(source = %self.name, "Logged in to WinKAS.");
        Ok(())
    }

    /// The last active token, if WinKAS has one (so a restart does not mint a new one).
    async fn refetch(&mut self, now: DateTime<Utc>) -> Result<bool, SourceError> {
        let body = json!({
            "ContractId": self.config.contract_code,
            "Username": self.config.username,
            "Password": self.password.expose(),
        });
        let env = self.post("authentication/refetchToken/", &body).await?;
        if env.is_error() {
            return Ok(false);
        }
        Ok(self.keep_token(&env, now, "Token").is_some())
    }

    /// A new token for the current one, before it expires.
    async fn renew(&mut self, now: DateTime<Utc>) -> Result<bool, SourceError> {
        let Some(current) = &self.token else {
            return Ok(false);
        };
        let body = json!({"UserToken": current.value.expose()});
        let env = self.post("Authentication/Authenticate", &body).await?;
        if env.is_error() {
            return Ok(false);
        }
        Ok(self.keep_token(&env, now, "CurrentToken").is_some())
    }

    async fn ensure_token(&mut self, now: DateTime<Utc>) -> Result<(), SourceError> {
        if self.token.is_none() && !self.started && self.config.refetch_token_on_start {
            self.started = true;
            match self.refetch(now).await {
                Ok(true) => debug!(source = %self.name, "Reusing the last active WinKAS token."),
                Ok(false) => debug!(source = %self.name, "WinKAS has no active token to reuse."),
                Err(e) => {
                    debug!(source = %self.name, error = %e, "refetchToken failed; logging in instead.")
                }
            }
        }
        self.started = true;
        if let Some(t) = &self.token {
            let lifetime = chrono::Duration::hours(i64::from(self.config.token_lifetime_hours));
            let margin = chrono::Duration::minutes(i64::from(self.config.renew_before_minutes));
            if now >= t.obtained + lifetime - margin {
                if self.renew(now).await.unwrap_or(false) {
                    debug!(source = %self.name, "Renewed the WinKAS token before it expires.");
                } else {
                    self.token = None;
                }
            }
        }
        if self.token.is_none() {
            self.login(now).await?;
        }
        Ok(())
    }

    /// A data call with the token in its body; on an error envelope, one re-login and retry.
    async fn data_call(
        &mut self,
        action: &str,
        mut body: Value,
        now: DateTime<Utc>,
    ) -> Result<Envelope, SourceError> {
        self.ensure_token(now).await?;
        for attempt in 0..2 {
            let token = self
                .token
                .as_ref()
                .map(|t| t.value.expose().to_owned())
                .unwrap_or_default();
            body["Token"] = Value::String(token);
            let env = self.post(action, &body).await?;
            if !env.is_error() {
                return Ok(env);
            }
            let message = self.http.redactor().redact(&env.message);
            if attempt == 0 {
                warn!(source = %self.name, action, message = %message, "WinKAS answered an error; logging in again once.");
                self.token = None;
                self.login(now).await?;
            } else {
                return Err(SourceError::Vendor(format!(
                    "WinKAS {action}: status {} ({message})",
                    env.status
                )));
            }
        }
        unreachable!("the loop returns on its second pass")
    }

    async fn fetch_resources(
        &mut self,
        now: DateTime<Utc>,
    ) -> Result<Vec<WinkasResource>, SourceError> {
        let env = self
            .data_call("Calendar/GetAllResources", json!({}), now)
            .await?;
        parse_resources(&env)
    }

    fn format_request_time(&self, t: DateTime<Utc>) -> String {
        match self.config.request_time_format {
            RequestTimeFormat::LocalZ => t
                .with_timezone(&self.config.time_zone)
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string(),
            RequestTimeFormat::Local => t
                .with_timezone(&self.config.time_zone)
                .format("%Y-%m-%dT%H:%M:%S")
                .to_string(),
            RequestTimeFormat::Utc => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        }
    }

    async fn poll_inner(&mut self, req: PollRequest) -> Result<PollOutcome, SourceError> {
        let mut resources = self.fetch_resources(req.now).await?;
        if !self.config.resources.is_empty() {
            resources.retain(|r| self.config.resources.contains(&r.id));
        }
        let margin = chrono::Duration::hours(i64::from(self.config.fetch_margin_hours));
        let fetch = Window::new(req.window.from - margin, req.window.to + margin)
            .expect("a widened window is non-empty");
        let body = json!({
            "StartTime": self.format_request_time(fetch.from),
            "EndTime": self.format_request_time(fetch.to),
            "Resources": resources.iter().map(|r| r.raw_id.clone()).collect::<Vec<_>>(),
        });
        let env = self
            .data_call("Calendar/GetAllResourceEventsInTimePeriod", body, req.now)
            .await?;
        let (mut found, unusable) =
            parse_events(&self.name, &env, &resources, self.config.time_zone)?;
        // What klar knew under an unusable entry is neither new nor cancelled: the guard keeps
        // it in force, and the next poll compares against it.
        for id in unusable.iter().flat_map(|u| &u.ids) {
            if let Some(prev) = self.previous.get(id) {
                found.entry(id.clone()).or_insert_with(|| prev.clone());
            }
        }
        let kept: Vec<BookingId> = unusable.iter().flat_map(|u| u.ids.clone()).collect();
        let mut bookings: Vec<Booking> = found
            .values()
            .filter(|b| !kept.contains(&b.id))
            .filter(|b| overlaps(b, &req.window))
            .cloned()
            .collect();
        // Missing from the window it was in: cancelled.
        for (id, prev) in &self.previous {
            if !found.contains_key(id)
                && prev.status != BookingStatus::Cancelled
                && fetch.contains(prev.start)
                && prev.end > req.now
                && overlaps(prev, &req.window)
            {
                let mut gone = prev.clone();
                gone.status = BookingStatus::Cancelled;
                gone.attrs
                    .insert("klar.cancelled".into(), "missing from WinKAS".into());
                info!(source = %self.name, booking = %id, "Booking no longer in WinKAS; cancelled.");
                bookings.push(gone);
            }
        }
        self.previous = found;
        bookings.sort_by(|a, b| (a.start, &a.id).cmp(&(b.start, &b.id)));
        debug!(source = %self.name, bookings = bookings.len(), "WinKAS poll done.");
        Ok(PollOutcome {
            window: req.window,
            bookings,
            unusable,
        })
    }
}

/// A `GetAllResources` answer: every resource with its id as sent, name and location.
pub fn parse_resources(env: &Envelope) -> Result<Vec<WinkasResource>, SourceError> {
    let list = env
        .payload("Resources")
        .and_then(Value::as_array)
        .ok_or_else(|| SourceError::Malformed {
            what: "WinKAS GetAllResources".into(),
            message: "no Resources list".into(),
        })?;
    list.iter()
        .enumerate()
        .map(|(i, r)| {
            parse_resource(r).ok_or_else(|| SourceError::Malformed {
                what: "WinKAS GetAllResources".into(),
                message: format!("resource #{i} has no Id"),
            })
        })
        .collect()
}

/// A `GetAllResourceEventsInTimePeriod` answer: every calendar entry as a booking, by id.
/// `resources` (from `GetAllResources`) give the bookings their names and locations.
pub fn parse_events(
    source: &SourceName,
    env: &Envelope,
    resources: &[WinkasResource],
    tz: Tz,
) -> Result<(BTreeMap<BookingId, Booking>, Vec<Unusable>), SourceError> {
    let what = "WinKAS GetAllResourceEventsInTimePeriod";
    let list = env
        .payload("Resources")
        .and_then(Value::as_array)
        .ok_or_else(|| SourceError::Malformed {
            what: what.into(),
            message: "no Resources list".into(),
        })?;
    let by_id: BTreeMap<&str, &WinkasResource> =
        resources.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut found: BTreeMap<BookingId, Booking> = BTreeMap::new();
    let mut unusable = Vec::new();
    for r in list {
        let id = text(field(r, "Id")).unwrap_or_default();
        let resource = by_id
            .get(id.as_str())
            .copied()
            .cloned()
            .unwrap_or(WinkasResource {
                raw_id: Value::Null,
                id: id.clone(),
                name: String::new(),
                location: None,
                address: None,
            });
        let entries = field(r, "ResourceCalendarbookings")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (i, entry) in entries.iter().enumerate() {
            match to_booking(source, &resource, entry, tz) {
                Ok(b) => {
                    found.insert(b.id.clone(), b);
                }
                // One entry typed wrong in WinKAS must not hold back the others.
                Err(message) => {
                    let inner = field(entry, "ResourceCalendarbooking")
                        .filter(|v| v.is_object())
                        .unwrap_or(entry);
                    let ids = text(field(inner, "Id"))
                        .or_else(|| text(field(entry, "Id")))
                        .map(|id| vec![BookingId::from(id.as_str())])
                        .unwrap_or_default();
                    unusable.push(Unusable {
                        ids,
                        problem: format!("{what}: resource {id}, booking #{i}: {message}"),
                    });
                }
            }
        }
    }
    Ok((found, unusable))
}

fn overlaps(b: &Booking, w: &Window) -> bool {
    b.start < w.to && w.from < b.end
}

impl Source for WinkasSource {
    fn name(&self) -> &SourceName {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "winkas"
    }

    fn cadence(&self) -> Cadence {
        Cadence {
            every: super::minutes(self.config.poll_every_minutes),
            ahead: super::hours(self.config.lookahead_hours),
            behind: super::minutes(0),
        }
    }

    fn poll(&mut self, req: PollRequest) -> BoxFuture<'_, Result<PollOutcome, SourceError>> {
        Box::pin(self.poll_inner(req))
    }

    fn resources(
        &mut self,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Vec<Resource>, SourceError>> {
        Box::pin(async move {
            let list = self.fetch_resources(now).await?;
            Ok(list
                .into_iter()
                .map(|r| Resource {
                    id: ResourceId::new(r.id),
                    name: r.name,
                    location: r.location,
                    details: r
                        .address
                        .map(|a| vec![("address".to_owned(), a)])
                        .unwrap_or_default(),
                })
                .collect())
        })
    }
}
