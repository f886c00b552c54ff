//! Calibration sets, written for this project: pairs of a clearly stronger and a clearly weaker answer to the same
//! question, and non-answers (empty, one word, evasive, off-topic) that must score at the bottom. `rehearse bench
//! scoring` measures judges against them.
//!
//! Two sets are built in, kept apart so that a judge is never measured on what it was tuned on:
//! - `dev`: `calibration.toml`, `calibration_extra.toml` and `calibration_dev3.toml` to `calibration_dev7.toml`, the
//!   development set the rules were tuned against (the third part was added after the first held-out run, written
//!   to be hard for word counts; the fourth holds hard off-topic and evasive non-answers and short weak answers;
//!   the fifth weak answers shaped like non-answers: short, put off in part, rambling, asking back; the sixth
//!   terse recruiter answers, compact design and coding answers, and ordinary off-topic and evasive replies; the
//!   seventh weak recruiter answers put in the words of a deferral, a don't-know or a request, and evasive replies
//!   put in the same words);
//! - `test`: `calibration_test.toml`, written independently of the judge before it was changed, and never read
//!   pair by pair while tuning. Its figures are the headline.
//!
//! Any other file in the same format can be named with `--calibration FILE`.

use std::{path::Path, sync::LazyLock};

use serde::Deserialize;

use super::material::{Exchange, Material};
use crate::catalog::RoundKind;

const DEV: [(&str, &str); 7] = [
    ("calibration.toml", include_str!("calibration.toml")),
    (
        "calibration_extra.toml",
        include_str!("calibration_extra.toml"),
    ),
    (
        "calibration_dev3.toml",
        include_str!("calibration_dev3.toml"),
    ),
    (
        "calibration_dev4.toml",
        include_str!("calibration_dev4.toml"),
    ),
    (
        "calibration_dev5.toml",
        include_str!("calibration_dev5.toml"),
    ),
    (
        "calibration_dev6.toml",
        include_str!("calibration_dev6.toml"),
    ),
    (
        "calibration_dev7.toml",
        include_str!("calibration_dev7.toml"),
    ),
];
const TEST: &str = include_str!("calibration_test.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pair {
    pub id: String,
    pub kind: RoundKind,
    pub question: String,
    pub stronger: String,
    pub weaker: String,
    pub why: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bottom {
    pub id: String,
    pub kind: RoundKind,
    pub question: String,
    pub answer: String,
    /// `empty`, `one_word`, `evasive` or `off_topic`.
    pub class: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Set {
    pub pair: Vec<Pair>,
    #[serde(default)]
    pub bottom: Vec<Bottom>,
}

/// A round below this is in the bottom level (strong no hire).
pub const BOTTOM_BELOW: f64 = 1.5;

pub fn parse(text: &str) -> Result<Set, String> {
    let set: Set = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut ids: Vec<&str> = set
        .pair
        .iter()
        .map(|p| p.id.as_str())
        .chain(set.bottom.iter().map(|b| b.id.as_str()))
        .collect();
    ids.sort_unstable();
    if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("the id {} is used twice", w[0]));
    }
    for b in &set.bottom {
        if !["empty", "one_word", "evasive", "off_topic"].contains(&b.class.as_str()) {
            return Err(format!("{}: unknown class {}", b.id, b.class));
        }
    }
    Ok(set)
}

static BUILTIN: LazyLock<Set> = LazyLock::new(|| {
    let mut all = Set {
        pair: Vec::new(),
        bottom: Vec::new(),
    };
    for (name, text) in DEV {
        let set = parse(text).unwrap_or_else(|e| panic!("src/scoring/{name}: {e}"));
        all.pair.extend(set.pair);
        all.bottom.extend(set.bottom);
    }
    all
});

static HELD_OUT: LazyLock<Set> = LazyLock::new(|| {
    parse(TEST).unwrap_or_else(|e| panic!("src/scoring/calibration_test.toml: {e}"))
});

/// The development set: what the rules were tuned against.
pub fn builtin() -> &'static Set {
    &BUILTIN
}

/// The held-out test set: never tuned on.
pub fn held_out() -> &'static Set {
    &HELD_OUT
}

/// The set `--calibration` names: `dev`, `test`, or a file in this format.
pub fn load(name: &str) -> Result<Set, String> {
    match name {
        "dev" => Ok(builtin().clone()),
        "test" => Ok(held_out().clone()),
        path => {
            let text = std::fs::read_to_string(Path::new(path))
                .map_err(|e| format!("reading the calibration set {path}: {e}"))?;
            parse(&text).map_err(|e| format!("the calibration set {path}: {e}"))
        }
    }
}

