//! Spans of an OTLP JSON document, read by hand with the scanner's methods: the `spans` array,
//! each span's fields, its `status`, `events` and `links`. Each span is checked and pushed into
//! the builder by `finish_span` (or skipped and reported). Attributes are read by `hand`.
//! Not here: envelopes (`doc`).

use super::fast::{self, SpanField};
use super::hand::{self, open_arr, open_obj, Open};
use super::scan::Error;
use super::{count_field, finish_span, flags_field, kind_field, list, parse_id, string_field};
use super::{Ctx, ListResult, Scalar, Shape};
use crate::diagnostics::DiagnosticKind;
use crate::model::{Event, Link, Range32, Span, SpanId, StatusCode, StrId, TraceId};
use std::borrow::Cow;

/// The `spans` array.
pub(super) fn span_list(ctx: &mut Ctx) -> Result<Shape, Error> {
    super::doc::entry_list(ctx, super::doc::Level::Spans, span)
}

/// One span object: parsed, checked, and pushed into the builder (or skipped and reported).
fn span(ctx: &mut Ctx) -> Result<Shape, Error> {
    let sc = ctx.sc;
    match open_obj(sc)? {
        Open::Yes => {}
        Open::Null => return Ok(Shape::Wrong("null")),
        Open::Wrong(w) => return Ok(Shape::Wrong(w)),
    }
    ctx.pending.clear();
    let mut trace_id: Option<Scalar> = None;
    let mut span_id: Option<Scalar> = None;
    let mut parent: Option<Scalar> = None;
    let mut start: Option<Scalar> = None;
    let mut end: Option<Scalar> = None;
    let mut span = Span::default();
    let mut first = true;
    loop {
        if let Some((field, after)) = fast::span_field(sc, first) {
            sc.set_pos(after);
            first = false;
            let borrowed = |s| Some(Scalar::Str(Cow::Borrowed(s)));
            match field {
                SpanField::TraceId(s) => trace_id = borrowed(s),
                SpanField::SpanId(s) => span_id = borrowed(s),
                SpanField::ParentSpanId(s) => parent = borrowed(s),
                SpanField::Start(s) => start = borrowed(s),
                SpanField::End(s) => end = borrowed(s),
                SpanField::Name(s) => span.name = ctx.intern(s),
                SpanField::Kind(v) => span.kind = kind_field(ctx, Scalar::U64(v)),
                SpanField::Flags(v) => span.flags = flags_field(ctx, Scalar::U64(v), "flags"),
            }
            continue;
        }
        let Some(key) = sc.next_key(&mut first)? else {
            break;
        };
        match key.as_bytes() {
            b"traceId" => trace_id = Some(hand::string_or_scalar(sc)?),
            b"spanId" => span_id = Some(hand::string_or_scalar(sc)?),
            b"parentSpanId" => parent = Some(hand::string_or_scalar(sc)?),
            b"name" => span.name = string_field(ctx, hand::string_or_scalar(sc)?, "name"),
            b"traceState" => span.trace_state = string_field(ctx, hand::scalar(sc)?, "traceState"),
            b"kind" => span.kind = kind_field(ctx, hand::scalar(sc)?),
            b"startTimeUnixNano" => start = Some(hand::string_or_scalar(sc)?),
            b"endTimeUnixNano" => end = Some(hand::string_or_scalar(sc)?),
            b"attributes" => {
                let l = hand::attr_list(ctx, "attributes")?;
                span.attrs = list(ctx, l, "attributes");
            }
            b"droppedAttributesCount" => {
                span.dropped_attributes_count = count_field(ctx, hand::scalar(sc)?, "droppedAttributesCount")
            }
            b"events" => {
                let l = event_list(ctx)?;
                span.events = list(ctx, l, "events");
            }
            b"droppedEventsCount" => {
                span.dropped_events_count = count_field(ctx, hand::scalar(sc)?, "droppedEventsCount")
            }
            b"links" => {
                let l = link_list(ctx)?;
                span.links = list(ctx, l, "links");
            }
            b"droppedLinksCount" => {
                span.dropped_links_count = count_field(ctx, hand::scalar(sc)?, "droppedLinksCount")
            }
            b"status" => {
                let (code, message) = status(ctx)?;
                span.status_code = code;
                span.status_message = message;
            }
            b"flags" => span.flags = flags_field(ctx, hand::scalar(sc)?, "flags"),
            _ => sc.skip_value()?,
        }
    }
    finish_span(ctx, span, trace_id, span_id, parent, start, end);
    Ok(Shape::Ok)
}

