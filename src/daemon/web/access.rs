//! Who may use the web server (docs/dashboard.md). On loopback without a token anyone on this
//! machine may read and act, and only requests naming a loopback host are answered (a
//! DNS-rebinding page cannot reach it). With a token (`[web] token_file`, or `KLAR_WEB_TOKEN`)
//! every request must carry it, as `Authorization: Bearer`, or the cookie of a session the
//! login form started ([`super::sessions`]: random per login, expiring, ended by logout;
//! HttpOnly, SameSite=Strict, and Secure when the request came over HTTPS). Off loopback, and
//! behind a proxy (`[web] public_origin`), a token is required: the server refuses to start
//! without one. Wrong tokens are logged with the caller's address and counted, and an address
//! that gives too many is refused for a while ([`super::throttle`]). Actions are POST only, and
//! a POST that a browser marks as cross-site (`Sec-Fetch-Site`) or whose `Origin` is neither
//! this server nor the public origin is refused. No page or JSON shows a PIN, card, password,
//! token or cookie.

use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use klar_engine::model::Secret;
use klar_engine::site::SiteConfig;

use super::Web;
use super::sessions::Sessions;
use super::settings::WebSettings;
use super::throttle::Throttle;
use crate::daemon::dashboard;
use crate::daemon::metrics::AuthVia;

/// The environment variable that gives the dashboard's token (wins over `[web] token_file`).
pub const TOKEN_ENV: &str = "KLAR_WEB_TOKEN";
/// The session cookie the login form sets.
const COOKIE: &str = "klar_session";
/// Shorter tokens are refused: the dashboard can unlock doors.
const MIN_TOKEN_LEN: usize = 16;

/// Who may use the web server.
#[derive(Debug)]
pub struct Access {
    token: Option<Secret>,
    sessions: Mutex<Sessions>,
    throttle: Mutex<Throttle>,
    /// `[web] public_origin`, normalised: accepted as `Origin`, and it says a proxy is in front.
    origin: Option<String>,
    /// When a refused cross-site request was last logged, and how many were not since: anyone
    /// who reaches the server can send them, so at most one line a minute.
    cross_site_logged: Mutex<(Option<Instant>, u64)>,
}

/// At most one line per this long about refused cross-site requests.
const CROSS_SITE_LOG_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// What a request carries to prove it may be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Credentials {
    /// The token, or a live session's cookie (or none is needed).
    Valid,
    /// A wrong bearer token (and no live session).
    WrongBearer,
    /// Nothing, or the cookie of a session that ended (not counted as a guess: session ids
    /// are 256 random bits, and a browser keeps sending an old cookie).
    Missing { stale_cookie: bool },
}

impl Access {
    /// `token` required on every request (`None`: loopback only, no token).
    pub fn new(token: Option<Secret>, settings: &WebSettings) -> Access {
        Access {
            token,
            sessions: Mutex::new(Sessions::new(settings.session_length())),
            throttle: Mutex::new(Throttle::default()),
            origin: settings.origin(),
            cross_site_logged: Mutex::new((None, 0)),
        }
    }

    /// Logs a refused cross-site request, at most once a minute (with how many were not).
    fn cross_site_refused(&self, path: &str, why: &str, address: IpAddr, now: Instant) {
        let mut logged = self
            .cross_site_logged
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let (last, unlogged) = &mut *logged;
        if last.is_some_and(|t| now.saturating_duration_since(t) < CROSS_SITE_LOG_EVERY) {
            *unlogged += 1;
            return;
        }
        tracing::warn!(path, why, address = %address, more_since_the_last_line = *unlogged, "A cross-site request was refused.");
        *last = Some(now);
        *unlogged = 0;
    }

    /// Whether a token is required.
    pub fn requires_token(&self) -> bool {
        self.token.is_some()
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, Sessions> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn throttle(&self) -> std::sync::MutexGuard<'_, Throttle> {
        self.throttle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What the request carries at `now`.
    fn credentials(&self, headers: &HeaderMap, now: Instant) -> Credentials {
        let Some(token) = &self.token else {
            return Credentials::Valid;
        };
        let bearers: Vec<&str> = headers
            .get_all(header::AUTHORIZATION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .collect();
        if bearers.iter().any(|t| same(t, token.expose())) {
            return Credentials::Valid;
        }
        let session = cookie(headers, COOKIE).filter(|c| !c.is_empty());
        if let Some(id) = &session
            && self.sessions().valid(id, now)
        {
            return Credentials::Valid;
        }
        if bearers.is_empty() {
            Credentials::Missing {
                stale_cookie: session.is_some(),
            }
        } else {
            Credentials::WrongBearer
        }
    }

    /// Whether `given` is the token.
    pub fn token_matches(&self, given: &str) -> bool {
        self.token.as_ref().is_some_and(|t| same(given, t.expose()))
    }

    /// The client's address: the peer's, or, behind the configured proxy (a public origin and
    /// a loopback peer), the address the proxy put last in `X-Forwarded-For`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if self.origin.is_none() || !is_loopback(peer) {
            return peer;
        }
        headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .next_back()
            .and_then(|a| {
                let a = a.trim();
                a.parse::<IpAddr>()
                    .ok()
                    .or_else(|| a.parse::<SocketAddr>().ok().map(|s| s.ip()))
            })
            .unwrap_or(peer)
    }

