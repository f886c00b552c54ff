//! Speech-to-text for finished utterances with whisper.cpp (through `whisper-rs`).
//!
//! [`Whisper::load`] opens a ggml Whisper model (see `models::whisper_ggml` for converting
//! one) and [`Whisper::transcribe`] turns one utterance of 16 kHz mono audio into English text
//! with per-segment timestamps. Choices, and why:
//!
//! * **Greedy decoding, no temperature fallback**: deterministic, and the cheapest decode.
//! * **Encoder window trimmed to the clip**: Whisper's encoder always sees 30 s (1500 frames at
//!   50 per second) and its cost dominates short clips. `audio_ctx` is set from the clip length
//!   plus a margin (see [`audio_ctx_for`]): tiny.en on a 5 s clip runs ~5× faster. Whisper was
//!   trained on full windows, and very short windows make it garble short answers or loop
//!   ("No. No. No. ..."), hence a floor: ~5 s for English-only models, ~15 s for multilingual
//!   ones, which degraded more (see [`MIN_AUDIO_CTX_EN`]). A trimmed window's decode is capped at
//!   twice the tokens fast speech needs ([`max_tokens_for`]); output that still looks like a loop
//!   ([`looks_runaway`]) is decoded again with a 15 s window, then with the full one.
//! * **Flash attention off on the CPU**, where it is slower.
//! * **No invented text**: Whisper hallucinates on silence and noise. Near-silent clips are
//!   answered empty without running the model ([`is_silent`]); segments whisper.cpp flags as
//!   no-speech are dropped, and so are non-speech annotations such as `[BLANK_AUDIO]`,
//!   `(music)` or `[ Silence ]` ([`strip_non_speech`]). The no-speech probability is only
//!   trusted for English-only models: whisper.cpp 1.8.3 reads it from the logits of the first
//!   prompt token, which it computes only when the prompt is that one token (`<|sot|>`); a
//!   multilingual model's prompt also has language and task tokens, so the value it reports is
//!   stale (left over from the previous decode). Multilingual models rely on the other filters.
//! * **Quiet**: whisper.cpp's and ggml's log output is routed into whisper-rs's hooks, which
//!   discard it (whisper-rs is built without its `log`/`tracing` backends); the per-call
//!   progress and timestamp printing is switched off.
//! * **Thread-safe**: a [`Whisper`] is `Send + Sync`. The model (context) is shared; each call
//!   takes a decoding state from a small pool (or makes one).
//! * **One computation at a time** in the process ([`GATE`]): whisper.cpp's threads wait for each
//!   other at every step by spinning, so two computations on the same cores each wait out the
//!   other's time slices. Measured on 2 cores, tiny.en on 9 s of speech: 0.35 s alone, 9 to 19 s
//!   each with two at once; queued, the second is done after 0.7 s. A draft (a caption) gives way:
//!   it stops when a full transcription is waiting, and the caption is skipped.
//!
//! whisper.cpp's loader is not safe on bad files: absurd header values abort the process (a C++
//! `bad_alloc` cannot unwind through Rust; a huge layer count trips an assert), and a file cut
//! off before its first tensor loads "successfully" as an empty test model. So
//! [`Whisper::load`] first checks the file in Rust ([`check_ggml_file`]): plausible
//! hyper-parameters, the filter bank, the vocabulary, and exactly the tensors whisper.cpp will
//! create, with their shapes, ending exactly at the end of the file. Only such a file reaches
//! whisper.cpp, and what it allocates is then bounded by the file's size.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail, ensure};
use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState,
};

/// Whisper computations run one at a time in this process (see the module's notes).
static GATE: Mutex<()> = Mutex::new(());
/// Full transcriptions waiting for [`GATE`]; a draft running gives way to them.
static WAITING: AtomicUsize = AtomicUsize::new(0);

/// The gate, for a full transcription (counted as waiting until it has it) or a draft.
fn wait_turn(full: bool) -> MutexGuard<'static, ()> {
    if !full {
        return GATE.lock().unwrap_or_else(|e| e.into_inner());
    }
    WAITING.fetch_add(1, Ordering::SeqCst);
    let turn = GATE.lock().unwrap_or_else(|e| e.into_inner());
    WAITING.fetch_sub(1, Ordering::SeqCst);
    turn
}

