//! Command-line parsing and dispatch. Each subcommand lives in its own module; exit codes:
//! 0 success, 1 a `--fail-under` gate failed, 2 unreadable input or bad arguments.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod analyze;
mod input;
mod query;

/// spanlens: a trace viewer and analyzer. Receives OTLP, stores traces, answers the Tempo HTTP
/// API, serves the web app, and analyses trace files on the command line.
#[derive(Parser, Debug)]
#[command(name = "spanlens", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server: OTLP ingest (HTTP :4318, gRPC :4317), the Tempo-compatible query API and
    /// the web app (:3200), with an embedded durable store.
    Serve(Box<spanlens_server::config::ServeArgs>),
    /// Read trace files (any supported format, `-` for stdin) and report on each trace.
    Analyze(analyze::AnalyzeArgs),
    /// Run a TraceQL query over trace files and print the matching traces and spans.
    Query(query::QueryArgs),
}

/// Parses the command line and runs the subcommand.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => match spanlens_server::serve(*args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("spanlens serve: {error:#}");
                ExitCode::from(2)
            }
        },
        Command::Analyze(args) => analyze::run(args),
        Command::Query(args) => query::run(args),
    }
}