    /// Whether the request came over HTTPS: the public origin is `https`, or the proxy in
    /// front (a loopback peer) says so in `X-Forwarded-Proto`.
    fn over_https(&self, peer: IpAddr, headers: &HeaderMap) -> bool {
        let Some(origin) = &self.origin else {
            return false;
        };
        origin.starts_with("https://")
            || (is_loopback(peer)
                && headers
                    .get("x-forwarded-proto")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|p| p.trim().eq_ignore_ascii_case("https")))
    }

    /// Counts and logs a wrong token from `ip`.
    fn wrong_token(&self, web: &Web, ip: IpAddr, via: AuthVia) {
        web.daemon.core.metrics.web_auth_failed(via);
        let spent = self.throttle().failed(ip, Instant::now());
        if spent.address {
            tracing::warn!(address = %ip, via = %via.as_str(), "Too many wrong dashboard tokens from this address; it is refused for a while.");
        } else {
            tracing::warn!(address = %ip, via = %via.as_str(), "A wrong dashboard token was refused.");
        }
        if spent.global {
            tracing::warn!(
                "Too many wrong dashboard tokens from all addresses together; no token is checked for a while (sessions go on)."
            );
        }
    }

    /// The cookie that carries session `id`.
    fn session_cookie(&self, id: &str, secure: bool) -> String {
        format!(
            "{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
            self.sessions().length().as_secs(),
            if secure { "; Secure" } else { "" }
        )
    }
}

/// The cookie that removes the session cookie.
fn cleared_cookie(secure: bool) -> HeaderValue {
    HeaderValue::from_static(if secure {
        "klar_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0; Secure"
    } else {
        "klar_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"
    })
}

/// Compares without stopping at the first difference, so timing tells nothing about the token.
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0xff);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

/// A cookie's value from the request's `Cookie` headers.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Whether `ip` is this machine only (127.0.0.0/8, ::1, and ::ffff:127.x).
pub fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

/// Where the dashboard listens: `[web] listen`, else 127.0.0.1:7878. Checks the whole `[web]`
/// table on the way (unknown keys, values out of range).
pub fn configured_listen(site: &SiteConfig) -> anyhow::Result<std::net::SocketAddr> {
    WebSettings::of(site)?.listen()
}

/// The dashboard's token: `KLAR_WEB_TOKEN` if set, else the file `[web] token_file` names
/// (relative to the config), trimmed. `None` when neither is given.
pub fn configured_token(site: &SiteConfig) -> anyhow::Result<Option<Secret>> {
    token_from(std::env::var(TOKEN_ENV).ok(), site)
}

/// [`configured_token`] with the environment variable's value given.
fn token_from(env: Option<String>, site: &SiteConfig) -> anyhow::Result<Option<Secret>> {
    let token = match env {
        Some(value) if !value.trim().is_empty() => Some(value.trim().to_owned()),
        _ => match site.web.get("token_file") {
            None => None,
            Some(v) => {
                let name = v.as_str().ok_or_else(|| {
                    crate::cli::BadInput("[web] token_file: a path, in quotes".into())
                })?;
                let path = site.resolve(std::path::Path::new(name));
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    crate::cli::BadInput(format!(
                        "[web] token_file: {}: cannot read: {e}",
                        path.display()
                    ))
                })?;
                Some(text.trim().to_owned())
            }
        },
    };
    match token {
        Some(t) if t.chars().count() < MIN_TOKEN_LEN => Err(crate::cli::BadInput(format!(
            "the dashboard token ({TOKEN_ENV} or [web] token_file) is shorter than {MIN_TOKEN_LEN} characters; make a long random one (openssl rand -hex 24)"
        ))
        .into()),
        Some(t) => Ok(Some(Secret::new(t))),
        None => Ok(None),
    }
}

