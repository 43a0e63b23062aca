use super::*;
use crate::diagnostics::DiagnosticKind as K;
use crate::model::{OwnedValue, StatusCode, TraceSet};

fn read_ok(text: &str) -> TraceSet {
    let mut b = TraceSetBuilder::new();
    read(text.as_bytes(), &mut b).unwrap_or_else(|e| panic!("{e}\n{text}"));
    b.finish()
}

fn read_err(text: &str) -> String {
    let mut b = TraceSetBuilder::new();
    let err = read(text.as_bytes(), &mut b).unwrap_err();
    assert_eq!(b.span_count(), 0, "a rejected document must not add spans");
    assert!(b.diagnostics.is_clean(), "{:?}", b.diagnostics);
    err
}

const TID: &str = "5b8efff798038103d269b633813fc60c";
const SID: &str = "eee19b7ec3c1b174";

fn span(extra: &str) -> String {
    format!(
        r#"{{"traceId":"{TID}","spanId":"{SID}","name":"op","startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000"{extra}}}"#
    )
}

fn doc(spans: &str) -> String {
    format!(
        r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"svc"}}}}]}},"scopeSpans":[{{"scope":{{"name":"lib","version":"1"}},"spans":[{spans}]}}]}}]}}"#
    )
}

fn attr(set: &TraceSet, key: &str) -> OwnedValue {
    let s = &set.spans()[0];
    set.arena
        .load_value(set.span_attr(s, key).unwrap_or_else(|| panic!("no {key}")))
}

#[test]
fn plain_resource_spans() {
    let set = read_ok(&doc(&span(
        r#","kind":2,"status":{"code":2,"message":"boom"},"flags":257"#,
    )));
    assert_eq!(set.span_count(), 1);
    let s = &set.spans()[0];
    assert_eq!(s.trace_id.to_hex(), TID);
    assert_eq!(s.span_id.to_hex(), SID);
    assert_eq!(s.start_unix_nanos, 1_544_712_660_000_000_000);
    assert_eq!(s.end_unix_nanos, 1_544_712_661_000_000_000);
    assert_eq!(s.kind, SpanKind::Server);
    assert_eq!(s.status_code, StatusCode::Error);
    assert_eq!(set.str(s.status_message), "boom");
    assert_eq!(s.flags, 257);
    assert_eq!(set.service_name(s), "svc");
    let sc = set.scope(s);
    assert_eq!((set.str(sc.name), set.str(sc.version)), ("lib", "1"));
    assert!(set.diagnostics.is_clean(), "{:?}", set.diagnostics);
}

