//! The dashboard tests' harness: the demo's site (examples/demo/site.toml, the school pack)
//! on fake Pronestor and WinKAS servers run by the test (so a test can add a booking), and
//! `klar run` as a process with its log in a file and its dashboard URL read from the log.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use klar_adapters::fake::pronestor::{FakePronestor, FakePronestorOptions};
use klar_adapters::fake::winkas::{FakeWinkas, FakeWinkasOptions};

const SITE_TEMPLATE: &str = include_str!("../../examples/demo/site.toml");
const SCHOOL_PACK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/rules/school");

/// The demo's site on fakes this test controls. The runtime serves the fakes while the test
/// thread blocks on HTTP and the browser.
pub struct DemoSite {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub winkas: FakeWinkas,
    pub pronestor: FakePronestor,
    pub runtime: tokio::runtime::Runtime,
}

impl DemoSite {
    pub fn start() -> DemoSite {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (pronestor, winkas) = runtime.block_on(async {
            (
                FakePronestor::start(FakePronestorOptions::default())
                    .await
                    .unwrap(),
                FakeWinkas::start(FakeWinkasOptions::default())
                    .await
                    .unwrap(),
            )
        });
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("secrets")).unwrap();
        copy_dir(Path::new(SCHOOL_PACK), &dir.path().join("rules/school")).unwrap();
        std::fs::write(
            dir.path().join("secrets/pronestor.password"),
            pronestor.credentials().1,
        )
        .unwrap();
        std::fs::write(
            dir.path().join("secrets/winkas.password"),
            winkas.credentials().1,
        )
        .unwrap();
        let site = SITE_TEMPLATE
            .replace("@PRONESTOR_URL@", &pronestor.base_url())
            .replace("@WINKAS_URL@", &winkas.base_url())
            .replace(
                "contract_code = \"12345\"",
                &format!("contract_code = \"{}\"", winkas.credentials().2),
            )
            // On a public holiday the school pack opens nothing: the tests must not depend on
            // the date they run.
            .replace("public_holidays = \"dk\"", "public_holidays = \"none\"");
        assert!(site.contains("public_holidays = \"none\""));
        let config = dir.path().join("site.toml");
        std::fs::write(&config, site).unwrap();
        DemoSite {
            dir,
            config,
            winkas,
            pronestor,
            runtime,
        }
    }

    /// Changes the site config before klar starts (a `[daemon]` value, a `[web]` table).
    pub fn edit_config(&self, edit: impl FnOnce(String) -> String) {
        let text = std::fs::read_to_string(&self.config).unwrap();
        std::fs::write(&self.config, edit(text)).unwrap();
    }

    /// The vendor passwords, which no page may show.
    pub fn passwords(&self) -> Vec<String> {
        vec![self.winkas.credentials().1, self.pronestor.credentials().1]
    }
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// `klar run` as a child process, its stderr in a file.
pub struct Klar {
    pub child: Child,
    pub log: PathBuf,
}

impl Klar {
    /// Starts `klar run --config config --listen listen` with `env` set (and `KLAR_WEB_TOKEN`
    /// and `RUST_LOG` removed unless given).
    pub fn start(config: &Path, listen: &str, env: &[(&str, &str)]) -> Klar {
        Klar::start_under(&[], config, listen, env)
    }

