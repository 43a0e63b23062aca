use super::*;
use crate::diagnostics::DiagnosticKind as K;

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");

fn load(rel: &str) -> Vec<u8> {
    std::fs::read(format!("{SHARED}/{rel}")).unwrap()
}

fn read_set(bytes: &[u8]) -> Result<crate::model::TraceSet, String> {
    let mut b = TraceSetBuilder::new();
    read(bytes, &mut b)?;
    Ok(b.finish())
}

#[test]
fn tempo_trace_and_trace_by_id_response() {
    for (file, partial) in [
        ("tempo-api/responses/006_trace_v1_chat_ok_protobuf.pb", false),
        ("tempo-api/responses/008_trace_v2_chat_ok_protobuf.pb", false),
    ] {
        let set = read_set(&load(file)).unwrap();
        assert_eq!(set.span_count(), 15, "{file}");
        assert_eq!(set.traces().len(), 1);
        assert_eq!(
            set.traces()[0].trace_id.to_hex(),
            "2909406c2e416788f5ec52ed01088475"
        );
        assert_eq!(!set.diagnostics.warnings.is_empty(), partial);
        assert!(set.diagnostics.is_clean());
    }
}

#[test]
fn partial_trace_by_id_response() {
    let trace =
        wire::TracesData::decode(load("tempo-api/responses/006_trace_v1_chat_ok_protobuf.pb").as_slice())
            .unwrap();
    let resp = wire::TraceByIdResponse {
        trace: Some(wire::TempoTrace {
            batches: trace.resource_spans,
        }),
        status: 1,
        message: "Trace filtered".into(),
    };
    let set = read_set(&resp.encode_to_vec()).unwrap();
    assert_eq!(set.span_count(), 15);
    assert_eq!(set.diagnostics.count(K::PartialTrace), 1);
    assert_eq!(
        set.diagnostics.warnings,
        vec!["partial trace: Trace filtered".to_string()]
    );
}

#[test]
fn garbage_is_rejected_or_reported_never_panics() {
    assert!(read_set(b"").is_err());
    assert!(read_set(b"{\"resourceSpans\":[]}").is_err());
    assert!(read_set(&[0xff; 64]).is_err());
    // A tiny deterministic PRNG over many random and mutated inputs.
    let base = load("tempo-api/responses/006_trace_v1_chat_ok_protobuf.pb");
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..400 {
        let bytes: Vec<u8> = if round % 2 == 0 {
            let len = (next() % 300) as usize;
            (0..len).map(|_| next() as u8).collect()
        } else {
            let mut b = base.clone();
            for _ in 0..4 {
                let i = (next() as usize) % b.len();
                b[i] = next() as u8;
            }
            b.truncate((next() as usize) % (b.len() + 1));
            b
        };
        if let Ok(set) = read_set(&bytes) {
            // Accepted only with plausible spans.
            assert!(set.span_count() > 0 || set.diagnostics.spans_skipped > 0);
        }
    }
}

