//! The OTLP protobuf ingest fast path: splits a raw `ExportTraceServiceRequest` body into
//! per-trace chunks by walking its bytes ([`super::proto_walk`]) and copying each span's bytes
//! as sent, instead of decoding the request into owned structs and encoding every span again.
//!
//! It validates everything the full decoder (prost) would reject — wire types of known
//! fields, UTF-8 of string fields, truncation — so a body it accepts decodes identically.
//! It declines ([`Decline`]) whatever it does not handle exactly like the full path: an
//! attribute key the redactor matches (redaction rewrites values, done on decoded structs),
//! deprecated `instrumentation_library_spans`, groups, repeated singular messages (which
//! protobuf merges), very deep attribute values, and any malformed input. The caller then
//! takes the full path, which redacts, or answers 400 as before. Not here: SQL, compression.

use super::proto_walk::{Fields, Value, WalkError};
use crate::redact::Redactor;
use crate::store::batch::{
    item_hash, ResourceOut, SpanFacts, SplitBatch, Splitter, TagVal, SCOPE_EVENT, SCOPE_LINK, SCOPE_RESOURCE,
    SCOPE_SPAN,
};
use prost::encoding::{encode_key, encode_varint, WireType};
use std::borrow::Cow;

/// Nesting of attribute values (arrays, key-value lists) the fast path follows; deeper ones go
/// to the full decoder (whose own limit is about 50 levels).
const MAX_VALUE_DEPTH: u32 = 16;

/// Why the fast path declined a body; the full decode path handles it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Decline {
    #[error("an attribute needs redaction")]
    Redact,
    #[error("{0} needs the full decoder")]
    Unusual(&'static str),
    #[error("malformed protobuf: {0}")]
    Malformed(#[from] WalkError),
}

/// A split request.
#[derive(Debug)]
pub struct FastSplit {
    pub batch: SplitBatch,
    /// Every span of the request, refused ones included.
    pub spans_received: u64,
}

type Result<T> = std::result::Result<T, Decline>;

/// Scalar attributes of one span (scope, key, value), collected while validating it.
type SpanTags<'a> = Vec<(u8, &'a str, TagVal<'a>)>;

/// Reused buffers of one walk.
#[derive(Default)]
struct Scratch<'a> {
    /// The span's scalar attributes.
    tags: SpanTags<'a>,
    /// The span's array attributes' string elements, as (key, element).
    items: Vec<(&'a str, &'a str)>,
    /// String elements of the array value being read.
    arr: Vec<&'a str>,
}

fn utf8(bytes: &[u8]) -> Result<&str> {
    std::str::from_utf8(bytes).map_err(|_| Decline::Unusual("invalid UTF-8"))
}

fn bytes_of(value: Value<'_>) -> Result<&[u8]> {
    match value {
        Value::Bytes(b) => Ok(b),
        _ => Err(Decline::Unusual("a wrong wire type")),
    }
}

fn check_varint(value: Value<'_>) -> Result<u64> {
    match value {
        Value::Varint(v) => Ok(v),
        _ => Err(Decline::Unusual("a wrong wire type")),
    }
}

fn check_fixed64(value: Value<'_>) -> Result<u64> {
    match value {
        Value::Fixed64(v) => Ok(v),
        _ => Err(Decline::Unusual("a wrong wire type")),
    }
}

fn put_bytes_field(out: &mut Vec<u8>, tag: u32, bytes: &[u8]) {
    encode_key(tag, WireType::LengthDelimited, out);
    encode_varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// Walks one body. See the module doc.
pub struct FastSplitter<'r> {
    redactor: &'r Redactor,
}

