//! OTLP JSON reader, in every envelope seen in the wild: `{"resourceSpans":[...]}`
//! (OTLP/JSON, `TracesData` / `ExportTraceServiceRequest`), Tempo v1 `{"batches":[...]}`, Tempo
//! v2 `{"trace":{...},"status"?,"message"?}` (a `PARTIAL` status becomes a warning), Jaeger v3
//! `{"result":{"resourceSpans":[...]}}`, a JSON array of such documents, and JSON Lines of any
//! of these (spans of one trace spread over lines are merged by assembly).
//!
//! Follows the OTLP/JSON encoding of the OTLP specification and, for what Tempo and other
//! protobuf-JSON writers do, proto3's JSON mapping: ids in hex (any case) or base64; enums as
//! integers or names; 64-bit integers as strings or JSON numbers (never through `f64`);
//! doubles as numbers or `"NaN"`/`"Infinity"`/`"-Infinity"`; old `instrumentationLibrarySpans`.
//!
//! The document is validated as UTF-8 once, then streamed by our own JSON scanner (`scan`, a
//! serde `Deserializer`) through `DeserializeSeed`s straight into the builder (no intermediate
//! tree; strings are borrowed from the input when unescaped). Key order inside an
//! object is free: a resource or scope that comes after its spans is patched in afterwards.
//! Bad spans are skipped or repaired and reported as diagnostics. Not here: format detection,
//! writing (see `formats::writers`).

use crate::diagnostics::DiagnosticKind;
use crate::model::{
    Event, IdEncoding, KeyValue, Link, Range32, Resource, Scope, Span, SpanId, SpanKind, StatusCode, StrId,
    TraceId, TraceSetBuilder, Value,
};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;

mod hand;
mod scan;

const B64_CONFIG: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
/// Standard base64, padding optional.
const B64: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, B64_CONFIG);
/// URL-safe base64, padding optional (proto3 JSON readers accept both alphabets).
const B64_URL: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, B64_CONFIG);

/// Reads one document (or JSON Lines) into the builder, or says why it is not OTLP JSON.
pub(crate) fn read(bytes: &[u8], builder: &mut TraceSetBuilder) -> Result<(), String> {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let trimmed = trim_ascii(bytes);
    if trimmed.is_empty() {
        return Err("the input is empty".to_string());
    }
    let mark = Mark::take(builder);
    // Shared by every document of this input: interned ids stay valid across a rollback.
    let mut cache = InternCache::new();
    let whole_error = match parse_document(trimmed, builder, None, &mut cache) {
        Ok(true) => return Ok(()),
        Ok(false) => {
            mark.restore(builder);
            return Err(
                "no `resourceSpans`, `batches`, `trace` or `result.resourceSpans` in the document"
                    .to_string(),
            );
        }
        Err(e) => {
            mark.restore(builder);
            e
        }
    };
    let line_count = trimmed
        .split(|&b| b == b'\n')
        .filter(|l| !trim_ascii(l).is_empty())
        .count();
    if line_count < 2 {
        return Err(format!("not valid JSON: {whole_error}"));
    }
    // JSON Lines: one document per line; a bad line is reported and skipped.
    let mut any = false;
    for (n, line) in trimmed.split(|&b| b == b'\n').enumerate() {
        let line = trim_ascii(line);
        if line.is_empty() {
            continue;
        }
        let line_mark = Mark::take(builder);
        let reason = match parse_document(line, builder, Some(n + 1), &mut cache) {
            Ok(true) => {
                any = true;
                continue;
            }
            Ok(false) => "not an OTLP trace document".to_string(),
            Err(e) => format!("not valid JSON: {e}"),
        };
        line_mark.restore(builder);
        builder.diagnostics.add(
            DiagnosticKind::InvalidDocument,
            format!("line {}", n + 1),
            None,
            None,
            format!("{reason}; line skipped"),
        );
    }
    if any {
        Ok(())
    } else {
        mark.restore(builder);
        Err(format!(
            "not valid JSON ({whole_error}), and no line is an OTLP trace document"
        ))
    }
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    b.get(start..end).unwrap_or(&[])
}

/// Builder state to roll back to when a document turns out not to be readable.
struct Mark {
    spans: usize,
    kvs: usize,
    values: usize,
    bytes: usize,
    events: usize,
    links: usize,
    resources: usize,
    scopes: usize,
    diagnostics: crate::diagnostics::Diagnostics,
}

impl Mark {
    fn take(b: &TraceSetBuilder) -> Mark {
        Mark {
            spans: b.spans.len(),
            kvs: b.arena.kvs.len(),
            values: b.arena.values.len(),
            bytes: b.arena.bytes.len(),
            events: b.arena.events.len(),
            links: b.arena.links.len(),
            resources: b.arena.resources.len(),
            scopes: b.arena.scopes.len(),
            diagnostics: b.diagnostics.clone(),
        }
    }

    fn restore(&self, b: &mut TraceSetBuilder) {
        b.spans.truncate(self.spans);
        b.arena.kvs.truncate(self.kvs);
        b.arena.values.truncate(self.values);
        b.arena.bytes.truncate(self.bytes);
        b.arena.events.truncate(self.events);
        b.arena.links.truncate(self.links);
        b.arena.resources.truncate(self.resources);
        b.arena.scopes.truncate(self.scopes);
        b.diagnostics = self.diagnostics.clone();
    }
}

/// Parses one JSON value. `Ok(false)`: valid JSON but not a trace document.
fn parse_document(
    bytes: &[u8],
    builder: &mut TraceSetBuilder,
    line: Option<usize>,
    cache: &mut InternCache,
) -> Result<bool, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let (line, column) = scan::line_column(bytes, e.valid_up_to());
        format!("invalid UTF-8 at line {line} column {column}")
    })?;
    let de = scan::Scanner::new(text);
    let mut ctx = Ctx::new(builder, line, cache, &de);
    let found = DocSeed {
        ctx: &mut ctx,
        top: true,
    }
    .deserialize(&de)
    .map_err(|e| de.describe(&e))?;
    de.end().map_err(|e| de.describe(&e))?;
    Ok(found)
}

/// A diagnostic waiting for the location and span id of the object it belongs to.
struct Pending {
    kind: DiagnosticKind,
    field: &'static str,
    message: String,
}

