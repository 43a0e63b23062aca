//! What the search builder offers: services, span names, scoped attribute names
//! (`span.http.method`, `resource.k8s.pod.name`) and typed attribute values, read from the
//! loaded set (every span and resource, not only roots) or from a Tempo source's tag endpoints,
//! and how a chosen value is written in TraceQL (strings quoted, numbers and booleans bare).
//!
//! Not here: the builder's layout (`pages::search`), the HTTP calls (`api`), or any query
//! evaluation.

use serde::Deserialize;
use spanlens_core::model::{KeyValue, Range32, StrId, TraceSet, Value};
use std::collections::{BTreeSet, HashSet};

/// One typed attribute value, as `/api/v2/search/tag/{tag}/values` lists them.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct TypedValue {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub value: String,
}

/// At most this many values are offered for one attribute.
pub const MAX_VALUES: usize = 500;

/// Service names and span names of every span of the set, each sorted and distinct.
pub fn local_services_and_names(set: &TraceSet) -> (Vec<String>, Vec<String>) {
    let services: BTreeSet<String> = set
        .arena
        .resources
        .iter()
        .map(|r| {
            if r.service_name.is_empty() {
                spanlens_core::model::UNKNOWN_SERVICE.to_string()
            } else {
                set.str(r.service_name).to_string()
            }
        })
        .collect();
    let name_ids: HashSet<StrId> = set.spans().iter().map(|s| s.name).collect();
    let names: BTreeSet<String> = name_ids
        .into_iter()
        .filter(|id| !id.is_empty())
        .map(|id| set.str(id).to_string())
        .collect();
    (services.into_iter().collect(), names.into_iter().collect())
}

/// The attribute ranges of one scope: every span's, or every resource's.
fn scope_ranges<'a>(set: &'a TraceSet, scope: &str) -> Box<dyn Iterator<Item = Range32> + 'a> {
    if scope == "resource" {
        Box::new(set.arena.resources.iter().map(|r| r.attrs))
    } else {
        Box::new(set.spans().iter().map(|s| s.attrs))
    }
}

/// Scoped names of every span and resource attribute in the set, sorted.
pub fn local_tag_names(set: &TraceSet) -> Vec<String> {
    let mut out = BTreeSet::new();
    for scope in ["span", "resource"] {
        let mut keys: HashSet<StrId> = HashSet::new();
        for range in scope_ranges(set, scope) {
            keys.extend(set.arena.kv_slice(range).iter().map(|kv| kv.key));
        }
        out.extend(keys.into_iter().map(|k| format!("{scope}.{}", set.str(k))));
    }
    out.into_iter().collect()
}

/// Splits `span.http.method` into (`span`, `http.method`); an unscoped `.key` or `key` looks
/// in both scopes (`None`).
fn split_scope(tag: &str) -> (Option<&str>, &str) {
    for scope in ["span", "resource"] {
        if let Some(rest) = tag.strip_prefix(scope).and_then(|r| r.strip_prefix('.')) {
            return (Some(scope), rest);
        }
    }
    (None, tag.strip_prefix('.').unwrap_or(tag))
}

fn typed(set: &TraceSet, v: Value) -> Option<TypedValue> {
    let (kind, value) = match v {
        Value::Str(s) => ("string", set.str(s).to_string()),
        Value::Bool(b) => ("bool", b.to_string()),
        Value::Int(i) => ("int", i.to_string()),
        Value::Double(d) => ("double", spanlens_core::model::format_double(d)),
        _ => return None,
    };
    Some(TypedValue {
        kind: kind.into(),
        value,
    })
}

/// Distinct typed values of one attribute over the set (scoped or not), sorted, at most
/// [`MAX_VALUES`]. Arrays, maps and bytes are left out: TraceQL cannot compare them.
pub fn local_tag_values(set: &TraceSet, tag: &str) -> Vec<TypedValue> {
    let (scope, key) = split_scope(tag);
    let Some(key_id) = set.arena.strings.lookup(key) else {
        return Vec::new();
    };
    let mut seen: HashSet<(u8, u64)> = HashSet::new();
    let mut out = Vec::new();
    let scopes: &[&str] = match scope {
        Some("resource") => &["resource"],
        Some(_) => &["span"],
        None => &["span", "resource"],
    };
    'scopes: for scope in scopes {
        for range in scope_ranges(set, scope) {
            for kv in set
                .arena
                .kv_slice(range)
                .iter()
                .filter(|kv: &&KeyValue| kv.key == key_id)
            {
                let identity = match kv.value {
                    Value::Str(s) => (0, u64::from(s.0)),
                    Value::Bool(b) => (1, u64::from(b)),
                    Value::Int(i) => (2, i as u64),
                    Value::Double(d) => (3, d.to_bits()),
                    _ => continue,
                };
                if seen.insert(identity) {
                    out.extend(typed(set, kv.value));
                    if out.len() >= MAX_VALUES {
                        break 'scopes;
                    }
                }
            }
        }
    }
    out.sort_by(|a, b| a.value.cmp(&b.value));
    out
}

