use super::json::{push_double, push_json_string};
use super::*;
use crate::formats::{read, Format};
use crate::model::{
    Event, KeyValue, Link, OwnedValue, Resource, Scope, Span, SpanId, SpanKind, StatusCode, TraceId,
    TraceSetBuilder,
};
use serde_json::Value as J;

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");

fn load(rel: &str) -> Vec<u8> {
    std::fs::read(format!("{SHARED}/{rel}")).unwrap()
}

/// The span objects of a Tempo/OTLP JSON text, by spanId, as written (textual slices).
fn span_texts(t: &str) -> Vec<(String, String)> {
    let bytes = t.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(found) = t[i..].find("\"spans\":[") {
        i += found + "\"spans\":[".len();
        while bytes[i] == b'{' {
            let (mut depth, mut j, mut in_str) = (0, i, false);
            loop {
                let c = bytes[j];
                if in_str {
                    if c == b'\\' {
                        j += 1;
                    } else if c == b'"' {
                        in_str = false;
                    }
                } else if c == b'"' {
                    in_str = true;
                } else if c == b'{' {
                    depth += 1;
                } else if c == b'}' {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                j += 1;
            }
            let obj = &t[i..=j];
            let v: J = serde_json::from_str(obj).unwrap();
            out.push((v["spanId"].as_str().unwrap().to_string(), obj.to_string()));
            i = j + 1;
            if bytes[i] == b',' {
                i += 1;
            }
        }
    }
    out.sort();
    out
}

/// Top-level keys of a JSON object, in order.
fn key_order(obj: &str) -> Vec<String> {
    struct Keys(Vec<String>);
    impl<'de> serde::Deserialize<'de> for Keys {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = Keys;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Keys, A::Error> {
                    let mut k = Vec::new();
                    while let Some((key, _)) = m.next_entry::<String, serde::de::IgnoredAny>()? {
                        k.push(key);
                    }
                    Ok(Keys(k))
                }
            }
            d.deserialize_map(V)
        }
    }
    serde_json::from_str::<Keys>(obj).unwrap().0
}

fn sort_attrs(v: &mut J) {
    if let Some(a) = v.get_mut("attributes").and_then(J::as_array_mut) {
        a.sort_by(|x, y| x["key"].as_str().cmp(&y["key"].as_str()));
    }
}

/// Tempo's reordering normalised away: attributes sorted by key, events by time, spans by id,
/// scope schema URLs dropped (Tempo does not keep them).
fn normalise(doc: &J) -> (Vec<J>, Vec<J>) {
    let mut groups = Vec::new();
    let mut spans = Vec::new();
    for batch in doc["batches"].as_array().unwrap() {
        let mut resource = batch["resource"].clone();
        sort_attrs(&mut resource);
        for ss in batch["scopeSpans"].as_array().unwrap() {
            groups.push(serde_json::json!({"resource": resource, "scope": ss["scope"]}));
            for s in ss["spans"].as_array().unwrap() {
                let mut s = s.clone();
                sort_attrs(&mut s);
                if let Some(events) = s.get_mut("events").and_then(J::as_array_mut) {
                    events.sort_by_key(|e| e["timeUnixNano"].as_str().unwrap().parse::<u64>().unwrap());
                }
                spans.push(s);
            }
        }
    }
    groups.sort_by_key(|g| g.to_string());
    spans.sort_by_key(|s| s["spanId"].as_str().unwrap().to_string());
    (groups, spans)
}

