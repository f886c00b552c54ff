//! Scoring a finished interview, grounded in what the candidate said and did.
//!
//! Per round: plain rules first ([`crate::engine::answers`]): a round with no substantive answer scores at the
//! bottom on every dimension, quoting what was said, without asking any judge. Otherwise a [`judge::Judge`] gives
//! each rubric dimension ([`rubric`]) a level with cited evidence, checked by [`validate`]. Coding rounds add an
//! objective dimension from the hidden tests. [`aggregate`] turns levels into scores and the recommendation by
//! fixed rules; [`report`] is the result. [`service`] reads interviews from the database and stores reports.

pub mod aggregate;
pub mod calibration;
pub mod judge;
pub mod lexicon;
pub mod llm_judge;
pub mod material;
mod putoff;
pub mod report;
pub mod rubric;
pub mod rules;
pub mod service;
pub mod signals;
pub mod validate;

use std::sync::Arc;

use judge::{Evidence, Judge, Judgment, Outcome, Source};
use material::Material;
use report::{
    CodeOutcome, DimensionScore, QuestionOutcome, Report, ReportStatus, RoundReport, RoundStatus,
};
use rubric::Rubric;

use crate::{catalog::RoundKind, embed::Embed, llm::Llm};

/// The judge: the model of `llm` when `with_llm` is set and it is a model (the scripted interviewer has none to
/// ask), the rules otherwise, reading with `embed` when a sentence-embedding model is installed. `conversation` keys
/// the model's KV cache.
pub fn judge_for(
    llm: Arc<dyn Llm>,
    with_llm: bool,
    embed: Option<Arc<dyn Embed>>,
    conversation: &str,
) -> Box<dyn Judge> {
    if !with_llm || llm.name() == "scripted" {
        Box::new(rules::RuleJudge::new(embed))
    } else {
        Box::new(llm_judge::LlmJudge::new(llm, conversation))
    }
}

/// The weight of the hidden-tests dimension of a coding round.
const CORRECTNESS_WEIGHT: f64 = 1.5;

/// The objective dimension of a coding round: the best submission's share of hidden tests.
fn correctness(round: &Material) -> DimensionScore {
    let (level, evidence, anchor) = match round.best_submission() {
        Some(best) => {
            let share = best.passed as f64 / best.total as f64;
            let level = match share {
                s if s >= 1.0 => 5,
                s if s >= 0.8 => 4,
                s if s >= 0.5 => 3,
                s if s > 0.0 => 2,
                _ => 1,
            };
            (
                level,
                vec![Evidence {
                    source: Source::Code,
                    quote: best.describe(),
                }],
                format!(
                    "{} of {} hidden tests passed by the best submission",
                    best.passed, best.total
                ),
            )
        }
        None => (
            1,
            Vec::new(),
            "no solution was submitted against the hidden tests".to_string(),
        ),
    };
    DimensionScore {
        id: "correctness".into(),
        name: "Correctness (hidden tests)".into(),
        weight: CORRECTNESS_WEIGHT,
        outcome: Outcome::Level { level },
        anchor,
        evidence,
        reason: "measured by the sandbox, not judged".into(),
    }
}

/// The weight of the hints-and-time dimension of a coding round.
const PACE_WEIGHT: f64 = 0.75;

/// The objective dimension of a coding round that ran in the appliance: hints taken and time used, as
/// `rubrics.toml` says ("added by code"). No hint within the time is a 5; each hint costs a level, and running past
/// the round's time one more. A round where no code ran and no hint was asked has nothing to measure here.
fn pace(round: &Material) -> Option<DimensionScore> {
    // Not asking for a hint is an achievement only for someone who worked the problem: ran or submitted code.
    if round.code.is_empty() && round.hints == 0 {
        return None;
    }
    let minutes_used = round.elapsed_ms as f64 / 60_000.0;
    let over = round.minutes > 0 && minutes_used > f64::from(round.minutes);
    let level = (5 - i64::from(round.hints.min(4)) - i64::from(over)).clamp(1, 5) as u8;
    let said = format!(
        "{} hint{} taken; {:.1} of {} minutes used{}",
        round.hints,
        if round.hints == 1 { "" } else { "s" },
        minutes_used,
        round.minutes,
        if over { ", past the round's time" } else { "" }
    );
    Some(DimensionScore {
        id: "hints_time".into(),
        name: "Hints and time".into(),
        weight: PACE_WEIGHT,
        outcome: Outcome::Level { level },
        anchor: match (round.hints, over) {
            (0, false) => "worked the problem without a hint, within the round's time".into(),
            (0, true) => "no hint, but past the round's time".into(),
            (n, _) => format!(
                "{n} hint{} taken{} (each costs a level)",
                if n == 1 { "" } else { "s" },
                if over {
                    ", and past the round's time"
                } else {
                    ""
                }
            ),
        },
        evidence: vec![Evidence {
            source: Source::Code,
            quote: said,
        }],
        reason: "measured by the appliance, not judged".into(),
    })
}

