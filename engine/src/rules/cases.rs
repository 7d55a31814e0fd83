//! Rule-pack test cases (`cases/*.yaml`) and their snapshots (`snapshots/*.snap`).
//!
//! A case is a small site, some bookings, `now`, and the windows worked out by hand per target:
//!
//! ```yaml
//! description: A hall booked on a weekday evening.
//! site:                                # optional; time_zone defaults to Europe/Copenhagen
//!   holiday_periods: [{name: Juleferie, from: 2026-12-21, to: 2027-01-03}]
//!   rooms:
//!     "halls:7": {name: Hal 1, doors: [D-HAL], person_groups: [Hal-brugere]}
//! settings: {margin_minutes: 15}       # optional overrides of the pack's settings
//! now: 2026-11-23T08:00:00+01:00
//! bookings:
//!   - {id: W-1, source: halls, resource: "7", title: Håndbold,
//!      start: 2026-11-23T16:00:00+01:00, end: 2026-11-23T18:00:00+01:00,
//!      responsible: {name: Mette Hansen, member_no: "1042"}}
//! expect:                              # every target of the plan, windows in local time
//!   door D-HAL unlocked: [2026-11-23 15:45 .. 2026-11-23 18:15]
//!   person member:1042 in group Hal-brugere: [2026-11-23 16:00 .. 2026-11-23 18:00]
//! errors: []                           # bookings the rules are expected to fail on
//! ```
//!
//! The runner plans the case with the planner and the one pack, checks `expect` (complete: a
//! target that is not listed must not be in the plan) and `errors`, checks the plan does not
//! depend on the order of the bookings nor a booking's result on the others decided before it
//! in a batch (rules are pure), and compares the whole result (windows in local time
//! and UTC, reasons with rule lines, conflicts, adjustments, errors) with the snapshot.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::pack::PackManifest;
use super::{Ctx, Decision, RuleRuntime};
use crate::model::{Booking, Window};
use crate::plan::{Plan, PlanInput, plan};
use crate::site::{
    Caps, HolidayPeriod, PublicHolidays, Room, RulesConfig, Safety, Site, SiteConfig,
};

/// One case file, parsed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub site: CaseSite,
    #[serde(default)]
    pub settings: BTreeMap<String, toml::Value>,
    pub now: DateTime<Utc>,
    pub bookings: Vec<Booking>,
    /// Target (as the plan names it) -> windows, `"2026-11-23 15:45 .. 2026-11-23 18:15"`.
    #[serde(default)]
    pub expect: BTreeMap<String, Vec<String>>,
    /// Ids of the bookings a rule is expected to fail on.
    #[serde(default)]
    pub errors: Vec<String>,
}

/// The small site of a case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseSite {
    #[serde(default = "copenhagen")]
    pub time_zone: Tz,
    #[serde(default = "two_days")]
    pub horizon_hours: u32,
    #[serde(default)]
    pub public_holidays: PublicHolidays,
    #[serde(default)]
    pub holiday_periods: Vec<HolidayPeriod>,
    #[serde(default)]
    pub caps: Caps,
    #[serde(default)]
    pub safety: Safety,
    #[serde(default = "yes")]
    pub write_holidays: bool,
    #[serde(default)]
    pub rooms: BTreeMap<String, Room>,
}

fn yes() -> bool {
    true
}

impl Default for CaseSite {
    fn default() -> Self {
        CaseSite {
            time_zone: copenhagen(),
            horizon_hours: two_days(),
            public_holidays: PublicHolidays::default(),
            holiday_periods: Vec::new(),
            caps: Caps::default(),
            safety: Safety::default(),
            write_holidays: true,
            rooms: BTreeMap::new(),
        }
    }
}

fn copenhagen() -> Tz {
    chrono_tz::Europe::Copenhagen
}
fn two_days() -> u32 {
    48
}

