//! Who may use the dashboard. Off loopback (bound to 0.0.0.0, reached through 127.0.0.1) klar
//! refuses to start without a token; with one, every request without it gets 401, with it
//! (bearer or the login form's cookie) 200; cross-site POSTs are refused; no page or JSON
//! shows the token, the cookie, a vendor password or a responsible person's phone. On loopback
//! without a token only requests naming a loopback host are answered.

mod dashboard_common;

use dashboard_common::{DemoSite, Klar, client, wait_for};

/// A client whose connections come from `ip` (any 127.x address is this machine).
fn from(ip: &str) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(ip.parse::<std::net::IpAddr>().unwrap())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap()
}
use klar_adapters::fake::FakeData;

const TOKEN: &str = "test-token-0123456789abcdef";

const PAGES: &[&str] = &[
    "",
    "timeline",
    "doors",
    "doors/D-HAL-N",
    "explain?target=door:D-AULA",
    "bookings",
    "bookings?q=Klar",
    "audit",
    "api/status",
    "api/plan",
    "api/bookings",
    "api/doors",
    "api/audit",
    "api/live",
    "metrics",
    "readyz",
    "healthz",
];

#[test]
fn off_loopback_without_a_token_klar_refuses_to_start() {
    let site = DemoSite::start();
    let mut klar = Klar::start(&site.config, "0.0.0.0:0", &[]);
    let status = wait_for("klar run to stop", || klar.child.try_wait().unwrap());
    assert_eq!(status.code(), Some(2), "{}", klar.log());
    let log = klar.log();
    assert!(log.contains("off loopback"), "{log}");
    assert!(
        log.contains("[web] token_file") && log.contains("KLAR_WEB_TOKEN"),
        "{log}"
    );
    // Refused before any task started: nothing was polled or applied.
    assert!(
        !log.contains("Bookings changed") && !log.contains("Plan applied"),
        "{log}"
    );
}

