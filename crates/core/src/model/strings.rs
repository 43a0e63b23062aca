//! String interning: every name, key and string value of a [`super::TraceSet`] is stored once in
//! one growing buffer and referred to by a 4-byte [`StrId`].
//!
//! Id 0 is always the empty string, so "absent" text costs nothing. Not here: any notion of what
//! the strings mean.

use hashbrown::HashTable;
use serde::{Deserialize, Serialize};

/// An interned string. `StrId::EMPTY` is the empty string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct StrId(pub u32);

impl StrId {
    /// The empty string.
    pub const EMPTY: StrId = StrId(0);

    /// True for the empty string.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// The table's hash: deterministic across runs and platforms (wasm and native), eight bytes at
/// a time (multiply-rotate per word, then a final avalanche so hashbrown's top-7-bit control
/// bytes are well spread).
fn hash_str(s: &str) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let bytes = s.as_bytes();
    let mut h = 0xcbf2_9ce4_8422_2325 ^ (bytes.len() as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        if let Some(dst) = w.get_mut(..rest.len()) {
            dst.copy_from_slice(rest);
        }
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(29);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h
}

/// The interner: one text buffer, one (offset, length) per id, and a hash table of ids.
#[derive(Clone, Serialize, Deserialize)]
pub struct Interner {
    text: String,
    spans: Vec<(u32, u32)>,
    #[serde(skip)]
    table: HashTable<u32>,
}

impl Default for Interner {
    fn default() -> Self {
        let mut interner = Interner {
            text: String::new(),
            spans: Vec::new(),
            table: HashTable::new(),
        };
        interner.spans.push((0, 0));
        interner
    }
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interner")
            .field("strings", &self.spans.len())
            .field("bytes", &self.text.len())
            .finish()
    }
}

impl Interner {
    /// Returns the id of `s`, adding it when new.
    pub fn intern(&mut self, s: &str) -> StrId {
        if s.is_empty() {
            return StrId::EMPTY;
        }
        if self.table.len() + 1 < self.spans.len() {
            // Deserialized without its table: rebuild once.
            self.rebuild_table();
        }
        let hash = hash_str(s);
        let text = &self.text;
        let spans = &self.spans;
        let found = self.table.find(hash, |&id| {
            let (off, len) = spans.get(id as usize).copied().unwrap_or((0, 0));
            len as usize == s.len()
                && text.as_bytes().get(off as usize..(off + len) as usize) == Some(s.as_bytes())
        });
        if let Some(&id) = found {
            return StrId(id);
        }
        let id = self.spans.len() as u32;
        let off = self.text.len() as u32;
        self.text.push_str(s);
        self.spans.push((off, s.len() as u32));
        let spans = &self.spans;
        let text = &self.text;
        self.table.insert_unique(hash, id, |&other| {
            let (o, l) = spans.get(other as usize).copied().unwrap_or((0, 0));
            hash_str(text.get(o as usize..(o + l) as usize).unwrap_or(""))
        });
        StrId(id)
    }

    /// Looks up `s` without adding it.
    pub fn lookup(&self, s: &str) -> Option<StrId> {
        if s.is_empty() {
            return Some(StrId::EMPTY);
        }
        if self.table.len() + 1 < self.spans.len() {
            // Table missing after deserialization: linear scan (rare path).
            return (1..self.spans.len())
                .map(|i| StrId(i as u32))
                .find(|&id| self.get(id) == s);
        }
        let hash = hash_str(s);
        self.table
            .find(hash, |&id| self.get(StrId(id)) == s)
            .map(|&id| StrId(id))
    }

    fn rebuild_table(&mut self) {
        let mut table = HashTable::with_capacity(self.spans.len());
        for id in 1..self.spans.len() as u32 {
            let s = self.get(StrId(id));
            let hash = hash_str(s);
            let spans = &self.spans;
            let text = &self.text;
            table.insert_unique(hash, id, |&other| {
                let (o, l) = spans.get(other as usize).copied().unwrap_or((0, 0));
                hash_str(text.get(o as usize..(o + l) as usize).unwrap_or(""))
            });
        }
        self.table = table;
    }

    /// The text of an id; an unknown id reads as "".
    pub fn get(&self, id: StrId) -> &str {
        match self.spans.get(id.0 as usize) {
            Some(&(off, len)) => self.text.get(off as usize..(off + len) as usize).unwrap_or(""),
            None => "",
        }
    }

    /// Number of distinct strings (including the empty string).
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when only the empty string is present.
    pub fn is_empty(&self) -> bool {
        self.spans.len() <= 1
    }

    /// Bytes held (text plus index), for memory reports.
    pub fn heap_bytes(&self) -> usize {
        self.text.capacity() + self.spans.capacity() * 8 + self.table.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_once() {
        let mut i = Interner::default();
        let a = i.intern("http.method");
        let b = i.intern("http.method");
        let c = i.intern("GET");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(i.get(a), "http.method");
        assert_eq!(i.intern(""), StrId::EMPTY);
        assert_eq!(i.lookup("GET"), Some(c));
        assert_eq!(i.lookup("POST"), None);
    }

    #[test]
    fn survives_serde_round_trip() {
        let mut i = Interner::default();
        let a = i.intern("alpha");
        let json = serde_json::to_string(&i).unwrap();
        let mut back: Interner = serde_json::from_str(&json).unwrap();
        assert_eq!(back.lookup("alpha"), Some(a));
        assert_eq!(back.intern("alpha"), a);
        let b = back.intern("beta");
        assert_eq!(back.get(b), "beta");
    }
}
