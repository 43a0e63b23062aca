//! Benchmark of the full analysis (`analyze_set`) at 10k, 100k and 1M spans, plus one
//! `analyze_trace`, on the deterministic synthetic traces of `spanlens_core::synth`.
//!
//! Before the timed runs it prints, per size, the model's `heap_bytes()` and the peak of extra
//! heap the analysis allocates (measured with a counting global allocator), so the memory goal
//! (peak extra ≤ 2 × the model) can be checked. `ANALYSIS_BENCH_MAX=100000` skips bigger sizes.
#![allow(unsafe_code, clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use spanlens_core::analysis::{analyze_set, analyze_trace, Rules};
use spanlens_core::synth::{generate, SynthOptions};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Counts live heap bytes and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only adds bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let now =
                    LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size - layout.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn sizes() -> Vec<u64> {
    let max: u64 = std::env::var("ANALYSIS_BENCH_MAX")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    [10_000u64, 100_000, 1_000_000]
        .into_iter()
        .filter(|&n| n <= max)
        .collect()
}

/// A synthetic set of about `n` spans: the trace count is calibrated on a first run, since the
/// generator's traces vary in size.
fn synth_set(n: u64) -> spanlens_core::model::TraceSet {
    let mut options = SynthOptions::for_total_spans(n, 40, 42);
    let probe = generate(&options).span_count().max(1) as u64;
    options.traces = (u64::from(options.traces) * n / probe).clamp(1, u64::from(u32::MAX)) as u32;
    generate(&options)
}

fn bench(c: &mut Criterion) {
    let rules = Rules::builtin();
    let mut group = c.benchmark_group("analyze_set");
    group.sample_size(10);
    for n in sizes() {
        let set = synth_set(n);
        // Memory and a first timing, outside criterion.
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let t0 = Instant::now();
        let out = analyze_set(&set, &rules);
        let first = t0.elapsed();
        let peak_extra = PEAK.load(Ordering::Relaxed).saturating_sub(base);
        let result_bytes = LIVE.load(Ordering::Relaxed).saturating_sub(base);
        let json = serde_json::to_vec(&out).map(|v| v.len()).unwrap_or(0);
        println!(
            "spans={} traces={} ops={} model_heap={} B peak_extra={} B ({:.2}x) result_live={} B json={} B first_run={:?}",
            set.span_count(),
            set.traces().len(),
            out.operations.len(),
            set.heap_bytes(),
            peak_extra,
            peak_extra as f64 / set.heap_bytes().max(1) as f64,
            result_bytes,
            json,
            first
        );
        drop(out);
        group.throughput(Throughput::Elements(set.span_count() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &set, |b, set| {
            b.iter(|| analyze_set(set, &rules))
        });
    }
    group.finish();
    // One trace view: categories are decided over the whole set, so this scales with the set.
    let set = synth_set(100_000);
    let biggest = (0..set.traces().len() as u32)
        .max_by_key(|&t| set.trace(t).map(|t| t.spans.len))
        .unwrap_or(0);
    let mut g2 = c.benchmark_group("analyze_trace");
    g2.sample_size(10);
    g2.bench_function("100k_set_largest_trace", |b| {
        b.iter(|| analyze_trace(&set, biggest, &rules))
    });
    g2.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
