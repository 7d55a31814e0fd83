//! The dashboard in a real browser: headless Chromium (Debian's, installed by scripts/setup),
//! driven over the DevTools protocol, against `klar run` on the demo's site. The timeline shows
//! the plan's windows and the sample bookings; "Sync now" makes klar poll, a booking added to
//! WinKAS meanwhile reaches the controller, and the audit log grows. A screenshot is saved to
//! target/test-artefacts/dashboard.png. A saved edit shows its diff on the overview and the
//! reloads page; a refused one turns the header and the overview red
//! (target/test-artefacts/dashboard-refused.png).

mod dashboard_common;

use std::collections::BTreeSet;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::{DateTime, Utc};
use dashboard_common::{DemoSite, Klar, client, slot_ahead, wait_for};
use klar_adapters::fake::FakeData;
use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

const CHROMIUM: &str = "/usr/bin/chromium";

/// Headless Chromium with its own profile, killed when dropped.
struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
    port: u16,
}

impl Browser {
    fn start() -> Browser {
        assert!(
            Path::new(CHROMIUM).exists(),
            "{CHROMIUM} is missing: run scripts/setup (it installs Debian's chromium for this test)"
        );
        let profile = tempfile::tempdir().unwrap();
        let child = Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
                "--window-size=412,915",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{CHROMIUM} does not start ({e}): run scripts/setup"));
        let file = profile.path().join("DevToolsActivePort");
        let port = wait_for("Chromium's DevToolsActivePort file", || {
            let text = std::fs::read_to_string(&file).ok()?;
            text.lines().next()?.trim().parse::<u16>().ok()
        });
        Browser {
            child,
            _profile: profile,
            port,
        }
    }

    /// The DevTools connection to the browser's first page.
    fn page(&self) -> Cdp {
        let list = format!("http://127.0.0.1:{}/json/list", self.port);
        let ws = wait_for("a page target", || {
            let targets: Value = client().get(&list).send().ok()?.json().ok()?;
            targets
                .as_array()?
                .iter()
                .find(|t| t["type"] == "page")
                .and_then(|t| t["webSocketDebuggerUrl"].as_str().map(str::to_owned))
        });
        let (socket, _) = tungstenite::connect(ws.as_str()).expect("the DevTools websocket");
        if let MaybeTlsStream::Plain(s) = socket.get_ref() {
            s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        }
        Cdp { socket, next: 1 }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal DevTools protocol client: one command at a time, events skipped.
struct Cdp {
    socket: WebSocket<MaybeTlsStream<TcpStream>>,
    next: u64,
}

impl Cdp {
    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next;
        self.next += 1;
        let request = json!({"id": id, "method": method, "params": params});
        self.socket
            .send(Message::text(request.to_string()))
            .expect("a DevTools command is sent");
        loop {
            let message = self.socket.read().expect("a DevTools answer");
            let Message::Text(text) = message else {
                continue;
            };
            let v: Value = serde_json::from_str(text.as_str()).expect("DevTools speaks JSON");
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {}", v["error"]);
                return v["result"].clone();
            }
        }
    }

    /// Evaluates `expression` in the page and returns its value.
    fn eval(&mut self, expression: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        );
        assert!(
            r.get("exceptionDetails").is_none(),
            "{expression}: {}",
            r["exceptionDetails"]
        );
        r["result"]["value"].clone()
    }

    /// Opens `url` and waits until the page has loaded.
    fn open(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url}));
        let want = url.to_owned();
        wait_for(&format!("{url} loaded"), || {
            let state = self.eval("[document.readyState, location.href]");
            (state[0] == "complete" && state[1] == want.as_str()).then_some(())
        });
    }

    fn screenshot(&mut self, path: &Path) {
        let r = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = base64_decode(r["data"].as_str().expect("screenshot data"));
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.as_bytes().chunks(4) {
        let digits: Vec<u32> = chunk
            .iter()
            .filter(|c| **c != b'=')
            .map(|c| value(*c))
            .collect();
        let n = digits
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, d)| n | d << (18 - 6 * i));
        for i in 0..digits.len().saturating_sub(1) {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .unwrap_or_else(|| panic!("not a time: {v}"))
        .with_timezone(&Utc)
}

/// A plan target as the dashboard names it (the `Display` of the engine's `Target`).
fn target_name(t: &Value) -> Option<String> {
    let s = |k: &str| t[k].as_str().unwrap_or_default().to_owned();
    match t["kind"].as_str()? {
        "door" => Some(format!("door {} {}", s("door"), s("level"))),
        "zone" => Some(format!("zone {} disarmed", s("zone"))),
        "output" => Some(format!("output {} on", s("output"))),
        _ => None,
    }
}

type Bars = BTreeSet<(String, DateTime<Utc>, DateTime<Utc>)>;