/// A span `status` object: `(code, message)`; anything else reads as unset.
fn status(ctx: &mut Ctx) -> Result<(StatusCode, StrId), Error> {
    let sc = ctx.sc;
    let mut code = StatusCode::Unset;
    let mut message = StrId::EMPTY;
    if !matches!(open_obj(sc)?, Open::Yes) {
        return Ok((code, message));
    }
    let mut first = true;
    while let Some(key) = sc.next_key(&mut first)? {
        match key.as_bytes() {
            b"code" => {
                let v = hand::scalar(sc)?;
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
            b"message" => message = string_field(ctx, hand::scalar(sc)?, "status.message"),
            _ => sc.skip_value()?,
        }
    }
    Ok((code, message))
}

/// The `events` array of a span.
fn event_list(ctx: &mut Ctx) -> Result<ListResult, Error> {
    let sc = ctx.sc;
    match open_arr(sc)? {
        Open::Yes => {}
        Open::Null => return Ok(Ok(Range32::EMPTY)),
        Open::Wrong(w) => return Ok(Err(w)),
    }
    let base = ctx.events.len();
    let mut first = true;
    while sc.next_elem(&mut first)? {
        if let Some(event) = event(ctx)? {
            ctx.events.push(event);
        }
    }
    let range = ctx.b.arena.push_events(ctx.events.get(base..).unwrap_or(&[]));
    ctx.events.truncate(base);
    Ok(Ok(range))
}

/// One event; `None` when it must be dropped (reported when it is an object).
fn event(ctx: &mut Ctx) -> Result<Option<Event>, Error> {
    let sc = ctx.sc;
    if !matches!(open_obj(sc)?, Open::Yes) {
        return Ok(None);
    }
    let mut e = Event::default();
    let mut time: Option<Scalar> = None;
    let mut first = true;
    while let Some(key) = sc.next_key(&mut first)? {
        match key.as_bytes() {
            b"timeUnixNano" => time = Some(hand::string_or_scalar(sc)?),
            b"name" => e.name = string_field(ctx, hand::string_or_scalar(sc)?, "events.name"),
            b"attributes" => {
                let l = hand::attr_list(ctx, "events.attributes")?;
                e.attrs = list(ctx, l, "events.attributes");
            }
            b"droppedAttributesCount" => {
                e.dropped_attributes_count =
                    count_field(ctx, hand::scalar(sc)?, "events.droppedAttributesCount")
            }
            _ => sc.skip_value()?,
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

/// The `links` array of a span.
fn link_list(ctx: &mut Ctx) -> Result<ListResult, Error> {
    let sc = ctx.sc;
    match open_arr(sc)? {
        Open::Yes => {}
        Open::Null => return Ok(Ok(Range32::EMPTY)),
        Open::Wrong(w) => return Ok(Err(w)),
    }
    let base = ctx.links.len();
    let mut first = true;
    while sc.next_elem(&mut first)? {
        if let Some(link) = link(ctx)? {
            ctx.links.push(link);
        }
    }
    let range = ctx.b.arena.push_links(ctx.links.get(base..).unwrap_or(&[]));
    ctx.links.truncate(base);
    Ok(Ok(range))
}

/// One link; `None` when its ids are unusable (reported when it is an object).
fn link(ctx: &mut Ctx) -> Result<Option<Link>, Error> {
    let sc = ctx.sc;
    if !matches!(open_obj(sc)?, Open::Yes) {
        return Ok(None);
    }
    let mut l = Link::default();
    let mut trace_id: Option<Scalar> = None;
    let mut span_id: Option<Scalar> = None;
    let mut first = true;
    while let Some(key) = sc.next_key(&mut first)? {
        match key.as_bytes() {
            b"traceId" => trace_id = Some(hand::string_or_scalar(sc)?),
            b"spanId" => span_id = Some(hand::string_or_scalar(sc)?),
            b"traceState" => l.trace_state = string_field(ctx, hand::scalar(sc)?, "links.traceState"),
            b"attributes" => {
                let r = hand::attr_list(ctx, "links.attributes")?;
                l.attrs = list(ctx, r, "links.attributes");
            }
            b"droppedAttributesCount" => {
                l.dropped_attributes_count =
                    count_field(ctx, hand::scalar(sc)?, "links.droppedAttributesCount")
            }
            b"flags" => l.flags = flags_field(ctx, hand::scalar(sc)?, "links.flags"),
            _ => sc.skip_value()?,
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