/// whisper.cpp's abort callback for drafts: stop when a full transcription is waiting. It reads only a static,
/// so it needs no user data.
extern "C" fn give_way(_: *mut std::ffi::c_void) -> bool {
    WAITING.load(Ordering::SeqCst) > 0
}

/// Whisper's input sample rate.
pub const SAMPLE_RATE: u32 = 16_000;

/// A loaded Whisper model, shareable between threads.
pub struct Whisper {
    ctx: WhisperContext,
    threads: usize,
    /// Idle decoding states (each holds its own KV caches and compute buffers, tens of MB).
    states: Mutex<Vec<WhisperState>>,
    /// The model's full encoder window (1500).
    max_audio_ctx: usize,
    /// The smallest encoder window used for this model.
    min_audio_ctx: usize,
    /// Whether segments' no-speech probabilities mean anything (English-only models, see above).
    trust_no_speech: bool,
    path: PathBuf,
}

/// One stretch of recognised speech, times relative to the start of the clip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub start_ms: u32,
    pub end_ms: u32,
    pub text: String,
}

/// The result of one [`Whisper::transcribe`] call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript {
    /// The segments' texts joined by single spaces; empty when nothing was said.
    pub text: String,
    pub segments: Vec<Segment>,
    /// Length of the audio given.
    pub audio_ms: u32,
    /// Wall-clock time the call took.
    pub elapsed_ms: u32,
}

/// Encoder frames per second of audio (mel frames are 10 ms, the conv stem halves them).
const ENCODER_FRAMES_PER_SECOND: usize = 50;
/// Extra encoder frames beyond the clip (1.28 s): trimming the window tight to the speech makes
/// Whisper drop or garble the last word; a little trailing padding behaves like the real thing.
const AUDIO_CTX_MARGIN: usize = 64;
/// The smallest encoder window for English-only models (5.12 s). With windows under ~4 s,
/// tiny.en garbled one-word answers ("Sure." as "short") and looped on others ("200. 200. ...");
/// from 250 frames on it matched the full window on our short test phrases.
const MIN_AUDIO_CTX_EN: usize = 256;
/// The smallest encoder window for multilingual models (15 s). base (multilingual, forced to
/// English) still misheard one-word answers with 8 s windows ("Yes." as "ES.", "Sure." as
/// "So") and matched the full window from 15 s on.
const MIN_AUDIO_CTX_MULTILINGUAL: usize = 750;
/// The window a looping decode is tried again with first (15 s), before the full one: the encoder costs about
/// half as much, and it read the clips that looped with the 5 s window correctly.
const RETRY_AUDIO_CTX: usize = 750;
/// Whisper's full encoder window (30 s).
const MAX_AUDIO_CTX: usize = 1500;
/// Segments whose no-speech probability exceeds this are dropped (whisper.cpp's own threshold).
const NO_SPEECH_THOLD: f32 = 0.6;
/// Frame length for the silence check: 20 ms.
const SILENCE_FRAME: usize = 320;
/// A clip whose loudest 20 ms frame has an RMS below this (about -46 dBFS) is treated as silence.
const SILENCE_RMS: f32 = 0.005;

impl Whisper {
    /// Loads a ggml whisper file; a clear error naming the file if it is missing, truncated or not whisper.
    pub fn load(path: &Path, threads: usize) -> Result<Self> {
        check_ggml_file(path)
            .with_context(|| format!("cannot load whisper model {}", path.display()))?;
        // Idempotent; sends whisper.cpp's and ggml's logging to whisper-rs's (silent) hooks.
        whisper_rs::install_logging_hooks();
        let mut params = WhisperContextParameters::default();
        // Flash attention only pays off on a GPU backend; whisper-rs enables the GPU only when
        // built with a GPU feature.
        let use_gpu = params.use_gpu;
        params.flash_attn(use_gpu);
        // The check above leaves tensor types (vs the header's ftype) and memory to whisper.cpp.
        let ctx = WhisperContext::new_with_params(path, params).map_err(|e| {
            anyhow!(
                "whisper.cpp could not load {} ({e}): tensor types that do not match the \
                 header's ftype, or out of memory",
                path.display()
            )
        })?;
        let max_audio_ctx = usize::try_from(ctx.model_n_audio_ctx()).unwrap_or(MAX_AUDIO_CTX);
        let multilingual = ctx.is_multilingual();
        Ok(Self {
            ctx,
            threads: threads.max(1),
            states: Mutex::new(Vec::new()),
            max_audio_ctx,
            min_audio_ctx: if multilingual {
                MIN_AUDIO_CTX_MULTILINGUAL
            } else {
                MIN_AUDIO_CTX_EN
            },
            trust_no_speech: !multilingual,
            path: path.to_owned(),
        })
    }

