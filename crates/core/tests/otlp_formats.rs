//! Cross-fixture tests of the OTLP readers and writers: every OTLP and Tempo fixture reads, and
//! survives read → write (spec OTLP JSON, Tempo v1/v2 JSON, OTLP protobuf) → read unchanged;
//! Tempo's recorded responses read to the same model as the spans the client sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use spanlens_core::formats::writers::{
    to_otlp_json, to_otlp_proto, to_tempo_v1_json, to_tempo_v2_json, TempoV2Meta,
};
use spanlens_core::formats::{read, Format};
use spanlens_core::model::TraceSet;

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");

fn load(rel: &str) -> Vec<u8> {
    std::fs::read(format!("{SHARED}/{rel}")).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn fixtures(dir: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(format!("{SHARED}/{dir}"))
        .unwrap()
        .map(|e| format!("{dir}/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    names.sort();
    names
}

/// A canonical, order-free description of a set: per trace, one line per span with everything
/// the file said (resource and scope by content, attributes in order).
fn canon(set: &TraceSet, keep_flags: bool) -> Vec<(String, Vec<String>)> {
    canon_with(set, keep_flags, false)
}

/// [`canon`], optionally with what Tempo does not keep normalised away: attribute lists sorted
/// by key (Tempo reorders some), events by time, and schema URLs left out (Tempo drops them).
fn canon_with(set: &TraceSet, keep_flags: bool, sort_attrs: bool) -> Vec<(String, Vec<String>)> {
    let a = &set.arena;
    let attrs = |r| {
        let mut v = a.load_attrs(r);
        if sort_attrs {
            v.sort_by(|x, y| x.0.cmp(&y.0));
        }
        v
    };
    let mut out = Vec::new();
    for t in set.traces() {
        let mut spans: Vec<String> = set
            .trace_spans(t)
            .iter()
            .map(|s| {
                let r = set.resource(s);
                let sc = set.scope(s);
                let mut events: Vec<_> = set
                    .events(s)
                    .iter()
                    .map(|e| {
                        (
                            e.time_unix_nanos,
                            a.str(e.name),
                            attrs(e.attrs),
                            e.dropped_attributes_count,
                        )
                    })
                    .collect();
                if sort_attrs {
                    // Tempo sorts events by time.
                    events.sort_by_key(|e| e.0);
                }
                let links: Vec<_> = set
                    .links(s)
                    .iter()
                    .map(|l| {
                        (
                            l.trace_id,
                            l.span_id,
                            a.str(l.trace_state),
                            attrs(l.attrs),
                            l.dropped_attributes_count,
                            if keep_flags { l.flags } else { 0 },
                        )
                    })
                    .collect();
                format!(
                    "{:?}",
                    (
                        (
                            s.span_id,
                            s.parent_span_id,
                            set.name(s),
                            s.kind,
                            s.status_code,
                            a.str(s.status_message)
                        ),
                        (s.start_unix_nanos, s.end_unix_nanos, a.str(s.trace_state)),
                        if keep_flags { s.flags } else { 0 },
                        (
                            s.dropped_attributes_count,
                            s.dropped_events_count,
                            s.dropped_links_count
                        ),
                        attrs(s.attrs),
                        events,
                        links,
                        (
                            a.str(r.service_name),
                            attrs(r.attrs),
                            r.dropped_attributes_count,
                            if sort_attrs { "" } else { a.str(r.schema_url) }
                        ),
                        (
                            a.str(sc.name),
                            a.str(sc.version),
                            attrs(sc.attrs),
                            if sort_attrs { "" } else { a.str(sc.schema_url) }
                        ),
                    )
                )
            })
            .collect();
        spans.sort();
        out.push((t.trace_id.to_hex(), spans));
    }
    out.sort();
    out
}

fn all_otlp_fixtures() -> Vec<String> {
    let mut v = fixtures("fixtures/otlp");
    v.extend(fixtures("fixtures/tempo"));
    v.extend(fixtures("tempo-api/client_otlp"));
    v
}

#[test]
fn every_fixture_reads_as_otlp_json() {
    for name in all_otlp_fixtures() {
        let set = read(&load(&name), Some(Format::OtlpJson)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(set.span_count() > 0, "{name}: no spans");
        eprintln!(
            "{name}: {} traces, {} spans, {}",
            set.traces().len(),
            set.span_count(),
            set.diagnostics.summary()
        );
    }
}

#[test]
fn round_trip_spec_otlp_json() {
    for name in all_otlp_fixtures() {
        let first = read(&load(&name), Some(Format::OtlpJson)).unwrap();
        let json = to_otlp_json(&first, None);
        let second = read(json.as_bytes(), Some(Format::OtlpJson)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(canon(&first, true), canon(&second, true), "{name}");
        // One trace at a time gives the same spans.
        for (i, t) in first.traces().iter().enumerate() {
            let one = read(
                to_otlp_json(&first, Some(i as u32)).as_bytes(),
                Some(Format::OtlpJson),
            )
            .unwrap();
            assert_eq!(one.span_count(), t.spans.len as usize, "{name} trace {i}");
        }
    }
}

#[test]
fn round_trip_tempo_json() {
    for name in all_otlp_fixtures() {
        let first = read(&load(&name), Some(Format::OtlpJson)).unwrap();
        let v1 = to_tempo_v1_json(&first, None);
        let second = read(v1.as_bytes(), Some(Format::OtlpJson)).unwrap_or_else(|e| panic!("{name}: {e}"));
        // Tempo's encoding keeps everything but span flags and scope schema URLs.
        assert_eq!(
            canon_with(&first, false, true),
            canon_with(&second, false, true),
            "{name} v1"
        );
        assert_eq!(canon(&first, false).len(), canon(&second, false).len());
        let v2 = to_tempo_v2_json(&first, None, &TempoV2Meta::default());
        let third = read(v2.as_bytes(), Some(Format::OtlpJson)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            canon_with(&first, false, true),
            canon_with(&third, false, true),
            "{name} v2"
        );
    }
}

#[test]
fn round_trip_protobuf() {
    for name in all_otlp_fixtures() {
        let first = read(&load(&name), Some(Format::OtlpJson)).unwrap();
        let pb = to_otlp_proto(&first, None);
        let second = read(&pb, Some(Format::OtlpProto)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(canon(&first, true), canon(&second, true), "{name}");
    }
}

#[test]
fn tempo_responses_match_what_the_client_sent() {
    let client = read(
        &load("tempo-api/client_otlp/2909406c2e416788f5ec52ed01088475.json"),
        None,
    )
    .unwrap();
    for response in [
        "tempo-api/responses/005_trace_v1_chat_ok.json",
        "tempo-api/responses/007_trace_v2_chat_ok.json",
        "tempo-api/responses/006_trace_v1_chat_ok_protobuf.pb",
        "tempo-api/responses/008_trace_v2_chat_ok_protobuf.pb",
    ] {
        let got = read(&load(response), None).unwrap_or_else(|e| panic!("{response}: {e}"));
        assert_eq!(got.span_count(), client.span_count(), "{response}");
        // Tempo drops span flags and reorders some attributes: compare without flags, with
        // attribute lists sorted by key.
        assert_eq!(
            canon_with(&got, false, true),
            canon_with(&client, false, true),
            "{response}"
        );
    }
}

#[test]
fn tempo_v2_pairs_and_empty() {
    for (v2, client) in [
        (
            "012_trace_v2_db_error.json",
            "2dd08e8263e9a8584490023bee0cf61d.json",
        ),
        (
            "014_trace_v2_consumer_links.json",
            "f0cd55bbff515deb478f9e35ea2fa58d.json",
        ),
    ] {
        let got = read(&load(&format!("tempo-api/responses/{v2}")), None).unwrap();
        let sent = read(&load(&format!("tempo-api/client_otlp/{client}")), None).unwrap();
        assert_eq!(
            canon_with(&got, false, true),
            canon_with(&sent, false, true),
            "{v2}"
        );
    }
    let empty = read(
        &load("tempo-api/responses/025_trace_v2_unknown_id.json"),
        Some(Format::OtlpJson),
    )
    .unwrap();
    assert_eq!(empty.span_count(), 0);
    let partial = read(
        &load("tempo-api/responses/016_trace_v2_filter_q_error.json"),
        None,
    )
    .unwrap();
    assert!(partial.span_count() > 0);
    assert_eq!(
        partial.diagnostics.warnings.len(),
        1,
        "{:?}",
        partial.diagnostics.warnings
    );
}
