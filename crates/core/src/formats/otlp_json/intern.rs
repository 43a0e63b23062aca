//! The intern cache of the OTLP readers (JSON and protobuf): small direct-mapped tables in
//! front of the arena's interner, so the strings that repeat through a trace file (attribute
//! keys, low-cardinality values) skip the interner's hashing and probing. A cache only ever
//! returns an id the interner gave for the same text. Not here: the interner itself
//! (`model::strings`).

use crate::model::{Arena, StrId};

/// A direct-mapped cache in front of the interner: repeated keys and values (the bulk of a
/// trace file) skip the interner's hashing. A slot keeps four overlapping 8-byte windows of
/// its string, which cover any string of up to 32 bytes: a hit on such a string is decided by
/// four word compares, touching no other memory. Shared with the protobuf reader.
pub(crate) struct InternCache {
    slots: Vec<Slot>,
    /// A small separate table for attribute keys (few and hot: it stays in L1).
    key_slots: Vec<Slot>,
    /// Per-key value slots: `VALUE_WAYS` for each attribute key (by id).
    value_slots: Vec<Slot>,
}

/// One cache slot: the id, the length and the windows of a string.
#[derive(Clone, Copy, Default)]
struct Slot {
    id: StrId,
    len: u32,
    words: [u64; 4],
}

/// The 8 bytes of `b` at `at`, or 0 when out of range.
#[inline]
fn word_at(b: &[u8], at: usize) -> u64 {
    match b.get(at..at + 8).map(<[u8; 8]>::try_from) {
        Some(Ok(w)) => u64::from_le_bytes(w),
        _ => 0,
    }
}

/// Windows at 0, 8, 16 and the last 8 bytes (clamped into the string): for strings of one
/// length up to 32 bytes, equal windows mean equal strings. Shorter than 8: the bytes, padded.
#[inline]
fn windows(b: &[u8]) -> [u64; 4] {
    let n = b.len();
    if n < 8 {
        let mut w = [0u8; 8];
        if let Some(head) = w.get_mut(..n) {
            head.copy_from_slice(b);
        }
        return [u64::from_le_bytes(w), 0, 0, 0];
    }
    let last = n - 8;
    [
        word_at(b, 0),
        word_at(b, last.min(8)),
        word_at(b, last.min(16)),
        word_at(b, last),
    ]
}

impl InternCache {
    /// A cache of moderate size, for readers that do not know their input's size.
    pub(crate) fn new() -> Self {
        Self::for_input(32 << 20)
    }

    /// A cache sized for an input of `bytes` bytes: small inputs get small tables (they are
    /// allocated and zeroed per read), large ones up to the maximum.
    pub(crate) fn for_input(bytes: usize) -> Self {
        // About one shared slot per 4 KiB of input, within bounds; all powers of two.
        let slots = (bytes / 4096)
            .clamp(MIN_CACHE_SLOTS, INTERN_CACHE_SLOTS)
            .next_power_of_two();
        let value_keys = (slots / 128).clamp(16, VALUE_KEYS).next_power_of_two();
        // Keys are few, but two sharing a slot evict each other at every span: keep the key
        // table sparse.
        let key_slots = (slots / 8).clamp(256, KEY_CACHE_SLOTS).next_power_of_two();
        InternCache {
            slots: vec![Slot::default(); slots],
            key_slots: vec![Slot::default(); key_slots],
            value_slots: vec![Slot::default(); value_keys * VALUE_WAYS],
        }
    }

    /// Interns `s` into `arena`, through the cache.
    #[inline]
    pub(crate) fn intern(&mut self, arena: &mut Arena, s: &str) -> StrId {
        Self::intern_in(&mut self.slots, arena, s)
    }

    /// Interns an attribute key, through the small key cache.
    #[inline]
    pub(crate) fn intern_key(&mut self, arena: &mut Arena, s: &str) -> StrId {
        Self::intern_in(&mut self.key_slots, arena, s)
    }

