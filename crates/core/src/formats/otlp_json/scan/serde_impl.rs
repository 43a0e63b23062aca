//! Test-only: the scanner as a serde `Deserializer`, so its tests can read any JSON into a
//! `serde_json::Value` with it and compare value for value with `serde_json`. The reader never
//! uses serde on the scanner.

use super::{Error, Num, Scanner};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error {
            msg: msg.to_string(),
            pos: None,
        }
    }
}

impl<'de> Scanner<'de> {
    /// Scans a string and hands it to `visitor` (borrowed when it has no escapes).
    fn visit_string<V: Visitor<'de>>(&self, visitor: V) -> Result<V::Value, Error> {
        match self.scan_str()? {
            Cow::Borrowed(s) => visitor.visit_borrowed_str(s),
            Cow::Owned(s) => visitor.visit_string(s),
        }
    }
}

/// The entries of an object being visited.
struct MapAcc<'a, 'de> {
    de: &'a Scanner<'de>,
    first: bool,
    done: bool,
}

impl<'de> MapAccess<'de> for MapAcc<'_, 'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        if self.done {
            return Ok(None);
        }
        let de = self.de;
        match de.peek_ws() {
            Some(b'}') => {
                de.pos.set(de.pos.get() + 1);
                self.done = true;
                return Ok(None);
            }
            Some(b',') if !self.first => {
                de.pos.set(de.pos.get() + 1);
                if de.peek_ws() != Some(b'"') {
                    return Err(de.key_error());
                }
            }
            Some(b'"') if self.first => {}
            None => return Err(de.err("EOF while parsing an object")),
            Some(_) if self.first => return Err(de.err("key must be a string")),
            Some(_) => return Err(de.err("expected `,` or `}`")),
        }
        self.first = false;
        seed.deserialize(de).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        self.de.colon()?;
        seed.deserialize(self.de)
    }
}

/// The elements of an array being visited.
struct SeqAcc<'a, 'de> {
    de: &'a Scanner<'de>,
    first: bool,
    done: bool,
}

impl<'de> SeqAccess<'de> for SeqAcc<'_, 'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        if self.done {
            return Ok(None);
        }
        let de = self.de;
        match de.peek_ws() {
            Some(b']') => {
                de.pos.set(de.pos.get() + 1);
                self.done = true;
                return Ok(None);
            }
            Some(b',') if !self.first => {
                de.pos.set(de.pos.get() + 1);
                if de.peek_ws() == Some(b']') {
                    return Err(de.err("trailing comma"));
                }
            }
            None => return Err(de.err("EOF while parsing a list")),
            Some(_) if self.first => {}
            Some(_) => return Err(de.err("expected `,` or `]`")),
        }
        self.first = false;
        seed.deserialize(de).map(Some)
    }
}

impl<'de> Deserializer<'de> for &Scanner<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.peek_ws() {
            None => Err(self.err("EOF while parsing a value")),
            Some(b'"') => self.visit_string(visitor),
            Some(b'{') => {
                self.enter()?;
                self.pos.set(self.pos.get() + 1);
                let mut acc = MapAcc {
                    de: self,
                    first: true,
                    done: false,
                };
                let v = visitor.visit_map(&mut acc)?;
                if !acc.done {
                    // The visitor stopped early: the rest must still be valid JSON.
                    while acc.next_key::<de::IgnoredAny>()?.is_some() {
                        acc.next_value::<de::IgnoredAny>()?;
                    }
                }
                self.leave();
                Ok(v)
            }
            Some(b'[') => {
                self.enter()?;
                self.pos.set(self.pos.get() + 1);
                let mut acc = SeqAcc {
                    de: self,
                    first: true,
                    done: false,
                };
                let v = visitor.visit_seq(&mut acc)?;
                if !acc.done {
                    while acc.next_element::<de::IgnoredAny>()?.is_some() {}
                }
                self.leave();
                Ok(v)
            }
            Some(b't') => {
                self.literal(b"true")?;
                visitor.visit_bool(true)
            }
            Some(b'f') => {
                self.literal(b"false")?;
                visitor.visit_bool(false)
            }
            Some(b'n') => {
                self.literal(b"null")?;
                visitor.visit_unit()
            }
            Some(b'-' | b'0'..=b'9') => match self.scan_num()? {
                Num::U64(v) => visitor.visit_u64(v),
                Num::I64(v) => visitor.visit_i64(v),
                Num::F64(v) => visitor.visit_f64(v),
            },
            Some(_) => Err(self.err("expected value")),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.skip_value()?;
        visitor.visit_unit()
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.peek_ws() == Some(b'n') {
            self.literal(b"null")?;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.peek_ws() == Some(b'"') {
            match self.scan_str()? {
                Cow::Borrowed(s) => visitor.visit_borrowed_bytes(s.as_bytes()),
                Cow::Owned(s) => visitor.visit_byte_buf(s.into_bytes()),
            }
        } else {
            self.deserialize_any(visitor)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let _ = name;
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        byte_buf unit unit_struct seq tuple
        tuple_struct map struct enum identifier
    }
}
