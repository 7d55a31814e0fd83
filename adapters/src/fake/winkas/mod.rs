//! A fake WinKAS (Air/Cloud) API: token login with the licence number, `refetchToken`,
//! `Validate`, the envelope (status as number or string), `GetAllResources` and
//! `GetAllResourceEventsInTimePeriod` with `dd-MM-yyyy HH:mm:ss` Copenhagen times (switchable),
//! token expiry and injectable faults. Faithful to `vendors/winkas.md`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use chrono_tz::Europe::Copenhagen;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::{
    FakeBooking, FakeClock, FakeData, Fault, FaultQueue, Served, answer_fault, normalise_path,
};
use crate::sources::time::parse_datetime;

/// How the fake writes `Start`/`Stop`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WinkasDateFormat {
    /// `01-10-2025 17:00:00`, Copenhagen wall-clock time (what the live API sends).
    #[default]
    Danish,
    /// `2025-10-01T17:00:00`, Copenhagen wall-clock time.
    IsoLocal,
    /// `2025-10-01T15:00:00Z`.
    IsoUtc,
}

/// How the fake reads `StartTime`/`EndTime` of a request (unknown for the real API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RequestTimeReading {
    /// As Copenhagen wall-clock time, ignoring a trailing `Z`.
    #[default]
    LocalWallClock,
    /// As written (a `Z` means UTC).
    AsWritten,
}

/// Options for starting the fake.
#[derive(Debug, Clone)]
pub struct FakeWinkasOptions {
    pub seed: u64,
    pub clock: FakeClock,
    pub addr: SocketAddr,
    pub username: String,
    pub password: String,
    pub contract_code: String,
    pub token_lifetime: chrono::Duration,
    /// Start with no bookings at all (tests add their own).
    pub empty: bool,
}

impl Default for FakeWinkasOptions {
    fn default() -> Self {
        FakeWinkasOptions {
            seed: 1,
            clock: FakeClock::system(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            username: "api-klar".into(),
            password: "winkas-demo-password".into(),
            contract_code: "12345".into(),
            token_lifetime: chrono::Duration::hours(12),
            empty: false,
        }
    }
}

/// Counters a test can assert on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WinkasCounters {
    /// Every request answered, logins and faults included.
    pub requests: u32,
    /// Logins with user name and password.
    pub password_logins: u32,
    /// Logins with `UserToken`.
    pub token_logins: u32,
    pub refetches: u32,
    pub data_calls: u32,
}

struct WinkasState {
    opts: FakeWinkasOptions,
    data: FakeData,
    tokens: HashMap<String, DateTime<Utc>>,
    last_token: Option<String>,
    date_format: WinkasDateFormat,
    request_reading: RequestTimeReading,
    status_as_string: bool,
    with_booking_ids: bool,
    counters: WinkasCounters,
    rng: StdRng,
    issued: Vec<String>,
}

#[derive(Clone)]
struct Shared {
    state: Arc<Mutex<WinkasState>>,
    faults: FaultQueue,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, WinkasState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running fake WinKAS server.
pub struct FakeWinkas {
    shared: Shared,
    served: Served,
}

impl FakeWinkas {
    pub async fn start(opts: FakeWinkasOptions) -> std::io::Result<FakeWinkas> {
        let now = opts.clock.now();
        let mut data = FakeData::winkas(opts.seed, now);
        if opts.empty {
            data.bookings.clear();
        }
        let rng = StdRng::seed_from_u64(opts.seed ^ 0x5eed);
        let addr = opts.addr;
        let shared = Shared {
            state: Arc::new(Mutex::new(WinkasState {
                opts,
                data,
                tokens: HashMap::new(),
                last_token: None,
                date_format: WinkasDateFormat::default(),
                request_reading: RequestTimeReading::default(),
                status_as_string: false,
                with_booking_ids: true,
                counters: WinkasCounters::default(),
                rng,
                issued: Vec::new(),
            })),
            faults: FaultQueue::default(),
        };
        let router = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let served = Served::start(router, addr).await?;
        Ok(FakeWinkas { shared, served })
    }

    /// The base URL to configure: `http://127.0.0.1:<port>/api/`.
    pub fn base_url(&self) -> String {
        format!("http://{}/api/", self.served.addr())
    }