/// Where the parser is, for diagnostic locations.
#[derive(Default)]
struct Path {
    line: Option<usize>,
    doc: Option<usize>,
    rs_key: &'static str,
    rs: usize,
    ss_key: &'static str,
    ss: usize,
    span: usize,
}

/// Parser state shared by every seed: the builder plus reusable scratch stacks.
struct Ctx<'b> {
    b: &'b mut TraceSetBuilder,
    path: Path,
    kv_stack: Vec<KeyValue>,
    value_stack: Vec<Value>,
    events: Vec<Event>,
    links: Vec<Link>,
    bytes: Vec<u8>,
    pending: Vec<Pending>,
    /// Direct-mapped cache in front of the interner: `(tag, id)` per slot.
    intern_cache: &'b mut InternCache,
    /// The scanner, for the hand-written hot paths (attribute lists and values).
    sc: &'b scan::Scanner<'b>,
}

/// A direct-mapped cache in front of the interner: repeated keys and values (the bulk of a
/// trace file) skip the interner's hashing. A slot keeps four overlapping 8-byte windows of
/// its string, which cover any string of up to 32 bytes: a hit on such a string is decided by
/// four word compares, touching no other memory. Shared with the protobuf reader.
pub(crate) struct InternCache {
    slots: Vec<Slot>,
    /// A small separate table for attribute keys (few and hot: it stays in L1).
    key_slots: Vec<Slot>,
}

/// One cache slot: the id, the length and the windows of a string.
#[derive(Clone, Copy, Default)]
struct Slot {
    id: StrId,
    len: u32,
    words: [u64; 4],
}

/// The 8 bytes of `b` at `at`, or 0 when out of range.
#[inline]
fn word_at(b: &[u8], at: usize) -> u64 {
    match b.get(at..at + 8).map(<[u8; 8]>::try_from) {
        Some(Ok(w)) => u64::from_le_bytes(w),
        _ => 0,
    }
}

/// Windows at 0, 8, 16 and the last 8 bytes (clamped into the string): for strings of one
/// length up to 32 bytes, equal windows mean equal strings. Shorter than 8: the bytes, padded.
#[inline]
fn windows(b: &[u8]) -> [u64; 4] {
    let n = b.len();
    if n < 8 {
        let mut w = 0u64;
        for (i, &c) in b.iter().enumerate() {
            w |= u64::from(c) << (8 * i);
        }
        return [w, 0, 0, 0];
    }
    let last = n - 8;
    [
        word_at(b, 0),
        word_at(b, last.min(8)),
        word_at(b, last.min(16)),
        word_at(b, last),
    ]
}

impl InternCache {
    pub(crate) fn new() -> Self {
        InternCache {
            slots: vec![Slot::default(); INTERN_CACHE_SLOTS],
            key_slots: vec![Slot::default(); KEY_CACHE_SLOTS],
        }
    }

    /// Interns `s` into `arena`, through the cache.
    #[inline]
    pub(crate) fn intern(&mut self, arena: &mut crate::model::Arena, s: &str) -> StrId {
        Self::intern_in(&mut self.slots, arena, s)
    }

    /// Interns an attribute key, through the small key cache.
    #[inline]
    pub(crate) fn intern_key(&mut self, arena: &mut crate::model::Arena, s: &str) -> StrId {
        Self::intern_in(&mut self.key_slots, arena, s)
    }

