//! A judge gives each dimension of a rubric a level with the evidence it rests on, or says there is not enough
//! evidence, or says it could not judge. Two judges: [`crate::scoring::llm_judge::LlmJudge`] asks a language model
//! for JSON and checks every claim; [`crate::scoring::rules::RuleJudge`] applies plain keyword rules and needs no
//! model (the scripted backend's judge, and a baseline for `bench scoring`).

use serde::{Deserialize, Serialize};

use super::{material::Material, rubric::Rubric};

/// Where a piece of evidence comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The candidate's own words.
    Candidate,
    /// A code run's result.
    Code,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub source: Source,
    pub quote: String,
}

/// The outcome for one dimension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Outcome {
    /// A level from 1 (strong no hire) to 5 (strong hire), resting on the evidence.
    Level { level: u8 },
    /// The round gave no evidence for this dimension: nothing is guessed.
    NotEnoughEvidence,
    /// The judge failed (invalid output after retries, a timeout, an error): re-score to fill it in.
    Unjudged { why: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Judgment {
    pub dimension: String,
    pub outcome: Outcome,
    pub evidence: Vec<Evidence>,
    /// The judge's short reason, when it gave one.
    pub reason: String,
}

impl Judgment {
    pub fn level(&self) -> Option<u8> {
        match self.outcome {
            Outcome::Level { level } => Some(level),
            _ => None,
        }
    }
}

pub trait Judge: Send + Sync {
    /// A name for reports, e.g. `rules` or `llm:local:qwen2.5-coder-0.5b`.
    fn name(&self) -> String;

    /// One judgment per dimension of `rubric`, in the rubric's order. Never fails as a whole: what could not be
    /// judged comes back as [`Outcome::Unjudged`].
    fn judge(&self, rubric: &Rubric, round: &Material) -> Vec<Judgment>;
}