    /// Transcribes one finished utterance: 16 kHz mono f32 samples in [-1, 1].
    pub fn transcribe(&self, samples: &[f32]) -> Result<Transcript> {
        self.transcribe_with(samples, true)
    }

    /// A draft of an utterance still being spoken (a caption): one pass with the window trimmed to the audio, and
    /// no second pass when it loops (the audio may end mid-word, and a caption must stay cheap).
    pub fn draft(&self, samples: &[f32]) -> Result<Transcript> {
        self.transcribe_with(samples, false)
    }

    fn transcribe_with(&self, samples: &[f32], retry: bool) -> Result<Transcript> {
        let started = Instant::now();
        let audio_ms =
            u32::try_from(samples.len() as u64 * 1000 / u64::from(SAMPLE_RATE)).unwrap_or(u32::MAX);
        let mut segments = Vec::new();
        if !is_silent(samples) {
            let _turn = wait_turn(retry);
            if !retry && WAITING.load(Ordering::SeqCst) > 0 {
                bail!("a draft gave way to a full transcription");
            }
            let mut state = self.take_state()?;
            let mut audio_ctx =
                audio_ctx_for(samples.len(), self.min_audio_ctx).min(self.max_audio_ctx);
            loop {
                segments = self.run(&mut state, samples, audio_ctx, audio_ms, !retry)?;
                if !retry || audio_ctx >= self.max_audio_ctx || !looks_runaway(&segments, audio_ms)
                {
                    break;
                }
                let wider = if audio_ctx < RETRY_AUDIO_CTX {
                    RETRY_AUDIO_CTX.min(self.max_audio_ctx)
                } else {
                    self.max_audio_ctx
                };
                tracing::debug!(
                    audio_ms,
                    audio_ctx,
                    wider,
                    ms = started.elapsed().as_millis() as u64,
                    text = %segments.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join(" | "),
                    "the window looped; decoding again with a wider one"
                );
                audio_ctx = wider;
            }
            self.states
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(state);
        }
        let text = segments
            .iter()
            .map(|s: &Segment| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let elapsed_ms = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
        Ok(Transcript {
            text,
            segments,
            audio_ms,
            elapsed_ms,
        })
    }

    /// An idle state from the pool, or a new one.
    fn take_state(&self) -> Result<WhisperState> {
        if let Some(state) = self.states.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return Ok(state);
        }
        self.ctx.create_state().map_err(|e| {
            anyhow!(
                "cannot create a whisper state for {}: {e}",
                self.path.display()
            )
        })
    }

    /// One whisper.cpp pass over the clip with the given encoder window; the kept segments.
    fn run(
        &self,
        state: &mut WhisperState,
        samples: &[f32],
        audio_ctx: usize,
        audio_ms: u32,
        draft: bool,
    ) -> Result<Vec<Segment>> {
        let mut p = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        if draft {
            // SAFETY: `give_way` has the signature whisper.cpp calls, reads only a static and ignores its
            // argument; no user data is set.
            #[allow(unsafe_code)]
            unsafe {
                p.set_abort_callback(Some(give_way));
            }
        }
        p.set_n_threads(i32::try_from(self.threads).unwrap_or(i32::MAX));
        p.set_language(Some("en"));
        p.set_translate(false);
        p.set_no_context(true);
        p.set_no_timestamps(false);
        p.set_temperature(0.0);
        p.set_temperature_inc(0.0); // no sampling fallback: plain greedy
        p.set_suppress_blank(true);
        p.set_no_speech_thold(NO_SPEECH_THOLD);
        p.set_audio_ctx(i32::try_from(audio_ctx).unwrap_or(i32::MAX));
        if audio_ctx < self.max_audio_ctx {
            // A trimmed window sometimes loops; stop it early (the full window decodes such clips again).
            p.set_max_tokens(i32::try_from(max_tokens_for(audio_ms)).unwrap_or(i32::MAX));
        }
        p.set_print_progress(false);
        p.set_print_realtime(false);
        p.set_print_special(false);
        p.set_print_timestamps(false);
        state
            .full(p, samples)
            .map_err(|e| anyhow!("whisper failed on {} ms of audio: {e}", audio_ms))?;

        let mut out = Vec::new();
        for seg in state.as_iter() {
            if self.trust_no_speech && seg.no_speech_probability() > NO_SPEECH_THOLD {
                continue;
            }
            let raw = seg
                .to_str_lossy()
                .map_err(|e| anyhow!("whisper segment text: {e}"))?;
            let Some(text) = strip_non_speech(&raw) else {
                continue;
            };
            // whisper.cpp timestamps are in centiseconds.
            let ms = |cs: i64| {
                u32::try_from(cs.max(0).saturating_mul(10))
                    .unwrap_or(u32::MAX)
                    .min(audio_ms)
            };
            out.push(Segment {
                start_ms: ms(seg.start_timestamp()),
                end_ms: ms(seg.end_timestamp()),
                text,
            });
        }
        Ok(out)
    }
}

