//! Fuzz target: klar_fuzz::ics (see fuzz/src/lib.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| klar_fuzz::ics(data));