#[test]
fn bad_ids_are_skipped_and_short_ids_padded() {
    let span = |trace_id: Vec<u8>, span_id: Vec<u8>| wire::Span {
        trace_id,
        span_id,
        name: "x".into(),
        start_time_unix_nano: 2,
        end_time_unix_nano: 1,
        kind: 9,
        ..Default::default()
    };
    let data = wire::TracesData {
        resource_spans: vec![wire::ResourceSpans {
            scope_spans: vec![wire::ScopeSpans {
                spans: vec![
                    span(vec![1; 16], vec![2; 8]),
                    span(vec![], vec![2; 8]),
                    span(vec![1; 16], vec![]),
                    span(vec![1; 20], vec![3; 8]),
                    span(vec![1; 8], vec![4; 8]),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let set = read_set(&data.encode_to_vec()).unwrap();
    assert_eq!(set.span_count(), 2);
    assert_eq!(set.diagnostics.count(K::MissingTraceId), 2);
    assert_eq!(set.diagnostics.count(K::MissingSpanId), 1);
    assert_eq!(set.diagnostics.count(K::NegativeDuration), 2);
    assert_eq!(set.diagnostics.count(K::InvalidField), 2);
    assert!(set
        .spans()
        .iter()
        .any(|s| s.trace_id.to_hex() == "00000000000000000101010101010101"));
}

#[test]
fn instrumentation_library_spans_field_1000() {
    let data = wire::TracesData {
        resource_spans: vec![wire::ResourceSpans {
            instrumentation_library_spans: vec![wire::InstrumentationLibrarySpans {
                instrumentation_library: Some(wire::InstrumentationLibrary {
                    name: "old".into(),
                    version: "1".into(),
                }),
                spans: vec![wire::Span {
                    trace_id: vec![1; 16],
                    span_id: vec![2; 8],
                    start_time_unix_nano: 1,
                    end_time_unix_nano: 2,
                    ..Default::default()
                }],
                schema_url: String::new(),
            }],
            ..Default::default()
        }],
    };
    let bytes = data.encode_to_vec();
    // Field 1000, wire type 2: key varint 0x1f42 → bytes c2 3e.
    assert_eq!(&bytes[2..4], &[0xc2, 0x3e]);
    let set = read_set(&bytes).unwrap();
    assert_eq!(set.str(set.scope(&set.spans()[0]).name), "old");
}

#[test]
fn field_numbers_match_the_spec() {
    // A span with every scalar field set, checked against hand-computed protobuf keys.
    let s = wire::Span {
        trace_id: vec![0xaa; 16],
        span_id: vec![0xbb; 8],
        trace_state: "t".into(),
        parent_span_id: vec![0xcc; 8],
        name: "n".into(),
        kind: 2,
        start_time_unix_nano: 1,
        end_time_unix_nano: 2,
        dropped_attributes_count: 3,
        dropped_events_count: 4,
        dropped_links_count: 5,
        status: Some(wire::Status {
            message: "m".into(),
            code: 2,
        }),
        flags: 0x101,
        ..Default::default()
    };
    let b = s.encode_to_vec();
    let has = |key: &[u8]| b.windows(key.len()).any(|w| w == key);
    assert!(has(&[0x0a, 16])); // 1: trace_id
    assert!(has(&[0x12, 8])); // 2: span_id
    assert!(has(&[0x1a, 1, b't'])); // 3: trace_state
    assert!(has(&[0x22, 8])); // 4: parent_span_id
    assert!(has(&[0x2a, 1, b'n'])); // 5: name
    assert!(has(&[0x30, 2])); // 6: kind
    assert!(has(&[0x39, 1, 0, 0, 0, 0, 0, 0, 0])); // 7: fixed64 start
    assert!(has(&[0x41, 2, 0, 0, 0, 0, 0, 0, 0])); // 8: fixed64 end
    assert!(has(&[0x50, 3])); // 10
    assert!(has(&[0x60, 4])); // 12
    assert!(has(&[0x70, 5])); // 14
    assert!(has(&[0x7a, 5, 0x12, 1, b'm', 0x18, 2])); // 15: status {2: message, 3: code}
    assert!(has(&[0x85, 0x01, 0x01, 0x01, 0, 0])); // 16: fixed32 flags
    let v = wire::AnyValue {
        value: Some(wire::AnyValueKind::BytesValue(vec![1])),
    };
    assert_eq!(v.encode_to_vec(), vec![0x3a, 1, 1]);
    let kv = wire::KeyValueList {
        values: vec![wire::KeyValue {
            key: "k".into(),
            value: Some(wire::AnyValue {
                value: Some(wire::AnyValueKind::DoubleValue(1.0)),
            }),
        }],
    };
    assert_eq!(
        kv.encode_to_vec(),
        vec![0x0a, 14, 0x0a, 1, b'k', 0x12, 9, 0x21, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]
    );
    let resp = wire::ExportTraceServiceResponse {
        partial_success: Some(wire::ExportTracePartialSuccess {
            rejected_spans: 1,
            error_message: "e".into(),
        }),
    };
    assert_eq!(resp.encode_to_vec(), vec![0x0a, 5, 0x08, 1, 0x12, 1, b'e']);
}