/// The timeline's bars and span as the browser sees them.
fn timeline(page: &mut Cdp, url: &str) -> (Bars, DateTime<Utc>, DateTime<Utc>) {
    page.open(&format!("{url}timeline"));
    let v = page.eval(
        "JSON.stringify({span: [document.querySelector('.chart').dataset.from, document.querySelector('.chart').dataset.to], bars: Array.from(document.querySelectorAll('a.window')).map(a => [a.dataset.target, a.dataset.from, a.dataset.to])})",
    );
    let v: Value = serde_json::from_str(v.as_str().unwrap()).unwrap();
    let bars = v["bars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b[0].as_str().unwrap().to_owned(), time(&b[1]), time(&b[2])))
        .collect();
    (bars, time(&v["span"][0]), time(&v["span"][1]))
}

fn api(url: &str, path: &str) -> Value {
    client()
        .get(format!("{url}{path}"))
        .send()
        .unwrap()
        .json()
        .unwrap()
}

fn artefact(name: &str) -> PathBuf {
    // target/debug/klar -> target/test-artefacts/NAME
    Path::new(env!("CARGO_BIN_EXE_klar"))
        .parent()
        .and_then(Path::parent)
        .expect("the binary lives in target/<profile>/")
        .join("test-artefacts")
        .join(name)
}

#[test]
fn the_dashboard_in_chromium_shows_the_plan_and_sync_now_grows_the_audit_log() {
    let browser = Browser::start();
    let site = DemoSite::start();
    let mut klar = Klar::start(&site.config, "127.0.0.1:0", &[]);
    let url = klar.url();
    wait_for("ready", || {
        let r = client().get(format!("{url}readyz")).send().ok()?;
        (r.status() == 200).then_some(())
    });
    let mut page = browser.page();
    page.call("Page.enable", json!({}));
    page.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 412, "height": 915, "deviceScaleFactor": 1, "mobile": true}),
    );

    // The timeline shows every door, zone and output window of the plan within today and
    // tomorrow, and every sample booking in its room. The plan is rebuilt every minute, so
    // compare a page rendered between two reads of the same plan.
    let (bars, from, to, compared) = wait_for("a timeline rendered from one plan", || {
        let before = api(&url, "api/plan");
        let (bars, from, to) = timeline(&mut page, &url);
        let after = api(&url, "api/plan");
        if before["at"] != after["at"] {
            return None;
        }
        let mut compared = 0;
        for entry in after["entries"].as_array().unwrap() {
            let Some(name) = target_name(&entry["target"]) else {
                continue;
            };
            for w in entry["windows"].as_array().unwrap() {
                let (f, t) = (time(&w["from"]), time(&w["to"]));
                if f < to && t > from {
                    assert!(
                        bars.contains(&(name.clone(), f, t)),
                        "the timeline lacks {name} {f} .. {t}"
                    );
                    compared += 1;
                }
            }
        }
        Some((bars, from, to, compared))
    });
    assert!(compared >= 5, "only {compared} windows compared");
    let rooms = site_rooms(&site.config);
    let mut shown = 0;
    for b in api(&url, "api/bookings").as_array().unwrap() {
        let room = format!(
            "{}:{}",
            b["source"].as_str().unwrap(),
            b["resource"].as_str().unwrap()
        );
        let (start, end) = (time(&b["start"]), time(&b["end"]));
        if !rooms.contains(&room) || start >= to || end <= from {
            continue;
        }
        assert!(
            bars.contains(&(format!("room {room}"), start, end)),
            "the timeline lacks booking {} in {room}",
            b["id"]
        );
        shown += 1;
    }
    assert!(shown >= 3, "only {shown} sample bookings on the timeline");

    // The audit log before.
    page.open(&format!("{url}audit"));
    let before = page
        .eval("document.querySelectorAll('tr.audit-row').length")
        .as_u64()
        .unwrap();
    assert!(before > 0, "the first apply is in the audit log");

    // A booking made in WinKAS further ahead than the near polls look: only a full poll, such
    // as "Sync now", brings it in. Its title has markup, which must stay text.
    let title = "Klar <b>browser</b> test";
    let start = slot_ahead(Utc::now());
    site.winkas.add_booking(FakeData::booking(
        2,
        title,
        start,
        start + chrono::Duration::hours(1),
    ));
    page.open(&url);
    // The page follows klar by itself: wait until its script has taken the first stamp.
    wait_for("the live refresh running", || {
        let t = page.eval("document.getElementById('live').textContent");
        t.as_str()?.starts_with("live").then_some(())
    });
    let sources = "document.getElementById('source-halls').textContent";
    let polls_before = page.eval(sources);
    page.eval("document.getElementById('sync').click()");
    let said = wait_for("the sync acknowledged on the page", || {
        let text = page.eval("document.getElementById('action').textContent");
        let text = text.as_str()?.to_owned();
        text.contains("requested").then_some(text)
    });
    assert!(said.contains("full poll"), "{said}");
    page.screenshot(&artefact("dashboard-overview.png"));
    // The overview refreshes itself with the new poll (no navigation).
    wait_for("the overview refreshed by itself after the sync", || {
        (page.eval(sources) != polls_before).then_some(())
    });

    let rows = wait_for("the audit log grown by the new booking", || {
        page.open(&format!("{url}audit"));
        let v = page.eval(
            "JSON.stringify([document.querySelectorAll('tr.audit-row').length, document.getElementById('audit').textContent, document.querySelectorAll('#audit b').length])",
        );
        let v: Value = serde_json::from_str(v.as_str()?).ok()?;
        let n = v[0].as_u64()?;
        (n > before && v[1].as_str()?.contains(title)).then_some(v)
    });
    assert_eq!(rows[2], 0, "the title's markup became elements");

    // The new booking on the timeline too; then the screenshot.
    let (bars, _, _) = timeline(&mut page, &url);
    assert!(
        bars.iter()
            .any(|(n, f, _)| n == "room halls:2" && *f == start),
        "the new booking is not on the timeline"
    );
    let text = page.eval("document.getElementById('main').textContent");
    assert!(text.as_str().unwrap().contains(title));
    page.screenshot(&artefact("dashboard.png"));
}

