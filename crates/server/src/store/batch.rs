//! Splits one decoded OTLP batch into per-trace chunks, the unit the embedded store writes.
//!
//! Each chunk is a self-contained protobuf `TracesData` holding only that trace's spans (with
//! their resources and scopes), so reading a trace back is: concatenate its chunks (repeated
//! protobuf fields concatenate) and run the core's OTLP protobuf reader once. Alongside each
//! chunk go the facts the store indexes: time range, span and error counts, the root span's
//! service and name, the distinct attribute values (tags) of the trace, and the trace's
//! attribute filter ([`super::attr_bloom`]: its string span and resource attributes, array
//! elements included).
//!
//! Spans are kept as sent (the Tempo-shaped answers drop what Tempo drops in the core's
//! writers). Spans without a 16-byte trace id or an 8-byte span id are refused and counted, as
//! OTLP's
//! `partial_success` expects. Not here: redaction (done before), SQL, compression.

use super::attr_bloom;
use hashbrown::HashMap;
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
    /// Bloom filter of the (key, string value) pairs of these spans and their resources
    /// ([`attr_bloom`]).
    pub attr_bloom: Vec<u8>,
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum TagVal<'a> {
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

/// Whether an attribute is indexed as a tag: a key of 1..=256 bytes and a scalar value
/// (strings up to 256 bytes).
pub(crate) fn indexable(key: &str, val: TagVal<'_>) -> bool {
    !key.is_empty()
        && key.len() <= MAX_TAG_VALUE_LEN
        && !matches!(val, TagVal::Str(s) if s.len() > MAX_TAG_VALUE_LEN)
}

fn tag_val(kv: &wire::KeyValue) -> Option<TagVal<'_>> {
    use wire::AnyValueKind as K;
    let val = match kv.value.as_ref()?.value.as_ref()? {
        K::StringValue(s) => TagVal::Str(s),
        K::IntValue(i) => TagVal::Int(*i),
        K::DoubleValue(d) => TagVal::Float(d.to_bits()),
        K::BoolValue(b) => TagVal::Bool(*b),
        _ => return None,
    };
    indexable(&kv.key, val).then_some(val)
}

/// Deepest array nesting whose string elements enter the attribute filter (the core's reader
/// keeps 64 levels; deeper elements are invisible to queries).
const MAX_ARRAY_DEPTH: u32 = 128;

/// The attribute-filter hash of one string element of an array attribute, when the pair is
/// within the indexed lengths.
pub(crate) fn item_hash(key: &str, item: &str) -> Option<u64> {
    indexable(key, TagVal::Str(item)).then(|| attr_bloom::pair_hash(key, item))
}

/// Calls `f` with every string element of an array value, at any depth (up to
/// [`MAX_ARRAY_DEPTH`]); nothing for other values.
fn array_strings<'a>(value: &'a wire::AnyValue, depth: u32, f: &mut impl FnMut(&'a str)) {
    use wire::AnyValueKind as K;
    let Some(K::ArrayValue(array)) = &value.value else {
        return;
    };
    if depth > MAX_ARRAY_DEPTH {
        return;
    }
    for item in &array.values {
        match &item.value {
            Some(K::StringValue(s)) => f(s),
            Some(K::ArrayValue(_)) => array_strings(item, depth + 1, f),
            _ => {}
        }
    }
}

/// Per-trace accumulation while walking a batch.
struct Acc {
    trace_id: [u8; 16],
    start: u64,
    end: u64,
    spans: u64,
    errors: u64,
    root: Option<(String, String)>,
    /// (resource index, scope index, framed span fields).
    groups: Vec<(usize, usize, Vec<u8>)>,
    /// Interned tag ids (duplicates removed at the end).
    tags: Vec<u32>,
    /// Attribute-filter hashes of the string elements of the spans' array attributes.
    items: Vec<u64>,
    resources: Vec<usize>,
}

/// A scope as it will be written into chunks: its encoded `InstrumentationScope` (None when
/// absent) and schema URL.
pub(crate) type ScopeOut<'a> = (Option<std::borrow::Cow<'a, [u8]>>, &'a [u8]);

