//! What a judge sees of one round: the questions asked and the candidate's answers, split into numbered
//! sentences a judgment can cite, and the code runs with their verdicts. Built from the stored transcript; pure
//! data, no IO.

use serde::{Deserialize, Serialize};

use crate::{catalog::RoundKind, engine::answers};

/// The fewest words of a short recruiter-screen reply that still answers ([`Material::is_answer`]): a recruiter's
/// questions are often closed ones, and "Yes, I'm a citizen." or "Probably in a month." answers them, weakly; one
/// word ("Soon.", "Competitive.") does not.
const SHORT_RECRUITER_ANSWER: usize = 2;

/// The fewest words of an answer whose topic is checked (by the cosine with the question and by what it is about).
pub use crate::engine::elsewhere::MIN_WORDS as TOPICAL_WORDS;

/// One question and what the candidate said to it (follow-ups included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    pub question: String,
    pub answers: Vec<String>,
}

/// A run or submission of code in the round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeRun {
    /// `run`, `submit` or `custom`.
    pub mode: String,
    pub language: String,
    pub verdict: String,
    pub passed: i64,
    pub total: i64,
}

impl CodeRun {
    pub fn describe(&self) -> String {
        let what = match self.mode.as_str() {
            "submit" => "submitted",
            "custom" => "ran on their own input",
            _ => "ran the samples",
        };
        if self.total > 0 {
            format!(
                "{} {what}: {}/{} tests passed ({})",
                self.language,
                self.passed,
                self.total,
                self.verdict.replace('_', " ")
            )
        } else {
            format!(
                "{} {what}: {}",
                self.language,
                self.verdict.replace('_', " ")
            )
        }
    }
}

/// A round as the judge sees it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Material {
    pub kind: Option<RoundKind>,
    pub title: String,
    /// False when the round never ran (skipped before it started).
    pub held: bool,
    pub exchanges: Vec<Exchange>,
    pub code: Vec<CodeRun>,
    pub hints: u32,
    pub elapsed_ms: i64,
    pub minutes: u32,
    /// What an interviewer expects a strong answer to cover (from the question bank), for the report.
    pub strong_answer: Vec<String>,
    /// The company values the questions probed, by name.
    pub values: Vec<String>,
}

/// A citable piece of evidence: `S3` is the candidate's third sentence, `C1` the first code run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Citable {
    pub id: String,
    pub text: String,
}

pub use crate::text::sentences;

