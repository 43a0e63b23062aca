//! The SQLite store against the `TraceStore` contract: merging, every filter of
//! `find_traces`, tags (including saturated keys), tenants, retention, stats, concurrent
//! group-committed writers, and reopening.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use prost::Message;
use spanlens_core::formats::otlp_proto::wire;
use spanlens_core::model::TraceId;
use spanlens_server::store::sqlite::{SqliteStore, MAX_VALUES_PER_KEY};
use spanlens_server::store::{TagScope, TraceFilter, TraceStore};

const T: &str = "t1";

fn tenants() -> Vec<String> {
    vec![T.to_string()]
}

fn int_kv(k: &str, v: i64) -> wire::KeyValue {
    wire::KeyValue {
        key: k.to_string(),
        value: Some(wire::AnyValue {
            value: Some(wire::AnyValueKind::IntValue(v)),
        }),
    }
}

/// Trace `seed`: a root of `service` starting at `start` lasting `dur`, plus one child.
fn trace(
    seed: u64,
    service: &str,
    start: u64,
    dur: u64,
    error: bool,
    attrs: Vec<wire::KeyValue>,
) -> wire::TracesData {
    let id = trace_id(seed);
    let mut root = span(&id, 0, &format!("root-{service}"), attrs);
    root.start_time_unix_nano = start;
    root.end_time_unix_nano = start + dur;
    let mut child = span(&id, 1, "child", vec![]);
    child.start_time_unix_nano = start + 1;
    child.end_time_unix_nano = start + 2;
    if error {
        child.status = Some(wire::Status {
            code: 2,
            message: "boom".to_string(),
        });
    }
    batch(service, vec![root, child])
}

fn ids(store: &SqliteStore, filter: &TraceFilter) -> Vec<u64> {
    store
        .find_traces(&tenants(), filter)
        .unwrap()
        .iter()
        .map(|s| u64::from_be_bytes(s.trace_id.0[..8].try_into().unwrap()))
        .collect()
}

#[test]
fn filters_tags_and_summaries() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let s = 1_000_000_000_000u64;
    store
        .append_otlp(
            T,
            &trace(
                1,
                "gateway",
                s,
                5_000_000,
                false,
                vec![kv("http.route", "/a"), int_kv("n", 1)],
            ),
        )
        .unwrap();
    store
        .append_otlp(
            T,
            &trace(
                2,
                "gateway",
                s + 10,
                50_000_000,
                true,
                vec![kv("http.route", "/b")],
            ),
        )
        .unwrap();
    store
        .append_otlp(
            T,
            &trace(
                3,
                "postgres",
                s + 20,
                500_000_000,
                false,
                vec![kv("http.route", "/a")],
            ),
        )
        .unwrap();
    store
        .append_otlp("other", &trace(4, "gateway", s + 30, 1, false, vec![]))
        .unwrap();

    // Most recent first; limit.
    assert_eq!(ids(&store, &TraceFilter::default()), vec![3, 2, 1]);
    assert_eq!(
        ids(
            &store,
            &TraceFilter {
                limit: 2,
                ..Default::default()
            }
        ),
        vec![3, 2]
    );
    // Summary facts.
    let all = store.find_traces(&tenants(), &TraceFilter::default()).unwrap();
    let t2 = all.iter().find(|t| t.trace_id == TraceId(trace_id(2))).unwrap();
    assert_eq!(
        (t2.root_service.as_str(), t2.root_name.as_str()),
        ("gateway", "root-gateway")
    );
    assert_eq!((t2.span_count, t2.error_count), (2, 1));
    assert_eq!(t2.end_unix_nanos - t2.start_unix_nanos, 50_000_000);
    // Duration, time window, errors, service, span name, attributes.
    let f = |f: TraceFilter| ids(&store, &f);
    assert_eq!(
        f(TraceFilter {
            min_duration_nanos: Some(40_000_000),
            ..Default::default()
        }),
        vec![3, 2]
    );
    assert_eq!(
        f(TraceFilter {
            max_duration_nanos: Some(40_000_000),
            ..Default::default()
        }),
        vec![1]
    );
    assert_eq!(
        f(TraceFilter {
            errors_only: true,
            ..Default::default()
        }),
        vec![2]
    );
    assert_eq!(
        f(TraceFilter {
            service: Some("postgres".into()),
            ..Default::default()
        }),
        vec![3]
    );
    assert_eq!(
        f(TraceFilter {
            span_name: Some("root-gateway".into()),
            ..Default::default()
        }),
        vec![2, 1]
    );
    assert_eq!(
        f(TraceFilter {
            span_name: Some("nope".into()),
            ..Default::default()
        }),
        Vec::<u64>::new()
    );
    let attrs = |pairs: &[(&str, &str)]| TraceFilter {
        attributes: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    };
    assert_eq!(f(attrs(&[("http.route", "/a")])), vec![3, 1]);
    assert_eq!(
        f(attrs(&[("http.route", "/a"), ("service.name", "gateway")])),
        vec![1]
    );
    assert_eq!(f(attrs(&[("n", "1")])), vec![1]);
    assert_eq!(f(attrs(&[("http.route", "/zzz")])), Vec::<u64>::new());
    assert_eq!(
        f(TraceFilter {
            start_unix_nanos: Some(s + 5_000_001),
            end_unix_nanos: Some(s + 1_000),
            ..Default::default()
        }),
        vec![3, 2]
    );

    // Tags: names per scope, typed values, no intrinsics, tenants apart.
    let names = store.tag_names(&tenants(), None).unwrap();
    assert!(names.contains(&(TagScope::Span, "http.route".to_string())));
    assert!(names.contains(&(TagScope::Resource, "service.name".to_string())));
    assert!(!names.iter().any(|(_, k)| k == "name"));
    let span_only = store.tag_names(&tenants(), Some(TagScope::Span)).unwrap();
    assert!(span_only.iter().all(|(s, _)| *s == TagScope::Span));
    let values = store.tag_values(&tenants(), None, "service.name", 10).unwrap();
    assert_eq!(
        values.iter().map(|v| v.value.as_str()).collect::<Vec<_>>(),
        vec!["gateway", "postgres"]
    );
    let n = store
        .tag_values(&tenants(), Some(TagScope::Span), "n", 10)
        .unwrap();
    assert_eq!((n[0].value_type, n[0].value.as_str()), ("int", "1"));
    assert_eq!(
        store.tag_values(&tenants(), None, "http.route", 1).unwrap().len(),
        1
    );
    assert!(store
        .tag_values(&["nobody".to_string()], None, "http.route", 10)
        .unwrap()
        .is_empty());

    // Stats.
    let stats = store.stats().unwrap();
    assert_eq!((stats.traces, stats.spans), (4, 8));
    assert!(stats.bytes_on_disk > 0);

    // load_traces: several at once.
    let set = store
        .load_traces(
            &tenants(),
            &[TraceId(trace_id(1)), TraceId(trace_id(3)), TraceId(trace_id(4))],
        )
        .unwrap();
    assert_eq!(set.traces().len(), 2);
    // Window on get_trace.
    assert!(store
        .get_trace(&tenants(), TraceId(trace_id(1)), Some((0, s - 1)))
        .unwrap()
        .is_none());
    assert!(store
        .get_trace(&tenants(), TraceId(trace_id(1)), Some((s, s + 1)))
        .unwrap()
        .is_some());
}

