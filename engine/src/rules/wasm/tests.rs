//! Unit tests of the Wasm runtime.