    /// Interns through `slots` (a power-of-two number of them).
    #[inline]
    fn intern_in(slots: &mut [Slot], arena: &mut crate::model::Arena, s: &str) -> StrId {
        let bytes = s.as_bytes();
        if bytes.is_empty() {
            return StrId::EMPTY;
        }
        let words = windows(bytes);
        let mut h =
            words[0] ^ words[3].rotate_left(29) ^ (bytes.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        h = (h ^ (h >> 31)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h ^= h >> 29;
        let index = (h as usize) & (slots.len().saturating_sub(1));
        if let Some(slot) = slots.get(index) {
            if slot.len as usize == bytes.len()
                && slot.words == words
                && !slot.id.is_empty()
                && (bytes.len() <= 32 || arena.str(slot.id) == s)
            {
                return slot.id;
            }
        }
        let id = arena.intern(s);
        if let Some(slot) = slots.get_mut(index) {
            *slot = Slot {
                id,
                len: bytes.len() as u32,
                words,
            };
        }
        id
    }
}

/// Slots of the intern cache (a power of two).
const INTERN_CACHE_SLOTS: usize = 8192;
/// Slots of the attribute key cache (a power of two).
const KEY_CACHE_SLOTS: usize = 256;

impl<'b> Ctx<'b> {
    fn new(
        b: &'b mut TraceSetBuilder,
        line: Option<usize>,
        intern_cache: &'b mut InternCache,
        sc: &'b scan::Scanner<'b>,
    ) -> Self {
        Ctx {
            b,
            path: Path {
                line,
                rs_key: "resourceSpans",
                ss_key: "scopeSpans",
                ..Path::default()
            },
            kv_stack: Vec::new(),
            value_stack: Vec::new(),
            events: Vec::new(),
            links: Vec::new(),
            bytes: Vec::new(),
            pending: Vec::new(),
            intern_cache,
            sc,
        }
    }

    fn prefix(&self) -> String {
        let mut s = String::new();
        if let Some(line) = self.path.line {
            s.push_str(&format!("line {line}: "));
        }
        if let Some(doc) = self.path.doc {
            s.push_str(&format!("[{doc}]."));
        }
        s
    }

    fn rs_location(&self) -> String {
        format!("{}{}[{}]", self.prefix(), self.path.rs_key, self.path.rs)
    }

    fn ss_location(&self) -> String {
        format!("{}.{}[{}]", self.rs_location(), self.path.ss_key, self.path.ss)
    }

    fn span_location(&self) -> String {
        format!("{}.spans[{}]", self.ss_location(), self.path.span)
    }

    fn pend(&mut self, kind: DiagnosticKind, field: &'static str, message: impl Into<String>) {
        self.pending.push(Pending {
            kind,
            field,
            message: message.into(),
        });
    }

    /// Reports every pending diagnostic at `location`.
    fn flush(&mut self, location: &str, span_id: Option<&str>) {
        for p in self.pending.drain(..) {
            self.b
                .diagnostics
                .add(p.kind, location, span_id, Some(p.field), p.message);
        }
    }

    fn intern(&mut self, s: &str) -> StrId {
        self.intern_cache.intern(&mut self.b.arena, s)
    }

    fn intern_key(&mut self, s: &str) -> StrId {
        self.intern_cache.intern_key(&mut self.b.arena, s)
    }
}

// ---------------------------------------------------------------------------------------------
// Scalars

/// Any JSON value, with containers skipped: what a scalar field turned out to be.
enum Scalar<'de> {
    Str(Cow<'de, str>),
    U64(u64),
    I64(i64),
    F64(f64),
    Bool(bool),
    Null,
    /// An array or object (skipped).
    Container(&'static str),
}

impl Scalar<'_> {
    fn type_name(&self) -> &'static str {
        match self {
            Scalar::Str(_) => "a string",
            Scalar::U64(_) | Scalar::I64(_) => "an integer",
            Scalar::F64(_) => "a fractional number",
            Scalar::Bool(_) => "a boolean",
            Scalar::Null => "null",
            Scalar::Container(t) => t,
        }
    }

    fn describe(&self) -> String {
        match self {
            Scalar::Str(s) => format!("{:?}", truncate(s, 40)),
            Scalar::U64(v) => v.to_string(),
            Scalar::I64(v) => v.to_string(),
            Scalar::F64(v) => v.to_string(),
            Scalar::Bool(v) => v.to_string(),
            other => other.type_name().to_string(),
        }
    }

    /// A uint64 (times): a decimal string or an integer, never through a float.
    fn to_u64(&self) -> Result<u64, String> {
        match self {
            Scalar::Str(s) => s
                .parse::<u64>()
                .map_err(|_| format!("{} is not a non-negative integer", self.describe())),
            Scalar::U64(v) => Ok(*v),
            Scalar::I64(v) => Err(format!("{v} is negative")),
            other => Err(format!("{} is not an integer", other.describe())),
        }
    }

    /// An int64: a decimal string or an integer, never through a float.
    fn to_i64(&self) -> Result<i64, String> {
        match self {
            Scalar::Str(s) => s
                .parse::<i64>()
                .map_err(|_| format!("{} is not a 64-bit integer", self.describe())),
            Scalar::U64(v) => i64::try_from(*v).map_err(|_| format!("{v} is out of the int64 range")),
            Scalar::I64(v) => Ok(*v),
            other => Err(format!("{} is not an integer", other.describe())),
        }
    }

    /// A double: a number or a proto3 JSON string (`"NaN"`, `"Infinity"`, `"-Infinity"`, digits).
    fn to_f64(&self) -> Result<f64, String> {
        match self {
            Scalar::F64(v) => Ok(*v),
            Scalar::U64(v) => Ok(*v as f64),
            Scalar::I64(v) => Ok(*v as f64),
            Scalar::Str(s) => match s.as_ref() {
                "NaN" => Ok(f64::NAN),
                "Infinity" => Ok(f64::INFINITY),
                "-Infinity" => Ok(f64::NEG_INFINITY),
                other => other
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| format!("{} is not a number", self.describe())),
            },
            other => Err(format!("{} is not a number", other.describe())),
        }
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => s.get(..i).unwrap_or(s),
        None => s,
    }
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(if v >= 0 {
                    Scalar::U64(v as u64)
                } else {
                    Scalar::I64(v)
                })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Scalar::U64(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Scalar::F64(v))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Owned(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Scalar::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Scalar::Null)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Container("an array"))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Container("an object"))
            }
        }
        d.deserialize_any(V)
    }
}

/// An object key as raw bytes, borrowed from the input when it has no escapes. Keys are only
/// compared with known ASCII names, so they skip UTF-8 validation.
struct Key<'de>(Cow<'de, [u8]>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_vec())))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v.as_bytes())))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.as_bytes().to_vec())))
            }
        }
        d.deserialize_bytes(V)
    }
}

/// What a container turned out to be.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Shape {
    /// The expected container (or null, taken as empty).
    Ok,
    /// Something else, skipped; names what it was.
    Wrong(&'static str),
}

/// Implements the scalar `visit_*` methods of a container visitor: `null` gives `$null`,
/// any other scalar gives `$wrong` with `$what` bound to a description.
macro_rules! scalars {
    ($what:ident => $wrong:expr, null => $null:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            let $what: &'static str = "a boolean";
            Ok($wrong)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            let $what: &'static str = "a number";
            Ok($wrong)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            let $what: &'static str = "a number";
            Ok($wrong)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            let $what: &'static str = "a number";
            Ok($wrong)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            let $what: &'static str = "a string";
            Ok($wrong)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($null)
        }
    };
}

/// Implements `visit_map` for a visitor that expects an array.
macro_rules! no_map {
    ($what:ident => $wrong:expr) => {
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            let $what: &'static str = "an object";
            Ok($wrong)
        }
    };
}

/// Implements `visit_seq` for a visitor that expects an object.
macro_rules! no_seq {
    ($what:ident => $wrong:expr) => {
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            let $what: &'static str = "an array";
            Ok($wrong)
        }
    };
}

