//! `rehearse bench voice`: spoken interviews against a server started in this process with a model set's whisper,
//! LLM and piper voice. Each simulated candidate signs up, starts an interview over a real WebSocket with audio on,
//! and answers aloud: recordings made by the same voice at 16 kHz, sent in 20 ms chunks paced in real time, then
//! silence, as a microphone would, until the interviewer's voice comes back; it waits for the reply to finish
//! playing before answering again. Reported: end of speech to the first audio frame received (with the end-of-turn
//! silence, and without it), and the server's own record of each stage (`turn_latency`), as p50 and p95.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use serde::Serialize;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use super::{
    Stats,
    load::{Ws, message, open_interview, peak_rss_mb, tempfile_dir},
};
use crate::{
    app::{self, AppState},
    backends::Spec,
    catalog::RoundKind,
    config::Settings,
    engine::turns::TurnEnd,
    models::{Manifest, Purpose},
    realtime::pb::{self, client_frame, server_frame::Kind},
};

#[derive(Debug, Clone)]
pub struct Options {
    /// The model set whose whisper, LLM and voice the server runs (`tiny`, `default`, `large`).
    pub set: String,
    /// An interviewer to run instead of the set's (`--llm local:NAME` or a remote `--llm openai:MODEL`).
    pub llm: Option<Spec>,
    /// Speech on another server instead of the set's (`--stt openai:MODEL`, `--tts openai:MODEL`), and its voice.
    pub stt: Option<Spec>,
    pub tts: Option<Spec>,
    pub tts_voice: String,
    /// A speech-to-speech model in place of all three (`--realtime`).
    pub realtime: Option<crate::voice::live::LiveConfig>,
    pub interviews: usize,
    pub turns: usize,
    /// Answers from a pause set instead of the built-in three (each said once, shared out among the interviews).
    pub clips: Option<Vec<super::pauses::Clip>>,
}

/// An answer of a pause set the interviewer started to speak into.
#[derive(Debug, Clone, Serialize)]
pub struct CutIn {
    pub file: String,
    /// How long before the answer's true end the interviewer's first audio came.
    pub before_end_ms: f64,
    /// How long into the answer.
    pub at_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub set: String,
    pub stt: String,
    pub llm: String,
    pub tts: String,
    pub vad: String,
    pub interviews: usize,
    pub turns: usize,
    pub errors: Vec<String>,
    /// The longest end-of-turn silence, and the one after words that read as a finished answer.
    pub end_of_turn_ms: u32,
    pub end_of_turn_finished_ms: u32,
    /// The candidate's last word -> the interviewer's first audio frame at the client, the end-of-turn silence
    /// included (with a pause set: of the answers not cut into).
    pub speech_end_to_first_audio: Stats,
    /// The server's record of each stage (`turn_latency`), each timed on its own.
    pub stages: Vec<(String, Stats)>,
    /// Answers whose reply the model began during the pause, before the end of the turn was decided.
    pub replies_ahead: usize,
    pub wall_seconds: f64,
    pub peak_rss_mb: Option<f64>,
    /// With a pause set: its answers, and those the interviewer cut into (the latency figures are of the rest).
    pub clips: usize,
    pub cut_ins: Vec<CutIn>,
    /// Answers the candidate went on with just after the interviewer began to reply, taken back up as one.
    pub resumed: u64,
    /// Turns ended, by what set the silence that ended them: words read as finished, words that trailed off, and
    /// the longest wait because whisper had not yet heard the pause's words.
    pub ended_finished: u64,
    pub ended_trailing: u64,
    pub ended_before_words: u64,
    /// Captions of the candidate's words shown while they spoke, and the answers that had at least one.
    pub captions: usize,
    pub answers_captioned: usize,
}

/// Answers of several lengths (about 2, 5 and 9 seconds spoken).
const ANSWERS: [&str; 3] = [
    "I would start with a hash map.",
    "I owned the migration of our billing service, and we shipped it two weeks early with no data loss.",
    "The hardest part was convincing the payments team to freeze their schema for a week. I showed them the \
     failure rate from the last migration, and offered to take their on-call shifts during the cutover.",
];

const CHUNK: usize = 320;

/// The interview finished (its rounds ran out) while a candidate still had answers to give.
#[derive(Debug)]
struct Ended;

impl std::fmt::Display for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the interview ended")
    }
}

impl std::error::Error for Ended {}

