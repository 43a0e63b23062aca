//! Splits one decoded OTLP batch into per-trace chunks, the unit the embedded store writes.
//!
//! Each chunk is a self-contained protobuf `TracesData` holding only that trace's spans (with
//! their resources and scopes), so reading a trace back is: concatenate its chunks (repeated
//! protobuf fields concatenate) and run the core's OTLP protobuf reader once. Alongside each
//! chunk go the facts the store indexes: time range, span and error counts, the root span's
//! service and name, and the distinct attribute values (tags) of the trace.
//!
//! Spans are kept as sent (the Tempo-shaped answers drop what Tempo drops in the core's
//! writers). Spans without a 16-byte trace id or an 8-byte span id are refused and counted, as
//! OTLP's
//! `partial_success` expects. Not here: redaction (done before), SQL, compression.

use hashbrown::{HashMap, HashSet};
use prost::encoding::{encode_key, encode_varint, WireType};
use prost::Message;
use spanlens_core::formats::otlp_proto::wire;
use spanlens_core::model::format_double;

/// Tag scopes as stored (`TagScope` plus the span-name intrinsic used for filtering).
pub const SCOPE_RESOURCE: u8 = 0;
pub const SCOPE_SPAN: u8 = 1;
pub const SCOPE_EVENT: u8 = 2;
pub const SCOPE_LINK: u8 = 3;
/// Pseudo scope of the intrinsic `name` (span name); never listed as a tag.
pub const SCOPE_NAME: u8 = 9;

/// Value types as stored.
pub const VT_STRING: u8 = 0;
pub const VT_INT: u8 = 1;
pub const VT_FLOAT: u8 = 2;
pub const VT_BOOL: u8 = 3;

/// Values longer than this are not indexed as tags (they stay in the spans).
const MAX_TAG_VALUE_LEN: usize = 256;

/// One distinct attribute value, owned.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TagKey {
    pub scope: u8,
    pub key: String,
    pub vtype: u8,
    pub value: String,
}

/// The spans of one trace from one request, ready to store.
#[derive(Clone, Debug)]
pub struct TraceChunk {
    pub trace_id: [u8; 16],
    pub start_unix_nanos: u64,
    pub end_unix_nanos: u64,
    pub span_count: u64,
    pub error_count: u64,
    /// Service and name of the root span, when it is in this chunk.
    pub root: Option<(String, String)>,
    /// Protobuf `TracesData` of these spans (uncompressed).
    pub encoded: Vec<u8>,
    /// Distinct indexed attribute values of these spans and their resources, as sorted
    /// indexes into [`SplitBatch::tags`].
    pub tags: Vec<u32>,
}

/// A split batch.
#[derive(Clone, Debug, Default)]
pub struct SplitBatch {
    pub chunks: Vec<TraceChunk>,
    /// Distinct indexed attribute values of the whole batch (chunks refer to them by index).
    pub tags: Vec<TagKey>,
    /// Spans refused (bad ids).
    pub rejected: u64,
    /// Why the first refused span was refused.
    pub first_error: Option<String>,
}

impl SplitBatch {
    /// Spans accepted for storage.
    pub fn span_count(&self) -> u64 {
        self.chunks.iter().map(|c| c.span_count).sum()
    }
}

/// A borrowed tag value, to dedupe without allocating.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum TagVal<'a> {
    Str(&'a str),
    Int(i64),
    Float(u64),
    Bool(bool),
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct TagRef<'a> {
    scope: u8,
    key: &'a str,
    val: TagVal<'a>,
}

impl TagRef<'_> {
    fn to_owned_key(self) -> TagKey {
        let (vtype, value) = match self.val {
            TagVal::Str(s) => (VT_STRING, s.to_string()),
            TagVal::Int(i) => (VT_INT, i.to_string()),
            TagVal::Float(bits) => (VT_FLOAT, format_double(f64::from_bits(bits))),
            TagVal::Bool(b) => (VT_BOOL, b.to_string()),
        };
        TagKey {
            scope: self.scope,
            key: self.key.to_string(),
            vtype,
            value,
        }
    }
}

/// Interns tag values of one batch: each distinct value gets a small index once.
#[derive(Default)]
struct Interner<'a> {
    index: HashMap<TagRef<'a>, u32>,
    tags: Vec<TagRef<'a>>,
}

