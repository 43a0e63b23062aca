//! The `spanlens` binary: `serve` (ingest + store + Tempo API + SPA), `analyze` and `query`
//! (command-line analysis of trace files, for CI pipelines).

use std::process::ExitCode;

mod cli;

fn main() -> ExitCode {
    cli::run()
}
