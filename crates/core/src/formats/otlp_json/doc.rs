//! The envelopes of an OTLP JSON document, read by hand with the scanner's methods: the
//! document (an object, or at the top an array of them), Tempo v2 `trace` / Jaeger v3 `result`
//! wrappers, `resourceSpans` / `batches`, `resource`, `scopeSpans` /
//! `instrumentationLibrarySpans` and `scope`. Spans themselves are read by `span`, attributes
//! by `hand`. Wrong shapes are reported as diagnostics and skipped; JSON syntax errors are
//! errors. Key order inside an object is free: a resource or scope that comes after its spans
//! is patched into them afterwards.

use super::hand::{self, open_arr, open_obj, Open};
use super::scan::Error;
use super::{count_field, list, span, string_field, Ctx, Shape};
use crate::diagnostics::DiagnosticKind;
use crate::model::{Resource, Scope, StrId, Value};

/// Reads one document at the current position; true when it was a trace document.
pub(super) fn document(ctx: &mut Ctx) -> Result<bool, Error> {
    let sc = ctx.sc;
    if sc.peek_ws() != Some(b'[') {
        return nested_document(ctx);
    }
    sc.open()?;
    let mut first = true;
    let mut any = false;
    let mut index = 0usize;
    loop {
        ctx.path.doc = Some(index);
        ctx.path.rs = 0;
        if !sc.next_elem(&mut first)? {
            break;
        }
        if nested_document(ctx)? {
            any = true;
        } else {
            let location = format!(
                "{}[{index}]",
                ctx.path.line.map_or(String::new(), |l| format!("line {l}: "))
            );
            ctx.b.diagnostics.add(
                DiagnosticKind::InvalidDocument,
                location,
                None,
                None,
                "array element is not an OTLP trace document; skipped",
            );
        }
        index += 1;
    }
    ctx.path.doc = None;
    Ok(any)
}

