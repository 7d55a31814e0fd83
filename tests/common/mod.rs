//! The shared harness of the end-to-end tests: the klar binary, scratch folders, free ports.
//! Each area adds its own helpers in a file of its own beside this one.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// The `klar` binary cargo built for these tests.
pub fn klar() -> Command {
    Command::new(env!("CARGO_BIN_EXE_klar"))
}

/// The repository root (for `rules/`, `examples/`).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind loopback")
        .local_addr()
        .expect("local addr")
        .port()
}
