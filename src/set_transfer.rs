//! The assembled set's transfer format between the load worker and the page, built so the page
//! can decode it in small slices between frames instead of in one long task.
//!
//! The bytes are a list of frames, each `[kind: u8][length: u32 LE][postcard payload]`: first
//! one `HEAD` frame (the set with its big vectors taken out), then the big vectors (spans,
//! attribute values, key-values, events, links, traces) in pieces of at most [`PIECE`]
//! elements, in any order. [`Decoder::step`] decodes one frame; [`decode_all`] all of them (the
//! analysis worker, which has no page to keep responsive).
//!
//! Not here: scheduling the slices (see `worker::mod`), or any change to the set.

use serde::de::DeserializeOwned;
use serde::Serialize;
use spanlens_core::diagnostics::Diagnostics;
use spanlens_core::model::{Arena, Span, Trace, TraceSet};

/// Elements per piece: a piece decodes in a few milliseconds in wasm.
pub const PIECE: usize = 8192;

const HEAD: u8 = 0;
const SPANS: u8 = 1;
const VALUES: u8 = 2;
const KVS: u8 = 3;
const EVENTS: u8 = 4;
const LINKS: u8 = 5;
const TRACES: u8 = 6;

fn push_frame(out: &mut Vec<u8>, kind: u8, value: &impl Serialize) -> Result<(), String> {
    let payload = postcard::to_allocvec(value).map_err(|e| e.to_string())?;
    let len = u32::try_from(payload.len()).map_err(|_| "a piece of the set is over 4 GiB".to_string())?;
    out.push(kind);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(())
}

fn push_pieces<T: Serialize>(out: &mut Vec<u8>, kind: u8, items: &[T]) -> Result<(), String> {
    for piece in items.chunks(PIECE) {
        push_frame(out, kind, &piece)?;
    }
    Ok(())
}

/// Encodes an assembled set.
pub fn encode(set: TraceSet) -> Result<Vec<u8>, String> {
    let (mut arena, spans, traces, diagnostics) = set.into_parts();
    let values = std::mem::take(&mut arena.values);
    let kvs = std::mem::take(&mut arena.kvs);
    let events = std::mem::take(&mut arena.events);
    let links = std::mem::take(&mut arena.links);
    let head = TraceSet::from_assembled_parts(arena, Vec::new(), Vec::new(), diagnostics);
    let mut out = Vec::new();
    push_frame(&mut out, HEAD, &head)?;
    push_pieces(&mut out, SPANS, &spans)?;
    push_pieces(&mut out, VALUES, &values)?;
    push_pieces(&mut out, KVS, &kvs)?;
    push_pieces(&mut out, EVENTS, &events)?;
    push_pieces(&mut out, LINKS, &links)?;
    push_pieces(&mut out, TRACES, &traces)?;
    Ok(out)
}

/// Decodes the frames one at a time.
pub struct Decoder {
    bytes: Vec<u8>,
    at: usize,
    arena: Option<Arena>,
    diagnostics: Diagnostics,
    spans: Vec<Span>,
    traces: Vec<Trace>,
}

fn extend<T: DeserializeOwned>(into: &mut Vec<T>, payload: &[u8]) -> Result<(), String> {
    let piece: Vec<T> = postcard::from_bytes(payload).map_err(|e| e.to_string())?;
    into.extend(piece);
    Ok(())
}

impl Decoder {
    /// A decoder over the encoded bytes.
    pub fn new(bytes: Vec<u8>) -> Decoder {
        Decoder {
            bytes,
            at: 0,
            arena: None,
            diagnostics: Diagnostics::default(),
            spans: Vec::new(),
            traces: Vec::new(),
        }
    }

    /// True once every frame is decoded.
    pub fn is_done(&self) -> bool {
        self.at >= self.bytes.len()
    }

    /// Spans decoded so far (for progress).
    pub fn spans_decoded(&self) -> usize {
        self.spans.len()
    }

    /// Decodes the next frame.
    pub fn step(&mut self) -> Result<(), String> {
        let header = self
            .bytes
            .get(self.at..self.at + 5)
            .ok_or("the set's bytes end inside a frame header")?;
        let kind = header[0];
        let len = u32::from_le_bytes([header[1], header[2], header[3], header[4]]) as usize;
        let start = self.at + 5;
        let payload = self
            .bytes
            .get(start..start + len)
            .ok_or("the set's bytes end inside a frame")?;
        if kind != HEAD && self.arena.is_none() {
            return Err("the set's bytes do not start with its head".into());
        }
        match (kind, self.arena.as_mut()) {
            (HEAD, _) => {
                let head: TraceSet = postcard::from_bytes(payload).map_err(|e| e.to_string())?;
                let (arena, _, _, diagnostics) = head.into_parts();
                self.arena = Some(arena);
                self.diagnostics = diagnostics;
            }
            (SPANS, _) => extend(&mut self.spans, payload)?,
            (TRACES, _) => extend(&mut self.traces, payload)?,
            (VALUES, Some(a)) => extend(&mut a.values, payload)?,
            (KVS, Some(a)) => extend(&mut a.kvs, payload)?,
            (EVENTS, Some(a)) => extend(&mut a.events, payload)?,
            (LINKS, Some(a)) => extend(&mut a.links, payload)?,
            (other, _) => return Err(format!("unknown frame kind {other} in the set's bytes")),
        }
        self.at = start + len;
        Ok(())
    }

    /// The decoded set (call once [`Decoder::is_done`]).
    pub fn finish(self) -> Result<TraceSet, String> {
        let arena = self.arena.ok_or("the set's bytes are empty")?;
        Ok(TraceSet::from_assembled_parts(
            arena,
            self.spans,
            self.traces,
            self.diagnostics,
        ))
    }
}

/// Decodes every frame at once.
pub fn decode_all(bytes: Vec<u8>) -> Result<TraceSet, String> {
    let mut decoder = Decoder::new(bytes);
    while !decoder.is_done() {
        decoder.step()?;
    }
    decoder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use spanlens_core::synth::{generate, SynthOptions};

    #[test]
    fn round_trip_keeps_the_set() {
        let set = generate(&SynthOptions::for_total_spans(30_000, 7, 3));
        let before = postcard::to_allocvec(&set).unwrap();
        let bytes = encode(set.clone()).unwrap();
        let back = decode_all(bytes).unwrap();
        assert_eq!(postcard::to_allocvec(&back).unwrap(), before);
        assert!(back.span_count() > PIECE * 2, "the set spans several pieces");
    }

    #[test]
    fn damaged_bytes_give_an_error() {
        let set = generate(&SynthOptions::for_total_spans(2_000, 3, 1));
        let bytes = encode(set).unwrap();
        for cut in [0, 3, 5, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode_all(bytes[..cut].to_vec()).is_err(), "cut at {cut}");
        }
        assert!(decode_all(Vec::new()).is_err());
        let mut wrong = bytes.clone();
        wrong[0] = 99;
        assert!(decode_all(wrong).is_err());
    }
}