/// Text folded for comparing a quote with the transcript: lower case, letters and digits, single spaces.
pub fn fold(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

impl Material {
    /// Every candidate sentence, numbered `S1`, `S2`, ... in order.
    pub fn candidate_sentences(&self) -> Vec<Citable> {
        self.exchanges
            .iter()
            .flat_map(|e| e.answers.iter())
            .flat_map(|a| sentences(a))
            .enumerate()
            .map(|(i, text)| Citable {
                id: format!("S{}", i + 1),
                text,
            })
            .collect()
    }

    /// Every code run, numbered `C1`, `C2`, ...
    pub fn code_results(&self) -> Vec<Citable> {
        self.code
            .iter()
            .enumerate()
            .map(|(i, r)| Citable {
                id: format!("C{}", i + 1),
                text: r.describe(),
            })
            .collect()
    }

    /// Everything the candidate said, folded, for checking quotes.
    pub fn folded_answers(&self) -> String {
        fold(
            &self
                .exchanges
                .iter()
                .flat_map(|e| e.answers.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" \n "),
        )
    }

    /// Whether `answer` to `question` is an answer to judge: a substantive one, or in a recruiter screen a short
    /// straight answer of a few words ("Yes, I'm a citizen.", "Probably in a month."), which is a weak answer to a
    /// logistics question rather than a non-answer. One word, a bare "I don't know" (one that goes on to guess is an
    /// answer), a refusal and the like are never answers.
    pub fn is_answer(&self, answer: &str, question: &str) -> bool {
        let words = answer.split_whitespace().count();
        let long_enough = words >= SHORT_RECRUITER_ANSWER;
        let recruiter = self.kind == Some(RoundKind::RecruiterScreen);
        match answers::classify(answer, question) {
            answers::Reply::Substantive => true,
            answers::Reply::Short => recruiter && long_enough,
            // "I don't know, maybe around 120?" tries after all.
            // To a recruiter, "I'm not sure, it depends. If it's once a month, that's fine." answers all the same.
            answers::Reply::DontKnow => {
                answers::tries_after_all(answer)
                    || (recruiter && long_enough && super::putoff::answers_beside(question, answer))
            }
            // The interviewer's reading of a reply that shares no word with its question; a short one says too
            // little to tell (a longer one the embeddings check), but an aside announced as one is off the question.
            answers::Reply::OffTopic => words < TOPICAL_WORDS && !answers::announces_aside(answer),
            // A recruiter gives no hints: "Could you help me understand how the team is split?", asked for the
            // candidate's questions, is one, and "I'm stuck on a legacy PHP codebase" says why they are looking.
            answers::Reply::HintRequest => {
                recruiter && long_enough && (invites_questions(question) || !answer.contains('?'))
            }
            // Asked for their questions, a question back about the process or the role is the answer.
            // In a recruiter screen, a question back that takes a side ("Maybe. Is there a relocation package?")
            // answers weakly.
            answers::Reply::ProcessQuestion | answers::Reply::Clarifying => {
                long_enough
                    && (invites_questions(question)
                        || (recruiter && answers::takes_a_stance(answer)))
            }
            _ => false,
        }
    }

    /// Whether any answer of the round is one to judge ([`Material::is_answer`]).
    pub fn has_answer(&self) -> bool {
        self.exchanges
            .iter()
            .any(|e| e.answers.iter().any(|a| self.is_answer(a, &e.question)))
    }

    /// Questions asked and how many got a substantive answer.
    pub fn answered(&self) -> Vec<(String, bool)> {
        self.exchanges
            .iter()
            .filter(|e| !e.question.is_empty())
            .map(|e| {
                let answered = e.answers.iter().any(|a| self.is_answer(a, &e.question));
                (e.question.clone(), answered)
            })
            .collect()
    }

    /// The best submission's share of hidden tests passed, if the candidate submitted.
    pub fn best_submission(&self) -> Option<&CodeRun> {
        self.code
            .iter()
            .filter(|r| r.mode == "submit" && r.total > 0)
            .max_by(|a, b| {
                (a.passed * b.total)
                    .cmp(&(b.passed * a.total))
                    .then(a.passed.cmp(&b.passed))
            })
    }
}

/// Whether a question asks for the candidate's own questions ("Do you have any questions for me?").
pub fn invites_questions(question: &str) -> bool {
    let q = question.to_lowercase();
    [
        "questions for me",
        "questions for us",
        "any questions",
        "anything you'd like to ask",
        "anything you would like to ask",
        "anything you want to ask",
        "what would you like to ask",
    ]
    .iter()
    .any(|p| q.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_split_into_numbered_sentences() {
        assert_eq!(
            sentences("I led the migration. It took 3.5 weeks! Why? Because of the\nlegacy schema"),
            vec![
                "I led the migration.",
                "It took 3.5 weeks!",
                "Because of the",
                "legacy schema"
            ]
        );
        let m = Material {
            exchanges: vec![Exchange {
                question: "q".into(),
                answers: vec![
                    "First one here. Second one here.".into(),
                    "Third one.".into(),
                ],
            }],
            ..Material::default()
        };
        let s = m.candidate_sentences();
        assert_eq!(s.len(), 3);
        assert_eq!(s[2].id, "S3");
        assert_eq!(s[2].text, "Third one.");
        let long = "word ".repeat(60);
        assert!(sentences(&long)[0].ends_with('…'));
    }

    #[test]
    fn folding_ignores_case_and_punctuation() {
        assert_eq!(
            fold("I cut p99 latency -- from 900ms!"),
            "i cut p99 latency from 900ms"
        );
    }

    #[test]
    fn the_best_submission_is_the_highest_pass_rate() {
        let run = |mode: &str, passed, total| CodeRun {
            mode: mode.into(),
            language: "python".into(),
            verdict: "wrong_answer".into(),
            passed,
            total,
        };
        let m = Material {
            code: vec![
                run("submit", 3, 8),
                run("run", 2, 2),
                run("submit", 7, 8),
                run("submit", 1, 8),
            ],
            ..Material::default()
        };
        assert_eq!(m.best_submission().unwrap().passed, 7);
        assert!(
            m.code_results()[0]
                .text
                .contains("3/8 tests passed (wrong answer)")
        );
    }
}
