//! Pause sets for the turn-taking benchmark: spoken answers with mid-answer pauses, each with where it truly ends.
//!
//! A folder of clips is WAV files (16-bit mono PCM, any rate) and a `manifest.toml` with one `[[clip]]` per file:
//! `file`, `end` (seconds into the file where the answer truly ends: the interviewer may start only after it),
//! `pauses` (the mid-answer pauses as `[start, end]` seconds) and optionally `text` and `kind` (the round:
//! `recruiter_screen`, `behavioral`, `hiring_manager`, `coding`, `system_design`). Sets the project never saw are run from such a folder.
//!
//! The project's own sets are written as specs (`bench/pauses/dev.toml`, `test.toml`): each `[[answer]]` has a
//! `script` where `[S]` is a silence of S seconds and the rest is spoken, by the piper voice or an espeak-ng voice,
//! at a `speed`, with white `noise` of a given RMS under it. [`make`] speaks a spec into such a folder.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};
use serde::{Deserialize, Serialize};

use crate::catalog::RoundKind;

const RATE: u32 = 16_000;
/// Silence before the first word of every clip, seconds.
const LEAD: f64 = 0.4;

/// One answer of a clips folder's manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClipInfo {
    pub file: String,
    pub end: f64,
    #[serde(default)]
    pub pauses: Vec<[f64; 2]>,
    #[serde(default)]
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<RoundKind>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    clip: Vec<ClipInfo>,
}

/// A clip ready to stream: 16 kHz samples and what the manifest says of it.
#[derive(Debug, Clone)]
pub struct Clip {
    pub info: ClipInfo,
    pub pcm: Vec<i16>,
}

impl Clip {
    /// The sample at which the answer truly ends.
    pub fn end_sample(&self) -> usize {
        ((self.info.end * f64::from(RATE)) as usize).min(self.pcm.len())
    }
}

/// Reads a clips folder: its manifest and every WAV it names, resampled to 16 kHz.
pub fn load(dir: &Path) -> anyhow::Result<Vec<Clip>> {
    let path = dir.join("manifest.toml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let manifest: Manifest = toml::from_str(&text)
        .with_context(|| format!("{} is not a clips manifest", path.display()))?;
    ensure!(
        !manifest.clip.is_empty(),
        "{} lists no clip",
        path.display()
    );
    manifest
        .clip
        .into_iter()
        .map(|info| {
            ensure!(
                !info.file.contains("..") && !info.file.starts_with('/'),
                "clip file {:?} must be inside {}",
                info.file,
                dir.display()
            );
            let wav = dir.join(&info.file);
            let bytes =
                std::fs::read(&wav).with_context(|| format!("reading {}", wav.display()))?;
            let (rate, samples) = crate::voice::stt::wav::read(&bytes)
                .with_context(|| format!("{} is not a 16-bit mono PCM WAV file", wav.display()))?;
            let samples = crate::voice::tts::resample::resample(&samples, rate, RATE);
            let seconds = samples.len() as f64 / f64::from(RATE);
            ensure!(
                info.end > 0.0 && info.end <= seconds + 0.05,
                "{}: end {} s is outside the clip ({seconds:.2} s)",
                info.file,
                info.end
            );
            for [a, b] in &info.pauses {
                ensure!(
                    a < b && *b <= info.end,
                    "{}: pause [{a}, {b}] must lie before the end",
                    info.file
                );
            }
            let pcm = crate::voice::tts::piper::to_i16(&samples);
            Ok(Clip { info, pcm })
        })
        .collect()
}

/// One answer of a spec.
#[derive(Debug, Clone, Deserialize)]
struct Answer {
    id: String,
    voice: String,
    #[serde(default = "one")]
    speed: f64,
    #[serde(default)]
    noise: f64,
    #[serde(default)]
    kind: Option<RoundKind>,
    script: String,
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Deserialize)]
struct SpecFile {
    answer: Vec<Answer>,
}

/// A piece of a script: words to say, or a silence.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Say(String),
    Pause(f64),
}

