//! The Wasm component runtime: wasmtime with epoch deadlines, memory caps and one instance per pack and batch.