    /// [`Klar::start`] through a wrapper that execs it (`prlimit --nofile=128:256 --`).
    pub fn start_under(
        wrapper: &[&str],
        config: &Path,
        listen: &str,
        env: &[(&str, &str)],
    ) -> Klar {
        let log = config.with_file_name(format!("klar-{}.log", listen.replace([':', '.'], "_")));
        let mut cmd = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(env!("CARGO_BIN_EXE_klar"));
                c
            }
            None => Command::new(env!("CARGO_BIN_EXE_klar")),
        };
        cmd.args(["run", "--config"])
            .arg(config)
            .args(["--listen", listen])
            .env_remove("RUST_LOG")
            .env_remove("KLAR_WEB_TOKEN")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        Klar {
            child: cmd.spawn().expect("klar run starts"),
            log,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The dashboard's URL from the log (`dashboard=http://...:PORT/`), with a wildcard
    /// address replaced by 127.0.0.1.
    pub fn url(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(u) = self
                .log()
                .split_whitespace()
                .find_map(|w| w.strip_prefix("dashboard="))
            {
                return u.replace("0.0.0.0", "127.0.0.1");
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("klar run stopped ({status}):\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "no dashboard URL in the log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Klar {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` every 100 ms until it gives a value or 30 s have passed. A real process is
/// involved, so a bounded wait rather than injected time.
pub fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A blocking HTTP client that follows no redirects (the tests look at them).
pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A daytime slot (10:00, 14:00 or 18:00 Copenhagen time) at least 3 h ahead (beyond the
/// near-poll window, so only a full poll sees it) and within 20 h (inside the plan's horizon).
pub fn slot_ahead(now: DateTime<Utc>) -> DateTime<Utc> {
    let tz = chrono_tz::Europe::Copenhagen;
    let today = now.with_timezone(&tz).date_naive();
    for day in [
        today,
        today + chrono::Days::new(1),
        today + chrono::Days::new(2),
    ] {
        for hour in [10, 14, 18] {
            let local = day.and_hms_opt(hour, 0, 0).expect("a valid time");
            let Some(t) = tz.from_local_datetime(&local).single() else {
                continue;
            };
            let t = t.with_timezone(&Utc);
            if t >= now + chrono::Duration::hours(3) && t <= now + chrono::Duration::hours(20) {
                return t;
            }
        }
    }
    panic!("no daytime slot 3..20 h after {now}")
}

/// A strictly parsed Prometheus text exposition: each sample by name and sorted labels.
pub mod prom {
    use std::collections::{BTreeMap, BTreeSet};

    pub type Labels = Vec<(String, String)>;

    #[derive(Debug, Default)]
    pub struct Exposition {
        pub types: BTreeMap<String, String>,
        pub samples: BTreeMap<(String, Labels), f64>,
    }

    impl Exposition {
        /// The value of `name` with exactly these labels.
        pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
            let mut l: Labels = labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            l.sort();
            self.samples.get(&(name.to_owned(), l)).copied()
        }
    }

    fn is_name(s: &str) -> bool {
        let mut chars = s.chars();
        matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    }

    fn value(s: &str) -> Result<f64, String> {
        match s {
            "+Inf" => Ok(f64::INFINITY),
            "-Inf" => Ok(f64::NEG_INFINITY),
            "NaN" => Ok(f64::NAN),
            _ => s.parse().map_err(|e| format!("bad value {s:?}: {e}")),
        }
    }

    /// The family a sample belongs to (histogram samples carry suffixes).
    fn family<'a>(name: &'a str, types: &BTreeMap<String, String>) -> Option<&'a str> {
        if types.contains_key(name) {
            return Some(name);
        }
        for suffix in ["_bucket", "_sum", "_count"] {
            if let Some(base) = name.strip_suffix(suffix)
                && types.get(base).is_some_and(|t| t == "histogram")
            {
                return Some(base);
            }
        }
        None
    }

    fn labels(text: &str) -> Result<Labels, String> {
        let mut out = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let (name, after) = rest
                .split_once("=\"")
                .ok_or_else(|| format!("bad labels {text:?}"))?;
            if !is_name(name) || name.starts_with("__") {
                return Err(format!("bad label name {name:?}"));
            }
            let mut value = String::new();
            let mut chars = after.char_indices();
            let end = loop {
                match chars.next() {
                    None => return Err(format!("unterminated label value in {text:?}")),
                    Some((i, '"')) => break i,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, '\\')) => value.push('\\'),
                        Some((_, '"')) => value.push('"'),
                        Some((_, 'n')) => value.push('\n'),
                        other => return Err(format!("bad escape {other:?} in {text:?}")),
                    },
                    Some((_, c)) => value.push(c),
                }
            };
            out.push((name.to_owned(), value));
            rest = &after[end + 1..];
            rest = rest.strip_prefix(',').unwrap_or(rest);
        }
        let mut names = BTreeSet::new();
        for (n, _) in &out {
            if !names.insert(n.clone()) {
                return Err(format!("label {n} twice in {text:?}"));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Parses the text format (0.0.4) strictly: HELP and TYPE once per family and before its
    /// samples, known types, valid names, labels and values, no duplicate samples, histogram
    /// buckets cumulative and ending in `+Inf` equal to `_count`.
    pub fn parse(text: &str) -> Result<Exposition, String> {
        let mut e = Exposition::default();
        let mut helped = BTreeSet::new();
        let mut seen_samples = BTreeSet::new();
        if !text.ends_with('\n') {
            return Err("the exposition must end with a newline".into());
        }
        for (n, line) in text.lines().enumerate() {
            let at = |m: String| format!("line {}: {m}: {line:?}", n + 1);
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix("# ") {
                let mut parts = rest.splitn(3, ' ');
                let (kw, name, arg) = (parts.next(), parts.next(), parts.next());
                let name = name.ok_or_else(|| at("comment without a name".into()))?;
                if !is_name(name) {
                    return Err(at("bad metric name".into()));
                }
                match kw {
                    Some("HELP") if !helped.insert(name.to_owned()) => {
                        return Err(at("HELP twice".into()));
                    }
                    Some("TYPE") => {
                        let t = arg.ok_or_else(|| at("TYPE without a type".into()))?;
                        if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&t) {
                            return Err(at(format!("unknown type {t}")));
                        }
                        if seen_samples.contains(name) {
                            return Err(at("TYPE after samples".into()));
                        }
                        if e.types.insert(name.to_owned(), t.to_owned()).is_some() {
                            return Err(at("TYPE twice".into()));
                        }
                    }
                    _ => {}
                }
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let (series, val) = line.rsplit_once(' ').ok_or_else(|| at("no value".into()))?;
            let v = value(val).map_err(at)?;
            let (name, labels) = match series.split_once('{') {
                Some((name, l)) => (
                    name,
                    labels(
                        l.strip_suffix('}')
                            .ok_or_else(|| at("no closing brace".into()))?,
                    )
                    .map_err(at)?,
                ),
                None => (series, Vec::new()),
            };
            if !is_name(name) {
                return Err(at("bad metric name".into()));
            }
            let fam = family(name, &e.types).ok_or_else(|| at("sample without a TYPE".into()))?;
            seen_samples.insert(fam.to_owned());
            if e.types[fam] == "counter" && v < 0.0 {
                return Err(at("negative counter".into()));
            }
            if e.samples.insert((name.to_owned(), labels), v).is_some() {
                return Err(at("duplicate sample".into()));
            }
        }
        // Histograms: cumulative buckets, +Inf == _count.
        for (fam, t) in &e.types {
            if t != "histogram" {
                continue;
            }
            let bucket = format!("{fam}_bucket");
            let mut buckets: Vec<(f64, f64)> = e
                .samples
                .iter()
                .filter(|((n, _), _)| *n == bucket)
                .map(|((_, l), v)| {
                    let le = l
                        .iter()
                        .find(|(k, _)| k == "le")
                        .map(|(_, v)| value(v))
                        .unwrap_or(Err("bucket without le".into()));
                    le.map(|le| (le, *v))
                })
                .collect::<Result<_, String>>()?;
            buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            if buckets.last().map(|b| b.0) != Some(f64::INFINITY) {
                return Err(format!("{fam}: no +Inf bucket"));
            }
            if buckets.windows(2).any(|w| w[1].1 < w[0].1) {
                return Err(format!("{fam}: buckets not cumulative"));
            }
            let count = e.get(&format!("{fam}_count"), &[]);
            if count != buckets.last().map(|b| b.1) {
                return Err(format!("{fam}: +Inf bucket differs from _count"));
            }
        }
        Ok(e)
    }
}
