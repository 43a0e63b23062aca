//! Compatibility with a real Tempo: the four traces the OpenTelemetry SDK sent to the recorded
//! Tempo (`shared/tempo-api/client_otlp/`) are stored, then every recorded query request of
//! `shared/tempo-api/responses/index.tsv` (all but the ingest rows 096–101, covered by the
//! ingest tests) is replayed in process and our answer compared with Tempo's.
//!
//! Always compared: status and content type. Bodies, per kind of answer:
//! - text (`ready`, `echo`, every 400): byte for byte;
//! - trace by id (JSON): the whole document, except the `metrics` block and the order of
//!   attribute lists (Tempo reorders attributes);
//! - trace by id (protobuf): decoded, the same spans (ids, names, times);
//! - search: the same shape (keys and value types) for every trace we answer; for each trace
//!   in both answers, the same values (attribute lists and spanset spans in any order). The recorded Tempo held ~40 more traces (sent by other
//!   clients) than the four fixtures, so its lists are longer; `031` (no parameters) depends
//!   on "now" and is compared by shape only;
//! - tag names and values: ours are a subset of Tempo's (same reason), the intrinsic list and
//!   the keyword values are identical, and so is the scope order;
//! - TraceQL metrics: same shape and label keys, our label values a subset of Tempo's; values
//!   depend on the data (Tempo held more) and sample timestamps on "now" (Tempo cut the range
//!   30 s before its clock, which was before the recorded `end`), so Tempo's timestamps must be
//!   a prefix of ours;
//! - `buildinfo`: same keys and value types (the values are each server's own).
//!
//! `metrics` blocks (inspected bytes, jobs) are each server's own bookkeeping and not compared.

// Test helpers outside #[test] functions may panic on broken fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::Value;
use spanlens_core::formats::{read, Format};
use std::collections::{BTreeMap, BTreeSet};
use support::{fixture_app, request, tempo_api_dir, Answer};

/// One row of `index.tsv`.
#[derive(Debug)]
struct Row {
    file: String,
    method: String,
    url: String,
    headers: BTreeMap<String, String>,
    status: u16,
    content_type: String,
}

fn rows() -> Vec<Row> {
    let text = std::fs::read_to_string(tempo_api_dir().join("responses/index.tsv")).expect("index.tsv");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            Row {
                file: cols[0].to_string(),
                method: cols[1].to_string(),
                url: cols[2].to_string(),
                headers: serde_json::from_str(cols[3]).expect("headers json"),
                status: cols[4].parse().expect("status"),
                content_type: cols[5].to_string(),
            }
        })
        .collect()
}

fn recorded(file: &str) -> Vec<u8> {
    std::fs::read(tempo_api_dir().join("responses").join(file)).expect("recorded response")
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Checks that `ours` has the shape of `theirs`: same JSON types; object keys of ours are keys
/// Tempo writes at that place (over all elements of a list); each value recursively so.
fn same_shape(ours: &Value, theirs: &[&Value], path: &str) {
    let first = theirs.first().copied().unwrap_or(&Value::Null);
    assert_eq!(
        kind(ours),
        kind(first),
        "type at {path}: ours {ours} theirs {first}"
    );
    match ours {
        Value::Object(o) => {
            for (k, v) in o {
                if k == "metrics" {
                    continue; // free: each server's own bookkeeping
                }
                let at: Vec<&Value> = theirs.iter().filter_map(|t| t.get(k)).collect();
                assert!(!at.is_empty(), "key {path}.{k} is not in Tempo's answer");
                same_shape(v, &at, &format!("{path}.{k}"));
            }
        }
        Value::Array(items) => {
            let their_items: Vec<&Value> = theirs.iter().filter_map(|t| t.as_array()).flatten().collect();
            if their_items.is_empty() {
                return;
            }
            for (i, item) in items.iter().enumerate() {
                // Compare with Tempo's elements of the same type (lists of typed values mix).
                let same: Vec<&Value> = their_items
                    .iter()
                    .copied()
                    .filter(|t| kind(t) == kind(item))
                    .collect();
                let pool = if same.is_empty() {
                    their_items.clone()
                } else {
                    same
                };
                same_shape(item, &pool, &format!("{path}[{i}]"));
            }
        }
        _ => {}
    }
}

fn without_metrics(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("metrics");
    }
    normalize(&mut v);
    v
}

