//! The Pronestor Planner source: cookie login through `Authenticate`, one re-login on a 401, a
//! redirect to the login page or an HTML answer; locations, then rooms, then meetings in the
//! window; deleted and empty meetings cancelled; preparation and follow-up time kept; the owner
//! kept as the responsible person.

pub mod config;
pub mod normalise;
#[cfg(test)]
mod tests;
pub mod wire;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use klar_engine::model::{Booking, BookingStatus, ResourceId, Secret, SourceName};
use serde_json::{Value, json};
use tracing::{debug, info, warn};

pub use config::{LoginBody, PronestorConfig, RequestDates};
pub use normalise::meeting_bookings;
use wire::{any_field, field, flag, list, minutes, text};

use super::time::parse_time_zone;
use super::{
    BoxFuture, BuildContext, Cadence, PollOutcome, PollRequest, Resource, Source, SourceError,
    Unusable,
};
use crate::http::{HttpClient, HttpRequest, HttpResponse};

/// A location as `GetLocations` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub id: String,
    pub name: String,
    pub time_zone: Option<Tz>,
}

/// A resource of a location; only rooms become bookings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    pub id: String,
    pub name: String,
    pub is_room: bool,
    pub capacity: Option<String>,
    pub kind: Option<String>,
    pub time_zone: Option<Tz>,
    pub preparation_minutes: u32,
    pub follow_up_minutes: u32,
}

pub struct PronestorSource {
    name: SourceName,
    config: PronestorConfig,
    http: HttpClient,
    password: Secret,
    /// The session cookies from `Authenticate`, as a `Cookie` header value.
    cookies: Option<Secret>,
    /// Bookings per meeting id from the last poll, to cancel those of a meeting that loses its
    /// rooms.
    known: BTreeMap<String, Vec<Booking>>,
}

impl PronestorSource {
    pub fn build(
        name: SourceName,
        config: PronestorConfig,
        ctx: &BuildContext,
    ) -> Result<PronestorSource, String> {
        config.validate()?;
        let password = config.password_ref().resolve("password", &ctx.base_dir)?;
        ctx.http.redactor().add(password.expose());
        Ok(PronestorSource {
            name,
            config,
            http: ctx.http.clone(),
            password,
            cookies: None,
            known: BTreeMap::new(),
        })
    }

    async fn login(&mut self) -> Result<(), SourceError> {
        let url = self.config.method_url(&self.config.methods.authenticate);
        let (user_field, password_field) = (
            &self.config.login.user_field,
            &self.config.login.password_field,
        );
        let req = match self.config.login.body {
            LoginBody::Json => {
                let mut body = serde_json::Map::new();
                body.insert(user_field.clone(), json!(self.config.username));
                body.insert(password_field.clone(), json!(self.password.expose()));
                HttpRequest::post(&url)?.json(&Value::Object(body))
            }
            LoginBody::Form => HttpRequest::post(&url)?.form(&[
                (user_field.as_str(), self.config.username.as_str()),
                (password_field.as_str(), self.password.expose()),
            ]),
        };
        let resp = self.http.send(&req).await?;
        if matches!(resp.status, 401 | 403) {
            return Err(SourceError::LoginRejected(format!(
                "Pronestor {}: HTTP {}",
                self.config.methods.authenticate, resp.status
            )));
        }
        if !(200..300).contains(&resp.status) {
            return Err(SourceError::Vendor(format!(
                "Pronestor {}: HTTP {}",
                self.config.methods.authenticate, resp.status
            )));
        }
        if resp.is_html() {
            return Err(SourceError::LoginRejected(
                "Pronestor answered the login with an HTML page (check url and api_path)".into(),
            ));
        }
        if let Ok(body) = resp.json::<Value>() {
            let refused = body == Value::Bool(false)
                || field(&body, "Success").is_some_and(|v| !flag(Some(v)));
            if refused {
                return Err(SourceError::LoginRejected(
                    "Pronestor refused the user name or password".into(),
                ));
            }
        }
        let pairs: Vec<String> = resp
            .set_cookies()
            .iter()
            .filter_map(|c| {
                c.split(';')
                    .next()
                    .map(str::trim)
                    .filter(|p| p.contains('='))
                    .map(str::to_owned)
            })
            .collect();
        if pairs.is_empty() {
            return Err(SourceError::LoginRejected(
                "Pronestor's login set no session cookie".into(),
            ));
        }
        for p in &pairs {
            if let Some((_, v)) = p.split_once('=') {
                self.http.redactor().add(v);
            }
        }
        self.cookies = Some(Secret::new(pairs.join("; ")));
        info!(source = %self.name, "Logged in to Pronestor.");
        Ok(())
    }