/// A resource as it will be written into chunks: its encoded `Resource` (None when absent),
/// schema URL, interned tags, attribute-filter hashes of its array attributes' string elements
/// ([`item_hash`]), and its scopes as (encoded `InstrumentationScope`, schema URL).
pub(crate) struct ResourceOut<'a> {
    pub bytes: Option<std::borrow::Cow<'a, [u8]>>,
    pub schema_url: &'a [u8],
    pub tags: Vec<u32>,
    pub items: Vec<u64>,
    pub scopes: Vec<ScopeOut<'a>>,
}

/// The facts of one span that the split needs besides its bytes.
pub(crate) struct SpanFacts<'a> {
    pub trace_id: &'a [u8],
    pub span_id: &'a [u8],
    pub parent_is_zero: bool,
    pub name: &'a str,
    pub start: u64,
    pub end: u64,
    pub is_error: bool,
}

/// Groups spans per trace, interning tags; shared by [`split`] (decoded wire types) and the
/// protobuf fast path of ingest (borrowed bytes). Call [`Splitter::span`] per span in batch
/// order, then [`Splitter::finish`].
#[derive(Default)]
pub(crate) struct Splitter<'a> {
    index: HashMap<[u8; 16], usize>,
    accs: Vec<Acc>,
    tag_index: HashMap<TagRef<'a>, u32>,
    tag_list: Vec<TagRef<'a>>,
    rejected: u64,
    first_error: Option<String>,
}

impl<'a> Splitter<'a> {
    /// The id of a tag value in this batch.
    pub(crate) fn intern(&mut self, scope: u8, key: &'a str, val: TagVal<'a>) -> u32 {
        let tag = TagRef { scope, key, val };
        if let Some(i) = self.tag_index.get(&tag) {
            return *i;
        }
        let i = u32::try_from(self.tag_list.len()).unwrap_or(u32::MAX);
        self.tag_list.push(tag);
        self.tag_index.insert(tag, i);
        i
    }

    /// Checks the ids of a span and records its facts; `None` when the span is refused
    /// (counted). Otherwise the trace slot, for [`Splitter::tag`] and [`Splitter::span_buf`].
    pub(crate) fn span(&mut self, ri: usize, facts: &SpanFacts<'a>, service: &str) -> Option<usize> {
        let Ok(trace_id) = <[u8; 16]>::try_from(facts.trace_id) else {
            self.rejected += 1;
            let len = facts.trace_id.len();
            self.first_error
                .get_or_insert_with(|| format!("span has an invalid trace id: {len} bytes, expected 16"));
            return None;
        };
        if trace_id == [0u8; 16] {
            self.rejected += 1;
            self.first_error
                .get_or_insert_with(|| "span has an all-zero trace id".to_string());
            return None;
        }
        if facts.span_id.len() != 8 || facts.span_id.iter().all(|b| *b == 0) {
            self.rejected += 1;
            let len = facts.span_id.len();
            self.first_error
                .get_or_insert_with(|| format!("span has an invalid span id: {len} bytes, expected 8"));
            return None;
        }
        let accs = &mut self.accs;
        let slot = *self.index.entry(trace_id).or_insert_with(|| {
            accs.push(Acc {
                trace_id,
                start: u64::MAX,
                end: 0,
                spans: 0,
                errors: 0,
                root: None,
                groups: Vec::new(),
                tags: Vec::new(),
                items: Vec::new(),
                resources: Vec::new(),
            });
            accs.len() - 1
        });
        let name_tag = self.intern(SCOPE_NAME, "name", TagVal::Str(facts.name));
        let acc = self.accs.get_mut(slot)?;
        acc.start = acc.start.min(facts.start);
        acc.end = acc.end.max(facts.end.max(facts.start));
        acc.spans += 1;
        if facts.is_error {
            acc.errors += 1;
        }
        if facts.parent_is_zero && acc.root.is_none() {
            acc.root = Some((service.to_string(), facts.name.to_string()));
        }
        if !acc.resources.contains(&ri) {
            acc.resources.push(ri);
        }
        acc.tags.push(name_tag);
        Some(slot)
    }