/// A one-question round holding `answer`, as the judge would see it in an interview.
pub fn round(kind: RoundKind, question: &str, answer: &str) -> Material {
    Material {
        kind: Some(kind),
        title: kind.label().to_string(),
        held: true,
        exchanges: vec![Exchange {
            question: question.to_string(),
            answers: vec![answer.to_string()],
        }],
        minutes: 45,
        ..Material::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::{report::RoundStatus, rules::RuleJudge, score_round};

    #[test]
    fn the_set_is_large_enough_and_covers_every_class() {
        let set = builtin();
        assert!(set.pair.len() >= 30, "{} pairs", set.pair.len());
        for kind in [
            RoundKind::Behavioral,
            RoundKind::Coding,
            RoundKind::SystemDesign,
            RoundKind::RecruiterScreen,
        ] {
            assert!(set.pair.iter().any(|p| p.kind == kind), "{kind:?}");
        }
        for class in ["empty", "one_word", "evasive", "off_topic"] {
            assert!(set.bottom.iter().any(|b| b.class == class), "{class}");
        }
    }

    #[test]
    fn the_rule_judge_puts_empty_one_word_and_evasive_answers_at_the_bottom() {
        // Off-topic answers told in the first person need a judge that understands the question; `bench scoring`
        // reports how each judge does on them.
        for b in builtin().bottom.iter().filter(|b| b.class != "off_topic") {
            let r = score_round(
                &RuleJudge::default(),
                0,
                b.kind,
                &round(b.kind, &b.question, &b.answer),
            );
            assert_eq!(r.status, RoundStatus::Scored);
            let score = r.score.unwrap();
            // Coding rounds add the hidden tests; with no submission those are at the bottom too.
            assert!(score < BOTTOM_BELOW, "{}: {score}", b.id);
        }
    }

    #[test]
    fn a_short_straight_answer_to_a_recruiter_question_is_above_a_non_answer() {
        let q = "This role is fully remote, but the team needs you online until 1pm US Eastern time. Would that \
                 work for you?";
        let score = |answer: &str| {
            score_round(
                &RuleJudge::default(),
                0,
                RoundKind::RecruiterScreen,
                &round(RoundKind::RecruiterScreen, q, answer),
            )
            .score
            .unwrap()
        };
        let short = score("Yeah, that should be fine, I'm pretty flexible with my hours.");
        for non_answer in ["Sure.", "", "I'd rather not say."] {
            assert!(short > score(non_answer), "{non_answer:?}: {short}");
        }
        // Elsewhere a few words are still too little to judge.
        let r = score_round(
            &RuleJudge::default(),
            0,
            RoundKind::Behavioral,
            &round(
                RoundKind::Behavioral,
                q,
                "We just talked it out, it was fine.",
            ),
        );
        assert!(r.score.unwrap() < BOTTOM_BELOW);
    }

    const KINDS: [RoundKind; 4] = [
        RoundKind::Behavioral,
        RoundKind::Coding,
        RoundKind::SystemDesign,
        RoundKind::RecruiterScreen,
    ];

    #[test]
    fn the_held_out_set_is_large_varied_and_apart_from_the_development_set() {
        let test = held_out();
        assert!(test.pair.len() >= 60, "{} pairs", test.pair.len());
        for kind in KINDS {
            let n = test.pair.iter().filter(|p| p.kind == kind).count();
            assert!(n >= 15, "{kind:?}: {n} pairs");
        }
        let words = |s: &str| s.split_whitespace().count();
        let long_weak = test
            .pair
            .iter()
            .filter(|p| words(&p.weaker) >= words(&p.stronger))
            .count();
        assert!(long_weak * 2 >= test.pair.len(), "{long_weak}");
        let dev_questions: Vec<&str> = builtin().pair.iter().map(|p| p.question.as_str()).collect();
        assert!(
            test.pair
                .iter()
                .all(|p| !dev_questions.contains(&p.question.as_str())),
            "no question is in both sets"
        );
    }

    #[test]
    fn a_set_is_named_or_read_from_a_file_and_a_bad_file_is_a_clear_error() {
        assert_eq!(load("dev").unwrap().pair.len(), builtin().pair.len());
        assert_eq!(load("test").unwrap().pair.len(), held_out().pair.len());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mine.toml");
        std::fs::write(
            &path,
            "[[pair]]\nid = \"a\"\nkind = \"coding\"\nquestion = \"q\"\nstronger = \"s\"\nweaker = \"w\"\nwhy = \"y\"\n",
        )
        .unwrap();
        let path_text = path.to_string_lossy().to_string();
        assert_eq!(load(&path_text).unwrap().pair.len(), 1);
        std::fs::write(&path, "[[pair]]\nid = 3\n").unwrap();
        let e = load(&path_text).unwrap_err();
        assert!(e.contains("mine.toml"), "{e}");
        let e = load("/nonexistent/set.toml").unwrap_err();
        assert!(e.contains("reading the calibration set"), "{e}");
    }
}
