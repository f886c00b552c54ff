//! Summaries of measured durations: percentiles (nearest rank) and a p50 / p95 / max summary, for the
//! benchmarks and the results page.

use serde::Serialize;

/// The `p`-th percentile (0-100) of `sorted` values, nearest rank.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// Median, 95th percentile and maximum of some measurements in ms (NaN when there are none).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Stats {
    pub count: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
}

impl Stats {
    pub fn of(mut v: Vec<f64>) -> Stats {
        v.sort_by(f64::total_cmp);
        Stats {
            count: v.len(),
            p50_ms: percentile(&v, 50.0),
            p95_ms: percentile(&v, 95.0),
            max_ms: v.last().copied().unwrap_or(f64::NAN),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 95.0), 95.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&[7.0], 95.0), 7.0);
        assert!(percentile(&[], 50.0).is_nan());
    }

    #[test]
    fn stats_sort_and_count() {
        let s = Stats::of(vec![30.0, 10.0, 20.0]);
        assert_eq!(
            (s.count, s.p50_ms, s.p95_ms, s.max_ms),
            (3, 20.0, 30.0, 30.0)
        );
        assert_eq!(Stats::of(vec![]).count, 0);
    }
}