/// What one candidate measured.
#[derive(Default)]
pub(super) struct Samples {
    pub(super) to_first_audio: Vec<f64>,
    pub(super) turns: usize,
    cut_ins: Vec<CutIn>,
    /// Captions of the candidate's words seen while they spoke, and the answers that had at least one.
    captions: usize,
    captioned: usize,
}

/// A caption of the candidate's words while they speak (not the answer as stored, not its withdrawal).
fn is_caption(t: &pb::TranscriptDelta) -> bool {
    !t.is_final && t.turn_id.starts_with("caption-")
}

/// Waits for the interviewer's next spoken turn (a turn id not in `done`); returns its id, when its first frame
/// came, and how long it plays. Sends `silence` paced in real time meanwhile, if given, as an open microphone does.
async fn hear_turn(
    ws: &mut Ws,
    done: &[String],
    mut silence: Option<&mut u64>,
    captions: &mut usize,
) -> anyhow::Result<(String, Instant, Duration)> {
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut turn: Option<(String, Instant)> = None;
    let mut samples = 0u64;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if Instant::now() > deadline {
            bail!("no spoken reply within 120 s");
        }
        tokio::select! {
            _ = tick.tick(), if silence.is_some() && turn.is_none() => {
                if let Some(seq) = silence.as_deref_mut() {
                    ws.send(audio_chunk(*seq, &[0; CHUNK])).await?;
                    *seq += 1;
                }
            }
            msg = ws.next() => {
                let Some(Ok(msg)) = msg else { bail!("the WebSocket closed") };
                let Message::Binary(bytes) = msg else { continue };
                match pb::ServerFrame::decode(bytes.as_ref())?.kind {
                    Some(Kind::Audio(a)) if !done.contains(&a.turn_id) => {
                        let (id, first) = turn.get_or_insert_with(|| (a.turn_id.clone(), Instant::now())).clone();
                        if a.turn_id != id {
                            continue;
                        }
                        samples += a.pcm.len() as u64 / 2;
                        if a.last {
                            let rate = u64::from(a.sample_rate.max(1));
                            return Ok((id, first, Duration::from_millis(samples * 1000 / rate)));
                        }
                    }
                    Some(Kind::Transcript(t)) if is_caption(&t) => *captions += 1,
                    Some(Kind::Error(e)) => bail!("error frame: {} {}", e.code, e.message),
                    Some(Kind::SessionState(s)) if s.status() == pb::SessionStatus::Completed => {
                        return Err(Ended.into())
                    }
                    _ => {}
                }
            }
        }
    }
}

/// A client that wants the interviewer's voice at 16 kHz.
fn hello() -> pb::Hello {
    pb::Hello {
        client_version: "bench-voice".into(),
        want_audio: true,
        playback_sample_rate: 16_000,
        ..Default::default()
    }
}

fn audio_chunk(sequence: u64, pcm: &[i16]) -> Message {
    message(
        sequence + 1,
        client_frame::Kind::Audio(pb::AudioChunk {
            sequence,
            sample_rate: 16_000,
            pcm: pcm.iter().flat_map(|s| s.to_le_bytes()).collect(),
        }),
    )
}

/// One spoken interview: the opening heard, then `turns` answers from `clips` said aloud, each reply heard out.
pub(super) async fn candidate(
    addr: SocketAddr,
    n: usize,
    turns: usize,
    clips: &[Vec<i16>],
) -> anyhow::Result<Samples> {
    let email = format!("voice-{}-{n}@example.com", crate::db::now_ms());
    // The Bar Raiser round alone: behavioural questions with follow-ups, enough turns to answer aloud.
    let mut ws = open_interview(addr, &email, json!([6]), hello()).await?;
    let mut s = Samples::default();
    let mut done: Vec<String> = Vec::new();
    let (id, first, plays) = hear_turn(&mut ws, &done, None, &mut 0).await?;
    done.push(id);
    tokio::time::sleep((first + plays).saturating_duration_since(Instant::now())).await;
    let mut seq = 0u64;
    for k in 0..turns {
        let clip = &clips[(n + k) % clips.len()];
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        for chunk in clip.chunks(CHUNK) {
            tick.tick().await;
            ws.send(audio_chunk(seq, chunk)).await?;
            seq += 1;
        }
        let speech_end = Instant::now();
        let before = s.captions;
        let (id, first, plays) = hear_turn(&mut ws, &done, Some(&mut seq), &mut s.captions).await?;
        s.to_first_audio
            .push(first.duration_since(speech_end).as_secs_f64() * 1000.0);
        s.turns += 1;
        s.captioned += usize::from(s.captions > before);
        done.push(id);
        tokio::time::sleep((first + plays).saturating_duration_since(Instant::now())).await;
    }
    let _ = ws.close(None).await;
    Ok(s)
}