/// The most tokens a trimmed window may decode for a clip of `audio_ms`: twice what fast speech needs (about
/// five tokens a second with timestamps), plus room for a word or two. A loop runs to whisper's limit of 224
/// tokens otherwise, which took 1.5-1.8 s on a 2.7 s clip with tiny.en before the full window ran.
fn max_tokens_for(audio_ms: u32) -> u32 {
    20 + audio_ms / 100
}

/// The encoder window for a clip of `n_samples`: its length in encoder frames (50 per second,
/// rounded up) plus [`AUDIO_CTX_MARGIN`], at least `min`, at most the full 1500.
fn audio_ctx_for(n_samples: usize, min: usize) -> usize {
    let per_frame = SAMPLE_RATE as usize / ENCODER_FRAMES_PER_SECOND;
    (n_samples.div_ceil(per_frame) + AUDIO_CTX_MARGIN)
        .max(min)
        .min(MAX_AUDIO_CTX)
}

/// True when the decoded text looks like a repetition loop rather than speech: more text than
/// anyone says in that time (fast speech is under 20 characters a second), one word or phrase
/// (up to four words) said six or more times in a row, a run of five or more words said twice
/// in a row (tiny.en has doubled a whole sentence of a 4 s clip; people rarely repeat themselves
/// so exactly, and if they did, the wider window hears it the same way), or a run of
/// [`ECHO_WORDS`] words said again anywhere later.
fn looks_runaway(segments: &[Segment], audio_ms: u32) -> bool {
    let chars: usize = segments.iter().map(|s| s.text.chars().count() + 1).sum();
    if chars as u64 > 30 + 30 * u64::from(audio_ms) / 1000 {
        return true;
    }
    let words: Vec<String> = segments
        .iter()
        .flat_map(|s| s.text.split_whitespace())
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .collect();
    let repeated = |n: usize, times: usize| {
        (0..words.len()).any(|start| {
            let phrase = &words[start..(start + n).min(words.len())];
            phrase.len() == n
                && (1..times).all(|k| words.get(start + k * n..start + (k + 1) * n) == Some(phrase))
        })
    };
    // A run of this many words said again later, not only right after: tiny.en once heard a 7.7 s clip of two
    // sentences as the two and then the first again.
    let echoed = |n: usize| {
        (0..words.len().saturating_sub(n)).any(|start| {
            let phrase = &words[start..start + n];
            words[start + n..].windows(n).any(|w| w == phrase)
        })
    };
    (1..=4).any(|n| repeated(n, 6))
        || (5..=words.len() / 2).any(|n| repeated(n, 2))
        || echoed(ECHO_WORDS)
}

/// The shortest run of words whose repetition anywhere in one answer counts as a loop. People do repeat a phrase
/// in an answer; a run this long said again word for word is rare, and a false alarm only costs a second decode
/// with a wider window, whose text is taken whatever it says.
const ECHO_WORDS: usize = 8;

/// True when no 20 ms frame of the clip is louder than [`SILENCE_RMS`] (empty clips included).
fn is_silent(samples: &[f32]) -> bool {
    samples.chunks(SILENCE_FRAME).all(|frame| {
        let energy: f32 = frame.iter().map(|s| s * s).sum();
        energy < SILENCE_RMS * SILENCE_RMS * frame.len() as f32
    })
}

