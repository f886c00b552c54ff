//! A scored interview as stored, served as JSON, rendered on the results page and exported as Markdown.

use serde::{Deserialize, Serialize};

use super::judge::{Evidence, Outcome};
use crate::catalog::RoundKind;

/// Bumped when the report's shape changes.
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recommendation {
    NoHire,
    LeanNoHire,
    LeanHire,
    Hire,
    StrongHire,
}

impl Recommendation {
    pub fn as_str(self) -> &'static str {
        match self {
            Recommendation::NoHire => "no_hire",
            Recommendation::LeanNoHire => "lean_no_hire",
            Recommendation::LeanHire => "lean_hire",
            Recommendation::Hire => "hire",
            Recommendation::StrongHire => "strong_hire",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Recommendation::NoHire => "No hire",
            Recommendation::LeanNoHire => "Lean no hire",
            Recommendation::LeanHire => "Lean hire",
            Recommendation::Hire => "Hire",
            Recommendation::StrongHire => "Strong hire",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    /// Every round that was held is scored.
    Complete,
    /// At least one round could not be scored; re-score to complete it.
    Incomplete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundStatus {
    Scored,
    /// The judge failed on some dimension; no score rather than a wrong one.
    Incomplete,
    /// The round was skipped or never reached, with no answer given: not scored.
    NotHeld,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimensionScore {
    pub id: String,
    pub name: String,
    pub weight: f64,
    /// `level` (1-5), `not_enough_evidence` or `unjudged`.
    pub outcome: Outcome,
    /// The anchor text of the level given.
    pub anchor: String,
    pub evidence: Vec<Evidence>,
    pub reason: String,
}

impl DimensionScore {
    pub fn level(&self) -> Option<u8> {
        match self.outcome {
            Outcome::Level { level } => Some(level),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuestionOutcome {
    pub question: String,
    /// Whether the candidate gave a substantive answer (not silence, "I don't know" or a one-liner).
    pub answered: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeOutcome {
    pub mode: String,
    pub language: String,
    pub verdict: String,
    pub passed: i64,
    pub total: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundReport {
    pub position: i64,
    pub kind: RoundKind,
    pub title: String,
    pub status: RoundStatus,
    /// Weighted mean of the dimension levels, 1-5; absent unless scored.
    pub score: Option<f64>,
    pub summary: String,
    pub dimensions: Vec<DimensionScore>,
    pub strengths: Vec<String>,
    pub improvements: Vec<String>,
    /// What an interviewer expects a strong answer to this round's questions to cover.
    pub strong_answer: Vec<String>,
    pub questions: Vec<QuestionOutcome>,
    pub code: Vec<CodeOutcome>,
    pub hints: u32,
    pub minutes_used: f64,
    pub minutes: u32,
    /// The company values this round's questions probed.
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub version: u32,
    /// The stored report's id (several reports per interview when it is re-scored).
    pub id: i64,
    pub session_id: String,
    pub company: String,
    pub role: String,
    /// Who judged: `rules` or `llm:<backend>`.
    pub judge: String,
    pub status: ReportStatus,
    /// Absent while the report is incomplete or no round was held.
    pub recommendation: Option<Recommendation>,
    pub overall: Option<f64>,
    /// How the recommendation follows from the scores, written by code.
    pub rationale: String,
    pub rounds: Vec<RoundReport>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// How long scoring took.
    pub scoring_ms: u64,
}

fn level_text(d: &DimensionScore) -> String {
    match &d.outcome {
        Outcome::Level { level } => format!("{level}/5"),
        Outcome::NotEnoughEvidence => "not enough evidence".into(),
        Outcome::Unjudged { why } => format!("not judged ({why})"),
    }
}

/// Text from a candidate, a model or a seed, as Markdown that shows exactly that text: one line (line breaks and
/// other control characters become spaces), with every character that could start markup escaped (emphasis, code,
/// links, HTML, entities, table cells, strikethrough) and a line-start marker (heading, list, quote) neutralised. A
/// report's quotes are the candidate's own words, and a candidate must not be able to put a link or HTML into the
/// exported report.
pub fn markdown_text(text: &str) -> String {
    let line = text
        .split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let mut out = String::with_capacity(line.len() + 8);
    for (i, c) in line.char_indices() {
        let at_start_marker = i == 0 && matches!(c, '#' | '>' | '-' | '+' | '=' | ':');
        let ordered_marker = matches!(c, '.' | ')')
            && i > 0
            && i <= 9
            && line[..i].bytes().all(|b| b.is_ascii_digit());
        if at_start_marker
            || ordered_marker
            || matches!(
                c,
                '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '|' | '~' | '!' | '$'
            )
        {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Report {
    /// The report as a Markdown document. Everything not written by this function passes through
    /// [`markdown_text`].
    pub fn to_markdown(&self) -> String {
        let mut md = self.markdown_head();
        for r in &self.rounds {
            push_round_markdown(&mut md, r);
        }
        md
    }

    /// The document's title, recommendation, rationale and judge.
    fn markdown_head(&self) -> String {
        let t = markdown_text;
        let mut md = format!(
            "# {} · {}: interview report\n\n",
            t(&self.company),
            t(&self.role)
        );
        match (self.recommendation, self.overall) {
            (Some(r), Some(o)) => md.push_str(&format!(
                "**Recommendation: {}** (overall {o:.2} of 5)\n\n",
                r.label()
            )),
            _ => md.push_str("**No recommendation yet: the report is incomplete.**\n\n"),
        }
        md.push_str(&format!(
            "{}\n\nJudge: {}.\n",
            t(&self.rationale),
            t(&self.judge)
        ));
        md
    }
}

/// Appends one round's section: its heading and score, then (unless it was not held) its dimensions, lists and
/// facts.
fn push_round_markdown(md: &mut String, r: &RoundReport) {
    let t = markdown_text;
    md.push_str(&format!(
        "\n## Round {}: {} ({})\n\n",
        r.position + 1,
        t(&r.title),
        r.kind.label()
    ));
    match (r.status, r.score) {
        (RoundStatus::Scored, Some(s)) => {
            md.push_str(&format!("Score: **{s:.2} / 5**. {}\n\n", t(&r.summary)))
        }
        (RoundStatus::NotHeld, _) => {
            md.push_str("Not scored: skipped or never reached, with no answer given.\n");
            return;
        }
        _ => md.push_str(&format!("Not scored: {}\n\n", t(&r.summary))),
    }
    push_dimension_table(md, r);
    push_round_lists(md, r);
    push_round_facts(md, r);
}

/// Appends the table of the round's dimensions: name, level and quoted evidence.
fn push_dimension_table(md: &mut String, r: &RoundReport) {
    let t = markdown_text;
    md.push_str("| Dimension | Level | Evidence |\n| --- | --- | --- |\n");
    for d in &r.dimensions {
        let quotes: Vec<String> = d
            .evidence
            .iter()
            .map(|e| format!("\"{}\"", t(&e.quote)))
            .collect();
        md.push_str(&format!(
            "| {} | {} | {} |\n",
            t(&d.name),
            t(&level_text(d)),
            quotes.join("<br>")
        ));
    }
}

/// Appends the round's strengths, improvements and strong-answer points, each list only when it has items.
fn push_round_lists(md: &mut String, r: &RoundReport) {
    for (title, items) in [
        ("Strengths", &r.strengths),
        ("To improve", &r.improvements),
        ("A strong answer would include", &r.strong_answer),
    ] {
        if !items.is_empty() {
            md.push_str(&format!("\n**{title}**\n\n"));
            for i in items {
                md.push_str(&format!("- {}\n", markdown_text(i)));
            }
        }
    }
}

/// Appends the questions answered, the code runs and (for a coding round) the hints used.
fn push_round_facts(md: &mut String, r: &RoundReport) {
    let t = markdown_text;
    if !r.questions.is_empty() {
        let answered = r.questions.iter().filter(|q| q.answered).count();
        md.push_str(&format!(
            "\nQuestions answered: {answered} of {}.\n",
            r.questions.len()
        ));
    }
    for c in &r.code {
        md.push_str(&format!(
            "- Code ({}, {}): {} {}/{}\n",
            t(&c.mode),
            t(&c.language),
            t(&c.verdict),
            c.passed,
            c.total
        ));
    }
    if r.kind == RoundKind::Coding {
        md.push_str(&format!("\nHints used: {}.\n", r.hints));
    }
}