impl<'r> FastSplitter<'r> {
    pub fn new(redactor: &'r Redactor) -> FastSplitter<'r> {
        FastSplitter { redactor }
    }

    /// Splits `body` (an `ExportTraceServiceRequest` or `TracesData`) per trace.
    pub fn split(&self, body: &[u8]) -> Result<FastSplit> {
        let mut splitter = Splitter::default();
        let mut resources = Vec::new();
        let mut spans_received = 0u64;
        let mut scratch = Scratch::default();
        let mut fields = Fields::new(body);
        while let Some((field, value)) = fields.next()? {
            if field == 1 {
                let rs = bytes_of(value)?;
                let ri = resources.len();
                let mut walk = Walk {
                    splitter: &mut splitter,
                    scratch: &mut scratch,
                    spans_received: &mut spans_received,
                };
                resources.push(self.resource_spans(rs, ri, &mut walk)?);
            }
        }
        Ok(FastSplit {
            batch: splitter.finish(&resources),
            spans_received,
        })
    }

    fn resource_spans<'a>(
        &self,
        rs: &'a [u8],
        ri: usize,
        walk: &mut Walk<'a, '_>,
    ) -> Result<ResourceOut<'a>> {
        let mut resource: Option<&'a [u8]> = None;
        let mut schema_url: &'a [u8] = b"";
        let mut scope_spans: Vec<&'a [u8]> = Vec::new();
        let mut fields = Fields::new(rs);
        while let Some((field, value)) = fields.next()? {
            match field {
                1 if resource.replace(bytes_of(value)?).is_some() => {
                    return Err(Decline::Unusual("a repeated resource"));
                }
                2 => scope_spans.push(bytes_of(value)?),
                3 => {
                    schema_url = bytes_of(value)?;
                    utf8(schema_url)?;
                }
                1000 => return Err(Decline::Unusual("instrumentation_library_spans")),
                _ => {}
            }
        }
        let mut tags = Vec::new();
        let mut items = Vec::new();
        let mut service = "";
        if let Some(resource) = resource {
            let mut service_seen = false;
            let mut fields = Fields::new(resource);
            while let Some((field, value)) = fields.next()? {
                match field {
                    1 => {
                        let arr = &mut walk.scratch.arr;
                        arr.clear();
                        let (key, val) = self.key_value_at(bytes_of(value)?, 0, Some(&mut *arr))?;
                        items.extend(arr.drain(..).filter_map(|item| item_hash(key, item)));
                        if !service_seen && key == "service.name" {
                            service_seen = true;
                            if let Some(TagVal::Str(s)) = val {
                                service = s;
                            }
                        }
                        if let Some(val) = val {
                            if crate::store::batch::indexable(key, val) {
                                tags.push(walk.splitter.intern(SCOPE_RESOURCE, key, val));
                            }
                        }
                    }
                    2 => {
                        check_varint(value)?;
                    }
                    _ => {}
                }
            }
        }
        let mut scopes = Vec::with_capacity(scope_spans.len());
        for (si, ss) in scope_spans.iter().enumerate() {
            let mut scope: Option<&'a [u8]> = None;
            let mut url: &'a [u8] = b"";
            let mut fields = Fields::new(ss);
            while let Some((field, value)) = fields.next()? {
                match field {
                    1 => {
                        let bytes = bytes_of(value)?;
                        if scope.replace(bytes).is_some() {
                            return Err(Decline::Unusual("a repeated scope"));
                        }
                        self.scope(bytes)?;
                    }
                    2 => {
                        bytes_of(value)?;
                    }
                    3 => {
                        url = bytes_of(value)?;
                        utf8(url)?;
                    }
                    _ => {}
                }
            }
            let mut fields = Fields::new(ss);
            while let Some((field, value)) = fields.next()? {
                if field == 2 {
                    *walk.spans_received += 1;
                    self.span(bytes_of(value)?, ri, si, service, walk)?;
                }
            }
            scopes.push((scope.map(Cow::Borrowed), url));
        }
        Ok(ResourceOut {
            bytes: resource.map(Cow::Borrowed),
            schema_url,
            tags,
            items,
            scopes,
        })
    }

    /// Validates an `InstrumentationScope`.
    fn scope(&self, bytes: &[u8]) -> Result<()> {
        let mut fields = Fields::new(bytes);
        while let Some((field, value)) = fields.next()? {
            match field {
                1 | 2 => {
                    utf8(bytes_of(value)?)?;
                }
                3 => {
                    self.key_value(bytes_of(value)?)?;
                }
                4 => {
                    check_varint(value)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Validates one span, records it and its tags, and copies its bytes into its trace's chunk.
    fn span<'a>(
        &self,
        span: &'a [u8],
        ri: usize,
        si: usize,
        service: &str,
        walk: &mut Walk<'a, '_>,
    ) -> Result<()> {
        let mut facts = SpanFacts {
            trace_id: b"",
            span_id: b"",
            parent_is_zero: true,
            name: "",
            start: 0,
            end: 0,
            is_error: false,
        };
        let mut has_status = false;
        let Scratch { tags, items, arr } = &mut *walk.scratch;
        tags.clear();
        items.clear();
        let mut fields = Fields::new(span);
        while let Some((field, value)) = fields.next()? {
            match field {
                1 => facts.trace_id = bytes_of(value)?,
                2 => facts.span_id = bytes_of(value)?,
                3 => {
                    utf8(bytes_of(value)?)?;
                }
                4 => facts.parent_is_zero = bytes_of(value)?.iter().all(|b| *b == 0),
                5 => facts.name = utf8(bytes_of(value)?)?,
                6 | 10 | 12 | 14 => {
                    check_varint(value)?;
                }
                7 => facts.start = check_fixed64(value)?,
                8 => facts.end = check_fixed64(value)?,
                9 => {
                    arr.clear();
                    match self.key_value_at(bytes_of(value)?, 0, Some(&mut *arr))? {
                        (key, Some(val)) => tags.push((SCOPE_SPAN, key, val)),
                        (key, None) => items.extend(arr.drain(..).map(|item| (key, item))),
                    }
                }
                11 => self.event(bytes_of(value)?, tags)?,
                13 => self.link(bytes_of(value)?, tags)?,
                15 => {
                    if has_status {
                        return Err(Decline::Unusual("a repeated status"));
                    }
                    has_status = true;
                    facts.is_error = status_is_error(bytes_of(value)?)?;
                }
                16 if !matches!(value, Value::Fixed32(_)) => {
                    return Err(Decline::Unusual("a wrong wire type"));
                }
                _ => {}
            }
        }
        let Some(slot) = walk.splitter.span(ri, &facts, service) else {
            return Ok(());
        };
        // Tags in the order of the full path: span attributes, then events', then links'
        // (a stable sort: the order within each scope is kept).
        if !tags.is_sorted_by_key(|t| t.0) {
            tags.sort_by_key(|t| t.0);
        }
        for (scope, key, val) in tags.drain(..) {
            walk.splitter.tag(slot, scope, key, val);
        }
        for (key, item) in items.drain(..) {
            walk.splitter.array_item(slot, key, item);
        }
        if let Some(buf) = walk.splitter.span_buf(slot, ri, si) {
            put_bytes_field(buf, 2, span);
        }
        Ok(())
    }

    fn event<'a>(&self, bytes: &'a [u8], tags: &mut SpanTags<'a>) -> Result<()> {
        let mut fields = Fields::new(bytes);
        while let Some((field, value)) = fields.next()? {
            match field {
                1 => {
                    check_fixed64(value)?;
                }
                2 => {
                    utf8(bytes_of(value)?)?;
                }
                3 => {
                    if let (key, Some(val)) = self.key_value(bytes_of(value)?)? {
                        tags.push((SCOPE_EVENT, key, val));
                    }
                }
                4 => {
                    check_varint(value)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn link<'a>(&self, bytes: &'a [u8], tags: &mut SpanTags<'a>) -> Result<()> {
        let mut fields = Fields::new(bytes);
        while let Some((field, value)) = fields.next()? {
            match field {
                1 | 2 => {
                    bytes_of(value)?;
                }
                3 => {
                    utf8(bytes_of(value)?)?;
                }
                4 => {
                    if let (key, Some(val)) = self.key_value(bytes_of(value)?)? {
                        tags.push((SCOPE_LINK, key, val));
                    }
                }
                5 => {
                    check_varint(value)?;
                }
                6 if !matches!(value, Value::Fixed32(_)) => {
                    return Err(Decline::Unusual("a wrong wire type"));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Validates a `KeyValue` (declining keys the redactor matches); returns its key and, for a
    /// scalar value, the value.
    fn key_value<'a>(&self, bytes: &'a [u8]) -> Result<(&'a str, Option<TagVal<'a>>)> {
        self.key_value_at(bytes, 0, None)
    }

    /// As [`FastSplitter::key_value`]; with `arr`, also appends the string elements of an array
    /// value (at any depth) to it.
    fn key_value_at<'a>(
        &self,
        bytes: &'a [u8],
        depth: u32,
        arr: Option<&mut Vec<&'a str>>,
    ) -> Result<(&'a str, Option<TagVal<'a>>)> {
        let (key, value) = key_value_parts(bytes)?;
        if self.redactor.matches(key) {
            return Err(Decline::Redact);
        }
        let val = match value {
            Some(v) => self.any_value(v, depth, arr)?,
            None => None,
        };
        Ok((key, val))
    }

    /// Validates an `AnyValue`; returns its value when it is a scalar. With `arr`, appends the
    /// string elements of an array value (nested arrays included) as the full decoder sees
    /// them: a later field of another kind replaces the array (the elements are taken back), a
    /// repeated array field extends it.
    fn any_value<'a>(
        &self,
        bytes: &'a [u8],
        depth: u32,
        mut arr: Option<&mut Vec<&'a str>>,
    ) -> Result<Option<TagVal<'a>>> {
        if depth > MAX_VALUE_DEPTH {
            return Err(Decline::Unusual("a deeply nested attribute value"));
        }
        let start = arr.as_ref().map_or(0, |a| a.len());
        let mut out = None;
        let mut fields = Fields::new(bytes);
        while let Some((field, value)) = fields.next()? {
            if matches!(field, 1..=4 | 6 | 7) {
                if let Some(a) = arr.as_deref_mut() {
                    a.truncate(start);
                }
            }
            match field {
                1 => out = Some(TagVal::Str(utf8(bytes_of(value)?)?)),
                2 => out = Some(TagVal::Bool(check_varint(value)? != 0)),
                3 => out = Some(TagVal::Int(check_varint(value)? as i64)),
                4 => out = Some(TagVal::Float(check_fixed64(value)?)),
                5 => {
                    let mut items = Fields::new(bytes_of(value)?);
                    while let Some((f, v)) = items.next()? {
                        if f == 1 {
                            let item = self.any_value(bytes_of(v)?, depth + 1, arr.as_deref_mut())?;
                            if let (Some(TagVal::Str(s)), Some(a)) = (item, arr.as_deref_mut()) {
                                a.push(s);
                            }
                        }
                    }
                    out = None;
                }
                6 => {
                    let mut items = Fields::new(bytes_of(value)?);
                    while let Some((f, v)) = items.next()? {
                        if f == 1 {
                            self.key_value_at(bytes_of(v)?, depth + 1, None)?;
                        }
                    }
                    out = None;
                }
                7 => {
                    bytes_of(value)?;
                    out = None;
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

/// Mutable state of one walk.
struct Walk<'a, 'w> {
    splitter: &'w mut Splitter<'a>,
    scratch: &'w mut Scratch<'a>,
    spans_received: &'w mut u64,
}

/// Key and value bytes of a `KeyValue` (validating the key's UTF-8; a repeated value declines).
fn key_value_parts(bytes: &[u8]) -> Result<(&str, Option<&[u8]>)> {
    let mut key = "";
    let mut value = None;
    let mut fields = Fields::new(bytes);
    while let Some((field, v)) = fields.next()? {
        match field {
            1 => key = utf8(bytes_of(v)?)?,
            2 if value.replace(bytes_of(v)?).is_some() => {
                return Err(Decline::Unusual("a repeated attribute value"));
            }
            _ => {}
        }
    }
    Ok((key, value))
}

/// Validates a `Status`; whether its code is ERROR (2).
fn status_is_error(bytes: &[u8]) -> Result<bool> {
    let mut code = 0i32;
    let mut fields = Fields::new(bytes);
    while let Some((field, value)) = fields.next()? {
        match field {
            2 => {
                utf8(bytes_of(value)?)?;
            }
            3 => code = check_varint(value)? as i32,
            _ => {}
        }
    }
    Ok(code == 2)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::store::batch::{self, TagKey};
    use prost::Message;
    use spanlens_core::formats::otlp_proto::wire;
    use std::collections::BTreeSet;

    fn kv(k: &str, v: wire::AnyValueKind) -> wire::KeyValue {
        wire::KeyValue {
            key: k.to_string(),
            value: Some(wire::AnyValue { value: Some(v) }),
        }
    }

    fn s(v: &str) -> wire::AnyValueKind {
        wire::AnyValueKind::StringValue(v.to_string())
    }

    fn array(items: Vec<wire::AnyValueKind>) -> wire::AnyValueKind {
        wire::AnyValueKind::ArrayValue(wire::ArrayValue {
            values: items
                .into_iter()
                .map(|v| wire::AnyValue { value: Some(v) })
                .collect(),
        })
    }

    fn span(t: u8, id: u8, parent: u8, name: &str) -> wire::Span {
        wire::Span {
            trace_id: vec![t; 16],
            span_id: vec![id; 8],
            parent_span_id: if parent == 0 { vec![] } else { vec![parent; 8] },
            name: name.to_string(),
            kind: 2,
            start_time_unix_nano: 1_000 + u64::from(id),
            end_time_unix_nano: 5_000 + u64::from(id) * 3,
            attributes: vec![
                kv("http.route", s("/x")),
                kv("n", wire::AnyValueKind::IntValue(-i64::from(id))),
                kv("f", wire::AnyValueKind::DoubleValue(f64::from(id) / 3.0)),
                kv("b", wire::AnyValueKind::BoolValue(id.is_multiple_of(2))),
                kv("long", s(&"x".repeat(300))),
                kv("", s("empty key")),
                kv(
                    "arr",
                    wire::AnyValueKind::ArrayValue(wire::ArrayValue {
                        values: vec![wire::AnyValue { value: Some(s("a")) }],
                    }),
                ),
                kv(
                    "nested",
                    array(vec![
                        s("n1"),
                        array(vec![s("n2"), array(vec![s("n3")])]),
                        wire::AnyValueKind::IntValue(4),
                        wire::AnyValueKind::KvlistValue(wire::KeyValueList {
                            values: vec![kv("deep", s("kv"))],
                        }),
                        s(&"x".repeat(300)),
                    ]),
                ),
                kv(
                    "map",
                    wire::AnyValueKind::KvlistValue(wire::KeyValueList {
                        values: vec![kv("inner", s("v"))],
                    }),
                ),
                kv("raw", wire::AnyValueKind::BytesValue(vec![0, 1, 2])),
                wire::KeyValue {
                    key: "novalue".to_string(),
                    value: None,
                },
            ],
            ..wire::Span::default()
        }
    }

    /// A batch with several resources and scopes, interleaved traces, events, links,
    /// statuses, schema URLs and refused spans.
    fn synthetic() -> wire::TracesData {
        let mut child = span(1, 3, 1, "child");
        child.events.push(wire::Event {
            time_unix_nano: 1_500,
            name: "exception".to_string(),
            attributes: vec![kv("exception.type", s("Boom"))],
            dropped_attributes_count: 1,
        });
        child.links.push(wire::Link {
            trace_id: vec![7; 16],
            span_id: vec![7; 8],
            trace_state: "a=b".to_string(),
            attributes: vec![kv("link.kind", s("follows"))],
            ..wire::Link::default()
        });
        child.status = Some(wire::Status {
            message: "bad".to_string(),
            code: 2,
        });
        let mut bad_trace = span(0, 5, 0, "bad");
        bad_trace.trace_id = vec![1, 2, 3];
        let mut bad_span = span(4, 0, 0, "bad span");
        bad_span.span_id = vec![0; 8];
        wire::TracesData {
            resource_spans: vec![
                wire::ResourceSpans {
                    resource: Some(wire::Resource {
                        attributes: vec![
                            kv("service.name", s("a")),
                            kv("host", s("h1")),
                            kv("res.arr", array(vec![s("r1"), array(vec![s("r2")])])),
                        ],
                        dropped_attributes_count: 2,
                    }),
                    scope_spans: vec![
                        wire::ScopeSpans {
                            scope: Some(wire::InstrumentationScope {
                                name: "lib".to_string(),
                                version: "1".to_string(),
                                attributes: vec![kv("scope.attr", s("x"))],
                                dropped_attributes_count: 0,
                            }),
                            spans: vec![span(1, 1, 0, "root"), span(2, 2, 9, "other"), child],
                            schema_url: "https://scope".to_string(),
                        },
                        wire::ScopeSpans {
                            scope: None,
                            spans: vec![span(2, 6, 2, "other child"), bad_trace],
                            schema_url: String::new(),
                        },
                    ],
                    schema_url: "https://resource".to_string(),
                    ..Default::default()
                },
                wire::ResourceSpans {
                    resource: Some(wire::Resource {
                        attributes: vec![
                            kv("service.name", wire::AnyValueKind::IntValue(3)),
                            kv("service.name", s("second")),
                        ],
                        dropped_attributes_count: 0,
                    }),
                    scope_spans: vec![wire::ScopeSpans {
                        spans: vec![span(1, 4, 3, "db"), bad_span, span(3, 8, 0, "lonely")],
                        ..Default::default()
                    }],
                    ..Default::default()
                },
                wire::ResourceSpans::default(),
            ],
        }
    }

    fn tag_set(batch: &SplitBatch, ids: &[u32]) -> BTreeSet<TagKey> {
        ids.iter().map(|i| batch.tags[*i as usize].clone()).collect()
    }

    /// The fast path and the full path give the same chunks, byte for byte, and the same tags.
    fn assert_same(bytes: &[u8]) {
        assert_same_as(bytes, true);
    }

    /// As [`assert_same`]; with `exact` false (non-canonical input, where the full path's
    /// re-encoding differs in bytes), the chunks decode to the same messages.
    fn assert_same_as(bytes: &[u8], exact: bool) {
        let decoded = wire::TracesData::decode(bytes).unwrap();
        let slow = batch::split(&decoded.resource_spans);
        let fast = FastSplitter::new(&Redactor::default()).split(bytes).unwrap();
        assert_eq!(
            fast.spans_received,
            crate::ingest::span_count(&decoded.resource_spans)
        );
        let fast = fast.batch;
        assert_eq!(fast.rejected, slow.rejected);
        assert_eq!(fast.first_error, slow.first_error);
        assert_eq!(fast.tags, slow.tags, "tags are interned in the same order");
        assert_eq!(fast.chunks.len(), slow.chunks.len());
        for (f, s) in fast.chunks.iter().zip(&slow.chunks) {
            assert_eq!(f.trace_id, s.trace_id);
            assert_eq!(
                (f.start_unix_nanos, f.end_unix_nanos, f.span_count, f.error_count),
                (s.start_unix_nanos, s.end_unix_nanos, s.span_count, s.error_count)
            );
            assert_eq!(f.root, s.root);
            if exact {
                assert_eq!(f.encoded, s.encoded, "chunk bytes of {:?}", f.trace_id);
            } else {
                assert_eq!(
                    wire::TracesData::decode(f.encoded.as_slice()).unwrap(),
                    wire::TracesData::decode(s.encoded.as_slice()).unwrap()
                );
            }
            assert_eq!(tag_set(&fast, &f.tags), tag_set(&slow, &s.tags));
            assert_eq!(f.attr_bloom, s.attr_bloom, "attribute filter of {:?}", f.trace_id);
        }
    }

    /// Whether the chunk's attribute filter may hold (key, value).
    fn may_hold(chunk: &batch::TraceChunk, key: &str, value: &str) -> bool {
        let filter = crate::store::attr_bloom::Filter::parse(&chunk.attr_bloom).unwrap();
        filter.may_contain(crate::store::attr_bloom::pair_hash(key, value))
    }

    #[test]
    fn attribute_filters_hold_string_attributes_and_array_elements() {
        let bytes = synthetic().encode_to_vec();
        let fast = FastSplitter::new(&Redactor::default()).split(&bytes).unwrap();
        let t1 = &fast.batch.chunks[0];
        for (key, value) in [
            ("http.route", "/x"),
            ("arr", "a"),
            ("nested", "n1"),
            ("nested", "n2"),
            ("nested", "n3"),
            ("host", "h1"),
            ("res.arr", "r1"),
            ("res.arr", "r2"),
            ("service.name", "a"),
            ("service.name", "second"),
        ] {
            assert!(may_hold(t1, key, value), "{key}={value}");
        }
        // Not strings of spans or resources, or too long to be indexed.
        let long = "x".repeat(300);
        for (key, value) in [
            ("exception.type", "Boom"),
            ("link.kind", "follows"),
            ("scope.attr", "x"),
            ("n", "-1"),
            ("deep", "kv"),
            ("inner", "v"),
            ("nested", "4"),
            ("long", long.as_str()),
            ("http.route", "/y"),
        ] {
            assert!(!may_hold(t1, key, value), "{key}={value}");
        }
        // Trace 3 (one span, second resource) has none of the first resource's.
        let lonely = &fast.batch.chunks[2];
        assert!(may_hold(lonely, "service.name", "second"));
        assert!(!may_hold(lonely, "host", "h1") && !may_hold(lonely, "res.arr", "r1"));
    }

    /// An attribute value with several fields of its oneof: the last kind wins, a repeated
    /// array extends the first; the fast path's filter follows the full decoder.
    #[test]
    fn attribute_filters_follow_the_decoder_on_mixed_values() {
        let any = |v: wire::AnyValueKind| wire::AnyValue { value: Some(v) }.encode_to_vec();
        let attr = |key: &str, parts: &[Vec<u8>]| {
            let mut out = Vec::new();
            put_bytes_field(&mut out, 1, key.as_bytes());
            put_bytes_field(&mut out, 2, &parts.concat());
            out
        };
        let mut span_bytes = span(5, 1, 0, "mixed").encode_to_vec();
        let arr_p = any(array(vec![s("p")]));
        let arr_r = any(array(vec![s("r"), array(vec![s("t")])]));
        for (key, parts) in [
            ("mix1", vec![arr_p.clone(), any(s("q"))]),
            ("mix2", vec![any(s("q")), arr_p.clone()]),
            ("mix3", vec![arr_p.clone(), arr_r.clone()]),
            (
                "mix4",
                vec![arr_p.clone(), any(wire::AnyValueKind::IntValue(1)), arr_r],
            ),
        ] {
            put_bytes_field(&mut span_bytes, 9, &attr(key, &parts));
        }
        let mut scope_spans = Vec::new();
        put_bytes_field(&mut scope_spans, 2, &span_bytes);
        let mut rs = Vec::new();
        put_bytes_field(&mut rs, 2, &scope_spans);
        let mut body = Vec::new();
        put_bytes_field(&mut body, 1, &rs);
        assert_same_as(&body, false);
        let fast = FastSplitter::new(&Redactor::default()).split(&body).unwrap();
        let chunk = &fast.batch.chunks[0];
        for (key, value, held) in [
            ("mix1", "q", true),
            ("mix1", "p", false),
            ("mix2", "p", true),
            ("mix2", "q", false),
            ("mix3", "p", true),
            ("mix3", "r", true),
            ("mix3", "t", true),
            ("mix4", "p", false),
            ("mix4", "r", true),
            ("mix4", "t", true),
        ] {
            assert_eq!(may_hold(chunk, key, value), held, "{key}={value}");
        }
    }

    #[test]
    fn synthetic_batch_matches_the_full_path() {
        let bytes = synthetic().encode_to_vec();
        assert_same(&bytes);
        let fast = FastSplitter::new(&Redactor::default()).split(&bytes).unwrap();
        assert_eq!(fast.batch.rejected, 2);
        assert_eq!(fast.batch.chunks.len(), 3);
        let t1 = &fast.batch.chunks[0];
        assert_eq!(t1.span_count, 3);
        assert_eq!(t1.error_count, 1);
        assert_eq!(t1.root, Some(("a".to_string(), "root".to_string())));
        let lonely = &fast.batch.chunks[2];
        assert_eq!(lonely.root, Some((String::new(), "lonely".to_string())));
        let tags = tag_set(&fast.batch, &t1.tags);
        for (scope, key) in [
            (SCOPE_RESOURCE, "host"),
            (SCOPE_SPAN, "f"),
            (SCOPE_EVENT, "exception.type"),
            (SCOPE_LINK, "link.kind"),
        ] {
            assert!(tags.iter().any(|t| t.scope == scope && t.key == key), "{key}");
        }
        assert!(!tags
            .iter()
            .any(|t| t.key == "long" || t.key.is_empty() || t.key == "arr"));
    }

    #[test]
    fn fixtures_match_the_full_path() {
        let dir = std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/tempo-api/client_otlp"
        ));
        let Ok(entries) = std::fs::read_dir(dir) else {
            eprintln!("no fixtures at {}", dir.display());
            return;
        };
        let mut n = 0;
        for entry in entries {
            let path = entry.unwrap().path();
            let text = std::fs::read(&path).unwrap();
            let set = spanlens_core::formats::read(&text, None).unwrap();
            let data = crate::store::set_to_otlp(&set).unwrap();
            assert_same(&data.encode_to_vec());
            n += 1;
        }
        assert!(n > 0);
    }

    #[test]
    fn declines_what_needs_redaction_or_the_full_decoder() {
        let redactor = Redactor::new(crate::config::DEFAULT_REDACT_KEYS);
        let fast = FastSplitter::new(&redactor);
        assert!(fast.split(&synthetic().encode_to_vec()).is_ok());
        let mut data = synthetic();
        data.resource_spans[0].scope_spans[0].spans[0]
            .attributes
            .push(kv("db.password", s("hunter2")));
        assert_eq!(fast.split(&data.encode_to_vec()).unwrap_err(), Decline::Redact);
        let mut data = synthetic();
        data.resource_spans[1].scope_spans[0].spans[0].attributes.push(kv(
            "headers",
            wire::AnyValueKind::KvlistValue(wire::KeyValueList {
                values: vec![kv("Authorization", s("Bearer x"))],
            }),
        ));
        assert_eq!(fast.split(&data.encode_to_vec()).unwrap_err(), Decline::Redact);
        let mut data = synthetic();
        data.resource_spans[0]
            .instrumentation_library_spans
            .push(wire::InstrumentationLibrarySpans {
                spans: vec![span(9, 9, 0, "old")],
                ..Default::default()
            });
        assert!(matches!(
            fast.split(&data.encode_to_vec()),
            Err(Decline::Unusual(_))
        ));
        // Invalid UTF-8 in a string the fast path only validates.
        let mut bytes = synthetic().encode_to_vec();
        let pos = bytes.windows(3).position(|w| w == b"a=b").unwrap();
        bytes[pos] = 0xff;
        assert!(wire::TracesData::decode(bytes.as_slice()).is_err());
        assert!(matches!(fast.split(&bytes), Err(Decline::Unusual(_))));
    }

    /// Truncations and byte flips: never a panic, and whatever the fast path accepts, the full
    /// decoder accepts too, with the same result.
    #[test]
    fn garbage_never_panics_and_accepted_input_decodes() {
        let bytes = synthetic().encode_to_vec();
        let redactor = Redactor::default();
        let fast = FastSplitter::new(&redactor);
        let check = |b: &[u8]| {
            if fast.split(b).is_ok() {
                assert!(
                    wire::TracesData::decode(b).is_ok(),
                    "fast path accepted what prost refuses"
                );
                assert_same_as(b, false);
            }
        };
        for end in 0..bytes.len() {
            check(&bytes[..end]);
        }
        let mut seed = 0x9e37_79b9_u32;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        for _ in 0..3000 {
            let mut b = bytes.clone();
            for _ in 0..1 + next() % 3 {
                let i = next() as usize % b.len();
                b[i] = next() as u8;
            }
            check(&b);
        }
        for len in 0..64 {
            let junk: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            check(&junk);
        }
    }
}
