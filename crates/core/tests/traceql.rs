//! TraceQL: parsing (every supported construct, every unsupported one with its position),
//! evaluation semantics on a small hand-built set, Tempo's error texts and search shape, and
//! a comparison with the recorded Tempo responses over the SDK traces in `shared/tempo-api`.

// Test helpers outside `#[test]` functions unwrap too: a panic is the failure report here.
#![allow(clippy::unwrap_used)]

use spanlens_core::model::{
    OwnedValue, Resource, Span, SpanId, SpanKind, StatusCode, TraceId, TraceSet, TraceSetBuilder,
};
use spanlens_core::query::{
    self, is_metrics_query, keep_hierarchy, matching_spans, parse, parse_field_name, parse_metrics,
    parse_search, parse_single_filter, search, MetricsFunc, QueryError, SearchOptions,
};
use std::collections::BTreeMap;
use std::path::Path;

const MS: u64 = 1_000_000;

struct Row {
    trace: u8,
    id: u8,
    parent: Option<u8>,
    name: &'static str,
    service: &'static str,
    kind: SpanKind,
    status: StatusCode,
    message: &'static str,
    start_ms: u64,
    end_ms: u64,
    attrs: Vec<(&'static str, OwnedValue)>,
}

fn row(trace: u8, id: u8, parent: Option<u8>, name: &'static str, service: &'static str) -> Row {
    Row {
        trace,
        id,
        parent,
        name,
        service,
        kind: SpanKind::Internal,
        status: StatusCode::Unset,
        message: "",
        start_ms: 0,
        end_ms: 0,
        attrs: Vec::new(),
    }
}

fn s(v: &str) -> OwnedValue {
    OwnedValue::Str(v.to_string())
}

fn build(rows: Vec<Row>) -> TraceSet {
    let mut b = TraceSetBuilder::new();
    let mut resources: BTreeMap<&str, u32> = BTreeMap::new();
    for r in rows {
        let resource = *resources.entry(r.service).or_insert_with(|| {
            let mut attrs = vec![("service.name".to_string(), s(r.service))];
            if r.service == "gateway" {
                attrs.push(("env".to_string(), s("prod")));
                attrs.push(("region".to_string(), s("eu")));
            }
            let service_name = b.arena.intern(r.service);
            let attrs = b.arena.store_attrs(&attrs);
            b.arena.push_resource(Resource {
                service_name,
                attrs,
                ..Default::default()
            })
        });
        let attrs: Vec<(String, OwnedValue)> = r.attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let span = Span {
            trace_id: TraceId([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, r.trace]),
            span_id: SpanId([0, 0, 0, 0, 0, 0, r.trace, r.id]),
            parent_span_id: r.parent.map(|p| SpanId([0, 0, 0, 0, 0, 0, r.trace, p])),
            name: b.arena.intern(r.name),
            kind: r.kind,
            status_code: r.status,
            status_message: b.arena.intern(r.message),
            start_unix_nanos: 1_700_000_000_000 * MS + r.start_ms * MS,
            end_unix_nanos: 1_700_000_000_000 * MS + r.end_ms * MS,
            attrs: b.arena.store_attrs(&attrs),
            resource,
            ..Default::default()
        };
        b.push_span(span);
    }
    b.finish()
}

/// Trace 0x0a: a gateway request with auth and a failing db call.
/// Trace 0x0b: starts later; only an orphan worker span (its root never arrived).
/// Trace 0x0c: a chat request with two llm errors (status codes 500).
fn fixture() -> TraceSet {
    use SpanKind::*;
    let mut rows = Vec::new();
    let mut r = row(0x0a, 1, None, "GET /api", "gateway");
    r.kind = Server;
    r.end_ms = 100;
    r.attrs = vec![
        ("http.method", s("GET")),
        ("http.status_code", OwnedValue::Int(200)),
        ("env", s("span-env")),
    ];
    rows.push(r);
    let mut r = row(0x0a, 2, Some(1), "auth", "auth");
    r.kind = Client;
    r.start_ms = 10;
    r.end_ms = 20;
    r.attrs = vec![("peer", s("x"))];
    rows.push(r);
    let mut r = row(0x0a, 3, Some(1), "db query", "db");
    r.kind = Client;
    r.status = StatusCode::Error;
    r.message = "timeout";
    r.start_ms = 30;
    r.end_ms = 90;
    r.attrs = vec![
        ("db.system", s("postgres")),
        ("http.status_code", OwnedValue::Int(500)),
        ("x y", s("quoted")),
        ("retries", OwnedValue::Double(2.5)),
        ("cached", OwnedValue::Bool(true)),
        ("tags", OwnedValue::Array(vec![s("a"), s("b")])),
    ];
    rows.push(r);
    let mut r = row(0x0a, 4, Some(3), "db.exec", "db");
    r.start_ms = 40;
    r.end_ms = 50;
    r.attrs = vec![("http.status_code", s("500"))];
    rows.push(r);
    let mut r = row(0x0b, 1, Some(9), "orphan op", "worker");
    r.kind = Consumer;
    r.start_ms = 5000;
    r.end_ms = 5000;
    rows.push(r);
    let mut r = row(0x0c, 1, None, "POST /chat", "gateway");
    r.kind = Server;
    r.status = StatusCode::Ok;
    r.start_ms = 3000;
    r.end_ms = 4500;
    r.attrs = vec![("http.status_code", OwnedValue::Int(500))];
    rows.push(r);
    for (id, start) in [(2u8, 3100u64), (3, 3200)] {
        let mut r = row(0x0c, id, Some(1), "llm call", "llm");
        r.kind = Client;
        r.status = StatusCode::Error;
        r.start_ms = start;
        r.end_ms = start + 1000;
        r.attrs = vec![
            ("http.status_code", OwnedValue::Int(500)),
            ("model", s(if id == 2 { "a" } else { "b" })),
        ];
        rows.push(r);
    }
    build(rows)
}

/// Names of the matching spans over all traces, sorted.
fn names(set: &TraceSet, q: &str) -> Vec<String> {
    let query = parse_search(q).unwrap_or_else(|e| panic!("{q}: {e}"));
    let mut out = Vec::new();
    for t in 0..set.traces().len() as u32 {
        for i in matching_spans(set, t, &query) {
            out.push(set.name(set.span(i).unwrap()).to_string());
        }
    }
    out.sort();
    out
}

fn v(items: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = items.iter().map(|s| s.to_string()).collect();
    out.sort();
    out
}

#[test]
fn every_supported_construct_parses() {
    let ok = [
        "{}",
        "{ }",
        "{ true }",
        "{ false }",
        "{ name = \"x\" }",
        "{ span:name = \"x\" }",
        "{ status = error }",
        "{ span:status = ok }",
        "{ status != unset }",
        "{ kind = server }",
        "{ span:kind = client || kind = producer || kind = consumer || kind = internal || kind = unspecified }",
        "{ duration > 100ms }",
        "{ span:duration >= 1.5s }",
        "{ duration < 1h30m && duration > 10us && duration > 5µs && duration > 3ns && duration < 2m }",
        "{ rootName = \"a\" }",
        "{ trace:rootName = \"a\" }",
        "{ rootServiceName = \"a\" }",
        "{ trace:rootService = \"a\" }",
        "{ traceDuration > 1s }",
        "{ trace:duration > 1s }",
        "{ statusMessage = \"x\" }",
        "{ span:statusMessage =~ \"time.*\" }",
        "{ .a = 1 }",
        "{ span.http.status_code >= 500 }",
        "{ resource.service.name = \"x\" }",
        "{ .\"x y\" = \"q\" }",
        "{ span.\"x y\" = \"q\" }",
        "{ .a != nil }",
        "{ .a = nil }",
        "{ .a = -3 }",
        "{ .a > 2.5 }",
        "{ .a = true }",
        "{ .a =~ \"x\\\\d+\" }",
        "{ .a !~ \"x\" }",
        "{ .a = `raw\\string` }",
        "{ .a = \"esc \\\" \\n \\u00e9\" }",
        "{ !(.a = 1) }",
        "{ (.a = 1 || .b = 2) && .c = 3 }",
        "{ 500 <= .code }",
        "{ .a = .b }",
        "{ .a = 1 } && { .b = 2 }",
        "{ .a = 1 } || { .b = 2 }",
        "{ .a = 1 } > { .b = 2 }",
        "{ .a = 1 } >> { .b = 2 }",
        "{ .a = 1 } < { .b = 2 }",
        "{ .a = 1 } << { .b = 2 }",
        "{ .a = 1 } ~ { .b = 2 }",
        "({ .a = 1 } > { .b = 2 }) && { .c = 3 }",
        "{ } | count() > 1",
        "{ } | count() = 1",
        "{ } | avg(duration) > 1s",
        "{ } | min(duration) < 1ms | max(.size) >= 10 | sum(span.bytes) > 1.5",
        "{ } | by(resource.service.name)",
        "{ } | by(.a, name) | count() > 1",
        "{ } | select(span.http.method, status)",
        "{ } | coalesce()",
        "{ } | { .a = 1 }",
        "{ .a = 1 }\n| count() > 2",
    ];
    for q in ok {
        let parsed = parse_search(q);
        assert!(parsed.is_ok(), "{q}: {:?}", parsed.err());
    }
}

#[test]
fn unsupported_syntax_names_its_position() {
    // (query, line, col, message fragment)
    let bad: &[(&str, u32, u32, &str)] = &[
        ("{ resource.service.name = }", 1, 27, "syntax error: unexpected }"),
        ("{ } | bogus()", 1, 7, "syntax error: unexpected IDENTIFIER"),
        ("{ .a = 1", 1, 9, "unexpected $end"),
        ("{ .a }", 1, 6, "unexpected }"),
        ("{ .a + 1 = 2 }", 1, 6, "arithmetic"),
        ("{ .a = 1 } !> { .b = 1 }", 1, 12, "structural operator !>"),
        ("{ .a = 1 } &>> { .b = 1 }", 1, 12, "structural operator &>>"),
        ("{ event.name = \"x\" }", 1, 3, "event attribute scope"),
        ("{ link.x = 1 }", 1, 3, "link attribute scope"),
        ("{ span:id = 1 }", 1, 3, "intrinsic span:id"),
        ("{ foo = 1 }", 1, 3, "unknown identifier: foo"),
        ("{ service.name = \"x\" }", 1, 3, "unknown identifier: service"),
        ("{ } | rate()", 1, 7, "metrics functions are not allowed"),
        ("{ } | topk(3)", 1, 7, "unsupported: function topk()"),
        ("{ } | count() > 1 && avg(duration) > 1s", 1, 19, "combined"),
        ("{ .a = \"x\" } with (sample=true)", 1, 14, "query hints"),
        ("{ .a =~ \"(\" }", 1, 9, "error parsing regexp"),
        ("{ .a =~ 3 }", 1, 9, "needs a string pattern"),
        ("{ 1 = 2 }", 1, 3, "needs a field"),
        ("{ .a = \"open }", 1, 8, "unterminated string"),
        ("{ .a = 12abc }", 1, 8, "invalid number or duration"),
        ("{ .a = 1 } | count()", 1, 21, "unexpected $end"),
        ("{ .a = 1 }}", 1, 11, "unexpected }"),
        ("\n\n  { .a = # }", 3, 10, "unexpected character"),
        ("{ .a = 1 } | by()", 1, 17, "unexpected )"),
        ("{ .a = 99999999999999999999 }", 1, 8, "integer out of range"),
        ("{ .a == 1 }", 1, 6, "unexpected =="),
    ];
    for &(q, line, col, fragment) in bad {
        match parse_search(q) {
            Ok(parsed) => panic!("{q} parsed: {parsed:?}"),
            Err(e) => {
                assert_eq!((e.line, e.col), (line, col), "{q}: {e}");
                assert!(e.to_string().contains(fragment), "{q}: {e}");
            }
        }
    }
}

fn shared(path: &str) -> Option<String> {
    std::fs::read_to_string(Path::new("/work/shared/tempo-api").join(path)).ok()
}

#[test]
fn error_texts_match_tempo() {
    let cases = [
        (
            "responses/054_search_q_malformed_400.txt",
            "{ resource.service.name = }",
        ),
        ("responses/055_search_q_unknown_fn_400.txt", "{ } | bogus()"),
    ];
    for (file, q) in cases {
        let err = parse_search(q).unwrap_err();
        let ours = format!("invalid TraceQL query: {err}");
        assert_eq!(
            ours,
            "invalid TraceQL query: parse error at line 1, col ".to_string() + &ours[50..]
        );
        if let Some(recorded) = shared(file) {
            assert_eq!(ours, recorded.trim_end(), "{file}");
        }
    }
    let err = parse_single_filter("{ status = error } | count() > 1").unwrap_err();
    assert_eq!(err, QueryError::NotSingleFilter);
    if let Some(recorded) = shared("responses/030_trace_v2_bad_q_400.txt") {
        assert_eq!(format!("invalid TraceQL filter: {err}"), recorded.trim_end());
    }
    for q in [
        "{ .a = 1 } > { .b = 1 }",
        "{ .a = 1 } && { .b = 1 }",
        "{ } | select(.a)",
    ] {
        assert_eq!(
            parse_single_filter(q).unwrap_err(),
            QueryError::NotSingleFilter,
            "{q}"
        );
    }
    assert!(parse_single_filter("{ status = error }").is_ok());
    assert!(matches!(
        parse_single_filter("{ status = }"),
        Err(QueryError::Parse(_))
    ));
    let err = parse_field_name("service.name").unwrap_err();
    assert_eq!(
        err.to_string(),
        "parse error at line 1, col 2: unknown identifier: service"
    );
    if let Some(recorded) = shared("responses/080_tag_values_v2_unscoped_400.txt") {
        assert!(recorded.trim_end().ends_with(&err.to_string()), "{recorded}");
    }
    assert!(parse_field_name("resource.service.name").is_ok());
    assert!(parse_field_name("status").is_ok());
    assert!(parse_field_name("span.\"x y\"").is_ok());
    assert_eq!(
        parse_metrics("{ status = error }").unwrap_err().to_string(),
        "not a metrics query"
    );
}

#[test]
fn metrics_queries_parse_to_ast() {
    assert!(is_metrics_query("{} | rate()"));
    assert!(is_metrics_query(
        "{ status = error } | count_over_time() by (resource.service.name)"
    ));
    assert!(!is_metrics_query("{ status = error }"));
    assert!(!is_metrics_query("{ status = "));
    let q =
        parse_metrics("{} | quantile_over_time(duration, .5, .95) by (resource.service.name, name)").unwrap();
    let m = q.metrics.unwrap();
    assert_eq!(
        m.func,
        MetricsFunc::QuantileOverTime {
            field: query::FieldRef::Intrinsic(query::Intrinsic::Duration),
            quantiles: vec![0.5, 0.95]
        }
    );
    assert_eq!(m.by.len(), 2);
    let q = parse_metrics("{} | histogram_over_time(duration)").unwrap();
    assert!(matches!(
        q.metrics.unwrap().func,
        MetricsFunc::HistogramOverTime(_)
    ));
    let q = parse_metrics("{ .a = 1 } | sum_over_time(span.bytes) by(.b)").unwrap();
    assert!(matches!(q.metrics.unwrap().func, MetricsFunc::SumOverTime(_)));
    assert!(parse("{} | rate() | count() > 1").is_err());
    assert!(parse("{} | quantile_over_time(duration)").is_err());
    assert!(parse("{} | quantile_over_time(duration, 2)").is_err());
}

#[test]
fn filters_intrinsics_and_attributes() {
    let set = fixture();
    assert_eq!(names(&set, "{}").len(), 8);
    assert_eq!(names(&set, "{ true }").len(), 8);
    assert!(names(&set, "{ false }").is_empty());
    assert_eq!(names(&set, "{ name = \"auth\" }"), v(&["auth"]));
    assert_eq!(names(&set, "{ span:name = \"auth\" }"), v(&["auth"]));
    assert_eq!(
        names(&set, "{ status = error }"),
        v(&["db query", "llm call", "llm call"])
    );
    assert_eq!(names(&set, "{ status = ok }"), v(&["POST /chat"]));
    assert_eq!(names(&set, "{ status = unset }").len(), 4);
    assert_eq!(names(&set, "{ kind = server }"), v(&["GET /api", "POST /chat"]));
    assert_eq!(names(&set, "{ kind = consumer }"), v(&["orphan op"]));
    assert_eq!(names(&set, "{ kind = internal }"), v(&["db.exec"]));
    assert_eq!(names(&set, "{ statusMessage = \"timeout\" }"), v(&["db query"]));
    assert_eq!(
        names(&set, "{ span:statusMessage =~ \"time.*\" }"),
        v(&["db query"])
    );
    // durations
    assert_eq!(
        names(&set, "{ duration >= 1s }"),
        v(&["POST /chat", "llm call", "llm call"])
    );
    assert_eq!(names(&set, "{ duration = 60ms }"), v(&["db query"]));
    assert_eq!(
        names(&set, "{ duration > 0.05s && duration < 1.5s }"),
        v(&["GET /api", "db query", "llm call", "llm call"])
    );
    assert_eq!(names(&set, "{ duration = 10000000 }"), v(&["auth", "db.exec"]));
    assert_eq!(names(&set, "{ duration = 0ns }"), v(&["orphan op"]));
    // trace-level intrinsics
    assert_eq!(
        names(&set, "{ rootName = \"GET /api\" && kind = client }"),
        v(&["auth", "db query"])
    );
    assert_eq!(
        names(&set, "{ trace:rootService = \"gateway\" && status = error }"),
        v(&["db query", "llm call", "llm call"])
    );
    assert_eq!(
        names(&set, "{ rootServiceName = \"worker\" }"),
        Vec::<String>::new()
    );
    assert_eq!(names(&set, "{ rootName = nil }"), v(&["orphan op"]));
    assert_eq!(
        names(&set, "{ traceDuration > 1s && kind = server }"),
        v(&["POST /chat"])
    );
    assert_eq!(
        names(&set, "{ trace:duration < 200ms && kind = server }"),
        v(&["GET /api"])
    );
    // attributes, typed
    assert_eq!(
        names(&set, "{ span.http.status_code >= 500 }"),
        v(&["POST /chat", "db query", "llm call", "llm call"])
    );
    assert_eq!(names(&set, "{ .http.status_code = \"500\" }"), v(&["db.exec"]));
    assert_eq!(
        names(&set, "{ .http.status_code != 200 }"),
        v(&["POST /chat", "db query", "llm call", "llm call"])
    );
    assert_eq!(
        names(&set, "{ .http.status_code > 499.5 && kind = client }"),
        v(&["db query", "llm call", "llm call"])
    );
    assert_eq!(names(&set, "{ .retries = 2.5 }"), v(&["db query"]));
    assert_eq!(names(&set, "{ .retries > 2 }"), v(&["db query"]));
    assert_eq!(names(&set, "{ .cached = true }"), v(&["db query"]));
    assert_eq!(names(&set, "{ .cached != false }"), v(&["db query"]));
    assert_eq!(names(&set, "{ .cached = 1 }"), Vec::<String>::new());
    assert_eq!(names(&set, "{ .tags = \"b\" }"), v(&["db query"]));
    assert_eq!(names(&set, "{ .\"x y\" = \"quoted\" }"), v(&["db query"]));
    assert_eq!(names(&set, "{ span.\"x y\" =~ \"quo.*\" }"), v(&["db query"]));
    assert_eq!(
        names(&set, "{ resource.service.name = \"db\" }"),
        v(&["db query", "db.exec"])
    );
    assert_eq!(
        names(&set, "{ .service.name = \"db\" }"),
        v(&["db query", "db.exec"])
    );
    assert_eq!(
        names(&set, "{ span.service.name = \"db\" }"),
        Vec::<String>::new()
    );
    // unscoped: span or resource
    assert_eq!(names(&set, "{ .env = \"prod\" }"), v(&["GET /api", "POST /chat"]));
    assert_eq!(names(&set, "{ .env = \"span-env\" }"), v(&["GET /api"]));
    assert_eq!(names(&set, "{ span.env = \"prod\" }"), Vec::<String>::new());
    assert_eq!(
        names(&set, "{ resource.env = \"prod\" }"),
        v(&["GET /api", "POST /chat"])
    );
    // type mismatch: no match, not an error
    assert_eq!(names(&set, "{ .db.system = 3 }"), Vec::<String>::new());
    assert_eq!(names(&set, "{ .db.system != 3 }"), Vec::<String>::new());
    assert_eq!(names(&set, "{ name = 3 }"), Vec::<String>::new());
    assert_eq!(names(&set, "{ status = \"error\" }"), Vec::<String>::new());
    // strings order lexicographically
    assert_eq!(
        names(&set, "{ name > \"llm\" && name < \"m\" }"),
        v(&["llm call", "llm call"])
    );
    // static on the left
    assert_eq!(names(&set, "{ 500 < .http.status_code }"), Vec::<String>::new());
    assert_eq!(
        names(&set, "{ 500 <= span.http.status_code && kind = client }"),
        v(&["db query", "llm call", "llm call"])
    );
    // field vs field
    assert_eq!(names(&set, "{ .model = .model }"), v(&["llm call", "llm call"]));
}

#[test]
fn nil_regex_and_boolean_logic() {
    let set = fixture();
    assert_eq!(names(&set, "{ .db.system != nil }"), v(&["db query"]));
    assert_eq!(
        names(&set, "{ .http.status_code = nil }"),
        v(&["auth", "orphan op"])
    );
    assert_eq!(names(&set, "{ nil = .peer }").len(), 7);
    // a missing attribute fails every other comparison, even !=
    assert_eq!(names(&set, "{ .peer != \"y\" }"), v(&["auth"]));
    assert_eq!(names(&set, "{ name =~ \"db.*\" }"), v(&["db query", "db.exec"]));
    assert_eq!(
        names(&set, "{ name =~ \"db\" }"),
        Vec::<String>::new(),
        "fully anchored"
    );
    assert_eq!(
        names(&set, "{ name =~ \"(?i)GET.*|post.*\" }"),
        v(&["GET /api", "POST /chat"])
    );
    assert_eq!(names(&set, "{ name !~ \".* .*\" }"), v(&["auth", "db.exec"]));
    assert_eq!(
        names(&set, "{ .http.status_code =~ \"5.*\" }"),
        v(&["db.exec"]),
        "regex needs a string"
    );
    assert_eq!(names(&set, "{ name =~ \"db\\\\.exec\" }"), v(&["db.exec"]));
    assert_eq!(
        names(&set, "{ !(kind = client) && status = error }"),
        Vec::<String>::new()
    );
    assert_eq!(
        names(&set, "{ !(kind = client || kind = server) }"),
        v(&["db.exec", "orphan op"])
    );
    assert_eq!(
        names(&set, "{ (kind = client || kind = server) && status != unset }"),
        v(&["POST /chat", "db query", "llm call", "llm call"])
    );
}

#[test]
fn spanset_and_structural_operators() {
    let set = fixture();
    // && needs both sides in the same trace, and returns the spans of both
    assert_eq!(
        names(&set, "{ name = \"auth\" } && { status = error }"),
        v(&["auth", "db query"])
    );
    assert_eq!(
        names(&set, "{ name = \"auth\" } && { name = \"llm call\" }"),
        Vec::<String>::new()
    );
    assert_eq!(
        names(&set, "{ name = \"auth\" } || { name = \"orphan op\" }"),
        v(&["auth", "orphan op"])
    );
    // > child, >> descendant: the right-hand spans
    assert_eq!(
        names(&set, "{ kind = server } > { }"),
        v(&["auth", "db query", "llm call", "llm call"])
    );
    assert_eq!(
        names(&set, "{ kind = server } >> { }"),
        v(&["auth", "db query", "db.exec", "llm call", "llm call"])
    );
    assert_eq!(
        names(&set, "{ name = \"GET /api\" } > { name = \"db.exec\" }"),
        Vec::<String>::new()
    );
    assert_eq!(
        names(&set, "{ name = \"GET /api\" } >> { name = \"db.exec\" }"),
        v(&["db.exec"])
    );
    // < parent, << ancestor
    assert_eq!(names(&set, "{ name = \"db.exec\" } < { }"), v(&["db query"]));
    assert_eq!(
        names(&set, "{ name = \"db.exec\" } << { }"),
        v(&["GET /api", "db query"])
    );
    // ~ sibling
    assert_eq!(names(&set, "{ name = \"auth\" } ~ { }"), v(&["db query"]));
    assert_eq!(
        names(&set, "{ name = \"llm call\" } ~ { name = \"llm call\" }"),
        v(&["llm call", "llm call"])
    );
    assert_eq!(names(&set, "{ kind = server } ~ { }"), Vec::<String>::new());
    // chained and grouped
    assert_eq!(
        names(&set, "{ kind = server } > { kind = client } > { }"),
        v(&["db.exec"])
    );
    assert_eq!(
        names(
            &set,
            "({ kind = server } > { status = error }) && { name = \"auth\" }"
        ),
        v(&["auth", "db query"])
    );
}

#[test]
fn pipelines() {
    let set = fixture();
    let q = parse_search("{ span.http.status_code >= 500 } | count() > 1").unwrap();
    let r = search(&set, &q, SearchOptions::default());
    assert_eq!(r.traces.len(), 1);
    let t = &r.traces[0];
    assert_eq!(t.trace_id, format!("{:032x}", 0x0c));
    assert_eq!(t.spansets.len(), 1);
    assert_eq!(t.spansets[0].matched, 3);
    assert_eq!(t.spansets[0].attributes[0].key, "count()");
    assert_eq!(t.spansets[0].attributes[0].value, query::ResultValue::Int(3));
    assert_eq!(names(&set, "{ } | count() = 1"), v(&["orphan op"]));
    assert_eq!(
        names(&set, "{ status = error } | avg(duration) > 500ms"),
        v(&["llm call", "llm call"])
    );
    assert_eq!(
        names(&set, "{ status = error } | avg(duration) = 60000000"),
        v(&["db query"])
    );
    assert_eq!(names(&set, "{ } | max(duration) < 50ms"), v(&["orphan op"]));
    assert_eq!(
        names(&set, "{ } | min(duration) >= 10ms | max(duration) <= 100ms").len(),
        4
    );
    assert_eq!(
        names(
            &set,
            "{ .http.status_code != nil } | sum(.http.status_code) = 1500"
        ),
        v(&["POST /chat", "llm call", "llm call"])
    );
    assert_eq!(
        names(&set, "{ .retries != nil } | avg(.retries) > 2.4"),
        v(&["db query"])
    );
    // no numeric value: the spanset is dropped
    assert!(names(&set, "{ } | avg(.db.system) > 0").is_empty());

    // by() splits spansets; count applies per group
    let q = parse_search("{ status = error || kind = server } | by(resource.service.name) | count() > 1")
        .unwrap();
    let r = search(&set, &q, SearchOptions::default());
    assert_eq!(r.traces.len(), 1);
    let ss = &r.traces[0].spansets;
    assert_eq!(ss.len(), 1);
    assert_eq!(ss[0].matched, 2);
    let keys: Vec<&str> = ss[0].attributes.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(keys, vec!["by(resource.service.name)", "count()"]);
    assert_eq!(ss[0].attributes[0].value, query::ResultValue::Str("llm".into()));
    let q = parse_search("{ trace:rootService = \"gateway\" } | by(kind)").unwrap();
    let r = search(&set, &q, SearchOptions::default());
    let mut groups: Vec<(String, u32)> = r
        .traces
        .iter()
        .flat_map(|t| {
            t.spansets.iter().map(|s| {
                (
                    format!(
                        "{}:{}",
                        t.trace_id.trim_start_matches('0'),
                        s.attributes[0].value.text()
                    ),
                    s.matched,
                )
            })
        })
        .collect();
    groups.sort();
    assert_eq!(
        groups,
        vec![
            ("a:client".to_string(), 2),
            ("a:internal".to_string(), 1),
            ("a:server".to_string(), 1),
            ("c:client".to_string(), 2),
            ("c:server".to_string(), 1)
        ]
    );
    // coalesce merges them back
    let q = parse_search("{ } | by(kind) | coalesce()").unwrap();
    let r = search(
        &set,
        &q,
        SearchOptions {
            limit: 0,
            spans_per_spanset: 0,
        },
    );
    assert!(r.traces.iter().all(|t| t.spansets.len() == 1));
    assert_eq!(r.traces.iter().map(|t| t.spansets[0].matched).sum::<u32>(), 8);
    // a filter stage narrows each spanset
    assert_eq!(
        names(&set, "{ kind = client } | { status = error }"),
        v(&["db query", "llm call", "llm call"])
    );
    // select() adds attributes to result spans
    let q = parse_search(
        "{ name = \"db query\" } | select(span.db.system, .nope, status, kind, statusMessage, name)",
    )
    .unwrap();
    let r = search(&set, &q, SearchOptions::default());
    let span = &r.traces[0].spansets[0].spans[0];
    assert_eq!(span.name.as_deref(), Some("db query"));
    let attrs: Vec<(String, String)> = span
        .attributes
        .iter()
        .map(|a| (a.key.clone(), a.value.text()))
        .collect();
    assert_eq!(
        attrs,
        vec![
            ("db.system".to_string(), "postgres".to_string()),
            ("status".to_string(), "error".to_string()),
            ("kind".to_string(), "client".to_string()),
            ("statusMessage".to_string(), "timeout".to_string()),
        ]
    );
}

#[test]
fn search_order_limits_and_tempo_shape() {
    let set = fixture();
    let q = parse_search("{}").unwrap();
    let r = search(&set, &q, SearchOptions::default());
    // most recent first
    let ids: Vec<&str> = r
        .traces
        .iter()
        .map(|t| t.trace_id.trim_start_matches('0'))
        .collect();
    assert_eq!(ids, vec!["b", "c", "a"]);
    assert_eq!(r.inspected_traces, 3);
    assert_eq!(r.inspected_spans, 8);
    // spss and limit
    let a = &r.traces[2];
    assert_eq!(a.spansets[0].matched, 4);
    assert_eq!(a.spansets[0].spans.len(), 3);
    let starts: Vec<u64> = a.spansets[0].spans.iter().map(|s| s.start_unix_nanos).collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]));
    let r2 = search(
        &set,
        &q,
        SearchOptions {
            limit: 2,
            spans_per_spanset: 1,
        },
    );
    assert_eq!(r2.traces.len(), 2);
    assert!(r2.traces.iter().all(|t| t.spansets[0].spans.len() == 1));
    let r3 = search(
        &set,
        &q,
        SearchOptions {
            limit: 0,
            spans_per_spanset: 0,
        },
    );
    assert_eq!(r3.traces[2].spansets[0].spans.len(), 4);

    // Tempo JSON, field by field (compare with responses/037 and 045)
    let q = parse_search("{ resource.service.name = \"db\" && status = error }").unwrap();
    let json = search(&set, &q, SearchOptions::default()).to_tempo_json();
    let t = &json["traces"][0];
    assert_eq!(t["traceID"], "a");
    assert_eq!(t["rootServiceName"], "gateway");
    assert_eq!(t["rootTraceName"], "GET /api");
    assert_eq!(t["startTimeUnixNano"], (1_700_000_000_000u64 * MS).to_string());
    assert_eq!(t["durationMs"], 100);
    let span = &t["spanSets"][0]["spans"][0];
    assert_eq!(span["spanID"], "0000000000000a03");
    assert_eq!(
        span["startTimeUnixNano"],
        (1_700_000_000_000u64 * MS + 30 * MS).to_string()
    );
    assert_eq!(span["durationNanos"], (60 * MS).to_string());
    assert!(span.get("name").is_none());
    assert_eq!(
        span["attributes"],
        serde_json::json!([
            {"key": "service.name", "value": {"stringValue": "db"}},
            {"key": "status", "value": {"stringValue": "error"}}
        ])
    );
    assert_eq!(t["spanSets"][0]["matched"], 1);
    assert_eq!(t["spanSet"], t["spanSets"][0]);
    assert!(t["spanSets"][0].get("attributes").is_none());
    assert_eq!(
        t["serviceStats"],
        serde_json::json!({
            "auth": {"spanCount": 1},
            "db": {"spanCount": 2, "errorCount": 1},
            "gateway": {"spanCount": 1}
        })
    );
    // keys exactly as Tempo's
    let mut keys: Vec<&str> = t.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    keys.sort();
    assert_eq!(
        keys,
        vec![
            "durationMs",
            "rootServiceName",
            "rootTraceName",
            "serviceStats",
            "spanSet",
            "spanSets",
            "startTimeUnixNano",
            "traceID"
        ]
    );
    // int attributes and spanset attributes as in 045
    let q = parse_search("{ span.http.status_code >= 500 } | count() > 1").unwrap();
    let json = search(&set, &q, SearchOptions::default()).to_tempo_json();
    let ss = &json["traces"][0]["spanSets"][0];
    assert_eq!(
        ss["spans"][0]["attributes"][0],
        serde_json::json!({"key": "http.status_code", "value": {"intValue": "500"}})
    );
    assert_eq!(
        ss["attributes"],
        serde_json::json!([{"key": "count()", "value": {"intValue": "3"}}])
    );
    // no root: Tempo's placeholder, no rootTraceName, no durationMs for a 0ms trace
    let q = parse_search("{ kind = consumer }").unwrap();
    let json = search(&set, &q, SearchOptions::default()).to_tempo_json();
    let t = &json["traces"][0];
    assert_eq!(t["rootServiceName"], "<root span not yet received>");
    assert!(t.get("rootTraceName").is_none());
    assert!(t.get("durationMs").is_none());
    // the whole response serializes with a traces array
    assert!(json["traces"].is_array());
    // results serialize
    assert!(serde_json::to_string(&search(&set, &q, SearchOptions::default())).is_ok());
}