impl Case {
    /// The site config the case describes, with `settings` as the pack's overrides.
    pub fn site_config(&self, name: &str, pack: &str) -> Result<SiteConfig, String> {
        let mut rooms = self.site.rooms.clone();
        for (key, room) in rooms.iter_mut() {
            room.key = key.clone();
        }
        let mut settings = BTreeMap::new();
        if !self.settings.is_empty() {
            settings.insert(
                pack.to_owned(),
                self.settings
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            );
        }
        let config = SiteConfig {
            site: Site {
                name: name.to_owned(),
                id: None,
                time_zone: self.site.time_zone,
                horizon_hours: self.site.horizon_hours,
                public_holidays: self.site.public_holidays,
                holiday_periods: self.site.holiday_periods.clone(),
                caps: self.site.caps.clone(),
                safety: self.site.safety,
                write_holidays: self.site.write_holidays,
            },
            rules: RulesConfig {
                packs: Vec::new(),
                settings,
                ..RulesConfig::default()
            },
            sources: Vec::new(),
            rooms,
            controller: toml::Table::new(),
            mqtt: toml::Table::new(),
            web: toml::Table::new(),
            store: toml::Table::new(),
            daemon: toml::Table::new(),
            base_dir: PathBuf::new(),
        };
        config.validate()?;
        Ok(config)
    }
}

/// What running one pack's cases found.
#[derive(Debug, Clone)]
pub struct PackReport {
    pub pack: String,
    pub dir: PathBuf,
    pub cases: Vec<CaseReport>,
    /// A problem with the pack as a whole (no cases folder, no cases).
    pub problem: Option<String>,
}

impl PackReport {
    pub fn passed(&self) -> bool {
        self.problem.is_none() && self.cases.iter().all(CaseReport::passed)
    }
}

/// What running one case found.
#[derive(Debug, Clone)]
pub struct CaseReport {
    pub name: String,
    pub file: PathBuf,
    /// Failed expectations and errors, one line each (a line may continue indented).
    pub problems: Vec<String>,
    pub snapshot: SnapshotState,
    /// A line diff from the stored snapshot to the new result, when they differ.
    pub diff: Option<String>,
}

impl CaseReport {
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
            && matches!(
                self.snapshot,
                SnapshotState::Same | SnapshotState::Written | SnapshotState::LinesMoved
            )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotState {
    /// The result equals the stored snapshot.
    Same,
    /// There is no snapshot yet (accept to write one).
    Missing,
    /// The result differs from the stored snapshot (see the diff).
    Differs,
    /// The result equals the stored snapshot but for the rule lines it names (a comment or a
    /// blank line was added to a rule file): the case passes; `--accept` updates the lines.
    LinesMoved,
    /// The snapshot was written (accepted).
    Written,
    /// The case did not run far enough to compare.
    NotRun,
}

/// Runs every case of the pack in `dir` against `runtime` and compares with the snapshots.
/// Writes nothing.
pub fn run_pack_cases(dir: &Path, runtime: &Arc<dyn RuleRuntime>) -> PackReport {
    run(dir, runtime, false)
}

/// Runs every case and writes each new or changed snapshot of a case that meets its
/// expectations (`expect`, `errors`): a case that fails them keeps its snapshot.
pub fn accept(dir: &Path, runtime: &Arc<dyn RuleRuntime>) -> PackReport {
    run(dir, runtime, true)
}

fn run(dir: &Path, runtime: &Arc<dyn RuleRuntime>, accept: bool) -> PackReport {
    let pack = runtime.pack().name.clone();
    let mut report = PackReport {
        pack: pack.clone(),
        dir: dir.to_owned(),
        cases: Vec::new(),
        problem: None,
    };
    let cases_dir = PackManifest::read(dir)
        .map(|m| m.cases_dir(dir))
        .unwrap_or_else(|_| dir.join("cases"));
    let files = match case_files(&cases_dir) {
        Ok(files) if files.is_empty() => {
            report.problem = Some(format!("{}: no cases (*.yaml)", cases_dir.display()));
            return report;
        }
        Ok(files) => files,
        Err(e) => {
            report.problem = Some(format!("{}: cannot read: {e}", cases_dir.display()));
            return report;
        }
    };
    for file in files {
        report.cases.push(run_case(dir, &file, runtime, accept));
    }
    report
}

fn case_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// The snapshot file of a case.
pub fn snapshot_path(pack_dir: &Path, case_name: &str) -> PathBuf {
    pack_dir.join("snapshots").join(format!("{case_name}.snap"))
}

fn run_case(
    pack_dir: &Path,
    file: &Path,
    runtime: &Arc<dyn RuleRuntime>,
    accept: bool,
) -> CaseReport {
    let name = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut report = CaseReport {
        name: name.clone(),
        file: file.to_owned(),
        problems: Vec::new(),
        snapshot: SnapshotState::NotRun,
        diff: None,
    };
    let case = match read_case(file) {
        Ok(case) => case,
        Err(e) => {
            report.problems.push(e);
            return report;
        }
    };
    let setting_problems = super::settings::check_overrides(runtime.pack(), &case.settings);
    if !setting_problems.is_empty() {
        report.problems.extend(
            setting_problems
                .iter()
                .map(|p| format!("{}: settings: {p}", file.display())),
        );
        return report;
    }
    let site = match case.site_config(&name, &runtime.pack().name) {
        Ok(site) => site,
        Err(e) => {
            report
                .problems
                .push(format!("{}: the case's site: {e}", file.display()));
            return report;
        }
    };
    let tz = site.site.time_zone;
    let packs = [runtime.clone()];
    let result = plan(&PlanInput {
        bookings: &case.bookings,
        packs: &packs,
        site: &site,
        now: case.now,
    });

    // Rules are pure: the order bookings come in must not matter.
    let mut reversed = case.bookings.clone();
    reversed.reverse();
    let again = plan(&PlanInput {
        bookings: &reversed,
        packs: &packs,
        site: &site,
        now: case.now,
    });
    if again != result {
        report.problems.push(
            "the plan depends on the order of the bookings: rules must be pure (no state between calls)"
                .into(),
        );
    }

    // The planner decides in a fixed order, so the reversed plan cannot show state a rule
    // keeps between the calls of a batch (a Wasm guest's globals live as long as its
    // instance): each booking decided alone must give what it gave in the batch.
    if let Some(problem) = depends_on_the_batch(&case.bookings, runtime, &site) {
        report.problems.push(problem);
    }

    check_expect(&case, &result, tz, &mut report.problems);

    let text = render_snapshot(&name, &case, &result, tz);
    let path = snapshot_path(pack_dir, &name);
    let stored = std::fs::read_to_string(&path).ok();
    report.snapshot = match &stored {
        Some(old) if *old == text => SnapshotState::Same,
        Some(old) if without_rule_lines(old) == without_rule_lines(&text) => {
            report.diff = Some(line_diff(old, &text));
            SnapshotState::LinesMoved
        }
        Some(old) => {
            report.diff = Some(line_diff(old, &text));
            SnapshotState::Differs
        }
        None => {
            report.diff = Some(line_diff("", &text));
            SnapshotState::Missing
        }
    };
    // Accepting writes only what meets its expectations: a snapshot is a reviewed result, and
    // a case that fails is not one.
    if accept && report.snapshot != SnapshotState::Same && report.problems.is_empty() {
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, &text));
        match written {
            Ok(()) => report.snapshot = SnapshotState::Written,
            Err(e) => report
                .problems
                .push(format!("{}: cannot write: {e}", path.display())),
        }
    }
    report
}

