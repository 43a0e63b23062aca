//! Server configuration (stub).

/// Options of `spanlens serve`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ServeArgs {}