/// Removes Whisper's non-speech annotations from a segment's text: anything in `[...]` or
/// `(...)` (`[BLANK_AUDIO]`, `(music)`, `[ Silence ]`, `(upbeat music)`), `*...*` stage
/// directions and music notes. Returns the trimmed, space-normalised rest, or `None` if no
/// words are left.
fn strip_non_speech(text: &str) -> Option<String> {
    let mut kept = String::with_capacity(text.len());
    let mut closer: Option<char> = None;
    for c in text.chars() {
        match closer {
            Some(close) if c == close => closer = None,
            Some(_) => {}
            None => match c {
                '[' => closer = Some(']'),
                '(' => closer = Some(')'),
                '*' => closer = Some('*'),
                '♪' | '♫' | '♬' | '♩' => {}
                _ => kept.push(c),
            },
        }
    }
    let words = kept.split_whitespace().collect::<Vec<_>>().join(" ");
    words.chars().any(char::is_alphanumeric).then_some(words)
}

// ---------------------------------------------------------------------------------------------
// ggml file check

/// Bytes per block and elements per block of the ggml tensor types whisper files use.
fn ggml_type_layout(ty: i32) -> Option<(u64, u64)> {
    Some(match ty {
        0 => (4, 1),      // f32
        1 => (2, 1),      // f16
        2 => (18, 32),    // q4_0
        3 => (20, 32),    // q4_1
        6 => (22, 32),    // q5_0
        7 => (24, 32),    // q5_1
        8 => (34, 32),    // q8_0
        10 => (84, 256),  // q2_K
        11 => (110, 256), // q3_K
        12 => (144, 256), // q4_K
        13 => (176, 256), // q5_K
        14 => (210, 256), // q6_K
        _ => return None,
    })
}

/// Checks that `path` is a structurally sound ggml Whisper file, reading the header and the
/// vocabulary and seeking over tensor data: whisper.cpp aborts the process (instead of failing)
/// on some malformed files, e.g. absurd sizes it tries to allocate.
fn check_ggml_file(path: &Path) -> Result<()> {
    let file = File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => anyhow!("file not found"),
        _ => anyhow!("cannot open: {e}"),
    })?;
    let len = file.metadata()?.len();
    check_ggml(&mut BufReader::new(file), len)
}

/// [`check_ggml_file`] over any reader of `len` bytes (the fuzzer feeds it altered headers in memory).
pub fn check_ggml<R: Read + Seek>(r: &mut R, len: u64) -> Result<()> {
    ensure!(
        read_i32(r, len)? as u32 == 0x6767_6d6c,
        "not a ggml whisper model (bad magic)"
    );
    let mut h = [0i32; 11];
    for v in &mut h {
        *v = read_i32(r, len)?;
    }
    check_hyper_parameters(&h)?;
    skip_filters_and_vocabulary(r, len, &h)?;
    check_tensors(r, len, &h)
}

/// A little-endian `i32`; the end of the file is "truncated".
fn read_i32<R: Read>(r: &mut R, len: u64) -> Result<i32> {
    let mut b = [0; 4];
    r.read_exact(&mut b).map_err(|e| truncated(e, len))?;
    Ok(i32::from_le_bytes(b))
}

fn truncated(e: std::io::Error, len: u64) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        anyhow!("file is truncated ({len} bytes)")
    } else {
        anyhow!(e)
    }
}

fn in_range(v: i32, lo: i32, hi: i32) -> bool {
    (lo..=hi).contains(&v)
}

/// The ten hyper-parameters and the ftype are those of a Whisper model whisper.cpp can load.
fn check_hyper_parameters(h: &[i32; 11]) -> Result<()> {
    let [
        n_vocab,
        n_audio_ctx,
        n_audio_state,
        n_audio_head,
        n_audio_layer,
        n_text_ctx,
        n_text_state,
        n_text_head,
        n_text_layer,
        n_mels,
        ftype,
    ] = *h;
    ensure!(
        in_range(n_vocab, 1, 1 << 20)
            && in_range(n_audio_ctx, 1, 1 << 16)
            && in_range(n_text_ctx, 1, 1 << 16)
            && in_range(n_audio_state, 1, 1 << 14)
            && n_audio_state == n_text_state
            && in_range(n_audio_head, 1, 1 << 10)
            && in_range(n_text_head, 1, 1 << 10)
            && n_audio_state % n_audio_head == 0
            && n_text_state % n_text_head == 0
            && in_range(n_audio_layer, 1, 128)
            && in_range(n_text_layer, 1, 128)
            && (n_mels == 80 || n_mels == 128)
            && matches!(ftype % 1000, 0..=3 | 7..=14),
        "not a whisper model: implausible hyper-parameters {h:?}"
    );
    Ok(())
}