/// Says `clip` into the interview, paced in real time, while listening: the interviewer's first audio of a new turn
/// before the answer's true end is a cut-in (that turn is then counted done, and the rest of the clip is said, a
/// barge-in); otherwise the first audio after it is the answer's response time. Waits for the reply to be heard out.
async fn say_clip(
    ws: &mut Ws,
    seq: &mut u64,
    done: &mut Vec<String>,
    clip: &super::pauses::Clip,
    s: &mut Samples,
) -> anyhow::Result<()> {
    let end = clip.end_sample();
    let began = Instant::now();
    let captions_before = s.captions;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut at = 0;
    let mut speech_end: Option<Instant> = None;
    let mut cut = false;
    while at < clip.pcm.len() {
        tokio::select! {
            _ = tick.tick() => {
                let next = (at + CHUNK).min(clip.pcm.len());
                ws.send(audio_chunk(*seq, &clip.pcm[at..next])).await?;
                *seq += 1;
                at = next;
                if at >= end && speech_end.is_none() {
                    // The chunk holding the last word has gone: the moment its end was "said".
                    let over = (at - end) as u64 * 1000 / 16_000;
                    speech_end = Some(Instant::now() - Duration::from_millis(over));
                }
            }
            msg = ws.next() => {
                let Some(Ok(msg)) = msg else { bail!("the WebSocket closed") };
                let Message::Binary(bytes) = msg else { continue };
                match pb::ServerFrame::decode(bytes.as_ref())?.kind {
                    Some(Kind::Audio(a)) if !done.contains(&a.turn_id) => {
                        match speech_end {
                            None => {
                                done.push(a.turn_id.clone());
                                let at_ms = began.elapsed().as_secs_f64() * 1000.0;
                                s.cut_ins.push(CutIn {
                                    file: clip.info.file.clone(),
                                    before_end_ms: clip.info.end * 1000.0 - at_ms,
                                    at_ms,
                                });
                                cut = true;
                            }
                            Some(t) => {
                                if !cut {
                                    s.to_first_audio.push(t.elapsed().as_secs_f64() * 1000.0);
                                }
                                // The reply began within the clip's last chunk: hear it out.
                                let id = a.turn_id.clone();
                                finish_hearing(ws, done, seq, id, a).await?;
                                s.turns += 1;
                                s.captioned += usize::from(s.captions > captions_before);
                                return Ok(());
                            }
                        }
                    }
                    Some(Kind::Transcript(t)) if is_caption(&t) => s.captions += 1,
                    Some(Kind::Error(e)) if e.code != "out_of_order" => bail!("error frame: {} {}", e.code, e.message),
                    Some(Kind::SessionState(st)) if st.status() == pb::SessionStatus::Completed => {
                        return Err(Ended.into())
                    }
                    _ => {}
                }
            }
        }
    }
    let speech_end = speech_end.unwrap_or_else(Instant::now);
    let (id, first, plays) = hear_turn(ws, done, Some(seq), &mut s.captions).await?;
    if !cut {
        s.to_first_audio
            .push(first.duration_since(speech_end).as_secs_f64() * 1000.0);
    }
    s.turns += 1;
    s.captioned += usize::from(s.captions > captions_before);
    done.push(id);
    tokio::time::sleep((first + plays).saturating_duration_since(Instant::now())).await;
    Ok(())
}

/// The rest of a turn whose first frame `first` has come: waits for its last frame and for it to play out.
async fn finish_hearing(
    ws: &mut Ws,
    done: &mut Vec<String>,
    seq: &mut u64,
    id: String,
    first: pb::AudioOut,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let rate = u64::from(first.sample_rate.max(1));
    let mut samples = first.pcm.len() as u64 / 2;
    let mut last = first.last;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let deadline = Instant::now() + Duration::from_secs(120);
    while !last {
        if Instant::now() > deadline {
            bail!("a spoken reply did not finish within 120 s");
        }
        tokio::select! {
            _ = tick.tick() => {
                ws.send(audio_chunk(*seq, &[0; CHUNK])).await?;
                *seq += 1;
            }
            msg = ws.next() => {
                let Some(Ok(msg)) = msg else { bail!("the WebSocket closed") };
                let Message::Binary(bytes) = msg else { continue };
                if let Some(Kind::Audio(a)) = pb::ServerFrame::decode(bytes.as_ref())?.kind
                    && a.turn_id == id
                {
                    samples += a.pcm.len() as u64 / 2;
                    last = a.last;
                }
            }
        }
    }
    done.push(id);
    let plays = Duration::from_millis(samples * 1000 / rate);
    tokio::time::sleep((started + plays).saturating_duration_since(Instant::now())).await;
    Ok(())
}