fn pieces(script: &str) -> anyhow::Result<Vec<Piece>> {
    let mut out = Vec::new();
    let mut rest = script;
    while let Some(open) = rest.find('[') {
        let close = rest[open..]
            .find(']')
            .map(|c| open + c)
            .with_context(|| format!("unclosed [ in {script:?}"))?;
        let words = rest[..open].trim();
        if !words.is_empty() {
            out.push(Piece::Say(words.to_string()));
        }
        let seconds: f64 = rest[open + 1..close]
            .trim()
            .parse()
            .with_context(|| format!("[{}] is not a pause in seconds", &rest[open + 1..close]))?;
        ensure!(
            (0.1..=10.0).contains(&seconds),
            "a pause of {seconds} s is outside 0.1-10 s"
        );
        out.push(Piece::Pause(seconds));
        rest = &rest[close + 1..];
    }
    if !rest.trim().is_empty() {
        out.push(Piece::Say(rest.trim().to_string()));
    }
    ensure!(
        matches!(out.last(), Some(Piece::Say(_))),
        "a script must end with words: {script:?}"
    );
    Ok(out)
}

/// Speech for `text` at 16 kHz, trimmed to its first and last loud sample.
fn say(
    voice: &str,
    speed: f64,
    text: &str,
    piper: Option<&dyn crate::voice::TextToSpeech>,
) -> anyhow::Result<Vec<f32>> {
    let audio = if voice == "piper" {
        let piper =
            piper.context("the piper voice is not installed (rehearse models fetch --set tiny)")?;
        let mut pcm = Vec::new();
        piper.speak(text, RATE, &mut |p| {
            pcm.extend(p.iter().map(|&s| f32::from(s) / 32_768.0));
            std::ops::ControlFlow::Continue(())
        })?;
        pcm
    } else if let Some(name) = voice.strip_prefix("espeak:") {
        let dir = tempfile::tempdir()?;
        let wav = dir.path().join("piece.wav");
        let words_per_minute = (165.0 * speed).round() as u32;
        let status = std::process::Command::new("espeak-ng")
            .args(["-v", name, "-s", &words_per_minute.to_string(), "-w"])
            .arg(&wav)
            .arg(text)
            .status()
            .context("running espeak-ng (apt-get install espeak-ng)")?;
        ensure!(status.success(), "espeak-ng failed on voice {name}");
        let (rate, samples) = crate::voice::stt::wav::read(&std::fs::read(&wav)?)
            .context("espeak-ng wrote no 16-bit WAV")?;
        crate::voice::tts::resample::resample(&samples, rate, RATE)
    } else {
        bail!("unknown voice {voice:?}: piper or espeak:NAME");
    };
    let loud = |s: &f32| s.abs() > 0.02;
    let first = audio.iter().position(loud).unwrap_or(0);
    let last = audio.iter().rposition(loud).map_or(0, |i| i + 1);
    ensure!(last > first, "{voice} said nothing for {text:?}");
    Ok(audio[first..last].to_vec())
}

/// A small deterministic noise source (xorshift), so a set is the same every time it is made.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        // Uniform in -1..1 has RMS 1/sqrt(3).
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * 3f32.sqrt()
    }
}

/// The project's pause sets: `dev` to tune on, `test` to report.
const SETS: [(&str, &str); 2] = [
    ("dev", include_str!("../../bench/pauses/dev.toml")),
    ("test", include_str!("../../bench/pauses/test.toml")),
];

/// One of the project's pause sets, spoken into `cache/NAME` once (the tiny set's piper voice and espeak-ng) and
/// loaded.
pub fn project_set(name: &str, cache: &Path, models_dir: &Path) -> anyhow::Result<Vec<Clip>> {
    let spec = SETS
        .iter()
        .find(|(n, _)| *n == name)
        .with_context(|| format!("no pause set {name:?}: dev or test"))?
        .1;
    let voice = super::voice::model("tiny", crate::models::Purpose::Tts)?;
    let (piper, status) =
        crate::backends::open_tts(&crate::backends::Spec::Local(voice), "", models_dir);
    let piper = piper.with_context(|| {
        format!("the piper voice does not load (rehearse models fetch --set tiny): {status:?}")
    })?;
    let dir = make(spec, &cache.join(name), Some(piper.as_ref()))?;
    load(&dir)
}

