//! Peak heap memory of reading OTLP JSON, against the input size.
//!
//! `cargo run --release -p spanlens-core --example parse_memory -- [spans] [per_trace] [repeat]`
//! generates synthetic OTLP JSON (default 1,000,000 spans), then reads and assembles it with a
//! counting global allocator installed, and prints the peak heap growth during the read as a
//! multiple of the file size, the size of the finished set, and the CPU time taken (next to
//! `serde_json::from_slice::<IgnoredAny>` over the same bytes).
// A global allocator needs `unsafe impl GlobalAlloc`; it only forwards to the system allocator.
#![allow(unsafe_code)]

use spanlens_core::formats::writers::to_otlp_json;
use spanlens_core::formats::{read, Format};
use spanlens_core::synth::{generate, SynthOptions};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grow(by: usize) {
    let now = CURRENT.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grow(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            grow(new_size - layout.size());
        } else {
            CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// On-CPU time of this thread (Linux `schedstat`), so a busy shared machine does not skew the
/// comparison; falls back to wall time elsewhere.
fn cpu_now() -> Option<std::time::Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(std::time::Duration::from_nanos(ns))
}

/// Runs `f` and returns its CPU time (or wall time when unavailable).
fn timed<T>(f: impl FnOnce() -> T) -> (T, std::time::Duration) {
    let wall = Instant::now();
    let cpu = cpu_now();
    let out = f();
    let took = match (cpu, cpu_now()) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => wall.elapsed(),
    };
    (out, took)
}

fn mib(b: usize) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let spans: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let per_trace: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(40);
    let repeat: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let (synth_set, generated) = timed(|| generate(&SynthOptions::for_total_spans(spans, per_trace, 1)));
    let (json, written) = timed(|| to_otlp_json(&synth_set, None));
    drop(synth_set);
    let file = json.len();

    // Reference points (best of `repeat`, the machine may be shared): scanning the JSON only, and
    // reading without assembly.
    let mut scan = std::time::Duration::MAX;
    let mut read_only = std::time::Duration::MAX;
    for _ in 0..repeat.max(1) {
        let (_, t) = timed(|| serde_json::from_slice::<serde::de::IgnoredAny>(json.as_bytes()).is_ok());
        scan = scan.min(t);
        let (_, t) = timed(|| {
            let mut builder = spanlens_core::model::TraceSetBuilder::new();
            let _ = spanlens_core::formats::read_into(
                &mut builder,
                json.as_bytes(),
                Some(Format::OtlpJson),
                None,
            );
            builder.span_count()
        });
        read_only = read_only.min(t);
    }
    println!(
        "serde IgnoredAny scan: {scan:.2?} = {:.0} MiB/s; read without assembly: {read_only:.2?} = {:.0} MiB/s ({:.0}% of the scan)",
        mib(file) / scan.as_secs_f64(),
        mib(file) / read_only.as_secs_f64(),
        100.0 * scan.as_secs_f64() / read_only.as_secs_f64()
    );

    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let (result, took) = timed(|| read(json.as_bytes(), Some(Format::OtlpJson)));
    let set = match result {
        Ok(set) => set,
        Err(e) => {
            eprintln!("read failed: {e}");
            std::process::exit(1);
        }
    };
    let peak = PEAK.load(Ordering::Relaxed) - base;
    let retained = CURRENT.load(Ordering::Relaxed) - base;
    let n = set.span_count();
    println!(
        "synth: {n} spans in {} traces generated in {generated:.2?}, written as OTLP JSON in {written:.2?} ({:.0} MiB/s)",
        set.traces().len(),
        mib(file) / written.as_secs_f64()
    );
    println!("input: {:.1} MiB ({} B/span)", mib(file), file / n.max(1));
    println!(
        "read+assemble: {took:.2?} = {:.0} MiB/s, {:.0} spans/s",
        mib(file) / took.as_secs_f64(),
        n as f64 / took.as_secs_f64()
    );
    println!(
        "peak heap growth while reading: {:.1} MiB = {:.2}x the input (input itself not counted)",
        mib(peak),
        peak as f64 / file as f64
    );
    println!(
        "retained by the set: {:.1} MiB = {:.2}x the input ({} B/span); set.heap_bytes() = {:.1} MiB",
        mib(retained),
        retained as f64 / file as f64,
        retained / n.max(1),
        mib(set.heap_bytes())
    );
}
