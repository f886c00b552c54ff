//! The rule-based judge: no model, plain and explainable rules. For each dimension, the candidate's sentences that
//! contain one of its keywords are the evidence; the level grows with how much evidence there is, each sentence
//! weighted by how specific it is (first-person actions and numbers count more, hedges and stock phrases less). It is the scripted backend's judge and the baseline that
//! `bench scoring` compares model judges with; it cannot tell a true story from a well-worded one.

use super::{
    judge::{Evidence, Judge, Judgment, Outcome, Source},
    material::{Material, fold},
    rubric::Rubric,
};

/// Evidence sentences quoted per dimension.
const MAX_QUOTES: usize = 3;

/// Below this much weighed content in the whole round, the reply is a non-answer.
const MIN_CONTENT: f64 = 2.5;

#[derive(Debug, Default)]
pub struct RuleJudge;

fn has_keyword(folded: &str, keyword: &str) -> bool {
    let k = fold(keyword);
    if k.is_empty() {
        // A keyword that is only punctuation, such as "%", is matched on the raw text by the caller.
        return false;
    }
    format!(" {folded} ").contains(&format!(" {k} "))
        || (k.len() >= 5 && folded.split(' ').any(|w| w.starts_with(&k)))
}

/// Phrases that make a sentence vaguer: hedges, filler and stock phrases that stand in for specifics.
const VAGUE: &[&str] = &[
    "i think",
    "i guess",
    "i believe",
    "basically",
    "pretty much",
    "kind of",
    "sort of",
    "probably",
    "maybe",
    "stuff",
    "things like that",
    "and so on",
    "best practice",
    "everyone",
    "everybody",
    "a lot of",
    "really",
    "just",
    "honestly",
    "some things",
    "somehow",
    "fast enough",
    "should be fine",
    "in general",
    "generally",
    "in the end",
    "at the end of the day",
    "moving forward",
    "going forward",
];

/// A candidate sentence with its folded text and weight, worked out once per judgment.
struct Said<'a> {
    text: &'a str,
    folded: String,
    weight: f64,
}

impl<'a> Said<'a> {
    fn new(text: &'a str) -> Self {
        let folded = fold(text);
        let weight = weight(text, &folded);
        Said {
            text,
            folded,
            weight,
        }
    }
}

/// How much a sentence counts as evidence: a specific one (an action in the first person singular, a number, a
/// complexity) fully, a plain one half, a hedged or stock one little. `folded` is the sentence through [`fold`].
fn weight(sentence: &str, folded: &str) -> f64 {
    let f = format!(" {folded} ");
    let vague = VAGUE.iter().any(|v| f.contains(&format!(" {v} ")));
    let first_person = f.contains(" i ") || f.contains(" my ") || f.contains(" me ");
    let concrete =
        sentence.chars().any(|c| c.is_ascii_digit()) || f.contains(" o ") || f.contains(" log ");
    match (vague, first_person || concrete) {
        (true, _) => 0.25,
        (false, true) if first_person && concrete => 1.5,
        (false, true) => 1.0,
        (false, false) => 0.5,
    }
}

impl Judge for RuleJudge {
    fn name(&self) -> String {
        "rules".into()
    }

