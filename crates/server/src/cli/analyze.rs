//! `spanlens analyze` (stub until the analyze command is written).
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct AnalyzeArgs {
    /// Trace files (`-` reads standard input).
    #[arg(required = true)]
    pub files: Vec<String>,
}

pub fn run(_args: AnalyzeArgs) -> ExitCode {
    ExitCode::from(2)
}