/// Every dimension at the bottom, quoting the non-answers: what a round with no substantive answer gets.
fn bottom(rubric: &Rubric, round: &Material) -> Vec<Judgment> {
    let said: Vec<Evidence> = round
        .exchanges
        .iter()
        .flat_map(|e| &e.answers)
        .filter(|a| !a.trim().is_empty())
        .take(3)
        .map(|a| Evidence {
            source: Source::Candidate,
            quote: a.trim().chars().take(200).collect(),
        })
        .collect();
    let reason = if said.is_empty() {
        "no answer was given".to_string()
    } else {
        "no substantive answer: only short, evasive or off-topic replies".to_string()
    };
    rubric
        .dimensions
        .iter()
        .map(|d| Judgment {
            dimension: d.id.clone(),
            outcome: Outcome::Level { level: 1 },
            evidence: said.clone(),
            reason: reason.clone(),
        })
        .collect()
}

/// Scores one round.
pub fn score_round(
    judge: &dyn Judge,
    position: i64,
    kind: RoundKind,
    round: &Material,
) -> RoundReport {
    let rubric = rubric::for_kind(kind);
    let mut report = unscored(position, kind, round);
    if !round.held {
        report.summary =
            "Not scored: this round was skipped or never reached, with no answer given.".into();
        return report;
    }
    let (judgments, substantive) = judgments(judge, rubric, round);
    report.dimensions = dimension_scores(rubric, judgments);
    if kind == RoundKind::Coding {
        report.dimensions.push(correctness(round));
        report.dimensions.extend(pace(round));
    }
    (report.strengths, report.improvements) =
        strengths_and_improvements(rubric, &report.dimensions);
    report.score = aggregate::round_score(&report.dimensions);
    match report.score {
        Some(score) => {
            report.status = RoundStatus::Scored;
            report.summary = summary(score, substantive, &report.dimensions);
        }
        None => {
            report.status = RoundStatus::Incomplete;
            report.summary =
                "The judge could not score every dimension of this round; score it again.".into();
        }
    }
    report
}

/// The round as recorded (questions, code runs, time), before any judgment.
fn unscored(position: i64, kind: RoundKind, round: &Material) -> RoundReport {
    let minutes_used = (round.elapsed_ms as f64 / 60_000.0 * 10.0).round() / 10.0;
    RoundReport {
        position,
        kind,
        title: round.title.clone(),
        status: RoundStatus::NotHeld,
        score: None,
        summary: String::new(),
        dimensions: Vec::new(),
        strengths: Vec::new(),
        improvements: Vec::new(),
        strong_answer: round.strong_answer.clone(),
        questions: round
            .answered()
            .into_iter()
            .map(|(question, answered)| QuestionOutcome { question, answered })
            .collect(),
        code: round
            .code
            .iter()
            .map(|c| CodeOutcome {
                mode: c.mode.clone(),
                language: c.language.clone(),
                verdict: c.verdict.clone(),
                passed: c.passed,
                total: c.total,
            })
            .collect(),
        hints: round.hints,
        minutes_used,
        minutes: round.minutes,
        values: round.values.clone(),
    }
}

/// The judge's reading of each dimension, and whether the candidate gave a substantive answer: a round with none,
/// or one where the judge finds evidence for nothing (a non-answer, however long), is at the bottom everywhere.
fn judgments(judge: &dyn Judge, rubric: &Rubric, round: &Material) -> (Vec<Judgment>, bool) {
    let substantive = round.has_answer();
    let judgments = if substantive {
        judge.judge(rubric, round)
    } else {
        bottom(rubric, round)
    };
    let evidence_for_nothing = judgments
        .iter()
        .all(|j| j.outcome == Outcome::NotEnoughEvidence);
    if evidence_for_nothing {
        return (bottom(rubric, round), false);
    }
    (judgments, substantive)
}

/// Each rubric dimension with its judgment and the anchor of the level given.
fn dimension_scores(rubric: &Rubric, judgments: Vec<Judgment>) -> Vec<DimensionScore> {
    rubric
        .dimensions
        .iter()
        .zip(judgments)
        .map(|(d, j)| DimensionScore {
            id: d.id.clone(),
            name: d.name.clone(),
            weight: d.weight,
            anchor: match j.outcome {
                Outcome::Level { level } => d.anchor(level).to_string(),
                _ => String::new(),
            },
            outcome: j.outcome,
            evidence: j.evidence,
            reason: j.reason,
        })
        .collect()
}

