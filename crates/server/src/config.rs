//! Server configuration: `spanlens serve` flags, `SPANLENS_*` environment variables and an
//! optional TOML file, resolved into one [`Config`]. (Skeleton: to be completed.)

use std::path::PathBuf;

/// Options of `spanlens serve`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ServeArgs {
    /// Directory of the embedded store.
    #[arg(long, env = "SPANLENS_DATA_DIR", default_value = "./spanlens-data")]
    pub data_dir: PathBuf,
}

/// Resolved configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub data_dir: PathBuf,
    /// Multi-tenancy: queries need `X-Scope-OrgID`.
    pub multitenant: bool,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Per-trace size cap, in bytes.
    pub max_trace_bytes: u64,
    /// Built SPA directory, when serving it.
    pub dist_dir: Option<PathBuf>,
}