/// Decides the case's bookings as one batch and each on its own; says which booking differs.
fn depends_on_the_batch(
    bookings: &[Booking],
    runtime: &Arc<dyn RuleRuntime>,
    site: &SiteConfig,
) -> Option<String> {
    let info = runtime.pack();
    let mut settings = info.settings.clone();
    if let Some(over) = site.rules.settings.get(&info.name) {
        settings.extend(over.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let mut chosen = Vec::new();
    for booking in bookings {
        let key = crate::model::room_key(&booking.source, &booking.resource);
        let Some(room) = site.rooms.get(&key) else {
            continue;
        };
        let uses_pack = room
            .packs
            .as_ref()
            .is_none_or(|names| names.contains(&info.name));
        if booking.validate().is_ok() && !booking.is_cancelled() && uses_pack {
            chosen.push((
                booking,
                room,
                Ctx::for_booking(booking, site, settings.clone()),
            ));
        }
    }
    let batch: Vec<Decision<'_>> = chosen
        .iter()
        .map(|(booking, room, ctx)| Decision { booking, room, ctx })
        .collect();
    let together = runtime.decide(&batch);
    batch.iter().zip(&together).find_map(|(d, in_batch)| {
        let alone = runtime.decide(std::slice::from_ref(d));
        (alone.first() != Some(in_batch)).then(|| {
            format!(
                "booking {} decided on its own gives another result than in a batch with the \
                 others: rules must be pure (no state between calls)",
                d.booking.id
            )
        })
    })
}

/// Reads and parses a case file; errors name the file, line and column.
pub fn read_case(file: &Path) -> Result<Case, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("{}: cannot read: {e}", file.display()))?;
    serde_yaml_ng::from_str(&text).map_err(|e| match e.location() {
        Some(l) => format!("{}:{}:{}: {e}", file.display(), l.line(), l.column()),
        None => format!("{}: {e}", file.display()),
    })
}