    fn session_expired(resp: &HttpResponse) -> bool {
        resp.status == 401
            || (300..400).contains(&resp.status)
            || ((200..300).contains(&resp.status) && resp.is_html())
    }

    /// A GET of one API method, logged in; one re-login when the session has expired.
    async fn get(&mut self, method: &str, query: &[(&str, &str)]) -> Result<Value, SourceError> {
        let what = format!("Pronestor {method}");
        for attempt in 0..2 {
            if self.cookies.is_none() {
                self.login().await?;
            }
            let cookie = self
                .cookies
                .as_ref()
                .map(|c| c.expose().to_owned())
                .unwrap_or_default();
            let req = HttpRequest::get(&self.config.method_url(method))?
                .query(query)
                .header("Cookie", &cookie)
                .header("Accept", "application/json");
            let resp = self.http.send(&req).await?;
            if Self::session_expired(&resp) {
                self.cookies = None;
                if attempt == 0 {
                    warn!(source = %self.name, method, status = resp.status, "Pronestor session expired; logging in again once.");
                    continue;
                }
                return Err(SourceError::SessionExpired(format!(
                    "{what}: HTTP {}",
                    resp.status
                )));
            }
            if !(200..300).contains(&resp.status) {
                return Err(SourceError::Vendor(format!("{what}: HTTP {}", resp.status)));
            }
            return resp.json::<Value>().map_err(|e| SourceError::Malformed {
                what,
                message: format!("not JSON (line {}, column {})", e.line(), e.column()),
            });
        }
        unreachable!("the loop returns on its second pass")
    }

    async fn locations(&mut self) -> Result<Vec<Location>, SourceError> {
        let method = self.config.methods.locations.clone();
        let body = self.get(&method, &[]).await?;
        let all = parse_locations(&method, &body)?;
        if self.config.locations.is_empty() {
            return Ok(all);
        }
        let mut chosen = Vec::new();
        for want in &self.config.locations {
            match all.iter().find(|l| l.id == want.to_string()) {
                Some(l) => chosen.push(l.clone()),
                // Never read as "no bookings": a location that vanished is an error.
                None => {
                    return Err(SourceError::Vendor(format!(
                        "Pronestor does not list location {want} for this user"
                    )));
                }
            }
        }
        Ok(chosen)
    }

    async fn rooms(&mut self, location: &Location) -> Result<Vec<Room>, SourceError> {
        let method = self.config.methods.resources.clone();
        let param = self.config.methods.location_param.clone();
        let body = self
            .get(
                &method,
                &[
                    (param.as_str(), location.id.as_str()),
                    ("hideDeleted", "True"),
                ],
            )
            .await?;
        parse_rooms(&self.config, &method, &body)
    }

    fn request_date(&self, t: DateTime<Utc>, tz: Tz) -> String {
        match self.config.request_dates {
            RequestDates::Local => t.with_timezone(&tz).format("%Y-%m-%dT%H:%M:%S").to_string(),
            RequestDates::Utc => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        }
    }

    async fn poll_inner(&mut self, req: PollRequest) -> Result<PollOutcome, SourceError> {
        let locations = self.locations().await?;
        let mut bookings = Vec::new();
        let mut known = BTreeMap::new();
        let mut unusable = Vec::new();
        for location in &locations {
            let rooms = self.rooms(location).await?;
            let rooms: BTreeMap<String, Room> = rooms
                .into_iter()
                .filter(|r| r.is_room)
                .map(|r| (r.id.clone(), r))
                .collect();
            let tz = location.time_zone.unwrap_or(self.config.time_zone);
            let m = self.config.methods.clone();
            let (from, to) = (
                self.request_date(req.window.from, tz),
                self.request_date(req.window.to, tz),
            );
            let hide = if self.config.include_deleted {
                "False"
            } else {
                "True"
            };
            let query = [
                (m.location_param.as_str(), location.id.as_str()),
                (m.start_param.as_str(), from.as_str()),
                (m.end_param.as_str(), to.as_str()),
                ("hideDeleted", hide),
            ];
            let body = self.get(&m.meetings, &query).await?;
            let items =
                list(&body).ok_or_else(|| malformed(&m.meetings, "expected a list of meetings"))?;
            for (i, meeting) in items.iter().enumerate() {
                let (mid, found) = match meeting_bookings(&self.name, meeting, &rooms, location, tz)
                {
                    Ok(found) => found,
                    // One meeting typed wrong must not hold back the others; what klar knew
                    // of it stays in force (the guard) and is remembered for the next poll.
                    Err(e) => {
                        let mid = text(field(meeting, "Id"));
                        let prev = mid.as_ref().and_then(|mid| self.known.get(mid));
                        unusable.push(Unusable {
                            ids: prev.into_iter().flatten().map(|b| b.id.clone()).collect(),
                            problem: format!("Pronestor {}: meeting #{i}: {e}", m.meetings),
                        });
                        if let (Some(mid), Some(prev)) = (mid, prev) {
                            known.insert(mid, prev.clone());
                        }
                        continue;
                    }
                };
                if found.is_empty() {
                    // An empty meeting: its rooms were released.
                    for prev in self.known.get(&mid).into_iter().flatten() {
                        let mut gone = prev.clone();
                        gone.status = BookingStatus::Cancelled;
                        gone.attrs
                            .insert("klar.cancelled".into(), "meeting lost its rooms".into());
                        bookings.push(gone);
                    }
                    continue;
                }
                known.insert(mid, found.clone());
                bookings.extend(found);
            }
        }
        self.known = known;
        bookings.retain(|b| b.start < req.window.to && req.window.from < b.end);
        bookings.sort_by(|a, b| (a.start, &a.id).cmp(&(b.start, &b.id)));
        debug!(source = %self.name, bookings = bookings.len(), "Pronestor poll done.");
        Ok(PollOutcome {
            window: req.window,
            bookings,
            unusable,
        })
    }
}

