//! `spanlens query` (stub until the TraceQL evaluator exists).
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct QueryArgs {
    /// The TraceQL query.
    pub query: String,
    /// Trace files (`-` reads standard input).
    #[arg(required = true)]
    pub files: Vec<String>,
}

pub fn run(_args: QueryArgs) -> ExitCode {
    ExitCode::from(2)
}