/// Puts the lists whose order Tempo does not promise in one order: attribute lists (by
/// `key`) and the spans of a spanset (by `spanID`).
fn normalize(v: &mut Value) {
    match v {
        Value::Object(m) => m.values_mut().for_each(normalize),
        Value::Array(items) => {
            items.iter_mut().for_each(normalize);
            let sort_key = |x: &Value| -> Option<String> {
                let o = x.as_object()?;
                o.get("spanID")
                    .or_else(|| {
                        if o.contains_key("value") {
                            o.get("key")
                        } else {
                            None
                        }
                    })?
                    .as_str()
                    .map(str::to_string)
            };
            if !items.is_empty() && items.iter().all(|x| sort_key(x).is_some()) {
                items.sort_by_key(|x| sort_key(x).unwrap_or_default());
            }
        }
        _ => {}
    }
}

fn string_set(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|x| x.to_string())
        .collect()
}

/// The spans of an OTLP protobuf `TracesData` (or `tempopb.Trace`): (id, name, start, end).
fn proto_spans(bytes: &[u8]) -> BTreeSet<(String, String, u64, u64)> {
    let set = read(bytes, Some(Format::OtlpProto)).expect("protobuf decodes");
    set.spans()
        .iter()
        .map(|s| {
            (
                s.span_id.to_hex(),
                set.name(s).to_string(),
                s.start_unix_nanos,
                s.end_unix_nanos,
            )
        })
        .collect()
}

