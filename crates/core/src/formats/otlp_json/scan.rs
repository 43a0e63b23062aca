//! A small, allocation-free JSON scanner over an already UTF-8-validated `&str`: the OTLP JSON
//! reader (`doc`, `span`, `hand`, `fast`) drives its methods directly (open, next key, next
//! element, scan a string or number, skip a value). Its tests also drive it as a serde
//! `Deserializer` (`serde_impl`, test-only) to check it value for value against `serde_json`.
//!
//! Why: the input is validated once up front (`std::str::from_utf8`, fast), so strings without
//! escapes are borrowed straight from the input with no per-string UTF-8 check; string ends are
//! found eight bytes at a time (SWAR, no SIMD, no unsafe); integers are parsed from their digits
//! (never through `f64`); ignored values are skipped by a validating skipper without building
//! anything.
//!
//! Strict JSON (RFC 8259): trailing commas, bad literals, leading zeros, unterminated strings,
//! control characters in strings, bad escapes and lone surrogates are errors, as is anything
//! after the value ([`Scanner::end`]). Nesting deeper than [`MAX_DEPTH`] is an error, never a
//! stack overflow. Errors carry a byte position, rendered as line and column by
//! [`Scanner::describe`]. Not here: anything OTLP-specific.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

/// Deepest nesting of arrays and objects accepted (like serde_json's recursion limit).
pub(crate) const MAX_DEPTH: u32 = 128;

/// A scan error: a message and, when known, the byte offset where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Error {
    msg: String,
    pos: Option<usize>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for Error {}

/// 1-based line and column of byte offset `pos` in `src` (column counts bytes).
pub(crate) fn line_column(src: &[u8], pos: usize) -> (usize, usize) {
    let head = src.get(..pos.min(src.len())).unwrap_or(&[]);
    let line = head.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = match head.iter().rposition(|&b| b == b'\n') {
        Some(nl) => pos - nl,
        None => pos + 1,
    };
    (line, column)
}

/// The scanner: the input, a position and the nesting depth. Shared (`&Scanner`): serde's
/// access objects and the reader's hand-written hot paths move the same position.
pub(crate) struct Scanner<'de> {
    src: &'de str,
    pos: Cell<usize>,
    depth: Cell<u32>,
}

