//! Voice activity detection: which frames of the candidate's audio are speech, for the end-of-turn rules
//! ([`crate::engine::turns`]), behind the [`Detector`] trait. [`Loudness`] needs no model; [`Silero`] is Silero
//! VAD (an ONNX model of 2.3 MB) on onnxruntime, which unlike loudness does not take noise (a fan, keyboard,
//! clipped hiss) for speech, and hears quiet speech.
//!
//! One loaded model serves every listener; each listener is a [`Listener`] with the model's recurrent state and
//! the last 64 samples it saw (the model reads 512 new samples, 32 ms, after 64 of context, as the silero-vad
//! package does). A verdict holds between windows, so a 20 ms frame gets the verdict of the latest window (at most
//! 32 ms behind). Speech starts at a probability of 0.5 and ends below 0.35 (the package's defaults). One window
//! takes about 0.2 ms on one core (`bench models`), so the actor runs it in line; the session is shared behind a
//! lock (onnxruntime's run needs `&mut`). A failed run is logged once and that listener falls back to loudness.

use std::{
    path::Path,
    sync::{Arc, Mutex},
    time::Instant,
};

use anyhow::{Context, anyhow, bail};
use ort::{session::Session, value::Tensor};

/// Says whether each 20 ms frame, in order, is speech. Stateful: a model may look at the frames before.
pub trait Detector: Send + Sync {
    fn is_speech(&mut self, frame: &[f32]) -> bool;
}

/// Speech is whatever is loud enough: no model needed, but noise counts as speech.
#[derive(Debug, Clone, Copy)]
pub struct Loudness {
    /// RMS level (0..1) above which a frame is speech.
    pub level: f32,
}

impl Default for Loudness {
    fn default() -> Self {
        Loudness { level: 0.012 }
    }
}

impl Detector for Loudness {
    fn is_speech(&mut self, frame: &[f32]) -> bool {
        rms(frame) >= self.level
    }
}

/// The loudness of a frame, 0..1.
pub fn rms(frame: &[f32]) -> f32 {
    if frame.is_empty() {
        return 0.0;
    }
    (frame.iter().map(|s| s * s).sum::<f32>() / frame.len() as f32).sqrt()
}

/// Samples per window at 16 kHz.
pub const WINDOW: usize = 512;
/// Samples of the previous window the model reads again.
const CONTEXT: usize = 64;
/// The recurrent state: 2 × 1 × 128.
const STATE: usize = 256;
/// Probabilities at which speech starts and ends.
const START: f32 = 0.5;
const END: f32 = 0.35;

/// A loaded Silero VAD model.
pub struct Silero {
    session: Mutex<Session>,
}

impl std::fmt::Debug for Silero {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Silero").finish_non_exhaustive()
    }
}

impl Silero {
    /// Loads the model and runs it once; errors name the file.
    pub fn load(model: &Path, onnxruntime_lib: &Path) -> anyhow::Result<Silero> {
        if !model.is_file() {
            bail!("Silero VAD model {} not found", model.display());
        }
        crate::models::onnx::check_file(model)?;
        crate::voice::tts::piper::init_onnxruntime(onnxruntime_lib)?;
        let session = Session::builder()
            .and_then(|b| {
                Ok(b.with_intra_threads(1)?
                    .with_inter_threads(1)?
                    .with_intra_op_spinning(false)?
                    .with_inter_op_spinning(false)?)
            })
            .map_err(|e| anyhow!("onnxruntime: {e}"))?
            .commit_from_file(model)
            .map_err(|e| anyhow!("cannot load the VAD model {}: {e}", model.display()))?;
        let names: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
        for want in ["input", "state", "sr"] {
            if !names.contains(&want) {
                bail!(
                    "{} is not a Silero VAD model: it has no input {want:?} (inputs: {names:?})",
                    model.display()
                );
            }
        }
        let silero = Silero {
            session: Mutex::new(session),
        };
        silero
            .probability(&mut Memory::default(), &[0.0; WINDOW])
            .with_context(|| format!("the VAD model {} fails to run", model.display()))?;
        Ok(silero)
    }

    /// The probability that `window` (512 samples at 16 kHz, -1..1) is speech, given what came before.
    pub fn probability(&self, memory: &mut Memory, window: &[f32]) -> anyhow::Result<f32> {
        if window.len() != WINDOW {
            bail!("a VAD window is {WINDOW} samples, not {}", window.len());
        }
        let mut input = Vec::with_capacity(CONTEXT + WINDOW);
        input.extend_from_slice(&memory.context);
        input.extend_from_slice(window);
        let input = Tensor::from_array(([1usize, CONTEXT + WINDOW], input))?;
        let state = Tensor::from_array(([2usize, 1, 128], memory.state.to_vec()))?;
        let rate = Tensor::from_array((Vec::<usize>::new(), vec![16_000i64]))?;
        let mut session = self
            .session
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let outputs =
            session.run(ort::inputs!["input" => input, "state" => state, "sr" => rate])?;
        let (_, p) = outputs["output"].try_extract_tensor::<f32>()?;
        let (_, next) = outputs["stateN"].try_extract_tensor::<f32>()?;
        if next.len() != STATE || p.is_empty() {
            bail!("the VAD model's outputs have unexpected shapes");
        }
        memory.state.copy_from_slice(next);
        memory.context.copy_from_slice(&window[WINDOW - CONTEXT..]);
        Ok(p[0])
    }

    /// A detector for one stream of audio.
    pub fn listener(self: &Arc<Self>) -> Listener {
        Listener {
            model: self.clone(),
            memory: Memory::default(),
            pending: Vec::with_capacity(2 * WINDOW),
            speech: false,
            fallback: None,
        }
    }
}

/// What the model remembers of one stream.
#[derive(Debug, Clone)]
pub struct Memory {
    state: [f32; STATE],
    context: [f32; CONTEXT],
}

impl Default for Memory {
    fn default() -> Self {
        Memory {
            state: [0.0; STATE],
            context: [0.0; CONTEXT],
        }
    }
}

/// One stream's speech detector.
pub struct Listener {
    model: Arc<Silero>,
    memory: Memory,
    /// Samples not yet a whole window.
    pending: Vec<f32>,
    speech: bool,
    /// Set when the model failed: loudness decides from then on.
    fallback: Option<Loudness>,
}

impl Detector for Listener {
    fn is_speech(&mut self, frame: &[f32]) -> bool {
        if let Some(loudness) = &mut self.fallback {
            return loudness.is_speech(frame);
        }
        self.pending.extend_from_slice(frame);
        while self.pending.len() >= WINDOW {
            let window: Vec<f32> = self.pending.drain(..WINDOW).collect();
            match self.model.probability(&mut self.memory, &window) {
                Ok(p) if p >= START => self.speech = true,
                Ok(p) if p < END => self.speech = false,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(
                        "voice activity detection failed, using loudness instead: {e:#}"
                    );
                    let mut loudness = Loudness::default();
                    let verdict = loudness.is_speech(frame);
                    self.fallback = Some(loudness);
                    return verdict;
                }
            }
        }
        self.speech
    }
}

/// How long the model takes per window, for the benchmark: the median of `runs` runs on noise.
pub fn time_per_window(model: &Silero, runs: usize) -> anyhow::Result<std::time::Duration> {
    let mut memory = Memory::default();
    let window: Vec<f32> = (0..WINDOW)
        .map(|i| ((i * 7919 % 1000) as f32 / 1000.0 - 0.5) * 0.1)
        .collect();
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        model.probability(&mut memory, &window)?;
        times.push(t.elapsed());
    }
    times.sort();
    Ok(times[times.len() / 2])
}
