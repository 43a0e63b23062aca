//! `spanlens analyze FILE... [--format text|json] [--input-format FORMAT] [--rules FILE]
//! [--fail-under GRADE [--scope operation|service|trace]]`: reads trace files (any supported
//! format, detected from the content unless `--input-format` says; `-` is standard input) into
//! one set, runs the core's [`analyze_set`] over it (with the built-in rules, or `--rules`) and
//! reports grades, bottlenecks, services, the service graph, error clusters and every trace.
//!
//! `--format json` prints exactly one JSON object built by [`analysis_report`]:
//! - `traces`: `[{"trace_id", "span_count", "services", "root_service", "root_name",
//!   "start_unix_nano", "duration_nanos", "error_count", "grade", "worst_critical_path_grade",
//!   "critical_path"}]` in set order. `grade` is the root's duration graded with its operation's
//!   category, `worst_critical_path_grade` the worst grade on the critical path (both `null`
//!   without a root). `critical_path` is the core's critical path of the root, in time order:
//!   `[{"span_id", "service", "name", "start_unix_nano", "end_unix_nano", "duration_ms"}]`, one
//!   item per segment (a span can appear in several segments around its children); the
//!   segments' durations sum to the root's duration; `[]` without a root.
//! - `service_graph`: `{"nodes": [{"name", "virtual_node", "spans", "errors"}], "edges":
//!   [{"client", "server", "connection_type", "requests", "failed", "client_p95_ms",
//!   "server_p95_ms"}]}`, sorted by name. `connection_type` is `plain` (Tempo's empty label),
//!   `messaging_system`, `database` or `virtual_node`; a side without samples (database, virtual
//!   nodes) has p95 0 (`-` in text).
//! - `operations`: `[{"service", "name", "kind", "category", "calls", "errors", "p50_ms",
//!   "p95_ms", "p99_ms", "grade"}]` sorted by (service, name). `kind` is Tempo's span-kind label
//!   (`SPAN_KIND_SERVER`, …) of the operation's spans, the kind with the most calls in the core's
//!   span-metrics groups (ties: the first label in alphabetical order); `grade` grades the p95.
//! - `services`: `[{"name", "grade", "calls", "errors"}]` sorted by name.
//! - `bottlenecks`: `[{"service", "name", "category", "p95_ms", "target_ms", "impact",
//!   "severity", "recommendations"}]`, highest impact first; `recommendations` are the core's
//!   (`kind`, `message`, related operation and example ids).
//! - `error_clusters`: the core's clusters (service, span name, reason, count, examples…).
//! - `diagnostics`: the read diagnostics.
//!
//! Grades are the letters `A`…`F`. Durations suffixed `_ms` are floats (integer nanoseconds /
//! 1e6); `_nano`/`_nanos` ones are integer nanoseconds (JSON integers, exact).
//!
//! `--format text` prints, for people: the operation grades table and the bottlenecks first,
//! then services, service-graph edges, error clusters, the table of traces and the diagnostics.
//!
//! `--fail-under GRADE` makes the run a gate: once the report is printed, every operation
//! (`--scope operation`, the default), service or trace (its `grade`; traces without a root are
//! skipped) graded worse than GRADE is named on stderr, one line each, and the exit code is 1.
//!
//! `--rules FILE` replaces the built-in categories and thresholds: JSON when the file name ends
//! in `.json` or its first non-blank character is `{`, else TOML.
//!
//! Exit 2, with one line on stderr: an unreadable trace file (missing, not a trace, rejected by
//! the forced format) naming the file and the reason; an unreadable or invalid rules file with
//! the core's line/column message; a bad argument (an unknown grade letter…). The figures all
//! come from the core crate; nothing here but reading, shaping and printing.

use super::input::read_files;
use serde_json::{json, Map, Value};
use spanlens_core::analysis::{
    analyze_set, critical_path, ConnectionType, DurationSummary, Grade, Rules, SetAnalysis, TraceSummary,
};
use spanlens_core::formats::Format;
use spanlens_core::model::{Trace, TraceSet};
use spanlens_core::query::format_duration_nanos;
use std::collections::BTreeMap;
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

/// What `--fail-under` checks.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every operation (service + span name).
    Operation,
    /// Every service.
    Service,
    /// Every trace (the grade of its root).
    Trace,
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
    /// Exit 1 when anything in `--scope` grades worse than this letter (A, B, C, D or F).
    #[arg(long, value_parser = parse_grade)]
    pub fail_under: Option<Grade>,
    /// What `--fail-under` checks.
    #[arg(long, value_enum, default_value = "operation")]
    pub scope: Scope,
    /// A rules file (TOML, or JSON) with custom categories and thresholds.
    #[arg(long)]
    pub rules: Option<String>,
}

