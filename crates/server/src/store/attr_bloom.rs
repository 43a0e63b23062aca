//! A per-trace Bloom filter of attribute (key, string value) pairs, stored in the trace's
//! summary row, so a search for `.k = "v"` can skip traces that certainly hold no such pair
//! without loading their spans.
//!
//! The ingest split puts into a trace's filter every span and resource attribute of the trace
//! whose value is a string (and every string element of an array value, at any nesting depth,
//! under the array's key), for keys of 1..=256 bytes and values of at most 256 bytes (the tag
//! index's limits); no scope is recorded, so one filter answers `span.`, `resource.` and
//! unscoped conditions (a superset of each). A filter may say "maybe" for an absent pair (a
//! false positive, about 1% at the design density) but never "no" for a present one.
//!
//! Format (a blob): one format byte ([`FORMAT`]), then the bit array, a power of two of
//! [`MIN_BYTES`]..=[`MAX_BYTES`] bytes sized at about [`BITS_PER_PAIR`] bits per distinct pair.
//! A pair sets [`HASHES`] bits chosen by double hashing one 64-bit [`pair_hash`] (a hash of our
//! own: deterministic across runs, versions and platforms, as stored filters require). Because
//! sizes are powers of two and positions are taken modulo the size, a filter can be tiled to a
//! larger size, which is how filters of one trace's requests merge ([`merge`]).
//!
//! Not here: choosing which attributes go in (the split does), SQL, or deciding what a query
//! needs (the search does). A missing or unreadable blob means "unknown": callers must let
//! such a row pass.

/// The format byte of the current layout (hash function, [`HASHES`], bit positions).
pub const FORMAT: u8 = 1;
/// Bits set per pair.
pub const HASHES: u64 = 5;
/// Design density: with [`HASHES`] = 5, about 1% false positives at 10 bits per pair.
pub const BITS_PER_PAIR: usize = 10;
/// Smallest bit array, in bytes.
pub const MIN_BYTES: usize = 32;
/// Largest bit array, in bytes: huge traces accept a higher false-positive rate.
pub const MAX_BYTES: usize = 8192;

const MUL_A: u64 = 0x9E37_79B9_7F4A_7C15;
const MUL_B: u64 = 0xC2B2_AE3D_27D4_EB4F;
const SEED: u64 = 0x5350_414E_4C45_4E53;

/// Up to 8 bytes as a little-endian word, zero-padded.
fn word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    for (d, s) in w.iter_mut().zip(bytes) {
        *d = *s;
    }
    u64::from_le_bytes(w)
}

fn absorb(state: u64, w: u64) -> u64 {
    (state ^ w).wrapping_mul(MUL_A).rotate_left(29)
}

/// Absorbs `bytes`, then their length (so the boundary between two fields is part of the
/// hash: ("ab", "c") and ("a", "bc") differ).
fn absorb_field(mut state: u64, bytes: &[u8]) -> u64 {
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        state = absorb(state, word(w));
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        state = absorb(state, word(rest));
    }
    absorb(state, (bytes.len() as u64) ^ MUL_B)
}

fn avalanche(mut x: u64) -> u64 {
    x ^= x >> 31;
    x = x.wrapping_mul(MUL_B);
    x ^= x >> 29;
    x = x.wrapping_mul(MUL_A);
    x ^ (x >> 32)
}

/// The 64-bit hash of one (key, value) pair.
pub fn pair_hash(key: &str, value: &str) -> u64 {
    let state = absorb_field(SEED, key.as_bytes());
    avalanche(absorb_field(state, value.as_bytes()))
}

/// The bit positions of a pair in a filter of `bits` bits (a power of two).
fn positions(hash: u64, bits: u64) -> impl Iterator<Item = u64> {
    let step = hash.rotate_left(32) | 1;
    let mask = bits.wrapping_sub(1);
    (0..HASHES).map(move |i| hash.wrapping_add(i.wrapping_mul(step)) & mask)
}

/// Bytes of the bit array for `pairs` distinct pairs.
fn size_for(pairs: usize) -> usize {
    (pairs.saturating_mul(BITS_PER_PAIR) / 8)
        .checked_next_power_of_two()
        .unwrap_or(MAX_BYTES)
        .clamp(MIN_BYTES, MAX_BYTES)
}

/// A filter holding the given pair hashes (pass each distinct pair once: the count sizes it).
pub fn build(hashes: &[u64]) -> Vec<u8> {
    let len = size_for(hashes.len());
    let mut out = vec![0u8; 1 + len];
    if let Some(f) = out.first_mut() {
        *f = FORMAT;
    }
    if let Some(bits) = out.get_mut(1..) {
        let n = (len as u64) * 8;
        for h in hashes {
            for p in positions(*h, n) {
                if let Some(byte) = bits.get_mut((p >> 3) as usize) {
                    *byte |= 1 << (p & 7);
                }
            }
        }
    }
    out
}

/// A readable filter blob.
#[derive(Clone, Copy, Debug)]
pub struct Filter<'a> {
    bits: &'a [u8],
}

