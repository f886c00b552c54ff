//! How a stretch of speech ended in pitch: whether the voice fell at its end, as at the end of a statement, or
//! stayed level or rose, as before a comma when more is coming (a "continuation rise"). Used by turn-taking
//! ([`crate::engine::turns::wait_after`]) beside the words: whisper writes a full stop after a clause cut by a pause,
//! but the voice before the pause often did not fall.
//!
//! The pitch is tracked by normalised autocorrelation on 30 ms frames every 10 ms, at 8 kHz (60 to 400 Hz); a
//! frame is voiced when it is loud enough and its best period correlates at 0.6 or more. The ending is the median
//! pitch of the last voiced frames before the speech stopped, in semitones from the median of the whole stretch,
//! with octave slips (a frame read at half or twice the voice's pitch) folded back first.

/// Sample rate the tracker works at (the input's 16 kHz, halved).
const RATE: usize = 8_000;
/// Frame length and hop at [`RATE`]: 30 ms and 10 ms.
const WINDOW: usize = 240;
const HOP: usize = 80;
/// Periods searched: 400 Hz down to 60 Hz.
const SHORTEST: usize = RATE / 400;
const LONGEST: usize = RATE / 60;
/// A frame quieter than this (RMS) is not speech.
const LOUD: f32 = 0.01;
/// The normalised correlation at the best period that makes a frame voiced.
const VOICED: f32 = 0.6;
/// A shorter period within this much correlation of the best is taken instead.
const OCTAVE_SLACK: f32 = 0.05;
/// Only the last this many seconds are read (the voice's median is taken over them too): bounds the work on a long
/// turn.
const READ_SECONDS: usize = 8;
/// The ending is read from voiced frames within this long before the last loud frame...
const END_SPAN_FRAMES: usize = 40;
/// ...the last this many of them.
const END_FRAMES: usize = 8;
/// Fewer voiced frames than this in the whole stretch: no reading.
const FEWEST_VOICED: usize = 10;

/// The pitch of the end of `audio` (16 kHz mono, -1..1) in semitones from the median pitch of the speech before it:
/// about -3 to -6 when the voice fell to a close, about -2 to +2 when it stayed level or rose. `None` when there is
/// too little voiced speech to tell.
pub fn ending_semitones(audio: &[f32]) -> Option<f32> {
    let start = audio.len().saturating_sub(READ_SECONDS * 16_000);
    let x: Vec<f32> = audio[start..]
        .chunks_exact(2)
        .map(|p| (p[0] + p[1]) * 0.5)
        .collect();
    let frames = track(&x);
    let last_loud = frames.iter().rposition(|f| f.loud)?;
    let voiced: Vec<(usize, f32)> = frames[..=last_loud]
        .iter()
        .enumerate()
        .filter_map(|(i, f)| f.hz.map(|hz| (i, hz)))
        .collect();
    if voiced.len() < FEWEST_VOICED {
        return None;
    }
    let voice = median(voiced.iter().map(|&(_, hz)| hz).collect())?;
    let folded = |hz: f32| {
        if hz > 1.7 * voice {
            hz / 2.0
        } else if hz < 0.6 * voice {
            hz * 2.0
        } else {
            hz
        }
    };
    let near_end: Vec<f32> = voiced
        .iter()
        .filter(|&&(i, _)| i + END_SPAN_FRAMES >= last_loud)
        .map(|&(_, hz)| folded(hz))
        .collect();
    if near_end.len() < 3 {
        return None;
    }
    let tail = near_end[near_end.len().saturating_sub(END_FRAMES)..].to_vec();
    let end = median(tail)?;
    Some(12.0 * (end / voice).log2())
}

struct Frame {
    loud: bool,
    hz: Option<f32>,
}