    /// Interns an attribute key and its string value (in that order). The value goes first
    /// through a few slots kept for its key (the values of one key are few and repeat, and
    /// its slots stay in the CPU cache), then through the shared cache. The key's slots are
    /// found by the hash of its text, not by its id, so both lookups can proceed at once.
    #[inline]
    pub(crate) fn intern_attr(&mut self, arena: &mut Arena, key: &str, value: &str) -> (StrId, StrId) {
        let (kb, vb) = (key.as_bytes(), value.as_bytes());
        let (kw, vw) = (windows(kb), windows(vb));
        let (kh, vh) = (hash(&kw, kb.len()), hash(&vw, vb.len()));
        let key_id = if kb.is_empty() {
            StrId::EMPTY
        } else {
            Self::intern_hashed(&mut self.key_slots, arena, key, &kw, kh).0
        };
        if vb.is_empty() {
            return (key_id, StrId::EMPTY);
        }
        let value_keys = self.value_slots.len() / VALUE_WAYS;
        let base = ((kh >> 48) as usize & value_keys.saturating_sub(1)) * VALUE_WAYS;
        let index = base + ((vh >> 40) as usize & (VALUE_WAYS - 1));
        if let Some(slot) = self.value_slots.get(index) {
            if slot.hit(vb, &vw, arena, value) {
                return (key_id, slot.id);
            }
        }
        let (id, new) = Self::intern_hashed(&mut self.slots, arena, value, &vw, vh);
        if !new {
            if let Some(slot) = self.value_slots.get_mut(index) {
                *slot = Slot {
                    id,
                    len: vb.len() as u32,
                    words: vw,
                };
            }
        }
        (key_id, id)
    }

    /// Interns through `slots` (a power-of-two number of them).
    #[inline]
    fn intern_in(slots: &mut [Slot], arena: &mut Arena, s: &str) -> StrId {
        let bytes = s.as_bytes();
        if bytes.is_empty() {
            return StrId::EMPTY;
        }
        let words = windows(bytes);
        let h = hash(&words, bytes.len());
        Self::intern_hashed(slots, arena, s, &words, h).0
    }

    /// Interns a non-empty `s` whose windows and hash are known, through `slots`; also says
    /// whether the string is new to the interner. A new string is not cached: most strings
    /// seen once are ids that never repeat, and would only evict ones that do. A string is
    /// cached the second time it is seen.
    #[inline]
    fn intern_hashed(
        slots: &mut [Slot],
        arena: &mut Arena,
        s: &str,
        words: &[u64; 4],
        h: u64,
    ) -> (StrId, bool) {
        let index = (h as usize) & (slots.len().saturating_sub(1));
        if let Some(slot) = slots.get(index) {
            if slot.hit(s.as_bytes(), words, arena, s) {
                return (slot.id, false);
            }
        }
        let before = arena.strings.len();
        let id = arena.intern(s);
        let new = arena.strings.len() != before;
        if !new {
            if let Some(slot) = slots.get_mut(index) {
                *slot = Slot {
                    id,
                    len: s.len() as u32,
                    words: *words,
                };
            }
        }
        (id, new)
    }
}

impl Slot {
    /// True when the slot holds `s` (given its bytes and windows).
    #[inline]
    fn hit(&self, bytes: &[u8], words: &[u64; 4], arena: &Arena, s: &str) -> bool {
        self.len as usize == bytes.len()
            && self.words == *words
            && !self.id.is_empty()
            && (bytes.len() <= 32 || arena.str(self.id) == s)
    }
}

/// The slot hash of a string from its windows and length.
#[inline]
fn hash(words: &[u64; 4], len: usize) -> u64 {
    let mut h = words[0] ^ words[3].rotate_left(29) ^ (len as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    h = (h ^ (h >> 31)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^ (h >> 29)
}

/// Most slots of the shared cache (a power of two).
const INTERN_CACHE_SLOTS: usize = 32768;
/// Fewest slots of the shared cache (a power of two).
const MIN_CACHE_SLOTS: usize = 1024;
/// Most slots of the attribute key cache (a power of two).
const KEY_CACHE_SLOTS: usize = 4096;
/// Most attribute keys with their own value slots (a power of two; keys share slots by hash).
const VALUE_KEYS: usize = 256;
/// Value slots per key (a power of two).
const VALUE_WAYS: usize = 64;