impl<'a> Filter<'a> {
    /// The filter in `blob`, or `None` when the blob is empty or not in the current format
    /// (then nothing is known: the row must pass).
    pub fn parse(blob: &'a [u8]) -> Option<Filter<'a>> {
        let (&format, bits) = blob.split_first()?;
        let ok = format == FORMAT && bits.len().is_power_of_two() && bits.len() <= MAX_BYTES;
        ok.then_some(Filter { bits })
    }

    /// False only when the pair is certainly not in the filter.
    pub fn may_contain(&self, hash: u64) -> bool {
        let n = (self.bits.len() as u64) * 8;
        positions(hash, n).all(|p| {
            self.bits
                .get((p >> 3) as usize)
                .is_some_and(|byte| byte & (1 << (p & 7)) != 0)
        })
    }
}

/// The filter of a trace whose rows had filters `a` and `b`: the smaller is tiled to the larger
/// size and the two are OR-ed. `None` (unknown) when either is missing or unreadable: a row
/// written before filters existed must stay unknown after more spans arrive.
pub fn merge(a: Option<&[u8]>, b: Option<&[u8]>) -> Option<Vec<u8>> {
    let a = Filter::parse(a?)?;
    let b = Filter::parse(b?)?;
    let (large, small) = if a.bits.len() >= b.bits.len() {
        (a, b)
    } else {
        (b, a)
    };
    let mut out = Vec::with_capacity(1 + large.bits.len());
    out.push(FORMAT);
    let tiled = small.bits.iter().cycle();
    out.extend(large.bits.iter().zip(tiled).map(|(x, y)| x | y));
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// Deterministic pairs: (key i mod 37, value i).
    fn pair(i: u64) -> (String, String) {
        (format!("key.{}", i % 37), format!("value-{i}"))
    }

    fn hashes(range: std::ops::Range<u64>) -> Vec<u64> {
        range
            .map(|i| {
                let (k, v) = pair(i);
                pair_hash(&k, &v)
            })
            .collect()
    }

    fn false_positive_rate(filter: &Filter<'_>, probes: std::ops::Range<u64>) -> f64 {
        let n = probes.end - probes.start;
        let hits = hashes(probes).iter().filter(|h| filter.may_contain(**h)).count();
        hits as f64 / n as f64
    }

    #[test]
    fn hash_is_pinned_and_separates_fields() {
        // Stored filters depend on these values: changing the hash needs a new FORMAT.
        assert_eq!(pair_hash("http.route", "/a"), pair_hash("http.route", "/a"));
        assert_ne!(pair_hash("ab", "c"), pair_hash("a", "bc"));
        assert_ne!(pair_hash("k", ""), pair_hash("", "k"));
        assert_ne!(pair_hash("k", "v"), pair_hash("k", "v\0"));
        assert_eq!(pair_hash("k", "v"), PINNED_K_V);
    }

    const PINNED_K_V: u64 = 0xB8E4_9B94_84CE_9C9E;

    #[test]
    fn no_false_negatives_and_about_the_design_rate() {
        for n in [0u64, 1, 5, 30, 200, 1_000, 6_000] {
            let members = hashes(0..n);
            let blob = build(&members);
            let filter = Filter::parse(&blob).unwrap();
            assert!(members.iter().all(|h| filter.may_contain(*h)), "n={n}");
            let rate = false_positive_rate(&filter, 1_000_000..1_100_000);
            // 10..20 bits per pair with 5 hashes: at most about 1%.
            assert!(rate < 0.015, "n={n}: {rate}");
        }
        let empty = build(&[]);
        let filter = Filter::parse(&empty).unwrap();
        assert_eq!(empty.len(), 1 + MIN_BYTES);
        assert_eq!(false_positive_rate(&filter, 0..10_000), 0.0);
    }

    #[test]
    fn huge_traces_are_capped_without_false_negatives() {
        let members = hashes(0..20_000);
        let blob = build(&members);
        assert_eq!(blob.len(), 1 + MAX_BYTES);
        let filter = Filter::parse(&blob).unwrap();
        assert!(members.iter().all(|h| filter.may_contain(*h)));
        // 3.3 bits per pair: still prunes most rows.
        assert!(false_positive_rate(&filter, 1_000_000..1_020_000) < 0.5);
    }

    #[test]
    fn merging_keeps_every_pair_of_both_sides() {
        for (na, nb) in [(3u64, 3u64), (2, 900), (700, 10), (5_000, 40)] {
            let a = hashes(0..na);
            let b = hashes(10_000..10_000 + nb);
            let (fa, fb) = (build(&a), build(&b));
            let merged = merge(Some(fa.as_slice()), Some(fb.as_slice())).unwrap();
            assert_eq!(merged.len(), fa.len().max(fb.len()));
            assert_eq!(merge(Some(fb.as_slice()), Some(fa.as_slice())).unwrap(), merged);
            let filter = Filter::parse(&merged).unwrap();
            assert!(a.iter().chain(&b).all(|h| filter.may_contain(*h)), "{na}+{nb}");
        }
        let f = build(&hashes(0..3));
        let f = Some(f.as_slice());
        assert_eq!(merge(None, f), None);
        assert_eq!(merge(f, None), None);
        assert_eq!(merge(Some(&[][..]), f), None);
    }

    #[test]
    fn unreadable_blobs_are_unknown() {
        assert!(Filter::parse(&[]).is_none());
        assert!(Filter::parse(&[FORMAT]).is_none());
        assert!(Filter::parse(&[FORMAT, 0, 0, 0]).is_none());
        assert!(Filter::parse(&[FORMAT + 1, 0, 0, 0, 0]).is_none());
        assert!(Filter::parse(&vec![FORMAT; 1 + 2 * MAX_BYTES]).is_none());
        assert!(Filter::parse(&[FORMAT, 0, 0, 0, 0]).is_some());
    }
}
