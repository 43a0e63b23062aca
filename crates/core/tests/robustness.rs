//! Robustness: no input makes the readers panic. Feeds `formats::read` (autodetect and every
//! explicit format) with random bytes, JSON-looking token soup, random well-formed JSON built
//! from the keys of every format, and mutated copies of the shared fixtures (byte flips,
//! truncations, inserted and deleted characters, swapped and duplicated segments).
//!
//! Deterministic: a fixed-seed PRNG written here, so a failure reproduces. When a read succeeds
//! the assembled set is also checked for basic consistency (span ranges, parent indexes).
//! Budgeted to run in a few seconds in a debug build.

use spanlens_core::formats::{self, Format};
use spanlens_core::model::{TraceSet, NO_SPAN};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

/// SplitMix64: small, fast, good enough to drive a fuzzer.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

fn check_set(set: &TraceSet) {
    let total: usize = set.traces().iter().map(|t| t.spans.len as usize).sum();
    assert_eq!(total, set.span_count());
    for t in set.traces() {
        let range = t.spans.as_range();
        for (i, s) in set.trace_spans(t).iter().enumerate() {
            let index = range.start + i;
            if s.parent != NO_SPAN {
                let p = s.parent as usize;
                assert!(
                    range.contains(&p) && p < index,
                    "parent {p} of span {index} out of order"
                );
            }
            assert!(index + s.subtree_len as usize <= range.end);
        }
    }
}

/// Reads `input` with autodetection and with one explicit format; panics are caught and
/// reported with the case label and the input's beginning.
fn feed(label: &str, input: &[u8], explicit: Format) {
    let result = catch_unwind(AssertUnwindSafe(|| {
        for format in [None, Some(explicit)] {
            if let Ok(set) = formats::read(input, format) {
                check_set(&set);
            }
        }
    }));
    if result.is_err() {
        let head = String::from_utf8_lossy(&input[..input.len().min(300)]).to_string();
        panic!(
            "{label}: reader panicked on input of {} bytes starting {head:?}",
            input.len()
        );
    }
}

const KEYS: &[&str] = &[
    "resourceSpans",
    "batches",
    "trace",
    "result",
    "scopeSpans",
    "instrumentationLibrarySpans",
    "spans",
    "resource",
    "attributes",
    "key",
    "value",
    "stringValue",
    "intValue",
    "boolValue",
    "doubleValue",
    "arrayValue",
    "kvlistValue",
    "bytesValue",
    "values",
    "traceId",
    "spanId",
    "parentSpanId",
    "name",
    "kind",
    "startTimeUnixNano",
    "endTimeUnixNano",
    "events",
    "links",
    "status",
    "code",
    "message",
    "timeUnixNano",
    "flags",
    "traceState",
    "droppedAttributesCount",
    "data",
    "traceID",
    "spanID",
    "operationName",
    "references",
    "refType",
    "startTime",
    "duration",
    "tags",
    "type",
    "logs",
    "fields",
    "timestamp",
    "processID",
    "processes",
    "process",
    "serviceName",
    "warnings",
    "parentSpanID",
    "id",
    "parentId",
    "localEndpoint",
    "remoteEndpoint",
    "ipv4",
    "ipv6",
    "port",
    "annotations",
    "shared",
    "debug",
    "traces",
    "rootServiceName",
    "errors",
    "total",
];

const SCALARS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "5",
    "null",
    "true",
    "false",
    "1.5",
    "-0.0",
    "1e400",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "9223372036854775807",
    "\"\"",
    "\"1\"",
    "\"ab\"",
    "\"0000000000000001\"",
    "\"00000000000000000000000000000001\"",
    "\"AAAAAAAAAAA=\"",
    "\"AAAAAAAAAAAAAAAAAAAAAA==\"",
    "\"zz\"",
    "\"span-1\"",
    "\"CHILD_OF\"",
    "\"FOLLOWS_FROM\"",
    "\"SERVER\"",
    "\"CLIENT\"",
    "\"SPAN_KIND_SERVER\"",
    "\"STATUS_CODE_ERROR\"",
    "\"int64\"",
    "\"bool\"",
    "\"binary\"",
    "\"float64\"",
    "\"string\"",
    "\"true\"",
    "\"NaN\"",
    "\"-Infinity\"",
    "\"1700000000000000000\"",
    "\"9223372036854775222\"",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "\"p1\"",
    "\"service.name\"",
    "\"error\"",
    "\"span.kind\"",
    "\"otel.status_code\"",
];