    pub fn addr(&self) -> SocketAddr {
        self.served.addr()
    }

    /// (user name, password, contract code) the fake accepts.
    pub fn credentials(&self) -> (String, String, String) {
        let s = self.shared.lock();
        (
            s.opts.username.clone(),
            s.opts.password.clone(),
            s.opts.contract_code.clone(),
        )
    }

    pub fn clock(&self) -> FakeClock {
        self.shared.lock().opts.clock.clone()
    }

    pub fn bookings(&self) -> Vec<FakeBooking> {
        self.shared.lock().data.bookings.clone()
    }

    pub fn data(&self) -> FakeData {
        self.shared.lock().data.clone()
    }

    /// Serves `data` from now on instead of what the fake was started with (a generated
    /// municipality, [`FakeData::municipal`]).
    pub fn replace_data(&self, data: FakeData) {
        self.shared.lock().data = data;
    }

    /// Adds a booking; returns its id.
    pub fn add_booking(&self, booking: FakeBooking) -> u64 {
        self.shared.lock().data.add(booking)
    }

    /// WinKAS has no cancelled flag: a cancelled booking simply disappears.
    pub fn cancel_booking(&self, id: u64) -> bool {
        let mut s = self.shared.lock();
        let before = s.data.bookings.len();
        s.data.bookings.retain(|b| b.id != id);
        s.data.bookings.len() != before
    }

    pub fn move_booking(&self, id: u64, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        let mut s = self.shared.lock();
        match s.data.booking_mut(id) {
            Some(b) => {
                b.start = start;
                b.end = end;
                true
            }
            None => false,
        }
    }

    /// Removes every booking (a glitch that answers an empty calendar).
    pub fn clear_bookings(&self) {
        self.shared.lock().data.bookings.clear();
    }

    /// Queues a fault for the next `times` requests.
    pub fn push_fault(&self, fault: Fault, times: usize) {
        self.shared.faults.push(fault, times);
    }

    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// Every token issued so far stops working (and refetchToken finds none).
    pub fn expire_tokens(&self) {
        let mut s = self.shared.lock();
        s.tokens.clear();
        s.last_token = None;
    }

    pub fn set_date_format(&self, format: WinkasDateFormat) {
        self.shared.lock().date_format = format;
    }

    pub fn set_request_time_reading(&self, reading: RequestTimeReading) {
        self.shared.lock().request_reading = reading;
    }

    /// Envelope status fields as numeric strings (`"0"`) instead of numbers.
    pub fn set_status_as_string(&self, on: bool) {
        self.shared.lock().status_as_string = on;
    }

    /// Leave out the bookings' `Id` (the public client code never sees one).
    pub fn set_booking_ids(&self, on: bool) {
        self.shared.lock().with_booking_ids = on;
    }

    /// Every token issued so far (for tests that check none leaks into logs).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.shared.lock().issued.clone()
    }

    pub fn counters(&self) -> WinkasCounters {
        self.shared.lock().counters
    }

    /// The server stops listening: connection refused until [`FakeWinkas::bring_up`].
    pub async fn take_down(&mut self) {
        self.served.take_down().await;
    }

    pub async fn bring_up(&mut self) -> std::io::Result<()> {
        self.served.bring_up().await
    }
}