#[test]
fn the_dashboard_shows_what_a_reload_changed_and_a_refused_reload_in_red() {
    let browser = Browser::start();
    let site = DemoSite::start();
    let mut klar = Klar::start(&site.config, "127.0.0.1:0", &[]);
    let url = klar.url();
    wait_for("ready", || {
        let r = client().get(format!("{url}readyz")).send().ok()?;
        (r.status() == 200).then_some(())
    });
    let mut page = browser.page();
    page.call("Page.enable", json!({}));
    page.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 412, "height": 915, "deviceScaleFactor": 1, "mobile": true}),
    );
    page.open(&url);
    let health = "document.getElementById('health').className";
    assert_eq!(
        page.eval(health),
        "health ok",
        "green while nothing is wrong"
    );
    wait_for("the live refresh running", || {
        let t = page.eval("document.getElementById('live').textContent");
        t.as_str()?.starts_with("live").then_some(())
    });

    // A save that opens the doors earlier: the overview shows what it changed, by itself.
    let text = std::fs::read_to_string(&site.config).unwrap();
    std::fs::write(
        &site.config,
        text.replace("margin_before = 15", "margin_before = 45"),
    )
    .unwrap();
    let shown = wait_for("the reload's diff on the overview", || {
        let v = page.eval(
            "JSON.stringify([!!document.querySelector('article.reload.swapped'), document.querySelectorAll('article.reload tr.change').length, (document.querySelector('article.reload p.good') || {}).textContent || ''])",
        );
        let v: Value = serde_json::from_str(v.as_str()?).ok()?;
        (v[0] == true && v[1].as_u64()? > 0).then_some(v)
    });
    assert!(
        shown[2].as_str().unwrap().contains("windows moved"),
        "{shown}"
    );
    // The reloads page: each moved window in local time, with its offset.
    page.open(&format!("{url}reloads"));
    let first = page.eval(
        "Array.from(document.querySelectorAll('article.reload tr.change')).map(r => r.textContent).join('\\n')",
    );
    let rows = first.as_str().unwrap();
    assert!(rows.contains("moved: opens 30 min earlier"), "{rows}");
    assert!(
        rows.contains(" +01:00") || rows.contains(" +02:00"),
        "{rows}"
    );

    // A save the reload refuses: the header and the overview turn red; nothing applies.
    page.open(&url);
    wait_for("the live refresh running", || {
        let t = page.eval("document.getElementById('live').textContent");
        t.as_str()?.starts_with("live").then_some(())
    });
    std::fs::write(
        &site.config,
        text.replace("margin_before = 15", "margin_before = \"45\""),
    )
    .unwrap();
    let red = wait_for("the refused reload in red", || {
        let v = page.eval(
            "JSON.stringify([document.getElementById('health').className, (document.querySelector('article.reload.refused p.bad') || {}).textContent || '', document.getElementById('main').textContent])",
        );
        let v: Value = serde_json::from_str(v.as_str()?).ok()?;
        (v[0] == "health bad" && !v[1].as_str()?.is_empty()).then_some(v)
    });
    assert!(
        red[1].as_str().unwrap().starts_with("reload refused"),
        "{red}"
    );
    assert!(
        red[2]
            .as_str()
            .unwrap()
            .contains("margin_before = \"45\" is a text"),
        "{red}"
    );
    page.screenshot(&artefact("dashboard-refused.png"));
}

/// The room keys of the site config.
fn site_rooms(config: &Path) -> BTreeSet<String> {
    let site = klar_engine::site::SiteConfig::load(config).unwrap();
    site.rooms.keys().cloned().collect()
}