    /// Records an attribute of the span last passed to [`Splitter::span`] (skipped when not
    /// indexable).
    pub(crate) fn tag(&mut self, slot: usize, scope: u8, key: &'a str, val: TagVal<'a>) {
        if !indexable(key, val) {
            return;
        }
        let id = self.intern(scope, key, val);
        if let Some(acc) = self.accs.get_mut(slot) {
            acc.tags.push(id);
        }
    }

    /// Records a string element of an array attribute of the span last passed to
    /// [`Splitter::span`], for the attribute filter only (arrays are not tags).
    pub(crate) fn array_item(&mut self, slot: usize, key: &str, item: &str) {
        if let (Some(hash), Some(acc)) = (item_hash(key, item), self.accs.get_mut(slot)) {
            acc.items.push(hash);
        }
    }

    /// The buffer the span's framed encoding (field 2 of `ScopeSpans`) is appended to.
    pub(crate) fn span_buf(&mut self, slot: usize, ri: usize, si: usize) -> Option<&mut Vec<u8>> {
        let acc = self.accs.get_mut(slot)?;
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
        acc.groups.last_mut().map(|g| &mut g.2)
    }

    /// Builds one chunk per trace.
    pub(crate) fn finish(self, resources: &[ResourceOut<'_>]) -> SplitBatch {
        let mut chunks = Vec::with_capacity(self.accs.len());
        // The attribute-filter hash of each tag that enters filters, computed once per batch.
        let pair_hashes: Vec<Option<u64>> = self
            .tag_list
            .iter()
            .map(|t| match (t.scope, t.val) {
                (SCOPE_SPAN | SCOPE_RESOURCE, TagVal::Str(v)) => Some(attr_bloom::pair_hash(t.key, v)),
                _ => None,
            })
            .collect();
        let mut hashes: Vec<u64> = Vec::new();
        for mut acc in self.accs {
            // Order groups by resource then scope so each resource is written once.
            acc.groups.sort_by_key(|g| (g.0, g.1));
            let size: usize = acc.groups.iter().map(|g| g.2.len() + 16).sum();
            let mut encoded = Vec::with_capacity(size + 256);
            let mut rs_inner = Vec::new();
            let mut i = 0;
            while let Some(&(ri, _, _)) = acc.groups.get(i) {
                rs_inner.clear();
                let resource = resources.get(ri);
                if let Some(bytes) = resource.and_then(|r| r.bytes.as_deref()) {
                    put_bytes_field(&mut rs_inner, 1, bytes);
                }
                while let Some((gri, si, spans)) = acc.groups.get(i) {
                    if *gri != ri {
                        break;
                    }
                    let scope = resource.and_then(|r| r.scopes.get(*si));
                    let scope_bytes = scope.and_then(|s| s.0.as_deref());
                    let url = scope.map(|s| s.1).unwrap_or_default();
                    let mut len = spans.len();
                    if let Some(b) = scope_bytes {
                        len += framed_len(1, b.len());
                    }
                    if !url.is_empty() {
                        len += framed_len(3, url.len());
                    }
                    encode_key(2, WireType::LengthDelimited, &mut rs_inner);
                    encode_varint(len as u64, &mut rs_inner);
                    if let Some(b) = scope_bytes {
                        put_bytes_field(&mut rs_inner, 1, b);
                    }
                    rs_inner.extend_from_slice(spans);
                    if !url.is_empty() {
                        put_bytes_field(&mut rs_inner, 3, url);
                    }
                    i += 1;
                }
                if let Some(url) = resource.map(|r| r.schema_url).filter(|u| !u.is_empty()) {
                    put_bytes_field(&mut rs_inner, 3, url);
                }
                put_bytes_field(&mut encoded, 1, &rs_inner);
            }
            for ri in &acc.resources {
                if let Some(r) = resources.get(*ri) {
                    acc.tags.extend(r.tags.iter().copied());
                }
            }
            acc.tags.sort_unstable();
            acc.tags.dedup();
            hashes.clear();
            hashes.extend(
                acc.tags
                    .iter()
                    .filter_map(|i| pair_hashes.get(*i as usize).copied().flatten()),
            );
            hashes.append(&mut acc.items);
            for ri in &acc.resources {
                if let Some(r) = resources.get(*ri) {
                    hashes.extend_from_slice(&r.items);
                }
            }
            hashes.sort_unstable();
            hashes.dedup();
            chunks.push(TraceChunk {
                trace_id: acc.trace_id,
                start_unix_nanos: if acc.start == u64::MAX { 0 } else { acc.start },
                end_unix_nanos: acc.end,
                span_count: acc.spans,
                error_count: acc.errors,
                root: acc.root,
                encoded,
                tags: acc.tags,
                attr_bloom: attr_bloom::build(&hashes),
            });
        }
        SplitBatch {
            chunks,
            tags: self.tag_list.iter().map(|t| t.to_owned_key()).collect(),
            rejected: self.rejected,
            first_error: self.first_error,
        }
    }
}

/// Bytes taken by a length-delimited field with a `len`-byte payload.
fn framed_len(tag: u32, len: usize) -> usize {
    prost::encoding::key_len(tag) + prost::encoding::encoded_len_varint(len as u64) + len
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

fn add_tags<'a>(splitter: &mut Splitter<'a>, slot: usize, scope: u8, attrs: &'a [wire::KeyValue]) {
    for kv in attrs {
        if let Some(val) = tag_val(kv) {
            splitter.tag(slot, scope, &kv.key, val);
        } else if scope == SCOPE_SPAN {
            if let Some(value) = &kv.value {
                array_strings(value, 0, &mut |item| splitter.array_item(slot, &kv.key, item));
            }
        }
    }
}

/// Splits decoded `resource_spans` into one chunk per trace.
pub fn split(resource_spans: &[wire::ResourceSpans]) -> SplitBatch {
    let mut splitter = Splitter::default();
    let mut resources: Vec<ResourceOut<'_>> = Vec::with_capacity(resource_spans.len());
    for (ri, rs) in resource_spans.iter().enumerate() {
        let mut rtags = Vec::new();
        let mut ritems = Vec::new();
        if let Some(r) = &rs.resource {
            for kv in &r.attributes {
                if let Some(val) = tag_val(kv) {
                    rtags.push(splitter.intern(SCOPE_RESOURCE, &kv.key, val));
                } else if let Some(value) = &kv.value {
                    array_strings(value, 0, &mut |item| ritems.extend(item_hash(&kv.key, item)));
                }
            }
        }
        let service = service_name(rs.resource.as_ref());
        let mut scopes = Vec::new();
        let mut span_lists: Vec<&[wire::Span]> = Vec::new();
        for ss in &rs.scope_spans {
            scopes.push((
                ss.scope.as_ref().map(|s| s.encode_to_vec().into()),
                ss.schema_url.as_bytes(),
            ));
            span_lists.push(&ss.spans);
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
            scopes.push((scope.map(|s| s.encode_to_vec().into()), ils.schema_url.as_bytes()));
            span_lists.push(&ils.spans);
        }
        for (si, spans) in span_lists.iter().enumerate() {
            for span in spans.iter() {
                let facts = SpanFacts {
                    trace_id: &span.trace_id,
                    span_id: &span.span_id,
                    parent_is_zero: span.parent_span_id.iter().all(|b| *b == 0),
                    name: &span.name,
                    start: span.start_time_unix_nano,
                    end: span.end_time_unix_nano,
                    is_error: span.status.as_ref().is_some_and(|s| s.code == 2),
                };
                let Some(slot) = splitter.span(ri, &facts, service) else {
                    continue;
                };
                add_tags(&mut splitter, slot, SCOPE_SPAN, &span.attributes);
                for event in &span.events {
                    add_tags(&mut splitter, slot, SCOPE_EVENT, &event.attributes);
                }
                for link in &span.links {
                    add_tags(&mut splitter, slot, SCOPE_LINK, &link.attributes);
                }
                if let Some(buf) = splitter.span_buf(slot, ri, si) {
                    prost::encoding::message::encode(2, span, buf);
                }
            }
        }
        resources.push(ResourceOut {
            bytes: rs.resource.as_ref().map(|r| r.encode_to_vec().into()),
            schema_url: rs.schema_url.as_bytes(),
            tags: rtags,
            items: ritems,
            scopes,
        });
    }
    splitter.finish(&resources)
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