fn check_expect(case: &Case, plan: &Plan, tz: Tz, problems: &mut Vec<String>) {
    let actual: BTreeMap<String, Vec<Window>> = plan
        .entries
        .iter()
        .map(|e| {
            (
                e.target.to_string(),
                e.windows.iter().map(|w| w.window).collect(),
            )
        })
        .collect();
    for (target, written) in &case.expect {
        let mut expected = Vec::with_capacity(written.len());
        for w in written {
            match parse_window(w, tz) {
                Ok(w) => expected.push(w),
                Err(e) => problems.push(format!("expect {target:?}: {e}")),
            }
        }
        match actual.get(target) {
            None => problems.push(format!(
                "expected {target}: {}; the plan has no such target",
                show_windows(&expected, tz)
            )),
            Some(got) if *got != expected => problems.push(format!(
                "{target}: expected {}, the plan has {}",
                show_windows(&expected, tz),
                show_windows(got, tz)
            )),
            Some(_) => {}
        }
    }
    for (target, got) in &actual {
        if !case.expect.contains_key(target) {
            problems.push(format!(
                "the plan has {target}: {}, which the case does not expect",
                show_windows(got, tz)
            ));
        }
    }
    let failed: BTreeSet<&str> = plan.errors.iter().map(|e| e.booking.as_str()).collect();
    let expected: BTreeSet<&str> = case.errors.iter().map(String::as_str).collect();
    for e in &plan.errors {
        if !expected.contains(e.booking.as_str()) {
            problems.push(format!("unexpected rule error: {e}"));
        }
    }
    // A booking no room of the case is bound to, or one the planner rejects, is a mistake in
    // the case: it would pass without the rules ever seeing it.
    for b in &plan.unbound {
        problems.push(format!(
            "booking {}:{} is bound to no room of the case's site (rooms are keyed \"<source>:<resource>\")",
            b.source, b.id
        ));
    }
    for r in &plan.rejected {
        problems.push(format!(
            "booking {}:{} is rejected: {}",
            r.booking.source, r.booking.id, r.reason
        ));
    }
    for id in expected.difference(&failed) {
        problems.push(format!(
            "expected a rule error for booking {id}, but it was decided"
        ));
    }
}

/// Parses `"2026-11-23 15:45 .. 2026-11-23 18:15"`. Each end is a local time in the case's
/// zone, or carries its offset (`2026-10-25 02:30+01:00`) where the clock repeats an hour.
pub fn parse_window(text: &str, tz: Tz) -> Result<Window, String> {
    let (from, to) = text
        .split_once("..")
        .ok_or_else(|| format!("{text:?}: expected \"<from> .. <to>\""))?;
    let from = parse_instant(from.trim(), tz)?;
    let to = parse_instant(to.trim(), tz)?;
    Window::new(from, to).map_err(|e| format!("{text:?}: {e}"))
}

fn parse_instant(text: &str, tz: Tz) -> Result<DateTime<Utc>, String> {
    for format in [
        "%Y-%m-%d %H:%M%:z",
        "%Y-%m-%dT%H:%M%:z",
        "%Y-%m-%d %H:%M:%S%:z",
    ] {
        if let Ok(t) = DateTime::<FixedOffset>::parse_from_str(text, format) {
            return Ok(t.with_timezone(&Utc));
        }
    }
    if let Some(utc) = text.strip_suffix('Z')
        && let Ok(t) = NaiveDateTime::parse_from_str(utc, "%Y-%m-%dT%H:%M:%S")
    {
        return Ok(t.and_utc());
    }
    for format in ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(local) = NaiveDateTime::parse_from_str(text, format) {
            return match tz.from_local_datetime(&local) {
                chrono::LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
                chrono::LocalResult::Ambiguous(a, b) => Err(format!(
                    "{text}: the clock shows this twice in {tz} (DST ends); write {} or {}",
                    a.format("%Y-%m-%d %H:%M%:z"),
                    b.format("%Y-%m-%d %H:%M%:z")
                )),
                chrono::LocalResult::None => Err(format!(
                    "{text}: this local time does not exist in {tz} (DST begins)"
                )),
            };
        }
    }
    Err(format!(
        "{text:?}: expected a local time like 2026-11-23 15:45 (or with an offset, 2026-10-25 02:30+01:00)"
    ))
}

