//! A fake Pronestor Planner API (`/Api.mvc/v1/<Method>`): cookie login through `Authenticate`,
//! session expiry answered as 401, a 302 to the login page or a 200 HTML page (switchable),
//! locations, rooms (with catering and equipment among the resources), meetings in a window with
//! soft deletes, awaiting approval and "empty meetings", dates as `/Date(ms)/`, naive local ISO
//! or ISO with offset (switchable), method names switchable, and injectable faults. Faithful to
//! `vendors/pronestor.md`, whose inferred parts are exactly what can be switched here.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use chrono_tz::Europe::Copenhagen;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::{
    FakeBooking, FakeClock, FakeData, FakeResource, Fault, FaultQueue, Served, answer_fault,
    normalise_path,
};
use crate::sources::time::parse_datetime;

/// How the fake writes dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PronestorDateFormat {
    /// `/Date(1715583600000)/`, as ASP.NET MVC's `JsonResult` does.
    #[default]
    MsDate,
    /// `2026-11-23T17:00:00`, the location's local time.
    NaiveLocal,
    /// `2026-11-23T17:00:00+01:00`.
    IsoOffset,
}

/// How the fake answers a request whose session cookie is missing or expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExpiredSessionStyle {
    #[default]
    Unauthorized,
    /// 302 to `/Account/Login?ReturnUrl=...`.
    RedirectToLogin,
    /// 200 with the login page's HTML.
    LoginPage,
}

/// The API's method names (inferred; a real site's `/api.mvc` page lists its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodNames {
    pub authenticate: String,
    pub locations: String,
    pub resources: String,
    pub meetings: String,
}

