//! A minimal, allocation-free protobuf field reader: iterates the fields of one message as
//! (field number, value) with length-delimited values borrowed from the input.
//!
//! It only splits bytes into fields; it knows no schema and never allocates or panics on bad
//! input (truncation, over-long varints, bad wire types and zero field numbers are errors).
//! Groups (wire types 3 and 4, long deprecated) are reported as [`WalkError::Group`] so a
//! caller can hand such input to a full decoder instead.

/// Why bytes could not be walked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WalkError {
    #[error("truncated protobuf")]
    Truncated,
    #[error("invalid varint")]
    BadVarint,
    #[error("invalid field key")]
    BadKey,
    #[error("invalid wire type {0}")]
    BadWireType(u8),
    #[error("protobuf groups are not supported by the fast reader")]
    Group,
}

/// One field value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Bytes(&'a [u8]),
}

/// Iterates the fields of one message.
#[derive(Clone, Debug)]
pub struct Fields<'a> {
    buf: &'a [u8],
}

impl<'a> Fields<'a> {
    /// The fields of the message encoded in `buf`.
    pub fn new(buf: &'a [u8]) -> Fields<'a> {
        Fields { buf }
    }

    /// The next field, `Ok(None)` at the end.
    #[allow(clippy::should_implement_trait)]
    #[inline]
    pub fn next(&mut self) -> Result<Option<(u32, Value<'a>)>, WalkError> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let key = read_varint(&mut self.buf)?;
        let field = u32::try_from(key >> 3).map_err(|_| WalkError::BadKey)?;
        if field == 0 {
            return Err(WalkError::BadKey);
        }
        let value = match (key & 7) as u8 {
            0 => Value::Varint(read_varint(&mut self.buf)?),
            1 => {
                let (head, rest) = self.buf.split_first_chunk::<8>().ok_or(WalkError::Truncated)?;
                self.buf = rest;
                Value::Fixed64(u64::from_le_bytes(*head))
            }
            2 => {
                let len = usize::try_from(read_varint(&mut self.buf)?).map_err(|_| WalkError::Truncated)?;
                if len > self.buf.len() {
                    return Err(WalkError::Truncated);
                }
                let (head, rest) = self.buf.split_at(len);
                self.buf = rest;
                Value::Bytes(head)
            }
            3 | 4 => return Err(WalkError::Group),
            5 => {
                let (head, rest) = self.buf.split_first_chunk::<4>().ok_or(WalkError::Truncated)?;
                self.buf = rest;
                Value::Fixed32(u32::from_le_bytes(*head))
            }
            other => return Err(WalkError::BadWireType(other)),
        };
        Ok(Some((field, value)))
    }
}

/// Reads a base-128 varint as prost does (at most 10 bytes; the tenth may only be 0 or 1).
#[inline]
fn read_varint(buf: &mut &[u8]) -> Result<u64, WalkError> {
    // Keys, lengths and small numbers: one byte.
    if let Some((&byte, rest)) = buf.split_first() {
        if byte < 0x80 {
            *buf = rest;
            return Ok(u64::from(byte));
        }
    }
    read_varint_slow(buf)
}

fn read_varint_slow(buf: &mut &[u8]) -> Result<u64, WalkError> {
    let mut value = 0u64;
    for i in 0..10 {
        let Some((&byte, rest)) = buf.split_first() else {
            return Err(WalkError::Truncated);
        };
        *buf = rest;
        if i == 9 && byte > 1 {
            return Err(WalkError::BadVarint);
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Ok(value);
        }
    }
    Err(WalkError::BadVarint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use spanlens_core::formats::otlp_proto::wire;

    fn all(buf: &[u8]) -> Result<Vec<(u32, Value<'_>)>, WalkError> {
        let mut f = Fields::new(buf);
        let mut out = Vec::new();
        while let Some(x) = f.next()? {
            out.push(x);
        }
        Ok(out)
    }

    #[test]
    fn reads_every_wire_type() {
        let span = wire::Span {
            trace_id: vec![1; 16],
            name: "x".to_string(),
            kind: -1,
            start_time_unix_nano: u64::MAX,
            flags: 7,
            ..wire::Span::default()
        };
        let bytes = span.encode_to_vec();
        let fields = all(&bytes).unwrap();
        assert_eq!(fields[0], (1, Value::Bytes(&[1; 16])));
        assert_eq!(fields[1], (5, Value::Bytes(b"x")));
        assert_eq!(fields[2], (6, Value::Varint(u64::MAX)));
        assert_eq!(fields[3], (7, Value::Fixed64(u64::MAX)));
        assert_eq!(fields[4], (16, Value::Fixed32(7)));
    }

    #[test]
    fn bad_input_is_an_error_never_a_panic() {
        assert_eq!(all(&[0x0a, 0x05, 1, 2]), Err(WalkError::Truncated));
        assert_eq!(all(&[0x08]), Err(WalkError::Truncated));
        assert_eq!(all(&[0x09, 1, 2, 3]), Err(WalkError::Truncated));
        assert_eq!(all(&[0x0d, 1]), Err(WalkError::Truncated));
        assert_eq!(all(&[0x00, 1]), Err(WalkError::BadKey));
        assert_eq!(all(&[0x0e]), Err(WalkError::BadWireType(6)));
        assert_eq!(all(&[0x0b]), Err(WalkError::Group));
        assert_eq!(
            all(&[0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]),
            Err(WalkError::BadVarint)
        );
        assert_eq!(
            all(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
            Err(WalkError::Truncated)
        );
        // Every prefix and a range of garbage: errors or values, never a panic.
        let span = wire::Span {
            trace_id: vec![3; 16],
            span_id: vec![4; 8],
            name: "op".to_string(),
            attributes: vec![wire::KeyValue {
                key: "k".to_string(),
                value: None,
            }],
            ..wire::Span::default()
        };
        let bytes = span.encode_to_vec();
        for end in 0..bytes.len() {
            let _ = all(&bytes[..end]);
        }
        let mut seed = 0x1234_5678_u32;
        for _ in 0..2000 {
            let junk: Vec<u8> = (0..(seed % 40))
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    (seed >> 16) as u8
                })
                .collect();
            let _ = all(&junk);
        }
    }
}
