//! Helpers for the rule and plan tests: copies of packs in scratch folders, small packs written
//! on the spot, and running the binary with its output as text.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// What a run of the binary gave.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the command to its end.
pub fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().expect("the klar binary runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Copies a folder tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy's folder");
    for entry in std::fs::read_dir(from).expect("read the folder") {
        let entry = entry.expect("a folder entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
}

/// Writes files (path relative to `dir`, text) into `dir`, creating folders.
pub fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().expect("a file has a folder"))
            .expect("create folder");
        std::fs::write(&path, text).expect("write a file");
    }
}

/// A one-room case with one booking on Monday 2026-11-23, 16:00-18:00 local.
pub const ONE_BOOKING_CASE: &str = r#"
description: One booking.
site:
  rooms:
    "halls:7": {name: Hal 1, doors: [D-HAL]}
now: 2026-11-23T07:00:00+01:00
bookings:
  - {id: W-1, source: halls, resource: "7", title: Håndbold, start: 2026-11-23T16:00:00+01:00, end: 2026-11-23T18:00:00+01:00}
expect:
  "door D-HAL unlocked": ["2026-11-23 16:00 .. 2026-11-23 18:00"]
"#;

/// A pack manifest for a Rhai pack called `name`.
pub fn manifest(name: &str) -> String {
    format!("name = \"{name}\"\nversion = \"0.1.0\"\nruntime = \"rhai\"\n")
}