#[test]
fn tempo_v1_matches_recorded_tempo_response() {
    let set = read(
        &load("tempo-api/client_otlp/2909406c2e416788f5ec52ed01088475.json"),
        Some(Format::OtlpJson),
    )
    .unwrap();
    let ours = to_tempo_v1_json(&set, None);
    let tempo = String::from_utf8(load("tempo-api/responses/005_trace_v1_chat_ok.json")).unwrap();
    let ours_json: J = serde_json::from_str(&ours).unwrap();
    let tempo_json: J = serde_json::from_str(&tempo).unwrap();
    assert_eq!(normalise(&ours_json), normalise(&tempo_json));

    // Key order of every span is Tempo's; spans whose attributes and events Tempo kept in the
    // sent order are byte-identical.
    let ours_spans = span_texts(&ours);
    let tempo_spans = span_texts(&tempo);
    assert_eq!(ours_spans.len(), 15);
    let mut identical = 0;
    for ((id_a, a), (id_b, b)) in ours_spans.iter().zip(&tempo_spans) {
        assert_eq!(id_a, id_b);
        assert_eq!(key_order(a), key_order(b), "{id_a}");
        fn keys(t: &str) -> Vec<&str> {
            t.match_indices("\"key\":")
                .map(|(i, _)| &t[i..i + 40.min(t.len() - i)])
                .collect()
        }
        fn times(t: &str) -> Vec<&str> {
            t.match_indices("\"timeUnixNano\"")
                .map(|(i, _)| &t[i..i + 36])
                .collect()
        }
        if keys(a) == keys(b) && times(a) == times(b) {
            assert_eq!(a, b, "{id_a}");
            identical += 1;
        }
    }
    assert!(identical >= 3, "{identical}");
    // Tempo drops the scope schema URL the client sent, and so do we.
    assert!(!tempo.contains("schemaUrl") && !ours.contains("schemaUrl"));
    // Top-level and resource-level shape.
    assert!(ours.starts_with("{\"batches\":[{\"resource\":{\"attributes\":[{\"key\":"));
}

#[test]
fn tempo_v2_shape_and_partial() {
    let set = read(
        &load("tempo-api/client_otlp/2909406c2e416788f5ec52ed01088475.json"),
        Some(Format::OtlpJson),
    )
    .unwrap();
    let v2 = to_tempo_v2_json(&set, Some(0), &TempoV2Meta::default());
    assert!(v2.starts_with("{\"trace\":{\"resourceSpans\":[{\"resource\":"));
    let ours: J = serde_json::from_str(&v2).unwrap();
    let tempo: J = serde_json::from_slice(&load("tempo-api/responses/007_trace_v2_chat_ok.json")).unwrap();
    let wrap = |j: &J| serde_json::json!({"batches": j["trace"]["resourceSpans"]});
    assert_eq!(normalise(&wrap(&ours)), normalise(&wrap(&tempo)));

    let meta = TempoV2Meta {
        inspected_bytes: Some(351864),
        partial_message: Some(
            "Trace filtered, only a subset of spans matching the filter is returned".into(),
        ),
    };
    let root = set.root_of(&set.traces()[0]).unwrap();
    let partial = spans_to_tempo_v2_json(&set, &[root], &meta);
    assert!(partial.ends_with(
        "]}]},\"metrics\":{\"inspectedBytes\":\"351864\"},\"status\":\"PARTIAL\",\"message\":\"Trace filtered, only a subset of spans matching the filter is returned\"}"
    ), "{partial}");
    let back = read(partial.as_bytes(), None).unwrap();
    assert_eq!(back.span_count(), 1);
    assert_eq!(back.diagnostics.warnings.len(), 1);

    let empty = spans_to_tempo_v2_json(
        &set,
        &[],
        &TempoV2Meta {
            inspected_bytes: Some(0),
            partial_message: None,
        },
    );
    assert_eq!(empty, "{\"trace\":{},\"metrics\":{}}");
    assert_eq!(spans_to_tempo_v1_json(&set, &[]), "{\"batches\":[]}");
}

