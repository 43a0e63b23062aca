//! Span metrics, RED (`shared/design/analysis.md` §3): per (service, span name, span kind,
//! status code) as Tempo's span-metrics processor groups them, rolled up per (service, span
//! name) and per service, and RED time series.
//!
//! Decisions:
//! - Errors = spans with status ERROR or a truthy `error` attribute (see `prep`); a Jaeger
//!   `error=true` span with unset status counts as an error in the `STATUS_CODE_UNSET` group.
//! - Percentiles exact, nearest rank (see `stats`); histograms per bucket with Tempo's span
//!   metrics buckets 2 ms × 2^k up to 16.384 s plus `+Inf`.
//! - Time series: the range is the set's earliest display start to latest display end; the step
//!   is the smallest "round" step (1-2-5 × 10^k ns up to 1 s, then 1, 2, 5, 10, 15, 30 s, 1, 2,
//!   5, 10, 15, 30 min, 1, 2, 3, 6, 12 h, 1 d, then 2^k days) giving at most 120 points; since
//!   neighbouring steps differ by at most 2.5×, that gives at least 48 points whenever the range
//!   is at least 120 ns (shorter ranges get one point per nanosecond). A span counts in the step
//!   of its display start. Only steps with calls are listed (a missing index means 0 calls);
//!   rate = calls / step in seconds.
//!
//! Grouping works on interned ids and a counting sort; strings are made only for the output.

use super::prep::{time_range, Prepared};
use super::stats::{histogram, ratio, DurationSummary, SPAN_METRICS_BUCKETS_NANOS};
use hashbrown::HashMap;
use serde::{Deserialize, Serialize};

/// One Tempo span-metrics group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpanMetricsGroup {
    pub service: String,
    pub span_name: String,
    /// `SPAN_KIND_SERVER`, … as Tempo labels it.
    pub span_kind: String,
    /// `STATUS_CODE_ERROR`, … as Tempo labels it.
    pub status_code: String,
    pub calls: u64,
    pub errors: u64,
    pub latency: DurationSummary,
    /// Per-bucket counts over [`SpanMetrics::bucket_bounds_nanos`] plus `+Inf`.
    pub histogram: Vec<u64>,
}

/// A rollup (per operation: `span_name` set; per service: `span_name` is `None`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RollupMetrics {
    pub service: String,
    pub span_name: Option<String>,
    pub calls: u64,
    pub errors: u64,
    pub error_rate: f64,
    pub latency: DurationSummary,
    pub histogram: Vec<u64>,
}

/// One step of a RED series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RedPoint {
    /// Step index: the step starts at `start_unix_nanos + index × step_nanos`.
    pub index: u32,
    pub calls: u64,
    pub errors: u64,
    pub rate_per_sec: f64,
    pub error_rate: f64,
    pub p50_nanos: u64,
    pub p95_nanos: u64,
    pub p99_nanos: u64,
}

/// A RED series of a service (`span_name: None`) or an operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RedSeries {
    pub service: String,
    pub span_name: Option<String>,
    pub points: Vec<RedPoint>,
}

/// RED charts over the set's time range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RedTimeline {
    pub start_unix_nanos: u64,
    pub step_nanos: u64,
    pub point_count: u32,
    pub services: Vec<RedSeries>,
    pub operations: Vec<RedSeries>,
}

/// All span metrics of a set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpanMetrics {
    pub bucket_bounds_nanos: Vec<u64>,
    pub groups: Vec<SpanMetricsGroup>,
    pub operations: Vec<RollupMetrics>,
    pub services: Vec<RollupMetrics>,
    pub red: RedTimeline,
}

/// Internal per-operation figures shared with grading and bottlenecks.
#[derive(Clone, Debug, Default)]
pub(crate) struct OpFigures {
    pub calls: u64,
    pub errors: u64,
    pub latency: DurationSummary,
    pub self_total_nanos: u64,
    /// Calls slower than the category target.
    pub over_target: u64,
    /// Calls per request class (fast, medium, slow).
    pub classes: [u64; 3],
}

const NICE_SUBSECOND: [u64; 3] = [1, 2, 5];
const NICE_SECONDS: [u64; 17] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200,
];

