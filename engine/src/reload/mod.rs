//! Hot reload of rule packs and site config: watch, debounce, compile, test, swap.