/// Every request passes here: host check (no token), cross-site check (POST), the throttle on
/// addresses that gave wrong tokens, token check, and the security headers on every answer.
pub(super) async fn guard(State(web): State<Web>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let path = req.uri().path();
    let read = matches!(*req.method(), Method::GET | Method::HEAD);
    let public = path == "/login" || path.starts_with("/assets/");
    let access = &web.access;
    let peer = peer(&req);
    let now = Instant::now();
    let refused = if !access.requires_token() && !loopback_host(headers) {
        Some(refuse(
            StatusCode::FORBIDDEN,
            "this dashboard answers to localhost only (no token is configured)",
        ))
    } else if !read && let Err(why) = same_origin(headers, access.origin.as_deref()) {
        access.cross_site_refused(path, why, access.client(peer, headers), now);
        Some(refuse(StatusCode::FORBIDDEN, why))
    } else if access.requires_token() && !(public && read) {
        let ip = access.client(peer, headers);
        let throttled = {
            let t = access.throttle();
            // A token to check while all addresses together are slowed down: not checked.
            let checks_token = (public && !read) || headers.contains_key(header::AUTHORIZATION);
            t.check(ip, now).and_then(|()| {
                if checks_token {
                    t.check_global(now)
                } else {
                    Ok(())
                }
            })
        };
        match throttled {
            Err(wait) => {
                web.daemon.core.metrics.web_auth_throttled();
                Some(too_many(wait))
            }
            Ok(()) if public => None,
            Ok(()) => match access.credentials(headers, now) {
                Credentials::Valid => None,
                Credentials::WrongBearer => {
                    access.wrong_token(&web, ip, AuthVia::Bearer);
                    Some(unauthorized(headers, None))
                }
                Credentials::Missing { stale_cookie } => Some(unauthorized(
                    headers,
                    stale_cookie.then(|| access.over_https(peer, headers)),
                )),
            },
        }
    } else {
        None
    };
    let mut response = match refused {
        Some(r) => r,
        None => next.run(req).await,
    };
    let h = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// The peer's address, as the server recorded it for the connection.
fn peer(req: &Request) -> IpAddr {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip())
}

/// Whether the request's `Host` is this machine by name or loopback address (absent: a
/// non-browser client, allowed).
fn loopback_host(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return true;
    };
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<IpAddr>().is_ok_and(is_loopback)
}

/// Refuses what a browser marks as cross-site, and an `Origin` that is neither this server
/// (its `Host`) nor the public origin a proxy serves it on. Requests with neither header come
/// from programs (curl, Prometheus), not from a page.
fn same_origin(headers: &HeaderMap, public: Option<&str>) -> Result<(), &'static str> {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return Err("cross-site request refused (Sec-Fetch-Site)");
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let origin = origin.to_str().unwrap_or("null").trim();
        let this_host = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .is_some_and(|o| !host.is_empty() && o.eq_ignore_ascii_case(host));
        let public = public.is_some_and(|p| origin.eq_ignore_ascii_case(p));
        if !this_host && !public {
            return Err("cross-site request refused (Origin is not this dashboard)");
        }
    }
    Ok(())
}

fn refuse(code: StatusCode, why: &str) -> Response {
    (code, format!("{why}\n")).into_response()
}

/// 429 for an address that gave too many wrong tokens.
fn too_many(wait: std::time::Duration) -> Response {
    let seconds = wait.as_secs().max(1);
    let mut r = refuse(
        StatusCode::TOO_MANY_REQUESTS,
        &format!("too many wrong tokens from this address; try again in {seconds} s"),
    );
    if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// 401: a login page for browsers, one line for programs; an ended session's cookie is
/// cleared (`clear`: whether it was set `Secure`).
fn unauthorized(headers: &HeaderMap, clear: Option<bool>) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let mut response = if wants_html {
        (
            StatusCode::UNAUTHORIZED,
            axum::response::Html(dashboard::login_page("")),
        )
            .into_response()
    } else {
        refuse(
            StatusCode::UNAUTHORIZED,
            "a token is required: Authorization: Bearer <token>, or log in at /login",
        )
    };
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"klar\""),
    );
    if let Some(secure) = clear {
        response
            .headers_mut()
            .insert(header::SET_COOKIE, cleared_cookie(secure));
    }
    response
}

#[derive(serde::Deserialize)]
pub(super) struct LoginForm {
    token: String,
}

pub(super) async fn login_form(State(web): State<Web>) -> Response {
    if !web.access.requires_token() {
        return Redirect::to("/").into_response();
    }
    axum::response::Html(dashboard::login_page("")).into_response()
}

