//! The hand-written hot path of the OTLP JSON reader: attribute lists and AnyValues, scanned
//! directly with the scanner's methods (no serde visitor layers) and fed to the builder.
//! Behaviour is that of the rest of the reader: wrong shapes are reported or skipped with the
//! same messages; JSON syntax errors are errors.

use super::scan::{Error, Num, Scanner};
use super::{Ctx, ListResult, Scalar, B64, B64_URL, MAX_VALUE_DEPTH};
use crate::diagnostics::DiagnosticKind;
use crate::model::{KeyValue, Range32, StrId, Value};
use base64::Engine;

/// What a value starting with byte `b` is, as the container readers name it.
fn shape_name(b: Option<u8>) -> &'static str {
    match b {
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// What was found where a container was expected.
pub(super) enum Open {
    /// The expected container, opened (its first element or key comes next).
    Yes,
    /// `null`, consumed.
    Null,
    /// Some other value, skipped; names what it was.
    Wrong(&'static str),
}

/// Opens the object at the current position, or skips whatever is there instead.
#[inline]
pub(super) fn open_obj(sc: &Scanner) -> Result<Open, Error> {
    open_container(sc, b'{')
}

/// Opens the array at the current position, or skips whatever is there instead.
#[inline]
pub(super) fn open_arr(sc: &Scanner) -> Result<Open, Error> {
    open_container(sc, b'[')
}

#[inline]
fn open_container(sc: &Scanner, want: u8) -> Result<Open, Error> {
    match sc.peek_ws() {
        Some(c) if c == want => {
            sc.open()?;
            Ok(Open::Yes)
        }
        Some(b'n') => {
            sc.skip_value()?;
            Ok(Open::Null)
        }
        other => {
            sc.skip_value()?;
            Ok(Open::Wrong(shape_name(other)))
        }
    }
}

/// Any scalar value at the current position; containers are skipped.
pub(super) fn scalar<'x>(sc: &Scanner<'x>) -> Result<Scalar<'x>, Error> {
    match sc.peek_ws() {
        Some(b'"') => Ok(Scalar::Str(sc.scan_str()?)),
        Some(b'{') => {
            sc.skip_value()?;
            Ok(Scalar::Container("an object"))
        }
        Some(b'[') => {
            sc.skip_value()?;
            Ok(Scalar::Container("an array"))
        }
        Some(b't') => {
            sc.literal(b"true")?;
            Ok(Scalar::Bool(true))
        }
        Some(b'f') => {
            sc.literal(b"false")?;
            Ok(Scalar::Bool(false))
        }
        Some(b'n') => {
            sc.literal(b"null")?;
            Ok(Scalar::Null)
        }
        Some(b'-' | b'0'..=b'9') => Ok(match sc.scan_num()? {
            Num::U64(v) => Scalar::U64(v),
            Num::I64(v) if v >= 0 => Scalar::U64(v as u64),
            Num::I64(v) => Scalar::I64(v),
            Num::F64(v) => Scalar::F64(v),
        }),
        // Lets the skipper produce the precise error.
        _ => {
            sc.skip_value()?;
            Ok(Scalar::Null)
        }
    }
}

/// A value expected to be a string: the string scanned directly, else any scalar.
#[inline]
pub(super) fn string_or_scalar<'x>(sc: &Scanner<'x>) -> Result<Scalar<'x>, Error> {
    if sc.peek_ws() == Some(b'"') {
        Ok(Scalar::Str(sc.scan_str()?))
    } else {
        scalar(sc)
    }
}