/// A local instant as the cases and snapshots write it; with its offset only where the local
/// time alone would be ambiguous.
pub fn show_instant(t: DateTime<Utc>, tz: Tz) -> String {
    let local = t.with_timezone(&tz);
    let naive = local.naive_local();
    match tz.from_local_datetime(&naive) {
        chrono::LocalResult::Single(_) => local.format("%Y-%m-%d %H:%M").to_string(),
        _ => local.format("%Y-%m-%d %H:%M%:z").to_string(),
    }
}

fn show_window(w: &Window, tz: Tz) -> String {
    format!("{} .. {}", show_instant(w.from, tz), show_instant(w.to, tz))
}

fn show_windows(ws: &[Window], tz: Tz) -> String {
    let parts: Vec<String> = ws.iter().map(|w| show_window(w, tz)).collect();
    format!("[{}]", parts.join(", "))
}

fn show_utc(w: &Window) -> String {
    format!(
        "{} .. {}",
        w.from.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        w.to.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    )
}

/// The snapshot of a case's result: everything a reviewer needs, nothing that changes
/// without a reason (no pack version, no absolute paths).
#[derive(Serialize)]
struct Snapshot {
    case: String,
    description: String,
    now: String,
    entries: Vec<SnapEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    conflicts: Vec<SnapConflict>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    adjustments: Vec<SnapAdjustment>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    rejected: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    unbound: Vec<String>,
}

#[derive(Serialize)]
struct SnapEntry {
    target: String,
    windows: Vec<SnapWindow>,
}

#[derive(Serialize)]
struct SnapWindow {
    local: String,
    utc: String,
    reasons: Vec<String>,
}

#[derive(Serialize)]
struct SnapConflict {
    target: String,
    window: String,
    resolution: String,
    winners: Vec<String>,
    losers: Vec<String>,
}

#[derive(Serialize)]
struct SnapAdjustment {
    target: String,
    booking: String,
    kind: String,
    before: String,
    after: String,
}