/// Interviews that say `clips` in turn, `per_interview` answers each, the opening heard out first.
async fn clips_candidate(
    addr: SocketAddr,
    n: usize,
    per_interview: usize,
    clips: &[super::pauses::Clip],
) -> anyhow::Result<Samples> {
    let mut s = Samples::default();
    // Each answer in a round of its kind (Amazon SDE II's loop), so the round's context counts as it would live.
    let round = |kind: Option<RoundKind>| match kind {
        Some(RoundKind::RecruiterScreen) => 0,
        Some(RoundKind::Coding) => 1,
        Some(RoundKind::SystemDesign) => 4,
        Some(RoundKind::HiringManager) => 5,
        Some(RoundKind::Behavioral) | None => 6,
    };
    let mut groups: Vec<(usize, Vec<super::pauses::Clip>)> = Vec::new();
    for clip in clips {
        let r = round(clip.info.kind);
        match groups
            .iter_mut()
            .find(|(g, c)| *g == r && c.len() < per_interview)
        {
            Some((_, c)) => c.push(clip.clone()),
            None => groups.push((r, vec![clip.clone()])),
        }
    }
    let mut k = 0;
    for (round, group) in &groups {
        let mut left: &[super::pauses::Clip] = group;
        // A round whose questions run out ends the interview: the rest of its answers go to a new one.
        while !left.is_empty() {
            k += 1;
            let email = format!("pauses-{}-{n}-{k}@example.com", crate::db::now_ms());
            let mut ws = open_interview(addr, &email, json!([round]), hello()).await?;
            let mut done: Vec<String> = Vec::new();
            let (id, first, plays) = hear_turn(&mut ws, &done, None, &mut 0).await?;
            done.push(id);
            tokio::time::sleep((first + plays).saturating_duration_since(Instant::now())).await;
            let mut seq = 0u64;
            let mut said = 0;
            while let Some((clip, rest)) = left.split_first() {
                let before = (s.cut_ins.len(), s.to_first_audio.len(), s.turns);
                match say_clip(&mut ws, &mut seq, &mut done, clip, &mut s).await {
                    Ok(()) => {
                        left = rest;
                        said += 1;
                    }
                    Err(e) if e.downcast_ref::<Ended>().is_some() && said > 0 => {
                        // Said again from the start in the next interview: nothing of this try counts.
                        s.cut_ins.truncate(before.0);
                        s.to_first_audio.truncate(before.1);
                        s.turns = before.2;
                        break;
                    }
                    Err(e) => return Err(e.context(format!("clip {}", clip.info.file))),
                }
            }
            let _ = ws.close(None).await;
        }
    }
    Ok(s)
}

pub(super) fn model(set: &str, role: Purpose) -> anyhow::Result<String> {
    Ok(Manifest::builtin()
        .in_set(set, role)
        .with_context(|| format!("the {set} set has no {role:?} model"))?
        .name
        .clone())
}

/// The candidate's answers, recorded at 16 kHz by `voice`.
pub(super) fn clips(voice: &dyn crate::voice::TextToSpeech) -> anyhow::Result<Vec<Vec<i16>>> {
    ANSWERS
        .iter()
        .map(|text| {
            let mut pcm = Vec::new();
            voice.speak(text, 16_000, &mut |p| {
                pcm.extend_from_slice(p);
                std::ops::ControlFlow::Continue(())
            })?;
            // The recording ends with the last word: the client's "end of speech" is when it was sent.
            let loud = pcm
                .iter()
                .rposition(|s| s.unsigned_abs() > 400)
                .unwrap_or(0);
            pcm.truncate((loud + 320).min(pcm.len()));
            Ok(pcm)
        })
        .collect()
}

