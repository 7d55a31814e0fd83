//! Rule packs on disk: `pack.toml`, loading a pack into its runtime.