fn render_snapshot(name: &str, case: &Case, plan: &Plan, tz: Tz) -> String {
    let booking = |b: &crate::plan::BookingRef| format!("{}:{} ({})", b.source, b.id, b.title);
    let snapshot = Snapshot {
        case: name.to_owned(),
        description: case.description.trim().to_owned(),
        now: format!(
            "{} ({})",
            show_instant(plan.at, tz),
            plan.at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        ),
        entries: plan
            .entries
            .iter()
            .map(|e| SnapEntry {
                target: e.target.to_string(),
                windows: e
                    .windows
                    .iter()
                    .map(|w| SnapWindow {
                        local: show_window(&w.window, tz),
                        utc: show_utc(&w.window),
                        reasons: w
                            .reasons
                            .iter()
                            .map(|r| {
                                format!(
                                    "{}:{} ({}) at {}:{}",
                                    r.source, r.booking, r.title, r.rule.file, r.rule.line
                                )
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
        conflicts: plan
            .conflicts
            .iter()
            .map(|c| SnapConflict {
                target: c.target.to_string(),
                window: show_window(&c.window, tz),
                resolution: c.resolution.clone(),
                winners: c.winners.iter().map(booking).collect(),
                losers: c.losers.iter().map(booking).collect(),
            })
            .collect(),
        adjustments: plan
            .adjustments
            .iter()
            .map(|a| SnapAdjustment {
                target: a.target.to_string(),
                booking: booking(&a.booking),
                kind: format!("{:?}", a.kind),
                before: show_window(&a.before, tz),
                after: a
                    .after
                    .map_or_else(|| "(nothing left)".to_owned(), |w| show_window(&w, tz)),
            })
            .collect(),
        errors: plan
            .errors
            .iter()
            .map(|e| {
                let at = e
                    .location
                    .as_ref()
                    .map(|l| format!(" at {}:{}", l.file, l.line))
                    .unwrap_or_default();
                format!("{}: {}: {}{at}", e.booking, e.kind, e.message)
            })
            .collect(),
        rejected: plan
            .rejected
            .iter()
            .map(|r| format!("{}: {}", booking(&r.booking), r.reason))
            .collect(),
        unbound: plan.unbound.iter().map(booking).collect(),
    };
    serde_yaml_ng::to_string(&snapshot).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
}

/// A snapshot with the line numbers of rule locations (`rules/doors.rhai:12`, `margins.wasm:0`)
/// masked: a rule that only moved to another line gives the same text.
pub fn without_rule_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = [".rhai:", ".wasm:"]
        .iter()
        .filter_map(|ext| rest.find(ext).map(|i| i + ext.len()))
        .min()
    {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 {
            out.push('#');
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

/// A readable line diff: `-` the stored snapshot, `+` the new result, with context.
pub fn line_diff(old: &str, new: &str) -> String {
    let diff = similar::TextDiff::from_lines(old, new);
    let mut out = String::new();
    for group in diff.grouped_ops(2) {
        out.push_str("@@\n");
        for op in group {
            for change in diff.iter_changes(&op) {
                let sign = match change.tag() {
                    similar::ChangeTag::Delete => '-',
                    similar::ChangeTag::Insert => '+',
                    similar::ChangeTag::Equal => ' ',
                };
                out.push(sign);
                out.push_str(change.value());
                if change.missing_newline() {
                    out.push('\n');
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse_in_local_time_and_refuse_ambiguity() {
        let tz = chrono_tz::Europe::Copenhagen;
        let w = parse_window("2026-11-23 15:45 .. 2026-11-23 18:15", tz).unwrap();
        assert_eq!(w.from.to_rfc3339(), "2026-11-23T14:45:00+00:00");
        let e = parse_window("2026-10-25 02:30 .. 2026-10-25 04:00", tz).unwrap_err();
        assert!(e.contains("02:30+02:00"), "{e}");
        let w = parse_window("2026-10-25 02:30+01:00 .. 2026-10-25 04:00", tz).unwrap();
        assert_eq!(w.from.to_rfc3339(), "2026-10-25T01:30:00+00:00");
        assert!(parse_window("2027-03-28 02:30 .. 2027-03-28 04:00", tz).is_err());
        assert_eq!(show_instant(w.from, tz), "2026-10-25 02:30+01:00");
        assert_eq!(show_instant(w.to, tz), "2026-10-25 04:00");
    }

    /// Every shipped Rhai pack passes its cases. `KLAR_ACCEPT=1` writes the snapshots, as
    /// `klar rules test --accept` does.
    #[test]
    fn shipped_packs_pass_their_cases() {
        let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules");
        let accepting = std::env::var("KLAR_ACCEPT").is_ok_and(|v| v == "1");
        let mut failures = Vec::new();
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&rules)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("pack.toml").is_file())
            .collect();
        dirs.sort();
        for dir in dirs {
            let manifest = PackManifest::read(&dir).unwrap();
            if manifest.runtime != crate::rules::RuntimeKind::Rhai {
                continue;
            }
            let options = crate::rules::pack::LoadOptions {
                deterministic: true,
            };
            let runtime =
                crate::rules::pack::load(&dir, &options).unwrap_or_else(|e| panic!("{e}"));
            let report = if accepting {
                accept(&dir, &runtime)
            } else {
                run_pack_cases(&dir, &runtime)
            };
            assert!(!report.cases.is_empty() || report.problem.is_some());
            if let Some(p) = &report.problem {
                failures.push(format!("{}: {p}", report.pack));
            }
            for case in report.cases.iter().filter(|c| !c.passed()) {
                failures.push(format!(
                    "{}/{}: {}\n{}",
                    report.pack,
                    case.name,
                    case.problems.join("\n"),
                    case.diff.clone().unwrap_or_default()
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    }

    #[test]
    fn rule_lines_are_masked_for_the_comparison() {
        let a =
            "reasons:\n- halls:W-1 (Håndbold) at rules/doors.rhai:12\n- 'x: y at margins.wasm:0'\n";
        let b =
            "reasons:\n- halls:W-1 (Håndbold) at rules/doors.rhai:13\n- 'x: y at margins.wasm:0'\n";
        assert_eq!(without_rule_lines(a), without_rule_lines(b));
        assert!(without_rule_lines(a).contains("rules/doors.rhai:#\n"));
        assert_ne!(
            without_rule_lines(a),
            without_rule_lines(&a.replace("doors.rhai", "alarm.rhai"))
        );
    }

    #[test]
    fn the_diff_marks_changed_lines() {
        let d = line_diff("a\nb\nc\n", "a\nB\nc\n");
        assert!(d.contains("-b\n") && d.contains("+B\n"), "{d}");
    }
}
