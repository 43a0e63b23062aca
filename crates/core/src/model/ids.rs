//! Trace and span ids, and the one place that turns the id strings of every format into bytes.
//!
//! Accepted spellings (see `shared/fixtures/FORMATS.md`):
//! - hex of any case, up to 32 digits for a trace id and 16 for a span id, left-padded with
//!   zeros when shorter (Jaeger drops leading zeros, Zipkin has 1-character ids);
//! - base64 that decodes to exactly 16 (trace) or 8 (span) bytes (protobuf-JSON writers, Tempo);
//! - anything else (`"span-1"`, `"sid1"`) is an opaque label: it is hashed to stable bytes so it
//!   can still link parents and children, and the caller records a diagnostic.
//!
//! Not here: deciding what a missing id means (the readers do that).

use base64::Engine;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A 16-byte trace id. Displays as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct TraceId(pub [u8; 16]);

/// An 8-byte span id. Displays as 16 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct SpanId(pub [u8; 8]);

/// How an id string was understood.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdEncoding {
    /// Hex digits (possibly fewer than the full width, left-padded).
    Hex,
    /// Base64 of exactly the id's width.
    Base64,
    /// Not hex nor base64 of the right width: hashed to bytes (stable, FNV-1a).
    Hashed,
}

/// Why an id string could not be used at all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("empty id")]
    Empty,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Value of each byte as a hex digit (any case), or `NOT_HEX`.
static HEX_DIGITS: [u8; 256] = hex_digits();
/// Marks a byte that is not a hex digit (any value above 15 would do).
const NOT_HEX: u8 = 0xff;

const fn hex_digits() -> [u8; 256] {
    let mut t = [NOT_HEX; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
}

fn hex_value(b: u8) -> Option<u8> {
    let v = HEX_DIGITS[usize::from(b)];
    (v != NOT_HEX).then_some(v)
}

/// Decodes up to `N * 2` hex digits into `N` bytes, left-padding with zeros.
fn decode_hex_padded<const N: usize>(s: &[u8]) -> Option<[u8; N]> {
    if s.is_empty() || s.len() > N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    if s.len() == N * 2 {
        // Full width (the usual case): digit pairs by table, one validity check at the end.
        let mut bad = 0u8;
        for (o, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
            let (hi, lo) = match pair {
                [h, l] => (HEX_DIGITS[usize::from(*h)], HEX_DIGITS[usize::from(*l)]),
                _ => return None,
            };
            bad |= hi | lo;
            *o = (hi << 4) | (lo & 0x0f);
        }
        return (bad <= 0x0f).then_some(out);
    }
    // Walk from the right so a short id fills the low bytes.
    let mut byte_index = N;
    let mut i = s.len();
    while i > 0 {
        let lo = hex_value(*s.get(i - 1)?)?;
        let hi = if i >= 2 { hex_value(*s.get(i - 2)?)? } else { 0 };
        byte_index -= 1;
        *out.get_mut(byte_index)? = (hi << 4) | lo;
        i = i.saturating_sub(2);
    }
    Some(out)
}

fn decode_base64_exact<const N: usize>(s: &str) -> Option<[u8; N]> {
    // Base64 of N bytes is 4 * ceil(N / 3) characters with padding.
    let padded_len = N.div_ceil(3) * 4;
    let unpadded_len = (N * 4).div_ceil(3);
    if s.len() != padded_len && s.len() != unpadded_len {
        return None;
    }
    let engine = if s.len() == padded_len {
        &base64::engine::general_purpose::STANDARD
    } else {
        &base64::engine::general_purpose::STANDARD_NO_PAD
    };
    let decoded = engine
        .decode(s)
        .or_else(|_| {
            // URL-safe alphabet, as some writers use.
            if s.len() == padded_len {
                base64::engine::general_purpose::URL_SAFE.decode(s)
            } else {
                base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s)
            }
        })
        .ok()?;
    decoded.try_into().ok()
}

/// FNV-1a over the bytes, with a seed so trace and span hashes of one label differ.
fn fnv1a64(seed: u64, bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    let mut buf = [0u8; 32];
    for (i, b) in bytes.iter().enumerate().take(16) {
        buf[i * 2] = HEX[usize::from(b >> 4)];
        buf[i * 2 + 1] = HEX[usize::from(b & 0x0f)];
    }
    let text = std::str::from_utf8(&buf[..bytes.len() * 2]).map_err(|_| fmt::Error)?;
    f.write_str(text)
}

