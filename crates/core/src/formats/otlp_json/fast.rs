//! Speculative fast paths of the OTLP JSON reader for the compact layout that OTLP writers
//! emit (no whitespace, fields in the usual order), e.g. an attribute written as
//! `{"key":"http.route","value":{"stringValue":"/v1/chat"}}`.
//!
//! A fast path compares the input with the expected bytes and reads plain (escape-free)
//! strings in place. It either matches a whole value, and then moves the scanner past it, or
//! returns `None` having consumed nothing, and the general reader (`hand`, `span`) reads the
//! value instead. So a fast path never reports anything and never changes behaviour: it only
//! takes values whose reading by the general path is known in advance (no diagnostics, no
//! errors). Not here: anything the general path would report.

use super::scan::{find_special, Scanner};
use super::Ctx;
use crate::model::{KeyValue, Value};

/// True when the input has `lit` at `p`.
#[inline]
pub(super) fn at(b: &[u8], p: usize, lit: &[u8]) -> bool {
    b.get(p..p + lit.len()) == Some(lit)
}

/// The string whose content starts at `p` when it has no escapes (and no control bytes): the
/// content and the offset after its closing quote.
#[inline]
pub(super) fn plain_str<'x>(sc: &Scanner<'x>, p: usize) -> Option<(&'x str, usize)> {
    let b = sc.bytes();
    let q = find_special(b, p);
    if b.get(q) != Some(&b'"') {
        return None;
    }
    Some((sc.src().get(p..q)?, q + 1))
}

/// A decimal int64 written as `-?[0-9]{1,18}` (what `str::parse::<i64>` reads the same, with
/// no overflow possible); `None` for anything else.
#[inline]
pub(super) fn small_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + i64::from(d);
    }
    Some(if neg { -v } else { v })
}

/// A decimal uint64 written as `[0-9]{1,19}` (no overflow possible); `None` otherwise.
#[inline]
pub(super) fn small_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in s {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + u64::from(d);
    }
    Some(v)
}

/// What a compact attribute holds, before interning.
enum Raw<'x> {
    Str(&'x str),
    Int(i64),
    Bool(bool),
}

const KEY_OPEN: &[u8] = br#"{"key":""#;
const VALUE_OPEN: &[u8] = br#","value":{""#;
const STRING_VALUE: &[u8] = br#"stringValue":""#;
const INT_VALUE: &[u8] = br#"intValue":""#;
const BOOL_TRUE: &[u8] = br#"boolValue":true"#;
const BOOL_FALSE: &[u8] = br#"boolValue":false"#;
const CLOSE: &[u8] = b"}}";

/// One attribute in the compact layout, with a non-empty plain key and a plain `stringValue`,
/// an `intValue` string of up to 18 digits, or a `boolValue`; `None` (nothing consumed) for
/// anything else.
#[inline]
pub(super) fn key_value(ctx: &mut Ctx) -> Option<KeyValue> {
    let sc = ctx.sc;
    let b = sc.bytes();
    let p = sc.pos();
    // The general path would open two objects here.
    if !sc.can_nest(2) || !at(b, p, KEY_OPEN) {
        return None;
    }
    let (key, p) = plain_str(sc, p + KEY_OPEN.len())?;
    if key.is_empty() || !at(b, p, VALUE_OPEN) {
        return None;
    }
    let p = p + VALUE_OPEN.len();
    let (raw, p) = if at(b, p, STRING_VALUE) {
        let (s, p) = plain_str(sc, p + STRING_VALUE.len())?;
        (Raw::Str(s), p)
    } else if at(b, p, INT_VALUE) {
        let (s, p) = plain_str(sc, p + INT_VALUE.len())?;
        (Raw::Int(small_i64(s.as_bytes())?), p)
    } else if at(b, p, BOOL_TRUE) {
        (Raw::Bool(true), p + BOOL_TRUE.len())
    } else if at(b, p, BOOL_FALSE) {
        (Raw::Bool(false), p + BOOL_FALSE.len())
    } else {
        return None;
    };
    if !at(b, p, CLOSE) {
        return None;
    }
    sc.set_pos(p + CLOSE.len());
    Some(match raw {
        Raw::Str(s) => {
            let (key, value) = ctx.intern_attr(key, s);
            KeyValue {
                key,
                value: Value::Str(value),
            }
        }
        Raw::Int(v) => KeyValue {
            key: ctx.intern_key(key),
            value: Value::Int(v),
        },
        Raw::Bool(v) => KeyValue {
            key: ctx.intern_key(key),
            value: Value::Bool(v),
        },
    })
}

