//! TraceQL search over the SQLite store with the prefilter (the store's candidate scan) gives
//! exactly what evaluating the query over every stored trace in the window gives: same traces,
//! same order, same spansets, for many query shapes (`||`, `!=`, regexes, negation, structural
//! operators, spanset `&&`, unscoped attributes, array values, long values, saturated keys,
//! absent and rare attribute values, durations), limits, windows and tenants; over traces
//! written in one or several requests (merged attribute filters) and over a database written
//! before attribute filters existed (rows without one).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use spanlens_core::formats::otlp_proto::wire;
use spanlens_core::model::{TraceId, TraceSet};
use spanlens_core::query::{self, SearchOptions, TempoTrace};
use spanlens_server::api::tempo::search::traceql;
use spanlens_server::store::sqlite::{SqliteStore, MAX_VALUES_PER_KEY};
use spanlens_server::store::{TraceFilter, TraceStore};

const BASE: u64 = 1_700_000_000_000_000_000;
const MS: u64 = 1_000_000;

/// xorshift64*: deterministic data without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

fn any(v: wire::AnyValueKind) -> Option<wire::AnyValue> {
    Some(wire::AnyValue { value: Some(v) })
}

fn kv(k: &str, v: wire::AnyValueKind) -> wire::KeyValue {
    wire::KeyValue {
        key: k.to_string(),
        value: any(v),
    }
}

fn s(v: &str) -> wire::AnyValueKind {
    wire::AnyValueKind::StringValue(v.to_string())
}

fn strings(vs: &[&str]) -> wire::AnyValueKind {
    wire::AnyValueKind::ArrayValue(wire::ArrayValue {
        values: vs.iter().map(|v| wire::AnyValue { value: Some(s(v)) }).collect(),
    })
}

fn long_value() -> String {
    "L".repeat(300)
}

fn long_name() -> String {
    format!("op-{}", "n".repeat(300))
}

const SERVICES: &[&str] = &["svc-0", "svc-1", "svc-2", "svc-3"];
const NAMES: &[&str] = &["GET /a", "GET /b", "db", "cache", "queue", "render"];

fn id_of(seed: u64) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
    id[8..].copy_from_slice(&seed.to_be_bytes());
    id
}

