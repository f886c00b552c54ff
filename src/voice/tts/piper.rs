//! Text to speech with a piper voice (VITS exported to ONNX, phonemised by espeak-ng) on piper-rs and
//! onnxruntime, streamed sentence by sentence.
//!
//! # onnxruntime
//!
//! onnxruntime is not linked: ort's `load-dynamic` feature opens the shared library at run time, so the server
//! starts without it and reports TTS unavailable. ort hangs forever (a re-entrant `Once`) when the library it
//! opens is missing, is not onnxruntime or is too old, so [`init_onnxruntime`] proves all three before handing
//! the path to ort: the file is an ELF shared object for this architecture, exports `OrtGetApiBase`, carries a
//! version of at least `1.`[`ort::MINOR_VERSION`], and `dlopen`s (its own dependencies resolve). Nothing may
//! touch ort before that, or ort searches for `libonnxruntime.so` itself and hangs if it is not there.
//!
//! # Phonemes
//!
//! piper-rs phonemises a whole text at once and espeak-rs glues espeak's clauses together without their
//! punctuation, so speech loses its pauses and a paragraph is one model run. Here the text is cut into
//! sentences, each sentence into clauses at `, ; :`, each clause phonemised alone, and the punctuation put back
//! (as the Python piper does), so commas and full stops pause and the first sentence plays while the rest is
//! synthesised.
//!
//! # espeak-ng data
//!
//! espeak-rs looks for an `espeak-ng-data` directory in `$PIPER_ESPEAKNG_DATA_DIRECTORY`, the working directory
//! and the executable's directory, then espeak-ng itself tries `$ESPEAK_DATA_PATH`, `$HOME` and the path the
//! build baked in (under cargo's `OUT_DIR`, which exists only on the build machine).

use std::{
    fs,
    ops::ControlFlow,
    path::{Path, PathBuf},
    sync::{Mutex, OnceLock},
    time::Instant,
};

use anyhow::{Context, anyhow, bail};
use object::{Object, ObjectSection};
use ort::session::Session;

use super::resample::resample;
use crate::text;

/// A loaded piper voice. Synthesis runs one sentence at a time under a lock (onnxruntime's session needs
/// `&mut`, espeak-ng is a global), so share one `Piper` behind an `Arc`.
pub struct Piper {
    voice: Mutex<piper_rs::Piper>,
    /// espeak-ng voice name from the voice's JSON (`en-us` for joe).
    espeak_voice: String,
    sample_rate: u32,
}

impl std::fmt::Debug for Piper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Piper")
            .field("espeak_voice", &self.espeak_voice)
            .field("sample_rate", &self.sample_rate)
            .finish_non_exhaustive()
    }
}

/// espeak-ng keeps global state: one phonemisation at a time, process-wide.
static ESPEAK: Mutex<()> = Mutex::new(());