/// The RED step for a range: (step, number of points); see the module docs.
pub fn choose_step(range_nanos: u64) -> (u64, u32) {
    let points = |step: u64| range_nanos.div_ceil(step).max(1);
    let mut candidates: Vec<u64> = Vec::new();
    let mut decade = 1u64;
    while decade < 1_000_000_000 {
        candidates.extend(NICE_SUBSECOND.iter().map(|m| m * decade));
        decade *= 10;
    }
    candidates.extend(NICE_SECONDS.iter().map(|s| s * 1_000_000_000));
    let day = 86_400_000_000_000u64;
    let mut d = day;
    while d < u64::MAX / 4 {
        candidates.push(d);
        d *= 2;
    }
    for step in candidates {
        if points(step) <= 120 {
            return (step, points(step) as u32);
        }
    }
    (u64::MAX, 1)
}

/// Computes the span metrics and the per-operation figures.
pub(crate) fn compute(prep: &Prepared<'_>) -> (SpanMetrics, Vec<OpFigures>) {
    let set = prep.set;
    let spans = set.spans();
    let n = spans.len();
    // 1. Group id per span, renumbered in (op, kind, status) order.
    let mut map: HashMap<(u32, u8, u8), u32> = HashMap::new();
    let mut keys: Vec<(u32, u8, u8)> = Vec::new();
    let mut span_group: Vec<u32> = Vec::with_capacity(n);
    for (i, s) in spans.iter().enumerate() {
        let key = (prep.op_of(i as u32), s.kind as u8, s.status_code as u8);
        let next = keys.len() as u32;
        let g = *map.entry(key).or_insert(next);
        if g == next {
            keys.push(key);
        }
        span_group.push(g);
    }
    drop(map);
    let mut order: Vec<u32> = (0..keys.len() as u32).collect();
    order.sort_unstable_by_key(|&g| keys.get(g as usize).copied());
    let mut remap = vec![0u32; keys.len()];
    for (new, &old) in order.iter().enumerate() {
        if let Some(r) = remap.get_mut(old as usize) {
            *r = new as u32;
        }
    }
    let keys: Vec<(u32, u8, u8)> = order
        .iter()
        .filter_map(|&g| keys.get(g as usize).copied())
        .collect();
    for g in span_group.iter_mut() {
        *g = remap.get(*g as usize).copied().unwrap_or(0);
    }
    // 2. Counting sort of (duration, step, error) by group.
    let (t0, t1) = time_range(set);
    let (step, point_count) = choose_step(t1 - t0);
    let mut offsets = vec![0usize; keys.len() + 1];
    for &g in &span_group {
        if let Some(o) = offsets.get_mut(g as usize + 1) {
            *o += 1;
        }
    }
    for i in 0..keys.len() {
        let prev = offsets.get(i).copied().unwrap_or(0);
        if let Some(o) = offsets.get_mut(i + 1) {
            *o += prev;
        }
    }
    let mut fill = offsets.clone();
    let mut durs = vec![0u64; n];
    // Step index (31 bits) and error flag (top bit) per position.
    let mut tags = vec![0u32; n];
    let mut group_errors = vec![0u64; keys.len()];
    let mut op_figs: Vec<OpFigures> = vec![OpFigures::default(); prep.ops.len()];
    for (i, s) in spans.iter().enumerate() {
        let g = span_group.get(i).copied().unwrap_or(0) as usize;
        let Some(pos) = fill.get_mut(g) else { continue };
        let p = *pos;
        *pos += 1;
        let err = prep.is_error(i as u32);
        let st = ((s.display_start_unix_nanos().saturating_sub(t0)) / step)
            .min(u64::from(point_count.saturating_sub(1)));
        if let Some(d) = durs.get_mut(p) {
            *d = s.duration_nanos();
        }
        if let Some(t) = tags.get_mut(p) {
            *t = (st as u32 & 0x7fff_ffff) | if err { 0x8000_0000 } else { 0 };
        }
        if err {
            if let Some(e) = group_errors.get_mut(g) {
                *e += 1;
            }
        }
        if let Some(f) = op_figs.get_mut(prep.op_of(i as u32) as usize) {
            f.self_total_nanos = f.self_total_nanos.saturating_add(prep.self_time(i as u32));
        }
    }
    drop(span_group);
    drop(fill);
    // Ranges per operation and per service (contiguous by construction).
    let mut op_range = vec![(0usize, 0usize); prep.ops.len()];
    for (g, &(op, _, _)) in keys.iter().enumerate() {
        let (a, b) = (
            offsets.get(g).copied().unwrap_or(0),
            offsets.get(g + 1).copied().unwrap_or(0),
        );
        if let Some(r) = op_range.get_mut(op as usize) {
            if r.1 == r.0 {
                *r = (a, b);
            } else {
                r.1 = b;
            }
        }
    }
    let mut svc_range = vec![(usize::MAX, 0usize); prep.services.len()];
    for (op, r) in op_range.iter().enumerate() {
        let svc = prep.op_service.get(op).copied().unwrap_or(0) as usize;
        if let Some(s) = svc_range.get_mut(svc) {
            if r.1 > r.0 {
                s.0 = s.0.min(r.0);
                s.1 = s.1.max(r.1);
            }
        }
    }
    // 3. RED series (before sorting durations, which would break the tag alignment).
    let step_secs = step as f64 / 1e9;
    let mut pairs: Vec<(u32, u64, bool)> = Vec::new();
    let mut sorted_scratch: Vec<u64> = Vec::new();
    let mut series = |range: (usize, usize)| -> Vec<RedPoint> {
        pairs.clear();
        let (a, b) = range;
        if b <= a {
            return Vec::new();
        }
        for (d, t) in durs
            .get(a..b)
            .unwrap_or(&[])
            .iter()
            .zip(tags.get(a..b).unwrap_or(&[]))
        {
            pairs.push((t & 0x7fff_ffff, *d, t & 0x8000_0000 != 0));
        }
        pairs.sort_unstable();
        let mut points = Vec::new();
        let mut i = 0usize;
        while let Some(&(st, _, _)) = pairs.get(i) {
            let mut j = i;
            sorted_scratch.clear();
            let mut errors = 0u64;
            while let Some(&(s2, d, e)) = pairs.get(j) {
                if s2 != st {
                    break;
                }
                sorted_scratch.push(d);
                errors += u64::from(e);
                j += 1;
            }
            let calls = (j - i) as u64;
            let sum = DurationSummary::of_sorted(&sorted_scratch);
            points.push(RedPoint {
                index: st,
                calls,
                errors,
                rate_per_sec: if step_secs > 0.0 {
                    calls as f64 / step_secs
                } else {
                    0.0
                },
                error_rate: ratio(errors, calls),
                p50_nanos: sum.p50_nanos,
                p95_nanos: sum.p95_nanos,
                p99_nanos: sum.p99_nanos,
            });
            i = j;
        }
        points
    };
    let mut op_series = Vec::with_capacity(prep.ops.len());
    for (op, r) in op_range.iter().enumerate() {
        let (service, name) = prep.op_text(op as u32);
        op_series.push(RedSeries {
            service: service.to_string(),
            span_name: Some(name.to_string()),
            points: series(*r),
        });
    }
    let mut svc_series = Vec::with_capacity(prep.services.len());
    for (svc, r) in svc_range.iter().enumerate() {
        let name = prep.services.get(svc).map(|s| prep.svc(*s)).unwrap_or("");
        svc_series.push(RedSeries {
            service: name.to_string(),
            span_name: None,
            points: series(*r),
        });
    }
    drop(tags);
    drop(pairs);
    // 4. Group summaries.
    let bounds = &SPAN_METRICS_BUCKETS_NANOS;
    let mut groups = Vec::with_capacity(keys.len());
    for (g, &(op, kind, status)) in keys.iter().enumerate() {
        let (a, b) = (
            offsets.get(g).copied().unwrap_or(0),
            offsets.get(g + 1).copied().unwrap_or(0),
        );
        let Some(slice) = durs.get_mut(a..b) else { continue };
        slice.sort_unstable();
        let (service, name) = prep.op_text(op);
        groups.push(SpanMetricsGroup {
            service: service.to_string(),
            span_name: name.to_string(),
            span_kind: crate::model::SpanKind::from_i64(i64::from(kind))
                .unwrap_or_default()
                .enum_name()
                .to_string(),
            status_code: crate::model::StatusCode::from_i64(i64::from(status))
                .unwrap_or_default()
                .enum_name()
                .to_string(),
            calls: slice.len() as u64,
            errors: group_errors.get(g).copied().unwrap_or(0),
            latency: DurationSummary::of_sorted(slice),
            histogram: histogram(slice, bounds),
        });
        if let Some(f) = op_figs.get_mut(op as usize) {
            f.errors += group_errors.get(g).copied().unwrap_or(0);
        }
    }
    // 5. Rollups.
    let rollup = |range: (usize, usize), scratch: &mut Vec<u64>| -> (DurationSummary, Vec<u64>) {
        scratch.clear();
        if range.1 > range.0 {
            scratch.extend_from_slice(durs.get(range.0..range.1).unwrap_or(&[]));
        }
        scratch.sort_unstable();
        (DurationSummary::of_sorted(scratch), histogram(scratch, bounds))
    };
    let mut scratch: Vec<u64> = Vec::new();
    let mut operations = Vec::with_capacity(prep.ops.len());
    for (op, r) in op_range.iter().enumerate() {
        let (latency, hist) = rollup(*r, &mut scratch);
        let (service, name) = prep.op_text(op as u32);
        let thresholds = prep.rules.category(prep.category_of_op(op as u32)).thresholds;
        if let Some(f) = op_figs.get_mut(op) {
            let calls = scratch.len();
            f.calls = calls as u64;
            f.over_target = (calls - scratch.partition_point(|&d| d <= thresholds.target_nanos)) as u64;
            let fast = scratch.partition_point(|&d| d < thresholds.a_nanos);
            let medium = scratch.partition_point(|&d| d < thresholds.c_nanos).max(fast);
            f.classes = [fast as u64, (medium - fast) as u64, (calls - medium) as u64];
            f.latency = latency.clone();
            operations.push(RollupMetrics {
                service: service.to_string(),
                span_name: Some(name.to_string()),
                calls: f.calls,
                errors: f.errors,
                error_rate: ratio(f.errors, f.calls),
                latency,
                histogram: hist,
            });
        }
    }
    let mut svc_errors = vec![0u64; prep.services.len()];
    for (op, f) in op_figs.iter().enumerate() {
        if let Some(e) = prep
            .op_service
            .get(op)
            .and_then(|&s| svc_errors.get_mut(s as usize))
        {
            *e += f.errors;
        }
    }
    let mut services = Vec::with_capacity(prep.services.len());
    for (svc, r) in svc_range.iter().enumerate() {
        let (latency, hist) = rollup(*r, &mut scratch);
        let errors = svc_errors.get(svc).copied().unwrap_or(0);
        let name = prep.services.get(svc).map(|s| prep.svc(*s)).unwrap_or("");
        services.push(RollupMetrics {
            service: name.to_string(),
            span_name: None,
            calls: latency.count,
            errors,
            error_rate: ratio(errors, latency.count),
            latency,
            histogram: hist,
        });
    }
    let metrics = SpanMetrics {
        bucket_bounds_nanos: bounds.to_vec(),
        groups,
        operations,
        services,
        red: RedTimeline {
            start_unix_nanos: t0,
            step_nanos: step,
            point_count,
            services: svc_series,
            operations: op_series,
        },
    };
    (metrics, op_figs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_give_30_to_120_points() {
        for range in [
            120u64,
            1_000,
            999_999,
            60_000_000_000,
            3_600_000_000_000,
            86_400_000_000_000 * 9,
            7_777_777_777,
        ] {
            let (step, points) = choose_step(range);
            assert!(
                (30..=120).contains(&points),
                "range {range}: step {step} gives {points}"
            );
            assert!(step.saturating_mul(u64::from(points)) >= range);
        }
        assert_eq!(choose_step(0), (1, 1));
        assert_eq!(choose_step(60_000_000_000), (500_000_000, 120));
        assert_eq!(choose_step(61_000_000_000), (1_000_000_000, 61));
    }
}