/// One random trace as OTLP (one resource per service), split into one or two requests.
/// `name_of(i)` names span `i` when given; `uid` numbers spans store-wide.
fn random_trace(
    rng: &mut Rng,
    seed: u64,
    start: u64,
    uid: &mut u64,
    name_of: Option<&dyn Fn(u64) -> String>,
) -> Vec<wire::TracesData> {
    let id = id_of(seed);
    let n = 1 + rng.below(7);
    let mut per_service: Vec<(String, Vec<wire::KeyValue>, Vec<wire::Span>)> = Vec::new();
    for i in 0..n {
        let parent = if i == 0 { None } else { Some(rng.below(i)) };
        let mut attrs = vec![kv("http.route", s(rng.pick(&["/a", "/b", "/c"])))];
        match rng.below(6) {
            0 => attrs.push(kv("k", strings(&["x", "y"]))),
            1 => attrs.push(kv("k", s("x"))),
            2 => attrs.push(kv("k", s("z"))),
            3 => attrs.push(kv("k", wire::AnyValueKind::IntValue(7))),
            _ => {}
        }
        if rng.below(10) == 0 {
            attrs.push(kv("long", s(&long_value())));
        }
        attrs.push(kv("uid", s(&format!("u{uid}"))));
        *uid += 1;
        let name = match name_of {
            Some(f) => f(*uid),
            None if rng.below(25) == 0 => long_name(),
            None => rng.pick(NAMES).to_string(),
        };
        let span_start = start + i * MS;
        let duration = match rng.below(4) {
            0 => rng.below(10) * MS,
            1 => 500 * MS + rng.below(1000) * MS,
            _ => rng.below(400) * MS,
        };
        let span = wire::Span {
            trace_id: id.to_vec(),
            span_id: (seed * 100 + i + 1).to_be_bytes().to_vec(),
            parent_span_id: parent
                .map(|p| (seed * 100 + p + 1).to_be_bytes().to_vec())
                .unwrap_or_default(),
            name,
            kind: 1 + rng.below(5) as i32,
            start_time_unix_nano: span_start,
            end_time_unix_nano: span_start + duration,
            attributes: attrs,
            status: (rng.below(8) == 0).then(|| wire::Status {
                code: 2,
                message: "boom".to_string(),
            }),
            ..wire::Span::default()
        };
        let service = rng.pick(SERVICES).to_string();
        match per_service.iter_mut().find(|(svc, _, _)| *svc == service) {
            Some(entry) => entry.2.push(span),
            None => {
                let mut resource = vec![
                    kv("service.name", s(&service)),
                    kv("env", s(rng.pick(&["prod", "dev"]))),
                ];
                if rng.below(4) == 0 {
                    resource.push(kv("k", s(rng.pick(&["x", "w"]))));
                }
                per_service.push((service, resource, vec![span]));
            }
        }
    }
    let to_rs = |(_, resource, spans): (String, Vec<wire::KeyValue>, Vec<wire::Span>)| wire::ResourceSpans {
        resource: Some(wire::Resource {
            attributes: resource,
            dropped_attributes_count: 0,
        }),
        scope_spans: vec![wire::ScopeSpans {
            spans,
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut all: Vec<wire::ResourceSpans> = per_service.into_iter().map(to_rs).collect();
    // Some traces arrive in two requests (two chunks, a merged summary row).
    if all.len() > 1 && rng.below(3) == 0 {
        let rest = all.split_off(1);
        vec![
            wire::TracesData { resource_spans: all },
            wire::TracesData { resource_spans: rest },
        ]
    } else {
        vec![wire::TracesData { resource_spans: all }]
    }
}

/// Span numbers used: the last one of `t1` (past the saturation of `uid`) and the first one of
/// `t2` (its span names are `op-<number>`).
struct Filled {
    last_t1_uid: u64,
    first_t2_uid: u64,
}

/// Fills tenant `t1` with varied traces (start times with many ties; `uid` saturates), tenant
/// `t2` with traces whose span names saturate the name index, and a few trace ids in both.
fn fill(store: &SqliteStore) -> Filled {
    let mut rng = Rng(0x5EED);
    let mut uid = 0u64;
    let mut batch = wire::TracesData::default();
    // Second parts of traces go in a later request: their rows merge.
    let mut later = wire::TracesData::default();
    for seed in 1..=700u64 {
        let start = BASE + rng.below(60) * 1_000 * MS;
        for (i, part) in random_trace(&mut rng, seed, start, &mut uid, None)
            .into_iter()
            .enumerate()
        {
            let to = if i == 0 { &mut batch } else { &mut later };
            to.resource_spans.extend(part.resource_spans);
        }
        if seed.is_multiple_of(50) {
            store.append_otlp("t1", &std::mem::take(&mut batch)).unwrap();
            store.append_otlp("t1", &std::mem::take(&mut later)).unwrap();
        }
    }
    store.append_otlp("t1", &batch).unwrap();
    store.append_otlp("t1", &later).unwrap();
    let last_t1_uid = uid - 1;
    let first_t2_uid = uid + 1;
    assert!(uid > MAX_VALUES_PER_KEY as u64 + 100);

    let distinct = |i: u64| format!("op-{i}");
    let mut batch = wire::TracesData::default();
    for seed in 1001..=1600u64 {
        let start = BASE + rng.below(60) * 1_000 * MS;
        for part in random_trace(&mut rng, seed, start, &mut uid, Some(&distinct)) {
            batch.resource_spans.extend(part.resource_spans);
        }
    }
    store.append_otlp("t2", &batch).unwrap();
    assert!(uid - first_t2_uid > MAX_VALUES_PER_KEY as u64 + 100);

    // Shared ids: t1 holds a "GET /a" root, t2 an error "db" child, starting together.
    for seed in 2001..=2005u64 {
        let id = id_of(seed);
        let start = BASE + 30_000 * MS;
        let root = wire::Span {
            trace_id: id.to_vec(),
            span_id: (seed * 100 + 1).to_be_bytes().to_vec(),
            name: "GET /a".to_string(),
            start_time_unix_nano: start,
            end_time_unix_nano: start + 50 * MS,
            ..wire::Span::default()
        };
        let child = wire::Span {
            span_id: (seed * 100 + 2).to_be_bytes().to_vec(),
            parent_span_id: (seed * 100 + 1).to_be_bytes().to_vec(),
            name: "shared-db".to_string(),
            start_time_unix_nano: start,
            end_time_unix_nano: start + 900 * MS,
            status: Some(wire::Status {
                code: 2,
                message: String::new(),
            }),
            ..root.clone()
        };
        let data = |span: wire::Span| wire::TracesData {
            resource_spans: vec![wire::ResourceSpans {
                resource: Some(wire::Resource {
                    attributes: vec![kv("service.name", s("svc-0"))],
                    dropped_attributes_count: 0,
                }),
                scope_spans: vec![wire::ScopeSpans {
                    spans: vec![span],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        store.append_otlp("t1", &data(root)).unwrap();
        store.append_otlp("t2", &data(child)).unwrap();
    }
    Filled {
        last_t1_uid,
        first_t2_uid,
    }
}

fn queries(filled: &Filled) -> Vec<String> {
    let mut q: Vec<String> = [
        r#"{ name = "GET /a" }"#,
        r#"{ name = "GET /a" && status = error }"#,
        r#"{ status = error }"#,
        r#"{ status != error }"#,
        r#"{ resource.service.name = "svc-1" }"#,
        r#"{ .service.name = "svc-2" }"#,
        r#"{ span.http.route = "/b" }"#,
        r#"{ .k = "x" }"#,
        r#"{ .k = "y" }"#,
        r#"{ span.k = "y" }"#,
        r#"{ resource.k = "x" }"#,
        r#"{ .k = 7 }"#,
        r#"{ span.k != "x" }"#,
        r#"{ name =~ "GET.*" }"#,
        r#"{ .k !~ "x" }"#,
        r#"{ !(name = "GET /a") }"#,
        r#"{ !(name = "GET /a" || status = error) && name = "db" }"#,
        r#"{ name = "GET /a" || status = error }"#,
        r#"{ name = "GET /a" || name = "cache" }"#,
        r#"{ name = "GET /a" } || { .k = "y" }"#,
        r#"{ name = "nope" } || { name = "queue" }"#,
        r#"{ name = "GET /a" } >> { status = error }"#,
        r#"{ name = "GET /a" } > { name = "db" }"#,
        r#"{ name = "db" } ~ { name = "cache" }"#,
        r#"{ name = "GET /a" } && { name = "db" }"#,
        r#"{ name = "GET /a" } && { name = "shared-db" }"#,
        r#"{ name = "GET /a" } < { status = error }"#,
        r#"{ name = "db" } << { name = "cache" }"#,
        r#"{ duration > 300ms }"#,
        r#"{ duration >= 100ms && name = "db" }"#,
        r#"{ 1s < duration }"#,
        r#"{ duration > 800ms } || { name = "render" }"#,
        r#"{ traceDuration > 500ms }"#,
        r#"{ traceDuration < 200ms }"#,
        r#"{ duration < 10ms }"#,
        r#"{ name = "nope" }"#,
        r#"{ false }"#,
        r#"{ false } || { name = "db" }"#,
        r#"{ rootName = "GET /a" }"#,
        r#"{ rootServiceName = "svc-0" }"#,
        r#"{ .env = "prod" && status = error } | count() > 1"#,
        r#"{ name = "db" } | { status = error }"#,
        r#"{ }"#,
        r#"{ name = "GET /a" } | select(.http.route)"#,
        r#"{ kind = server && .http.route = "/c" }"#,
        r#"{ name = "db" } | by(resource.service.name)"#,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    q.push(r#"{ .uid = "u17" }"#.to_string());
    q.push(format!(r#"{{ .uid = "u{}" }}"#, filled.last_t1_uid));
    // Absent values, values only in arrays or only on resources, a rare value of a saturated
    // key, and attribute conditions combined with others.
    for text in [
        r#"{ .http.route = "/nope" }"#,
        r#"{ span.http.route = "/nope" || resource.env = "nope" }"#,
        r#"{ .uid = "u-none" }"#,
        r#"{ .k = "w" }"#,
        r#"{ span.k = "w" }"#,
        r#"{ resource.k = "y" }"#,
        r#"{ .k = "y" && .env = "dev" }"#,
        r#"{ .k = "x" } | { .http.route = "/zz" }"#,
        r#"{ .http.route = "/zz" || status = error }"#,
        r#"{ .env = "prod" } >> { .k = "y" }"#,
    ] {
        q.push(text.to_string());
    }
    q.push(format!(r#"{{ .uid = "u{}" }}"#, rare_uid(filled)));
    q.push(format!(
        r#"{{ name = "db" }} >> {{ .uid = "u{}" || .uid = "u{}" }}"#,
        rare_uid(filled) + 1,
        rare_uid(filled) + 2
    ));
    let late = filled.first_t2_uid + MAX_VALUES_PER_KEY as u64 + 50;
    q.push(format!(r#"{{ name = "op-{late}" }}"#));
    q.push(format!(
        r#"{{ name = "op-{}" || name = "op-{}" }}"#,
        late + 1,
        filled.first_t2_uid + 3
    ));
    q.push(format!(r#"{{ .long = "{}" }}"#, long_value()));
    q.push(format!(r#"{{ name = "{}" }}"#, long_name()));
    q
}

/// A span number of `t1` whose `uid` value came after the key saturated (not in the dictionary).
fn rare_uid(filled: &Filled) -> u64 {
    (MAX_VALUES_PER_KEY as u64 + filled.last_t1_uid) / 2
}

/// The reference: every trace the window selects, loaded at once.
fn reference_set(store: &SqliteStore, tenants: &[String], window: &TraceFilter) -> TraceSet {
    let ids: Vec<TraceId> = store
        .find_traces(tenants, window)
        .unwrap()
        .iter()
        .map(|s| s.trace_id)
        .collect();
    store.load_traces(tenants, &ids).unwrap()
}

/// The reference answer: the query over the whole set in one go (results are sorted, so a
/// smaller limit is a prefix).
fn reference(set: &TraceSet, q: &query::Query, spss: usize) -> Vec<TempoTrace> {
    let options = SearchOptions {
        limit: 0,
        spans_per_spanset: spss,
    };
    query::search(set, q, options)
        .traces
        .iter()
        .map(|t| t.to_tempo())
        .collect()
}

fn json(traces: &[TempoTrace]) -> serde_json::Value {
    serde_json::to_value(traces).unwrap()
}

/// Every query over every window, tenant set and limit gives the reference answer; returns
/// how many (query, tenants, window) answers were not empty.
fn assert_reference(
    store: &SqliteStore,
    queries: &[String],
    windows: &[TraceFilter],
    limits: &[usize],
) -> usize {
    let one = vec!["t1".to_string()];
    let both = vec!["t1".to_string(), "t2".to_string()];
    let mut nonempty = 0;
    let parsed: Vec<query::Query> = queries.iter().map(|t| query::parse_search(t).unwrap()).collect();
    for tenants in [&one, &both] {
        for window in windows {
            let set = reference_set(store, tenants, window);
            for (text, q) in queries.iter().zip(&parsed) {
                let all = reference(&set, q, 3);
                nonempty += usize::from(!all.is_empty());
                for &limit in limits {
                    let filter = TraceFilter {
                        limit,
                        ..window.clone()
                    };
                    let want = &all[..all.len().min(limit)];
                    let got = traceql(store, tenants, &filter, q, 3).unwrap();
                    assert_eq!(
                        json(&got.traces),
                        json(want),
                        "{text} tenants={tenants:?} limit={limit} window={window:?}"
                    );
                }
            }
        }
    }
    nonempty
}

#[test]
fn prefiltered_search_equals_full_evaluation() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let filled = fill(&store);
    let windows = [
        TraceFilter::default(),
        TraceFilter {
            start_unix_nanos: Some(BASE + 10_000 * MS),
            end_unix_nanos: Some(BASE + 40_000 * MS),
            ..TraceFilter::default()
        },
        TraceFilter {
            min_duration_nanos: Some(300 * MS),
            max_duration_nanos: Some(1_200 * MS),
            ..TraceFilter::default()
        },
    ];
    let queries = queries(&filled);
    let nonempty = assert_reference(&store, &queries, &windows, &[1, 7, 5000]);
    // The data makes most queries match something.
    assert!(nonempty > queries.len() * 4, "{nonempty}");
}

/// A span of trace `id` with one string attribute.
fn extra_span(id: &[u8], n: u64, key: &str, value: &str) -> wire::TracesData {
    let start = BASE + 20_000 * MS;
    wire::TracesData {
        resource_spans: vec![wire::ResourceSpans {
            resource: Some(wire::Resource {
                attributes: vec![kv("service.name", s("svc-late"))],
                dropped_attributes_count: 0,
            }),
            scope_spans: vec![wire::ScopeSpans {
                spans: vec![wire::Span {
                    trace_id: id.to_vec(),
                    span_id: (9_000_000 + n).to_be_bytes().to_vec(),
                    parent_span_id: 1u64.to_be_bytes().to_vec(),
                    name: "late".to_string(),
                    start_time_unix_nano: start,
                    end_time_unix_nano: start + 5 * MS,
                    attributes: vec![kv(key, s(value)), kv("tags", strings(&["late-a", "late-b"]))],
                    ..wire::Span::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// A database written before attribute filters existed: opening it adds the column, its rows
/// (without filters) always pass, and stay without one when more spans of their trace arrive,
/// while new traces get filters.
#[test]
fn databases_without_attribute_filters_keep_every_match() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let filled = fill(&store);
    let path = store.path().to_path_buf();
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("ALTER TABLE traces DROP COLUMN attr_bloom")
        .unwrap();
    let rows_before: i64 = conn
        .query_row("SELECT count(*) FROM traces", [], |row| row.get(0))
        .unwrap();
    let old: Vec<Vec<u8>> = conn
        .prepare("SELECT trace_id FROM traces WHERE tenant = 't1' ORDER BY pk LIMIT 40")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    drop(conn);

    let store = SqliteStore::open(dir.path()).unwrap();
    // Old traces receive more spans; new traces arrive in one or two requests.
    for (i, id) in old.iter().enumerate() {
        let value = if i % 2 == 0 { "late-even" } else { "late-odd" };
        store
            .append_otlp("t1", &extra_span(id, i as u64, "late", value))
            .unwrap();
    }
    let mut rng = Rng(0xB100);
    let mut uid = 1_000_000u64;
    for seed in 3001..=3060u64 {
        let start = BASE + rng.below(60) * 1_000 * MS;
        for part in random_trace(&mut rng, seed, start, &mut uid, None) {
            store.append_otlp("t1", &part).unwrap();
        }
    }
    // A new trace, then more spans of it.
    let new_id = id_of(3001);
    store
        .append_otlp("t1", &extra_span(&new_id, 100, "late", "late-new"))
        .unwrap();

    let conn = rusqlite::Connection::open(&path).unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |row| row.get(0)).unwrap() };
    assert_eq!(
        count("SELECT count(*) FROM traces WHERE attr_bloom IS NULL"),
        rows_before
    );
    assert_eq!(
        count("SELECT count(*) FROM traces WHERE attr_bloom IS NOT NULL"),
        60
    );
    drop(conn);

    let mut queries = queries(&filled);
    for text in [
        r#"{ .late = "late-even" }"#,
        r#"{ .late = "late-odd" && name = "late" }"#,
        r#"{ .late = "late-new" }"#,
        r#"{ .late = "late-none" }"#,
        r#"{ .tags = "late-b" }"#,
        r#"{ resource.service.name = "svc-late" }"#,
    ] {
        queries.push(text.to_string());
    }
    let nonempty = assert_reference(&store, &queries, &[TraceFilter::default()], &[7, 5000]);
    assert!(nonempty > queries.len(), "{nonempty}");
    let found = |text: &str| {
        let q = query::parse_search(text).unwrap();
        let filter = TraceFilter {
            limit: 10_000,
            ..TraceFilter::default()
        };
        let tenants = vec!["t1".to_string()];
        traceql(store.as_ref(), &tenants, &filter, &q, 3)
            .unwrap()
            .traces
            .len()
    };
    assert_eq!(found(r#"{ .late = "late-even" }"#), 20);
    assert_eq!(found(r#"{ .late = "late-new" }"#), 1);
    assert_eq!(found(r#"{ .tags = "late-a" }"#), 41);
}

#[test]
fn matches_hidden_from_the_index_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let filled = fill(&store);
    let one = vec!["t1".to_string()];
    let both = vec!["t1".to_string(), "t2".to_string()];
    let count = |tenants: &[String], text: &str| {
        let q = query::parse_search(text).unwrap();
        let filter = TraceFilter {
            limit: 10_000,
            ..TraceFilter::default()
        };
        traceql(store.as_ref(), tenants, &filter, &q, 3)
            .unwrap()
            .traces
            .len()
    };
    // Only in arrays (never a tag), past the saturation of `uid`, too long to be indexed, a
    // saturated span name, and conditions met only by a trace's rows in two tenants together.
    assert!(count(&one, r#"{ .k = "y" }"#) > 0);
    assert_eq!(
        count(&one, &format!(r#"{{ .uid = "u{}" }}"#, filled.last_t1_uid)),
        1
    );
    assert!(count(&one, &format!(r#"{{ .long = "{}" }}"#, long_value())) > 0);
    assert!(count(&one, &format!(r#"{{ name = "{}" }}"#, long_name())) > 0);
    let late = filled.first_t2_uid + MAX_VALUES_PER_KEY as u64 + 50;
    assert_eq!(count(&both, &format!(r#"{{ name = "op-{late}" }}"#)), 1);
    assert_eq!(
        count(&both, r#"{ name = "GET /a" } && { name = "shared-db" }"#),
        5
    );
    assert!(
        count(
            &both,
            r#"{ name = "GET /a" } >> { status = error && duration > 800ms }"#
        ) >= 5
    );
    assert_eq!(count(&one, r#"{ name = "GET /a" } && { name = "shared-db" }"#), 0);
    assert_eq!(count(&one, r#"{ name = "nope" }"#), 0);
    // A rare value of a saturated key, absent values.
    assert_eq!(
        count(&one, &format!(r#"{{ .uid = "u{}" }}"#, rare_uid(&filled))),
        1
    );
    assert_eq!(count(&both, r#"{ .http.route = "/nope" }"#), 0);
    assert_eq!(count(&both, r#"{ .uid = "u-none" }"#), 0);
}
