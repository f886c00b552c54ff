//! `rehearse bench models`: how fast the local models run here. For the LLM: load time, a cold interviewer
//! prompt's prefill speed and time to first token, a follow-up turn's time to first token with the conversation's
//! KV cache kept (the reply the model wrote, then the candidate's answer) and without it, and decode speed, as
//! medians of three runs of the conversation. For the voice: time to the first audio of a ten-word sentence and
//! the real-time factor. For speech-to-text: clips of known sentences (about 3, 5 and 10 s) spoken by piper and by
//! espeak-ng (when installed), transcribed, with word error rate and real-time factor. For voice activity
//! detection: the time to judge one 32 ms window. Peak resident memory of the process at the end (all of the
//! set's models loaded).

use std::{ops::ControlFlow, path::Path, time::Instant};

use anyhow::Context;
use serde::Serialize;

use crate::{
    catalog::{self, SeedSource},
    engine::{
        interview::{Intent, Utterance},
        prompts,
        wording::Ask,
    },
    llm::{Llm, Message, Request, local::LocalLlm},
    models::{Manifest, Purpose as ModelRole},
    voice::stt::{whisper::Whisper, word_error_rate},
    voice::tts::piper::Piper,
};

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub set: String,
    pub threads: usize,
    /// The instruction set the LLM's own kernels run with (`REHEARSE_ISA` picks another).
    pub kernels: String,
    pub llm: Option<LlmReport>,
    pub tts: Option<TtsReport>,
    pub stt: Option<SttReport>,
    pub vad: Option<VadReport>,
    pub peak_rss_mb: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct VadReport {
    pub model: String,
    pub load_seconds: f64,
    /// Median time to judge one 32 ms window.
    pub window_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TtsReport {
    pub voice: String,
    pub load_seconds: f64,
    /// A ten-word sentence: time to its first audio.
    pub first_audio_ms: f64,
    /// A paragraph: synthesis time over the audio's duration.
    pub real_time_factor: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SttReport {
    pub model: String,
    pub load_seconds: f64,
    pub clips: Vec<Clip>,
    /// Word error rate over all clips of each voice.
    pub wer_piper: f64,
    pub wer_espeak: Option<f64>,
    /// Transcription time over audio duration, all clips.
    pub real_time_factor: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Clip {
    pub voice: String,
    pub audio_seconds: f64,
    pub transcribe_ms: f64,
    pub wer: f64,
    /// What whisper heard.
    pub heard: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LlmReport {
    pub model: String,
    pub load_seconds: f64,
    /// Runs of the conversation; the speeds and times are their medians.
    pub runs: usize,
    pub prompt_tokens: u32,
    pub prefill_tokens_per_second: f64,
    pub first_token_ms: f64,
    /// Decoding, measured on the follow-up turn's 64 tokens.
    pub decode_tokens: u32,
    pub decode_tokens_per_second: f64,
    /// A follow-up turn (the reply and the candidate's answer appended), with the conversation's KV cache.
    pub follow_up_first_token_ms: f64,
    /// Each run's.
    pub follow_up_first_token_ms_each: Vec<f64>,
    pub follow_up_cached_tokens: u32,
    pub follow_up_new_tokens: u32,
    /// The same follow-up without a cache: the whole prompt runs again.
    pub follow_up_cold_first_token_ms: f64,
    /// The same cold prompt and decode length through llama.cpp, when asked for and installed.
    pub llama_cpp: Option<LlamaCpp>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct LlamaCpp {
    pub prompt_tokens: u32,
    pub prefill_tokens_per_second: f64,
    pub first_token_ms: f64,
    pub decode_tokens_per_second: f64,
}

const LLAMA_CPP_SCRIPT: &str = include_str!("llama_cpp_bench.py");

/// Runs the prompt through llama.cpp (`pip install llama-cpp-python`) on the same file and thread count.
fn llama_cpp(model: &Path, prompt: &str, decode: u32, threads: usize) -> anyhow::Result<LlamaCpp> {
    let dir = tempfile::tempdir()?;
    let (script, prompt_file) = (
        dir.path().join("llama_cpp_bench.py"),
        dir.path().join("prompt.txt"),
    );
    std::fs::write(&script, LLAMA_CPP_SCRIPT)?;
    std::fs::write(&prompt_file, prompt)?;
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg(model)
        .arg(&prompt_file)
        .arg(decode.to_string())
        .arg(threads.to_string())
        .output()?;
    if !out.status.success() {
        anyhow::bail!(
            "llama.cpp did not run (`pip install llama-cpp-python` builds it): {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// A realistic model piece: Amazon's persona, the fixed examples, and a follow-up on a candidate's answer.
fn interview_messages() -> anyhow::Result<Vec<Message>> {
    Ok(prompts::piece(
        &amazon()?,
        "SDE II",
        &utterance(ANSWER),
        Ask::FollowUp,
        "a connection-pool limit",
        false,
    ))
}

fn amazon() -> anyhow::Result<crate::catalog::Company> {
    let catalog = catalog::load(&SeedSource::Embedded)?.catalog;
    catalog
        .company("amazon")
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("the catalog has no amazon"))
}

const ANSWER: &str = "Last year my manager wanted to ship a feature without load testing. I disagreed because our \
    peak traffic was three times the test environment. I wrote a one-page risk summary, proposed a two-day load \
    test, and we found a connection-pool limit that would have taken the checkout service down on launch day.";

fn utterance(said: &str) -> Utterance {
    Utterance {
        intent: Intent::FollowUp,
        round: 0,
        round_kind: crate::catalog::RoundKind::Behavioral,
        round_title: "Bar Raiser".into(),
        question: Some(crate::engine::plan::Question {
            id: "disagree".into(),
            pool: crate::engine::plan::QuestionPool::Behavioral,
            text: "Tell me about a time you disagreed with your manager and what you did about it."
                .into(),
            follow_ups: vec![],
        }),
        candidate_said: Some(said.into()),
        suggested_follow_up: None,
        process: None,
        turn: 3,
        elsewhere: false,
    }
}

fn request(messages: Vec<Message>, session: Option<&str>, max_tokens: u32) -> Request {
    Request {
        messages,
        scripted: String::new(),
        max_tokens,
        temperature: 0.0,
        seed: 1,
        stop: vec![],
        session: session.map(str::to_string),
        ignore_eos: true,
    }
}

/// Times the conversation is run, each on a fresh session: the LLM's figures are their medians, so one
/// disturbed run (this machine's speed varies) does not decide them.
const LLM_RUNS: usize = 3;

/// One run of the measured conversation.
struct LlmRun {
    prompt_tokens: u32,
    prefill_tokens_per_second: f64,
    first_token_ms: f64,
    decode_tokens: u32,
    decode_tokens_per_second: f64,
    follow_up_first_token_ms: f64,
    follow_up_cached_tokens: u32,
    follow_up_new_tokens: u32,
    /// The follow-up's messages.
    follow: Vec<Message>,
}

/// The interviewer's turn and the follow-up on a fresh session.
fn run_conversation(llm: &LocalLlm, messages: &[Message], session: &str) -> anyhow::Result<LlmRun> {
    let quiet = &mut |_: &str| ControlFlow::Continue(());
    // The interviewer's turn as the live interview runs it: the reply ends where the model ends it.
    let mut turn = request(messages.to_vec(), Some(session), 64);
    turn.ignore_eos = false;
    let first = llm.generate(&turn, quiet)?;
    let u = first.usage;
    let new_prompt = (u.prompt_tokens - u.cached_tokens).max(1);

    // The next piece, as the live interview builds it: the same system prompt and examples (from the
    // conversation's cache), then the acknowledgement of the candidate's next answer. It writes 64 tokens
    // whatever it says, which measures decoding.
    let follow = prompts::piece(
        &amazon()?,
        "SDE II",
        &utterance(
            "I ran the load test myself over a weekend and shared the graphs with the team.",
        ),
        Ask::Bridge,
        "the load test myself over",
        false,
    );
    let warm = llm.generate(&request(follow.clone(), Some(session), 64), quiet)?;
    let decode_time = warm.usage.total.saturating_sub(warm.usage.first_token);
    let decode_tokens = warm.usage.completion_tokens.saturating_sub(1);
    Ok(LlmRun {
        prompt_tokens: u.prompt_tokens,
        prefill_tokens_per_second: new_prompt as f64 / u.prefill.as_secs_f64().max(1e-9),
        first_token_ms: u.first_token.as_secs_f64() * 1000.0,
        decode_tokens,
        decode_tokens_per_second: decode_tokens as f64 / decode_time.as_secs_f64().max(1e-9),
        follow_up_first_token_ms: warm.usage.first_token.as_secs_f64() * 1000.0,
        follow_up_cached_tokens: warm.usage.cached_tokens,
        follow_up_new_tokens: warm.usage.prompt_tokens - warm.usage.cached_tokens,
        follow,
    })
}

/// The median of `runs`' values of `f`.
fn median(runs: &[LlmRun], f: impl Fn(&LlmRun) -> f64) -> f64 {
    let mut v: Vec<f64> = runs.iter().map(f).collect();
    v.sort_by(f64::total_cmp);
    crate::stats::percentile(&v, 50.0)
}

fn run_llm(path: &Path, name: &str, compare: bool) -> anyhow::Result<LlmReport> {
    let started = Instant::now();
    let llm = LocalLlm::load(path, name)?;
    let load_seconds = started.elapsed().as_secs_f64();
    let messages = interview_messages()?;
    let quiet = &mut |_: &str| ControlFlow::Continue(());

    // Warm-up on a separate conversation so page faults and allocator growth are not measured.
    llm.generate(&request(messages.clone(), None, 4), quiet)?;

    let runs = (0..LLM_RUNS)
        .map(|i| run_conversation(&llm, &messages, &format!("bench-{i}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let last = runs.last().context("no runs")?;
    let cold = llm.generate(&request(last.follow.clone(), None, 1), quiet)?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let llama_cpp = if compare {
        Some(llama_cpp(path, &llm.render(&messages), 64, threads)?)
    } else {
        None
    };
    Ok(LlmReport {
        model: name.to_string(),
        load_seconds,
        runs: runs.len(),
        prompt_tokens: last.prompt_tokens,
        prefill_tokens_per_second: median(&runs, |r| r.prefill_tokens_per_second),
        first_token_ms: median(&runs, |r| r.first_token_ms),
        decode_tokens: last.decode_tokens,
        decode_tokens_per_second: median(&runs, |r| r.decode_tokens_per_second),
        follow_up_first_token_ms: median(&runs, |r| r.follow_up_first_token_ms),
        follow_up_first_token_ms_each: runs.iter().map(|r| r.follow_up_first_token_ms).collect(),
        follow_up_cached_tokens: last.follow_up_cached_tokens,
        follow_up_new_tokens: last.follow_up_new_tokens,
        follow_up_cold_first_token_ms: cold.usage.first_token.as_secs_f64() * 1000.0,
        llama_cpp,
    })
}

/// Known sentences the clips speak, joined into clips of about 3, 8 and 13 seconds (also the speech tests'). No
/// numbers: written digits would count as recognition errors.
pub const SENTENCES: [&str; 4] = [
    "Tell me about a time you disagreed with your manager.",
    "I would start by clarifying the requirements and the expected traffic.",
    "We split the migration into small steps and shipped without losing any data.",
    "What would you do differently if you had more time?",
];

fn clip_texts() -> Vec<String> {
    vec![
        SENTENCES[0].to_string(),
        SENTENCES[1..3].join(" "),
        SENTENCES.join(" "),
    ]
}

fn run_tts(voice: &Piper, path: &Path, load_seconds: f64) -> anyhow::Result<TtsReport> {
    let ten_words = "The quick brown fox jumps over the lazy dog every morning.";
    let started = Instant::now();
    let mut first = None;
    voice.speak(ten_words, voice.sample_rate(), &mut |_| {
        first.get_or_insert(started.elapsed());
        ControlFlow::Continue(())
    })?;
    let paragraph = SENTENCES.join(" ");
    let started = Instant::now();
    let mut samples = 0usize;
    voice.speak(&paragraph, voice.sample_rate(), &mut |pcm| {
        samples += pcm.len();
        ControlFlow::Continue(())
    })?;
    let audio = samples as f64 / f64::from(voice.sample_rate());
    Ok(TtsReport {
        voice: path.display().to_string(),
        load_seconds,
        first_audio_ms: first.unwrap_or_default().as_secs_f64() * 1000.0,
        real_time_factor: started.elapsed().as_secs_f64() / audio.max(1e-9),
    })
}

/// Speech from `espeak-ng` at 16 kHz, when it is installed.
fn espeak(text: &str) -> Option<Vec<f32>> {
    let dir = tempfile::tempdir().ok()?;
    let wav = dir.path().join("clip.wav");
    let ok = std::process::Command::new("espeak-ng")
        .arg("-w")
        .arg(&wav)
        .arg(text)
        .status()
        .ok()?
        .success();
    if !ok {
        return None;
    }
    let (rate, samples) = crate::voice::stt::wav::read(&std::fs::read(&wav).ok()?)?;
    Some(crate::voice::tts::resample::resample(
        &samples, rate, 16_000,
    ))
}

fn run_stt(
    whisper: &Whisper,
    name: &str,
    load_seconds: f64,
    voice: Option<&Piper>,
) -> anyhow::Result<SttReport> {
    // Warm-up: the first run allocates whisper's buffers.
    whisper.transcribe(&vec![0.01; 16_000])?;
    let mut clips = Vec::new();
    let (mut audio_total, mut time_total) = (0.0, 0.0);
    let mut errors: std::collections::BTreeMap<&str, (f64, usize)> = Default::default();
    for text in clip_texts() {
        let mut sources: Vec<(&str, Vec<f32>)> = Vec::new();
        if let Some(v) = voice {
            let mut pcm = Vec::new();
            v.speak(&text, 16_000, &mut |p| {
                pcm.extend(p.iter().map(|s| f32::from(*s) / 32768.0));
                ControlFlow::Continue(())
            })?;
            sources.push(("piper", pcm));
        }
        if let Some(pcm) = espeak(&text) {
            sources.push(("espeak-ng", pcm));
        }
        for (voice, pcm) in sources {
            let t = whisper.transcribe(&pcm)?;
            let wer = word_error_rate(&text, &t.text);
            let words = text.split_whitespace().count();
            let e = errors.entry(voice).or_default();
            e.0 += wer * words as f64;
            e.1 += words;
            let audio_seconds = pcm.len() as f64 / 16_000.0;
            audio_total += audio_seconds;
            time_total += f64::from(t.elapsed_ms) / 1000.0;
            clips.push(Clip {
                voice: voice.to_string(),
                audio_seconds,
                transcribe_ms: f64::from(t.elapsed_ms),
                wer,
                heard: t.text.clone(),
            });
        }
    }
    let rate = |v: &str| errors.get(v).map(|(e, n)| e / (*n).max(1) as f64);
    Ok(SttReport {
        model: name.to_string(),
        load_seconds,
        clips,
        wer_piper: rate("piper").unwrap_or(f64::NAN),
        wer_espeak: rate("espeak-ng"),
        real_time_factor: time_total / audio_total.max(1e-9),
    })
}

/// Peak resident memory of this process (Linux), in MB.
pub fn peak_rss_mb() -> f64 {
    super::proc_status_mb("VmHWM").unwrap_or(0.0)
}

pub fn run(
    models_dir: &Path,
    set: &str,
    llm: Option<&str>,
    compare_llama_cpp: bool,
) -> anyhow::Result<Report> {
    let manifest = Manifest::builtin();
    manifest.set(set)?;
    let llm_name = match llm {
        Some(n) => Some(n.to_string()),
        None => manifest.in_set(set, ModelRole::Llm).map(|m| m.name.clone()),
    };
    let llm = match llm_name {
        Some(name) => {
            let path = manifest.locate(models_dir, &name, ModelRole::Llm)?;
            Some(run_llm(&path, &name, compare_llama_cpp)?)
        }
        None => None,
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut tts = None;
    let mut voice = None;
    if let Some(model) = manifest.in_set(set, ModelRole::Tts) {
        let path = manifest.locate(models_dir, &model.name, ModelRole::Tts)?;
        let runtime = manifest.locate(models_dir, "onnxruntime", ModelRole::Runtime)?;
        let started = Instant::now();
        let v = Piper::load(&path, &runtime)?;
        tts = Some(run_tts(&v, &path, started.elapsed().as_secs_f64())?);
        voice = Some(v);
    }
    let stt = match manifest.in_set(set, ModelRole::Stt) {
        Some(model) => {
            let path = manifest.locate(models_dir, &model.name, ModelRole::Stt)?;
            let started = Instant::now();
            let w = Whisper::load(&path, threads)?;
            Some(run_stt(
                &w,
                &model.name,
                started.elapsed().as_secs_f64(),
                voice.as_ref(),
            )?)
        }
        None => None,
    };
    let vad = match manifest.in_set(set, ModelRole::Vad) {
        Some(model) => {
            let path = manifest.locate(models_dir, &model.name, ModelRole::Vad)?;
            let runtime = manifest.locate(models_dir, "onnxruntime", ModelRole::Runtime)?;
            let started = Instant::now();
            let silero = crate::voice::vad::Silero::load(&path, &runtime)?;
            let load_seconds = started.elapsed().as_secs_f64();
            Some(VadReport {
                model: model.name.clone(),
                load_seconds,
                window_ms: crate::voice::vad::time_per_window(&silero, 500)?.as_secs_f64() * 1000.0,
            })
        }
        None => None,
    };
    Ok(Report {
        set: set.to_string(),
        threads,
        kernels: rehearse_kernels::Isa::best().name().to_string(),
        llm,
        tts,
        stt,
        vad,
        peak_rss_mb: peak_rss_mb(),
    })
}

pub fn print(r: &Report) {
    println!(
        "Local models, set {} ({} threads, {} kernels)",
        r.set, r.threads, r.kernels
    );
    if let Some(l) = &r.llm {
        print_llm(l);
    }
    if let Some(t) = &r.tts {
        println!("TTS {} (loaded in {:.1} s)", t.voice, t.load_seconds);
        println!(
            "  first audio of a ten-word sentence: {:.0} ms; real-time factor {:.3}",
            t.first_audio_ms, t.real_time_factor
        );
    }
    if let Some(s) = &r.stt {
        print_stt(s);
    }
    if let Some(v) = &r.vad {
        println!(
            "VAD {} (loaded in {:.2} s): {:.3} ms per 32 ms window",
            v.model, v.load_seconds, v.window_ms
        );
    }
    println!("peak resident memory: {:.0} MB", r.peak_rss_mb);
}

/// Prints the LLM's figures, and llama.cpp's beside them when it was compared.
fn print_llm(l: &LlmReport) {
    println!(
        "LLM {} (loaded in {:.1} s; medians of {} runs)",
        l.model, l.load_seconds, l.runs
    );
    println!(
        "  cold prompt: {} tokens, prefill {:.1} tok/s, first token {:.0} ms",
        l.prompt_tokens, l.prefill_tokens_per_second, l.first_token_ms
    );
    println!(
        "  decode: {:.1} tok/s over {} tokens (the follow-up turn)",
        l.decode_tokens_per_second, l.decode_tokens
    );
    println!(
        "  follow-up turn: first token {:.0} ms with the KV cache (runs: {}; {} cached, {} new tokens), {:.0} ms \
         without",
        l.follow_up_first_token_ms,
        l.follow_up_first_token_ms_each
            .iter()
            .map(|ms| format!("{ms:.0}"))
            .collect::<Vec<_>>()
            .join(", "),
        l.follow_up_cached_tokens,
        l.follow_up_new_tokens,
        l.follow_up_cold_first_token_ms
    );
    if let Some(c) = &l.llama_cpp {
        println!(
            "  llama.cpp, same file and threads: prefill {:.1} tok/s ({:.0}% ours/theirs), decode {:.1} tok/s \
             ({:.0}%), first token {:.0} ms",
            c.prefill_tokens_per_second,
            100.0 * l.prefill_tokens_per_second / c.prefill_tokens_per_second,
            c.decode_tokens_per_second,
            100.0 * l.decode_tokens_per_second / c.decode_tokens_per_second,
            c.first_token_ms
        );
    }
}

/// Prints the speech-to-text figures: each clip, then the word error rates and the real-time factor.
fn print_stt(s: &SttReport) {
    println!("STT {} (loaded in {:.1} s)", s.model, s.load_seconds);
    for c in &s.clips {
        println!(
            "  {:<10} {:>5.1} s clip: {:>6.0} ms, WER {:.1}%",
            c.voice,
            c.audio_seconds,
            c.transcribe_ms,
            c.wer * 100.0
        );
        if c.wer > 0.1 {
            println!("    heard: {}", c.heard);
        }
    }
    println!(
        "  WER: piper {:.1}%{}; real-time factor {:.3}",
        s.wer_piper * 100.0,
        s.wer_espeak
            .map(|w| format!(", espeak-ng {:.1}%", w * 100.0))
            .unwrap_or_default(),
        s.real_time_factor
    );
}