/// Field 1 (the `Trace`) of a `tempopb.TraceByIDResponse`.
fn v2_trace_field(bytes: &[u8]) -> &[u8] {
    assert_eq!(bytes.first(), Some(&0x0a), "field 1, length-delimited, first");
    let mut len = 0usize;
    let mut shift = 0;
    let mut i = 1;
    loop {
        let b = bytes[i];
        len |= usize::from(b & 0x7f) << shift;
        i += 1;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    &bytes[i..i + len]
}

fn compare_search(ours: &Value, theirs: &Value, file: &str, values_too: bool) {
    same_shape(ours, &[theirs], file);
    let their_traces: BTreeMap<String, &Value> = theirs["traces"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| (t["traceID"].as_str().unwrap_or("").to_string(), t))
        .collect();
    let ours_list = ours["traces"].as_array().expect("traces");
    assert!(!ours_list.is_empty(), "{file}: we found nothing");
    let starts: Vec<u64> = ours_list
        .iter()
        .map(|t| {
            t["startTimeUnixNano"]
                .as_str()
                .unwrap_or("0")
                .parse()
                .unwrap_or(0)
        })
        .collect();
    assert!(
        starts.windows(2).all(|w| w[0] >= w[1]),
        "{file}: most recent first"
    );
    if !values_too {
        return;
    }
    let mut common = 0;
    for t in ours_list {
        let id = t["traceID"].as_str().unwrap_or("");
        if let Some(theirs) = their_traces.get(id) {
            common += 1;
            let (mut a, mut b) = (t.clone(), (*theirs).clone());
            normalize(&mut a);
            normalize(&mut b);
            assert_eq!(a, b, "{file}: trace {id} differs");
        }
    }
    // Tempo's list is its `limit` most recent over ~40 traces: only the broad query (037) is
    // sure to share traces with ours.
    if file.starts_with("037") {
        assert!(common > 0, "{file}: no trace in common with Tempo's answer");
    }
}

fn compare(row: &Row, ours: &Answer) {
    let file = row.file.as_str();
    let theirs = recorded(file);
    let prefix = &file[..3];
    if row.content_type.starts_with("text/plain") {
        assert_eq!(ours.text(), String::from_utf8_lossy(&theirs), "{file}: body");
        return;
    }
    match prefix {
        "024" => assert!(ours.body.is_empty(), "{file}: 404 body must be empty"),
        "006" => assert_eq!(proto_spans(&ours.body), proto_spans(&theirs), "{file}"),
        "008" => assert_eq!(
            proto_spans(v2_trace_field(&ours.body)),
            proto_spans(v2_trace_field(&theirs)),
            "{file}"
        ),
        _ => {
            let o = ours.json();
            let t: Value = serde_json::from_slice(&theirs).expect("recorded JSON");
            match prefix {
                "003" => same_shape(&o, &[&t], file),
                "005" | "007" | "012" | "014" | "016" | "025" | "077" => {
                    same_shape(&o, &[&t], file);
                    assert_eq!(without_metrics(o), without_metrics(t), "{file}: document");
                }
                "031" => compare_search(&o, &t, file, false),
                "037" | "045" => compare_search(&o, &t, file, true),
                "060" => {
                    same_shape(&o, &[&t], file);
                    let ours_names = string_set(&o["tagNames"]);
                    assert!(
                        ours_names.is_subset(&string_set(&t["tagNames"])),
                        "{file}: {ours_names:?}"
                    );
                    assert!(ours_names.len() > 50, "{file}: too few names");
                    let list: Vec<&Value> = o["tagNames"].as_array().into_iter().flatten().collect();
                    assert!(
                        list.windows(2).all(|w| w[0].as_str() < w[1].as_str()),
                        "{file}: sorted"
                    );
                }
                "062" => {
                    same_shape(&o, &[&t], file);
                    let names = |v: &Value| -> Vec<String> {
                        v["scopes"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|s| s["name"].to_string())
                            .collect()
                    };
                    let their_order = names(&t);
                    let ours_order = names(&o);
                    let positions: Vec<usize> = ours_order
                        .iter()
                        .map(|n| their_order.iter().position(|x| x == n).expect("known scope"))
                        .collect();
                    assert!(
                        positions.windows(2).all(|w| w[0] < w[1]),
                        "{file}: scope order {ours_order:?}"
                    );
                    for scope in o["scopes"].as_array().into_iter().flatten() {
                        let theirs_scope = t["scopes"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .find(|s| s["name"] == scope["name"])
                            .expect("scope");
                        if scope["name"] == "intrinsic" {
                            assert_eq!(scope["tags"], theirs_scope["tags"], "{file}: intrinsic tags");
                        } else {
                            assert!(
                                string_set(&scope["tags"]).is_subset(&string_set(&theirs_scope["tags"])),
                                "{file}: {}",
                                scope["name"]
                            );
                        }
                    }
                }
                "069" | "072" => {
                    same_shape(&o, &[&t], file);
                    assert_eq!(
                        string_set(&o["tagValues"]),
                        string_set(&t["tagValues"]),
                        "{file}: values"
                    );
                }
                "082" | "083" | "091" => {
                    same_shape(&o, &[&t], file);
                    let labels = |v: &Value| -> BTreeSet<String> {
                        v["series"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|s| s["labels"].to_string())
                            .collect()
                    };
                    let (ol, tl) = (labels(&o), labels(&t));
                    assert!(!ol.is_empty(), "{file}: no series");
                    assert!(ol.is_subset(&tl), "{file}: labels {ol:?} not within {tl:?}");
                    if prefix != "091" {
                        let stamps = |v: &Value| -> Vec<String> {
                            v["series"][0]["samples"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .map(|s| s["timestampMs"].to_string())
                                .collect()
                        };
                        let (os, ts) = (stamps(&o), stamps(&t));
                        assert!(
                            os.len() >= ts.len() && os[..ts.len()] == ts[..],
                            "{file}: timestamps {os:?} vs {ts:?}"
                        );
                    }
                }
                other => panic!("{file}: no comparison written for {other}"),
            }
        }
    }
}

#[tokio::test]
async fn every_recorded_query_answers_like_tempo() {
    let t = fixture_app();
    let mut compared = 0;
    let mut failures = Vec::new();
    for row in rows() {
        let number: u32 = row.file[..3].parse().expect("numbered file");
        if (96..=101).contains(&number) {
            continue;
        }
        let uri = row
            .url
            .split_once("3200")
            .map(|(_, rest)| rest)
            .expect("url on :3200");
        let headers: Vec<(&str, &str)> = row
            .headers
            .iter()
            .filter(|(k, _)| k.as_str() != "Host")
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let ours = request(&t.app, &row.method, uri, &headers).await;
        let outcome = std::panic::catch_unwind(|| {
            assert_eq!(
                ours.status.as_u16(),
                row.status,
                "{}: status; body {}",
                row.file,
                ours.text()
            );
            assert_eq!(ours.content_type, row.content_type, "{}: content type", row.file);
            compare(&row, &ours);
        });
        if let Err(e) = outcome {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(format!(
                "{}: {}",
                row.file,
                msg.chars().take(600).collect::<String>()
            ));
        }
        compared += 1;
    }
    assert_eq!(compared, 33, "every query row replayed");
    assert!(
        failures.is_empty(),
        "{} of {compared} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