#[test]
fn off_loopback_every_request_needs_the_token_and_cross_site_posts_are_refused() {
    let site = DemoSite::start();
    // A booking whose responsible person has a phone number and a title with markup.
    let start = dashboard_common::slot_ahead(chrono::Utc::now());
    site.winkas.add_booking(FakeData::booking(
        2,
        "<b>Klar</b> test",
        start,
        start + chrono::Duration::hours(1),
    ));
    let mut klar = Klar::start(&site.config, "0.0.0.0:0", &[("KLAR_WEB_TOKEN", TOKEN)]);
    let url = klar.url();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let http = client();
    let bearer = format!("Bearer {TOKEN}");

    // Without the token: 401 everywhere, a login page for browsers. With a wrong one (from
    // another address, 127.0.0.2, which the wrong tokens slow down: 401, then 429).
    let guesser = from("127.0.0.2");
    let mut refused = Vec::new();
    for page in PAGES {
        let r = http.get(format!("{url}{page}")).send().unwrap();
        assert_eq!(r.status(), 401, "/{page} without a token");
        let r = guesser
            .get(format!("{url}{page}"))
            .header("authorization", "Bearer wrong-token-0123456789")
            .send()
            .unwrap();
        refused.push(r.status().as_u16());
    }
    assert_eq!(refused[..10], [401; 10], "{refused:?}");
    assert!(refused[10..].iter().all(|s| *s == 429), "{refused:?}");
    let r = http.get(&url).header("accept", "text/html").send().unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer realm=\"klar\"");
    assert!(r.text().unwrap().contains("action=\"/login\""));
    for action in ["sync", "reload"] {
        let r = http.post(format!("{url}api/{action}")).send().unwrap();
        assert_eq!(r.status(), 401, "POST /api/{action} without a token");
    }
    // The login form and the assets are public; they show nothing of the site.
    assert_eq!(
        http.get(format!("{url}login")).send().unwrap().status(),
        200
    );
    assert_eq!(
        http.get(format!("{url}assets/klar.css"))
            .send()
            .unwrap()
            .status(),
        200
    );

    // With the bearer token: 200 (once the plan is in place).
    wait_for("ready", || {
        let r = http
            .get(format!("{url}readyz"))
            .header("authorization", &bearer)
            .send()
            .ok()?;
        (r.status() == 200).then_some(())
    });
    wait_for("the added booking in the plan", || {
        let r = http
            .get(format!("{url}api/bookings?q=Klar"))
            .header("authorization", &bearer)
            .send()
            .ok()?;
        let rows: serde_json::Value = r.json().ok()?;
        rows.as_array()
            .is_some_and(|a| {
                a.iter()
                    .any(|b| !b["caused"].as_array().unwrap().is_empty())
            })
            .then_some(())
    });
    let mut bodies = Vec::new();
    for page in PAGES {
        let r = http
            .get(format!("{url}{page}"))
            .header("authorization", &bearer)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "/{page} with the token");
        let csp = r.headers()["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{csp}");
        bodies.push((page, r.text().unwrap()));
    }

    // The login form: a wrong token is refused; the right one sets an HttpOnly, SameSite=Strict
    // cookie that is not the token, and the cookie alone opens the pages.
    let r = http
        .post(format!("{url}login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=not-the-token-at-all")
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("set-cookie").is_none());
    let r = http
        .post(format!("{url}login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={TOKEN}"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/");
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Strict"), "{set}");
    let cookie = set.split(';').next().unwrap().to_owned();
    let cookie_value = cookie.split_once('=').unwrap().1.to_owned();
    assert!(!cookie_value.is_empty() && !cookie_value.contains(TOKEN));
    let r = http.get(&url).header("cookie", &cookie).send().unwrap();
    assert_eq!(r.status(), 200);
    bodies.push((&"/ with the cookie", r.text().unwrap()));

    // Actions are POST only, and a cross-site POST is refused even with the cookie.
    let r = http
        .get(format!("{url}api/sync"))
        .header("cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(r.status(), 405);
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    for (name, value) in [
        ("origin", "http://evil.example".to_owned()),
        ("origin", "null".to_owned()),
        ("sec-fetch-site", "cross-site".to_owned()),
        ("sec-fetch-site", "same-site".to_owned()),
    ] {
        for action in ["sync", "reload", "logout"] {
            let path = if action == "logout" {
                "logout".to_owned()
            } else {
                format!("api/{action}")
            };
            let r = http
                .post(format!("{url}{path}"))
                .header("cookie", &cookie)
                .header(name, &value)
                .send()
                .unwrap();
            assert_eq!(r.status(), 403, "POST /{path} with {name}: {value}");
        }
    }
    let r = http
        .post(format!("{url}api/sync"))
        .header("cookie", &cookie)
        .header("origin", format!("http://{host}"))
        .header("sec-fetch-site", "same-origin")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "a same-origin POST");
    // Anyone who reaches the server can send those: one log line a minute, not one each.
    assert_eq!(
        klar.log()
            .matches("A cross-site request was refused.")
            .count(),
        1,
        "{}",
        klar.log()
    );

    // Nothing shows a secret: not the token, the cookie, a vendor password, nor the
    // responsible person's phone; booking titles are escaped in HTML.
    let mut secrets = vec![
        TOKEN.to_owned(),
        cookie_value.clone(),
        "+45 20 30 40 50".to_owned(),
    ];
    secrets.extend(site.passwords());
    for (page, body) in &bodies {
        for s in &secrets {
            assert!(!body.contains(s.as_str()), "/{page} shows a secret");
        }
        // JSON carries the title as data; HTML pages must escape it.
        if !page.starts_with("api/") {
            assert!(
                !body.contains("<b>Klar</b>"),
                "/{page} shows unescaped markup"
            );
        }
    }
    let bookings = bodies
        .iter()
        .find(|(p, _)| **p == "bookings?q=Klar")
        .unwrap();
    assert!(
        bookings.1.contains("&lt;b&gt;Klar&lt;/b&gt; test"),
        "{}",
        bookings.1
    );
    assert!(bookings.1.contains("Mette Hansen"));
}

#[test]
fn on_loopback_without_a_token_only_loopback_hosts_are_answered() {
    let site = DemoSite::start();
    let mut klar = Klar::start(&site.config, "127.0.0.1:0", &[]);
    let url = klar.url();
    let http = client();
    let port = url.trim_end_matches('/').rsplit(':').next().unwrap();
    assert_eq!(http.get(&url).send().unwrap().status(), 200);
    for host in ["localhost", "127.0.0.1"] {
        let r = http
            .get(&url)
            .header("host", format!("{host}:{port}"))
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "{host}");
    }
    // A page on another name that resolves here (DNS rebinding) gets nothing.
    let r = http
        .get(format!("{url}api/status"))
        .header("host", format!("evil.example:{port}"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    // A cross-site form POST to a loopback dashboard is refused too.
    let r = http
        .post(format!("{url}api/sync"))
        .header("origin", "http://evil.example")
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    // Programs without Origin (curl, scripts) may act; a browser form gets a redirect.
    assert_eq!(
        http.post(format!("{url}api/sync")).send().unwrap().status(),
        200
    );
    let r = http
        .post(format!("{url}api/sync"))
        .header("accept", "text/html")
        .header("origin", url.trim_end_matches('/'))
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/?requested=sync");
    // A request head over 32 KiB is refused (431), one under it is served.
    for (size, status) in [(20_000, "200"), (40_000, "431")] {
        use std::io::{Read, Write};
        let addr = url.trim_start_matches("http://").trim_end_matches('/');
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        let head = format!(
            "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nX-Big: {}\r\n\r\n",
            "a".repeat(size)
        );
        s.write_all(head.as_bytes()).unwrap();
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{size}: {answer}"
        );
    }
}

/// The `Set-Cookie` of a login with `token`, from `client`.
fn login(
    client: &reqwest::blocking::Client,
    url: &str,
    token: &str,
) -> reqwest::blocking::Response {
    client
        .post(format!("{url}login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .unwrap()
}

fn cookie_of(r: &reqwest::blocking::Response) -> (String, String) {
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    (set.split(';').next().unwrap().to_owned(), set)
}

#[test]
fn each_login_is_a_session_of_its_own_that_expires_and_ends_at_logout() {
    let site = DemoSite::start();
    let mut klar = Klar::start(&site.config, "127.0.0.1:0", &[("KLAR_WEB_TOKEN", TOKEN)]);
    let url = klar.url();
    let http = client();
    let (a, set) = cookie_of(&login(&http, &url, TOKEN));
    let (b, _) = cookie_of(&login(&http, &url, TOKEN));
    assert_ne!(a, b, "two logins, two sessions");
    for part in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(set.contains(part), "{set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP, no proxy: {set}");
    let page = |cookie: &str| {
        http.get(&url)
            .header("cookie", cookie)
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(page(&a), 200);
    assert_eq!(page(&b), 200);
    // Logout ends that session on the server: its cookie, kept and sent again, opens nothing.
    let r = http
        .post(format!("{url}logout"))
        .header("cookie", &a)
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(page(&a), 401, "the cookie after logout");
    assert_eq!(page(&b), 200, "another login is not ended");
    // A made-up session id is not one.
    assert_eq!(page(&format!("klar_session={}", "0".repeat(64))), 401);
}

#[test]
fn wrong_tokens_are_slowed_per_address_logged_with_it_and_counted() {
    let site = DemoSite::start();
    let mut klar = Klar::start(&site.config, "0.0.0.0:0", &[("KLAR_WEB_TOKEN", TOKEN)]);
    let url = klar.url();
    let guesser = from("127.0.0.3");
    let started = std::time::Instant::now();
    let codes: Vec<u16> = (0..100)
        .map(|i| {
            login(&guesser, &url, &format!("guess-{i:04}-0123456789"))
                .status()
                .as_u16()
        })
        .collect();
    assert_eq!(codes[..10], [401; 10], "{codes:?}");
    assert!(codes[10..].iter().all(|c| *c == 429), "{codes:?}");
    // While it is slowed down, even the right token is refused (no oracle for guesses)...
    let r = login(&guesser, &url, TOKEN);
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=6).contains(&wait), "{wait}");
    assert!(started.elapsed() < std::time::Duration::from_secs(6));
    // ...and a wrong bearer token too; another address is not slowed down.
    let r = guesser
        .get(format!("{url}api/status"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(login(&from("127.0.0.1"), &url, TOKEN).status(), 303);
    let r = from("127.0.0.4")
        .get(format!("{url}api/status"))
        .header("authorization", "Bearer not-the-token-0123456789")
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);

    // Logged with the address, a bounded number of lines however many guesses.
    let log = klar.log();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("127.0.0.3")).collect();
    assert_eq!(lines.len(), 10, "{log}");
    assert_eq!(
        lines
            .iter()
            .filter(
                |l| l.contains("A wrong dashboard token was refused.") && l.contains("via=login")
            )
            .count(),
        9,
        "{log}"
    );
    assert!(
        lines[9].contains("Too many wrong dashboard tokens"),
        "{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("address=127.0.0.4") && l.contains("via=bearer")),
        "{log}"
    );
    assert!(
        !log.contains("guess-00"),
        "a wrong token is logged without its value"
    );
    // Counted in /metrics.
    let text = client()
        .get(format!("{url}metrics"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let m = dashboard_common::prom::parse(&text).unwrap();
    assert_eq!(
        m.get("klar_web_auth_failures_total", &[("via", "login")]),
        Some(10.0)
    );
    assert_eq!(
        m.get("klar_web_auth_failures_total", &[("via", "bearer")]),
        Some(1.0)
    );
    assert_eq!(m.get("klar_web_auth_throttled_total", &[]), Some(92.0));
}

#[test]
fn behind_a_proxy_that_rewrites_host_the_public_origin_may_act() {
    let site = DemoSite::start();
    // A proxy in front needs a token: anyone who reaches the proxy reaches klar.
    site.edit_config(|s| format!("{s}\n[web]\npublic_origin = \"https://klar.example.test\"\n"));
    let mut refused = Klar::start(&site.config, "127.0.0.1:0", &[]);
    let status = wait_for("klar run to stop", || refused.child.try_wait().unwrap());
    assert_eq!(status.code(), Some(2));
    assert!(refused.log().contains("public_origin"), "{}", refused.log());

    let mut klar = Klar::start(&site.config, "127.0.0.1:0", &[("KLAR_WEB_TOKEN", TOKEN)]);
    let url = klar.url();
    let upstream = url.trim_start_matches("http://").trim_end_matches('/');
    let http = client();
    // What nginx sends by default: Host rewritten to the upstream, the browser's Origin, and
    // the headers the documented configuration adds.
    let proxied = |req: reqwest::blocking::RequestBuilder, client_ip: &str| {
        req.header("host", upstream)
            .header("origin", "https://klar.example.test")
            .header("sec-fetch-site", "same-origin")
            .header("x-forwarded-for", client_ip)
            .header("x-forwarded-proto", "https")
    };
    let r = proxied(
        http.post(format!("{url}login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={TOKEN}")),
        "203.0.113.7",
    )
    .send()
    .unwrap();
    assert_eq!(r.status(), 303);
    let (cookie, set) = cookie_of(&r);
    assert!(set.contains("; Secure"), "TLS ends at the proxy: {set}");
    for action in ["api/sync", "api/reload"] {
        let r = proxied(http.post(format!("{url}{action}")), "203.0.113.7")
            .header("cookie", &cookie)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "POST /{action} through the proxy");
    }
    // Another site's page is still refused.
    let r = http
        .post(format!("{url}api/sync"))
        .header("cookie", &cookie)
        .header("host", upstream)
        .header("origin", "https://evil.example")
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    // The proxy's client address is the one slowed down and logged.
    for i in 0..10 {
        let r = proxied(
            http.post(format!("{url}login"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("token=guess-{i}-0123456789abcdef")),
            "198.51.100.66",
        )
        .send()
        .unwrap();
        assert_eq!(r.status(), 401);
    }
    let r = proxied(http.get(format!("{url}api/status")), "198.51.100.66")
        .header("cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(r.status(), 429, "that client is slowed down");
    let r = proxied(http.get(format!("{url}api/status")), "203.0.113.7")
        .header("cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "another client behind the same proxy is not"
    );
    assert!(
        klar.log().contains("address=198.51.100.66"),
        "{}",
        klar.log()
    );
}
