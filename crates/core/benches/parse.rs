//! Parse + assembly throughput of the OTLP JSON reader on synthetic traces (1k, 10k, 100k and
//! 1M spans), next to `serde_json::from_slice::<IgnoredAny>` over the same bytes (the cost of
//! just scanning the JSON), and the OTLP protobuf reader on the same traces.
//!
//! `SPANLENS_BENCH_MAX_SPANS` caps the sizes (default 1,000,000). Throughput is in bytes of
//! input; spans/s = bytes/s ÷ (bytes per span), printed for each size.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use spanlens_core::formats::writers::to_otlp_proto;
use spanlens_core::formats::{read, read_into, Format};
use spanlens_core::model::TraceSetBuilder;
use spanlens_core::synth::{generate, SynthOptions};
use std::hint::black_box;
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let max: u64 = std::env::var("SPANLENS_BENCH_MAX_SPANS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    for n in [1_000u64, 10_000, 100_000, 1_000_000] {
        if n > max {
            continue;
        }
        let set = generate(&SynthOptions::for_total_spans(n, 40, 1));
        let json = spanlens_core::formats::writers::to_otlp_json(&set, None);
        let proto = to_otlp_proto(&set, None);
        let spans = set.span_count() as u64;
        drop(set);
        eprintln!(
            "{n}: {spans} spans, JSON {} bytes ({} B/span), protobuf {} bytes ({} B/span)",
            json.len(),
            json.len() as u64 / spans.max(1),
            proto.len(),
            proto.len() as u64 / spans.max(1)
        );
        let bytes = json.as_bytes();
        let mut group = c.benchmark_group(format!("otlp_json/{n}"));
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        if n >= 100_000 {
            group.sample_size(10);
            group.measurement_time(Duration::from_secs(if n >= 1_000_000 { 20 } else { 8 }));
            group.warm_up_time(Duration::from_secs(1));
        }
        group.bench_function(BenchmarkId::new("serde_ignored_any", spans), |b| {
            b.iter(|| serde_json::from_slice::<serde::de::IgnoredAny>(black_box(bytes)).map(|_| ()))
        });
        group.bench_function(BenchmarkId::new("read_into_builder", spans), |b| {
            b.iter(|| {
                let mut builder = TraceSetBuilder::new();
                let _ = read_into(&mut builder, black_box(bytes), Some(Format::OtlpJson), None);
                builder.span_count()
            })
        });
        group.bench_function(BenchmarkId::new("read_and_assemble", spans), |b| {
            b.iter(|| read(black_box(bytes), Some(Format::OtlpJson)).map(|s| s.span_count()))
        });
        group.finish();

        let mut group = c.benchmark_group(format!("otlp_proto/{n}"));
        group.throughput(Throughput::Bytes(proto.len() as u64));
        if n >= 100_000 {
            group.sample_size(10);
            group.measurement_time(Duration::from_secs(if n >= 1_000_000 { 20 } else { 8 }));
            group.warm_up_time(Duration::from_secs(1));
        }
        group.bench_function(BenchmarkId::new("read_and_assemble", spans), |b| {
            b.iter(|| read(black_box(&proto), Some(Format::OtlpProto)).map(|s| s.span_count()))
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