#[test]
fn search_where_and_field_value() {
    let set = fixture();
    let q = parse_search("{}").unwrap();
    let r = query::search_where(&set, &q, SearchOptions::default(), |_, t| {
        t.duration_nanos() >= 100 * MS
    });
    let ids: Vec<&str> = r
        .traces
        .iter()
        .map(|t| t.trace_id.trim_start_matches('0'))
        .collect();
    assert_eq!(ids, vec!["c", "a"]);
    assert_eq!(r.inspected_traces, 2);
    let db = (0..set.span_count() as u32)
        .find(|&i| set.name(set.span(i).unwrap()) == "db query")
        .unwrap();
    let f = |s: &str| parse_field_name(s).unwrap();
    assert_eq!(
        query::field_value(&set, db, &f("resource.service.name")),
        Some(query::ResultValue::Str("db".into()))
    );
    assert_eq!(
        query::field_value(&set, db, &f(".http.status_code")),
        Some(query::ResultValue::Int(500))
    );
    assert_eq!(
        query::field_value(&set, db, &f("duration")),
        Some(query::ResultValue::Duration(60 * MS as i64))
    );
    assert_eq!(
        query::field_value(&set, db, &f("status")),
        Some(query::ResultValue::Str("error".into()))
    );
    assert_eq!(
        query::field_value(&set, db, &f("rootName")),
        Some(query::ResultValue::Str("GET /api".into()))
    );
    assert_eq!(query::field_value(&set, db, &f("span.nope")), None);
    assert_eq!(query::field_value(&set, 999, &f("name")), None);
}