fn parse_input_format(s: &str) -> Result<Format, String> {
    Format::parse(s).ok_or_else(|| {
        format!("unknown input format {s:?}; expected otlp_json, otlp_proto, jaeger_json or zipkin_json")
    })
}

/// A grade letter, either case.
fn parse_grade(s: &str) -> Result<Grade, String> {
    match s.trim().to_ascii_uppercase().as_str() {
        "A" => Ok(Grade::A),
        "B" => Ok(Grade::B),
        "C" => Ok(Grade::C),
        "D" => Ok(Grade::D),
        "F" => Ok(Grade::F),
        _ => Err(format!("unknown grade {s:?}; expected A, B, C, D or F")),
    }
}

/// Reads a rules file: JSON by extension or content, else TOML. The error is one line.
fn load_rules(path: &str) -> Result<Rules, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("rules file {path}: {e}"))?;
    let json = path.to_ascii_lowercase().ends_with(".json") || text.trim_start().starts_with('{');
    let parsed = if json {
        Rules::from_json_str(&text)
    } else {
        Rules::from_toml_str(&text)
    };
    parsed.map_err(|e| format!("{path}: {e}"))
}

pub fn run(args: AnalyzeArgs) -> ExitCode {
    let rules = match args.rules.as_deref().map(load_rules) {
        None => Rules::builtin(),
        Some(Ok(rules)) => rules,
        Some(Err(e)) => {
            eprintln!("spanlens analyze: {}", one_line(&e));
            return ExitCode::from(2);
        }
    };
    let set = match read_files(&args.files, args.input_format) {
        Ok(set) => set,
        Err(e) => {
            eprintln!("spanlens analyze: {}", one_line(&e));
            return ExitCode::from(2);
        }
    };
    let analysis = analyze_set(&set, &rules);
    let out = match args.format {
        ReportFormat::Json => {
            match serde_json::to_string_pretty(&Value::Object(analysis_report(&set, &analysis))) {
                Ok(s) => s + "\n",
                Err(e) => {
                    eprintln!("spanlens analyze: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        ReportFormat::Text => render_text(&set, &analysis),
    };
    {
        let mut stdout = std::io::stdout().lock();
        // A closed pipe (`| head`) is not an error worth reporting.
        let _ = stdout.write_all(out.as_bytes());
        let _ = stdout.flush();
    }
    match args.fail_under {
        Some(threshold) => {
            let failures = failures(&analysis, args.scope, threshold);
            for f in &failures {
                eprintln!("spanlens analyze: {f}");
            }
            if failures.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        None => ExitCode::SUCCESS,
    }
}

/// One line per item of `scope` graded worse than `threshold` (grades order best to worst).
pub fn failures(analysis: &SetAnalysis, scope: Scope, threshold: Grade) -> Vec<String> {
    let below = |g: Grade| g > threshold;
    let t = threshold.letter();
    match scope {
        Scope::Operation => analysis
            .operations
            .iter()
            .filter(|o| below(o.grade))
            .map(|o| {
                format!(
                    "operation {}: {} ({}) grades {}, below {t} (p95 {})",
                    o.service,
                    o.name,
                    o.category,
                    o.grade.letter(),
                    format_duration_nanos(o.latency.p95_nanos)
                )
            })
            .collect(),
        Scope::Service => analysis
            .services
            .iter()
            .filter(|s| below(s.grade))
            .map(|s| format!("service {} grades {}, below {t}", s.service, s.grade.letter()))
            .collect(),
        Scope::Trace => analysis
            .traces
            .iter()
            .filter_map(|tr| tr.grade.filter(|&g| below(g)).map(|g| (tr, g)))
            .map(|(tr, g)| {
                format!(
                    "trace {} ({}: {}) grades {}, below {t} (duration {})",
                    tr.trace_id,
                    tr.root_service,
                    tr.root_name,
                    g.letter(),
                    format_duration_nanos(tr.duration_nanos)
                )
            })
            .collect(),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Integer nanoseconds as float milliseconds.
fn ms(nanos: u64) -> f64 {
    nanos as f64 / 1e6
}

/// The figures of one trace, shared by both outputs.
struct TraceFacts<'a> {
    trace: &'a Trace,
    services: Vec<&'a str>,
    root: Option<u32>,
    root_service: Option<&'a str>,
    root_name: Option<&'a str>,
}

fn facts<'a>(set: &'a TraceSet, trace: &'a Trace) -> TraceFacts<'a> {
    let root = set.root_of(trace);
    let span = root.and_then(|i| set.span(i));
    TraceFacts {
        trace,
        services: set.services_of(trace),
        root,
        root_service: span.map(|s| set.service_name(s)),
        root_name: span.map(|s| set.name(s)),
    }
}

/// The core's summary of trace `index` (set order).
fn summary_of(analysis: &SetAnalysis, index: usize) -> Option<&TraceSummary> {
    analysis
        .traces
        .get(index)
        .filter(|s| s.trace_index as usize == index)
        .or_else(|| analysis.traces.iter().find(|s| s.trace_index as usize == index))
}

/// The span kind label of every operation (service, span name): its span-metrics kind with the
/// most calls over all statuses, ties to the alphabetically first label.
fn operation_kinds(analysis: &SetAnalysis) -> BTreeMap<(&str, &str), &str> {
    let mut calls: BTreeMap<(&str, &str, &str), u64> = BTreeMap::new();
    for g in &analysis.span_metrics.groups {
        *calls
            .entry((g.service.as_str(), g.span_name.as_str(), g.span_kind.as_str()))
            .or_default() += g.calls;
    }
    let mut best: BTreeMap<(&str, &str), (&str, u64)> = BTreeMap::new();
    // Kinds come in alphabetical order, so only strictly more calls replace a kind.
    for ((service, name, kind), n) in calls {
        let slot = best.entry((service, name)).or_insert((kind, n));
        if n > slot.1 {
            *slot = (kind, n);
        }
    }
    best.into_iter().map(|(op, (kind, _))| (op, kind)).collect()
}

fn connection_type(ct: ConnectionType) -> &'static str {
    match ct {
        ConnectionType::None => "plain",
        other => other.tempo_label(),
    }
}

fn critical_path_json(set: &TraceSet, root: Option<u32>) -> Value {
    let segments = root.map(|r| critical_path(set, r)).unwrap_or_default();
    Value::Array(
        segments
            .iter()
            .map(|seg| {
                let span = set.span(seg.span);
                json!({
                    "span_id": seg.span_id,
                    "service": span.map(|s| set.service_name(s)),
                    "name": span.map(|s| set.name(s)),
                    "start_unix_nano": seg.start_unix_nanos,
                    "end_unix_nano": seg.end_unix_nanos,
                    "duration_ms": ms(seg.end_unix_nanos.saturating_sub(seg.start_unix_nanos)),
                })
            })
            .collect(),
    )
}

/// The `--format json` report (keys in the module docs). A map, so that more sections can be
/// inserted next to the others.
pub fn analysis_report(set: &TraceSet, analysis: &SetAnalysis) -> Map<String, Value> {
    let traces: Vec<Value> = set
        .traces()
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let f = facts(set, t);
            let summary = summary_of(analysis, i);
            json!({
                "trace_id": t.trace_id.to_hex(),
                "span_count": t.spans.len,
                "services": f.services,
                "root_service": f.root_service,
                "root_name": f.root_name,
                "start_unix_nano": t.start_unix_nanos,
                "duration_nanos": t.duration_nanos(),
                "error_count": t.error_count,
                "grade": summary.and_then(|s| s.grade).map(Grade::letter),
                "worst_critical_path_grade":
                    summary.and_then(|s| s.worst_critical_path_grade).map(Grade::letter),
                "critical_path": critical_path_json(set, f.root),
            })
        })
        .collect();
    let graph = &analysis.service_graph;
    let nodes: Vec<Value> = graph
        .nodes
        .iter()
        .map(|n| {
            json!({
                "name": n.name,
                "virtual_node": n.virtual_node,
                "spans": n.spans,
                "errors": n.errors,
            })
        })
        .collect();
    let edges: Vec<Value> = graph
        .edges
        .iter()
        .map(|e| {
            json!({
                "client": e.client,
                "server": e.server,
                "connection_type": connection_type(e.connection_type),
                "requests": e.requests,
                "failed": e.failed,
                "client_p95_ms": ms(e.client_latency.p95_nanos),
                "server_p95_ms": ms(e.server_latency.p95_nanos),
            })
        })
        .collect();
    let kinds = operation_kinds(analysis);
    let operations: Vec<Value> = analysis
        .operations
        .iter()
        .map(|o| {
            json!({
                "service": o.service,
                "name": o.name,
                "kind": kinds.get(&(o.service.as_str(), o.name.as_str())).copied().unwrap_or(""),
                "category": o.category,
                "calls": o.calls,
                "errors": o.errors,
                "p50_ms": ms(o.latency.p50_nanos),
                "p95_ms": ms(o.latency.p95_nanos),
                "p99_ms": ms(o.latency.p99_nanos),
                "grade": o.grade.letter(),
            })
        })
        .collect();
    let services: Vec<Value> = analysis
        .services
        .iter()
        .map(|s| {
            json!({
                "name": s.service,
                "grade": s.grade.letter(),
                "calls": s.calls,
                "errors": s.errors,
            })
        })
        .collect();
    let bottlenecks: Vec<Value> = analysis
        .bottlenecks
        .iter()
        .map(|b| {
            json!({
                "service": b.service,
                "name": b.operation,
                "category": b.category,
                "p95_ms": ms(b.p95_nanos),
                "target_ms": ms(b.target_nanos),
                "impact": b.impact,
                "severity": serde_json::to_value(b.severity).unwrap_or(Value::Null),
                "recommendations": serde_json::to_value(&b.recommendations)
                    .unwrap_or_else(|_| Value::Array(Vec::new())),
            })
        })
        .collect();
    let mut report = Map::new();
    report.insert("traces".to_string(), Value::Array(traces));
    report.insert(
        "service_graph".to_string(),
        json!({ "nodes": nodes, "edges": edges }),
    );
    report.insert("operations".to_string(), Value::Array(operations));
    report.insert("services".to_string(), Value::Array(services));
    report.insert("bottlenecks".to_string(), Value::Array(bottlenecks));
    report.insert(
        "error_clusters".to_string(),
        serde_json::to_value(&analysis.errors.clusters).unwrap_or_else(|_| Value::Array(Vec::new())),
    );
    report.insert(
        "diagnostics".to_string(),
        serde_json::to_value(&set.diagnostics).unwrap_or(Value::Null),
    );
    report
}

/// The p95 of a latency summary, `-` without samples.
fn p95_or_dash(latency: &DurationSummary) -> String {
    if latency.count == 0 {
        "-".to_string()
    } else {
        format_duration_nanos(latency.p95_nanos)
    }
}

/// Lays out a table: columns padded to their widest cell, numeric ones right-aligned, the last
/// one unpadded; trailing blanks trimmed.
fn table(out: &mut String, header: &[&str], rows: &[Vec<String>], numeric: &[bool]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
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
    line(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    for row in rows {
        line(row);
    }
}

/// The `--format text` report: operation grades, bottlenecks, services, service-graph edges,
/// error clusters, the table of traces, then the diagnostics.
pub fn render_text(set: &TraceSet, analysis: &SetAnalysis) -> String {
    let mut out = String::new();
    let traces = set.traces();
    let dur = format_duration_nanos;

    out.push_str(&format!(
        "Operation grades ({} operation(s); {} trace(s), {} span(s))\n",
        analysis.operations.len(),
        traces.len(),
        set.span_count()
    ));
    let rows: Vec<Vec<String>> = analysis
        .operations
        .iter()
        .map(|o| {
            vec![
                o.service.clone(),
                o.name.clone(),
                o.category.clone(),
                o.calls.to_string(),
                o.errors.to_string(),
                dur(o.latency.p50_nanos),
                dur(o.latency.p95_nanos),
                dur(o.latency.p99_nanos),
                o.grade.letter().to_string(),
            ]
        })
        .collect();
    table(
        &mut out,
        &[
            "SERVICE",
            "OPERATION",
            "CATEGORY",
            "CALLS",
            "ERRORS",
            "P50",
            "P95",
            "P99",
            "GRADE",
        ],
        &rows,
        &[false, false, false, true, true, true, true, true, false],
    );

    out.push_str(&format!("\nBottlenecks ({})\n", analysis.bottlenecks.len()));
    if analysis.bottlenecks.is_empty() {
        out.push_str("  none\n");
    }
    for b in &analysis.bottlenecks {
        let severity = serde_json::to_value(b.severity)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        out.push_str(&format!(
            "  [{severity}] impact {:.3}  {}: {} ({}) p95 {} vs target {}, {} call(s), {} error(s)\n",
            b.impact,
            b.service,
            b.operation,
            b.category,
            dur(b.p95_nanos),
            dur(b.target_nanos),
            b.calls,
            b.errors
        ));
        for r in &b.recommendations {
            out.push_str(&format!("    - {}\n", one_line(&r.message)));
        }
    }

    out.push_str(&format!("\nServices ({})\n", analysis.services.len()));
    let rows: Vec<Vec<String>> = analysis
        .services
        .iter()
        .map(|s| {
            vec![
                s.grade.letter().to_string(),
                s.service.clone(),
                s.operations.to_string(),
                s.calls.to_string(),
                s.errors.to_string(),
            ]
        })
        .collect();
    table(
        &mut out,
        &["GRADE", "SERVICE", "OPERATIONS", "CALLS", "ERRORS"],
        &rows,
        &[false, false, true, true, true],
    );

    let edges = &analysis.service_graph.edges;
    out.push_str(&format!("\nService graph edges ({})\n", edges.len()));
    let rows: Vec<Vec<String>> = edges
        .iter()
        .map(|e| {
            vec![
                e.client.clone(),
                e.server.clone(),
                connection_type(e.connection_type).to_string(),
                e.requests.to_string(),
                e.failed.to_string(),
                p95_or_dash(&e.client_latency),
                p95_or_dash(&e.server_latency),
            ]
        })
        .collect();
    table(
        &mut out,
        &[
            "CLIENT",
            "SERVER",
            "TYPE",
            "REQUESTS",
            "FAILED",
            "CLIENT P95",
            "SERVER P95",
        ],
        &rows,
        &[false, false, false, true, true, true, true],
    );

    let clusters = &analysis.errors.clusters;
    out.push_str(&format!("\nError clusters ({})\n", clusters.len()));
    let rows: Vec<Vec<String>> = clusters
        .iter()
        .map(|c| {
            vec![
                c.count.to_string(),
                c.service.clone(),
                c.span_name.clone(),
                one_line(&c.reason),
                one_line(&c.example_message),
            ]
        })
        .collect();
    table(
        &mut out,
        &["COUNT", "SERVICE", "OPERATION", "REASON", "EXAMPLE"],
        &rows,
        &[true, false, false, false, false],
    );

    out.push_str(&format!(
        "\nTraces: {} trace(s), {} span(s)\n",
        traces.len(),
        set.span_count()
    ));
    if !traces.is_empty() {
        let rows: Vec<Vec<String>> = traces
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let f = facts(set, t);
                let summary = summary_of(analysis, i);
                let grade = |g: Option<Grade>| g.map(Grade::letter).unwrap_or("-").to_string();
                let root = match (f.root_service, f.root_name) {
                    (Some(service), Some(name)) => format!("{service}: {name}"),
                    _ => "-".to_string(),
                };
                vec![
                    t.trace_id.to_hex(),
                    grade(summary.and_then(|s| s.grade)),
                    grade(summary.and_then(|s| s.worst_critical_path_grade)),
                    t.spans.len.to_string(),
                    t.error_count.to_string(),
                    format_duration_nanos(t.duration_nanos()),
                    format_utc(f.trace.start_unix_nanos),
                    root,
                    f.services.join(", "),
                ]
            })
            .collect();
        table(
            &mut out,
            &[
                "TRACE ID",
                "GRADE",
                "WORST CP",
                "SPANS",
                "ERRORS",
                "DURATION",
                "START (UTC)",
                "ROOT",
                "SERVICES",
            ],
            &rows,
            &[false, false, false, true, true, true, false, false, false],
        );
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
        let analysis = analyze_set(&set, &Rules::builtin());
        let report = analysis_report(&set, &analysis);
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
        // The critical path covers the root's duration.
        let path = t["critical_path"].as_array().unwrap();
        let total: f64 = path.iter().map(|s| s["duration_ms"].as_f64().unwrap()).sum();
        assert!((total - 2.0).abs() < 1e-9, "{path:?}");
        assert_eq!(path[0]["span_id"], "0000000000000001");
        assert_eq!(path[0]["service"], "front");
        let edge = &report["service_graph"]["edges"];
        assert!(edge.to_string().contains("\"client\":\"front\""), "{edge}");
    }

    #[test]
    fn text_report_is_a_table() {
        let set = formats::read(ZIPKIN.as_bytes(), None).unwrap();
        let text = render_text(&set, &analyze_set(&set, &Rules::builtin()));
        assert!(text.starts_with("Operation grades ("), "{text}");
        assert!(text.contains("1 trace(s), 3 span(s)"), "{text}");
        assert!(text.contains("TRACE ID"), "{text}");
        assert!(text.contains("front: get"), "{text}");
        assert!(text.contains("2023-11-14T22:13:20.000000000Z"), "{text}");
        assert!(text.contains("db, front"), "{text}");
    }

    #[test]
    fn grades_parse_and_gate() {
        assert_eq!(parse_grade("c"), Ok(Grade::C));
        assert!(parse_grade("E").is_err());
        let set = formats::read(ZIPKIN.as_bytes(), None).unwrap();
        let analysis = analyze_set(&set, &Rules::builtin());
        for scope in [Scope::Operation, Scope::Service, Scope::Trace] {
            assert!(failures(&analysis, scope, Grade::F).is_empty());
        }
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