impl<'a> Interner<'a> {
    fn intern(&mut self, tag: TagRef<'a>) -> u32 {
        if let Some(i) = self.index.get(&tag) {
            return *i;
        }
        let i = u32::try_from(self.tags.len()).unwrap_or(u32::MAX);
        self.tags.push(tag);
        self.index.insert(tag, i);
        i
    }
}

fn tag_refs<'a>(scope: u8, attrs: &'a [wire::KeyValue], interner: &mut Interner<'a>, out: &mut HashSet<u32>) {
    for kv in attrs {
        if let Some(val) = tag_val(kv) {
            out.insert(interner.intern(TagRef {
                scope,
                key: kv.key.as_str(),
                val,
            }));
        }
    }
}

fn tag_val(kv: &wire::KeyValue) -> Option<TagVal<'_>> {
    use wire::AnyValueKind as K;
    if kv.key.is_empty() || kv.key.len() > MAX_TAG_VALUE_LEN {
        return None;
    }
    match kv.value.as_ref()?.value.as_ref()? {
        K::StringValue(s) if s.len() <= MAX_TAG_VALUE_LEN => Some(TagVal::Str(s)),
        K::IntValue(i) => Some(TagVal::Int(*i)),
        K::DoubleValue(d) => Some(TagVal::Float(d.to_bits())),
        K::BoolValue(b) => Some(TagVal::Bool(*b)),
        _ => None,
    }
}

/// Per-trace accumulation while walking the batch.
struct Acc {
    trace_id: [u8; 16],
    start: u64,
    end: u64,
    spans: u64,
    errors: u64,
    root: Option<(String, String)>,
    /// (resource index, scope index, framed span fields).
    groups: Vec<(usize, usize, Vec<u8>)>,
    tags: HashSet<u32>,
    resources: Vec<usize>,
}

/// A scope as it will be written (old `InstrumentationLibrarySpans` become scopes).
struct ScopeOut<'a> {
    scope_bytes: Option<Vec<u8>>,
    schema_url: &'a str,
    spans: &'a [wire::Span],
}

fn put_bytes_field(out: &mut Vec<u8>, tag: u32, bytes: &[u8]) {
    encode_key(tag, WireType::LengthDelimited, out);
    encode_varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

fn service_name(resource: Option<&wire::Resource>) -> &str {
    resource
        .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            wire::AnyValueKind::StringValue(s) => Some(s.as_str()),
            _ => None,
        })
        .unwrap_or("")
}