#[test]
fn saturated_keys_still_filter_correctly() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let n = MAX_VALUES_PER_KEY as u64 + 50;
    let mut data = wire::TracesData::default();
    for i in 0..n {
        data.resource_spans.extend(
            trace(
                i + 1,
                "svc",
                1_000 + i,
                10,
                false,
                vec![int_kv("request.id", i as i64)],
            )
            .resource_spans,
        );
    }
    let outcome = store.append_otlp(T, &data).unwrap();
    assert_eq!(outcome.spans_stored, 2 * n);
    // A value past the cap is not in the dictionary, but the filter still finds its trace.
    let last = (n - 1).to_string();
    let found = store
        .find_traces(
            &tenants(),
            &TraceFilter {
                attributes: vec![("request.id".to_string(), last)],
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].trace_id, TraceId(trace_id(n)));
    assert!(store.tag_values(&tenants(), None, "request.id", 0).unwrap().len() <= MAX_VALUES_PER_KEY);
}

#[test]
fn concurrent_writers_merge_and_everything_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SqliteStore::open(dir.path()).unwrap();
        let mut threads = Vec::new();
        for w in 0..4u64 {
            let store = store.clone();
            threads.push(std::thread::spawn(move || {
                for i in 0..50u64 {
                    // Every writer adds one span to the shared trace 1 and a trace of its own.
                    let id = trace_id(1);
                    let shared = batch("svc", vec![span(&id, 1 + w * 100 + i, "s", vec![])]);
                    store.append_otlp(T, &shared).unwrap();
                    let own =
                        wire::TracesData::decode(trace_bytes(1_000 + w * 100 + i, 3).as_slice()).unwrap();
                    store.append_otlp(T, &own).unwrap();
                }
            }));
        }
        for t in threads {
            t.join().unwrap();
        }
        store.close();
    }
    let store = SqliteStore::open(dir.path()).unwrap();
    let shared = store
        .get_trace(&tenants(), TraceId(trace_id(1)), None)
        .unwrap()
        .unwrap();
    assert_eq!(shared.set.span_count(), 200);
    assert!(!shared.partial);
    let stats = store.stats().unwrap();
    assert_eq!(stats.traces, 201);
    assert_eq!(stats.spans, 200 + 600);
}

#[test]
fn retention_deletes_by_last_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    store.append_otlp(T, &trace(1, "a", 1, 1, false, vec![])).unwrap();
    let cutoff = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        + 1;
    std::thread::sleep(std::time::Duration::from_millis(5));
    store.append_otlp(T, &trace(2, "a", 1, 1, false, vec![])).unwrap();
    assert_eq!(store.delete_before(cutoff).unwrap(), 1);
    assert!(store
        .get_trace(&tenants(), TraceId(trace_id(1)), None)
        .unwrap()
        .is_none());
    assert!(store
        .get_trace(&tenants(), TraceId(trace_id(2)), None)
        .unwrap()
        .is_some());
    assert_eq!(store.delete_before(cutoff).unwrap(), 0);
}

#[test]
fn append_of_a_model_set_goes_through_the_same_path() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let set = spanlens_core::formats::read(&trace_bytes(5, 4), None).unwrap();
    let outcome = store.append(T, &set).unwrap();
    assert_eq!(outcome.spans_stored, 4);
    let back = store
        .get_trace(&tenants(), TraceId(trace_id(5)), None)
        .unwrap()
        .unwrap();
    assert_eq!(back.set.span_count(), 4);
    assert_eq!(back.set.service_name(&back.set.spans()[0]), "svc");
}
