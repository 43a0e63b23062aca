//! `spanlens analyze FILE... [--format text|json] [--input-format FORMAT]`: reads trace files
//! (any supported format, detected from the content unless `--input-format` says; `-` is
//! standard input) into one set and reports on every trace: id, span count, services, root
//! service and span name, start, duration and error count, then the read diagnostics.
//!
//! `--format json` prints exactly one JSON object built by [`analysis_report`]:
//! `{"traces": [{"trace_id", "span_count", "services", "root_service", "root_name",
//! "start_unix_nano", "duration_nanos", "error_count"}], "diagnostics": {...}}`. Times are
//! integer nanoseconds (JSON integers, exact). `--format text` prints a table for people.
//!
//! An unreadable file (missing, not a trace, rejected by the forced format) exits 2 with one line
//! on stderr naming the file and the reason. The figures themselves come from the core crate;
//! nothing here but reading, shaping and printing.

use super::input::read_files;
use serde_json::{json, Map, Value};
use spanlens_core::formats::Format;
use spanlens_core::model::{Trace, TraceSet};
use spanlens_core::query::format_duration_nanos;
use std::io::Write;
use std::process::ExitCode;

/// Output formats.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    /// A readable table.
    Text,
    /// One JSON object.
    Json,
}

#[derive(clap::Args, Debug)]
pub struct AnalyzeArgs {
    /// Trace files (`-` reads standard input).
    #[arg(required = true)]
    pub files: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReportFormat,
    /// Read every file as this format instead of detecting it: otlp_json, otlp_proto,
    /// jaeger_json or zipkin_json.
    #[arg(long, value_parser = parse_input_format)]
    pub input_format: Option<Format>,
}

fn parse_input_format(s: &str) -> Result<Format, String> {
    Format::parse(s).ok_or_else(|| {
        format!("unknown input format {s:?}; expected otlp_json, otlp_proto, jaeger_json or zipkin_json")
    })
}

pub fn run(args: AnalyzeArgs) -> ExitCode {
    let set = match read_files(&args.files, args.input_format) {
        Ok(set) => set,
        Err(e) => {
            eprintln!("spanlens analyze: {}", one_line(&e));
            return ExitCode::from(2);
        }
    };
    let out = match args.format {
        ReportFormat::Json => match serde_json::to_string_pretty(&Value::Object(analysis_report(&set))) {
            Ok(s) => s + "\n",
            Err(e) => {
                eprintln!("spanlens analyze: {e}");
                return ExitCode::from(2);
            }
        },
        ReportFormat::Text => render_text(&set),
    };
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth reporting.
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
    ExitCode::SUCCESS
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The figures of one trace, shared by both outputs.
struct TraceFacts<'a> {
    trace: &'a Trace,
    services: Vec<&'a str>,
    root_service: Option<&'a str>,
    root_name: Option<&'a str>,
}

fn facts<'a>(set: &'a TraceSet, trace: &'a Trace) -> TraceFacts<'a> {
    let root = set.root_of(trace).and_then(|i| set.span(i));
    TraceFacts {
        trace,
        services: set.services_of(trace),
        root_service: root.map(|s| set.service_name(s)),
        root_name: root.map(|s| set.name(s)),
    }
}

/// The `--format json` report. A map, so that more sections can be inserted next to `traces`
/// and `diagnostics`.
pub fn analysis_report(set: &TraceSet) -> Map<String, Value> {
    let traces: Vec<Value> = set
        .traces()
        .iter()
        .map(|t| {
            let f = facts(set, t);
            json!({
                "trace_id": t.trace_id.to_hex(),
                "span_count": t.spans.len,
                "services": f.services,
                "root_service": f.root_service,
                "root_name": f.root_name,
                "start_unix_nano": t.start_unix_nanos,
                "duration_nanos": t.duration_nanos(),
                "error_count": t.error_count,
            })
        })
        .collect();
    let mut report = Map::new();
    report.insert("traces".to_string(), Value::Array(traces));
    report.insert(
        "diagnostics".to_string(),
        serde_json::to_value(&set.diagnostics).unwrap_or(Value::Null),
    );
    report
}