/// Random well-formed JSON made of the formats' keys and tricky scalars.
fn json_value(rng: &mut Rng, depth: usize, out: &mut String) {
    let roll = if depth >= 6 { 9 } else { rng.below(10) };
    match roll {
        0..=3 => {
            out.push('{');
            let n = rng.below(5);
            for i in 0..n {
                if i > 0 {
                    out.push(',');
                }
                out.push('"');
                out.push_str(rng.pick(KEYS));
                out.push_str("\":");
                json_value(rng, depth + 1, out);
            }
            out.push('}');
        }
        4..=6 => {
            out.push('[');
            let n = rng.below(4);
            for i in 0..n {
                if i > 0 {
                    out.push(',');
                }
                json_value(rng, depth + 1, out);
            }
            out.push(']');
        }
        _ => out.push_str(rng.pick(SCALARS)),
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x5eed_0001);
    for case in 0..3000 {
        let len = rng.below(300);
        let mut input: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        // Some inputs start like JSON or like protobuf to get past the first checks.
        match case % 4 {
            0 => input.insert(0, b'{'),
            1 => input.insert(0, b'['),
            2 => input.insert(0, 0x0a),
            _ => {}
        }
        let format = rng.pick(&Format::ALL);
        feed(&format!("random bytes case {case}"), &input, format);
    }
}

#[test]
fn json_token_soup_never_panics() {
    let mut rng = Rng(0x5eed_0002);
    let punct = ["{", "}", "[", "]", ":", ",", "\"", "\\", " ", "\n"];
    for case in 0..3000 {
        let mut doc = String::new();
        for _ in 0..rng.below(60) {
            match rng.below(3) {
                0 => doc.push_str(rng.pick(&punct)),
                1 => {
                    doc.push('"');
                    doc.push_str(rng.pick(KEYS));
                    doc.push('"');
                }
                _ => doc.push_str(rng.pick(SCALARS)),
            }
        }
        let format = rng.pick(&Format::ALL);
        feed(&format!("token soup case {case}"), doc.as_bytes(), format);
    }
}

#[test]
fn random_well_formed_json_never_panics() {
    let mut rng = Rng(0x5eed_0003);
    for case in 0..4000 {
        let mut doc = String::new();
        json_value(&mut rng, 0, &mut doc);
        // Also wrap in every format's envelope, so the readers get past "not my format".
        let wrapped = match case % 5 {
            0 => format!("{{\"resourceSpans\":[{{\"scopeSpans\":[{{\"spans\":[{doc}]}}]}}]}}"),
            1 => format!(
                "{{\"data\":[{{\"traceID\":\"1\",\"spans\":[{doc}],\"processes\":{{\"p1\":{doc}}}}}]}}"
            ),
            2 => format!("[{{\"traceId\":\"1\",\"id\":\"2\"}},{doc}]"),
            3 => format!("{{\"traceID\":\"1\",\"spans\":[{doc},{doc}]}}"),
            _ => doc,
        };
        let format = rng.pick(&Format::ALL);
        feed(
            &format!("well-formed json case {case}"),
            wrapped.as_bytes(),
            format,
        );
    }
}

fn fixture_files() -> Vec<(String, Vec<u8>)> {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/"));
    let mut files = Vec::new();
    for dir in [
        "fixtures/otlp",
        "fixtures/tempo",
        "fixtures/jaeger",
        "fixtures/zipkin",
        "tempo-api/client_otlp",
        "tempo-api/responses",
    ] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        names.sort();
        for path in names {
            if let Ok(bytes) = std::fs::read(&path) {
                files.push((path.display().to_string(), bytes));
            }
        }
    }
    files
}

/// Splits JSON-ish text into tokens (punctuation and runs between them), for token swaps.
fn tokens(text: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, b) in text.iter().enumerate() {
        if matches!(b, b'{' | b'}' | b'[' | b']' | b',' | b':') {
            if start < i {
                out.push(start..i);
            }
            out.push(i..i + 1);
            start = i + 1;
        }
    }
    if start < text.len() {
        out.push(start..text.len());
    }
    out
}

