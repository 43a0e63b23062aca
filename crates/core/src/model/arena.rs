//! The arenas behind a [`super::TraceSet`]: interned strings and flat vectors of attributes,
//! values, bytes, resources, scopes, events and links, all addressed by index.
//!
//! Also [`OwnedValue`], a self-contained attribute value for building and reading values
//! without thinking about arenas (writers, tests, the server). Not here: spans and traces.

use super::strings::{Interner, StrId};
use super::types::{Event, KeyValue, Link, Range32, Resource, Scope, Value};
use serde::{Deserialize, Serialize};

/// A self-contained attribute value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum OwnedValue {
    Empty,
    Str(String),
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes(Vec<u8>),
    Array(Vec<OwnedValue>),
    KvList(Vec<(String, OwnedValue)>),
}

/// All the flat storage of one trace set.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Arena {
    pub strings: Interner,
    pub bytes: Vec<u8>,
    pub values: Vec<Value>,
    pub kvs: Vec<KeyValue>,
    pub resources: Vec<Resource>,
    pub scopes: Vec<Scope>,
    pub events: Vec<Event>,
    pub links: Vec<Link>,
}

fn range(start: usize, len: usize) -> Range32 {
    Range32 {
        start: start as u32,
        len: len as u32,
    }
}

impl Arena {
    /// Interns a string.
    pub fn intern(&mut self, s: &str) -> StrId {
        self.strings.intern(s)
    }

    /// The text of an interned string.
    pub fn str(&self, id: StrId) -> &str {
        self.strings.get(id)
    }

    /// Stores a list of attributes and returns its range.
    pub fn push_kvs(&mut self, kvs: &[KeyValue]) -> Range32 {
        let start = self.kvs.len();
        self.kvs.extend_from_slice(kvs);
        range(start, kvs.len())
    }

    /// Stores array elements and returns their range.
    pub fn push_values(&mut self, values: &[Value]) -> Range32 {
        let start = self.values.len();
        self.values.extend_from_slice(values);
        range(start, values.len())
    }

    /// Stores raw bytes and returns their range.
    pub fn push_bytes(&mut self, bytes: &[u8]) -> Range32 {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(bytes);
        range(start, bytes.len())
    }

    /// Stores events and returns their range.
    pub fn push_events(&mut self, events: &[Event]) -> Range32 {
        let start = self.events.len();
        self.events.extend_from_slice(events);
        range(start, events.len())
    }

    /// Stores links and returns their range.
    pub fn push_links(&mut self, links: &[Link]) -> Range32 {
        let start = self.links.len();
        self.links.extend_from_slice(links);
        range(start, links.len())
    }

    /// Adds a resource and returns its index.
    pub fn push_resource(&mut self, resource: Resource) -> u32 {
        self.resources.push(resource);
        (self.resources.len() - 1) as u32
    }

    /// Adds a scope and returns its index.
    pub fn push_scope(&mut self, scope: Scope) -> u32 {
        self.scopes.push(scope);
        (self.scopes.len() - 1) as u32
    }

    /// The attributes in a range (empty when out of bounds).
    pub fn kv_slice(&self, r: Range32) -> &[KeyValue] {
        self.kvs.get(r.as_range()).unwrap_or(&[])
    }

    /// The array elements in a range.
    pub fn value_slice(&self, r: Range32) -> &[Value] {
        self.values.get(r.as_range()).unwrap_or(&[])
    }

    /// The bytes in a range.
    pub fn byte_slice(&self, r: Range32) -> &[u8] {
        self.bytes.get(r.as_range()).unwrap_or(&[])
    }

    /// The events in a range.
    pub fn event_slice(&self, r: Range32) -> &[Event] {
        self.events.get(r.as_range()).unwrap_or(&[])
    }

    /// The links in a range.
    pub fn link_slice(&self, r: Range32) -> &[Link] {
        self.links.get(r.as_range()).unwrap_or(&[])
    }

    /// First attribute named `key` in a list.
    pub fn find_attr(&self, attrs: Range32, key: &str) -> Option<Value> {
        let key_id = self.strings.lookup(key)?;
        self.kv_slice(attrs)
            .iter()
            .find(|kv| kv.key == key_id)
            .map(|kv| kv.value)
    }