macro_rules! id_impl {
    ($ty:ident, $n:expr, $seed:expr) => {
        impl $ty {
            /// Number of bytes of this id.
            pub const LEN: usize = $n;

            /// True when every byte is zero (an invalid id per the W3C spec, seen in test data).
            pub fn is_zero(&self) -> bool {
                self.0.iter().all(|b| *b == 0)
            }

            /// Parses hex only (any case, left-padded when shorter).
            pub fn from_hex(s: &str) -> Option<Self> {
                decode_hex_padded::<$n>(s.as_bytes()).map($ty)
            }

            /// Parses base64 of exactly this id's width.
            pub fn from_base64(s: &str) -> Option<Self> {
                decode_base64_exact::<$n>(s).map($ty)
            }

            /// Parses an id written in any format: hex first (a full-width hex string is also
            /// valid base64, and hex wins), then base64 of the exact width, else a stable hash.
            pub fn parse_any(s: &str) -> Result<(Self, IdEncoding), IdError> {
                let s = s.trim();
                if s.is_empty() {
                    return Err(IdError::Empty);
                }
                if let Some(id) = Self::from_hex(s) {
                    return Ok((id, IdEncoding::Hex));
                }
                if let Some(id) = Self::from_base64(s) {
                    return Ok((id, IdEncoding::Base64));
                }
                Ok((Self::hashed(s), IdEncoding::Hashed))
            }

            /// Stable bytes for an opaque label.
            pub fn hashed(label: &str) -> Self {
                let mut out = [0u8; $n];
                let mut seed: u64 = $seed;
                for chunk in out.chunks_mut(8) {
                    let h = fnv1a64(seed, label.as_bytes()).to_be_bytes();
                    chunk.copy_from_slice(&h[..chunk.len()]);
                    seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
                }
                $ty(out)
            }

            /// Lowercase hex, full width.
            pub fn to_hex(&self) -> String {
                self.to_string()
            }

            /// Standard base64 with padding (the protobuf-JSON spelling).
            pub fn to_base64(&self) -> String {
                base64::engine::general_purpose::STANDARD.encode(self.0)
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_hex(f, &self.0)
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(", stringify!($ty))?;
                write_hex(f, &self.0)?;
                f.write_str(")")
            }
        }
    };
}

id_impl!(TraceId, 16, 0x5452_4143_4549_4400);
id_impl!(SpanId, 8, 0x5350_414e_4944_0000);

impl TraceId {
    /// Hex with leading zeros removed, as Tempo's search results spell trace ids.
    pub fn to_hex_trimmed(&self) -> String {
        let full = self.to_hex();
        let trimmed = full.trim_start_matches('0');
        if trimmed.is_empty() {
            "0".to_string()
        } else {
            trimmed.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_any_case_and_padding() {
        let (id, enc) = TraceId::parse_any("5B8EFFF798038103D269B633813FC60C").unwrap();
        assert_eq!(enc, IdEncoding::Hex);
        assert_eq!(id.to_hex(), "5b8efff798038103d269b633813fc60c");
        let (short, _) = SpanId::parse_any("2").unwrap();
        assert_eq!(short.to_hex(), "0000000000000002");
        let (t31, _) = TraceId::parse_any("6a4f2a4a07c2e8b4e7e3c6f8c8a1b2c").unwrap();
        assert_eq!(t31.to_hex(), "06a4f2a4a07c2e8b4e7e3c6f8c8a1b2c");
    }

    #[test]
    fn base64_ids() {
        let (id, enc) = TraceId::parse_any("KQlAbC5BZ4j17FLtAQiEdQ==").unwrap();
        assert_eq!(enc, IdEncoding::Base64);
        assert_eq!(id.to_hex(), "2909406c2e416788f5ec52ed01088475");
        assert_eq!(id.to_base64(), "KQlAbC5BZ4j17FLtAQiEdQ==");
        let (sid, enc) = SpanId::parse_any("WbobDVyQYVg=").unwrap();
        assert_eq!(enc, IdEncoding::Base64);
        assert_eq!(sid.to_base64(), "WbobDVyQYVg=");
    }

    #[test]
    fn opaque_labels_hash_stably() {
        let (a, enc) = SpanId::parse_any("span-1").unwrap();
        assert_eq!(enc, IdEncoding::Hashed);
        assert_eq!(a, SpanId::parse_any("span-1").unwrap().0);
        assert_ne!(a, SpanId::parse_any("span-2").unwrap().0);
        assert_eq!(SpanId::parse_any("  "), Err(IdError::Empty));
    }

    #[test]
    fn hex_table_and_full_width() {
        for b in 0..=255u8 {
            let want = (b as char).to_digit(16).map(|d| d as u8);
            assert_eq!(hex_value(b), want, "{b}");
        }
        let id = SpanId::from_hex("0123456789aBcDeF").unwrap();
        assert_eq!(id.0, [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
        assert_eq!(SpanId::from_hex("0123456789abcdeg"), None);
        assert_eq!(SpanId::from_hex("g123456789abcdef"), None);
        assert_eq!(SpanId::from_hex("0123456789abcdef0"), None);
        assert_eq!(SpanId::from_hex("0123456789abcd\u{e9}"), None);
        assert_eq!(
            TraceId::from_hex("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF").unwrap().0,
            [0xff; 16]
        );
    }

    #[test]
    fn trimmed_hex() {
        let id = TraceId::from_hex("00ab").unwrap();
        assert_eq!(id.to_hex_trimmed(), "ab");
        assert_eq!(TraceId::default().to_hex_trimmed(), "0");
    }
}