#[test]
fn in_trace_filter_and_keep_hierarchy() {
    let set = fixture();
    let a = (0..set.traces().len() as u32)
        .find(|&t| set.trace(t).unwrap().trace_id.to_hex().ends_with("0a"))
        .unwrap();
    let q = parse_single_filter("{ name = \"db.exec\" }").unwrap();
    let spans = matching_spans(&set, a, &q);
    assert_eq!(spans.len(), 1);
    let kept = keep_hierarchy(&set, &spans);
    let kept_names: Vec<&str> = kept.iter().map(|&i| set.name(set.span(i).unwrap())).collect();
    assert_eq!(kept_names, vec!["GET /api", "db query", "db.exec"]);
    assert!(kept.windows(2).all(|w| w[0] < w[1]));
    assert!(matching_spans(&set, 99, &q).is_empty());
    assert!(keep_hierarchy(&set, &[]).is_empty());
}

/// A tiny deterministic generator for the no-panic test.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn random_input_never_panics() {
    let set = fixture();
    let pieces = [
        "{",
        "}",
        "(",
        ")",
        "|",
        "&&",
        "||",
        "!",
        "=",
        "!=",
        ">",
        ">>",
        "<",
        "<<",
        "~",
        "=~",
        "!~",
        ">=",
        "<=",
        ".a",
        "span.x",
        "resource.service.name",
        "name",
        "status",
        "error",
        "kind",
        "server",
        "duration",
        "1",
        "-2",
        "1.5",
        ".5",
        "1.5s",
        "10ms",
        "1h30m",
        "\"x\"",
        "\"(\"",
        "\"a.*\"",
        "`r`",
        "nil",
        "true",
        "count()",
        "avg(duration)",
        "by(",
        "select(",
        "coalesce()",
        "rate()",
        ",",
        " ",
        "\n",
        "span:",
        "trace:",
        ".\"q",
        "\\",
        "µ",
        "é",
        "\"",
        "#",
        "+",
        "-",
        "*",
        "&",
        "!>",
        "quantile_over_time(",
        "{}",
        "} |",
    ];
    let mut rng = Lcg(42);
    for _ in 0..20_000 {
        let n = (rng.next() % 12) as usize;
        let mut q = String::new();
        for _ in 0..n {
            if rng.next().is_multiple_of(7) {
                q.push(char::from_u32((rng.next() % 0x2FF) as u32).unwrap_or('?'));
            } else {
                q.push_str(pieces[(rng.next() as usize) % pieces.len()]);
            }
        }
        if let Ok(parsed) = parse(&q) {
            let _ = search(&set, &parsed, SearchOptions::default());
        }
        let _ = parse_search(&q);
        let _ = parse_single_filter(&q);
        let _ = parse_field_name(&q);
        let _ = is_metrics_query(&q);
    }
    // raw bytes as text
    for _ in 0..5_000 {
        let len = (rng.next() % 40) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| (rng.next() % 256) as u8).collect();
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(parsed) = parse(&text) {
            let _ = search(&set, &parsed, SearchOptions::default());
        }
    }
    // long operator chains and quantifier chains are refused, not a stack overflow
    let long = vec!["{ .a = 1 }"; 100_000].join(" && ");
    let err = parse(&long).unwrap_err();
    assert!(err.to_string().contains("too complex"), "{err}");
    let long = format!("{{ {} }}", vec![".a = 1"; 100_000].join(" || "));
    assert!(parse(&long).is_err());
    assert!(parse(&vec!["{ .a = 1 }"; 300].join(" >> ")).is_ok());
    let long = format!("{{ .a =~ \"a{}\" }}", "{1}".repeat(100_000));
    assert!(parse(&long).is_err());
    // deep nesting is an error, not a stack overflow
    let deep = format!("{}{{ .a = 1 }}{}", "(".repeat(5000), ")".repeat(5000));
    assert!(parse(&deep).is_err());
    let deep = format!("{{ {}.a = 1{} }}", "(".repeat(5000), ")".repeat(5000));
    assert!(parse(&deep).is_err());
    let deep = format!("{{ {}.a = 1 }}", "!".repeat(5000));
    assert!(parse(&deep).is_err());
    let deep = format!("{{ .a =~ \"{}\" }}", "(".repeat(5000));
    assert!(parse(&deep).is_err());
}

