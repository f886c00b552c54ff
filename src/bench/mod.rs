//! `rehearse bench ...`: measurements whose numbers go in the README. `load`: many simulated candidates doing
//! text interviews at once over real HTTP and WebSockets; `sandbox`: how fast the code sandbox starts and runs;
//! `models`: the local models' speed and memory; `scoring`: how well a judge ranks the calibration set; `voice`:
//! spoken interviews, end of speech to the interviewer's voice; `remote`: Rehearse's own overhead on the remote
//! path.

pub mod interviewer;
pub mod load;
pub mod models;
pub mod pauses;
pub mod remote;
pub mod sandbox;
pub mod scoring;
pub mod soak;
pub mod turns;
pub mod voice;

pub use crate::stats::{Stats, percentile};

/// A memory figure of this process from `/proc/self/status` (Linux), in MB: `VmHWM` is the peak resident memory,
/// `VmRSS` the current one.
pub(crate) fn proc_status_mb(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| {
            l.strip_prefix(field)
                .is_some_and(|rest| rest.starts_with(':'))
        })?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}
