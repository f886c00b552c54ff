//! From judgments to scores and a recommendation, by fixed rules a candidate can read: no model decides here.
//!
//! - A dimension counts its level (1-5). One without enough evidence counts as 2, "not demonstrated": saying
//!   little cannot raise a score. One the judge could not judge leaves the round incomplete, with no score.
//! - A round's score is the weighted mean of its dimensions.
//! - The overall score is the mean of the scored rounds, each round one interviewer's vote.
//! - Recommendation: strong hire from 4.5, hire from 3.75, lean hire from 3.0, lean no hire from 2.25, else no
//!   hire. A round below 2.0 caps the recommendation at lean no hire, as one clear no-hire vote does in a real
//!   debrief.

use super::{
    judge::Outcome,
    report::{DimensionScore, Recommendation, RoundReport, RoundStatus},
    rubric::LEVEL_NAMES,
};

/// What a dimension without evidence counts as.
pub const NOT_DEMONSTRATED: f64 = 2.0;

/// The lowest overall score for each recommendation, best first.
pub const THRESHOLDS: [(f64, Recommendation); 4] = [
    (4.5, Recommendation::StrongHire),
    (3.75, Recommendation::Hire),
    (3.0, Recommendation::LeanHire),
    (2.25, Recommendation::LeanNoHire),
];

/// A round at or below this caps the recommendation at lean no hire.
pub const VETO_BELOW: f64 = 2.0;

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The round's score, or `None` when a dimension is unjudged.
pub fn round_score(dims: &[DimensionScore]) -> Option<f64> {
    let mut sum = 0.0;
    let mut weights = 0.0;
    for d in dims {
        let value = match d.outcome {
            Outcome::Level { level } => f64::from(level),
            Outcome::NotEnoughEvidence => NOT_DEMONSTRATED,
            Outcome::Unjudged { .. } => return None,
        };
        sum += d.weight * value;
        weights += d.weight;
    }
    (weights > 0.0).then(|| round2(sum / weights))
}

/// The name of the level nearest a score.
pub fn level_name(score: f64) -> &'static str {
    LEVEL_NAMES[(score.round().clamp(1.0, 5.0) as usize) - 1]
}

pub fn recommendation(overall: f64, lowest_round: f64) -> Recommendation {
    let by_score = THRESHOLDS
        .iter()
        .find(|(min, _)| overall >= *min)
        .map_or(Recommendation::NoHire, |(_, r)| *r);
    if lowest_round < VETO_BELOW {
        by_score.min(Recommendation::LeanNoHire)
    } else {
        by_score
    }
}