/// The SDK traces behind the recorded Tempo responses, read with the OTLP reader.
fn client_traces() -> Option<TraceSet> {
    let dir = Path::new("/work/shared/tempo-api/client_otlp");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    files.sort();
    let mut builder = TraceSetBuilder::new();
    for f in files {
        let bytes = std::fs::read(&f).ok()?;
        spanlens_core::formats::read_into(&mut builder, &bytes, None, None)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
    Some(builder.finish())
}

fn recorded(name: &str) -> Option<serde_json::Value> {
    serde_json::from_str(&shared(&format!("responses/{name}"))?).ok()
}

fn span_ids(spanset: &serde_json::Value) -> Vec<String> {
    let mut ids: Vec<String> = spanset["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["spanID"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

/// Attributes of each span, keyed by span id, attribute lists sorted (Tempo's order varies).
fn span_attrs(spanset: &serde_json::Value) -> BTreeMap<String, Vec<String>> {
    spanset["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let mut attrs: Vec<String> = s["attributes"]
                .as_array()
                .map(|a| a.iter().map(|x| x.to_string()).collect())
                .unwrap_or_default();
            attrs.sort();
            (s["spanID"].as_str().unwrap().to_string(), attrs)
        })
        .collect()
}

#[test]
fn matches_recorded_tempo_search_responses() {
    let (Some(set), Some(r037), Some(r045)) = (
        client_traces(),
        recorded("037_search_q_kr_error.json"),
        recorded("045_search_q_count_pipeline.json"),
    ) else {
        eprintln!("shared Tempo recordings not available; skipped");
        return;
    };
    assert_eq!(set.traces().len(), 4);

    // 037: { resource.service.name = "knowledge-router" && status = error }
    let q = parse_search("{ resource.service.name = \"knowledge-router\" && status = error }").unwrap();
    let ours = search(&set, &q, SearchOptions::default()).to_tempo_json();
    let ours = ours["traces"].as_array().unwrap();
    let ids: Vec<&str> = ours.iter().map(|t| t["traceID"].as_str().unwrap()).collect();
    // Most recent first; both are in Tempo's answer, the other two SDK traces have no
    // knowledge-router error.
    assert_eq!(
        ids,
        vec![
            "9e8036d307ac72f279cc2011ed9d7dd9",
            "2dd08e8263e9a8584490023bee0cf61d"
        ]
    );
    let theirs = r037["traces"].as_array().unwrap();
    for t in ours {
        let id = t["traceID"].as_str().unwrap();
        let tempo = theirs
            .iter()
            .find(|x| x["traceID"] == id)
            .unwrap_or_else(|| panic!("{id} not in 037"));
        for key in [
            "rootServiceName",
            "rootTraceName",
            "startTimeUnixNano",
            "durationMs",
            "serviceStats",
        ] {
            assert_eq!(t[key], tempo[key], "{id} {key}");
        }
        assert_eq!(
            t["spanSets"].as_array().unwrap().len(),
            tempo["spanSets"].as_array().unwrap().len()
        );
        assert_eq!(
            t["spanSets"][0]["matched"], tempo["spanSets"][0]["matched"],
            "{id}"
        );
        assert_eq!(
            span_ids(&t["spanSets"][0]),
            span_ids(&tempo["spanSets"][0]),
            "{id}"
        );
        assert_eq!(
            span_attrs(&t["spanSets"][0]),
            span_attrs(&tempo["spanSets"][0]),
            "{id}"
        );
        for s in t["spanSets"][0]["spans"].as_array().unwrap() {
            let their_span = tempo["spanSets"][0]["spans"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["spanID"] == s["spanID"])
                .unwrap();
            assert_eq!(s["startTimeUnixNano"], their_span["startTimeUnixNano"]);
            assert_eq!(s["durationNanos"], their_span["durationNanos"]);
        }
        assert_eq!(span_ids(&t["spanSet"]), span_ids(&tempo["spanSet"]));
        let mut our_keys: Vec<&String> = t.as_object().unwrap().keys().collect();
        let mut their_keys: Vec<&String> = tempo.as_object().unwrap().keys().collect();
        our_keys.sort();
        their_keys.sort();
        assert_eq!(our_keys, their_keys);
    }

    // 045: { span.http.response.status_code >= 500 } | count() > 1 (limit 5). Tempo's limit
    // stops at the first traces found, so its five do not include our SDK traces; check the
    // shape on the one of ours that matches, against the form of Tempo's answer.
    let q = parse_search("{ span.http.response.status_code >= 500 } | count() > 1").unwrap();
    let ours = search(
        &set,
        &q,
        SearchOptions {
            limit: 5,
            spans_per_spanset: 3,
        },
    )
    .to_tempo_json();
    let ours = ours["traces"].as_array().unwrap();
    assert_eq!(ours.len(), 1);
    let t = &ours[0];
    assert_eq!(t["traceID"], "2dd08e8263e9a8584490023bee0cf61d");
    assert_eq!(t["spanSets"][0]["matched"], 3);
    assert_eq!(
        span_ids(&t["spanSets"][0]),
        vec!["3d712850f0166e53", "626813c4fd14ea09", "6f57797f684a8d4f"]
    );
    let tempo = &r045["traces"][0];
    assert_eq!(
        t["spanSets"][0]["attributes"],
        serde_json::json!([{"key": "count()", "value": {"intValue": "3"}}])
    );
    assert_eq!(
        tempo["spanSets"][0]["attributes"][0]["key"], t["spanSets"][0]["attributes"][0]["key"],
        "same spanset attribute key as Tempo"
    );
    let our_span = &t["spanSets"][0]["spans"][0];
    let their_span = &tempo["spanSets"][0]["spans"][0];
    let mut a: Vec<&String> = our_span.as_object().unwrap().keys().collect();
    let mut b: Vec<&String> = their_span.as_object().unwrap().keys().collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    assert_eq!(
        our_span["attributes"], their_span["attributes"],
        "{{http.response.status_code: intValue 500}}"
    );

    // 016: v2 trace-by-id q={ status = error } keeps the error spans of that trace.
    let q = parse_single_filter("{ status = error }").unwrap();
    let index = (0..4u32)
        .find(|&i| set.trace(i).unwrap().trace_id.to_hex() == "9e8036d307ac72f279cc2011ed9d7dd9")
        .unwrap();
    let mut kept: Vec<String> = matching_spans(&set, index, &q)
        .iter()
        .map(|&i| set.span(i).unwrap().span_id.to_hex())
        .collect();
    kept.sort();
    assert_eq!(
        kept,
        vec!["120d6eb1a8431941", "237ecd1f94a82e68", "34c9fc792f47339c"]
    );
}

#[test]
fn deep_and_wide_traces_evaluate_quickly() {
    // One chain 2000 deep, one root with 20000 children.
    let mut rows = Vec::new();
    let names: Vec<&'static str> = (0..2000)
        .map(|i| &*Box::leak(format!("n{i}").into_boxed_str()))
        .collect();
    let mut b = TraceSetBuilder::new();
    let service_name = b.arena.intern("svc");
    let resource = b.arena.push_resource(Resource {
        service_name,
        ..Default::default()
    });
    for (i, name) in names.iter().enumerate() {
        rows.push((
            TraceId([1; 16]),
            i as u64,
            (i > 0).then(|| i as u64 - 1),
            *name,
            i as u64,
        ));
    }
    for i in 0..20_001u64 {
        let name = if i == 0 { "wide root" } else { "leaf" };
        rows.push((TraceId([2; 16]), i, (i > 0).then_some(0), name, i));
    }
    for (trace_id, id, parent, name, start) in rows {
        let name = b.arena.intern(name);
        let attrs = b
            .arena
            .store_attrs(&[("i".to_string(), OwnedValue::Int((id % 7) as i64))]);
        b.push_span(Span {
            trace_id,
            span_id: SpanId((id + 1).to_be_bytes()),
            parent_span_id: parent.map(|p| SpanId((p + 1).to_be_bytes())),
            name,
            start_unix_nanos: 1_000 + start,
            end_unix_nanos: 1_000_000 + start,
            attrs,
            resource,
            ..Default::default()
        });
    }
    let set = b.finish();
    let started = std::time::Instant::now();
    let count = |q: &str| -> usize {
        let query = parse_search(q).unwrap();
        (0..set.traces().len() as u32)
            .map(|t| matching_spans(&set, t, &query).len())
            .sum()
    };
    assert_eq!(count("{ name = \"n0\" } >> { }"), 1999);
    assert_eq!(count("{ name = \"n1999\" } << { }"), 1999);
    assert_eq!(count("{ name = \"n5\" } > { }"), 1);
    assert_eq!(count("{ name = \"n5\" } < { }"), 1);
    assert_eq!(count("{ name = \"wide root\" } > { }"), 20_000);
    assert_eq!(count("{ name = \"leaf\" } ~ { name = \"leaf\" }"), 20_000);
    assert_eq!(count("{ } | by(span.i) | count() > 2800"), 20_001);
    let leaf = matching_spans(
        &set,
        set.find_trace(TraceId([1; 16])).unwrap(),
        &parse_search("{ name = \"n1999\" }").unwrap(),
    );
    assert_eq!(keep_hierarchy(&set, &leaf).len(), 2000);
    let r = search(
        &set,
        &parse_search("{ } | by(span.i)").unwrap(),
        SearchOptions::default(),
    );
    assert_eq!(r.traces.len(), 2);
    assert!(started.elapsed().as_secs() < 20, "took {:?}", started.elapsed());
}
