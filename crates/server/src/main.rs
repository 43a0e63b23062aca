//! The `spanlens` binary: `serve` (ingest + store + Tempo API + SPA), `analyze` and `query`
//! (command-line analysis of trace files, for CI pipelines).

use std::process::ExitCode;

mod cli;

/// mimalloc for the whole binary: ingest allocates and frees many small buffers per request
/// from several threads, where it is markedly cheaper than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cli::run()
}
