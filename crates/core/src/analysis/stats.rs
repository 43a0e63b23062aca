//! Exact order statistics and fixed-bucket histograms over integer nanosecond durations
//! (`shared/design/analysis.md` §2 and §3: "exact p50/p90/p95/p99", Tempo's buckets).
//!
//! Percentile definition: **nearest rank**. For `n` sorted values and percentile `p`, the
//! result is the value at 1-based rank `ceil(p / 100 × n)` (rank at least 1). It is always one of
//! the observed values; p100 is the maximum. Computed with integer arithmetic in per-mille, so
//! there is no float rounding: for 1..=100, p50 = 50, p90 = 90, p95 = 95, p99 = 99; for 1..=10,
//! p95 = 10 and p50 = 5.
//!
//! Histograms follow Prometheus `le` semantics (a value equal to a bound falls in that bucket),
//! but the counts are per bucket (not cumulative), with one final `+Inf` bucket.
//!
//! Not here: grouping (callers sort each group's durations and hand the slice in).

use serde::{Deserialize, Serialize};

/// Tempo metrics-generator service-graph buckets: 0.1, 0.2, …, 12.8 s.
pub const SERVICE_GRAPH_BUCKETS_NANOS: [u64; 8] = [
    100_000_000,
    200_000_000,
    400_000_000,
    800_000_000,
    1_600_000_000,
    3_200_000_000,
    6_400_000_000,
    12_800_000_000,
];

/// Tempo span-metrics buckets: 2 ms × 2^k, k = 0..13 (2 ms … 16.384 s), 14 buckets.
pub const SPAN_METRICS_BUCKETS_NANOS: [u64; 14] = [
    2_000_000,
    4_000_000,
    8_000_000,
    16_000_000,
    32_000_000,
    64_000_000,
    128_000_000,
    256_000_000,
    512_000_000,
    1_024_000_000,
    2_048_000_000,
    4_096_000_000,
    8_192_000_000,
    16_384_000_000,
];

/// Nearest-rank percentile of an ascending slice; `permille` is the percentile × 10
/// (950 = p95). `None` for an empty slice.
pub fn percentile_sorted(sorted: &[u64], permille: u32) -> Option<u64> {
    let n = sorted.len() as u64;
    if n == 0 {
        return None;
    }
    let p = u64::from(permille.min(1000));
    let rank = (p * n).div_ceil(1000).max(1);
    sorted.get((rank - 1) as usize).copied()
}

/// Per-bucket counts of a sorted or unsorted slice: `bounds.len() + 1` counts, the last being
/// `+Inf`. A value equal to a bound counts in that bound's bucket.
pub fn histogram(values: &[u64], bounds: &[u64]) -> Vec<u64> {
    let mut counts = vec![0u64; bounds.len() + 1];
    for &v in values {
        let i = bounds.partition_point(|&b| b < v);
        if let Some(c) = counts.get_mut(i) {
            *c += 1;
        }
    }
    counts
}

/// A fixed-bucket histogram as shipped to the UI and the CLI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Histogram {
    /// Upper bounds (inclusive) of every bucket but the last, in nanoseconds.
    pub bounds_nanos: Vec<u64>,
    /// One count per bound, plus the final `+Inf` bucket (not cumulative).
    pub counts: Vec<u64>,
}

impl Histogram {
    /// Builds the histogram of `values` over `bounds`.
    pub fn of(values: &[u64], bounds: &[u64]) -> Histogram {
        Histogram {
            bounds_nanos: bounds.to_vec(),
            counts: histogram(values, bounds),
        }
    }
}

/// Exact summary of a set of durations.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DurationSummary {
    pub count: u64,
    pub min_nanos: u64,
    pub max_nanos: u64,
    /// Integer mean (floor of total / count).
    pub mean_nanos: u64,
    pub total_nanos: u64,
    pub p50_nanos: u64,
    pub p90_nanos: u64,
    pub p95_nanos: u64,
    pub p99_nanos: u64,
}

impl DurationSummary {
    /// Summary of an ascending slice (all zeros when empty).
    pub fn of_sorted(sorted: &[u64]) -> DurationSummary {
        let count = sorted.len() as u64;
        if count == 0 {
            return DurationSummary::default();
        }
        let total: u128 = sorted.iter().map(|&v| u128::from(v)).sum();
        let p = |pm| percentile_sorted(sorted, pm).unwrap_or(0);
        DurationSummary {
            count,
            min_nanos: sorted.first().copied().unwrap_or(0),
            max_nanos: sorted.last().copied().unwrap_or(0),
            mean_nanos: u64::try_from(total / u128::from(count)).unwrap_or(u64::MAX),
            total_nanos: u64::try_from(total).unwrap_or(u64::MAX),
            p50_nanos: p(500),
            p90_nanos: p(900),
            p95_nanos: p(950),
            p99_nanos: p(990),
        }
    }
}

/// Fraction `num / den` as f64, 0 when `den` is 0.
pub(crate) fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_on_1_to_100() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile_sorted(&v, 500), Some(50));
        assert_eq!(percentile_sorted(&v, 900), Some(90));
        assert_eq!(percentile_sorted(&v, 950), Some(95));
        assert_eq!(percentile_sorted(&v, 990), Some(99));
        assert_eq!(percentile_sorted(&v, 1000), Some(100));
        assert_eq!(percentile_sorted(&v, 0), Some(1));
    }

    #[test]
    fn nearest_rank_small_and_skewed() {
        let v: Vec<u64> = (1..=10).collect();
        assert_eq!(percentile_sorted(&v, 500), Some(5));
        assert_eq!(percentile_sorted(&v, 950), Some(10));
        assert_eq!(percentile_sorted(&v, 900), Some(9));
        assert_eq!(percentile_sorted(&[7], 990), Some(7));
        assert_eq!(percentile_sorted(&[], 500), None);
        // 99 fast calls and one slow one: p99 is still fast, max is slow.
        let mut skew = vec![10u64; 99];
        skew.push(1_000);
        assert_eq!(percentile_sorted(&skew, 990), Some(10));
        let s = DurationSummary::of_sorted(&skew);
        assert_eq!(s.max_nanos, 1_000);
        assert_eq!(s.mean_nanos, (99 * 10 + 1_000) / 100);
        // 1000 values 1..=1000: p95 = 950, p99 = 990.
        let v: Vec<u64> = (1..=1000).collect();
        let s = DurationSummary::of_sorted(&v);
        assert_eq!(
            (s.p50_nanos, s.p90_nanos, s.p95_nanos, s.p99_nanos),
            (500, 900, 950, 990)
        );
    }

    #[test]
    fn histogram_le_semantics() {
        let b = SERVICE_GRAPH_BUCKETS_NANOS;
        let h = histogram(&[0, 100_000_000, 100_000_001, 12_800_000_000, 12_800_000_001], &b);
        assert_eq!(h, vec![2, 1, 0, 0, 0, 0, 0, 1, 1]);
        assert_eq!(histogram(&[], &SPAN_METRICS_BUCKETS_NANOS).len(), 15);
        assert_eq!(SPAN_METRICS_BUCKETS_NANOS[13], 16_384_000_000);
    }
}