impl Default for MethodNames {
    fn default() -> Self {
        MethodNames {
            authenticate: "Authenticate".into(),
            locations: "GetLocations".into(),
            resources: "GetResourcesByLocation".into(),
            meetings: "GetMeetingsByLocation".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct FakePronestorOptions {
    pub seed: u64,
    pub clock: FakeClock,
    pub addr: SocketAddr,
    pub username: String,
    pub password: String,
    /// Sliding session lifetime.
    pub session_lifetime: chrono::Duration,
    pub empty: bool,
}

impl Default for FakePronestorOptions {
    fn default() -> Self {
        FakePronestorOptions {
            seed: 1,
            clock: FakeClock::system(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            username: "klar-sync".into(),
            password: "pronestor-demo-password".into(),
            session_lifetime: chrono::Duration::minutes(20),
            empty: false,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PronestorCounters {
    /// Every request answered, logins and faults included.
    pub requests: u32,
    pub logins: u32,
    pub rejected_logins: u32,
    pub expired_answers: u32,
    pub data_calls: u32,
}

struct PronestorState {
    opts: FakePronestorOptions,
    data: FakeData,
    sessions: HashMap<String, DateTime<Utc>>,
    date_format: PronestorDateFormat,
    expired_style: ExpiredSessionStyle,
    methods: MethodNames,
    counters: PronestorCounters,
    rng: StdRng,
    issued: Vec<String>,
}

#[derive(Clone)]
struct Shared {
    state: Arc<Mutex<PronestorState>>,
    faults: FaultQueue,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, PronestorState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running fake Pronestor Planner.
pub struct FakePronestor {
    shared: Shared,
    served: Served,
}

impl FakePronestor {
    pub async fn start(opts: FakePronestorOptions) -> std::io::Result<FakePronestor> {
        let mut data = FakeData::pronestor(opts.seed, opts.clock.now());
        if opts.empty {
            data.bookings.clear();
        }
        let addr = opts.addr;
        let rng = StdRng::seed_from_u64(opts.seed ^ 0xc00c1e);
        let shared = Shared {
            state: Arc::new(Mutex::new(PronestorState {
                opts,
                data,
                sessions: HashMap::new(),
                date_format: PronestorDateFormat::default(),
                expired_style: ExpiredSessionStyle::default(),
                methods: MethodNames::default(),
                counters: PronestorCounters::default(),
                rng,
                issued: Vec::new(),
            })),
            faults: FaultQueue::default(),
        };
        let router = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let served = Served::start(router, addr).await?;
        Ok(FakePronestor { shared, served })
    }

    /// The site URL to configure (`http://127.0.0.1:<port>`); the API is under `/Api.mvc/v1/`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.served.addr())
    }

    pub fn addr(&self) -> SocketAddr {
        self.served.addr()
    }

    /// (user name, password) the fake accepts.
    pub fn credentials(&self) -> (String, String) {
        let s = self.shared.lock();
        (s.opts.username.clone(), s.opts.password.clone())
    }

    pub fn clock(&self) -> FakeClock {
        self.shared.lock().opts.clock.clone()
    }

    pub fn data(&self) -> FakeData {
        self.shared.lock().data.clone()
    }

    /// Serves `data` from now on instead of what the fake was started with (a generated
    /// municipality, [`FakeData::municipal`]).
    pub fn replace_data(&self, data: FakeData) {
        self.shared.lock().data = data;
    }

    pub fn bookings(&self) -> Vec<FakeBooking> {
        self.shared.lock().data.bookings.clone()
    }

    pub fn add_booking(&self, booking: FakeBooking) -> u64 {
        self.shared.lock().data.add(booking)
    }

    /// Pronestor deletes softly: the meeting stays, with `IsDeleted: true`.
    pub fn cancel_booking(&self, id: u64) -> bool {
        self.edit(id, |b| b.deleted = true)
    }

    pub fn move_booking(&self, id: u64, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        self.edit(id, |b| {
            b.start = start;
            b.end = end;
        })
    }

    /// The meeting loses its rooms (an "empty meeting").
    pub fn empty_booking(&self, id: u64) -> bool {
        self.edit(id, |b| b.rooms_removed = true)
    }

    pub fn edit(&self, id: u64, f: impl FnOnce(&mut FakeBooking)) -> bool {
        let mut s = self.shared.lock();
        match s.data.booking_mut(id) {
            Some(b) => {
                f(b);
                true
            }
            None => false,
        }
    }

    pub fn clear_bookings(&self) {
        self.shared.lock().data.bookings.clear();
    }

    pub fn push_fault(&self, fault: Fault, times: usize) {
        self.shared.faults.push(fault, times);
    }

    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// Every session ends now.
    pub fn expire_sessions(&self) {
        self.shared.lock().sessions.clear();
    }

    pub fn set_date_format(&self, format: PronestorDateFormat) {
        self.shared.lock().date_format = format;
    }

    pub fn set_expired_style(&self, style: ExpiredSessionStyle) {
        self.shared.lock().expired_style = style;
    }

    pub fn set_method_names(&self, names: MethodNames) {
        self.shared.lock().methods = names;
    }

    pub fn counters(&self) -> PronestorCounters {
        self.shared.lock().counters
    }

    /// Every session cookie value issued so far (for tests that check none leaks).
    pub fn issued_cookies(&self) -> Vec<String> {
        self.shared.lock().issued.clone()
    }

    pub async fn take_down(&mut self) {
        self.served.take_down().await;
    }

    pub async fn bring_up(&mut self) -> std::io::Result<()> {
        self.served.bring_up().await
    }
}

async fn handle(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.lock().counters.requests += 1;
    if let Some(fault) = shared.faults.next() {
        if fault == Fault::ExpiredSession {
            let mut s = shared.lock();
            s.sessions.clear();
        } else if let Some(resp) = answer_fault(fault).await {
            return resp;
        }
    }
    let path = normalise_path(uri.path());
    let query: HashMap<String, String> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    let mut s = shared.lock();
    let Some(name) = path.strip_prefix("/api.mvc/v1/") else {
        return (StatusCode::NOT_FOUND, "Not found").into_response();
    };
    let methods = s.methods.clone();
    if method == Method::POST && name == methods.authenticate.to_ascii_lowercase() {
        return s.authenticate(&headers, &body);
    }
    if let Some(expired) = s.check_session(&headers, uri.path()) {
        return expired;
    }
    s.counters.data_calls += 1;
    let id = |k: &str| query.get(k).and_then(|v| v.parse::<u64>().ok());
    let hide_deleted = query
        .get("hidedeleted")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let answer = if name == methods.locations.to_ascii_lowercase() {
        Some(s.locations())
    } else if name == methods.resources.to_ascii_lowercase() {
        id("locationid").map(|l| s.resources(l, hide_deleted))
    } else if name == methods.meetings.to_ascii_lowercase() {
        match (id("locationid"), query.get("start"), query.get("end")) {
            (Some(l), Some(from), Some(to)) => {
                let tz = Copenhagen;
                match (parse_datetime(from, tz), parse_datetime(to, tz)) {
                    (Ok(from), Ok(to)) => Some(s.meetings(l, from, to, hide_deleted)),
                    _ => None,
                }
            }
            _ => None,
        }
    } else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"Message": format!("Unknown method {name}")})),
        )
            .into_response();
    };
    match answer {
        Some(v) => axum::Json(v).into_response(),
        None => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"Message": "Missing or invalid parameters."})),
        )
            .into_response(),
    }
}