/// Implements `DeserializeSeed` by `deserialize_any` with the seed as its own visitor.
macro_rules! seed_any {
    ($ty:ident) => {
        impl<'de> DeserializeSeed<'de> for $ty<'_, '_> {
            type Value = <Self as Visitor<'de>>::Value;
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Envelopes

/// A document: an envelope object, or (at the top) an array of envelope objects. The value is
/// true when it was a trace document.
struct DocSeed<'c, 'b> {
    ctx: &'c mut Ctx<'b>,
    top: bool,
}
seed_any!(DocSeed);

impl<'de> Visitor<'de> for DocSeed<'_, '_> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an OTLP JSON document")
    }
    scalars!(_w => false, null => false);

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        if !self.top {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(false);
        }
        let mut any = false;
        let mut index = 0usize;
        loop {
            self.ctx.path.doc = Some(index);
            self.ctx.path.rs = 0;
            let Some(found) = seq.next_element_seed(DocSeed {
                ctx: self.ctx,
                top: false,
            })?
            else {
                break;
            };
            if found {
                any = true;
            } else {
                let location = format!(
                    "{}[{index}]",
                    self.ctx
                        .path
                        .line
                        .map_or(String::new(), |l| format!("line {l}: "))
                );
                self.ctx.b.diagnostics.add(
                    DiagnosticKind::InvalidDocument,
                    location,
                    None,
                    None,
                    "array element is not an OTLP trace document; skipped",
                );
            }
            index += 1;
        }
        self.ctx.path.doc = None;
        Ok(any)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut found = false;
        let mut status: Option<String> = None;
        let mut message: Option<String> = None;
        while let Some(Key(key)) = map.next_key()? {
            match key.as_ref() {
                b"resourceSpans" | b"batches" => {
                    self.ctx.path.rs_key = if key.as_ref() == b"batches" {
                        "batches"
                    } else {
                        "resourceSpans"
                    };
                    let shape = map.next_value_seed(RsListSeed { ctx: self.ctx })?;
                    found |= shape == Shape::Ok;
                }
                b"trace" | b"result" => {
                    self.ctx.path.rs_key = if key.as_ref() == b"trace" {
                        "trace.resourceSpans"
                    } else {
                        "result.resourceSpans"
                    };
                    let require_spans = key.as_ref() == b"result";
                    let shape = map.next_value_seed(WrapSeed {
                        ctx: self.ctx,
                        require_spans,
                    })?;
                    found |= shape;
                }
                b"status" => {
                    if let Scalar::Str(s) = map.next_value::<Scalar>()? {
                        status = Some(s.into_owned());
                    }
                }
                b"message" => {
                    if let Scalar::Str(s) = map.next_value::<Scalar>()? {
                        message = Some(s.into_owned());
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if found {
            if let Some(status) = status.filter(|s| s.eq_ignore_ascii_case("PARTIAL")) {
                let text = match message.as_deref() {
                    Some(m) if !m.is_empty() => format!("partial trace: {m}"),
                    _ => "partial trace: the source returned only part of the trace".to_string(),
                };
                self.ctx.b.diagnostics.warnings.push(text.clone());
                let location = format!("{}status", self.ctx.prefix());
                self.ctx.b.diagnostics.add(
                    DiagnosticKind::PartialTrace,
                    location,
                    None,
                    Some("status"),
                    format!("{status}: {text}"),
                );
            }
        }
        Ok(found)
    }
}

/// Tempo v2 `trace` / Jaeger v3 `result`: an object holding `resourceSpans` (or `batches`).
struct WrapSeed<'c, 'b> {
    ctx: &'c mut Ctx<'b>,
    require_spans: bool,
}
seed_any!(WrapSeed);

impl<'de> Visitor<'de> for WrapSeed<'_, '_> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object with resourceSpans")
    }
    scalars!(_w => false, null => false);
    no_seq!(_w => false);

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut has_spans = false;
        while let Some(Key(key)) = map.next_key()? {
            match key.as_ref() {
                b"resourceSpans" | b"batches" => {
                    has_spans |= map.next_value_seed(RsListSeed { ctx: self.ctx })? == Shape::Ok;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(has_spans || !self.require_spans)
    }
}

/// The `resourceSpans` array.
struct RsListSeed<'c, 'b> {
    ctx: &'c mut Ctx<'b>,
}
seed_any!(RsListSeed);

impl<'de> Visitor<'de> for RsListSeed<'_, '_> {
    type Value = Shape;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of resource spans")
    }
    scalars!(w => Shape::Wrong(w), null => Shape::Ok);
    no_map!(w => Shape::Wrong(w));

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        let mut index = 0usize;
        loop {
            self.ctx.path.rs = index;
            match seq.next_element_seed(RsSeed { ctx: self.ctx })? {
                None => break,
                Some(Shape::Ok) => {}
                Some(Shape::Wrong(w)) => {
                    let location = self.ctx.rs_location();
                    self.ctx.b.diagnostics.add(
                        DiagnosticKind::InvalidField,
                        location,
                        None,
                        None,
                        format!("resource spans entry is {w}, not an object; skipped"),
                    );
                }
            }
            index += 1;
        }
        Ok(Shape::Ok)
    }
}

/// One `resourceSpans` entry.
struct RsSeed<'c, 'b> {
    ctx: &'c mut Ctx<'b>,
}
seed_any!(RsSeed);

impl<'de> Visitor<'de> for RsSeed<'_, '_> {
    type Value = Shape;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a resource spans object")
    }
    scalars!(w => Shape::Wrong(w), null => Shape::Wrong("null"));
    no_seq!(w => Shape::Wrong(w));

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let ctx = self.ctx;
        let first_span = ctx.b.spans.len();
        let mut resource = Resource::default();
        let mut schema_url = StrId::EMPTY;
        while let Some(Key(key)) = map.next_key()? {
            match key.as_ref() {
                b"resource" => {
                    match map.next_value_seed(ResourceSeed { ctx })? {
                        Ok(r) => resource = r,
                        Err(w) => ctx.pend(
                            DiagnosticKind::InvalidField,
                            "resource",
                            format!("resource is {w}, not an object; ignored"),
                        ),
                    }
                    let location = format!("{}.resource", ctx.rs_location());
                    ctx.flush(&location, None);
                }
                b"scopeSpans" | b"instrumentationLibrarySpans" => {
                    ctx.path.ss_key = if key.as_ref() == b"scopeSpans" {
                        "scopeSpans"
                    } else {
                        "instrumentationLibrarySpans"
                    };
                    if let Shape::Wrong(w) = map.next_value_seed(SsListSeed { ctx })? {
                        let location = ctx.rs_location();
                        ctx.b.diagnostics.add(
                            DiagnosticKind::InvalidField,
                            location,
                            None,
                            Some(ctx.path.ss_key),
                            format!("{} is {w}, not an array; ignored", ctx.path.ss_key),
                        );
                    }
                }
                b"schemaUrl" => {
                    schema_url = string_field(ctx, map.next_value::<Scalar>()?, "schemaUrl");
                    let location = ctx.rs_location();
                    ctx.flush(&location, None);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        resource.schema_url = schema_url;
        let index = ctx.b.arena.push_resource(resource);
        if let Some(spans) = ctx.b.spans.get_mut(first_span..) {
            for s in spans {
                s.resource = index;
            }
        }
        Ok(Shape::Ok)
    }
}

/// Reads a scalar that should be a string; reports and returns empty otherwise.
fn string_field(ctx: &mut Ctx, v: Scalar, field: &'static str) -> StrId {
    match v {
        Scalar::Str(s) => ctx.intern(&s),
        Scalar::Null => StrId::EMPTY,
        other => {
            ctx.pend(
                DiagnosticKind::InvalidField,
                field,
                format!("{field} is {}, not a string; ignored", other.type_name()),
            );
            StrId::EMPTY
        }
    }
}

/// Reads a uint32 count; negative or oversized values become 0 / the maximum, reported.
fn count_field(ctx: &mut Ctx, v: Scalar, field: &'static str) -> u32 {
    if matches!(v, Scalar::Null) {
        return 0;
    }
    match v.to_i64() {
        Ok(n) if n < 0 => {
            ctx.pend(
                DiagnosticKind::InvalidField,
                field,
                format!("{field} is negative ({n}); taken as 0"),
            );
            0
        }
        Ok(n) => u32::try_from(n).unwrap_or_else(|_| {
            ctx.pend(
                DiagnosticKind::InvalidField,
                field,
                format!("{field} ({n}) is larger than uint32; capped"),
            );
            u32::MAX
        }),
        Err(why) => {
            ctx.pend(
                DiagnosticKind::InvalidField,
                field,
                format!("{field}: {why}; taken as 0"),
            );
            0
        }
    }
}

/// A `resource` object.
struct ResourceSeed<'c, 'b> {
    ctx: &'c mut Ctx<'b>,
}
seed_any!(ResourceSeed);

impl<'de> Visitor<'de> for ResourceSeed<'_, '_> {
    type Value = Result<Resource, &'static str>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a resource object")
    }
    scalars!(w => Err(w), null => Ok(Resource::default()));
    no_seq!(w => Err(w));

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let ctx = self.ctx;
        let mut r = Resource::default();
        while let Some(Key(key)) = map.next_key()? {
            match key.as_ref() {
                b"attributes" => {
                    r.attrs = {
                        let r = map.next_value_seed(AttrListSeed {
                            ctx,
                            field: "attributes",
                        })?;
                        list(ctx, r, "attributes")
                    }
                }
                b"droppedAttributesCount" => {
                    r.dropped_attributes_count = count_field(ctx, map.next_value()?, "droppedAttributesCount")
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if let Some(Value::Str(s)) = ctx
            .b
            .arena
            .kv_slice(r.attrs)
            .iter()
            .find(|kv| ctx.b.arena.str(kv.key) == "service.name")
            .map(|kv| kv.value)
        {
            r.service_name = s;
        }
        Ok(Ok(r))
    }
}

/// The `scopeSpans` array.
struct SsListSeed<'c, 'b> {
    ctx: &'c mut Ctx<'b>,
}
seed_any!(SsListSeed);

impl<'de> Visitor<'de> for SsListSeed<'_, '_> {
    type Value = Shape;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of scope spans")
    }
    scalars!(w => Shape::Wrong(w), null => Shape::Ok);
    no_map!(w => Shape::Wrong(w));

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        let mut index = 0usize;
        loop {
            self.ctx.path.ss = index;
            match seq.next_element_seed(SsSeed { ctx: self.ctx })? {
                None => break,
                Some(Shape::Ok) => {}
                Some(Shape::Wrong(w)) => {
                    let location = self.ctx.ss_location();
                    self.ctx.b.diagnostics.add(
                        DiagnosticKind::InvalidField,
                        location,
                        None,
                        None,
                        format!("scope spans entry is {w}, not an object; skipped"),
                    );
                }
            }
            index += 1;
        }
        Ok(Shape::Ok)
    }
}

/// One `scopeSpans` (or `instrumentationLibrarySpans`) entry.
struct SsSeed<'c, 'b> {
    ctx: &'c mut Ctx<'b>,
}
seed_any!(SsSeed);

impl<'de> Visitor<'de> for SsSeed<'_, '_> {
    type Value = Shape;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a scope spans object")
    }
    scalars!(w => Shape::Wrong(w), null => Shape::Wrong("null"));
    no_seq!(w => Shape::Wrong(w));

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let ctx = self.ctx;
        let first_span = ctx.b.spans.len();
        let mut scope = Scope::default();
        let mut schema_url = StrId::EMPTY;
        while let Some(Key(key)) = map.next_key()? {
            match key.as_ref() {
                b"scope" | b"instrumentationLibrary" => {
                    match map.next_value_seed(ScopeSeed { ctx })? {
                        Ok(s) => scope = s,
                        Err(w) => ctx.pend(
                            DiagnosticKind::InvalidField,
                            "scope",
                            format!("scope is {w}, not an object; ignored"),
                        ),
                    }
                    let location = format!("{}.scope", ctx.ss_location());
                    ctx.flush(&location, None);
                }
                b"spans" => {
                    if let Shape::Wrong(w) = map.next_value_seed(SpanListSeed { ctx })? {
                        let location = ctx.ss_location();
                        ctx.b.diagnostics.add(
                            DiagnosticKind::InvalidField,
                            location,
                            None,
                            Some("spans"),
                            format!("spans is {w}, not an array; ignored"),
                        );
                    }
                }
                b"schemaUrl" => {
                    schema_url = string_field(ctx, map.next_value::<Scalar>()?, "schemaUrl");
                    let location = ctx.ss_location();
                    ctx.flush(&location, None);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        scope.schema_url = schema_url;
        let index = ctx.b.arena.push_scope(scope);
        if let Some(spans) = ctx.b.spans.get_mut(first_span..) {
            for s in spans {
                s.scope = index;
            }
        }
        Ok(Shape::Ok)
    }
}

/// A `scope` / `instrumentationLibrary` object.
struct ScopeSeed<'c, 'b> {
    ctx: &'c mut Ctx<'b>,
}
seed_any!(ScopeSeed);

impl<'de> Visitor<'de> for ScopeSeed<'_, '_> {
    type Value = Result<Scope, &'static str>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a scope object")
    }
    scalars!(w => Err(w), null => Ok(Scope::default()));
    no_seq!(w => Err(w));

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let ctx = self.ctx;
        let mut s = Scope::default();
        while let Some(Key(key)) = map.next_key()? {
            match key.as_ref() {
                b"name" => s.name = string_field(ctx, map.next_value()?, "scope.name"),
                b"version" => s.version = string_field(ctx, map.next_value()?, "scope.version"),
                b"attributes" => {
                    s.attrs = {
                        let r = map.next_value_seed(AttrListSeed {
                            ctx,
                            field: "attributes",
                        })?;
                        list(ctx, r, "attributes")
                    }
                }
                b"droppedAttributesCount" => {
                    s.dropped_attributes_count = count_field(ctx, map.next_value()?, "droppedAttributesCount")
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Ok(s))
    }
}

/// The `spans` array.
struct SpanListSeed<'c, 'b> {
    ctx: &'c mut Ctx<'b>,
}
seed_any!(SpanListSeed);

impl<'de> Visitor<'de> for SpanListSeed<'_, '_> {
    type Value = Shape;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of spans")
    }
    scalars!(w => Shape::Wrong(w), null => Shape::Ok);
    no_map!(w => Shape::Wrong(w));

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        let mut index = 0usize;
        loop {
            self.ctx.path.span = index;
            match seq.next_element_seed(SpanSeed { ctx: self.ctx })? {
                None => break,
                Some(Shape::Ok) => {}
                Some(Shape::Wrong(w)) => {
                    let location = self.ctx.span_location();
                    self.ctx.b.diagnostics.add(
                        DiagnosticKind::InvalidField,
                        location,
                        None,
                        None,
                        format!("span entry is {w}, not an object; skipped"),
                    );
                    self.ctx.b.diagnostics.spans_skipped += 1;
                }
            }
            index += 1;
        }
        Ok(Shape::Ok)
    }
}

// ---------------------------------------------------------------------------------------------
// Spans

/// Parses an id scalar; `None` when missing or empty. Reports wrong types, opaque and zero ids.
fn parse_id<T, F>(ctx: &mut Ctx, v: Option<&Scalar>, field: &'static str, parse: F) -> Option<T>
where
    F: Fn(&str) -> Result<(T, IdEncoding), crate::model::IdError>,
{
    match v? {
        Scalar::Str(s) => match parse(s) {
            Ok((id, encoding)) => {
                if encoding == IdEncoding::Hashed {
                    ctx.pend(
                        DiagnosticKind::OpaqueId,
                        field,
                        format!(
                            "{field} {:?} is neither hex nor base64; hashed to stable bytes",
                            truncate(s, 40)
                        ),
                    );
                }
                Some(id)
            }
            Err(_) => None,
        },
        Scalar::Null => None,
        other => {
            ctx.pend(
                DiagnosticKind::InvalidField,
                field,
                format!("{field} is {}, not a string", other.type_name()),
            );
            None
        }
    }
}

/// One span object: parsed, checked, and pushed into the builder (or skipped and reported).
struct SpanSeed<'c, 'b> {
    ctx: &'c mut Ctx<'b>,
}
seed_any!(SpanSeed);

impl<'de> Visitor<'de> for SpanSeed<'_, '_> {
    type Value = Shape;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a span object")
    }
    scalars!(w => Shape::Wrong(w), null => Shape::Wrong("null"));
    no_seq!(w => Shape::Wrong(w));

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let ctx = self.ctx;
        ctx.pending.clear();
        let mut trace_id: Option<Scalar<'de>> = None;
        let mut span_id: Option<Scalar<'de>> = None;
        let mut parent: Option<Scalar<'de>> = None;
        let mut start: Option<Scalar<'de>> = None;
        let mut end: Option<Scalar<'de>> = None;
        let mut span = Span::default();
        while let Some(Key(key)) = map.next_key()? {
            match key.as_ref() {
                b"traceId" => trace_id = Some(map.next_value()?),
                b"spanId" => span_id = Some(map.next_value()?),
                b"parentSpanId" => parent = Some(map.next_value()?),
                b"name" => span.name = string_field(ctx, map.next_value()?, "name"),
                b"traceState" => span.trace_state = string_field(ctx, map.next_value()?, "traceState"),
                b"kind" => span.kind = kind_field(ctx, map.next_value()?),
                b"startTimeUnixNano" => start = Some(map.next_value()?),
                b"endTimeUnixNano" => end = Some(map.next_value()?),
                b"attributes" => {
                    span.attrs = {
                        let r = map.next_value_seed(AttrListSeed {
                            ctx,
                            field: "attributes",
                        })?;
                        list(ctx, r, "attributes")
                    }
                }
                b"droppedAttributesCount" => {
                    span.dropped_attributes_count =
                        count_field(ctx, map.next_value()?, "droppedAttributesCount")
                }
                b"events" => {
                    let r = map.next_value_seed(EventListSeed { ctx })?;
                    span.events = list(ctx, r, "events");
                }
                b"droppedEventsCount" => {
                    span.dropped_events_count = count_field(ctx, map.next_value()?, "droppedEventsCount")
                }
                b"links" => {
                    let r = map.next_value_seed(LinkListSeed { ctx })?;
                    span.links = list(ctx, r, "links");
                }
                b"droppedLinksCount" => {
                    span.dropped_links_count = count_field(ctx, map.next_value()?, "droppedLinksCount")
                }
                b"status" => {
                    let (code, message) = map.next_value_seed(StatusSeed { ctx })?;
                    span.status_code = code;
                    span.status_message = message;
                }
                b"flags" => span.flags = flags_field(ctx, map.next_value()?, "flags"),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        finish_span(ctx, span, trace_id, span_id, parent, start, end);
        Ok(Shape::Ok)
    }
}

fn kind_field(ctx: &mut Ctx, v: Scalar) -> SpanKind {
    let kind = match &v {
        Scalar::Null => return SpanKind::Unspecified,
        Scalar::Str(s) => {
            SpanKind::from_name(s).or_else(|| s.parse::<i64>().ok().and_then(SpanKind::from_i64))
        }
        other => other.to_i64().ok().and_then(SpanKind::from_i64),
    };
    kind.unwrap_or_else(|| {
        ctx.pend(
            DiagnosticKind::InvalidField,
            "kind",
            format!("unknown span kind {}; taken as unspecified", v.describe()),
        );
        SpanKind::Unspecified
    })
}

fn flags_field(ctx: &mut Ctx, v: Scalar, field: &'static str) -> u32 {
    if matches!(v, Scalar::Null) {
        return 0;
    }
    match v.to_u64().ok().and_then(|n| u32::try_from(n).ok()) {
        Some(n) => n,
        None => {
            ctx.pend(
                DiagnosticKind::InvalidField,
                field,
                format!("{field} {} is not a uint32; ignored", v.describe()),
            );
            0
        }
    }
}

fn finish_span(
    ctx: &mut Ctx,
    mut span: Span,
    trace_id: Option<Scalar>,
    span_id: Option<Scalar>,
    parent: Option<Scalar>,
    start: Option<Scalar>,
    end: Option<Scalar>,
) {
    // Location and id text are built only when something is reported.
    let sid_of = |v: &Option<Scalar>| match v {
        Some(Scalar::Str(s)) => Some(truncate(s, 64).to_string()),
        _ => None,
    };
    let tid = parse_id(ctx, trace_id.as_ref(), "traceId", TraceId::parse_any);
    let Some(tid) = tid else {
        let (location, sid_text) = (ctx.span_location(), sid_of(&span_id));
        let sid = sid_text.as_deref();
        ctx.flush(&location, sid);
        ctx.b.diagnostics.add(
            DiagnosticKind::MissingTraceId,
            location,
            sid,
            Some("traceId"),
            "span has no usable trace id; skipped",
        );
        ctx.b.diagnostics.spans_skipped += 1;
        return;
    };
    let Some(spid) = parse_id(ctx, span_id.as_ref(), "spanId", SpanId::parse_any) else {
        let (location, sid_text) = (ctx.span_location(), sid_of(&span_id));
        let sid = sid_text.as_deref();
        ctx.flush(&location, sid);
        ctx.b.diagnostics.add(
            DiagnosticKind::MissingSpanId,
            location,
            sid,
            Some("spanId"),
            "span has no usable span id; skipped",
        );
        ctx.b.diagnostics.spans_skipped += 1;
        return;
    };
    if tid.is_zero() {
        ctx.pend(DiagnosticKind::ZeroId, "traceId", "all-zero trace id kept as is");
    }
    if spid.is_zero() {
        ctx.pend(DiagnosticKind::ZeroId, "spanId", "all-zero span id kept as is");
    }
    span.trace_id = tid;
    span.span_id = spid;
    span.parent_span_id =
        parse_id(ctx, parent.as_ref(), "parentSpanId", SpanId::parse_any).filter(|p| !p.is_zero());
    let start = match start.as_ref().map(Scalar::to_u64) {
        Some(Ok(t)) => t,
        other => {
            let why = match other {
                Some(Err(why)) => why,
                _ => "missing".to_string(),
            };
            let (location, sid_text) = (ctx.span_location(), sid_of(&span_id));
            let sid = sid_text.as_deref();
            ctx.flush(&location, sid);
            ctx.b.diagnostics.add(
                DiagnosticKind::InvalidTime,
                location,
                sid,
                Some("startTimeUnixNano"),
                format!("startTimeUnixNano {why}; span skipped"),
            );
            ctx.b.diagnostics.spans_skipped += 1;
            return;
        }
    };
    let end = match end.as_ref().map(Scalar::to_u64) {
        Some(Ok(t)) => t,
        other => {
            let why = match other {
                Some(Err(why)) => why,
                _ => "missing".to_string(),
            };
            let (location, sid_text) = (ctx.span_location(), sid_of(&span_id));
            let sid = sid_text.as_deref();
            ctx.flush(&location, sid);
            ctx.b.diagnostics.add(
                DiagnosticKind::InvalidTime,
                location,
                sid,
                Some("endTimeUnixNano"),
                format!("endTimeUnixNano {why}; span skipped"),
            );
            ctx.b.diagnostics.spans_skipped += 1;
            return;
        }
    };
    if end < start {
        ctx.pend(
            DiagnosticKind::NegativeDuration,
            "endTimeUnixNano",
            "end before start; duration taken as 0",
        );
    }
    span.start_unix_nanos = start;
    span.end_unix_nanos = end;
    if !ctx.pending.is_empty() {
        let (location, sid_text) = (ctx.span_location(), sid_of(&span_id));
        ctx.flush(&location, sid_text.as_deref());
    }
    ctx.b.push_span(span);
}

/// A span `status` object: `(code, message)`.
struct StatusSeed<'c, 'b> {
    ctx: &'c mut Ctx<'b>,
}
seed_any!(StatusSeed);

impl<'de> Visitor<'de> for StatusSeed<'_, '_> {
    type Value = (StatusCode, StrId);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a status object")
    }
    scalars!(_w => (StatusCode::Unset, StrId::EMPTY), null => (StatusCode::Unset, StrId::EMPTY));
    no_seq!(_w => (StatusCode::Unset, StrId::EMPTY));

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let ctx = self.ctx;
        let mut code = StatusCode::Unset;
        let mut message = StrId::EMPTY;
        while let Some(Key(key)) = map.next_key()? {
            match key.as_ref() {
                b"code" => {
                    let v: Scalar = map.next_value()?;
                    let parsed = match &v {
                        Scalar::Null => Some(StatusCode::Unset),
                        Scalar::Str(s) => StatusCode::from_name(s)
                            .or_else(|| s.parse::<i64>().ok().and_then(StatusCode::from_i64)),
                        other => other.to_i64().ok().and_then(StatusCode::from_i64),
                    };
                    code = parsed.unwrap_or_else(|| {
                        ctx.pend(
                            DiagnosticKind::InvalidField,
                            "status.code",
                            format!("unknown status code {}; taken as unset", v.describe()),
                        );
                        StatusCode::Unset
                    });
                }
                b"message" => message = string_field(ctx, map.next_value()?, "status.message"),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok((code, message))
    }
}

/// The `events` array of a span.
struct EventListSeed<'c, 'b> {
    ctx: &'c mut Ctx<'b>,
}
seed_any!(EventListSeed);

impl<'de> Visitor<'de> for EventListSeed<'_, '_> {
    type Value = ListResult;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of events")
    }
    scalars!(w => Err(w), null => Ok(Range32::EMPTY));
    no_map!(w => Err(w));

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ListResult, A::Error> {
        let ctx = self.ctx;
        let base = ctx.events.len();
        while let Some(event) = seq.next_element_seed(EventSeed { ctx })? {
            if let Some(event) = event {
                ctx.events.push(event);
            }
        }
        let range = ctx.b.arena.push_events(ctx.events.get(base..).unwrap_or(&[]));
        ctx.events.truncate(base);
        Ok(Ok(range))
    }
}

/// A list stored in the arena, or what the field was instead of an array.
type ListResult = Result<Range32, &'static str>;

/// Takes a list result; a wrong-typed list is reported and read as empty.
fn list(ctx: &mut Ctx, r: ListResult, field: &'static str) -> Range32 {
    r.unwrap_or_else(|what| {
        ctx.pend(
            DiagnosticKind::InvalidField,
            field,
            format!("{field} is {what}, not an array; ignored"),
        );
        Range32::EMPTY
    })
}

/// One event; `None` when it must be dropped (reported).
struct EventSeed<'c, 'b> {
    ctx: &'c mut Ctx<'b>,
}
seed_any!(EventSeed);

impl<'de> Visitor<'de> for EventSeed<'_, '_> {
    type Value = Option<Event>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an event object")
    }
    scalars!(_w => None, null => None);
    no_seq!(_w => None);

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let ctx = self.ctx;
        let mut e = Event::default();
        let mut time: Option<Scalar> = None;
        while let Some(Key(key)) = map.next_key()? {
            match key.as_ref() {
                b"timeUnixNano" => time = Some(map.next_value()?),
                b"name" => e.name = string_field(ctx, map.next_value()?, "events.name"),
                b"attributes" => {
                    e.attrs = {
                        let r = map.next_value_seed(AttrListSeed {
                            ctx,
                            field: "events.attributes",
                        })?;
                        list(ctx, r, "events.attributes")
                    }
                }
                b"droppedAttributesCount" => {
                    e.dropped_attributes_count =
                        count_field(ctx, map.next_value()?, "events.droppedAttributesCount")
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        match time.as_ref().map(Scalar::to_u64) {
            Some(Ok(t)) => {
                e.time_unix_nanos = t;
                Ok(Some(e))
            }
            other => {
                let why = match other {
                    Some(Err(why)) => why,
                    _ => "missing".to_string(),
                };
                ctx.pend(
                    DiagnosticKind::InvalidTime,
                    "events.timeUnixNano",
                    format!("event timeUnixNano {why}; event dropped"),
                );
                Ok(None)
            }
        }
    }
}

/// The `links` array of a span.
struct LinkListSeed<'c, 'b> {
    ctx: &'c mut Ctx<'b>,
}
seed_any!(LinkListSeed);

impl<'de> Visitor<'de> for LinkListSeed<'_, '_> {
    type Value = ListResult;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of links")
    }
    scalars!(w => Err(w), null => Ok(Range32::EMPTY));
    no_map!(w => Err(w));

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ListResult, A::Error> {
        let ctx = self.ctx;
        let base = ctx.links.len();
        while let Some(link) = seq.next_element_seed(LinkSeed { ctx })? {
            if let Some(link) = link {
                ctx.links.push(link);
            }
        }
        let range = ctx.b.arena.push_links(ctx.links.get(base..).unwrap_or(&[]));
        ctx.links.truncate(base);
        Ok(Ok(range))
    }
}

/// One link; `None` when its ids are unusable (reported).
struct LinkSeed<'c, 'b> {
    ctx: &'c mut Ctx<'b>,
}
seed_any!(LinkSeed);

impl<'de> Visitor<'de> for LinkSeed<'_, '_> {
    type Value = Option<Link>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a link object")
    }
    scalars!(_w => None, null => None);
    no_seq!(_w => None);

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let ctx = self.ctx;
        let mut l = Link::default();
        let mut trace_id: Option<Scalar> = None;
        let mut span_id: Option<Scalar> = None;
        while let Some(Key(key)) = map.next_key()? {
            match key.as_ref() {
                b"traceId" => trace_id = Some(map.next_value()?),
                b"spanId" => span_id = Some(map.next_value()?),
                b"traceState" => l.trace_state = string_field(ctx, map.next_value()?, "links.traceState"),
                b"attributes" => {
                    l.attrs = {
                        let r = map.next_value_seed(AttrListSeed {
                            ctx,
                            field: "links.attributes",
                        })?;
                        list(ctx, r, "links.attributes")
                    }
                }
                b"droppedAttributesCount" => {
                    l.dropped_attributes_count =
                        count_field(ctx, map.next_value()?, "links.droppedAttributesCount")
                }
                b"flags" => l.flags = flags_field(ctx, map.next_value()?, "links.flags"),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let tid = parse_id(ctx, trace_id.as_ref(), "links.traceId", TraceId::parse_any);
        let sid = parse_id(ctx, span_id.as_ref(), "links.spanId", SpanId::parse_any);
        match (tid, sid) {
            (Some(t), Some(s)) => {
                l.trace_id = t;
                l.span_id = s;
                Ok(Some(l))
            }
            _ => {
                ctx.pend(
                    DiagnosticKind::InvalidField,
                    "links",
                    "link without a usable trace id and span id; link dropped",
                );
                Ok(None)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Attributes and values

/// A list of KeyValue; bad entries are dropped and reported (`InvalidAttribute`). Scanned by
/// the hand-written path in `hand` (the hot path of every reader: attributes are most of a
/// trace file).
struct AttrListSeed<'c, 'b> {
    ctx: &'c mut Ctx<'b>,
    field: &'static str,
}

impl<'de> DeserializeSeed<'de> for AttrListSeed<'_, '_> {
    type Value = ListResult;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<ListResult, D::Error> {
        d.deserialize_newtype_struct(scan::HAND, IgnoredAny)?;
        let sc = self.ctx.sc;
        hand::attr_list(self.ctx, self.field).map_err(|e| sc.raise(e))
    }
}

/// Nesting cap for array / kvlist values (the scanner also caps all nesting at 128).
const MAX_VALUE_DEPTH: u32 = 32;

#[cfg(test)]
mod tests;