fn malformed(method: &str, message: &str) -> SourceError {
    SourceError::Malformed {
        what: format!("Pronestor {method}"),
        message: message.to_owned(),
    }
}

/// A `GetLocations` answer: every location with its id, name and zone.
pub fn parse_locations(method: &str, body: &Value) -> Result<Vec<Location>, SourceError> {
    let items = list(body).ok_or_else(|| malformed(method, "expected a list of locations"))?;
    let mut all = Vec::new();
    for (i, l) in items.iter().enumerate() {
        let id = text(field(l, "Id"))
            .ok_or_else(|| malformed(method, &format!("location #{i} has no Id")))?;
        all.push(Location {
            id,
            name: crate::sources::text::clean(&text(field(l, "Name")).unwrap_or_default()),
            time_zone: text(any_field(l, &["TimeZone", "TimeZoneId", "TimeZoneName"]))
                .and_then(|z| parse_time_zone(&z)),
        });
    }
    Ok(all)
}

/// A `GetResourcesByLocation` answer: the resources that are not deleted, each marked a room
/// or not by `resource_type_field` and `room_types`.
pub fn parse_rooms(
    config: &PronestorConfig,
    method: &str,
    body: &Value,
) -> Result<Vec<Room>, SourceError> {
    let items = list(body).ok_or_else(|| malformed(method, "expected a list of resources"))?;
    let mut rooms = Vec::new();
    for (i, r) in items.iter().enumerate() {
        if flag(field(r, "IsDeleted")) {
            continue;
        }
        let id = text(field(r, "Id"))
            .ok_or_else(|| malformed(method, &format!("resource #{i} has no Id")))?;
        let kind = text(field(r, &config.resource_type_field));
        let is_room = kind
            .as_ref()
            .is_none_or(|k| config.room_types.iter().any(|t| t.eq_ignore_ascii_case(k)));
        rooms.push(Room {
            id,
            name: crate::sources::text::clean(&text(field(r, "Name")).unwrap_or_default()),
            is_room,
            capacity: text(field(r, "Capacity")),
            kind,
            time_zone: text(any_field(r, &["TimeZone", "TimeZoneId"]))
                .and_then(|z| parse_time_zone(&z)),
            preparation_minutes: minutes(any_field(r, &["PreparationMinutes", "PreparationTime"])),
            follow_up_minutes: minutes(any_field(r, &["FollowUpMinutes", "FollowUpTime"])),
        });
    }
    Ok(rooms)
}

impl Source for PronestorSource {
    fn name(&self) -> &SourceName {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "pronestor"
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
        _now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Vec<Resource>, SourceError>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for location in self.locations().await? {
                for room in self.rooms(&location).await? {
                    let mut details = Vec::new();
                    if let Some(k) = &room.kind {
                        details.push(("type".to_owned(), k.clone()));
                    }
                    if let Some(c) = &room.capacity {
                        details.push(("capacity".to_owned(), c.clone()));
                    }
                    if let Some(tz) = room.time_zone.or(location.time_zone) {
                        details.push(("time_zone".to_owned(), tz.name().to_owned()));
                    }
                    if !room.is_room {
                        details.push(("bookable".to_owned(), "not a room".to_owned()));
                    }
                    out.push(Resource {
                        id: ResourceId::new(room.id),
                        name: room.name,
                        location: Some(location.name.clone()),
                        details,
                    });
                }
            }
            Ok(out)
        })
    }
}