/// Runs the benchmark with the models installed in `models_dir`.
pub async fn run(models_dir: &std::path::Path, opts: &Options) -> anyhow::Result<Report> {
    let (stt, llm, tts, vad) = (
        model(&opts.set, Purpose::Stt)?,
        match &opts.llm {
            Some(spec) => spec.clone(),
            None => Spec::Local(model(&opts.set, Purpose::Llm)?),
        },
        model(&opts.set, Purpose::Tts)?,
        model(&opts.set, Purpose::Vad)?,
    );
    let dir = tempfile_dir()?;
    let mut settings = Settings::for_data_dir(&dir);
    settings.models_dir = models_dir.to_path_buf();
    settings.stt = opts.stt.clone().unwrap_or(Spec::Local(stt.clone()));
    settings.llm = llm.clone();
    settings.tts = opts.tts.clone().unwrap_or(Spec::Local(tts.clone()));
    settings.tts_voice = opts.tts_voice.clone();
    settings.realtime = opts.realtime.clone();
    settings.vad = Spec::Local(vad.clone());
    // Nobody waits in silence here long enough for a prompt to matter, but the answers must not be prompted.
    settings.silence_prompt = Duration::from_secs(600);
    let (end_of_turn_ms, end_of_turn_finished_ms) =
        (settings.end_of_turn_ms, settings.end_of_turn_finished_ms);
    let state = AppState::open(settings).await?;
    let builtin = std::sync::Arc::new(check_loaded(&state, models_dir, opts, &stt, &llm, &tts)?);
    // What ran, as the report names it.
    let named = |remote: &Option<Spec>, local: String| match (&opts.realtime, remote) {
        (Some(r), _) => format!("{}:{} (live)", r.provider.prefix(), r.model),
        (None, Some(spec)) => spec.to_string(),
        (None, None) => local,
    };
    let (stt, tts) = (named(&opts.stt, stt), named(&opts.tts, tts));
    let llm = match &opts.realtime {
        Some(_) => named(&None, String::new()),
        None => llm.to_string(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app::serve(listener, state.clone(), async {
        stopped.await.ok();
    }));

    let began = Instant::now();
    let heard = gather(interviews(addr, opts, &builtin)).await;
    let wall_seconds = began.elapsed().as_secs_f64();
    let records = state
        .db()
        .call(|c| crate::db::spoken::latencies(c, None))
        .await?;
    let peak = peak_rss_mb();
    let resumed = state.metrics().resumed();
    let ends = |end| state.metrics().turn_ends(end);
    let (ended_finished, ended_trailing, ended_before_words) = (
        ends(TurnEnd::Finished),
        ends(TurnEnd::TrailedOff),
        ends(TurnEnd::BeforeWords),
    );
    let _ = stop.send(());
    let _ = server.await;
    state.hub().stop_all().await;
    let _ = std::fs::remove_dir_all(dir);

    let stages = crate::db::spoken::stage_stats(&records)
        .into_iter()
        .map(|(name, stats)| (name.to_string(), stats))
        .collect();
    Ok(Report {
        set: opts.set.clone(),
        stt,
        llm,
        tts,
        vad,
        interviews: opts.interviews,
        turns: heard.turns,
        errors: heard.errors,
        end_of_turn_ms,
        end_of_turn_finished_ms,
        speech_end_to_first_audio: Stats::of(heard.to_first_audio),
        stages,
        replies_ahead: records.iter().filter(|r| r.reply_ahead).count(),
        wall_seconds,
        peak_rss_mb: peak,
        clips: opts.clips.as_ref().map_or(0, Vec::len),
        cut_ins: heard.cut_ins,
        resumed,
        ended_finished,
        ended_trailing,
        ended_before_words,
        captions: heard.captions,
        answers_captioned: heard.answers_captioned,
    })
}

/// Every model of the set loaded (the benchmark measures them, not the fallbacks): the built-in answers, spoken
/// by its voice.
fn check_loaded(
    state: &AppState,
    models_dir: &std::path::Path,
    opts: &Options,
    stt: &str,
    llm: &Spec,
    tts: &str,
) -> anyhow::Result<Vec<Vec<i16>>> {
    let served = state.tts().with_context(|| {
        format!(
            "the voice {tts} does not load (rehearse models fetch --set {})",
            opts.set
        )
    })?;
    // The candidate's answers are said by the set's own voice, whoever speaks for the interviewer.
    let voice = if opts.tts.is_some() || opts.realtime.is_some() {
        crate::backends::open_tts(&Spec::Local(tts.to_string()), "", models_dir)
            .0
            .with_context(|| {
                format!(
                    "the voice {tts} does not load (rehearse models fetch --set {})",
                    opts.set
                )
            })?
    } else {
        served
    };
    if state.stt().is_none() {
        bail!(
            "whisper {stt} does not load (rehearse models fetch --set {})",
            opts.set
        );
    }
    if state.llm().name() == "scripted" {
        bail!(
            "the LLM {llm} does not load (rehearse models fetch --set {})",
            opts.set
        );
    }
    clips(voice.as_ref())
}

/// The interviews at once, each answering aloud: the built-in answers, or its share of a pause set (interview n
/// says every n-th answer).
fn interviews(
    addr: SocketAddr,
    opts: &Options,
    builtin: &std::sync::Arc<Vec<Vec<i16>>>,
) -> Vec<tokio::task::JoinHandle<anyhow::Result<Samples>>> {
    (0..opts.interviews)
        .map(|n| {
            let builtin = builtin.clone();
            let turns = opts.turns;
            let mine: Option<Vec<super::pauses::Clip>> = opts.clips.as_ref().map(|all| {
                all.iter()
                    .skip(n)
                    .step_by(opts.interviews)
                    .cloned()
                    .collect()
            });
            tokio::spawn(async move {
                match mine {
                    Some(clips) => clips_candidate(addr, n, turns, &clips).await,
                    None => candidate(addr, n, turns, &builtin).await,
                }
            })
        })
        .collect()
}

/// What the interviews heard, added up.
#[derive(Default)]
struct Heard {
    to_first_audio: Vec<f64>,
    errors: Vec<String>,
    cut_ins: Vec<CutIn>,
    turns: usize,
    captions: usize,
    answers_captioned: usize,
}

async fn gather(tasks: Vec<tokio::task::JoinHandle<anyhow::Result<Samples>>>) -> Heard {
    let mut heard = Heard::default();
    for t in tasks {
        match t.await {
            Ok(Ok(s)) => {
                heard.to_first_audio.extend(s.to_first_audio);
                heard.turns += s.turns;
                heard.cut_ins.extend(s.cut_ins);
                heard.captions += s.captions;
                heard.answers_captioned += s.captioned;
            }
            Ok(Err(e)) => heard.errors.push(format!("{e:#}")),
            Err(e) => heard.errors.push(e.to_string()),
        }
    }
    heard
}

/// The report as a table for people.
pub fn print(r: &Report) {
    println!(
        "{} spoken interview(s) at once, {} answers in {:.0} s; set {}: {} / {} / {} / {}; end of turn after {} ms of silence when the words read as finished, at most {} ms",
        r.interviews,
        r.turns,
        r.wall_seconds,
        r.set,
        r.stt,
        r.llm,
        r.tts,
        r.vad,
        r.end_of_turn_finished_ms,
        r.end_of_turn_ms
    );
    println!("{:<44} {:>9} {:>9} {:>9}", "", "p50 ms", "p95 ms", "max ms");
    let row = |name: &str, s: &Stats| {
        println!(
            "{name:<44} {:>9.0} {:>9.0} {:>9.0}",
            s.p50_ms, s.p95_ms, s.max_ms
        );
    };
    row(
        "client: end of speech -> first audio",
        &r.speech_end_to_first_audio,
    );
    for (name, s) in &r.stages {
        row(&format!("server: {name}"), s);
    }
    println!(
        "replies begun during the pause, before the end of the turn: {} of {}",
        r.replies_ahead, r.turns
    );
    println!(
        "turns ended after words that read as finished: {}, that trailed off: {}, before whisper had the words: {}",
        r.ended_finished, r.ended_trailing, r.ended_before_words
    );
    println!(
        "captions of the candidate's words while speaking: {} (in {} of {} answers)",
        r.captions, r.answers_captioned, r.turns
    );
    if r.clips > 0 {
        let mut files: Vec<&str> = r.cut_ins.iter().map(|c| c.file.as_str()).collect();
        files.dedup();
        println!(
            "pause set: {} answers, {} cut into ({} cut-ins), latency above of the {} not cut into",
            r.clips,
            files.len(),
            r.cut_ins.len(),
            r.speech_end_to_first_audio.count
        );
        println!(
            "answers taken back up (the candidate went on, the reply stopped, both parts made one answer): {}",
            r.resumed
        );
        for c in &r.cut_ins {
            println!(
                "  cut-in: {} at {:.1} s, {:.1} s before its end",
                c.file,
                c.at_ms / 1000.0,
                c.before_end_ms / 1000.0
            );
        }
    }
    if let Some(mb) = r.peak_rss_mb {
        println!("peak resident memory (server and clients in one process): {mb:.0} MB");
    }
    if !r.errors.is_empty() {
        println!("{} interview(s) failed:", r.errors.len());
        for e in r.errors.iter().take(5) {
            println!("  {e}");
        }
    }
}