/// The overall score, the recommendation (absent when a held round is unscored or none was held) and the
/// rationale in words.
pub fn overall(rounds: &[RoundReport]) -> (Option<f64>, Option<Recommendation>, String) {
    let held: Vec<&RoundReport> = rounds
        .iter()
        .filter(|r| r.status != RoundStatus::NotHeld)
        .collect();
    if held.is_empty() {
        return (
            None,
            None,
            "No round was answered or sat to its end, so there is nothing to score.".into(),
        );
    }
    let unscored: Vec<&str> = held
        .iter()
        .filter(|r| r.score.is_none())
        .map(|r| r.title.as_str())
        .collect();
    if !unscored.is_empty() {
        return (
            None,
            None,
            format!(
                "Not every round could be scored ({}), so there is no recommendation yet. Scores are never \
                 guessed: score the interview again to complete the report.",
                unscored.join(", ")
            ),
        );
    }
    let scores: Vec<(f64, &str)> = held
        .iter()
        .map(|r| (r.score.unwrap_or(0.0), r.title.as_str()))
        .collect();
    let mean = round2(scores.iter().map(|s| s.0).sum::<f64>() / scores.len() as f64);
    let (lowest, lowest_title) = scores
        .iter()
        .copied()
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .expect("at least one round");
    let (highest, highest_title) = scores
        .iter()
        .copied()
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .expect("at least one round");
    let rec = recommendation(mean, lowest);
    let mut why = format!(
        "Overall {mean:.2} of 5, the mean of {} round{}: {}.",
        scores.len(),
        if scores.len() == 1 { "" } else { "s" },
        rec.label()
    );
    if scores.len() > 1 {
        why.push_str(&format!(
            " Strongest round: {highest_title} ({highest:.2}); weakest: {lowest_title} ({lowest:.2})."
        ));
    }
    if lowest < VETO_BELOW && rec == Recommendation::LeanNoHire && mean >= THRESHOLDS[2].0 {
        why.push_str(&format!(
            " {lowest_title} scored below {VETO_BELOW:.1}, which caps the recommendation at lean no hire."
        ));
    }
    why.push_str(
        " Thresholds: strong hire from 4.5, hire from 3.75, lean hire from 3.0, lean no hire from 2.25. A \
         dimension without evidence counts as 2 (not demonstrated).",
    );
    (Some(mean), Some(rec), why)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::RoundKind;

    fn dim(weight: f64, outcome: Outcome) -> DimensionScore {
        DimensionScore {
            id: "d".into(),
            name: "D".into(),
            weight,
            outcome,
            anchor: String::new(),
            evidence: Vec::new(),
            reason: String::new(),
        }
    }

    fn lvl(level: u8) -> Outcome {
        Outcome::Level { level }
    }

    fn round(title: &str, score: Option<f64>, status: RoundStatus) -> RoundReport {
        RoundReport {
            position: 0,
            kind: RoundKind::Coding,
            title: title.into(),
            status,
            score,
            summary: String::new(),
            dimensions: Vec::new(),
            strengths: Vec::new(),
            improvements: Vec::new(),
            strong_answer: Vec::new(),
            questions: Vec::new(),
            code: Vec::new(),
            hints: 0,
            minutes_used: 0.0,
            minutes: 45,
            values: Vec::new(),
        }
    }

    #[test]
    fn round_scores_are_weighted_means_and_missing_evidence_counts_as_not_demonstrated() {
        assert_eq!(
            round_score(&[dim(1.0, lvl(4)), dim(1.5, lvl(2))]),
            Some(2.8)
        );
        assert_eq!(
            round_score(&[dim(1.0, lvl(5)), dim(1.0, Outcome::NotEnoughEvidence)]),
            Some(3.5)
        );
        assert_eq!(
            round_score(&[
                dim(1.0, lvl(5)),
                dim(1.0, Outcome::Unjudged { why: "x".into() })
            ]),
            None
        );
        assert_eq!(round_score(&[]), None);
    }

    #[test]
    fn recommendations_follow_the_thresholds_and_a_very_weak_round_caps_them() {
        assert_eq!(recommendation(4.6, 4.0), Recommendation::StrongHire);
        assert_eq!(recommendation(4.49, 4.0), Recommendation::Hire);
        assert_eq!(recommendation(3.75, 3.0), Recommendation::Hire);
        assert_eq!(recommendation(3.0, 3.0), Recommendation::LeanHire);
        assert_eq!(recommendation(2.25, 2.25), Recommendation::LeanNoHire);
        assert_eq!(recommendation(2.2, 2.2), Recommendation::NoHire);
        assert_eq!(recommendation(4.0, 1.5), Recommendation::LeanNoHire);
        assert_eq!(recommendation(1.0, 1.0), Recommendation::NoHire);
    }

    #[test]
    fn the_overall_needs_every_held_round_scored() {
        let (o, r, why) = overall(&[
            round("A", Some(4.0), RoundStatus::Scored),
            round("B", None, RoundStatus::NotHeld),
            round("C", Some(3.0), RoundStatus::Scored),
        ]);
        assert_eq!((o, r), (Some(3.5), Some(Recommendation::LeanHire)));
        assert!(
            why.contains("Strongest round: A (4.00); weakest: C (3.00)"),
            "{why}"
        );
        let (o, r, why) = overall(&[
            round("A", Some(4.0), RoundStatus::Scored),
            round("B", None, RoundStatus::Incomplete),
        ]);
        assert_eq!((o, r), (None, None));
        assert!(why.contains("(B)"));
        let (_, r, why) = overall(&[
            round("A", Some(4.8), RoundStatus::Scored),
            round("B", Some(4.8), RoundStatus::Scored),
            round("C", Some(1.5), RoundStatus::Scored),
        ]);
        assert_eq!(r, Some(Recommendation::LeanNoHire));
        assert!(why.contains("caps"), "{why}");
        assert_eq!(overall(&[round("A", None, RoundStatus::NotHeld)]).1, None);
    }
}
