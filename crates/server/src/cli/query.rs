//! `spanlens query 'TRACEQL' FILE... [--format text|json] [--limit N] [--spss N]`: runs a
//! TraceQL search over trace files and prints the matching traces and spans.
//!
//! `text` is for people (one line per trace, one indented line per listed span); `json` is the
//! body Tempo's `/api/search` would return (`{"traces":[...],"metrics":{...}}`). A query that
//! does not parse, or an unreadable file, exits 2 with one line on stderr naming the position
//! or the file. Evaluation lives in `spanlens_core::query`; nothing here but I/O and printing.

use super::input::read_files;
use spanlens_core::query::{self, format_duration_nanos, SearchOptions, SearchResult};
use std::io::Write;
use std::process::ExitCode;

/// Output formats.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct QueryArgs {
    /// The TraceQL query, e.g. '{ status = error } | count() > 1'.
    pub query: String,
    /// Trace files (`-` reads standard input).
    #[arg(required = true)]
    pub files: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
    /// Most traces printed (0 = all).
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Most spans listed per spanset (0 = all).
    #[arg(long, default_value_t = 3)]
    pub spss: usize,
}

pub fn run(args: QueryArgs) -> ExitCode {
    let parsed = match query::parse_search(&args.query) {
        Ok(q) => q,
        Err(e) => {
            eprintln!("spanlens query: invalid TraceQL query: {e}");
            return ExitCode::from(2);
        }
    };
    let set = match read_files(&args.files, None) {
        Ok(set) => set,
        Err(e) => {
            eprintln!("spanlens query: {e}");
            return ExitCode::from(2);
        }
    };
    let result = query::search(
        &set,
        &parsed,
        SearchOptions {
            limit: args.limit,
            spans_per_spanset: args.spss,
        },
    );
    let out = match args.format {
        OutputFormat::Json => match serde_json::to_string_pretty(&result.to_tempo()) {
            Ok(s) => s + "\n",
            Err(e) => {
                eprintln!("spanlens query: {e}");
                return ExitCode::from(2);
            }
        },
        OutputFormat::Text => render_text(&result),
    };
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth reporting.
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
    ExitCode::SUCCESS
}

/// The readable report.
fn render_text(result: &SearchResult) -> String {
    let mut out = String::new();
    let total_spans: u32 = result
        .traces
        .iter()
        .flat_map(|t| t.spansets.iter().map(|s| s.matched))
        .sum();
    out.push_str(&format!(
        "{} matching trace(s) of {} inspected, {} matching span(s)\n",
        result.traces.len(),
        result.inspected_traces,
        total_spans
    ));
    for t in &result.traces {
        let root = match (&t.root_service_name, &t.root_trace_name) {
            (Some(service), Some(name)) => format!("{service}: {name}"),
            _ => query::NO_ROOT_SERVICE.to_string(),
        };
        let matched: u32 = t.spansets.iter().map(|s| s.matched).sum();
        out.push_str(&format!(
            "\ntrace {}  {}  start {}  duration {}  matched {}\n",
            t.trace_id,
            root,
            t.start_unix_nanos,
            format_duration_nanos(t.duration_nanos),
            matched
        ));
        for (k, ss) in t.spansets.iter().enumerate() {
            if t.spansets.len() > 1 || !ss.attributes.is_empty() {
                let attrs: Vec<String> = ss
                    .attributes
                    .iter()
                    .map(|a| format!("{}={}", a.key, a.value.text()))
                    .collect();
                out.push_str(&format!(
                    "  spanset {} ({} matched){}{}\n",
                    k + 1,
                    ss.matched,
                    if attrs.is_empty() { "" } else { "  " },
                    attrs.join("  ")
                ));
            }
            for s in &ss.spans {
                let attrs: Vec<String> = s
                    .attributes
                    .iter()
                    .map(|a| format!("{}={}", a.key, a.value.text()))
                    .collect();
                out.push_str(&format!(
                    "    span {}  {} {:?}  {}{}{}\n",
                    s.span_id,
                    s.service_name,
                    s.span_name,
                    format_duration_nanos(s.duration_nanos),
                    if attrs.is_empty() { "" } else { "  " },
                    attrs.join("  ")
                ));
            }
            let hidden = ss.matched as usize - ss.spans.len().min(ss.matched as usize);
            if hidden > 0 {
                out.push_str(&format!("    ... {hidden} more span(s) (raise --spss)\n"));
            }
        }
    }
    out
}