/// Speaks the spec `text` into `out` (WAV files and `manifest.toml`), unless `out` already holds this spec's
/// clips. Returns `out`.
pub fn make(
    text: &str,
    out: &Path,
    piper: Option<&dyn crate::voice::TextToSpeech>,
) -> anyhow::Result<PathBuf> {
    let stamp = out.join("spec.toml");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == text)
        && out.join("manifest.toml").exists()
    {
        return Ok(out.to_path_buf());
    }
    let answers: SpecFile = toml::from_str(text).context("not a pause-set spec")?;
    std::fs::create_dir_all(out)?;
    let mut clips = Vec::new();
    for (n, a) in answers.answer.iter().enumerate() {
        let mut audio = vec![0.0f32; (LEAD * f64::from(RATE)) as usize];
        let mut pauses = Vec::new();
        let mut said = Vec::new();
        for piece in pieces(&a.script).with_context(|| format!("answer {}", a.id))? {
            match piece {
                Piece::Say(words) => {
                    audio.extend(
                        say(&a.voice, a.speed, &words, piper)
                            .with_context(|| format!("answer {}", a.id))?,
                    );
                    said.push(words);
                }
                Piece::Pause(s) => {
                    let start = audio.len() as f64 / f64::from(RATE);
                    audio.extend(std::iter::repeat_n(0.0, (s * f64::from(RATE)) as usize));
                    pauses.push([start, start + s]);
                }
            }
        }
        let end = audio.len() as f64 / f64::from(RATE);
        // A little room after the last word, as a recording has.
        audio.extend(std::iter::repeat_n(0.0, RATE as usize / 5));
        let mut noise = Noise(0x9E37_79B9_7F4A_7C15 ^ (n as u64 + 1));
        for s in &mut audio {
            *s += noise.next() * a.noise as f32;
        }
        let file = format!("{}.wav", a.id);
        let pcm = crate::voice::tts::piper::to_i16(&audio);
        std::fs::write(out.join(&file), crate::voice::stt::wav::write(RATE, &pcm))?;
        clips.push(ClipInfo {
            file,
            end: (end * 1000.0).round() / 1000.0,
            pauses: pauses
                .into_iter()
                .map(|[a, b]| [(a * 1000.0).round() / 1000.0, (b * 1000.0).round() / 1000.0])
                .collect(),
            text: said.join(" "),
            kind: a.kind,
        });
    }
    std::fs::write(
        out.join("manifest.toml"),
        toml::to_string(&Manifest { clip: clips })?,
    )?;
    std::fs::write(stamp, text)?;
    Ok(out.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_is_words_and_pauses_ending_in_words() {
        assert_eq!(
            pieces("I led it, [2.5] and we shipped [0.5] early.").unwrap(),
            [
                Piece::Say("I led it,".into()),
                Piece::Pause(2.5),
                Piece::Say("and we shipped".into()),
                Piece::Pause(0.5),
                Piece::Say("early.".into()),
            ]
        );
        assert!(pieces("I led it [2]").is_err(), "a pause cannot end it");
        assert!(pieces("I led [x] it").is_err());
        assert!(pieces("I led [30] it").is_err());
        assert!(pieces("I led [2 it").is_err());
    }

    #[test]
    fn a_clips_folder_is_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let pcm = vec![1000i16; 32_000];
        std::fs::write(
            dir.path().join("a.wav"),
            crate::voice::stt::wav::write(16_000, &pcm),
        )
        .unwrap();
        let manifest = |end: f64| {
            format!(
                "[[clip]]\nfile = \"a.wav\"\nend = {end}\npauses = [[0.5, 1.0]]\nkind = \"coding\"\n"
            )
        };
        std::fs::write(dir.path().join("manifest.toml"), manifest(1.5)).unwrap();
        let clips = load(dir.path()).unwrap();
        assert_eq!(clips.len(), 1);
        assert_eq!(clips[0].end_sample(), 24_000);
        assert_eq!(clips[0].info.pauses, [[0.5, 1.0]]);
        std::fs::write(dir.path().join("manifest.toml"), manifest(3.0)).unwrap();
        assert!(
            load(dir.path())
                .unwrap_err()
                .to_string()
                .contains("outside the clip")
        );
        std::fs::write(
            dir.path().join("manifest.toml"),
            "[[clip]]\nfile = \"../a.wav\"\nend = 1.0\n",
        )
        .unwrap();
        assert!(load(dir.path()).is_err());
    }
}