/// Seeks over the mel filter bank and the vocabulary, checking their sizes.
fn skip_filters_and_vocabulary<R: Read + Seek>(r: &mut R, len: u64, h: &[i32; 11]) -> Result<()> {
    let (n_vocab, n_mels) = (h[0], h[9]);
    let (filter_rows, filter_cols) = (read_i32(r, len)?, read_i32(r, len)?);
    ensure!(
        filter_rows == n_mels && filter_cols == 201,
        "not a whisper model: mel filter bank is {filter_rows}x{filter_cols}, expected {n_mels}x201"
    );
    r.seek(SeekFrom::Current(i64::from(filter_rows * filter_cols) * 4))?;
    let n_tokens = read_i32(r, len)?;
    ensure!(
        in_range(n_tokens, 0, n_vocab),
        "not a whisper model: {n_tokens} tokens for a vocabulary of {n_vocab}"
    );
    for i in 0..n_tokens {
        let token_len = read_i32(r, len)?;
        ensure!(
            in_range(token_len, 0, 1024),
            "not a whisper model: token {i} is {token_len} bytes long"
        );
        r.seek(SeekFrom::Current(token_len.into()))?;
    }
    Ok(())
}

/// Tensor records until the end of the file: each one whisper.cpp expects, once, with the shape it expects.
/// (whisper.cpp allocates from the hyper-parameters before it looks at the tensors, so this also bounds what it
/// allocates by the file's size.)
fn check_tensors<R: Read + Seek>(r: &mut R, len: u64, h: &[i32; 11]) -> Result<()> {
    let mut expected = expected_tensors(h);
    let mut pos = r.stream_position()?;
    while pos < len {
        let (n_dims, name_len, ty) = (read_i32(r, len)?, read_i32(r, len)?, read_i32(r, len)?);
        ensure!(
            in_range(n_dims, 1, 3) && in_range(name_len, 1, 256),
            "not a whisper model: a tensor has {n_dims} dims and a {name_len}-byte name"
        );
        let mut ne = [1i32; 3];
        for d in ne.iter_mut().take(n_dims as usize) {
            *d = read_i32(r, len)?;
        }
        let mut name = vec![0; name_len as usize];
        r.read_exact(&mut name).map_err(|e| truncated(e, len))?;
        let name = String::from_utf8_lossy(&name).into_owned();
        let want = expected.remove(&name).ok_or_else(|| {
            anyhow!("not a whisper model of this size: unexpected or repeated tensor {name:?}")
        })?;
        ensure!(
            ne == want,
            "tensor {name} has shape {ne:?}, expected {want:?}"
        );
        let (block_bytes, block_len) = ggml_type_layout(ty)
            .ok_or_else(|| anyhow!("tensor {name} has unsupported ggml type {ty}"))?;
        ensure!(
            (ne[0] as u64).is_multiple_of(block_len),
            "tensor {name}: rows are not whole {block_len}-element blocks"
        );
        let elements = ne.iter().map(|&d| d as u64).product::<u64>();
        pos = r
            .stream_position()?
            .saturating_add(elements / block_len * block_bytes);
        ensure!(
            pos <= len,
            "file is truncated ({len} bytes): tensor {name} needs bytes up to {pos}"
        );
        r.seek(SeekFrom::Start(pos))?;
    }
    if let Some(name) = expected.keys().next() {
        bail!(
            "file is truncated or incomplete: {} tensors missing, e.g. {name}",
            expected.len()
        );
    }
    Ok(())
}