async fn handle(State(shared): State<Shared>, method: Method, uri: Uri, body: Bytes) -> Response {
    shared.lock().counters.requests += 1;
    if let Some(fault) = shared.faults.next() {
        if fault == Fault::ExpiredSession {
            let mut s = shared.lock();
            s.tokens.clear();
            s.last_token = None;
        } else if fault == Fault::ErrorEnvelope {
            let s = shared.lock();
            let mut env = s.envelope(1, Value::Null);
            env["WinKasMessage"] = json!("Der opstod en uventet fejl. Prøv igen senere.");
            return axum::Json(env).into_response();
        } else if let Some(resp) = answer_fault(fault).await {
            return resp;
        }
    }
    let path = normalise_path(uri.path());
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => return (StatusCode::BAD_REQUEST, "The request is invalid.").into_response(),
        }
    };
    let mut s = shared.lock();
    match (method, path.as_str()) {
        (Method::POST, "/api/authentication/authenticate") => s.authenticate(&body),
        (Method::POST, "/api/authentication/refetchtoken") => s.refetch(&body),
        (Method::GET, "/api/authentication/validate") => {
            let token = uri
                .query()
                .and_then(|q| url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k.eq_ignore_ascii_case("token")))
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            let valid = s.token_valid(&token);
            let mut env = s.envelope(if valid { 0 } else { 1 }, Value::Null);
            env["AuthenticationMessage"] = json!(format!("Token validation result is: {}", if valid { "True" } else { "False" }));
            axum::Json(env).into_response()
        }
        (Method::POST, "/api/calendar/getallresources") => s.with_token(&body, |s| {
            let resources: Vec<Value> = s
                .data
                .resources
                .iter()
                .map(|r| {
                    let location = s.data.location(r.location_id).map(|l| json!({"Id": l.id, "Name": l.name, "Address": l.address}));
                    json!({"Id": r.id, "Name": r.name, "ResourceLocation": location.unwrap_or(Value::Null)})
                })
                .collect();
            let mut env = s.envelope(0, Value::Null);
            env["Resources"] = Value::Array(resources);
            env
        }),
        (Method::POST, "/api/calendar/getallresourceeventsintimeperiod") => s.with_token(&body, |s| s.events(&body)),
        _ => (StatusCode::NOT_FOUND, axum::Json(json!({"Message": "No HTTP resource was found that matches the request URI."})))
            .into_response(),
    }
}