/// The name to ask a Tempo source's v2 values endpoint for: scoped names as they are, an
/// unscoped one as a span attribute.
pub fn values_query_tag(tag: &str) -> String {
    match split_scope(tag.trim()) {
        (Some(_), _) => tag.trim().to_string(),
        (None, key) => format!("span.{key}"),
    }
}

/// The attribute as TraceQL writes it: scoped names as they are, others unscoped (`.key`).
pub fn attribute_expr(tag: &str) -> String {
    match split_scope(tag.trim()) {
        (Some(_), _) => tag.trim().to_string(),
        (None, key) => format!(".{key}"),
    }
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The TraceQL literal for a value typed in the builder: the type of a matching known value
/// when there is one, else a number or boolean when it reads as one, else a quoted string.
pub fn value_literal(value: &str, known: &[TypedValue]) -> String {
    let v = value.trim();
    if let Some(k) = known.iter().find(|k| k.value == v) {
        return match k.kind.as_str() {
            "string" => quote(v),
            _ => v.to_string(),
        };
    }
    if v.parse::<f64>().is_ok() || v == "true" || v == "false" {
        return v.to_string();
    }
    let unquoted = v.strip_prefix('"').and_then(|x| x.strip_suffix('"')).unwrap_or(v);
    quote(unquoted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded() -> TraceSet {
        let json = r#"{"resourceSpans":[{"resource":{"attributes":[
            {"key":"service.name","value":{"stringValue":"shop"}},
            {"key":"host","value":{"stringValue":"a1"}}]},
          "scopeSpans":[{"spans":[
            {"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"GET /",
             "startTimeUnixNano":"1","endTimeUnixNano":"5",
             "attributes":[{"key":"http.status_code","value":{"intValue":"200"}},
                           {"key":"http.method","value":{"stringValue":"GET"}}]},
            {"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060709","parentSpanId":"0102030405060708",
             "name":"db","startTimeUnixNano":"2","endTimeUnixNano":"3",
             "attributes":[{"key":"http.status_code","value":{"intValue":"500"}},
                           {"key":"host","value":{"stringValue":"db1"}}]}]}]}]}"#;
        spanlens_core::formats::read(json.as_bytes(), None).unwrap()
    }

    #[test]
    fn names_cover_every_span_and_resource() {
        let l = loaded();
        let (services, names) = local_services_and_names(&l);
        assert_eq!(services, vec!["shop"]);
        assert_eq!(names, vec!["GET /", "db"]);
        assert_eq!(
            local_tag_names(&l),
            vec![
                "resource.host",
                "resource.service.name",
                "span.host",
                "span.http.method",
                "span.http.status_code"
            ]
        );
    }

    #[test]
    fn values_are_typed_and_scoped() {
        let l = loaded();
        let codes = local_tag_values(&l, "span.http.status_code");
        assert_eq!(
            codes
                .iter()
                .map(|v| (v.kind.as_str(), v.value.as_str()))
                .collect::<Vec<_>>(),
            vec![("int", "200"), ("int", "500")]
        );
        let hosts: Vec<String> = local_tag_values(&l, "host")
            .into_iter()
            .map(|v| v.value)
            .collect();
        assert_eq!(hosts, vec!["a1", "db1"]);
        let resource_hosts: Vec<String> = local_tag_values(&l, "resource.host")
            .into_iter()
            .map(|v| v.value)
            .collect();
        assert_eq!(resource_hosts, vec!["a1"]);
        assert!(local_tag_values(&l, "span.nope").is_empty());
    }

    #[test]
    fn literals_follow_the_known_type() {
        let known = vec![
            TypedValue {
                kind: "string".into(),
                value: "200".into(),
            },
            TypedValue {
                kind: "int".into(),
                value: "7".into(),
            },
        ];
        assert_eq!(value_literal("200", &known), "\"200\"");
        assert_eq!(value_literal("7", &known), "7");
        assert_eq!(value_literal("42", &[]), "42");
        assert_eq!(value_literal("true", &[]), "true");
        assert_eq!(value_literal("say \"hi\"", &[]), "\"say \\\"hi\\\"\"");
        assert_eq!(value_literal("\"GET\"", &[]), "\"GET\"");
        assert_eq!(attribute_expr("span.http.method"), "span.http.method");
        assert_eq!(attribute_expr("http.method"), ".http.method");
        assert_eq!(attribute_expr(".http.method"), ".http.method");
        assert_eq!(values_query_tag("http.method"), "span.http.method");
        assert_eq!(values_query_tag("resource.host"), "resource.host");
    }
}
