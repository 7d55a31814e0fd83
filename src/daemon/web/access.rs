//! Who may use the web server (docs/dashboard.md). On loopback without a token anyone on this
//! machine may read and act, and only requests naming a loopback host are answered (a
//! DNS-rebinding page cannot reach it). With a token (`[web] token_file`, or `KLAR_WEB_TOKEN`)
//! every request must carry it, as `Authorization: Bearer` or as the session cookie the login
//! form sets (HttpOnly, SameSite=Strict). Off loopback a token is required: the server refuses
//! to start without one. Actions are POST only, and a POST that a browser marks as cross-site
//! (`Sec-Fetch-Site`) or whose `Origin` is not this server is refused. No page or JSON shows a
//! PIN, card, password, token or cookie.

use std::net::IpAddr;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use klar_engine::model::Secret;
use klar_engine::site::SiteConfig;
use sha2::{Digest, Sha256};

use super::Web;
use crate::daemon::dashboard;

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
    /// The session cookie's value: a digest of the token, so the cookie is not the token.
    session: Option<Secret>,
}

impl Access {
    /// `token` required on every request (`None`: loopback only, no token).
    pub fn new(token: Option<Secret>) -> Access {
        let session = token.as_ref().map(|t| {
            let digest = Sha256::digest(format!("klar dashboard session\n{}", t.expose()));
            Secret::new(
                digest
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>(),
            )
        });
        Access { token, session }
    }

    /// Whether a token is required.
    pub fn requires_token(&self) -> bool {
        self.token.is_some()
    }

    /// Whether the request carries the token (or its session cookie); true when none is needed.
    fn authenticated(&self, headers: &HeaderMap) -> bool {
        let (Some(token), Some(session)) = (&self.token, &self.session) else {
            return true;
        };
        let bearer = headers
            .get_all(header::AUTHORIZATION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.strip_prefix("Bearer "))
            .any(|t| same(t.trim(), token.expose()));
        bearer || cookie(headers, COOKIE).is_some_and(|c| same(&c, session.expose()))
    }

    /// Whether `given` is the token.
    pub fn token_matches(&self, given: &str) -> bool {
        self.token.as_ref().is_some_and(|t| same(given, t.expose()))
    }
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

/// Where the dashboard listens: `[web] listen`, else 127.0.0.1:7878.
pub fn configured_listen(site: &SiteConfig) -> anyhow::Result<std::net::SocketAddr> {
    for key in site.web.keys() {
        if !matches!(key.as_str(), "listen" | "token_file") {
            return Err(crate::cli::BadInput(format!(
                "[web]: unknown key `{key}` (known: listen, token_file)"
            ))
            .into());
        }
    }
    match site.web.get("listen") {
        None => Ok(std::net::SocketAddr::from(([127, 0, 0, 1], 7878))),
        Some(v) => v.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| {
            crate::cli::BadInput(format!(
                "[web] listen: {v} is not an address with a port, such as \"127.0.0.1:7878\""
            ))
            .into()
        }),
    }
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

/// Every request passes here: host check (no token), cross-site check (POST), token check,
/// and the security headers on every answer.
pub(super) async fn guard(State(web): State<Web>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let path = req.uri().path();
    let public = path == "/login" || path.starts_with("/assets/");
    let refused = if !web.access.requires_token() && !loopback_host(headers) {
        Some(refuse(
            StatusCode::FORBIDDEN,
            "this dashboard answers to localhost only (no token is configured)",
        ))
    } else if !matches!(*req.method(), Method::GET | Method::HEAD)
        && let Err(why) = same_origin(headers)
    {
        tracing::warn!(path, why, "A cross-site request was refused.");
        Some(refuse(StatusCode::FORBIDDEN, why))
    } else if !public && !web.access.authenticated(headers) {
        Some(unauthorized(headers))
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

/// Refuses what a browser marks as cross-site, and an `Origin` that is not this server.
/// Requests with neither header come from programs (curl, Prometheus), not from a page.
fn same_origin(headers: &HeaderMap) -> Result<(), &'static str> {
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
        let origin = origin.to_str().unwrap_or("null");
        let ours = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .is_some_and(|o| !host.is_empty() && o.eq_ignore_ascii_case(host));
        if !ours {
            return Err("cross-site request refused (Origin is not this dashboard)");
        }
    }
    Ok(())
}

fn refuse(code: StatusCode, why: &str) -> Response {
    (code, format!("{why}\n")).into_response()
}

/// 401: a login page for browsers, one line for programs.
fn unauthorized(headers: &HeaderMap) -> Response {
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

pub(super) async fn login(
    State(web): State<Web>,
    axum::Form(form): axum::Form<LoginForm>,
) -> Response {
    if !web.access.requires_token() {
        return Redirect::to("/").into_response();
    }
    if !web.access.token_matches(form.token.trim()) {
        tracing::warn!("A dashboard login with a wrong token was refused.");
        return (
            StatusCode::UNAUTHORIZED,
            axum::response::Html(dashboard::login_page("That is not the dashboard's token.")),
        )
            .into_response();
    }
    let Some(session) = &web.access.session else {
        return Redirect::to("/").into_response();
    };
    let set = format!(
        "{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/",
        session.expose()
    );
    let mut response = Redirect::to("/").into_response();
    if let Ok(v) = HeaderValue::from_str(&set) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

pub(super) async fn logout() -> Response {
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("klar_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
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

    #[test]
    fn bearer_or_session_cookie_authenticates() {
        let access = Access::new(Some(Secret::new("0123456789abcdef0123")));
        let session = access.session.as_ref().unwrap().expose().to_owned();
        assert_ne!(
            session, "0123456789abcdef0123",
            "the cookie is not the token"
        );
        assert!(access.authenticated(&headers(&[(
            "authorization",
            "Bearer 0123456789abcdef0123"
        )])));
        assert!(access.authenticated(&headers(&[(
            "cookie",
            &format!("a=b; klar_session={session}")
        )])));
        assert!(!access.authenticated(&headers(&[("authorization", "Bearer wrong")])));
        assert!(
            !access.authenticated(&headers(&[("cookie", "klar_session=0123456789abcdef0123")]))
        );
        assert!(!access.authenticated(&HeaderMap::new()));
        assert!(Access::new(None).authenticated(&HeaderMap::new()));
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
        assert!(same_origin(&ok).is_ok());
        assert!(same_origin(&headers(&[("host", "127.0.0.1:7878")])).is_ok());
        assert!(
            same_origin(&headers(&[
                ("host", "127.0.0.1:7878"),
                ("sec-fetch-site", "cross-site")
            ]))
            .is_err()
        );
        assert!(
            same_origin(&headers(&[
                ("host", "127.0.0.1:7878"),
                ("origin", "http://evil.example")
            ]))
            .is_err()
        );
        assert!(same_origin(&headers(&[("host", "127.0.0.1:7878"), ("origin", "null")])).is_err());
    }
}