impl Piper {
    /// Loads a piper voice (`.onnx` with its `.onnx.json` beside it). Clear errors (never a hang) naming the
    /// file when the voice, its JSON or onnxruntime's library is missing or bad.
    pub fn load(voice_onnx: &Path, onnxruntime_lib: &Path) -> anyhow::Result<Self> {
        let started = Instant::now();
        let mut json_path = voice_onnx.as_os_str().to_owned();
        json_path.push(".json");
        let json_path = PathBuf::from(json_path);
        if !voice_onnx.is_file() {
            bail!("piper voice {} not found", voice_onnx.display());
        }
        let json = fs::read(&json_path).with_context(|| {
            format!(
                "cannot read the piper voice's config {} (it must sit beside the .onnx)",
                json_path.display()
            )
        })?;
        let config: piper_rs::ModelConfig = serde_json::from_slice(&json)
            .with_context(|| format!("{} is not a piper voice config", json_path.display()))?;
        let sample_rate = config.audio.sample_rate;
        if !(8000..=192_000).contains(&sample_rate) {
            bail!(
                "{}: implausible sample rate {sample_rate}",
                json_path.display()
            );
        }
        let espeak_voice = config.espeak.voice.clone();
        // Phonemise once now (cheap), so missing espeak-ng data fails the load, not the first utterance.
        phonemise(&espeak_voice, "Hello.").with_context(|| {
            format!(
                "espeak-ng cannot phonemise for voice {:?}: set PIPER_ESPEAKNG_DATA_DIRECTORY to the directory \
                 that holds `espeak-ng-data` (Debian's espeak-ng-data package: /usr/lib/x86_64-linux-gnu), \
                 or put `espeak-ng-data` beside the executable",
                espeak_voice
            )
        })?;

        crate::models::onnx::check_file(voice_onnx)?;
        init_onnxruntime(onnxruntime_lib)?;
        // No spinning: onnxruntime's idle threads would otherwise spin between runs, taking the CPU that the
        // language model and speech recognition share with it on a small machine (and, measured on 2 cores
        // under load, costing about 20% more CPU per sentence).
        let session = Session::builder()
            .and_then(|b| {
                Ok(b.with_intra_op_spinning(false)?
                    .with_inter_op_spinning(false)?)
            })
            .map_err(|e| anyhow!("onnxruntime: {e}"))?
            .commit_from_file(voice_onnx)
            .map_err(|e| anyhow!("cannot load the piper voice {}: {e}", voice_onnx.display()))?;
        let piper = Self {
            voice: Mutex::new(piper_rs::Piper::from_session(session, config)),
            espeak_voice,
            sample_rate,
        };
        // One short run now: onnxruntime's first run is slower (allocations), and the first utterance is the
        // one a user waits for.
        piper
            .speak("Hello.", sample_rate, &mut |_| ControlFlow::Continue(()))
            .with_context(|| {
                format!(
                    "the piper voice {} fails to synthesise",
                    voice_onnx.display()
                )
            })?;
        tracing::info!(
            voice = %voice_onnx.display(),
            sample_rate,
            secs = started.elapsed().as_secs_f32(),
            "piper voice loaded"
        );
        Ok(piper)
    }

    /// The voice's native sample rate (22050 Hz for joe medium).
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Synthesises `text` sentence by sentence, calling `sink` with 16-bit mono PCM at `rate` Hz (resampled
    /// from the voice's rate) as soon as each sentence is ready; `sink` returning `Break` stops synthesis.
    /// Text with nothing speakable gives no audio and `Ok`.
    pub fn speak(
        &self,
        text: &str,
        rate: u32,
        sink: &mut dyn FnMut(&[i16]) -> ControlFlow<()>,
    ) -> anyhow::Result<()> {
        if rate == 0 {
            bail!("cannot speak at 0 Hz");
        }
        for sentence in sentences(text) {
            let phonemes = phonemise(&self.espeak_voice, &sentence)?;
            if phonemes.is_empty() {
                continue;
            }
            let (audio, native) = self
                .voice
                .lock()
                .map_err(|_| anyhow!("the piper voice is poisoned by an earlier panic"))?
                .create(&phonemes, true, None, None, None, None)
                .map_err(|e| anyhow!("piper: {e} (sentence {sentence:?})"))?;
            let mut audio = resample(&audio, native, rate);
            normalise(&mut audio);
            let pcm = to_i16(&audio);
            if pcm.is_empty() {
                continue;
            }
            if sink(&pcm).is_break() {
                break;
            }
        }
        Ok(())
    }
}

/// A sentence's phonemes, clause by clause with the clauses' punctuation, as the Python piper makes them.
/// Empty when nothing in it can be spoken.
fn phonemise(espeak_voice: &str, sentence: &str) -> anyhow::Result<String> {
    let _espeak = ESPEAK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut out = String::new();
    for (clause, punct) in clauses(sentence) {
        let mut phonemes = String::new();
        // What espeak would still cut (a full stop after an abbreviation or initial) is phonemised
        // piece by piece too: espeak-rs would glue the pieces without a space.
        for piece in split_inner_stops(&clause) {
            let ph = espeak_rs::text_to_phonemes(piece, espeak_voice, None)
                .map_err(|e| anyhow!("{e}"))?
                .join(" ");
            let ph = ph.trim();
            if !ph.is_empty() {
                if !phonemes.is_empty() {
                    phonemes.push(' ');
                }
                phonemes.push_str(ph);
            }
        }
        if phonemes.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&phonemes);
        out.push(punct);
    }
    Ok(out)
}

