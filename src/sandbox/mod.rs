//! Running candidates' code: the per-language harnesses that call a candidate's function on each test
//! ([`harness`]), reading their output and comparing results ([`output`]), the WebAssembly runner with
//! its limits ([`runner`]), and grading a solution on a problem's tests ([`grade`]). This module knows nothing about
//! HTTP or the database.

pub mod fair;
pub mod grade;
pub mod harness;
pub mod output;
pub mod pool;
pub mod runner;
pub mod runtimes;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Python,
    Javascript,
    C,
}

impl Language {
    pub const ALL: [Language; 3] = [Language::Python, Language::Javascript, Language::C];

    pub fn as_str(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::Javascript => "javascript",
            Language::C => "c",
        }
    }

    pub fn parse(s: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// The outcome of one test or of a whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Accepted,
    WrongAnswer,
    TimeLimitExceeded,
    MemoryLimitExceeded,
    RuntimeError,
    CompilationError,
    OutputLimitExceeded,
    InternalError,
    NotRun,
}