/// A document that must be an envelope object (anything else is skipped: not a trace).
fn nested_document(ctx: &mut Ctx) -> Result<bool, Error> {
    let sc = ctx.sc;
    if !matches!(open_obj(sc)?, Open::Yes) {
        return Ok(false);
    }
    let mut first = true;
    let mut found = false;
    let mut status: Option<String> = None;
    let mut message: Option<String> = None;
    while let Some(key) = sc.next_key(&mut first)? {
        match key.as_bytes() {
            b"resourceSpans" | b"batches" => {
                ctx.path.rs_key = if key.as_bytes() == b"batches" {
                    "batches"
                } else {
                    "resourceSpans"
                };
                found |= rs_list(ctx)? == Shape::Ok;
            }
            b"trace" | b"result" => {
                ctx.path.rs_key = if key.as_bytes() == b"trace" {
                    "trace.resourceSpans"
                } else {
                    "result.resourceSpans"
                };
                found |= wrapper(ctx, key.as_bytes() == b"result")?;
            }
            b"status" => {
                if let super::Scalar::Str(s) = hand::scalar(sc)? {
                    status = Some(s.into_owned());
                }
            }
            b"message" => {
                if let super::Scalar::Str(s) = hand::scalar(sc)? {
                    message = Some(s.into_owned());
                }
            }
            _ => sc.skip_value()?,
        }
    }
    if found {
        if let Some(status) = status.filter(|s| s.eq_ignore_ascii_case("PARTIAL")) {
            let text = match message.as_deref() {
                Some(m) if !m.is_empty() => format!("partial trace: {m}"),
                _ => "partial trace: the source returned only part of the trace".to_string(),
            };
            ctx.b.diagnostics.warnings.push(text.clone());
            let location = format!("{}status", ctx.prefix());
            ctx.b.diagnostics.add(
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

/// Tempo v2 `trace` / Jaeger v3 `result`: an object holding `resourceSpans` (or `batches`).
fn wrapper(ctx: &mut Ctx, require_spans: bool) -> Result<bool, Error> {
    let sc = ctx.sc;
    if !matches!(open_obj(sc)?, Open::Yes) {
        return Ok(false);
    }
    let mut first = true;
    let mut has_spans = false;
    while let Some(key) = sc.next_key(&mut first)? {
        match key.as_bytes() {
            b"resourceSpans" | b"batches" => has_spans |= rs_list(ctx)? == Shape::Ok,
            _ => sc.skip_value()?,
        }
    }
    Ok(has_spans || !require_spans)
}

/// Which level of the document a list of entries holds, for [`entry_list`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Level {
    ResourceSpans,
    ScopeSpans,
    Spans,
}

/// Reads an array of entries of one level (`resourceSpans`, `scopeSpans`, `spans`), each
/// through `entry`, keeping the path's index for locations. An element that is not an object
/// is reported and skipped (for spans, also counted as a skipped span); `null` is an empty
/// list; a non-array gives [`Shape::Wrong`].
pub(super) fn entry_list(
    ctx: &mut Ctx,
    level: Level,
    entry: fn(&mut Ctx) -> Result<Shape, Error>,
) -> Result<Shape, Error> {
    let sc = ctx.sc;
    match open_arr(sc)? {
        Open::Yes => {}
        Open::Null => return Ok(Shape::Ok),
        Open::Wrong(w) => return Ok(Shape::Wrong(w)),
    }
    let mut first = true;
    let mut index = 0usize;
    loop {
        match level {
            Level::ResourceSpans => ctx.path.rs = index,
            Level::ScopeSpans => ctx.path.ss = index,
            Level::Spans => ctx.path.span = index,
        }
        if !sc.next_elem(&mut first)? {
            break;
        }
        if let Shape::Wrong(w) = entry(ctx)? {
            let (location, what) = match level {
                Level::ResourceSpans => (ctx.rs_location(), "resource spans entry"),
                Level::ScopeSpans => (ctx.ss_location(), "scope spans entry"),
                Level::Spans => (ctx.span_location(), "span entry"),
            };
            ctx.b.diagnostics.add(
                DiagnosticKind::InvalidField,
                location,
                None,
                None,
                format!("{what} is {w}, not an object; skipped"),
            );
            if level == Level::Spans {
                ctx.b.diagnostics.spans_skipped += 1;
            }
        }
        index += 1;
    }
    Ok(Shape::Ok)
}

/// The `resourceSpans` array.
fn rs_list(ctx: &mut Ctx) -> Result<Shape, Error> {
    entry_list(ctx, Level::ResourceSpans, resource_spans)
}

/// One `resourceSpans` entry.
fn resource_spans(ctx: &mut Ctx) -> Result<Shape, Error> {
    let sc = ctx.sc;
    match open_obj(sc)? {
        Open::Yes => {}
        Open::Null => return Ok(Shape::Wrong("null")),
        Open::Wrong(w) => return Ok(Shape::Wrong(w)),
    }
    let first_span = ctx.b.spans.len();
    let mut resource = Resource::default();
    let mut schema_url = StrId::EMPTY;
    let mut first = true;
    while let Some(key) = sc.next_key(&mut first)? {
        match key.as_bytes() {
            b"resource" => {
                match resource_object(ctx)? {
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
                ctx.path.ss_key = if key.as_bytes() == b"scopeSpans" {
                    "scopeSpans"
                } else {
                    "instrumentationLibrarySpans"
                };
                if let Shape::Wrong(w) = ss_list(ctx)? {
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
                schema_url = string_field(ctx, hand::scalar(sc)?, "schemaUrl");
                let location = ctx.rs_location();
                ctx.flush(&location, None);
            }
            _ => sc.skip_value()?,
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

/// A `resource` object, or what was there instead.
fn resource_object(ctx: &mut Ctx) -> Result<Result<Resource, &'static str>, Error> {
    let sc = ctx.sc;
    match open_obj(sc)? {
        Open::Yes => {}
        Open::Null => return Ok(Ok(Resource::default())),
        Open::Wrong(w) => return Ok(Err(w)),
    }
    let mut r = Resource::default();
    let mut first = true;
    while let Some(key) = sc.next_key(&mut first)? {
        match key.as_bytes() {
            b"attributes" => {
                let l = hand::attr_list(ctx, "attributes")?;
                r.attrs = list(ctx, l, "attributes");
            }
            b"droppedAttributesCount" => {
                r.dropped_attributes_count = count_field(ctx, hand::scalar(sc)?, "droppedAttributesCount")
            }
            _ => sc.skip_value()?,
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

/// The `scopeSpans` array.
fn ss_list(ctx: &mut Ctx) -> Result<Shape, Error> {
    entry_list(ctx, Level::ScopeSpans, scope_spans)
}

/// One `scopeSpans` (or `instrumentationLibrarySpans`) entry.
fn scope_spans(ctx: &mut Ctx) -> Result<Shape, Error> {
    let sc = ctx.sc;
    match open_obj(sc)? {
        Open::Yes => {}
        Open::Null => return Ok(Shape::Wrong("null")),
        Open::Wrong(w) => return Ok(Shape::Wrong(w)),
    }
    let first_span = ctx.b.spans.len();
    let mut scope = Scope::default();
    let mut schema_url = StrId::EMPTY;
    let mut first = true;
    while let Some(key) = sc.next_key(&mut first)? {
        match key.as_bytes() {
            b"scope" | b"instrumentationLibrary" => {
                match scope_object(ctx)? {
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
                if let Shape::Wrong(w) = span::span_list(ctx)? {
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
                schema_url = string_field(ctx, hand::scalar(sc)?, "schemaUrl");
                let location = ctx.ss_location();
                ctx.flush(&location, None);
            }
            _ => sc.skip_value()?,
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

/// A `scope` / `instrumentationLibrary` object, or what was there instead.
fn scope_object(ctx: &mut Ctx) -> Result<Result<Scope, &'static str>, Error> {
    let sc = ctx.sc;
    match open_obj(sc)? {
        Open::Yes => {}
        Open::Null => return Ok(Ok(Scope::default())),
        Open::Wrong(w) => return Ok(Err(w)),
    }
    let mut s = Scope::default();
    let mut first = true;
    while let Some(key) = sc.next_key(&mut first)? {
        match key.as_bytes() {
            b"name" => s.name = string_field(ctx, hand::scalar(sc)?, "scope.name"),
            b"version" => s.version = string_field(ctx, hand::scalar(sc)?, "scope.version"),
            b"attributes" => {
                let l = hand::attr_list(ctx, "attributes")?;
                s.attrs = list(ctx, l, "attributes");
            }
            b"droppedAttributesCount" => {
                s.dropped_attributes_count = count_field(ctx, hand::scalar(sc)?, "droppedAttributesCount")
            }
            _ => sc.skip_value()?,
        }
    }
    Ok(Ok(s))
}