#[test]
fn every_envelope() {
    let inner = format!(r#"[{{"scopeSpans":[{{"spans":[{}]}}]}}]"#, span(""));
    for text in [
        format!(r#"{{"resourceSpans":{inner}}}"#),
        format!(r#"{{"batches":{inner}}}"#),
        format!(r#"{{"trace":{{"resourceSpans":{inner}}},"metrics":{{"inspectedBytes":"1"}}}}"#),
        format!(r#"{{"result":{{"resourceSpans":{inner}}}}}"#),
        format!(r#"[{{"resourceSpans":{inner}}}]"#),
        format!("\u{feff}  {{\"resourceSpans\":{inner}}}\n"),
    ] {
        let set = read_ok(&text);
        assert_eq!(set.span_count(), 1, "{text}");
        assert!(set.diagnostics.warnings.is_empty());
    }
}

#[test]
fn tempo_v2_empty_and_partial() {
    assert_eq!(read_ok(r#"{"trace":{},"metrics":{}}"#).span_count(), 0);
    let text = format!(
        r#"{{"trace":{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{}]}}]}}]}},"status":"PARTIAL","message":"Trace filtered"}}"#,
        span("")
    );
    let set = read_ok(&text);
    assert_eq!(set.span_count(), 1);
    assert_eq!(
        set.diagnostics.warnings,
        vec!["partial trace: Trace filtered".to_string()]
    );
    assert_eq!(set.diagnostics.count(K::PartialTrace), 1);
}

#[test]
fn not_otlp_is_rejected_without_side_effects() {
    read_err("");
    read_err("   \n ");
    read_err("{}");
    read_err(r#"{"data":[{"traceID":"1","spans":[]}]}"#);
    read_err(r#"[{"traceId":"1","id":"2"}]"#);
    read_err(r#"{"resourceSpans":"nope"}"#);
    read_err(r#"{"result":{"foo":1}}"#);
    read_err("{\"resourceSpans\":[");
    read_err("not json at all");
    read_err("\u{0}\u{1}\u{2}garbage\u{ff}");
    read_err("{\"a\":1}\n{\"b\":2}\n");
    read_err(&format!(
        "{}\n[1]",
        doc(&span("")).replace("resourceSpans", "other")
    ));
}

#[test]
fn json_lines_merge_one_trace_and_skip_bad_lines() {
    let other = "eee19b7ec3c1b175";
    let line1 = doc(&span(""));
    let line2 = doc(&span(&format!(r#","parentSpanId":"{SID}""#)).replace(
        &format!("\"spanId\":\"{SID}\""),
        &format!("\"spanId\":\"{other}\""),
    ));
    let text = format!("{line1}\n\n{{broken\n{{\"x\":1}}\n{line2}\n");
    let set = read_ok(&text);
    assert_eq!(set.traces().len(), 1);
    assert_eq!(set.span_count(), 2);
    assert_eq!(set.traces()[0].root_count, 1);
    assert_eq!(set.diagnostics.count(K::InvalidDocument), 2);
    let locations: Vec<&str> = set
        .diagnostics
        .examples
        .iter()
        .map(|d| d.location.as_str())
        .collect();
    assert_eq!(locations, vec!["line 3", "line 4"]);
}

#[test]
fn array_of_documents_reports_bad_elements() {
    let text = format!("[{}, {{\"x\":1}}, 5]", doc(&span("")));
    let set = read_ok(&text);
    assert_eq!(set.span_count(), 1);
    assert_eq!(set.diagnostics.count(K::InvalidDocument), 2);
}

#[test]
fn enums_as_names_and_ints() {
    for (kind, want) in [
        ("\"SPAN_KIND_CLIENT\"", SpanKind::Client),
        ("3", SpanKind::Client),
        ("\"3\"", SpanKind::Client),
        ("\"SPAN_KIND_PRODUCER\"", SpanKind::Producer),
        ("5", SpanKind::Consumer),
        ("0", SpanKind::Unspecified),
    ] {
        let set = read_ok(&doc(&span(&format!(
            r#","kind":{kind},"status":{{"code":"STATUS_CODE_OK"}}"#
        ))));
        assert_eq!(set.spans()[0].kind, want, "{kind}");
        assert_eq!(set.spans()[0].status_code, StatusCode::Ok);
    }
    let set = read_ok(&doc(&span(r#","kind":9,"status":{"code":"STATUS_CODE_WHAT"}"#)));
    assert_eq!(set.spans()[0].kind, SpanKind::Unspecified);
    assert_eq!(set.diagnostics.count(K::InvalidField), 2);
}

#[test]
fn ints_as_strings_or_numbers_never_floats() {
    let text = doc(&format!(
        r#"{{"traceId":"{TID}","spanId":"{SID}","startTimeUnixNano":1795247280383305634,"endTimeUnixNano":"18446744073709551615","attributes":[{{"key":"a","value":{{"intValue":11}}}},{{"key":"b","value":{{"intValue":"-9223372036854775808"}}}},{{"key":"c","value":{{"intValue":"9007199254740993"}}}},{{"key":"d","value":{{"intValue":1.5}}}},{{"key":"e","value":{{"intValue":"12abc"}}}}],"droppedAttributesCount":"3"}}"#
    ));
    let set = read_ok(&text);
    let s = &set.spans()[0];
    assert_eq!(s.start_unix_nanos, 1_795_247_280_383_305_634);
    assert_eq!(s.end_unix_nanos, u64::MAX);
    assert_eq!(s.dropped_attributes_count, 3);
    assert_eq!(attr(&set, "a"), OwnedValue::Int(11));
    assert_eq!(attr(&set, "b"), OwnedValue::Int(i64::MIN));
    assert_eq!(attr(&set, "c"), OwnedValue::Int(9_007_199_254_740_993));
    assert!(set.span_attr(s, "d").is_none());
    assert!(set.span_attr(s, "e").is_none());
    assert_eq!(set.diagnostics.count(K::InvalidAttribute), 2);
}

#[test]
fn float_times_are_rejected() {
    let text = doc(&format!(
        r#"{{"traceId":"{TID}","spanId":"{SID}","startTimeUnixNano":1.7952472803833057e18,"endTimeUnixNano":"1"}}"#
    ));
    let mut b = TraceSetBuilder::new();
    read(text.as_bytes(), &mut b).unwrap();
    let set = b.finish();
    assert_eq!(set.span_count(), 0);
    assert_eq!(set.diagnostics.count(K::InvalidTime), 1);
    assert_eq!(set.diagnostics.spans_skipped, 1);
}

#[test]
fn ids_hex_upper_base64_and_opaque() {
    let upper = TID.to_ascii_uppercase();
    let b64_t = TraceId::from_hex(TID).unwrap().to_base64();
    let b64_s = SpanId::from_hex(SID).unwrap().to_base64();
    for (t, s) in [(upper.as_str(), SID), (b64_t.as_str(), b64_s.as_str())] {
        let text = doc(&span("").replace(TID, t).replace(SID, s));
        let set = read_ok(&text);
        assert_eq!(set.spans()[0].trace_id.to_hex(), TID);
        assert_eq!(set.spans()[0].span_id.to_hex(), SID);
        assert!(set.diagnostics.is_clean());
    }
    let set = read_ok(&doc(&span(r#","parentSpanId":"span-0""#).replace(SID, "span-1")));
    assert_eq!(set.span_count(), 1);
    assert_eq!(set.diagnostics.count(K::OpaqueId), 2);
    assert!(set.spans()[0].parent_span_id.is_some());
    // Empty / all-zero parents are roots.
    for parent in ["\"\"", "\"AAAAAAAAAAA=\"", "null"] {
        let set = read_ok(&doc(&span(&format!(r#","parentSpanId":{parent}"#))));
        assert_eq!(set.spans()[0].parent_span_id, None, "{parent}");
    }
}

#[test]
fn every_any_value_kind() {
    let text = doc(&span(
        r#","attributes":[
        {"key":"s","value":{"stringValue":"x\u00e9\n"}},
        {"key":"b","value":{"boolValue":true}},
        {"key":"i","value":{"intValue":"-4"}},
        {"key":"d","value":{"doubleValue":0.5}},
        {"key":"d0","value":{"doubleValue":0}},
        {"key":"nan","value":{"doubleValue":"NaN"}},
        {"key":"inf","value":{"doubleValue":"Infinity"}},
        {"key":"ninf","value":{"doubleValue":"-Infinity"}},
        {"key":"bytes","value":{"bytesValue":"AAH/"}},
        {"key":"urlbytes","value":{"bytesValue":"AAH_"}},
        {"key":"arr","value":{"arrayValue":{"values":[{"stringValue":"a"},{"intValue":"1"},{"arrayValue":{"values":[{"boolValue":false}]}}]}}},
        {"key":"kv","value":{"kvlistValue":{"values":[{"key":"k","value":{"kvlistValue":{"values":[{"key":"deep","value":{"doubleValue":2}}]}}}]}}},
        {"key":"emptyarr","value":{"arrayValue":{}}},
        {"key":"empty","value":{}},
        {"key":"nullv","value":null},
        {"key":"novalue"}
        ]"#,
    ));
    let set = read_ok(&text);
    assert!(set.diagnostics.is_clean(), "{:?}", set.diagnostics);
    assert_eq!(attr(&set, "s"), OwnedValue::Str("xé\n".into()));
    assert_eq!(attr(&set, "b"), OwnedValue::Bool(true));
    assert_eq!(attr(&set, "i"), OwnedValue::Int(-4));
    assert_eq!(attr(&set, "d"), OwnedValue::Double(0.5));
    assert_eq!(attr(&set, "d0"), OwnedValue::Double(0.0));
    assert!(matches!(attr(&set, "nan"), OwnedValue::Double(d) if d.is_nan()));
    assert_eq!(attr(&set, "inf"), OwnedValue::Double(f64::INFINITY));
    assert_eq!(attr(&set, "ninf"), OwnedValue::Double(f64::NEG_INFINITY));
    assert_eq!(attr(&set, "bytes"), OwnedValue::Bytes(vec![0, 1, 255]));
    assert_eq!(attr(&set, "urlbytes"), OwnedValue::Bytes(vec![0, 1, 255]));
    assert_eq!(
        attr(&set, "arr"),
        OwnedValue::Array(vec![
            OwnedValue::Str("a".into()),
            OwnedValue::Int(1),
            OwnedValue::Array(vec![OwnedValue::Bool(false)])
        ])
    );
    assert_eq!(
        attr(&set, "kv"),
        OwnedValue::KvList(vec![(
            "k".into(),
            OwnedValue::KvList(vec![("deep".into(), OwnedValue::Double(2.0))])
        )])
    );
    assert_eq!(attr(&set, "emptyarr"), OwnedValue::Array(vec![]));
    assert_eq!(attr(&set, "empty"), OwnedValue::Empty);
    assert_eq!(attr(&set, "nullv"), OwnedValue::Empty);
    assert_eq!(attr(&set, "novalue"), OwnedValue::Empty);
    assert_eq!(set.attrs(&set.spans()[0]).len(), 16);
}

#[test]
fn bad_attributes_are_dropped_and_reported() {
    let text = doc(&span(
        r#","attributes":[
        {"key":"ok","value":{"stringValue":"v"}},
        {"value":{"stringValue":"nokey"}},
        {"key":"badbytes","value":{"bytesValue":"!!"}},
        {"key":"badbool","value":{"boolValue":3}},
        {"key":"badarr","value":{"arrayValue":{"values":[{"intValue":"x"}]}}},
        {"key":"notobj","value":"plain"},
        7
        ]"#,
    ));
    let set = read_ok(&text);
    assert_eq!(set.attrs(&set.spans()[0]).len(), 1);
    assert_eq!(set.diagnostics.count(K::InvalidAttribute), 6);
    let ex = set
        .diagnostics
        .examples
        .iter()
        .find(|d| d.kind == K::InvalidAttribute)
        .unwrap();
    assert_eq!(ex.span_id.as_deref(), Some(SID));
    assert_eq!(ex.location, "resourceSpans[0].scopeSpans[0].spans[0]");
}

#[test]
fn old_instrumentation_library_spans() {
    let text = format!(
        r#"{{"batches":[{{"resource":{{}},"instrumentationLibrarySpans":[{{"instrumentationLibrary":{{"name":"old","version":"0.1"}},"spans":[{}]}}]}}]}}"#,
        span("")
    );
    let set = read_ok(&text);
    let sc = set.scope(&set.spans()[0]);
    assert_eq!(set.str(sc.name), "old");
    assert_eq!(set.str(sc.version), "0.1");
    assert_eq!(set.service_name(&set.spans()[0]), crate::model::UNKNOWN_SERVICE);
}

#[test]
fn resource_and_scope_after_spans_are_patched() {
    let text = format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{}],"scope":{{"name":"late"}}}}],"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"late-svc"}}}}]}},"schemaUrl":"u"}}]}}"#,
        span("")
    );
    let set = read_ok(&text);
    let s = &set.spans()[0];
    assert_eq!(set.service_name(s), "late-svc");
    assert_eq!(set.str(set.scope(s).name), "late");
    assert_eq!(set.str(set.resource(s).schema_url), "u");
}

#[test]
fn bad_spans_skipped_with_the_right_diagnostics() {
    let spans = [
        span("").replace(&format!("\"traceId\":\"{TID}\","), ""),
        span("").replace(&format!("\"spanId\":\"{SID}\","), ""),
        span("").replace(TID, ""),
        span("").replace("\"1544712660000000000\"", "\"soon\""),
        span("").replace(",\"endTimeUnixNano\":\"1544712661000000000\"", ""),
        span("").replace("\"1544712660000000000\"", "-5"),
        span("").replace("1544712661000000000", "1544712650000000000"),
        span(
            r#","droppedAttributesCount":-1,"droppedEventsCount":"-1","name":5,"traceState":[1],"flags":"x""#,
        ),
        "\"not a span\"".to_string(),
    ];
    let set = read_ok(&doc(&spans.join(",")));
    let d = &set.diagnostics;
    assert_eq!(d.count(K::MissingTraceId), 2);
    assert_eq!(d.count(K::MissingSpanId), 1);
    assert_eq!(d.count(K::InvalidTime), 3);
    assert_eq!(d.count(K::NegativeDuration), 1);
    // -1 counts (2), name (1), traceState (1), flags (1), the string span entry (1).
    assert_eq!(d.count(K::InvalidField), 6);
    assert_eq!(d.spans_skipped, 7);
    // Kept: the negative-duration span and the one with bad fields (same ids: both kept).
    assert_eq!(set.span_count(), 2);
    let bad = set
        .spans()
        .iter()
        .find(|s| s.dropped_attributes_count == 0 && s.end_unix_nanos > s.start_unix_nanos)
        .unwrap();
    assert_eq!(bad.dropped_events_count, 0);
    let ex = d.examples.iter().find(|e| e.kind == K::InvalidTime).unwrap();
    assert_eq!(ex.field.as_deref(), Some("startTimeUnixNano"));
    assert_eq!(ex.location, "resourceSpans[0].scopeSpans[0].spans[3]");
}

#[test]
fn events_and_links() {
    let other_t = "0af7651916cd43dd8448eb211c80319c";
    let text = doc(&span(&format!(
        r#","events":[{{"timeUnixNano":"1544712660500000000","name":"e1","attributes":[{{"key":"k","value":{{"intValue":"1"}}}}],"droppedAttributesCount":2}},{{"name":"no time"}},{{"timeUnixNano":"1544712660600000000"}}],"droppedEventsCount":1,
        "links":[{{"traceId":"{other_t}","spanId":"b7ad6b7169203331","traceState":"a=b","attributes":[{{"key":"l","value":{{"boolValue":true}}}}],"flags":1}},{{"traceId":"","spanId":"x"}}],"droppedLinksCount":"4""#
    )));
    let set = read_ok(&text);
    let s = &set.spans()[0];
    let events = set.events(s);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].time_unix_nanos, 1_544_712_660_500_000_000);
    assert_eq!(set.str(events[0].name), "e1");
    assert_eq!(events[0].dropped_attributes_count, 2);
    assert_eq!(
        set.arena.load_attrs(events[0].attrs),
        vec![("k".to_string(), OwnedValue::Int(1))]
    );
    assert_eq!(set.str(events[1].name), "");
    let links = set.links(s);
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].trace_id.to_hex(), other_t);
    assert_eq!(set.str(links[0].trace_state), "a=b");
    assert_eq!(links[0].flags, 1);
    assert_eq!((s.dropped_events_count, s.dropped_links_count), (1, 4));
    assert_eq!(set.diagnostics.count(K::InvalidTime), 1);
    assert_eq!(set.diagnostics.count(K::InvalidField), 1);
}

#[test]
fn unknown_keys_and_escaped_keys_are_fine() {
    let text = doc(&span(r#","extra":{"deep":[1,2,{"x":null}]},"n\u0061me2":1"#))
        .replace("\"name\"", "\"n\\u0061me\"");
    let set = read_ok(&text);
    assert_eq!(set.name(&set.spans()[0]), "op");
    assert!(set.diagnostics.is_clean());
}

#[test]
fn hostile_nesting_does_not_panic() {
    let deep = "[".repeat(10_000);
    read_err(&deep);
    let mut v = String::from(r#"{"stringValue":"x"}"#);
    for _ in 0..100 {
        v = format!(r#"{{"arrayValue":{{"values":[{v}]}}}}"#);
    }
    let text = doc(&span(&format!(r#","attributes":[{{"key":"deep","value":{v}}}]"#)));
    let mut b = TraceSetBuilder::new();
    // Either rejected by serde_json's recursion limit or read with the attribute dropped.
    if read(text.as_bytes(), &mut b).is_ok() {
        let set = b.finish();
        assert_eq!(set.span_count(), 1);
    }
}

#[test]
fn intern_cache_never_confuses_strings() {
    // Few slots are hit by many strings of every length (0..=40, so both the window compare
    // and the arena compare are used): each id must read back as its string.
    let mut arena = crate::model::Arena::default();
    let mut cache = InternCache::new();
    let mut seed = 7u64;
    let mut strings = Vec::new();
    for i in 0..30_000u64 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let len = (seed >> 33) as usize % 41;
        let s: String = (0..len)
            .map(|k| char::from(b'a' + ((seed >> (k % 60)) as u8).wrapping_add(i as u8) % 3))
            .collect();
        strings.push(s);
    }
    for s in strings.iter().chain(strings.iter().rev()) {
        let id = cache.intern(&mut arena, s);
        assert_eq!(arena.str(id), s.as_str());
    }
}

/// Everything the reader produced for `text` (set, diagnostics, or the error), as text.
fn outcome(text: &str) -> String {
    let mut b = TraceSetBuilder::new();
    match read(text.as_bytes(), &mut b) {
        Ok(()) => {
            let set = b.finish();
            let attrs: Vec<_> = set
                .spans()
                .iter()
                .map(|s| {
                    set.arena
                        .kv_slice(s.attrs)
                        .iter()
                        .map(|kv| (set.str(kv.key).to_string(), set.arena.load_value(kv.value)))
                        .collect::<Vec<_>>()
                })
                .collect();
            format!("{:?}\n{attrs:?}\n{:?}", set.spans(), set.diagnostics)
        }
        Err(e) => format!("error: {e}"),
    }
}

/// The same document with a space after every `:` and `,` outside strings: no fast path
/// matches it, so the general path reads it.
fn spaced(text: &str) -> String {
    let mut out = String::new();
    let mut in_str = false;
    let mut escaped = false;
    for c in text.chars() {
        out.push(c);
        if in_str {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_str = false,
                _ => {}
            }
        } else if c == '"' {
            in_str = true;
        } else if c == ':' || c == ',' {
            out.push(' ');
        }
    }
    out
}

#[test]
fn fast_and_general_paths_agree() {
    // Attributes the fast path takes, and near misses it must leave to the general path.
    let attrs = [
        r#"{"key":"s","value":{"stringValue":"plain"}}"#,
        r#"{"key":"esc","value":{"stringValue":"a\"b\\c\/d\n"}}"#,
        r#"{"key":"k\u00e9y","value":{"stringValue":"\u00e9\ud83d\ude00"}}"#,
        r#"{"key":"raw","value":{"stringValue":"é😀"}}"#,
        r#"{"key":"i","value":{"intValue":"42"}}"#,
        r#"{"key":"neg","value":{"intValue":"-42"}}"#,
        r#"{"key":"max","value":{"intValue":"9223372036854775807"}}"#,
        r#"{"key":"min","value":{"intValue":"-9223372036854775808"}}"#,
        r#"{"key":"over","value":{"intValue":"9223372036854775808"}}"#,
        r#"{"key":"f64","value":{"intValue":"9007199254740993"}}"#,
        r#"{"key":"plus","value":{"intValue":"+7"}}"#,
        r#"{"key":"zeros","value":{"intValue":"007"}}"#,
        r#"{"key":"frac","value":{"intValue":"1.5"}}"#,
        r#"{"key":"exp","value":{"intValue":"1e3"}}"#,
        r#"{"key":"empty","value":{"intValue":""}}"#,
        r#"{"key":"num","value":{"intValue":12}}"#,
        r#"{"key":"t","value":{"boolValue":true}}"#,
        r#"{"key":"f","value":{"boolValue":false}}"#,
        r#"{"key":"bs","value":{"boolValue":"true"}}"#,
        r#"{"key":"d","value":{"doubleValue":0.5}}"#,
        r#"{"key":"","value":{"stringValue":"no key"}}"#,
        r#"{"key":"nul","value":null}"#,
        r#"{"key":"e","value":{}}"#,
        r#"{"key":"two","value":{"stringValue":"a","intValue":"1"}}"#,
        r#"{"value":{"stringValue":"v"},"key":"late"}"#,
        r#"{"key":"extra","value":{"stringValue":"v"},"x":1}"#,
        r#"{"key":"kv","value":{"kvlistValue":{"values":[{"key":"in","value":{"stringValue":"x"}}]}}}"#,
        r#"{"key":"s","value":{"stringValue":"repeat"}}"#,
        r#"{"key":"s","value":{"stringValue":"repeat"}}"#,
    ];
    // Each alone, then all in one list (fast entries before and after general ones).
    let mut lists: Vec<String> = attrs.iter().map(|a| a.to_string()).collect();
    lists.push(attrs.join(","));
    for list in lists {
        let text = doc(&span(&format!(r#","attributes":[{list}]"#)));
        let fast = outcome(&text);
        let general = outcome(&spaced(&text));
        assert_eq!(fast, general, "{list}");
        assert!(!fast.starts_with("error"), "{list}: {fast}");
    }
    let set = read_ok(&doc(&span(&format!(r#","attributes":[{}]"#, attrs.join(",")))));
    assert_eq!(attr(&set, "max"), OwnedValue::Int(i64::MAX));
    assert_eq!(attr(&set, "min"), OwnedValue::Int(i64::MIN));
    assert_eq!(attr(&set, "f64"), OwnedValue::Int(9_007_199_254_740_993));
    assert_eq!(attr(&set, "esc"), OwnedValue::Str("a\"b\\c/d\n".into()));
    assert_eq!(attr(&set, "kéy"), OwnedValue::Str("é😀".into()));
    assert_eq!(attr(&set, "raw"), OwnedValue::Str("é😀".into()));
    assert_eq!(attr(&set, "zeros"), OwnedValue::Int(7));
}

#[test]
fn fast_path_agrees_on_synthetic_traces() {
    let set = crate::synth::generate(&crate::synth::SynthOptions::for_total_spans(400, 20, 3));
    let text = crate::formats::writers::to_otlp_json(&set, None);
    assert_eq!(outcome(&text), outcome(&spaced(&text)));
    // Upper-case hex ids read as the same ids.
    let upper = text
        .replace("Id\":\"", "Id\":\"\u{0}")
        .split('\u{0}')
        .enumerate()
        .fold(String::new(), |mut acc, (i, part)| {
            if i == 0 {
                acc.push_str(part);
            } else {
                let end = part.find('"').unwrap_or(0);
                acc.push_str(&part[..end].to_ascii_uppercase());
                acc.push_str(&part[end..]);
            }
            acc
        });
    assert_ne!(upper, text);
    assert_eq!(outcome(&upper), outcome(&text));
}

#[test]
fn truncated_and_mutated_compact_input_never_panics() {
    let set = crate::synth::generate(&crate::synth::SynthOptions::for_total_spans(6, 3, 5));
    let text = crate::formats::writers::to_otlp_json(&set, None);
    let bytes = text.as_bytes();
    // Every truncation is rejected, with nothing added.
    for cut in (0..bytes.len()).step_by(7) {
        let mut b = TraceSetBuilder::new();
        assert!(read(&bytes[..cut], &mut b).is_err(), "{cut}");
        assert_eq!(b.span_count(), 0);
        assert!(b.arena.kvs.is_empty());
    }
    // Single-byte changes inside the fast path's literals: read or rejected, never a panic,
    // and the same outcome as the general path where the change keeps the layout spaced-able.
    let mut seed = 11u64;
    for _ in 0..400 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let at = (seed >> 33) as usize % bytes.len();
        let mut m = bytes.to_vec();
        m[at] = b"\"\\{}[],:0a-eE \n"[(seed >> 20) as usize % 15];
        let mut b = TraceSetBuilder::new();
        let _ = read(&m, &mut b);
    }
}

#[test]
fn value_cache_never_confuses_strings() {
    // Many keys sharing value slots, values of every length: ids always read back right.
    let mut arena = crate::model::Arena::default();
    let mut cache = InternCache::new();
    let mut seed = 3u64;
    let mut pairs = Vec::new();
    for i in 0..20_000u64 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let key = format!("k{}", (seed >> 40) % 600);
        let len = (seed >> 33) as usize % 41;
        let s: String = (0..len)
            .map(|k| char::from(b'a' + ((seed >> (k % 60)) as u8).wrapping_add(i as u8) % 3))
            .collect();
        pairs.push((key, s));
    }
    for (key, s) in pairs.iter().chain(pairs.iter().rev()) {
        let (k, v) = cache.intern_attr(&mut arena, key, s);
        assert_eq!(arena.str(k), key.as_str());
        assert_eq!(arena.str(v), s.as_str());
    }
}
