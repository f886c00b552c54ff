//! `rehearse bench ...`: measurements whose numbers go in the README. `load`: many simulated candidates doing
//! text interviews at once over real HTTP and WebSockets; `sandbox`: how fast the code sandbox starts and runs;
//! `models`: the local models' speed and memory; `scoring`: how well a judge ranks the calibration set; `voice`:
//! spoken interviews, end of speech to the interviewer's voice.

pub mod load;
pub mod models;
pub mod sandbox;
pub mod scoring;
pub mod voice;

/// The `p`-th percentile (0-100) of `sorted` values, nearest rank.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 95.0), 95.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&[7.0], 95.0), 7.0);
        assert!(percentile(&[], 50.0).is_nan());
    }
}