/// Every tensor whisper.cpp expects for these hyper-parameters and its shape (the converter's table).
fn expected_tensors(h: &[i32; 11]) -> HashMap<String, [i32; 3]> {
    let hp = crate::models::whisper_ggml::HParams::from_header(h);
    crate::models::whisper_ggml::tensor_shapes(&hp)
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn whisper_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Whisper>();
    }

    #[test]
    fn audio_ctx_follows_clip_length() {
        let en = MIN_AUDIO_CTX_EN;
        assert_eq!(audio_ctx_for(0, en), 256);
        assert_eq!(audio_ctx_for(16_000, en), 256);
        assert_eq!(audio_ctx_for(4 * 16_000, en), 264);
        assert_eq!(audio_ctx_for(4 * 16_000 + 1, en), 265);
        assert_eq!(audio_ctx_for(5 * 16_000, en), 314);
        assert_eq!(audio_ctx_for(10 * 16_000, en), 564);
        assert_eq!(audio_ctx_for(29 * 16_000, en), 1500);
        assert_eq!(audio_ctx_for(60 * 16_000, en), 1500);
        let multi = MIN_AUDIO_CTX_MULTILINGUAL;
        assert_eq!(audio_ctx_for(5 * 16_000, multi), 750);
        assert_eq!(audio_ctx_for(20 * 16_000, multi), 1064);
    }

    fn segs(texts: &[&str]) -> Vec<Segment> {
        texts
            .iter()
            .map(|t| Segment {
                start_ms: 0,
                end_ms: 0,
                text: t.to_string(),
            })
            .collect()
    }

    #[test]
    fn runaway_detection() {
        let normal = segs(&["Please tell me about a time you solved a difficult problem at work."]);
        assert!(!looks_runaway(&normal, 3700));
        assert!(looks_runaway(&normal, 1000), "68 characters in a second");
        assert!(looks_runaway(
            &segs(&["200. 200. 200. 200. 200. 200."]),
            10_000
        ));
        assert!(looks_runaway(
            &segs(&[
                "I think",
                "that I think that I think that I think that I think that I think that"
            ]),
            30_000
        ));
        assert!(!looks_runaway(
            &segs(&["No, no, no, no, that's wrong."]),
            3000
        ));
        // A whole sentence doubled, as tiny.en once heard a 4 s clip.
        let sentence = "I would start by clarifying the requirements and the expected traffic.";
        assert!(looks_runaway(
            &segs(&[&format!("{sentence} {sentence}")]),
            6000
        ));
        assert!(!looks_runaway(
            &segs(&["We ran the test again and again, and then we ran the test once more."]),
            6000
        ));
        // The first of two sentences heard again after the second (tiny.en, a 7.7 s piper clip of the benchmark).
        let echo = "I would start by clarifying the requirements and the expected traffic. We split the migration \
                    into small steps and shipped without losing any data. I would start by clarifying the \
                    requirements and the expected traffic.";
        assert!(looks_runaway(&segs(&[echo]), 7700));
        // Seven words said again later, as people do, are not a loop.
        assert!(!looks_runaway(
            &segs(&[
                "I would start with the data model. Then the API, and after that I would start with the \
                 caching layer."
            ]),
            9000
        ));
        assert!(!looks_runaway(&[], 0));
    }

    #[test]
    fn silence_check() {
        assert!(is_silent(&[]));
        assert!(is_silent(&vec![0.0; 16_000]));
        // -60 dBFS hiss is silence.
        let hiss: Vec<f32> = (0..16_000)
            .map(|i| if i % 2 == 0 { 0.001 } else { -0.001 })
            .collect();
        assert!(is_silent(&hiss));
        // One 20 ms burst of a 440 Hz tone at -20 dBFS in a second of silence is not.
        let mut clip = vec![0.0; 16_000];
        for (i, s) in clip[8000..8320].iter_mut().enumerate() {
            *s = 0.1 * (i as f32 * 440.0 * std::f32::consts::TAU / 16_000.0).sin();
        }
        assert!(!is_silent(&clip));
    }

    #[test]
    fn non_speech_is_stripped() {
        for blank in [
            "[BLANK_AUDIO]",
            " (music)",
            "[ Silence ]",
            " ♪♪",
            "*laughs*",
            " (upbeat music) [MUSIC]",
            " .",
            "",
        ] {
            assert_eq!(strip_non_speech(blank), None, "{blank:?}");
        }
        assert_eq!(
            strip_non_speech(" Hello there."),
            Some("Hello there.".into())
        );
        assert_eq!(
            strip_non_speech(" [BLANK_AUDIO] Okay,  so (coughs) two."),
            Some("Okay, so two.".into())
        );
        assert_eq!(
            strip_non_speech(" It's 3 o'clock."),
            Some("It's 3 o'clock.".into())
        );
    }

    const TINY_HPARAMS: [i32; 11] = [51864, 6, 4, 2, 1, 5, 4, 2, 1, 80, 1];

    /// A minimal well-formed ggml whisper file: one layer each, width 4, weights all zero.
    fn tiny_ggml() -> Vec<u8> {
        let mut b = Vec::new();
        let int = |b: &mut Vec<u8>, v: i32| b.extend(v.to_le_bytes());
        int(&mut b, 0x6767_6d6c);
        for v in TINY_HPARAMS {
            int(&mut b, v);
        }
        int(&mut b, 80);
        int(&mut b, 201);
        b.extend(vec![0; 80 * 201 * 4]);
        int(&mut b, 2);
        for t in [&b"a"[..], b"bc"] {
            int(&mut b, t.len() as i32);
            b.extend(t);
        }
        let mut tensors: Vec<_> = expected_tensors(&TINY_HPARAMS).into_iter().collect();
        tensors.sort();
        assert_eq!(tensors.len(), 11 + 15 + 24);
        for (name, ne) in tensors {
            int(&mut b, 3);
            int(&mut b, name.len() as i32);
            int(&mut b, 0);
            for d in ne {
                int(&mut b, d);
            }
            b.extend(name.as_bytes());
            b.extend(vec![0; ne.iter().product::<i32>() as usize * 4]);
        }
        b
    }

    fn check_bytes(b: &[u8]) -> Result<()> {
        check_ggml(&mut Cursor::new(b), b.len() as u64)
    }

    #[test]
    fn accepts_a_well_formed_file() {
        check_bytes(&tiny_ggml()).unwrap();
    }

    #[test]
    fn rejects_truncated_and_foreign_files() {
        let good = tiny_ggml();
        for cut in [0, 2, 30, 100, 65_000, good.len() - 30, good.len() - 1] {
            let err = check_bytes(&good[..cut]).unwrap_err();
            assert!(format!("{err:#}").contains("truncated"), "{cut}: {err:#}");
        }
        assert!(
            format!(
                "{:#}",
                check_bytes(b"GGUF and then some more bytes").unwrap_err()
            )
            .contains("bad magic")
        );
        let mut absurd = good.clone();
        absurd[20..24].copy_from_slice(&100_000i32.to_le_bytes()); // n_audio_layer
        assert!(format!("{:#}", check_bytes(&absurd).unwrap_err()).contains("implausible"));
        let mut extra = good.clone();
        extra.extend([0; 64]);
        assert!(check_bytes(&extra).is_err());
        // Same structure, but a tensor renamed (same length) or reshaped.
        let pos = good
            .windows(17)
            .position(|w| w == b"decoder.ln.weight")
            .unwrap();
        let mut renamed = good.clone();
        renamed[pos..pos + 17].copy_from_slice(b"decoder.ln.wEight");
        assert!(
            format!("{:#}", check_bytes(&renamed).unwrap_err())
                .contains("unexpected or repeated tensor")
        );
        let mut reshaped = good;
        // The dims sit just before the name: [4, 1, 1] becomes [1, 4, 1].
        reshaped[pos - 12..pos - 8].copy_from_slice(&1i32.to_le_bytes());
        reshaped[pos - 8..pos - 4].copy_from_slice(&4i32.to_le_bytes());
        assert!(format!("{:#}", check_bytes(&reshaped).unwrap_err()).contains("has shape"));
    }

    #[test]
    fn load_names_the_file() {
        let dir = std::env::temp_dir().join(format!("whisper-load-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.bin");
        let err = format!("{:#}", Whisper::load(&missing, 1).err().unwrap());
        assert!(
            err.contains("missing.bin") && err.contains("not found"),
            "{err}"
        );
        let garbage = dir.join("garbage.bin");
        std::fs::write(&garbage, b"this is not a model").unwrap();
        let err = format!("{:#}", Whisper::load(&garbage, 1).err().unwrap());
        assert!(
            err.contains("garbage.bin") && err.contains("bad magic"),
            "{err}"
        );
        let truncated = dir.join("truncated.bin");
        std::fs::write(&truncated, &tiny_ggml()[..5000]).unwrap();
        let err = format!("{:#}", Whisper::load(&truncated, 1).err().unwrap());
        assert!(
            err.contains("truncated.bin") && err.contains("truncated"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