/// A span field in the compact layout, as `span` reads it.
pub(super) enum SpanField<'x> {
    TraceId(&'x str),
    SpanId(&'x str),
    ParentSpanId(&'x str),
    Name(&'x str),
    Start(&'x str),
    End(&'x str),
    Kind(u64),
    Flags(u64),
}

/// The next member of a span object when it is one of the common fields in the compact
/// layout (`"traceId":"…"`, `"kind":2`, …), preceded by `,` unless it is the first: the field
/// and the offset after its value. `None` (nothing consumed) for anything else.
#[inline]
pub(super) fn span_field<'x>(sc: &Scanner<'x>, first: bool) -> Option<(SpanField<'x>, usize)> {
    let b = sc.bytes();
    let mut p = sc.pos();
    if !first {
        if b.get(p) != Some(&b',') {
            return None;
        }
        p += 1;
    }
    if b.get(p) != Some(&b'"') {
        return None;
    }
    p += 1;
    type Str<'x> = fn(&'x str) -> SpanField<'x>;
    let (lit, make): (&[u8], Str) = match b.get(p) {
        Some(b't') => (br#"traceId":""#, SpanField::TraceId),
        Some(b's') if at(b, p, b"spanId") => (br#"spanId":""#, SpanField::SpanId),
        Some(b's') => (br#"startTimeUnixNano":""#, SpanField::Start),
        Some(b'p') => (br#"parentSpanId":""#, SpanField::ParentSpanId),
        Some(b'n') => (br#"name":""#, SpanField::Name),
        Some(b'e') => (br#"endTimeUnixNano":""#, SpanField::End),
        Some(b'k') => {
            let (v, end) = plain_uint(b, p, br#"kind":"#)?;
            return Some((SpanField::Kind(v), end));
        }
        Some(b'f') => {
            let (v, end) = plain_uint(b, p, br#"flags":"#)?;
            return Some((SpanField::Flags(v), end));
        }
        _ => return None,
    };
    if !at(b, p, lit) {
        return None;
    }
    let (s, end) = plain_str(sc, p + lit.len())?;
    Some((make(s), end))
}

/// `lit` at `p` followed by a JSON integer of up to 19 digits (no leading zero) that ends at
/// `,` or `}`: the value and the offset after it.
#[inline]
fn plain_uint(b: &[u8], p: usize, lit: &[u8]) -> Option<(u64, usize)> {
    if !at(b, p, lit) {
        return None;
    }
    let start = p + lit.len();
    let mut end = start;
    while b.get(end).is_some_and(u8::is_ascii_digit) {
        end += 1;
    }
    let digits = b.get(start..end)?;
    if !matches!(b.get(end), Some(b',' | b'}')) || (digits.len() > 1 && digits.first() == Some(&b'0')) {
        return None;
    }
    Some((small_u64(digits)?, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_ints() {
        assert_eq!(small_i64(b"0"), Some(0));
        assert_eq!(small_i64(b"-42"), Some(-42));
        assert_eq!(small_i64(b"123456789012345678"), Some(123_456_789_012_345_678));
        assert_eq!(small_i64(b"1234567890123456789"), None);
        assert_eq!(small_i64(b""), None);
        assert_eq!(small_i64(b"-"), None);
        assert_eq!(small_i64(b"+1"), None);
        assert_eq!(small_i64(b"1.5"), None);
        assert_eq!(small_i64(b"1e3"), None);
        assert_eq!(small_u64(b"1795000005840891979"), Some(1_795_000_005_840_891_979));
        assert_eq!(small_u64(b"18446744073709551615"), None);
        assert_eq!(small_u64(b"-1"), None);
        assert_eq!(small_u64(b""), None);
    }

    #[test]
    fn span_fields() {
        let field = |text: &str, first: bool| {
            let sc = Scanner::new(text);
            span_field(&sc, first).map(|(f, end)| {
                let f = match f {
                    SpanField::TraceId(s) => format!("trace {s}"),
                    SpanField::SpanId(s) => format!("span {s}"),
                    SpanField::ParentSpanId(s) => format!("parent {s}"),
                    SpanField::Name(s) => format!("name {s}"),
                    SpanField::Start(s) => format!("start {s}"),
                    SpanField::End(s) => format!("end {s}"),
                    SpanField::Kind(v) => format!("kind {v}"),
                    SpanField::Flags(v) => format!("flags {v}"),
                };
                (f, end)
            })
        };
        assert_eq!(field(r#""traceId":"ab"}"#, true), Some(("trace ab".into(), 14)));
        assert_eq!(field(r#","spanId":"cd","#, false), Some(("span cd".into(), 14)));
        assert_eq!(
            field(r#","startTimeUnixNano":"1"}"#, false),
            Some(("start 1".into(), 24))
        );
        assert_eq!(field(r#""kind":2,"#, true), Some(("kind 2".into(), 8)));
        assert_eq!(field(r#","flags":257}"#, false), Some(("flags 257".into(), 12)));
        // Left to the general path: a missing or extra comma, whitespace, escapes, other keys
        // or value types, numbers that are not plain integers.
        assert_eq!(field(r#""traceId":"ab"}"#, false), None);
        assert_eq!(field(r#","traceId":"ab"}"#, true), None);
        assert_eq!(field(r#""traceId": "ab"}"#, true), None);
        assert_eq!(field(r#""name":"a\"b"}"#, true), None);
        assert_eq!(field(r#""names":"x"}"#, true), None);
        assert_eq!(field(r#""status":{}}"#, true), None);
        assert_eq!(field(r#""traceId":null}"#, true), None);
        assert_eq!(field(r#""kind":"SPAN_KIND_SERVER"}"#, true), None);
        assert_eq!(field(r#""kind":02}"#, true), None);
        assert_eq!(field(r#""kind":2.0}"#, true), None);
        assert_eq!(field(r#""kind":-1}"#, true), None);
        assert_eq!(field(r#""kind":2"#, true), None);
        assert_eq!(field(r#""flags":99999999999999999999}"#, true), None);
        assert_eq!(field(r#""flags":0}"#, true), Some(("flags 0".into(), 9)));
    }

    #[test]
    fn literals_and_plain_strings() {
        let sc = Scanner::new(r#""abc","a\"b","x"#);
        assert!(at(sc.bytes(), 0, b"\"abc\""));
        assert!(!at(sc.bytes(), 14, b"xyz"));
        assert_eq!(plain_str(&sc, 1), Some(("abc", 5)));
        // An escape or an unterminated string is left to the general path.
        assert_eq!(plain_str(&sc, 7), None);
        assert_eq!(plain_str(&sc, 14), None);
    }
}