/// `POST /login`: the right token starts a session (its own random id, expiring); a wrong one
/// is logged with the caller's address, counted, and slows that address down.
pub(super) async fn login(
    State(web): State<Web>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<LoginForm>,
) -> Response {
    let access = &web.access;
    if !access.requires_token() {
        return Redirect::to("/").into_response();
    }
    let ip = access.client(peer.ip(), &headers);
    if !access.token_matches(form.token.trim()) {
        access.wrong_token(&web, ip, AuthVia::Login);
        return (
            StatusCode::UNAUTHORIZED,
            axum::response::Html(dashboard::login_page("That is not the dashboard's token.")),
        )
            .into_response();
    }
    let id = match access.sessions().start(Instant::now()) {
        Ok(id) => id,
        Err(e) => {
            tracing::error!(error = %e, "Cannot start a dashboard session.");
            return refuse(StatusCode::INTERNAL_SERVER_ERROR, "cannot start a session");
        }
    };
    tracing::info!(address = %ip, "Dashboard login.");
    let set = access.session_cookie(id.expose(), access.over_https(peer.ip(), &headers));
    let mut response = Redirect::to("/").into_response();
    if let Ok(v) = HeaderValue::from_str(&set) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// `POST /logout`: ends the session (its cookie no longer opens anything) and clears the cookie.
pub(super) async fn logout(
    State(web): State<Web>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if let Some(id) = cookie(&headers, COOKIE) {
        web.access.sessions().end(&id);
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        cleared_cookie(web.access.over_https(peer.ip(), &headers)),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn site_with_web(web: &str) -> (tempfile::TempDir, SiteConfig) {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("site.toml");
        std::fs::write(&config, format!("[site]\nname = \"t\"\n[web]\n{web}\n")).unwrap();
        let site = SiteConfig::load(&config).unwrap();
        (dir, site)
    }

    #[test]
    fn the_token_comes_from_the_environment_or_the_token_file() {
        let (dir, site) = site_with_web("token_file = \"secrets/web.token\"");
        std::fs::create_dir_all(dir.path().join("secrets")).unwrap();
        std::fs::write(
            dir.path().join("secrets/web.token"),
            "from-the-file-0123456789\n",
        )
        .unwrap();
        let t = token_from(None, &site).unwrap().unwrap();
        assert_eq!(t.expose(), "from-the-file-0123456789");
        let t = token_from(Some("from-the-env-0123456789".into()), &site)
            .unwrap()
            .unwrap();
        assert_eq!(t.expose(), "from-the-env-0123456789");
        // Too short: refused, and the message does not show it.
        let e = token_from(Some("abc12".into()), &site)
            .unwrap_err()
            .to_string();
        assert!(e.contains("shorter than 16") && !e.contains("abc12"), "{e}");
        // A missing file is named.
        std::fs::remove_file(dir.path().join("secrets/web.token")).unwrap();
        let e = token_from(None, &site).unwrap_err().to_string();
        assert!(e.contains("web.token") && e.contains("cannot read"), "{e}");
        // Neither: no token.
        let (_dir, site) = site_with_web("listen = \"127.0.0.1:7878\"");
        assert!(token_from(None, &site).unwrap().is_none());
    }

    #[test]
    fn tokens_are_compared_whole() {
        assert!(same("abcdefabcdefabcdef", "abcdefabcdefabcdef"));
        assert!(!same("abcdefabcdefabcdef", "abcdefabcdefabcdeg"));
        assert!(!same("abc", "abcd"));
        assert!(!same("", "a"));
    }

    fn access(token: Option<&str>, web: &str) -> Access {
        let (_dir, site) = site_with_web(web);
        Access::new(token.map(Secret::new), &WebSettings::of(&site).unwrap())
    }

    #[test]
    fn bearer_or_a_live_session_authenticates() {
        let access = access(Some("0123456789abcdef0123"), "");
        let now = Instant::now();
        let session = access.sessions().start(now).unwrap();
        assert_ne!(session.expose(), "0123456789abcdef0123");
        let check = |pairs: &[(&'static str, &str)]| access.credentials(&headers(pairs), now);
        assert_eq!(
            check(&[("authorization", "Bearer 0123456789abcdef0123")]),
            Credentials::Valid
        );
        assert_eq!(
            check(&[("cookie", &format!("a=b; klar_session={}", session.expose()))]),
            Credentials::Valid
        );
        assert_eq!(
            check(&[("authorization", "Bearer wrong")]),
            Credentials::WrongBearer
        );
        // A wrong bearer with a live session is the session's.
        assert_eq!(
            check(&[
                ("authorization", "Bearer wrong"),
                ("cookie", &format!("klar_session={}", session.expose()))
            ]),
            Credentials::Valid
        );
        // The token is not a session id; an ended session is not one either.
        assert_eq!(
            check(&[("cookie", "klar_session=0123456789abcdef0123")]),
            Credentials::Missing { stale_cookie: true }
        );
        access.sessions().end(session.expose());
        assert_eq!(
            check(&[("cookie", &format!("klar_session={}", session.expose()))]),
            Credentials::Missing { stale_cookie: true }
        );
        assert_eq!(
            check(&[]),
            Credentials::Missing {
                stale_cookie: false
            }
        );
        let open = self::access(None, "");
        assert_eq!(open.credentials(&HeaderMap::new(), now), Credentials::Valid);
    }

    #[test]
    fn the_client_address_comes_from_the_proxy_only_when_one_is_configured() {
        let xff = headers(&[("x-forwarded-for", "198.51.100.9, 203.0.113.5")]);
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let far: IpAddr = "192.0.2.1".parse().unwrap();
        let direct = access(Some("0123456789abcdef0123"), "");
        assert_eq!(
            direct.client(lo, &xff),
            lo,
            "no proxy configured: believed by no one"
        );
        let proxied = access(
            Some("0123456789abcdef0123"),
            "public_origin = \"https://klar.example.dk\"",
        );
        assert_eq!(
            proxied.client(lo, &xff),
            "203.0.113.5".parse::<IpAddr>().unwrap(),
            "the address the proxy added (the last)"
        );
        assert_eq!(
            proxied.client(far, &xff),
            far,
            "only a loopback peer is the proxy"
        );
        assert_eq!(proxied.client(lo, &HeaderMap::new()), lo);
        assert!(proxied.over_https(lo, &HeaderMap::new()));
        assert!(!direct.over_https(lo, &headers(&[("x-forwarded-proto", "https")])));
        let plain = access(
            Some("0123456789abcdef0123"),
            "public_origin = \"http://klar.lan\"",
        );
        assert!(plain.over_https(lo, &headers(&[("x-forwarded-proto", "https")])));
        assert!(!plain.over_https(far, &headers(&[("x-forwarded-proto", "https")])));
        assert!(proxied.session_cookie("abc", true).ends_with("; Secure"));
    }

    #[test]
    fn loopback_is_recognised() {
        for ip in ["127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1"] {
            assert!(is_loopback(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["0.0.0.0", "10.0.0.5", "::", "192.168.1.2"] {
            assert!(!is_loopback(ip.parse().unwrap()), "{ip}");
        }
        assert!(loopback_host(&headers(&[("host", "127.0.0.1:7878")])));
        assert!(loopback_host(&headers(&[("host", "localhost:7878")])));
        assert!(loopback_host(&headers(&[("host", "[::1]:7878")])));
        assert!(!loopback_host(&headers(&[("host", "evil.example:7878")])));
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let ok = headers(&[
            ("host", "127.0.0.1:7878"),
            ("origin", "http://127.0.0.1:7878"),
            ("sec-fetch-site", "same-origin"),
        ]);
        assert!(same_origin(&ok, None).is_ok());
        assert!(same_origin(&headers(&[("host", "127.0.0.1:7878")]), None).is_ok());
        assert!(
            same_origin(
                &headers(&[("host", "127.0.0.1:7878"), ("sec-fetch-site", "cross-site")]),
                None
            )
            .is_err()
        );
        assert!(
            same_origin(
                &headers(&[
                    ("host", "127.0.0.1:7878"),
                    ("origin", "http://evil.example")
                ]),
                None
            )
            .is_err()
        );
        assert!(
            same_origin(
                &headers(&[("host", "127.0.0.1:7878"), ("origin", "null")]),
                None
            )
            .is_err()
        );
        // Behind a proxy that rewrites Host: the public origin is accepted, nothing else more.
        let proxied = headers(&[
            ("host", "127.0.0.1:7878"),
            ("origin", "https://klar.example.dk"),
            ("sec-fetch-site", "same-origin"),
        ]);
        assert!(same_origin(&proxied, None).is_err());
        assert!(same_origin(&proxied, Some("https://klar.example.dk")).is_ok());
        let evil = headers(&[
            ("host", "127.0.0.1:7878"),
            ("origin", "https://evil.example"),
        ]);
        assert!(same_origin(&evil, Some("https://klar.example.dk")).is_err());
    }
}