/// The `--format text` report: a summary line, a table with one row per trace, then the
/// diagnostics.
pub fn render_text(set: &TraceSet) -> String {
    let mut out = String::new();
    let traces = set.traces();
    out.push_str(&format!(
        "{} trace(s), {} span(s)\n",
        traces.len(),
        set.span_count()
    ));
    if !traces.is_empty() {
        let header = [
            "TRACE ID",
            "SPANS",
            "ERRORS",
            "DURATION",
            "START (UTC)",
            "ROOT",
            "SERVICES",
        ];
        let rows: Vec<[String; 7]> = traces
            .iter()
            .map(|t| {
                let f = facts(set, t);
                let root = match (f.root_service, f.root_name) {
                    (Some(service), Some(name)) => format!("{service}: {name}"),
                    _ => "-".to_string(),
                };
                [
                    t.trace_id.to_hex(),
                    t.spans.len.to_string(),
                    t.error_count.to_string(),
                    format_duration_nanos(t.duration_nanos()),
                    format_utc(f.trace.start_unix_nanos),
                    root,
                    f.services.join(", "),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let numeric = [false, true, true, true, false, false, false];
        let mut line = |cells: &[String]| {
            let mut text = String::new();
            for (i, cell) in cells.iter().enumerate() {
                let w = widths.get(i).copied().unwrap_or(0);
                let pad = w.saturating_sub(cell.chars().count());
                if i > 0 {
                    text.push_str("  ");
                }
                if numeric.get(i).copied().unwrap_or(false) {
                    text.push_str(&" ".repeat(pad));
                    text.push_str(cell);
                } else if i + 1 == cells.len() {
                    text.push_str(cell);
                } else {
                    text.push_str(cell);
                    text.push_str(&" ".repeat(pad));
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(&header.map(str::to_string));
        for row in &rows {
            line(row);
        }
    }
    let d = &set.diagnostics;
    out.push_str(&format!("\ndiagnostics: {}\n", d.summary()));
    for source in &d.sources {
        out.push_str(&format!("  read {source}\n"));
    }
    for e in &d.examples {
        let kind = serde_json::to_value(e.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let mut place = String::new();
        if let Some(source) = &e.source {
            place.push_str(source);
            place.push(' ');
        }
        place.push_str(&e.location);
        if let Some(span) = &e.span_id {
            place.push_str(&format!(" span {span}"));
        }
        if let Some(field) = &e.field {
            place.push_str(&format!(" field {field}"));
        }
        out.push_str(&format!("  {kind}: {place}: {}\n", e.message));
    }
    out
}

/// `2024-05-01T12:34:56.789012345Z` from nanoseconds since the Unix epoch (integer math only).
pub fn format_utc(nanos: u64) -> String {
    let secs = nanos / 1_000_000_000;
    let frac = nanos % 1_000_000_000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:09}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Gregorian (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01 so leap days fall at the end of a year.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use spanlens_core::formats;

    const ZIPKIN: &str = r#"[
      {"traceId":"1","id":"1","name":"get","kind":"SERVER","timestamp":1700000000000000,"duration":2000,
       "localEndpoint":{"serviceName":"front"}},
      {"traceId":"1","id":"2","parentId":"1","name":"query","kind":"CLIENT","timestamp":1700000000000500,
       "duration":1000,"localEndpoint":{"serviceName":"front"},"tags":{"error":"timeout"}},
      {"traceId":"1","id":"3","parentId":"2","name":"select","kind":"SERVER","timestamp":1700000000000600,
       "duration":800,"localEndpoint":{"serviceName":"db"}}
    ]"#;

    #[test]
    fn json_report_has_the_documented_keys() {
        let set = formats::read(ZIPKIN.as_bytes(), None).unwrap();
        let report = analysis_report(&set);
        let t = &report["traces"][0];
        assert_eq!(t["trace_id"], "00000000000000000000000000000001");
        assert_eq!(t["span_count"], 3);
        assert_eq!(t["services"], json!(["db", "front"]));
        assert_eq!(t["root_service"], "front");
        assert_eq!(t["root_name"], "get");
        assert_eq!(t["start_unix_nano"], 1_700_000_000_000_000_000u64);
        assert_eq!(t["duration_nanos"], 2_000_000);
        assert_eq!(t["error_count"], 1);
        assert_eq!(report["diagnostics"]["spans_read"], 3);
    }

    #[test]
    fn text_report_is_a_table() {
        let set = formats::read(ZIPKIN.as_bytes(), None).unwrap();
        let text = render_text(&set);
        assert!(text.starts_with("1 trace(s), 3 span(s)\n"), "{text}");
        assert!(text.contains("TRACE ID"), "{text}");
        assert!(text.contains("front: get"), "{text}");
        assert!(text.contains("2023-11-14T22:13:20.000000000Z"), "{text}");
        assert!(text.contains("db, front"), "{text}");
    }

    #[test]
    fn utc_dates() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            format_utc(951_782_400_000_000_001),
            "2000-02-29T00:00:00.000000001Z"
        );
        assert_eq!(
            format_utc(1_795_247_280_391_194_703),
            "2026-11-21T07:48:00.391194703Z"
        );
    }
}
