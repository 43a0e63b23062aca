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
//! The document is validated as UTF-8 once, then read by hand with our own JSON scanner
//! (`scan`): `doc` reads the envelopes, `span` the spans, `hand` the attributes, straight into
//! the builder (no intermediate tree, no serde visitors; strings are borrowed from the input
//! when unescaped). `fast` reads the common fields and attributes of the compact layout that
//! writers emit by comparing bytes, leaving anything else to the general path; `intern`
//! caches interned strings. Key order inside an object is free: a resource or scope that
//! comes after its spans is patched in afterwards. Bad spans are skipped or repaired and
//! reported as diagnostics. Not here: format detection, writing (see `formats::writers`).

use crate::diagnostics::DiagnosticKind;
use crate::model::{
    Event, IdEncoding, KeyValue, Link, Range32, Span, SpanId, SpanKind, StrId, TraceId, TraceSetBuilder,
    Value,
};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use std::borrow::Cow;

mod doc;
mod fast;
mod hand;
mod intern;
mod scan;
mod span;

pub(crate) use intern::InternCache;

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
    let mut cache = InternCache::for_input(bytes.len());
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
    let sc = scan::Scanner::new(text);
    let mut ctx = Ctx::new(builder, line, cache, &sc);
    let found = doc::document(&mut ctx).map_err(|e| sc.describe(&e))?;
    sc.end().map_err(|e| sc.describe(&e))?;
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

/// Parser state shared by every reading function: the builder plus reusable scratch stacks.
struct Ctx<'b> {
    b: &'b mut TraceSetBuilder,
    path: Path,
    kv_stack: Vec<KeyValue>,
    value_stack: Vec<Value>,
    events: Vec<Event>,
    links: Vec<Link>,
    bytes: Vec<u8>,
    pending: Vec<Pending>,
    /// Caches in front of the interner.
    intern_cache: &'b mut InternCache,
    /// The scanner.
    sc: &'b scan::Scanner<'b>,
}

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

    /// Interns an attribute key and its string value, through the key's value slots.
    fn intern_attr(&mut self, key: &str, value: &str) -> (StrId, StrId) {
        self.intern_cache.intern_attr(&mut self.b.arena, key, value)
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
            Scalar::Str(s) => match fast::small_u64(s.as_bytes()) {
                Some(v) => Ok(v),
                None => s
                    .parse::<u64>()
                    .map_err(|_| format!("{} is not a non-negative integer", self.describe())),
            },
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

/// What a container turned out to be.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Shape {
    /// The expected container (or null, taken as empty).
    Ok,
    /// Something else, skipped; names what it was.
    Wrong(&'static str),
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

/// Nesting cap for array / kvlist values (the scanner also caps all nesting at 128).
const MAX_VALUE_DEPTH: u32 = 32;

#[cfg(test)]
mod tests;
