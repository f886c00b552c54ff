//! `rehearse bench ...`: measurements whose numbers go in the README. `load`: many simulated candidates doing
//! text interviews at once over real HTTP and WebSockets; `sandbox`: how fast the code sandbox starts and runs;
//! `models`: the local models' speed and memory; `scoring`: how well a judge ranks the calibration set; `voice`:
//! spoken interviews, end of speech to the interviewer's voice.

pub mod interviewer;
pub mod load;
pub mod models;
pub mod sandbox;
pub mod scoring;
pub mod soak;
pub mod voice;

pub use crate::stats::{Stats, percentile};