/// A scanned number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    U64(u64),
    I64(i64),
    F64(f64),
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Index of the first `"`, `\` or control byte at or after `i`, or `b.len()`. Eight bytes at
/// a time: the lowest flagged byte of each zero-byte test is always a true match.
#[inline]
pub(crate) fn find_special(b: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = b.get(i..i + 8) {
        let Ok(arr) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let x = u64::from_le_bytes(arr);
        let q = x ^ (ONES * u64::from(b'"'));
        let s = x ^ (ONES * u64::from(b'\\'));
        let m =
            ((q.wrapping_sub(ONES) & !q) | (s.wrapping_sub(ONES) & !s) | (x.wrapping_sub(ONES * 0x20) & !x))
                & HIGHS;
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            return i;
        }
        i += 1;
    }
    b.len()
}

fn hex_val(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'a'..=b'f' => Some(u32::from(c - b'a' + 10)),
        b'A'..=b'F' => Some(u32::from(c - b'A' + 10)),
        _ => None,
    }
}

impl<'de> Scanner<'de> {
    /// A scanner at the start of `src`.
    pub(crate) fn new(src: &'de str) -> Self {
        Scanner {
            src,
            pos: Cell::new(0),
            depth: Cell::new(0),
        }
    }

    /// The input as bytes.
    #[inline]
    pub(crate) fn bytes(&self) -> &'de [u8] {
        self.src.as_bytes()
    }

    /// The input.
    #[inline]
    pub(crate) fn src(&self) -> &'de str {
        self.src
    }

    /// The current byte offset.
    #[inline]
    pub(crate) fn pos(&self) -> usize {
        self.pos.get()
    }

    /// Moves to byte offset `pos`: only to the end of a value a fast path has fully checked.
    #[inline]
    pub(crate) fn set_pos(&self, pos: usize) {
        self.pos.set(pos);
    }

    /// Whether `levels` more arrays or objects may be opened here (see [`MAX_DEPTH`]).
    #[inline]
    pub(crate) fn can_nest(&self, levels: u32) -> bool {
        self.depth.get() + levels <= MAX_DEPTH
    }

    /// An error at the current position.
    fn err(&self, msg: &str) -> Error {
        self.err_at(msg, self.pos.get())
    }

    fn err_at(&self, msg: &str, pos: usize) -> Error {
        Error {
            msg: msg.to_string(),
            pos: Some(pos),
        }
    }

    /// The error as text with its line and column (the current position when it has none).
    pub(crate) fn describe(&self, e: &Error) -> String {
        let (line, column) = line_column(self.bytes(), e.pos.unwrap_or(self.pos.get()));
        format!("{} at line {line} column {column}", e.msg)
    }

    /// Checks that only whitespace follows the value.
    pub(crate) fn end(&self) -> Result<(), Error> {
        match self.peek_ws() {
            None => Ok(()),
            Some(_) => Err(self.err("trailing characters")),
        }
    }

    /// Skips whitespace and returns the next byte (not consumed).
    #[inline]
    pub(crate) fn peek_ws(&self) -> Option<u8> {
        let b = self.bytes();
        let mut pos = self.pos.get();
        while let Some(&c) = b.get(pos) {
            match c {
                b' ' | b'\n' | b'\r' | b'\t' => pos += 1,
                _ => {
                    self.pos.set(pos);
                    return Some(c);
                }
            }
        }
        self.pos.set(pos);
        None
    }

    fn enter(&self) -> Result<(), Error> {
        if self.depth.get() >= MAX_DEPTH {
            return Err(self.err("recursion limit exceeded"));
        }
        self.depth.set(self.depth.get() + 1);
        Ok(())
    }

    fn leave(&self) {
        self.depth.set(self.depth.get().saturating_sub(1));
    }

    /// Scans a string; `self.pos` is at its opening quote.
    #[inline]
    pub(crate) fn scan_str(&self) -> Result<Cow<'de, str>, Error> {
        let b = self.bytes();
        let start = self.pos.get() + 1;
        let i = find_special(b, start);
        match b.get(i) {
            Some(b'"') => {
                self.pos.set(i + 1);
                let s = self
                    .src
                    .get(start..i)
                    .ok_or_else(|| self.err_at("invalid string", start))?;
                Ok(Cow::Borrowed(s))
            }
            Some(b'\\') => {
                let mut out = String::new();
                self.unescape_from(&mut out, start, i)?;
                Ok(Cow::Owned(out))
            }
            Some(_) => Err(self.err_at(
                "control character (\\u0000-\\u001F) found while parsing a string",
                i,
            )),
            None => Err(self.err_at("EOF while parsing a string", b.len())),
        }
    }

    /// Continues a string with escapes into the scratch buffer: `seg` is where the current
    /// unescaped run started, `i` the first special byte.
    fn unescape_from(&self, out: &mut String, mut seg: usize, mut i: usize) -> Result<(), Error> {
        let b = self.bytes();
        loop {
            let run = self
                .src
                .get(seg..i)
                .ok_or_else(|| self.err_at("invalid string", seg))?;
            out.push_str(run);
            match b.get(i) {
                Some(b'"') => {
                    self.pos.set(i + 1);
                    return Ok(());
                }
                Some(b'\\') => {
                    let (c, next) = self.escape(i)?;
                    out.push(c);
                    seg = next;
                    i = find_special(b, next);
                }
                Some(_) => {
                    return Err(self.err_at(
                        "control character (\\u0000-\\u001F) found while parsing a string",
                        i,
                    ))
                }
                None => return Err(self.err_at("EOF while parsing a string", b.len())),
            }
        }
    }

    /// Reads four hex digits at `at`.
    fn hex4(&self, at: usize) -> Result<u32, Error> {
        let b = self.bytes();
        let mut v = 0u32;
        for k in 0..4 {
            match b.get(at + k) {
                None => return Err(self.err_at("EOF while parsing a string", b.len())),
                Some(&c) => match hex_val(c) {
                    Some(d) => v = v * 16 + d,
                    None => return Err(self.err_at("invalid escape", at + k)),
                },
            }
        }
        Ok(v)
    }

    /// Decodes the escape whose backslash is at `i`: the character and the index after it.
    fn escape(&self, i: usize) -> Result<(char, usize), Error> {
        let b = self.bytes();
        let c = match b.get(i + 1) {
            None => return Err(self.err_at("EOF while parsing a string", b.len())),
            Some(&c) => c,
        };
        let simple = match c {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = self.hex4(i + 2)?;
                let after = i + 6;
                if (0xDC00..0xE000).contains(&hi) {
                    return Err(self.err_at("lone trailing surrogate in hex escape", after));
                }
                if !(0xD800..0xDC00).contains(&hi) {
                    let ch = char::from_u32(hi).ok_or_else(|| self.err_at("invalid escape", i))?;
                    return Ok((ch, after));
                }
                if b.get(after) != Some(&b'\\') || b.get(after + 1) != Some(&b'u') {
                    return Err(self.err_at("lone leading surrogate in hex escape", after));
                }
                let lo = self.hex4(after + 2)?;
                if !(0xDC00..0xE000).contains(&lo) {
                    return Err(self.err_at("lone leading surrogate in hex escape", after));
                }
                let code = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                let ch = char::from_u32(code).ok_or_else(|| self.err_at("invalid escape", i))?;
                return Ok((ch, after + 6));
            }
            _ => return Err(self.err_at("invalid escape", i + 1)),
        };
        Ok((simple, i + 2))
    }

    /// Skips a string (validating its escapes); `self.pos` is at its opening quote.
    fn skip_str(&self) -> Result<(), Error> {
        let b = self.bytes();
        let mut i = find_special(b, self.pos.get() + 1);
        loop {
            match b.get(i) {
                Some(b'"') => {
                    self.pos.set(i + 1);
                    return Ok(());
                }
                Some(b'\\') => {
                    let (_, next) = self.escape(i)?;
                    i = find_special(b, next);
                }
                Some(_) => {
                    return Err(self.err_at(
                        "control character (\\u0000-\\u001F) found while parsing a string",
                        i,
                    ))
                }
                None => return Err(self.err_at("EOF while parsing a string", b.len())),
            }
        }
    }

    /// Consumes `lit` (`true`, `false`, `null`) at the current position.
    pub(crate) fn literal(&self, lit: &[u8]) -> Result<(), Error> {
        let b = self.bytes();
        let pos = self.pos.get();
        for (k, &want) in lit.iter().enumerate() {
            match b.get(pos + k) {
                Some(&c) if c == want => {}
                Some(_) => return Err(self.err_at("expected ident", pos + k)),
                None => return Err(self.err_at("EOF while parsing a value", b.len())),
            }
        }
        self.pos.set(pos + lit.len());
        Ok(())
    }

    /// Scans a number at the current position: integers from their digits, others by the
    /// standard library's correctly rounded float parser.
    pub(crate) fn scan_num(&self) -> Result<Num, Error> {
        let b = self.bytes();
        let start = self.pos.get();
        let mut i = start;
        let neg = b.get(i) == Some(&b'-');
        if neg {
            i += 1;
        }
        let mut v: u64 = 0;
        let mut overflow = false;
        match b.get(i) {
            Some(b'0') => {
                i += 1;
                if matches!(b.get(i), Some(b'0'..=b'9')) {
                    return Err(self.err_at("invalid number", i));
                }
            }
            Some(b'1'..=b'9') => {
                while let Some(&c) = b.get(i) {
                    if !c.is_ascii_digit() {
                        break;
                    }
                    match v.checked_mul(10).and_then(|x| x.checked_add(u64::from(c - b'0'))) {
                        Some(x) => v = x,
                        None => overflow = true,
                    }
                    i += 1;
                }
            }
            None => return Err(self.err_at("EOF while parsing a value", b.len())),
            Some(_) => return Err(self.err_at("invalid number", i)),
        }
        let mut float = false;
        if b.get(i) == Some(&b'.') {
            float = true;
            i += 1;
            let digits = i;
            while matches!(b.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
            if i == digits {
                return Err(self.err_at("invalid number", i));
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            float = true;
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let digits = i;
            while matches!(b.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
            if i == digits {
                return Err(self.err_at("invalid number", i));
            }
        }
        self.pos.set(i);
        if !float && !overflow {
            if !neg {
                return Ok(Num::U64(v));
            }
            if v == 0 {
                return Ok(Num::F64(-0.0));
            }
            if v <= 1u64 << 63 {
                return Ok(Num::I64((v as i64).wrapping_neg()));
            }
        }
        let text = self.src.get(start..i).unwrap_or("");
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Num::F64(f)),
            _ => Err(self.err_at("number out of range", start)),
        }
    }

    /// Skips one value of any kind, validating it.
    pub(crate) fn skip_value(&self) -> Result<(), Error> {
        match self.peek_ws() {
            None => Err(self.err("EOF while parsing a value")),
            Some(b'"') => self.skip_str(),
            Some(b'{') => {
                self.enter()?;
                self.pos.set(self.pos.get() + 1);
                let mut first = true;
                loop {
                    match self.peek_ws() {
                        Some(b'}') => {
                            self.pos.set(self.pos.get() + 1);
                            break;
                        }
                        Some(b',') if !first => {
                            self.pos.set(self.pos.get() + 1);
                            if self.peek_ws() != Some(b'"') {
                                return Err(self.key_error());
                            }
                        }
                        Some(b'"') if first => {}
                        None => return Err(self.err("EOF while parsing an object")),
                        Some(_) if first => return Err(self.err("key must be a string")),
                        Some(_) => return Err(self.err("expected `,` or `}`")),
                    }
                    first = false;
                    self.skip_str()?;
                    self.colon()?;
                    self.skip_value()?;
                }
                self.leave();
                Ok(())
            }
            Some(b'[') => {
                self.enter()?;
                self.pos.set(self.pos.get() + 1);
                let mut first = true;
                loop {
                    match self.peek_ws() {
                        Some(b']') => {
                            self.pos.set(self.pos.get() + 1);
                            break;
                        }
                        Some(b',') if !first => {
                            self.pos.set(self.pos.get() + 1);
                            if self.peek_ws() == Some(b']') {
                                return Err(self.err("trailing comma"));
                            }
                        }
                        None => return Err(self.err("EOF while parsing a list")),
                        Some(_) if first => {}
                        Some(_) => return Err(self.err("expected `,` or `]`")),
                    }
                    first = false;
                    self.skip_value()?;
                }
                self.leave();
                Ok(())
            }
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.scan_num().map(|_| ()),
            Some(_) => Err(self.err("expected value")),
        }
    }

    /// The error for what follows a `,` in an object when it is not a key.
    fn key_error(&self) -> Error {
        match self.bytes().get(self.pos.get()) {
            Some(b'}') => self.err("trailing comma"),
            None => self.err("EOF while parsing an object"),
            Some(_) => self.err("key must be a string"),
        }
    }

    /// Consumes the `:` after an object key.
    #[inline]
    fn colon(&self) -> Result<(), Error> {
        match self.peek_ws() {
            Some(b':') => {
                self.pos.set(self.pos.get() + 1);
                Ok(())
            }
            None => Err(self.err("EOF while parsing an object")),
            Some(_) => Err(self.err("expected `:`")),
        }
    }

    /// Opens the array or object at the current position (`[` or `{`, already peeked).
    #[inline]
    pub(crate) fn open(&self) -> Result<(), Error> {
        self.enter()?;
        self.pos.set(self.pos.get() + 1);
        Ok(())
    }

    /// The next key of an object opened by [`Scanner::open`], with its `:` consumed; `None`
    /// at the closing brace. `first` tracks the comma rule.
    #[inline]
    pub(crate) fn next_key(&self, first: &mut bool) -> Result<Option<Cow<'de, str>>, Error> {
        match self.peek_ws() {
            Some(b'}') => {
                self.pos.set(self.pos.get() + 1);
                self.leave();
                return Ok(None);
            }
            Some(b',') if !*first => {
                self.pos.set(self.pos.get() + 1);
                if self.peek_ws() != Some(b'"') {
                    return Err(self.key_error());
                }
            }
            Some(b'"') if *first => {}
            None => return Err(self.err("EOF while parsing an object")),
            Some(_) if *first => return Err(self.err("key must be a string")),
            Some(_) => return Err(self.err("expected `,` or `}`")),
        }
        *first = false;
        let key = self.scan_str()?;
        self.colon()?;
        Ok(Some(key))
    }

    /// Moves to the next element of an array opened by [`Scanner::open`]; false at the
    /// closing bracket.
    #[inline]
    pub(crate) fn next_elem(&self, first: &mut bool) -> Result<bool, Error> {
        match self.peek_ws() {
            Some(b']') => {
                self.pos.set(self.pos.get() + 1);
                self.leave();
                return Ok(false);
            }
            Some(b',') if !*first => {
                self.pos.set(self.pos.get() + 1);
                if self.peek_ws() == Some(b']') {
                    return Err(self.err("trailing comma"));
                }
            }
            None => return Err(self.err("EOF while parsing a list")),
            Some(_) if *first => {}
            Some(_) => return Err(self.err("expected `,` or `]`")),
        }
        *first = false;
        Ok(true)
    }
}

#[cfg(test)]
mod serde_impl;

#[cfg(test)]
mod tests;