fn body_field(body: &Bytes, headers: &HeaderMap, name: &str) -> String {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("x-www-form-urlencoded"));
    if is_form {
        return url::form_urlencoded::parse(body)
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
    }
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v.as_object().and_then(|o| {
                o.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.clone())
            })
        })
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl PronestorState {
    fn now(&self) -> DateTime<Utc> {
        self.opts.clock.now()
    }

    fn authenticate(&mut self, headers: &HeaderMap, body: &Bytes) -> Response {
        let user = body_field(body, headers, "UserName");
        let password = body_field(body, headers, "Password");
        if user != self.opts.username || password != self.opts.password {
            self.counters.rejected_logins += 1;
            return (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({"Success": false, "Message": "Invalid user name or password."})),
            )
                .into_response();
        }
        self.counters.logins += 1;
        let value: String = (0..96)
            .map(|_| format!("{:X}", self.rng.random_range(0..16u8)))
            .collect();
        self.sessions
            .insert(value.clone(), self.now() + self.opts.session_lifetime);
        self.issued.push(value.clone());
        let cookie = format!(".ASPXAUTH={value}; path=/; HttpOnly");
        let mut resp = axum::Json(json!({"Success": true})).into_response();
        if let Ok(v) = cookie.parse() {
            resp.headers_mut().insert(header::SET_COOKIE, v);
        }
        if let Ok(v) = "ASP.NET_SessionId=fakesessionid0; path=/; HttpOnly".parse() {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
        resp
    }

    /// `None` when the session is good (and slides it); the expired answer otherwise.
    fn check_session(&mut self, headers: &HeaderMap, path: &str) -> Option<Response> {
        let now = self.now();
        let lifetime = self.opts.session_lifetime;
        let cookie = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|c| {
                let (k, v) = c.trim().split_once('=')?;
                (k == ".ASPXAUTH").then(|| v.to_owned())
            });
        if let Some(c) = cookie
            && let Some(exp) = self.sessions.get_mut(&c)
            && now < *exp
        {
            *exp = now + lifetime;
            return None;
        }
        self.counters.expired_answers += 1;
        Some(match self.expired_style {
            ExpiredSessionStyle::Unauthorized => (StatusCode::UNAUTHORIZED, "Unauthorized").into_response(),
            ExpiredSessionStyle::RedirectToLogin => {
                let location = format!("/Account/Login?ReturnUrl={}", url::form_urlencoded::byte_serialize(path.as_bytes()).collect::<String>());
                (StatusCode::FOUND, [(header::LOCATION, location)], "").into_response()
            }
            ExpiredSessionStyle::LoginPage => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                "<!DOCTYPE html>\r\n<html><head><title>Log ind - Pronestor Planner</title></head><body><form action=\"/Account/Login\"></form></body></html>",
            )
                .into_response(),
        })
    }

    fn date(&self, t: DateTime<Utc>) -> Value {
        match self.date_format {
            PronestorDateFormat::MsDate => json!(format!("/Date({})/", t.timestamp_millis())),
            PronestorDateFormat::NaiveLocal => json!(
                t.with_timezone(&Copenhagen)
                    .format("%Y-%m-%dT%H:%M:%S")
                    .to_string()
            ),
            PronestorDateFormat::IsoOffset => json!(
                t.with_timezone(&Copenhagen)
                    .format("%Y-%m-%dT%H:%M:%S%:z")
                    .to_string()
            ),
        }
    }

    fn locations(&self) -> Value {
        Value::Array(
            self.data.locations.iter().map(|l| json!({"Id": l.id, "Name": l.name, "Address": l.address, "TimeZone": l.time_zone})).collect(),
        )
    }

    fn resources(&self, location: u64, hide_deleted: bool) -> Value {
        Value::Array(
            self.data
                .resources
                .iter()
                .filter(|r| r.location_id == location && !(hide_deleted && r.deleted))
                .map(|r| {
                    json!({
                        "Id": r.id, "Name": r.name, "LocationId": r.location_id, "Capacity": r.capacity,
                        "IsDeleted": if r.deleted { "True" } else { "False" },
                        "ResourceType": if r.is_room { "Room" } else if r.name.contains("Projektor") { "Equipment" } else { "Catering" },
                        "PreparationMinutes": r.preparation_minutes, "FollowUpMinutes": r.follow_up_minutes,
                        "TimeZone": "Romance Standard Time",
                    })
                })
                .collect(),
        )
    }

    fn meetings(
        &self,
        location: u64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        hide_deleted: bool,
    ) -> Value {
        // Indexed once per call: a municipality's fake holds thousands of resources.
        let by_id: HashMap<u64, &FakeResource> =
            self.data.resources.iter().map(|r| (r.id, r)).collect();
        let in_location = |rid: u64| by_id.get(&rid).is_some_and(|r| r.location_id == location);
        Value::Array(
            self.data
                .bookings
                .iter()
                .filter(|b| b.start < to && b.end > from && in_location(b.resource_id) && !(hide_deleted && b.deleted))
                .map(|b| {
                    let room = by_id.get(&b.resource_id).copied();
                    let mut resources = Vec::new();
                    if !b.rooms_removed {
                        resources.push(json!({
                            "ResourceId": b.resource_id, "Name": room.map(|r| r.name.clone()), "Quantity": 1,
                            "Start": self.date(b.start), "End": self.date(b.end),
                            "PreparationMinutes": room.map(|r| r.preparation_minutes), "FollowUpMinutes": room.map(|r| r.follow_up_minutes),
                        }));
                    }
                    for &extra in &b.extras {
                        let r = by_id.get(&extra).copied();
                        resources.push(json!({"ResourceId": extra, "Name": r.map(|r| r.name.clone()), "Quantity": 10,
                            "Start": self.date(b.start), "End": self.date(b.end)}));
                    }
                    let owner = match &b.owner {
                        Some(p) => json!({"Id": p.id, "FirstName": p.first_name, "LastName": p.last_name, "Email": p.email, "Phone": p.mobile}),
                        None => json!({"Id": 0, "FirstName": "Anonym", "LastName": "", "Email": null, "Phone": null}),
                    };
                    json!({
                        "Id": b.id, "Title": b.title, "Start": self.date(b.start), "End": self.date(b.end),
                        "Owner": owner, "MeetingTypeId": 1, "MeetingType": b.booking_type,
                        "Participants": 6, "IsDeleted": b.deleted, "AwaitingApproval": b.awaiting_approval,
                        "Resources": resources,
                    })
                })
                .collect(),
        )
    }
}