fn field<'a>(body: &'a Value, name: &str) -> Option<&'a Value> {
    body.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn field_str(body: &Value, name: &str) -> String {
    match field(body, name) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

impl WinkasState {
    fn now(&self) -> DateTime<Utc> {
        self.opts.clock.now()
    }

    fn envelope(&self, status: i64, data: Value) -> Value {
        let status_value = if self.status_as_string {
            json!(status.to_string())
        } else {
            json!(status)
        };
        let local = self
            .now()
            .with_timezone(&Copenhagen)
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string();
        json!({
            "WinKasData": data,
            "WinkasErrorCode": if self.status_as_string { json!(if status == 0 { "0" } else { "100" }) } else { json!(if status == 0 { 0 } else { 100 }) },
            "WinKasStatus": status_value,
            "WinKasStatusString": if status == 0 { "Okay" } else { "Error" },
            "WinKasMessage": Value::Null,
            "ApiVersion": "5.67.2.1",
            "ResponseDateTime": local,
            "ResponseInfo": {"ElapsedSeconds": 0.012, "ServerName": "WKAPI03"},
            "Source": Value::Null,
        })
    }

    fn new_token(&mut self) -> String {
        // Opaque, ~230 characters, with `|` in it, like the real ones.
        let mut t = String::with_capacity(232);
        t.push_str(&self.opts.contract_code);
        t.push('|');
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        while t.len() < 230 {
            let i = self.rng.random_range(0..ALPHABET.len());
            t.push(ALPHABET[i] as char);
        }
        let expires = self.now() + self.opts.token_lifetime;
        self.tokens.insert(t.clone(), expires);
        self.last_token = Some(t.clone());
        self.issued.push(t.clone());
        t
    }

    fn token_valid(&self, token: &str) -> bool {
        self.tokens.get(token).is_some_and(|exp| self.now() < *exp)
    }

    fn auth_failure(&self, reason: &str) -> Response {
        let mut env = self.envelope(1, Value::Null);
        env["AuthenticationMessage"] = json!(reason);
        axum::Json(env).into_response()
    }

    fn authenticate(&mut self, body: &Value) -> Response {
        let user_token = field_str(body, "UserToken");
        if !user_token.is_empty() {
            if !self.token_valid(&user_token) {
                return self.auth_failure("Token is not valid.");
            }
            self.counters.token_logins += 1;
            let t = self.new_token();
            let mut env = self.envelope(0, json!({"CurrentToken": t}));
            env["AuthenticationMessage"] = json!("Authentication succeeded.");
            return axum::Json(env).into_response();
        }
        if field_str(body, "UserName") != self.opts.username
            || field_str(body, "UserPassword") != self.opts.password
            || field_str(body, "UserContractCode") != self.opts.contract_code
        {
            return self
                .auth_failure("Authentication failed: unknown user, password or contract code.");
        }
        self.counters.password_logins += 1;
        let t = self.new_token();
        let mut env = self.envelope(0, json!({"CurrentToken": t}));
        env["AuthenticationMessage"] = json!("Authentication succeeded.");
        axum::Json(env).into_response()
    }

    fn refetch(&mut self, body: &Value) -> Response {
        if field_str(body, "Username") != self.opts.username
            || field_str(body, "Password") != self.opts.password
            || field_str(body, "ContractId") != self.opts.contract_code
        {
            return self.auth_failure("Authentication failed.");
        }
        self.counters.refetches += 1;
        let token = self.last_token.clone().filter(|t| self.token_valid(t));
        let mut env = self.envelope(0, Value::Null);
        env["Token"] = token.map(Value::String).unwrap_or(Value::Null);
        axum::Json(env).into_response()
    }

    fn with_token(
        &mut self,
        body: &Value,
        answer: impl FnOnce(&mut WinkasState) -> Value,
    ) -> Response {
        self.counters.data_calls += 1;
        let token = field_str(body, "Token");
        if !self.token_valid(&token) {
            let mut env = self.envelope(1, Value::Null);
            env["WinKasMessage"] = json!("Token is expired or invalid.");
            return axum::Json(env).into_response();
        }
        axum::Json(answer(self)).into_response()
    }

    fn read_request_time(&self, text: &str) -> Option<DateTime<Utc>> {
        match self.request_reading {
            RequestTimeReading::LocalWallClock => {
                parse_datetime(text.trim_end_matches('Z'), Copenhagen).ok()
            }
            RequestTimeReading::AsWritten => parse_datetime(text, Copenhagen).ok(),
        }
    }

    fn write_time(&self, t: DateTime<Utc>) -> String {
        match self.date_format {
            WinkasDateFormat::Danish => t
                .with_timezone(&Copenhagen)
                .format("%d-%m-%Y %H:%M:%S")
                .to_string(),
            WinkasDateFormat::IsoLocal => t
                .with_timezone(&Copenhagen)
                .format("%Y-%m-%dT%H:%M:%S")
                .to_string(),
            WinkasDateFormat::IsoUtc => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        }
    }

    fn events(&self, body: &Value) -> Value {
        let (Some(from), Some(to)) = (
            self.read_request_time(&field_str(body, "StartTime")),
            self.read_request_time(&field_str(body, "EndTime")),
        ) else {
            let mut env = self.envelope(1, Value::Null);
            env["WinKasMessage"] = json!("StartTime and EndTime are required.");
            return env;
        };
        let wanted: Vec<u64> = field(body, "Resources")
            .and_then(Value::as_array)
            .map(|ids| {
                ids.iter()
                    .filter_map(|v| {
                        v.as_u64()
                            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        // Grouped once per call: a municipality's fake holds thousands of resources.
        let mut by_resource: HashMap<u64, Vec<&FakeBooking>> = HashMap::new();
        for b in &self.data.bookings {
            if !b.deleted && b.start < to && b.end > from {
                by_resource.entry(b.resource_id).or_default().push(b);
            }
        }
        let resources: Vec<Value> = wanted
            .iter()
            .map(|&rid| {
                let bookings: Vec<Value> = by_resource
                    .get(&rid)
                    .into_iter()
                    .flatten()
                    .map(|b| {
                        let mut entry = json!({
                            "Subject": b.title,
                            "Start": self.write_time(b.start),
                            "Stop": self.write_time(b.end),
                            "BookingType": b.booking_type,
                        });
                        if self.with_booking_ids {
                            entry["Id"] = json!(b.id);
                        }
                        let owner = match &b.owner {
                            Some(p) => json!({
                                "Id": p.id, "FirstName": p.first_name, "LastName": p.last_name,
                                "Email": p.email, "Mobile": p.mobile, "MemberNumber": p.member_no,
                            }),
                            None => Value::Null,
                        };
                        json!({"ResourceCalendarbooking": entry, "BookingOwner": owner})
                    })
                    .collect();
                // The quirk: a resource without bookings has `null`, not `[]`.
                let list = if bookings.is_empty() {
                    Value::Null
                } else {
                    Value::Array(bookings)
                };
                json!({"Id": rid, "ResourceCalendarbookings": list})
            })
            .collect();
        let mut env = self.envelope(0, Value::Null);
        env["Resources"] = Value::Array(resources);
        env
    }
}