    fn judge(&self, rubric: &Rubric, round: &Material) -> Vec<Judgment> {
        let sentences = round.candidate_sentences();
        let said: Vec<Said> = sentences.iter().map(|s| Said::new(&s.text)).collect();
        // Everything said, weighed: a reply with less than about two plain sentences of content anywhere is a
        // non-answer however it is worded ("it really depends...", "I'd rather not...").
        let content: f64 = said.iter().map(|s| s.weight).sum();
        if content < MIN_CONTENT {
            let quote = said.iter().take(MAX_QUOTES).map(|s| Evidence {
                source: Source::Candidate,
                quote: s.text.to_string(),
            });
            let evidence: Vec<Evidence> = quote.collect();
            return rubric
                .dimensions
                .iter()
                .map(|d| Judgment {
                    dimension: d.id.clone(),
                    outcome: if evidence.is_empty() {
                        Outcome::NotEnoughEvidence
                    } else {
                        Outcome::Level { level: 1 }
                    },
                    evidence: evidence.clone(),
                    reason: format!("too little content to judge (worth {content:.1})"),
                })
                .collect();
        }
        rubric
            .dimensions
            .iter()
            .map(|d| {
                let mut hits: Vec<&Said> = said
                    .iter()
                    .filter(|s| {
                        d.keywords.iter().any(|k| {
                            has_keyword(&s.folded, k)
                                || (fold(k).is_empty() && s.text.contains(k.as_str()))
                        })
                    })
                    .collect();
                if hits.is_empty() {
                    return Judgment {
                        dimension: d.id.clone(),
                        outcome: Outcome::NotEnoughEvidence,
                        evidence: Vec::new(),
                        reason: "none of the candidate's sentences addresses this".into(),
                    };
                }
                let weighted: f64 = hits.iter().map(|s| s.weight).sum();
                // One plain sentence on a dimension is a 2; about four sentences' worth of specific evidence a 5.
                let level = (1.0 + (weighted * 0.8).min(4.0)).round().clamp(1.0, 5.0) as u8;
                let count = hits.len();
                // The most specific first (a stable sort keeps the answer's order among equals).
                hits.sort_by(|a, b| b.weight.total_cmp(&a.weight));
                Judgment {
                    dimension: d.id.clone(),
                    outcome: Outcome::Level { level },
                    evidence: hits
                        .into_iter()
                        .take(MAX_QUOTES)
                        .map(|q| Evidence {
                            source: Source::Candidate,
                            quote: q.text.to_string(),
                        })
                        .collect(),
                    reason: format!(
                        "{count} sentence{} on this, worth {weighted:.1} (specific ones count more, hedged ones less)",
                        if count == 1 { "" } else { "s" }
                    ),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        catalog::RoundKind,
        scoring::{material::Exchange, rubric},
    };

    fn said(answer: &str) -> Material {
        Material {
            kind: Some(RoundKind::Behavioral),
            held: true,
            exchanges: vec![Exchange {
                question: "Tell me about a project you led.".into(),
                answers: vec![answer.into()],
            }],
            ..Material::default()
        }
    }

    fn total(j: &[Judgment]) -> u32 {
        j.iter().map(|j| u32::from(j.level().unwrap_or(0))).sum()
    }

    #[test]
    fn specific_first_person_results_outscore_vague_team_talk_and_every_level_is_quoted() {
        let r = rubric::for_kind(RoundKind::Behavioral);
        let strong = RuleJudge.judge(
            r,
            &said(
                "At the time our checkout team had a hard deadline for Black Friday. I was responsible for the \
                 payment retries. I decided to move retries to a queue and I wrote the idempotency layer myself. \
                 As a result we reduced failed payments by 38 percent. I learned to load test earlier, and next \
                 time I would involve the on-call team sooner.",
            ),
        );
        let weak = RuleJudge.judge(
            r,
            &said("We worked on a lot of things together and it went pretty well overall, everyone was happy."),
        );
        assert!(total(&strong) > total(&weak), "{strong:?} vs {weak:?}");
        for j in strong.iter().chain(&weak) {
            match j.outcome {
                Outcome::Level { .. } => assert!(!j.evidence.is_empty()),
                _ => assert!(j.evidence.is_empty()),
            }
        }
    }

    #[test]
    fn keywords_match_on_word_boundaries() {
        assert!(has_keyword("we reduced latency", "reduced"));
        assert!(has_keyword("i decided to ship", "i decided"));
        assert!(!has_keyword("the teammate", "team"));
        assert!(has_keyword("measured improvements", "improvement"));
    }
}