#[test]
fn spec_otlp_json_encoding() {
    let set = read(
        &load("tempo-api/client_otlp/2dd08e8263e9a8584490023bee0cf61d.json"),
        Some(Format::OtlpJson),
    )
    .unwrap();
    let json = to_otlp_json(&set, None);
    let v: J = serde_json::from_str(&json).unwrap();
    let span = &v["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    let tid = span["traceId"].as_str().unwrap();
    assert_eq!(tid.len(), 32);
    assert_eq!(tid, tid.to_ascii_lowercase());
    assert!(span["kind"].is_u64(), "{span}");
    assert!(span["startTimeUnixNano"].is_string());
    assert!(!json.contains("SPAN_KIND_"));
    assert!(!json.contains("STATUS_CODE_"));
    assert!(json.contains("\"code\":2"));
    assert!(json.contains("\"flags\":256"));
}

fn tiny_set() -> TraceSet {
    let mut b = TraceSetBuilder::new();
    let attrs = b.arena.store_attrs(&[
        ("s".into(), OwnedValue::Str("a<b>&\"\\\n\u{1}é".into())),
        ("i".into(), OwnedValue::Int(-9_007_199_254_740_993)),
        ("d".into(), OwnedValue::Double(1.0)),
        ("nan".into(), OwnedValue::Double(f64::NAN)),
        ("inf".into(), OwnedValue::Double(f64::NEG_INFINITY)),
        ("b".into(), OwnedValue::Bool(false)),
        ("bytes".into(), OwnedValue::Bytes(vec![0, 1, 255])),
        (
            "arr".into(),
            OwnedValue::Array(vec![
                OwnedValue::Int(1),
                OwnedValue::Empty,
                OwnedValue::Array(vec![]),
            ]),
        ),
        (
            "kv".into(),
            OwnedValue::KvList(vec![("x".into(), OwnedValue::Str(String::new()))]),
        ),
        ("empty".into(), OwnedValue::Empty),
    ]);
    let service = b.arena.intern("svc");
    let rattrs = b
        .arena
        .store_attrs(&[("service.name".into(), OwnedValue::Str("svc".into()))]);
    let resource = b.arena.push_resource(Resource {
        service_name: service,
        attrs: rattrs,
        ..Resource::default()
    });
    let scope = b.arena.push_scope(Scope::default());
    let name = b.arena.intern("op");
    let ev_name = b.arena.intern("ev");
    let events = b.arena.push_events(&[Event {
        time_unix_nanos: 5,
        name: ev_name,
        ..Event::default()
    }]);
    let links = b.arena.push_links(&[Link {
        trace_id: TraceId([7; 16]),
        span_id: SpanId([8; 8]),
        flags: 1,
        ..Link::default()
    }]);
    let _ = KeyValue {
        key: name,
        value: crate::model::Value::Empty,
    };
    b.push_span(Span {
        trace_id: TraceId([1; 16]),
        span_id: SpanId([2; 8]),
        name,
        kind: SpanKind::Consumer,
        status_code: StatusCode::Ok,
        start_unix_nanos: 1_795_247_280_383_305_634,
        end_unix_nanos: 1_795_247_280_383_305_635,
        attrs,
        events,
        links,
        resource,
        scope,
        flags: 0x301,
        dropped_links_count: 2,
        ..Span::default()
    });
    b.finish()
}

#[test]
fn tempo_encoding_details() {
    let set = tiny_set();
    let v1 = to_tempo_v1_json(&set, None);
    assert_eq!(
        v1,
        concat!(
            r#"{"batches":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"#,
            r#""scopeSpans":[{"scope":{},"spans":[{"traceId":"AQEBAQEBAQEBAQEBAQEBAQ==","spanId":"AgICAgICAgI=","#,
            r#""name":"op","kind":"SPAN_KIND_CONSUMER","startTimeUnixNano":"1795247280383305634","#,
            r#""endTimeUnixNano":"1795247280383305635","attributes":["#,
            r#"{"key":"s","value":{"stringValue":"a\u003cb\u003e\u0026\"\\\n\u0001é"}},"#,
            r#"{"key":"i","value":{"intValue":"-9007199254740993"}},"#,
            r#"{"key":"d","value":{"doubleValue":1}},"#,
            r#"{"key":"nan","value":{"doubleValue":"NaN"}},"#,
            r#"{"key":"inf","value":{"doubleValue":"-Infinity"}},"#,
            r#"{"key":"b","value":{"boolValue":false}},"#,
            r#"{"key":"bytes","value":{"bytesValue":"AAH/"}},"#,
            r#"{"key":"arr","value":{"arrayValue":{"values":[{"intValue":"1"},{},{"arrayValue":{}}]}}},"#,
            r#"{"key":"kv","value":{"kvlistValue":{"values":[{"key":"x","value":{"stringValue":""}}]}}},"#,
            r#"{"key":"empty","value":{}}],"#,
            r#""events":[{"timeUnixNano":"5","name":"ev"}],"#,
            r#""links":[{"traceId":"BwcHBwcHBwcHBwcHBwcHBw==","spanId":"CAgICAgICAg="}],"droppedLinksCount":2,"#,
            r#""status":{"code":"STATUS_CODE_OK"}}]}]}]}"#
        )
    );
    let spec = to_otlp_json(&set, None);
    assert!(
        spec.contains(r#""spanId":"0202020202020202","flags":769,"name":"op","kind":5,"#),
        "{spec}"
    );
    assert!(spec.contains(r#""status":{"code":1}"#));
    assert!(spec.contains(r#"{"stringValue":"a<b>&\"\\\n\u0001é"}"#));
    assert!(spec.contains(r#""scopeSpans":[{"spans":["#));
    // Both read back to the same values (NaN compared through its spelling).
    for text in [&v1, &spec] {
        let back = read(text.as_bytes(), Some(Format::OtlpJson)).unwrap();
        let a = format!("{:?}", back.arena.load_attrs(back.spans()[0].attrs));
        let b = format!("{:?}", set.arena.load_attrs(set.spans()[0].attrs));
        assert_eq!(a, b);
    }
    let pb = to_otlp_proto(&set, Some(0));
    let back = read(&pb, Some(Format::OtlpProto)).unwrap();
    assert_eq!(
        format!("{:?}", back.arena.load_attrs(back.spans()[0].attrs)),
        format!("{:?}", set.arena.load_attrs(set.spans()[0].attrs))
    );
    assert_eq!(back.spans()[0].flags, 0x301);
}

#[test]
fn doubles_are_written_like_go() {
    let f = |d: f64| {
        let mut s = String::new();
        push_double(&mut s, d);
        s
    };
    assert_eq!(f(1.0), "1");
    assert_eq!(f(0.0), "0");
    assert_eq!(f(-0.5), "-0.5");
    assert_eq!(f(0.007583), "0.007583");
    assert_eq!(f(1e21), "1e+21");
    assert_eq!(f(1.5e-7), "1.5e-7");
    assert_eq!(f(123456789012345680.0), "123456789012345680");
    assert_eq!(f(f64::INFINITY), "\"Infinity\"");
    let mut s = String::new();
    push_json_string(&mut s, "\u{2028}<", false);
    assert_eq!(s, "\"\u{2028}<\"");
}

#[test]
fn group_spans_keeps_first_appearance_order() {
    let set = read(
        &load("fixtures/otlp/oteldemo-file-exporter-5-traces.jsonl"),
        Some(Format::OtlpJson),
    )
    .unwrap();
    let all = span_indexes(&set, None);
    let groups = group_spans(&set, &all);
    let total: usize = groups
        .iter()
        .flat_map(|g| g.scopes.iter().map(|s| s.1.len()))
        .sum();
    assert_eq!(total, set.span_count());
    // Out-of-range indexes are ignored.
    assert_eq!(group_spans(&set, &[u32::MAX]).len(), 0);
    assert_eq!(span_indexes(&set, Some(999)).len(), 0);
}