/// Strengths (a dimension at 4 or 5, with its first quote) and what to improve (the rubric's strong answer for the
/// others that were judged).
fn strengths_and_improvements(
    rubric: &Rubric,
    dimensions: &[DimensionScore],
) -> (Vec<String>, Vec<String>) {
    let (mut strengths, mut improvements) = (Vec::new(), Vec::new());
    for d in dimensions {
        // A hint taken is never a strength: only working without one is.
        let strong_from = if d.id == "hints_time" { 5 } else { 4 };
        if d.level().is_some_and(|l| l >= strong_from) {
            let quote = d
                .evidence
                .first()
                .map(|e| format!(" (\"{}\")", e.quote))
                .unwrap_or_default();
            strengths.push(format!("{}: {}{quote}", d.name, d.anchor));
        } else if !matches!(d.outcome, Outcome::Unjudged { .. })
            // The objective dimensions (hidden tests) have no advice in the rubric.
            && let Some(r) = rubric.dimensions.iter().find(|r| r.id == d.id)
        {
            improvements.push(format!("{}: {}", d.name, r.strong));
        }
    }
    (strengths, improvements)
}

/// The round's level, and its strongest and weakest dimensions (or why everything is at the bottom).
fn summary(score: f64, substantive: bool, dimensions: &[DimensionScore]) -> String {
    let best = dimensions.iter().max_by_key(|d| d.level().unwrap_or(0));
    let worst = dimensions.iter().min_by_key(|d| d.level().unwrap_or(0));
    let mut summary = format!("{} overall.", aggregate::level_name(score));
    if !substantive {
        summary.push_str(" No substantive answer was given, so every dimension is at the bottom.");
    } else if let (Some(b), Some(w)) = (best, worst)
        && b.id != w.id
    {
        summary.push_str(&format!(
            " Strongest: {} ({}); weakest: {} ({}).",
            b.name,
            b.level().map_or("no evidence".into(), |l| format!("{l}/5")),
            w.name,
            w.level()
                .map_or("not enough evidence".into(), |l| format!("{l}/5")),
        ));
    }
    summary
}

/// What is known about the interview besides its rounds.
#[derive(Debug, Clone, Default)]
pub struct Header {
    pub session_id: String,
    pub company: String,
    pub role: String,
}

