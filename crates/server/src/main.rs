//! The `spanlens` binary: `serve`, `analyze`, `query`.
fn main() {}