    /// Stores an owned value (recursively) and returns the arena value.
    pub fn store_value(&mut self, value: &OwnedValue) -> Value {
        match value {
            OwnedValue::Empty => Value::Empty,
            OwnedValue::Str(s) => Value::Str(self.intern(s)),
            OwnedValue::Bool(b) => Value::Bool(*b),
            OwnedValue::Int(i) => Value::Int(*i),
            OwnedValue::Double(d) => Value::Double(*d),
            OwnedValue::Bytes(b) => Value::Bytes(self.push_bytes(b)),
            OwnedValue::Array(items) => {
                let stored: Vec<Value> = items.iter().map(|v| self.store_value(v)).collect();
                Value::Array(self.push_values(&stored))
            }
            OwnedValue::KvList(items) => {
                let stored: Vec<KeyValue> = items
                    .iter()
                    .map(|(k, v)| KeyValue {
                        key: self.intern(k),
                        value: self.store_value(v),
                    })
                    .collect();
                Value::KvList(self.push_kvs(&stored))
            }
        }
    }

    /// Stores `(key, value)` pairs as an attribute list.
    pub fn store_attrs(&mut self, attrs: &[(String, OwnedValue)]) -> Range32 {
        let stored: Vec<KeyValue> = attrs
            .iter()
            .map(|(k, v)| KeyValue {
                key: self.intern(k),
                value: self.store_value(v),
            })
            .collect();
        self.push_kvs(&stored)
    }

    /// Reads an arena value back as an owned value.
    pub fn load_value(&self, value: Value) -> OwnedValue {
        self.load_value_depth(value, 0)
    }

    fn load_value_depth(&self, value: Value, depth: u32) -> OwnedValue {
        // Values are built bottom-up so they cannot loop, but a deserialized set could be
        // hostile: cap the depth.
        if depth > 64 {
            return OwnedValue::Empty;
        }
        match value {
            Value::Empty => OwnedValue::Empty,
            Value::Str(s) => OwnedValue::Str(self.str(s).to_string()),
            Value::Bool(b) => OwnedValue::Bool(b),
            Value::Int(i) => OwnedValue::Int(i),
            Value::Double(d) => OwnedValue::Double(d),
            Value::Bytes(r) => OwnedValue::Bytes(self.byte_slice(r).to_vec()),
            Value::Array(r) => OwnedValue::Array(
                self.value_slice(r)
                    .iter()
                    .map(|v| self.load_value_depth(*v, depth + 1))
                    .collect(),
            ),
            Value::KvList(r) => OwnedValue::KvList(
                self.kv_slice(r)
                    .iter()
                    .map(|kv| {
                        (
                            self.str(kv.key).to_string(),
                            self.load_value_depth(kv.value, depth + 1),
                        )
                    })
                    .collect(),
            ),
        }
    }

    /// Reads an attribute list back as owned pairs.
    pub fn load_attrs(&self, attrs: Range32) -> Vec<(String, OwnedValue)> {
        self.kv_slice(attrs)
            .iter()
            .map(|kv| (self.str(kv.key).to_string(), self.load_value(kv.value)))
            .collect()
    }

    /// A value as display text: strings as is, numbers and booleans in their usual spelling,
    /// bytes as base64, arrays and lists as JSON.
    pub fn value_text(&self, value: Value) -> String {
        match value {
            Value::Empty => String::new(),
            Value::Str(s) => self.str(s).to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Double(d) => format_double(d),
            Value::Bytes(r) => {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.encode(self.byte_slice(r))
            }
            Value::Array(_) | Value::KvList(_) => owned_to_json(&self.load_value(value)).to_string(),
        }
    }

    /// Approximate heap bytes held, for memory reports.
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.strings.heap_bytes()
            + self.bytes.capacity()
            + self.values.capacity() * size_of::<Value>()
            + self.kvs.capacity() * size_of::<KeyValue>()
            + self.resources.capacity() * size_of::<Resource>()
            + self.scopes.capacity() * size_of::<Scope>()
            + self.events.capacity() * size_of::<Event>()
            + self.links.capacity() * size_of::<Link>()
    }
}

/// Shortest decimal spelling of a double that reads back the same (`1` for 1.0).
pub fn format_double(d: f64) -> String {
    if d.is_finite() && d == d.trunc() && d.abs() < 1e15 {
        format!("{}", d as i64)
    } else {
        format!("{d}")
    }
}

/// A plain JSON rendering of an owned value (for display and JSON outputs, not OTLP).
pub fn owned_to_json(value: &OwnedValue) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        OwnedValue::Empty => J::Null,
        OwnedValue::Str(s) => J::String(s.clone()),
        OwnedValue::Bool(b) => J::Bool(*b),
        OwnedValue::Int(i) => J::from(*i),
        OwnedValue::Double(d) => serde_json::Number::from_f64(*d).map(J::Number).unwrap_or(J::Null),
        OwnedValue::Bytes(b) => {
            use base64::Engine;
            J::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        OwnedValue::Array(items) => J::Array(items.iter().map(owned_to_json).collect()),
        OwnedValue::KvList(items) => {
            J::Object(items.iter().map(|(k, v)| (k.clone(), owned_to_json(v))).collect())
        }
    }
}