/// Opens onnxruntime's shared library for ort, once per process (later calls return at once, whatever path
/// they name). Every way the file can be wrong is checked first, because ort hangs instead of failing.
/// Anything else in the process that uses ort (VAD, turn detection) must call this before touching ort.
pub fn init_onnxruntime(lib: &Path) -> anyhow::Result<()> {
    static LOADED: OnceLock<PathBuf> = OnceLock::new();
    static LOADING: Mutex<()> = Mutex::new(());
    let _serial = LOADING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(loaded) = LOADED.get() {
        if loaded != lib {
            tracing::debug!(
                loaded = %loaded.display(),
                asked = %lib.display(),
                "onnxruntime is already loaded; keeping it"
            );
        }
        return Ok(());
    }
    let absolute = fs::canonicalize(lib).with_context(|| {
        format!(
            "onnxruntime's library {} not found (it ships in the PyPI wheel onnxruntime as \
             onnxruntime/capi/libonnxruntime.so.1.*)",
            lib.display()
        )
    })?;
    let version = check_onnxruntime_file(&absolute)
        .with_context(|| format!("{} is not a usable onnxruntime library", lib.display()))?;
    // A real dlopen: catches unresolvable dependencies (an older glibc or libstdc++) with the loader's message.
    ort::util::preload_dylib(absolute.as_path()).map_err(|e| {
        anyhow!(
            "cannot load onnxruntime's library {}: {}",
            lib.display(),
            error_chain(&e)
        )
    })?;
    ort::init_from(&absolute)
        .map_err(|e| anyhow!("cannot load onnxruntime's library {}: {e}", lib.display()))?
        .with_name("rehearse")
        .with_telemetry(false)
        .commit();
    tracing::info!(lib = %absolute.display(), version, "onnxruntime loaded");
    let _ = LOADED.set(lib.to_path_buf());
    Ok(())
}

/// An error and its sources on one line (libloading's own message is only "dlopen failed").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Checks, without loading it, that `path` is an onnxruntime shared library that ort can use; returns its
/// version.
fn check_onnxruntime_file(path: &Path) -> anyhow::Result<String> {
    let meta = fs::metadata(path)?;
    if !meta.is_file() {
        bail!("not a file");
    }
    let file = fs::File::open(path)?;
    let cache = object::ReadCache::new(file);
    let elf = object::File::parse(&cache).map_err(|e| anyhow!("not a shared library: {e}"))?;
    if elf.format() != object::BinaryFormat::Elf || elf.kind() != object::ObjectKind::Dynamic {
        bail!("not an ELF shared library");
    }
    let want_arch = if cfg!(target_arch = "x86_64") {
        Some(object::Architecture::X86_64)
    } else if cfg!(target_arch = "aarch64") {
        Some(object::Architecture::Aarch64)
    } else {
        None
    };
    if want_arch.is_some_and(|a| a != elf.architecture()) {
        bail!("built for {:?}, not this machine", elf.architecture());
    }
    let exports = elf
        .exports()
        .map_err(|e| anyhow!("unreadable symbol table: {e}"))?;
    if !exports.iter().any(|e| e.name() == b"OrtGetApiBase") {
        bail!("it does not export OrtGetApiBase");
    }
    // onnxruntime's linker script tags its symbols `VERS_<version>`; the file name is the fallback.
    let dynstr = elf
        .section_by_name(".dynstr")
        .and_then(|s| s.data().ok())
        .unwrap_or_default();
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let version = version_in_dynstr(dynstr)
        .or_else(|| {
            file_name
                .strip_prefix("libonnxruntime.so.")
                .map(str::to_string)
        })
        .ok_or_else(|| anyhow!("cannot tell its onnxruntime version"))?;
    if !version_supported(&version, ort::MINOR_VERSION) {
        bail!(
            "onnxruntime {version} is too old: ort needs 1.{} or later",
            ort::MINOR_VERSION
        );
    }
    Ok(version)
}

