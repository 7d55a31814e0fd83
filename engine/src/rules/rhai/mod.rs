//! The Rhai runtime: a locked-down engine, scripts compiled once, effects built only through registered constructors.