/// Scores every round and aggregates them into a report (its `id` is set when it is stored).
pub fn score(judge: &dyn Judge, header: &Header, rounds: &[(RoundKind, Material)]) -> Report {
    let started = std::time::Instant::now();
    let rounds: Vec<RoundReport> = rounds
        .iter()
        .enumerate()
        .map(|(i, (kind, m))| score_round(judge, i as i64, *kind, m))
        .collect();
    let (overall, recommendation, rationale) = aggregate::overall(&rounds);
    let complete = rounds.iter().all(|r| r.status != RoundStatus::Incomplete);
    Report {
        version: report::VERSION,
        id: 0,
        session_id: header.session_id.clone(),
        company: header.company.clone(),
        role: header.role.clone(),
        judge: judge.name(),
        status: if complete {
            ReportStatus::Complete
        } else {
            ReportStatus::Incomplete
        },
        recommendation,
        overall,
        rationale,
        rounds,
        created_at: crate::clock::now_ms(),
        scoring_ms: started.elapsed().as_millis() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::material::{CodeRun, Exchange};

    fn material(answers: &[&str]) -> Material {
        Material {
            title: "Behavioral".into(),
            held: true,
            exchanges: vec![Exchange {
                question: "Tell me about a time you had to deliver under a tight deadline.".into(),
                answers: answers.iter().map(|s| s.to_string()).collect(),
            }],
            ..Material::default()
        }
    }

    #[test]
    fn non_answers_score_at_the_bottom_without_asking_the_judge() {
        for answers in [&[][..], &["Fine."], &["I don't know."], &["", "   "]] {
            let r = score_round(
                &rules::RuleJudge::default(),
                0,
                RoundKind::Behavioral,
                &material(answers),
            );
            assert_eq!(r.status, RoundStatus::Scored);
            assert_eq!(r.score, Some(1.0), "{answers:?}");
            assert!(r.dimensions.iter().all(|d| d.level() == Some(1)));
            assert_eq!(
                r.questions,
                vec![QuestionOutcome {
                    question: "Tell me about a time you had to deliver under a tight deadline."
                        .into(),
                    answered: false
                }]
            );
        }
        let r = score_round(
            &rules::RuleJudge::default(),
            0,
            RoundKind::Behavioral,
            &material(&["Fine."]),
        );
        assert_eq!(r.dimensions[0].evidence[0].quote, "Fine.");
    }

    #[test]
    fn a_round_that_never_ran_is_not_held_and_not_scored() {
        let m = Material {
            held: false,
            ..material(&[])
        };
        let r = score_round(&rules::RuleJudge::default(), 0, RoundKind::Coding, &m);
        assert_eq!((r.status, r.score), (RoundStatus::NotHeld, None));
    }

    #[test]
    fn coding_rounds_add_the_hidden_tests_as_an_objective_dimension() {
        let mut m = material(&[
            "I would use a hash map from value to index, one pass, O(n) time and O(n) space.",
        ]);
        m.code = vec![CodeRun {
            mode: "submit".into(),
            language: "python".into(),
            verdict: "wrong_answer".into(),
            passed: 6,
            total: 8,
        }];
        let r = score_round(&rules::RuleJudge::default(), 0, RoundKind::Coding, &m);
        let c = r.dimensions.iter().find(|d| d.id == "correctness").unwrap();
        assert_eq!(c.level(), Some(3));
        assert!(c.evidence[0].quote.contains("6/8"));
        m.code.clear();
        let r = score_round(&rules::RuleJudge::default(), 0, RoundKind::Coding, &m);
        assert_eq!(r.dimensions.last().unwrap().level(), Some(1));
    }

    #[test]
    fn hints_and_time_count_in_a_coding_round_that_ran() {
        let answer =
            "I would use a hash map from value to index, one pass, O(n) time and O(n) space.";
        let mut m = material(&[answer]);
        m.minutes = 45;
        let level = |m: &Material| {
            let r = score_round(&rules::RuleJudge::default(), 0, RoundKind::Coding, m);
            (
                r.dimensions
                    .iter()
                    .find(|d| d.id == "hints_time")
                    .and_then(|d| d.level()),
                r.score,
            )
        };
        m.elapsed_ms = 30 * 60_000;
        assert_eq!(
            level(&m).0,
            None,
            "no code ran and no hint was asked: nothing to measure"
        );
        m.code = vec![CodeRun {
            mode: "submit".into(),
            language: "python".into(),
            verdict: "accepted".into(),
            passed: 8,
            total: 8,
        }];
        let (alone, alone_score) = level(&m);
        assert_eq!(alone, Some(5));
        let strengths = |m: &Material| {
            score_round(&rules::RuleJudge::default(), 0, RoundKind::Coding, m).strengths
        };
        assert!(
            strengths(&m)
                .iter()
                .any(|s| s.starts_with("Hints and time"))
        );
        m.hints = 1;
        assert!(
            !strengths(&m)
                .iter()
                .any(|s| s.starts_with("Hints and time")),
            "a hint taken is not a strength"
        );
        m.hints = 2;
        let (hinted, hinted_score) = level(&m);
        assert_eq!(hinted, Some(3));
        assert!(hinted_score < alone_score);
        m.elapsed_ms = 50 * 60_000;
        assert_eq!(level(&m).0, Some(2));
        m.hints = 9;
        assert_eq!(level(&m).0, Some(1));
    }

    #[test]
    fn a_whole_interview_gets_a_grounded_report_with_every_quote_from_the_transcript() {
        let strong = material(&[
            "I was the tech lead when our payments launch slipped two weeks before Black Friday. I cut scope to \
             the three flows that carried 90 percent of revenue, I paired with the two engineers on the riskiest \
             migration, and I wrote the rollback plan myself. We launched on time and failed payments dropped by \
             a third. I learned to negotiate scope in week one, not week six.",
        ]);
        let header = Header {
            session_id: "s".into(),
            company: "Acme".into(),
            role: "SWE".into(),
        };
        let report = score(
            &rules::RuleJudge::default(),
            &header,
            &[(RoundKind::Behavioral, strong.clone())],
        );
        assert_eq!(report.status, ReportStatus::Complete);
        assert!(report.recommendation.is_some());
        let said = strong.folded_answers();
        for d in &report.rounds[0].dimensions {
            for e in &d.evidence {
                assert!(said.contains(&material::fold(&e.quote)), "{e:?}");
            }
        }
        let md = report.to_markdown();
        assert!(
            md.contains("Recommendation:") && md.contains("| Dimension |"),
            "{md}"
        );
        let json = serde_json::to_string(&report).unwrap();
        assert_eq!(serde_json::from_str::<Report>(&json).unwrap(), report);
    }
}
