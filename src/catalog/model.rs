//! The catalog's types, exactly as the seed files spell them (see `seeds/README.md`), also used by the API.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundKind {
    RecruiterScreen,
    Behavioral,
    HiringManager,
    Coding,
    SystemDesign,
}

impl RoundKind {
    pub const ALL: [RoundKind; 5] = [
        RoundKind::RecruiterScreen,
        RoundKind::Behavioral,
        RoundKind::HiringManager,
        RoundKind::Coding,
        RoundKind::SystemDesign,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RoundKind::RecruiterScreen => "recruiter_screen",
            RoundKind::Behavioral => "behavioral",
            RoundKind::HiringManager => "hiring_manager",
            RoundKind::Coding => "coding",
            RoundKind::SystemDesign => "system_design",
        }
    }

    pub fn parse(s: &str) -> Option<RoundKind> {
        RoundKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// How the kind reads to a candidate.
    pub fn label(self) -> &'static str {
        match self {
            RoundKind::RecruiterScreen => "Recruiter screen",
            RoundKind::Behavioral => "Behavioral",
            RoundKind::HiringManager => "Hiring manager",
            RoundKind::Coding => "Coding",
            RoundKind::SystemDesign => "System design",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Difficulty {
    Easy,
    Medium,
    Hard,
}

impl Difficulty {
    pub fn as_str(self) -> &'static str {
        match self {
            Difficulty::Easy => "easy",
            Difficulty::Medium => "medium",
            Difficulty::Hard => "hard",
        }
    }

    pub fn parse(s: &str) -> Option<Difficulty> {
        [Difficulty::Easy, Difficulty::Medium, Difficulty::Hard]
            .into_iter()
            .find(|d| d.as_str() == s)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Competency {
    pub id: String,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Persona {
    pub name: String,
    pub title: String,
    pub tone: String,
    pub probes: Vec<String>,
    pub opening: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Round {
    pub kind: RoundKind,
    pub title: String,
    pub minutes: u32,
    pub description: String,
    #[serde(default)]
    pub focus: Vec<String>,
    #[serde(default)]
    pub bar_raiser: bool,
    /// The question this round asks (an id from the pool of its kind: a coding problem, a design prompt or a
    /// behavioral question); drawn from the pool when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Role {
    pub id: String,
    pub title: String,
    pub level: String,
    pub summary: String,
    pub difficulty: Difficulty,
    #[serde(default = "one")]
    pub price: u32,
    pub rounds: Vec<Round>,
}

impl Role {
    pub fn total_minutes(&self) -> u32 {
        self.rounds.iter().map(|r| r.minutes).sum()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Company {
    pub id: String,
    pub name: String,
    pub tagline: String,
    pub description: String,
    pub brand_color: String,
    pub values: Vec<String>,
    pub persona: Persona,
    pub roles: Vec<Role>,
}

impl Company {
    pub fn role(&self, id: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.id == id)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BehavioralQuestion {
    pub id: String,
    pub text: String,
    pub competencies: Vec<String>,
    pub difficulty: Difficulty,
    pub follow_ups: Vec<String>,
    pub signals: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DesignPrompt {
    pub id: String,
    pub title: String,
    pub prompt: String,
    pub difficulty: Difficulty,
    pub strong_answer: Vec<String>,
    pub follow_ups: Vec<String>,
}

/// A parameter or return type of a coding problem (see the type table in `seeds/README.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ValueType {
    #[serde(rename = "int")]
    Int,
    #[serde(rename = "long")]
    Long,
    #[serde(rename = "double")]
    Double,
    #[serde(rename = "bool")]
    Bool,
    #[serde(rename = "string")]
    Str,
    #[serde(rename = "int[]")]
    IntArray,
    #[serde(rename = "double[]")]
    DoubleArray,
    #[serde(rename = "string[]")]
    StrArray,
    #[serde(rename = "int[][]")]
    IntMatrix,
}

/// The largest magnitude a `long` may have: JavaScript numbers are exact only below 2^53.
pub const MAX_SAFE_LONG: i64 = (1 << 53) - 1;

impl ValueType {
    pub fn has_double(self) -> bool {
        matches!(self, ValueType::Double | ValueType::DoubleArray)
    }

    pub fn is_array(self) -> bool {
        matches!(
            self,
            ValueType::IntArray
                | ValueType::DoubleArray
                | ValueType::StrArray
                | ValueType::IntMatrix
        )
    }

    /// Checks that a JSON value has this type; the error says what is wrong.
    pub fn check(self, v: &Value) -> Result<(), String> {
        fn int(v: &Value, lo: i64, hi: i64, what: &str) -> Result<(), String> {
            match v.as_i64() {
                Some(n) if (lo..=hi).contains(&n) => Ok(()),
                Some(n) => Err(format!("{n} does not fit in {what}")),
                None => Err(format!("expected {what}, found {v}")),
            }
        }
        fn each(v: &Value, f: impl Fn(&Value) -> Result<(), String>) -> Result<(), String> {
            let items = v
                .as_array()
                .ok_or_else(|| format!("expected an array, found {v}"))?;
            items
                .iter()
                .enumerate()
                .try_for_each(|(i, x)| f(x).map_err(|e| format!("[{i}]: {e}")))
        }
        let int32 = |x: &Value| int(x, i32::MIN.into(), i32::MAX.into(), "a 32-bit int");
        let double = |x: &Value| {
            if x.is_number() {
                Ok(())
            } else {
                Err(format!("expected a number, found {x}"))
            }
        };
        let string = |x: &Value| {
            if x.is_string() {
                Ok(())
            } else {
                Err(format!("expected a string, found {x}"))
            }
        };
        match self {
            ValueType::Int => int32(v),
            ValueType::Long => int(v, -MAX_SAFE_LONG, MAX_SAFE_LONG, "a long below 2^53"),
            ValueType::Double => double(v),
            ValueType::Bool => v
                .as_bool()
                .map(|_| ())
                .ok_or_else(|| format!("expected true or false, found {v}")),
            ValueType::Str => string(v),
            ValueType::IntArray => each(v, int32),
            ValueType::DoubleArray => each(v, double),
            ValueType::StrArray => each(v, string),
            ValueType::IntMatrix => each(v, |row| each(row, int32)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Checker {
    Exact,
    Unordered,
    Float,
    Whitespace,
}

impl Checker {
    pub fn as_str(self) -> &'static str {
        match self {
            Checker::Exact => "exact",
            Checker::Unordered => "unordered",
            Checker::Float => "float",
            Checker::Whitespace => "whitespace",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Param {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ValueType,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    pub args: Vec<Value>,
    pub expected: Value,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub explanation: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Solutions {
    pub python: String,
    pub javascript: String,
    pub c: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Problem {
    pub id: String,
    pub title: String,
    pub difficulty: Difficulty,
    pub topics: Vec<String>,
    pub statement: String,
    pub function: String,
    pub params: Vec<Param>,
    pub returns: ValueType,
    pub checker: Checker,
    pub hints: Vec<String>,
    pub optimal: String,
    pub samples: Vec<TestCase>,
    pub tests: Vec<TestCase>,
    pub solutions: Solutions,
}

/// The whole catalog, in the order the seeds list it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    pub competencies: Vec<Competency>,
    pub companies: Vec<Company>,
    pub behavioral: Vec<BehavioralQuestion>,
    pub design: Vec<DesignPrompt>,
    pub problems: Vec<Problem>,
}

impl Catalog {
    /// Whether `id` names a question that a round of `kind` can ask.
    pub fn has_question(&self, kind: RoundKind, id: &str) -> bool {
        match kind {
            RoundKind::Coding => self.problems.iter().any(|p| p.id == id),
            RoundKind::SystemDesign => self.design.iter().any(|p| p.id == id),
            RoundKind::RecruiterScreen | RoundKind::Behavioral | RoundKind::HiringManager => {
                self.behavioral.iter().any(|q| q.id == id)
            }
        }
    }

    pub fn company(&self, id: &str) -> Option<&Company> {
        self.companies.iter().find(|c| c.id == id)
    }

    pub fn role(&self, company_id: &str, role_id: &str) -> Option<(&Company, &Role)> {
        let company = self.company(company_id)?;
        Some((company, company.role(role_id)?))
    }

    pub fn competency(&self, id: &str) -> Option<&Competency> {
        self.competencies.iter().find(|c| c.id == id)
    }

    pub fn problem(&self, id: &str) -> Option<&Problem> {
        self.problems.iter().find(|p| p.id == id)
    }
}