/// An attribute list (after its key's `:`).
pub(super) fn attr_list(ctx: &mut Ctx, field: &'static str) -> Result<ListResult, Error> {
    let sc = ctx.sc;
    match open_arr(sc)? {
        Open::Yes => {}
        Open::Null => return Ok(Ok(Range32::EMPTY)),
        Open::Wrong(w) => return Ok(Err(w)),
    }
    let mut first = true;
    // While every entry takes the fast path (which stores nothing else in the arena), entries
    // go straight to the end of the arena's attributes; the first entry that needs the
    // general path (whose nested lists also go to the arena) moves them to the stack.
    let direct = ctx.b.arena.kvs.len();
    let mut stacked: Option<usize> = None;
    while sc.next_elem(&mut first)? {
        if let Some(kv) = super::fast::key_value(ctx) {
            match stacked {
                None => ctx.b.arena.kvs.push(kv),
                Some(_) => ctx.kv_stack.push(kv),
            }
            continue;
        }
        if stacked.is_none() {
            stacked = Some(ctx.kv_stack.len());
            let moved = ctx.b.arena.kvs.drain(direct..);
            ctx.kv_stack.extend(moved);
        }
        match key_value(ctx)? {
            Ok(kv) => ctx.kv_stack.push(kv),
            Err(why) => ctx.pend(
                DiagnosticKind::InvalidAttribute,
                field,
                format!("{why}; attribute dropped"),
            ),
        }
    }
    let Some(base) = stacked else {
        let len = ctx.b.arena.kvs.len().saturating_sub(direct);
        return Ok(Ok(Range32 {
            start: direct as u32,
            len: len as u32,
        }));
    };
    let range = ctx.b.arena.push_kvs(ctx.kv_stack.get(base..).unwrap_or(&[]));
    ctx.kv_stack.truncate(base);
    Ok(Ok(range))
}

/// One `{"key", "value"}` entry.
fn key_value(ctx: &mut Ctx) -> Result<Result<KeyValue, String>, Error> {
    let sc = ctx.sc;
    match open_obj(sc)? {
        Open::Yes => {}
        Open::Null => return Ok(Err("attribute entry is null".to_string())),
        Open::Wrong(w) => return Ok(Err(format!("attribute entry is {w}, not an object"))),
    }
    let mut first = true;
    let mut key_id: Option<StrId> = None;
    let mut key_text: Option<String> = None;
    let mut value: Result<Value, String> = Ok(Value::Empty);
    while let Some(k) = sc.next_key(&mut first)? {
        match k.as_bytes() {
            b"key" => match string_or_scalar(sc)? {
                Scalar::Str(s) if !s.is_empty() => key_id = Some(ctx.intern_key(&s)),
                other => key_text = Some(format!("attribute key is {}", other.type_name())),
            },
            b"value" => value = any_value(ctx, 0)?,
            _ => sc.skip_value()?,
        }
    }
    let Some(key) = key_id else {
        return Ok(Err(
            key_text.unwrap_or_else(|| "attribute without a key".to_string())
        ));
    };
    Ok(match value {
        Ok(value) => Ok(KeyValue { key, value }),
        Err(why) => Err(format!("attribute {:?}: {why}", ctx.b.arena.str(key))),
    })
}