/// The `x.y.z` of the first `VERS_x.y.z` in an ELF string table.
fn version_in_dynstr(dynstr: &[u8]) -> Option<String> {
    dynstr
        .split(|&b| b == 0)
        .filter_map(|s| s.strip_prefix(b"VERS_"))
        .filter_map(|v| std::str::from_utf8(v).ok())
        .find(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        .map(str::to_string)
}

/// Whether onnxruntime `version` ("1.31.1") is 1.`min_minor` or later.
fn version_supported(version: &str, min_minor: u32) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    matches!((parts.next(), parts.next()), (Some(Some(1)), Some(Some(minor))) if minor >= min_minor)
}

/// Peak level of each sentence, as a fraction of full scale.
const PEAK: f32 = 0.9;

/// Scales a sentence to a peak of [`PEAK`], as the Python piper normalises each sentence (joe's raw output
/// peaks around 0.4 and wanders from sentence to sentence); near-silence is raised by at most 40 dB.
fn normalise(audio: &mut [f32]) {
    let peak = audio.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    let gain = PEAK / peak.max(0.01);
    for s in audio.iter_mut() {
        *s *= gain;
    }
}

/// Model output (nominally -1..1) as 16-bit PCM, clipped.
pub fn to_i16(samples: &[f32]) -> Vec<i16> {
    samples
        .iter()
        .map(|&s| (s.clamp(-1.0, 1.0) * f32::from(i16::MAX)).round() as i16)
        .collect()
}

/// Sentences longer than this are cut at their clauses (or, failing that, between words), so the first audio
/// of a long sentence does not wait for all of it.
const MAX_CHARS: usize = 160;

/// Abbreviations spelt out before splitting, so their full stops neither end a sentence nor make espeak pause.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("mr.", "Mister"),
    ("mrs.", "Missus"),
    ("ms.", "Miz"),
    ("dr.", "Doctor"),
    ("prof.", "Professor"),
    ("e.g.", "for example,"),
    ("i.e.", "that is,"),
    ("etc.", "et cetera."),
    ("vs.", "versus"),
    ("approx.", "approximately"),
];

/// Splits text into speakable sentences/clauses: symbols, emoji and markup dropped or spelt as words, each
/// line and each sentence (ended by `. ? !`) apart, long sentences cut at `, ; :`. Each piece keeps its
/// punctuation; pieces with nothing to say are dropped.
pub fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in clean(text).lines() {
        for sentence in text::split_sentences(line) {
            for piece in split_long(&sentence, MAX_CHARS) {
                if piece.chars().any(char::is_alphanumeric) {
                    out.push(piece);
                }
            }
        }
    }
    out
}