/// Every frame of `x` (at [`RATE`]): loud or not, and its pitch when voiced.
fn track(x: &[f32]) -> Vec<Frame> {
    let mut frames = Vec::new();
    let mut start = 0;
    while start + WINDOW + LONGEST <= x.len() {
        let a = &x[start..start + WINDOW];
        let energy: f32 = a.iter().map(|s| s * s).sum();
        let loud = (energy / WINDOW as f32).sqrt() >= LOUD;
        let mut hz = None;
        if loud {
            let c: Vec<f32> = (SHORTEST..LONGEST)
                .map(|lag| {
                    let b = &x[start + lag..start + lag + WINDOW];
                    let (mut ab, mut bb) = (0.0f32, 0.0f32);
                    for (p, q) in a.iter().zip(b) {
                        ab += p * q;
                        bb += q * q;
                    }
                    ab / (energy * bb).sqrt().max(1e-9)
                })
                .collect();
            let best = c.iter().copied().fold(0.0f32, f32::max);
            // The shortest period that correlates about as well as the best: two or three periods of a steady voice
            // correlate as well as one, and would read an octave low.
            let peak = (0..c.len()).find(|&i| {
                c[i] >= best - OCTAVE_SLACK
                    && (i == 0 || c[i] >= c[i - 1])
                    && (i + 1 == c.len() || c[i] >= c[i + 1])
            });
            if best >= VOICED
                && let Some(i) = peak
            {
                hz = Some(RATE as f32 / (SHORTEST + i) as f32);
            }
        }
        frames.push(Frame { loud, hz });
        start += HOP;
    }
    frames
}

fn median(mut v: Vec<f32>) -> Option<f32> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f32::total_cmp);
    Some(v[v.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A voice-like buzz (a fundamental and two harmonics) whose pitch glides from `from` to `to` Hz over `ms`.
    fn glide(from: f32, to: f32, ms: usize) -> Vec<f32> {
        let n = ms * 16;
        let mut phase = 0.0f32;
        (0..n)
            .map(|i| {
                let hz = from + (to - from) * i as f32 / n as f32;
                phase += std::f32::consts::TAU * hz / 16_000.0;
                0.2 * (phase.sin() + 0.5 * (2.0 * phase).sin() + 0.25 * (3.0 * phase).sin())
            })
            .collect()
    }

    fn then_silence(mut v: Vec<f32>, ms: usize) -> Vec<f32> {
        v.extend(std::iter::repeat_n(0.0, ms * 16));
        v
    }

    #[test]
    fn a_voice_that_falls_at_its_end_reads_low_and_one_that_rises_reads_high() {
        let mut falling = glide(130.0, 130.0, 1500);
        falling.extend(glide(130.0, 95.0, 400));
        let fell = ending_semitones(&then_silence(falling, 300)).unwrap();
        assert!((-6.5..-3.0).contains(&fell), "{fell}");

        let mut rising = glide(130.0, 130.0, 1500);
        rising.extend(glide(130.0, 150.0, 400));
        let rose = ending_semitones(&then_silence(rising, 300)).unwrap();
        assert!((1.0..3.5).contains(&rose), "{rose}");

        let level = ending_semitones(&glide(200.0, 200.0, 2000)).unwrap();
        assert!(level.abs() < 0.5, "{level}");
    }

    #[test]
    fn silence_noise_and_a_click_give_no_reading() {
        assert_eq!(ending_semitones(&[]), None);
        assert_eq!(ending_semitones(&vec![0.0; 32_000]), None);
        let mut state = 7u32;
        let noise: Vec<f32> = (0..32_000)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect();
        assert_eq!(ending_semitones(&noise), None);
        assert_eq!(ending_semitones(&glide(150.0, 150.0, 60)), None);
    }

    #[test]
    fn an_octave_slip_does_not_read_as_a_rise() {
        // The last frames at twice the voice's pitch (a tracker's classic slip) are folded back.
        let mut v = glide(110.0, 110.0, 1500);
        v.extend(glide(220.0, 220.0, 120));
        let end = ending_semitones(&v).unwrap();
        assert!(end.abs() < 1.0, "{end}");
    }
}