fn mutate(rng: &mut Rng, original: &[u8]) -> Vec<u8> {
    let mut m = original.to_vec();
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        if m.is_empty() {
            break;
        }
        let at = rng.below(m.len());
        match rng.below(7) {
            0 => m[at] ^= 1 << rng.below(8),
            1 => m.truncate(at),
            2 => {
                let c = rng.pick(&[
                    b'{', b'}', b'[', b']', b'"', b',', b':', b'\\', b'0', b'-', 0xff, 0x00,
                ]);
                m.insert(at, c);
            }
            3 => {
                let end = (at + 1 + rng.below(40)).min(m.len());
                m.drain(at..end);
            }
            4 => {
                let toks = tokens(&m);
                if toks.len() >= 2 {
                    let a = rng.below(toks.len());
                    let b = rng.below(toks.len());
                    let (x, y) = (toks[a.min(b)].clone(), toks[a.max(b)].clone());
                    if x.end <= y.start {
                        let mut out = Vec::with_capacity(m.len());
                        out.extend_from_slice(&m[..x.start]);
                        out.extend_from_slice(&m[y.clone()]);
                        out.extend_from_slice(&m[x.end..y.start]);
                        out.extend_from_slice(&m[x.clone()]);
                        out.extend_from_slice(&m[y.end..]);
                        m = out;
                    }
                }
            }
            5 => {
                let end = (at + 1 + rng.below(200)).min(m.len());
                let piece = m[at..end].to_vec();
                let to = rng.below(m.len());
                m.splice(to..to, piece);
            }
            _ => {
                // Replace a digit run's digit with a different one (times, ids, counts).
                if m[at].is_ascii_digit() {
                    m[at] = b'0' + rng.below(10) as u8;
                } else {
                    m[at] = b'-';
                }
            }
        }
    }
    m
}

#[test]
fn mutated_fixtures_never_panic() {
    let mut rng = Rng(0x5eed_0004);
    for (name, bytes) in fixture_files() {
        // Big files cost much more per read (in a debug build): fewer mutations.
        let cases = match bytes.len() {
            0..=20_000 => 30,
            20_001..=100_000 => 6,
            _ => 1,
        };
        for case in 0..cases {
            let input = mutate(&mut rng, &bytes);
            let format = rng.pick(&Format::ALL);
            feed(&format!("{name} mutation {case}"), &input, format);
        }
        // Every prefix length class: truncation in the middle of anything.
        for cut in [1, 7, bytes.len() / 2, bytes.len().saturating_sub(1)] {
            if cut < bytes.len() && bytes.len() <= 20_000 {
                feed(
                    &format!("{name} truncated at {cut}"),
                    &bytes[..cut],
                    Format::OtlpJson,
                );
            }
        }
    }
}

#[test]
fn deep_nesting_and_huge_numbers_do_not_panic() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    feed("deep arrays", deep.as_bytes(), Format::ZipkinJson);
    let deep_obj = "{\"data\":".repeat(50_000);
    feed("deep objects", deep_obj.as_bytes(), Format::JaegerJson);
    let huge =
        r#"[{"traceId":"1","id":"2","timestamp":18446744073709551615,"duration":18446744073709551615}]"#;
    feed("huge zipkin times", huge.as_bytes(), Format::ZipkinJson);
    let huge = r#"{"traceID":"1","spans":[{"spanID":"2","startTime":18446744073709551,"duration":18446744073709551}]}"#;
    feed("huge jaeger times", huge.as_bytes(), Format::JaegerJson);
}

#[test]
fn many_spans_sharing_one_id_stay_fast() {
    // Zipkin time repair looks at the other spans of an id: bounded, so this stays quick.
    let spans: Vec<String> = (0..5000)
        .map(|i| {
            format!(
                r#"{{"traceId":"1","id":"1","parentId":"1","kind":"SERVER","shared":true,"name":"s{i}"}}"#
            )
        })
        .collect();
    let doc = format!("[{}]", spans.join(","));
    let started = std::time::Instant::now();
    let set = formats::read(doc.as_bytes(), None).unwrap();
    assert_eq!(set.span_count(), 5000);
    assert!(started.elapsed().as_secs() < 5, "took {:?}", started.elapsed());
}
