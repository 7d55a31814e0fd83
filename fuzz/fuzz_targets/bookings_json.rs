//! Fuzz target: klar_fuzz::bookings_json (see fuzz/src/lib.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| klar_fuzz::bookings_json(data));