/// An AnyValue object: `{"stringValue": ...}` etc. `null` and `{}` are the empty value.
fn any_value(ctx: &mut Ctx, depth: u32) -> Result<Result<Value, String>, Error> {
    let sc = ctx.sc;
    match open_obj(sc)? {
        Open::Yes => {}
        Open::Null => return Ok(Ok(Value::Empty)),
        Open::Wrong(w) => return Ok(Err(format!("value is {w}, not an AnyValue object"))),
    }
    let mut first = true;
    let mut out: Result<Value, String> = Ok(Value::Empty);
    while let Some(k) = sc.next_key(&mut first)? {
        let v = match k.as_bytes() {
            b"stringValue" => match string_or_scalar(sc)? {
                Scalar::Str(s) => Ok(Value::Str(ctx.intern(&s))),
                other => Err(format!("stringValue is {}", other.type_name())),
            },
            b"boolValue" => match scalar(sc)? {
                Scalar::Bool(b) => Ok(Value::Bool(b)),
                Scalar::Str(s) if s == "true" => Ok(Value::Bool(true)),
                Scalar::Str(s) if s == "false" => Ok(Value::Bool(false)),
                other => Err(format!("boolValue is {}", other.type_name())),
            },
            b"intValue" => scalar(sc)?
                .to_i64()
                .map(Value::Int)
                .map_err(|why| format!("intValue {why}")),
            b"doubleValue" => scalar(sc)?
                .to_f64()
                .map(Value::Double)
                .map_err(|why| format!("doubleValue {why}")),
            b"bytesValue" => match scalar(sc)? {
                Scalar::Str(s) => {
                    ctx.bytes.clear();
                    let decoded = B64.decode_vec(s.as_bytes(), &mut ctx.bytes).or_else(|_| {
                        ctx.bytes.clear();
                        B64_URL.decode_vec(s.as_bytes(), &mut ctx.bytes)
                    });
                    match decoded {
                        Ok(()) => Ok(Value::Bytes(ctx.b.arena.push_bytes(&ctx.bytes))),
                        Err(_) => Err("bytesValue is not base64".to_string()),
                    }
                }
                other => Err(format!("bytesValue is {}", other.type_name())),
            },
            b"arrayValue" | b"kvlistValue" => {
                let kv = k.as_bytes() == b"kvlistValue";
                if depth >= MAX_VALUE_DEPTH {
                    sc.skip_value()?;
                    Err("values nested too deeply".to_string())
                } else {
                    list_value(ctx, depth + 1, kv)?
                }
            }
            _ => {
                sc.skip_value()?;
                continue;
            }
        };
        out = v;
    }
    Ok(out)
}

/// `arrayValue` / `kvlistValue`: `{"values": [...]}`.
fn list_value(ctx: &mut Ctx, depth: u32, kv: bool) -> Result<Result<Value, String>, Error> {
    let sc = ctx.sc;
    match open_obj(sc)? {
        Open::Yes => {}
        Open::Null => return Ok(Ok(Value::Empty)),
        Open::Wrong(w) => return Ok(Err(format!("list value is {w}, not an object"))),
    }
    let mut first = true;
    let mut out: Result<Value, String> = Ok(if kv {
        Value::KvList(Range32::EMPTY)
    } else {
        Value::Array(Range32::EMPTY)
    });
    while let Some(k) = sc.next_key(&mut first)? {
        if k.as_bytes() == b"values" {
            out = values(ctx, depth, kv)?;
        } else {
            sc.skip_value()?;
        }
    }
    Ok(out)
}

/// The `values` array of an `arrayValue` (AnyValues) or `kvlistValue` (KeyValues).
fn values(ctx: &mut Ctx, depth: u32, kv: bool) -> Result<Result<Value, String>, Error> {
    let sc = ctx.sc;
    match open_arr(sc)? {
        Open::Yes => {}
        Open::Null => return Ok(Ok(Value::Empty)),
        Open::Wrong(w) => return Ok(Err(format!("values is {w}, not an array"))),
    }
    let mut first = true;
    let mut error: Option<String> = None;
    if kv {
        let base = ctx.kv_stack.len();
        while sc.next_elem(&mut first)? {
            match key_value(ctx)? {
                Ok(kv) => ctx.kv_stack.push(kv),
                Err(why) => {
                    error.get_or_insert(why);
                }
            }
        }
        let range = ctx.b.arena.push_kvs(ctx.kv_stack.get(base..).unwrap_or(&[]));
        ctx.kv_stack.truncate(base);
        Ok(match error {
            Some(why) => Err(format!("kvlistValue entry: {why}")),
            None => Ok(Value::KvList(range)),
        })
    } else {
        let base = ctx.value_stack.len();
        while sc.next_elem(&mut first)? {
            match any_value(ctx, depth)? {
                Ok(v) => ctx.value_stack.push(v),
                Err(why) => {
                    error.get_or_insert(why);
                }
            }
        }
        let range = ctx
            .b
            .arena
            .push_values(ctx.value_stack.get(base..).unwrap_or(&[]));
        ctx.value_stack.truncate(base);
        Ok(match error {
            Some(why) => Err(format!("arrayValue element: {why}")),
            None => Ok(Value::Array(range)),
        })
    }
}
