//! `rehearse bench turns`: the end-of-turn decision alone, over a pause set, without a server or an interviewer.
//! Each clip goes through the same VAD, end-of-turn rules and whisper as a live interview, frame by frame on audio
//! time: whisper starts on the turn as it stands [`TRANSCRIBE_AFTER_MS`] into a silence and its verdict counts
//! from when whisper would have finished (its measured time), so a slow transcription waits as it would live. A
//! turn that ends before the clip's true end is a cut-in; for the others, how long after the last word the turn
//! ended. Fast enough to tune the rules on a development set (a live `bench voice` run takes minutes per answer
//! group), and it prints what whisper heard at each decision.

use std::time::Instant;

use anyhow::Context;
use serde::Serialize;

use super::pauses::Clip;
use crate::{
    backends::{Spec, open_stt, open_vad},
    engine::turns::{self, FRAME, Rules, TRANSCRIBE_AFTER_MS, TurnTaker},
    models::Purpose,
    stats::Stats,
};

/// One decision: a turn ended, with the words whisper heard for it during the pause.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub file: String,
    /// Seconds into the clip.
    pub at: f64,
    /// Seconds before the true end (a cut-in), or after it (negative: after).
    pub before_end: f64,
    pub words: Option<String>,
    /// How the voice ended before the pause, in semitones from its median ([`crate::voice::pitch`]).
    pub ending: Option<f32>,
    pub wait_ms: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub stt: String,
    pub vad: String,
    pub rules: String,
    pub clips: usize,
    /// Answers the turn ended inside of at least once.
    pub cut_into: usize,
    pub cut_ins: Vec<Decision>,
    /// Last word -> the end of the turn, for the answers not cut into.
    pub end_of_turn: Stats,
    /// Answers whose turn never ended within 10 s of silence after them.
    pub stuck: usize,
    pub decisions: Vec<Decision>,
}

/// Runs `clips` through the `set`'s whisper and VAD with `rules`.
pub fn run(
    models_dir: &std::path::Path,
    set: &str,
    rules: Rules,
    clips: &[Clip],
) -> anyhow::Result<Report> {
    let stt_name = super::voice::model(set, Purpose::Stt)?;
    let vad_name = super::voice::model(set, Purpose::Vad)?;
    let (whisper, status) = open_stt(&Spec::Local(stt_name.clone()), models_dir);
    let whisper = whisper.with_context(|| format!("whisper does not load: {status:?}"))?;
    let (silero, status) = open_vad(&Spec::Local(vad_name.clone()), models_dir);
    let silero = silero.with_context(|| format!("the VAD does not load: {status:?}"))?;
    let (mut decisions, mut cut_ins, mut ends, mut stuck, mut cut_into) =
        (Vec::new(), Vec::new(), Vec::new(), 0, 0);
    for clip in clips {
        let mut taker = TurnTaker::new(rules, Box::new(silero.listener()));
        let heard = decide(clip, &mut taker, whisper.as_ref(), &rules)?;
        let was_cut = heard.iter().any(|d| d.before_end > 0.0);
        match heard.iter().find(|d| d.before_end <= 0.0) {
            Some(end) if !was_cut => ends.push(-end.before_end * 1000.0),
            Some(_) => {}
            None => stuck += 1,
        }
        if was_cut {
            cut_into += 1;
        }
        cut_ins.extend(heard.iter().filter(|d| d.before_end > 0.0).cloned());
        decisions.extend(heard);
    }
    Ok(Report {
        stt: stt_name,
        vad: vad_name,
        rules: format!(
            "finished after {} ms, brief {} ms, at most {} ms",
            rules.finished_silence_ms, rules.brief_silence_ms, rules.end_silence_ms
        ),
        clips: clips.len(),
        cut_into,
        cut_ins,
        end_of_turn: Stats::of(ends),
        stuck,
        decisions,
    })
}

/// Follows one clip (and 10 s of silence after it) frame by frame on audio time until its turn ends after the
/// true end: every turn that ended, with the words whisper heard in the pause that ended it.
fn decide(
    clip: &Clip,
    taker: &mut TurnTaker,
    whisper: &dyn crate::voice::SpeechToText,
    rules: &Rules,
) -> anyhow::Result<Vec<Decision>> {
    let ms_per_frame = (FRAME * 1000 / 16_000) as u32;
    let kind = clip.info.kind;
    let audio: Vec<f32> = clip
        .pcm
        .iter()
        .map(|&s| f32::from(s) / 32_768.0)
        .chain(std::iter::repeat_n(0.0, 16_000 * 10))
        .collect();
    let mut decisions = Vec::new();
    // The transcription of this pause: its words and the audio time at which whisper has them.
    let mut early: Option<(String, u32, Option<f32>)> = None;
    let mut judged = false;
    let mut t_ms = 0u32;
    for frame in audio.chunks(FRAME) {
        t_ms += ms_per_frame;
        if let Some((words, ready, ending)) = &early
            && !judged
            && *ready <= t_ms
        {
            taker.end_after(turns::wait_after(words, kind, rules, *ending));
            judged = true;
        }
        for _turn in taker.push(frame) {
            let at = f64::from(t_ms) / 1000.0;
            decisions.push(Decision {
                file: clip.info.file.clone(),
                at,
                before_end: clip.info.end - at,
                words: early.as_ref().map(|(w, _, _)| w.clone()),
                ending: early.as_ref().and_then(|(_, _, e)| *e),
                wait_ms: early
                    .as_ref()
                    .filter(|_| judged)
                    .map(|(w, _, e)| turns::wait_after(w, kind, rules, *e)),
            });
            early = None;
            judged = false;
        }
        match taker.pending(TRANSCRIBE_AFTER_MS) {
            Some(turn) if early.is_none() => {
                let started = Instant::now();
                let words = whisper.transcribe(&turn)?.text;
                let ending = crate::voice::pitch::ending_semitones(&turn);
                let took = started.elapsed().as_millis() as u32;
                early = Some((words, t_ms + took, ending));
                judged = false;
            }
            Some(_) => {}
            None => {
                early = None;
                judged = false;
            }
        }
        if decisions.last().is_some_and(|d| d.before_end <= 0.0) {
            break;
        }
    }
    Ok(decisions)
}

pub fn print(r: &Report, verbose: bool) {
    println!(
        "{} answers through {} and {}; end of turn {}",
        r.clips, r.stt, r.vad, r.rules
    );
    println!(
        "cut into: {} answers ({} cut-ins); never ended: {}",
        r.cut_into,
        r.cut_ins.len(),
        r.stuck
    );
    println!(
        "last word -> end of turn, answers not cut into ({}): p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms",
        r.end_of_turn.count, r.end_of_turn.p50_ms, r.end_of_turn.p95_ms, r.end_of_turn.max_ms
    );
    let shown = if verbose { &r.decisions } else { &r.cut_ins };
    for d in shown {
        println!(
            "  {} at {:.1} s ({:+.1} s to its end), pitch {}, wait {}: {:?}",
            d.file,
            d.at,
            d.before_end,
            d.ending.map_or("-".to_string(), |e| format!("{e:+.1}")),
            d.wait_ms.map_or("-".to_string(), |w| format!("{w} ms")),
            d.words.as_deref().unwrap_or("")
        );
    }
}