/// Maps text to what espeak can say: one line per input line (list markers gone), no emoji, symbols or
/// markup, tidy spacing and punctuation.
fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for raw in text.split(['\n', '\r', '\u{2028}', '\u{2029}', '\u{85}']) {
        let line = tidy(&expand_abbreviations(&map_symbols(strip_list_marker(raw))));
        if !line.is_empty() {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// A line without its leading bullet ("- ", "* ", "• ") or number ("1. ", "2) ").
fn strip_list_marker(line: &str) -> &str {
    let line = line.trim_start();
    let rest = line.trim_start_matches(['-', '*', '•', '·', '+', '>']);
    if rest.len() != line.len() && rest.starts_with(char::is_whitespace) {
        return rest;
    }
    let digits = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if (1..=3).contains(&digits) {
        let rest = &line[digits..];
        if let Some(rest) = rest.strip_prefix(['.', ')'])
            && rest.starts_with(char::is_whitespace)
        {
            return rest;
        }
    }
    line
}

/// Characters mapped to what espeak can say or to spaces.
fn map_symbols(line: &str) -> String {
    let mut mapped = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' | ',' | ';' | ':' | '?' | '!' | '\'' | '%' | '$' | '€' | '£' | '¥' | '/' => {
                mapped.push(c)
            }
            // A hyphen joins words; spaced out, it is a dash.
            '-' => {
                let spaced = mapped.is_empty()
                    || mapped.ends_with(char::is_whitespace)
                    || chars.peek().is_none_or(|n| n.is_whitespace());
                mapped.push_str(if spaced { " , " } else { "-" });
            }
            '’' | '‘' | 'ʼ' | '′' => mapped.push('\''),
            '–' | '—' | '―' | '(' | ')' | '[' | ']' | '{' | '}' => mapped.push_str(" , "),
            '…' => mapped.push_str("..."),
            '&' => mapped.push_str(" and "),
            '+' => mapped.push_str(" plus "),
            '=' => mapped.push_str(" equals "),
            '@' => mapped.push_str(" at "),
            c if c.is_alphanumeric() => mapped.push(c),
            // Whitespace, control characters, quotes, markup (* _ ` # ~ | < >), emoji and every other symbol.
            _ => mapped.push(' '),
        }
    }
    mapped
}

fn expand_abbreviations(line: &str) -> String {
    line.split_whitespace()
        .map(|word| {
            // "e.g.," is "e.g." and its comma.
            let bare = word.trim_end_matches(is_clause_punct);
            ABBREVIATIONS
                .iter()
                .find(|(abbr, _)| bare.eq_ignore_ascii_case(abbr))
                .map_or_else(
                    || word.to_string(),
                    |(_, full)| format!("{full}{}", &word[bare.len()..]),
                )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_clause_punct(c: char) -> bool {
    matches!(c, ',' | ';' | ':')
}

/// One line with single spaces, no space before punctuation, no clause mark at its start or doubled, and a
/// clause mark before a full stop dropped.
fn tidy(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut space = false;
    for c in line.chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if is_clause_punct(c) || text::is_terminator(c) {
            match out.chars().last() {
                // Leading punctuation says nothing.
                None => {}
                // ", ," is one comma; ", ." a full stop.
                Some(last) if is_clause_punct(last) && text::is_terminator(c) => {
                    out.pop();
                    out.push(c);
                }
                Some(last) if is_clause_punct(last) => {}
                // "..." and "?!" stay; ". ." and ". ," are one full stop.
                Some(last) if text::is_terminator(last) && text::is_terminator(c) && !space => {
                    out.push(c)
                }
                Some(last) if text::is_terminator(last) => {}
                Some(_) => out.push(c),
            }
            // No space before punctuation; what follows it decides the space after.
            space = false;
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.push(c);
    }
    out.trim_start_matches(['\'', '/', ' ']).to_string()
}

/// How much of streamed `text` is whole sentences (a byte offset), so they can be spoken while the rest is still
/// being written; `None` while no sentence is complete. A sentence is complete once its `. ? !` is followed by a
/// space (where [`sentences`] cuts) or its line has ended.
pub fn complete_prefix(text: &str) -> Option<usize> {
    let chars: Vec<char> = text.chars().collect();
    let mut cut = None;
    let mut bytes = 0;
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\n' {
            cut = Some(bytes + 1);
        } else if text::is_terminator(chars[i]) {
            let start = i;
            while i + 1 < chars.len() && text::is_terminator(chars[i + 1]) {
                bytes += chars[i].len_utf8();
                i += 1;
            }
            let before_space = i + 1 < chars.len() && chars[i + 1].is_whitespace();
            if before_space && !text::is_initial(&chars, start, i) {
                cut = Some(bytes + chars[i].len_utf8());
            }
        }
        bytes += chars[i].len_utf8();
        i += 1;
    }
    cut
}

/// Like [`complete_prefix`], but also cuts after a clause (`, ; :` and a space) once at least `min_words` words
/// precede it: the first piece of a turn is spoken sooner, without waiting for the end of a long sentence.
pub fn complete_clause_prefix(text: &str, min_words: usize) -> Option<usize> {
    let sentence = complete_prefix(text);
    let mut words = 0;
    let mut in_word = false;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if sentence.is_some_and(|s| i >= s) {
            break;
        }
        if c.is_alphanumeric() {
            if !in_word {
                words += 1;
            }
            in_word = true;
            continue;
        }
        in_word = c == '\'' || c == '-';
        let next_is_space = chars.peek().is_some_and(|(_, n)| n.is_whitespace());
        if matches!(c, ',' | ';' | ':') && next_is_space && words >= min_words {
            return Some(i + c.len_utf8());
        }
    }
    sentence
}