/// Splits `resource_spans` into one chunk per trace.
pub fn split(resource_spans: &[wire::ResourceSpans]) -> SplitBatch {
    let mut rejected = 0u64;
    let mut first_error: Option<String> = None;
    let mut index: HashMap<[u8; 16], usize> = HashMap::new();
    let mut accs: Vec<Acc> = Vec::new();
    let mut resource_bytes: Vec<Option<Vec<u8>>> = Vec::with_capacity(resource_spans.len());
    let mut resource_tags: Vec<Vec<u32>> = Vec::with_capacity(resource_spans.len());
    let mut interner = Interner::default();
    let mut scopes: Vec<Vec<ScopeOut<'_>>> = Vec::with_capacity(resource_spans.len());

    for (ri, rs) in resource_spans.iter().enumerate() {
        resource_bytes.push(rs.resource.as_ref().map(|r| r.encode_to_vec()));
        let mut rtags = HashSet::new();
        if let Some(r) = &rs.resource {
            tag_refs(SCOPE_RESOURCE, &r.attributes, &mut interner, &mut rtags);
        }
        resource_tags.push(rtags.into_iter().collect());
        let service = service_name(rs.resource.as_ref());
        let mut outs: Vec<ScopeOut<'_>> = Vec::new();
        for ss in &rs.scope_spans {
            outs.push(ScopeOut {
                scope_bytes: ss.scope.as_ref().map(|s| s.encode_to_vec()),
                schema_url: &ss.schema_url,
                spans: &ss.spans,
            });
        }
        for ils in &rs.instrumentation_library_spans {
            let scope = ils
                .instrumentation_library
                .as_ref()
                .map(|l| wire::InstrumentationScope {
                    name: l.name.clone(),
                    version: l.version.clone(),
                    ..wire::InstrumentationScope::default()
                });
            outs.push(ScopeOut {
                scope_bytes: scope.map(|s| s.encode_to_vec()),
                schema_url: &ils.schema_url,
                spans: &ils.spans,
            });
        }
        for (si, scope) in outs.iter().enumerate() {
            for span in scope.spans {
                let Ok(trace_id) = <[u8; 16]>::try_from(span.trace_id.as_slice()) else {
                    rejected += 1;
                    first_error.get_or_insert_with(|| {
                        format!(
                            "span has an invalid trace id: {} bytes, expected 16",
                            span.trace_id.len()
                        )
                    });
                    continue;
                };
                if trace_id == [0u8; 16] {
                    rejected += 1;
                    first_error.get_or_insert_with(|| "span has an all-zero trace id".to_string());
                    continue;
                }
                if span.span_id.len() != 8 || span.span_id.iter().all(|b| *b == 0) {
                    rejected += 1;
                    first_error.get_or_insert_with(|| {
                        format!(
                            "span has an invalid span id: {} bytes, expected 8",
                            span.span_id.len()
                        )
                    });
                    continue;
                }
                let slot = *index.entry(trace_id).or_insert_with(|| {
                    accs.push(Acc {
                        trace_id,
                        start: u64::MAX,
                        end: 0,
                        spans: 0,
                        errors: 0,
                        root: None,
                        groups: Vec::new(),
                        tags: HashSet::new(),
                        resources: Vec::new(),
                    });
                    accs.len() - 1
                });
                let Some(acc) = accs.get_mut(slot) else {
                    continue;
                };
                acc.start = acc.start.min(span.start_time_unix_nano);
                acc.end = acc
                    .end
                    .max(span.end_time_unix_nano.max(span.start_time_unix_nano));
                acc.spans += 1;
                if span.status.as_ref().is_some_and(|s| s.code == 2) {
                    acc.errors += 1;
                }
                if span.parent_span_id.iter().all(|b| *b == 0) && acc.root.is_none() {
                    acc.root = Some((service.to_string(), span.name.clone()));
                }
                if !acc.resources.contains(&ri) {
                    acc.resources.push(ri);
                }
                acc.tags.insert(interner.intern(TagRef {
                    scope: SCOPE_NAME,
                    key: "name",
                    val: TagVal::Str(&span.name),
                }));
                tag_refs(SCOPE_SPAN, &span.attributes, &mut interner, &mut acc.tags);
                for event in &span.events {
                    tag_refs(SCOPE_EVENT, &event.attributes, &mut interner, &mut acc.tags);
                }
                for link in &span.links {
                    tag_refs(SCOPE_LINK, &link.attributes, &mut interner, &mut acc.tags);
                }
                let same = matches!(acc.groups.last(), Some(g) if g.0 == ri && g.1 == si);
                if !same {
                    if let Some(pos) = acc.groups.iter().position(|g| g.0 == ri && g.1 == si) {
                        // Spans of one scope interleaved with another's: reuse the group.
                        let g = acc.groups.remove(pos);
                        acc.groups.push(g);
                    } else {
                        acc.groups.push((ri, si, Vec::new()));
                    }
                }
                let Some(group) = acc.groups.last_mut() else {
                    continue;
                };
                prost::encoding::message::encode(2, span, &mut group.2);
            }
        }
        scopes.push(outs);
    }

    let mut chunks = Vec::with_capacity(accs.len());
    for mut acc in accs {
        // Order groups by resource then scope so each resource is written once.
        acc.groups.sort_by_key(|g| (g.0, g.1));
        let mut encoded = Vec::new();
        let mut i = 0;
        while let Some(&(ri, _, _)) = acc.groups.get(i) {
            let mut rs_inner = Vec::new();
            if let Some(Some(bytes)) = resource_bytes.get(ri) {
                put_bytes_field(&mut rs_inner, 1, bytes);
            }
            while let Some((gri, si, spans)) = acc.groups.get(i) {
                if *gri != ri {
                    break;
                }
                let mut ss_inner = Vec::with_capacity(spans.len() + 64);
                let scope = scopes.get(ri).and_then(|s| s.get(*si));
                if let Some(Some(bytes)) = scope.map(|s| &s.scope_bytes) {
                    put_bytes_field(&mut ss_inner, 1, bytes);
                }
                ss_inner.extend_from_slice(spans);
                if let Some(url) = scope.map(|s| s.schema_url).filter(|u| !u.is_empty()) {
                    put_bytes_field(&mut ss_inner, 3, url.as_bytes());
                }
                put_bytes_field(&mut rs_inner, 2, &ss_inner);
                i += 1;
            }
            if let Some(rs) = resource_spans.get(ri).filter(|rs| !rs.schema_url.is_empty()) {
                put_bytes_field(&mut rs_inner, 3, rs.schema_url.as_bytes());
            }
            put_bytes_field(&mut encoded, 1, &rs_inner);
        }
        for ri in &acc.resources {
            if let Some(tags) = resource_tags.get(*ri) {
                acc.tags.extend(tags.iter().copied());
            }
        }
        let mut tags: Vec<u32> = acc.tags.iter().copied().collect();
        tags.sort_unstable();
        chunks.push(TraceChunk {
            trace_id: acc.trace_id,
            start_unix_nanos: if acc.start == u64::MAX { 0 } else { acc.start },
            end_unix_nanos: acc.end,
            span_count: acc.spans,
            error_count: acc.errors,
            root: acc.root,
            encoded,
            tags,
        });
    }
    SplitBatch {
        chunks,
        tags: interner.tags.iter().map(|t| t.to_owned_key()).collect(),
        rejected,
        first_error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spanlens_core::formats::{self, Format};

    fn kv(k: &str, v: &str) -> wire::KeyValue {
        wire::KeyValue {
            key: k.to_string(),
            value: Some(wire::AnyValue {
                value: Some(wire::AnyValueKind::StringValue(v.to_string())),
            }),
        }
    }

    fn span(t: u8, s: u8, parent: u8, name: &str) -> wire::Span {
        wire::Span {
            trace_id: vec![t; 16],
            span_id: vec![s; 8],
            parent_span_id: if parent == 0 { vec![] } else { vec![parent; 8] },
            name: name.to_string(),
            start_time_unix_nano: 1_000 + u64::from(s),
            end_time_unix_nano: 2_000 + u64::from(s),
            attributes: vec![kv("http.route", "/x")],
            ..wire::Span::default()
        }
    }

    #[test]
    fn splits_per_trace_and_round_trips() {
        let data = vec![
            wire::ResourceSpans {
                resource: Some(wire::Resource {
                    attributes: vec![kv("service.name", "a")],
                    dropped_attributes_count: 0,
                }),
                scope_spans: vec![wire::ScopeSpans {
                    scope: Some(wire::InstrumentationScope {
                        name: "lib".to_string(),
                        ..Default::default()
                    }),
                    spans: vec![
                        span(1, 1, 0, "root"),
                        span(2, 2, 9, "other"),
                        span(1, 3, 1, "child"),
                    ],
                    schema_url: String::new(),
                }],
                ..Default::default()
            },
            wire::ResourceSpans {
                resource: Some(wire::Resource {
                    attributes: vec![kv("service.name", "b")],
                    dropped_attributes_count: 0,
                }),
                scope_spans: vec![wire::ScopeSpans {
                    spans: vec![span(1, 4, 3, "db"), span(0, 5, 0, "bad")],
                    ..Default::default()
                }],
                ..Default::default()
            },
        ];
        let batch = split(&data);
        assert_eq!(batch.rejected, 1);
        assert_eq!(batch.chunks.len(), 2);
        let t1 = &batch.chunks[0];
        assert_eq!(t1.span_count, 3);
        assert_eq!(t1.root, Some(("a".to_string(), "root".to_string())));
        assert!(t1
            .tags
            .iter()
            .any(|i| batch.tags[*i as usize].key == "service.name" && batch.tags[*i as usize].value == "b"));
        let set = formats::read(&t1.encoded, Some(Format::OtlpProto)).unwrap();
        assert_eq!(set.span_count(), 3);
        let services: Vec<&str> = set.spans().iter().map(|s| set.service_name(s)).collect();
        assert!(services.contains(&"a") && services.contains(&"b"));
    }
}