/// Cuts a sentence longer than `max` characters at clause marks into pieces of at most `max` (where the
/// clauses allow), and a clause longer than `max` between words, marking the cut with a comma.
fn split_long(sentence: &str, max: usize) -> Vec<String> {
    if sentence.chars().count() <= max {
        return vec![sentence.to_string()];
    }
    let mut pieces: Vec<String> = Vec::new();
    let mut current = String::new();
    for (clause, punct) in clause_spans(sentence) {
        for part in split_words(&clause, max) {
            let candidate_len = current.chars().count() + 1 + part.chars().count();
            if !current.is_empty() && candidate_len > max {
                pieces.push(std::mem::take(&mut current));
            }
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(&part);
        }
        current.push_str(&punct);
    }
    if !current.trim().is_empty() {
        pieces.push(current);
    }
    pieces
}

/// A clause cut between words into parts of at most `max` characters, each but the last ending in a comma.
fn split_words(clause: &str, max: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    for word in clause.split_whitespace() {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > max {
            current.push(',');
            parts.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

/// A sentence as (clause text, its punctuation), cut after `, ; :` and `. ? !` that a space or the end
/// follows. The punctuation is the run as written ("?!", "...").
fn clause_spans(sentence: &str) -> Vec<(String, String)> {
    let chars: Vec<char> = sentence.chars().collect();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_clause_punct(c) || text::is_terminator(c) {
            let run_start = i;
            while i + 1 < chars.len()
                && (is_clause_punct(chars[i + 1]) || text::is_terminator(chars[i + 1]))
            {
                i += 1;
            }
            let at_end = i + 1 >= chars.len();
            let terminal_stop = text::is_terminator(c) && !at_end;
            // Only marks that end a clause: a space or the end follows; full stops inside a sentence
            // (initials) are left to `split_inner_stops`.
            if (at_end || chars[i + 1].is_whitespace()) && !terminal_stop {
                let text: String = chars[start..run_start].iter().collect();
                let punct: String = chars[run_start..=i].iter().collect();
                out.push((text.trim().to_string(), punct));
                start = i + 1;
            }
        }
        i += 1;
    }
    let rest: String = chars[start.min(chars.len())..].iter().collect();
    if !rest.trim().is_empty() {
        out.push((rest.trim().to_string(), String::new()));
    }
    out
}

/// A sentence as (clause text, the one punctuation mark piper's model is given after it). A sentence without
/// final punctuation ends with a full stop.
fn clauses(sentence: &str) -> Vec<(String, char)> {
    let spans = clause_spans(sentence);
    let n = spans.len();
    spans
        .into_iter()
        .enumerate()
        .filter(|(_, (text, _))| text.chars().any(char::is_alphanumeric))
        .map(|(i, (text, punct))| {
            let mark = if punct.contains('?') {
                '?'
            } else if punct.contains('!') {
                '!'
            } else if punct.contains('.') {
                '.'
            } else if let Some(c) = punct.chars().find(|&c| is_clause_punct(c)) {
                c
            } else if i + 1 == n {
                '.'
            } else {
                ','
            };
            (text, mark)
        })
        .collect()
}

/// A clause cut after full stops that a space follows (initials such as "J. R. R."), where espeak would end a
/// clause anyway.
fn split_inner_stops(clause: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = clause.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if text::is_terminator(char::from(b))
            && bytes.get(i + 1).is_some_and(u8::is_ascii_whitespace)
        {
            out.push(clause[start..=i].trim());
            start = i + 1;
        }
    }
    out.push(clause[start..].trim());
    out.retain(|s| !s.is_empty());
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn streamed_text_is_cut_after_its_last_whole_sentence() {
        assert_eq!(complete_prefix("Hello there"), None);
        assert_eq!(
            complete_prefix("Hello there."),
            None,
            "more may follow: 3.5"
        );
        assert_eq!(complete_prefix("It took 3.5 days"), None);
        let text = "Great, thanks. What did you do next? And wh";
        let cut = complete_prefix(text).unwrap();
        assert_eq!(&text[..cut], "Great, thanks. What did you do next?");
        assert_eq!(
            complete_prefix("I met J. Smith"),
            None,
            "an initial is not a sentence end"
        );
        assert_eq!(complete_prefix("Wow!! Really"), Some(5));
        assert_eq!(complete_prefix("A list:\n- one"), Some(8));
        assert_eq!(
            complete_clause_prefix("That's a great example, and I", 3),
            Some("That's a great example,".len())
        );
        assert_eq!(
            complete_clause_prefix("Well, so", 3),
            None,
            "too short to say alone"
        );
        assert_eq!(
            complete_clause_prefix("Right. Now, tell", 3),
            Some(6),
            "a sentence first"
        );
        let accented = "Très bien. Ensuite";
        assert_eq!(
            &accented[..complete_prefix(accented).unwrap()],
            "Très bien."
        );
    }

    use super::*;

    #[test]
    fn piper_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Piper>();
    }

    #[test]
    fn sentences_split_at_terminators() {
        assert_eq!(
            sentences("Hello there. How are you? I'm fine!"),
            ["Hello there.", "How are you?", "I'm fine!"]
        );
        assert_eq!(
            sentences("Wait... what?! Really."),
            ["Wait...", "what?!", "Really."]
        );
        assert_eq!(sentences("No final stop"), ["No final stop"]);
    }

    #[test]
    fn numbers_and_abbreviations_do_not_end_sentences() {
        assert_eq!(
            sentences("Pi is 3.14, about 1,000 times at 10:30. Next."),
            ["Pi is 3.14, about 1,000 times at 10:30.", "Next."]
        );
        assert_eq!(
            sentences("Dr. Smith met Mr. Jones, e.g. on Monday."),
            ["Doctor Smith met Mister Jones, for example, on Monday."]
        );
        assert_eq!(
            sentences("J. R. R. Tolkien wrote it."),
            ["J. R. R. Tolkien wrote it."]
        );
        assert_eq!(
            sentences("A Ph.D. in the U.S. now."),
            ["A Ph.D. in the U.S. now."]
        );
        assert_eq!(
            sentences("e.g., this; i.e., that"),
            ["for example, this; that is, that"]
        );
    }

    #[test]
    fn lines_are_separate_sentences_and_bullets_go() {
        assert_eq!(
            sentences("First point\n- second point\n* third\n\n1. fourth\r\n2) fifth"),
            ["First point", "second point", "third", "fourth", "fifth"]
        );
    }

    #[test]
    fn symbols_emoji_and_markup_are_dropped_or_spoken() {
        assert_eq!(
            sentences("Great job 🎉🎉! **Well done**."),
            ["Great job!", "Well done."]
        );
        assert_eq!(
            sentences("Use `map` & \"filter\" (both)."),
            ["Use map and filter, both."]
        );
        assert_eq!(sentences("a+b=c"), ["a plus b equals c"]);
        assert_eq!(sentences("It’s fine — really"), ["It's fine, really"]);
        assert_eq!(
            sentences("A well-known trick - really"),
            ["A well-known trick, really"]
        );
    }

    #[test]
    fn nothing_speakable_gives_nothing() {
        assert!(sentences("").is_empty());
        assert!(sentences("   \n\t ").is_empty());
        assert!(sentences("🎉 ★ → ∑ ... !!! ,,,").is_empty());
        assert_eq!(sentences("\0a\u{7}b\u{1b}"), ["a b"]);
    }

    #[test]
    fn long_sentences_are_cut_at_clauses_then_words() {
        let clause = "this clause has quite a few words in it";
        let long = format!("{clause}, {clause}, {clause}, {clause}, {clause}.");
        let pieces = sentences(&long);
        assert!(pieces.len() > 1, "{pieces:?}");
        assert!(
            pieces.iter().all(|p| p.chars().count() <= MAX_CHARS),
            "{pieces:?}"
        );
        assert!(pieces.iter().all(|p| p.ends_with([',', '.'])), "{pieces:?}");
        assert_eq!(pieces.join(" "), long);

        let words = "word ".repeat(100);
        let pieces = sentences(&words);
        assert!(pieces.len() > 1);
        assert!(
            pieces.iter().all(|p| p.chars().count() <= MAX_CHARS + 1),
            "{pieces:?}"
        );
        assert_eq!(pieces.join(" ").replace(',', ""), words.trim());
    }

    #[test]
    fn clauses_carry_one_punctuation_mark() {
        assert_eq!(
            clauses("Well, I think so; maybe: yes?!"),
            [
                ("Well".to_string(), ','),
                ("I think so".to_string(), ';'),
                ("maybe".to_string(), ':'),
                ("yes".to_string(), '?'),
            ]
        );
        assert_eq!(clauses("no stop"), [("no stop".to_string(), '.')]);
        assert_eq!(clauses("Wait..."), [("Wait".to_string(), '.')]);
        assert_eq!(
            clauses("at 10:30, 3.14"),
            [("at 10:30".to_string(), ','), ("3.14".to_string(), '.')]
        );
        assert_eq!(split_inner_stops("J. R. Tolkien"), ["J.", "R.", "Tolkien"]);
    }

    #[test]
    fn onnxruntime_versions() {
        assert!(version_supported("1.31.1", 24));
        assert!(version_supported("1.24.0", 24));
        assert!(!version_supported("1.23.2", 24));
        assert!(!version_supported("2.0.0", 24));
        assert!(!version_supported("garbage", 24));
        assert_eq!(
            version_in_dynstr(b"\0libc.so.6\0VERS_1.31.1\0GLIBC_2.3\0").as_deref(),
            Some("1.31.1")
        );
        assert_eq!(version_in_dynstr(b"\0libc.so.6\0"), None);
    }

    #[test]
    fn sentences_are_normalised_to_one_peak() {
        let mut loud = vec![0.0, 0.5, -0.25];
        normalise(&mut loud);
        assert_eq!(loud, [0.0, PEAK, -PEAK / 2.0]);
        let mut silent = vec![0.0; 4];
        normalise(&mut silent);
        assert_eq!(silent, [0.0; 4]);
        let mut quiet = vec![0.001];
        normalise(&mut quiet);
        assert!((quiet[0] - 0.001 * PEAK / 0.01).abs() < 1e-6);
    }

    #[test]
    fn pcm_conversion_clips() {
        assert_eq!(
            to_i16(&[0.0, 1.0, -1.0, 2.0, -2.0, 0.5]),
            [0, 32767, -32767, 32767, -32767, 16384]
        );
    }
}
