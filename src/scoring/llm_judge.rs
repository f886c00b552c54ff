//! The model judge: one prompt per round with the rubric's anchors, the questions and the candidate's numbered
//! sentences; the reply is JSON, checked by [`super::validate`]. Dimensions that fail the check are asked for again
//! (with the problems named) up to [`ATTEMPTS`] times; whatever still fails is left unjudged, never guessed.

use std::{
    ops::ControlFlow,
    sync::Arc,
    time::{Duration, Instant},
};

use super::{
    judge::{Judge, Judgment, Outcome},
    material::Material,
    rubric::{Dimension, Rubric},
    validate,
};
use crate::llm::{Llm, Message, MessageRole, Request};

/// Attempts per round, the first included.
pub const ATTEMPTS: usize = 3;

/// The longest a single attempt may run before it is stopped and counted as failed.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(90);

/// At most this many candidate sentences go into the prompt (the earliest answers first); prefill is the slow part
/// on a CPU.
const MAX_SENTENCES: usize = 60;

const SYSTEM: &str = "You are a strict, fair interview judge. You score only what the candidate said and did, \
against the rubric you are given. Empty, evasive, vague or one-word answers get level 1. Never judge accent, looks, \
confidence or nervousness. Every level must cite the ids of the sentences that prove it; if nothing the candidate \
said shows a dimension, its level is null. Reply with one JSON object and nothing else.";

pub struct LlmJudge {
    llm: Arc<dyn Llm>,
    /// A key for the model's KV cache, so a retry re-reads nothing it has already read.
    conversation: String,
    timeout: Duration,
}

impl LlmJudge {
    pub fn new(llm: Arc<dyn Llm>, conversation: impl Into<String>) -> Self {
        Self {
            llm,
            conversation: conversation.into(),
            timeout: ATTEMPT_TIMEOUT,
        }
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn ask(&self, messages: Vec<Message>, dims: usize, seed: u64) -> Result<String, String> {
        let req = Request {
            messages,
            scripted: String::new(),
            max_tokens: 40 + 30 * dims as u32,
            temperature: if seed == 0 { 0.0 } else { 0.3 },
            seed,
            stop: Vec::new(),
            session: Some(self.conversation.clone()),
            ignore_eos: false,
        };
        let deadline = Instant::now() + self.timeout;
        let completion = self
            .llm
            .generate(&req, &mut |_| {
                if Instant::now() > deadline {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .map_err(|e| e.to_string())?;
        if completion.cancelled {
            return Err(format!(
                "the judge took longer than {} s",
                self.timeout.as_secs()
            ));
        }
        Ok(completion.text)
    }
}

/// The level anchors worth showing a small model: 1, 3 and 5.
fn anchors(d: &Dimension) -> String {
    format!(
        "{}: {}\n  1 = {}\n  3 = {}\n  5 = {}",
        d.id,
        d.what,
        d.anchor(1),
        d.anchor(3),
        d.anchor(5)
    )
}

/// The prompt for a round. The rubric comes first: it is the same for every round of a kind, so a local model
/// keeps it in its KV cache and only reads the new round.
pub fn prompt(rubric: &Rubric, round: &Material) -> String {
    let mut p = format!(
        "Rubric for a {} round (levels 1 strong no hire, 2 no hire, 3 mixed, 4 hire, 5 strong hire):\n",
        rubric.title
    );
    for d in &rubric.dimensions {
        p.push_str(&anchors(d));
        p.push('\n');
    }
    p.push_str(&format!("\nRound: {}.\n", round.title));
    if !round.values.is_empty() {
        p.push_str(&format!(
            "Company values probed: {}.\n",
            round.values.join(", ")
        ));
    }
    p.push_str("Questions asked:\n");
    for (i, e) in round
        .exchanges
        .iter()
        .filter(|e| !e.question.is_empty())
        .enumerate()
    {
        p.push_str(&format!("Q{}: {}\n", i + 1, e.question));
    }
    p.push_str("\nWhat the candidate said, one sentence per line:\n");
    let sentences = round.candidate_sentences();
    for s in sentences.iter().take(MAX_SENTENCES) {
        p.push_str(&format!("{}: {}\n", s.id, s.text));
    }
    if sentences.is_empty() {
        p.push_str("(nothing)\n");
    }
    let code = round.code_results();
    if !code.is_empty() {
        p.push_str("\nCode runs:\n");
        for c in &code {
            p.push_str(&format!("{}: {}\n", c.id, c.text));
        }
    }
    p.push_str(&format!(
        "\n{}",
        reply_format(rubric.dimensions.iter().map(|d| d.id.as_str()))
    ));
    p
}

fn reply_format<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    let fields: Vec<String> = ids
        .map(|id| format!("\"{id}\": {{\"level\": 1-5 or null, \"evidence\": [\"S1\"]}}"))
        .collect();
    format!("Reply with JSON exactly like:\n{{{}}}", fields.join(", "))
}

impl Judge for LlmJudge {
    fn name(&self) -> String {
        format!("llm:{}", self.llm.name())
    }

    fn judge(&self, rubric: &Rubric, round: &Material) -> Vec<Judgment> {
        let mut messages = vec![
            Message {
                role: MessageRole::System,
                content: SYSTEM.into(),
            },
            Message {
                role: MessageRole::User,
                content: prompt(rubric, round),
            },
        ];
        let mut wanted: Vec<String> = rubric.dimensions.iter().map(|d| d.id.clone()).collect();
        let mut done: Vec<Judgment> = Vec::new();
        let mut last_problems = Vec::new();
        let mut uncited = Vec::new();
        for attempt in 0..ATTEMPTS {
            match self.ask(messages.clone(), wanted.len(), attempt as u64) {
                Ok(reply) => {
                    let checked = validate::check(&reply, rubric, round, &wanted);
                    wanted.retain(|id| !checked.valid.iter().any(|j| &j.dimension == id));
                    done.extend(checked.valid);
                    uncited = checked.uncited;
                    last_problems = checked.problems.clone();
                    if wanted.is_empty() {
                        break;
                    }
                    messages.push(Message {
                        role: MessageRole::Assistant,
                        content: reply,
                    });
                    messages.push(Message {
                        role: MessageRole::User,
                        content: format!(
                            "Your reply had problems: {}.\nAnswer again for these dimensions only. {}",
                            checked.problems.join("; "),
                            reply_format(wanted.iter().map(String::as_str))
                        ),
                    });
                }
                Err(e) => {
                    tracing::warn!("scoring attempt {} failed: {e}", attempt + 1);
                    last_problems = vec![e];
                    uncited.clear();
                }
            }
        }
        rubric
            .dimensions
            .iter()
            .map(|d| {
                done.iter()
                    .find(|j| j.dimension == d.id)
                    .cloned()
                    .unwrap_or_else(|| Judgment {
                        dimension: d.id.clone(),
                        // A judge that keeps giving a level without evidence has found none.
                        outcome: if uncited.contains(&d.id) {
                            Outcome::NotEnoughEvidence
                        } else {
                            Outcome::Unjudged {
                                why: last_problems
                                    .iter()
                                    .find(|p| p.starts_with(&format!("{}:", d.id)))
                                    .or(last_problems.first())
                                    .cloned()
                                    .unwrap_or_else(|| "no reply".into()),
                            }
                        },
                        evidence: Vec::new(),
                        reason: String::new(),
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::{
        catalog::RoundKind,
        llm::{Completion, LlmError, Usage},
        scoring::{material::Exchange, rubric},
    };

    /// A stand-in model that replies from a list, for testing the judge's checks and retries.
    struct Canned {
        replies: Mutex<Vec<Result<String, String>>>,
        prompts: Mutex<Vec<Vec<Message>>>,
    }

    impl Canned {
        fn new(replies: &[Result<&str, &str>]) -> Arc<Canned> {
            Arc::new(Canned {
                replies: Mutex::new(
                    replies
                        .iter()
                        .rev()
                        .map(|r| r.map(str::to_string).map_err(str::to_string))
                        .collect(),
                ),
                prompts: Mutex::default(),
            })
        }
    }

    impl Llm for Canned {
        fn name(&self) -> &str {
            "canned"
        }

        fn generate(
            &self,
            req: &Request,
            sink: &mut dyn FnMut(&str) -> ControlFlow<()>,
        ) -> Result<Completion, LlmError> {
            self.prompts.lock().unwrap().push(req.messages.clone());
            let reply = self
                .replies
                .lock()
                .unwrap()
                .pop()
                .unwrap_or(Err("no more replies".into()));
            let text = reply.map_err(LlmError::Generate)?;
            if text == "SLOW" {
                std::thread::sleep(Duration::from_millis(30));
                let cancelled = sink("{").is_break();
                return Ok(Completion {
                    text: "{".into(),
                    cancelled,
                    tokens: 1,
                    usage: Usage::default(),
                });
            }
            let cancelled = sink(&text).is_break();
            Ok(Completion {
                text,
                cancelled,
                tokens: 1,
                usage: Usage::default(),
            })
        }
    }

    fn round() -> Material {
        Material {
            kind: Some(RoundKind::RecruiterScreen),
            title: "Recruiter screen".into(),
            held: true,
            exchanges: vec![Exchange {
                question: "Why this company?".into(),
                answers: vec![
                    "I have used your payments API for three years. I want to work on the fraud models.".into(),
                ],
            }],
            ..Material::default()
        }
    }

    fn judge(replies: &[Result<&str, &str>]) -> (Vec<Judgment>, Arc<Canned>) {
        let canned = Canned::new(replies);
        let judge = LlmJudge::new(canned.clone(), "t").with_timeout(Duration::from_millis(10));
        (
            judge.judge(rubric::for_kind(RoundKind::RecruiterScreen), &round()),
            canned,
        )
    }

    const GOOD: &str = r#"{"motivation": {"level": 4, "evidence": ["S2"], "reason": "specific team"},
        "experience": {"level": 3, "evidence": ["S1"]}, "communication": {"level": 3, "evidence": ["S1", "S2"]}}"#;

    #[test]
    fn a_valid_reply_is_taken_at_once() {
        let (j, canned) = judge(&[Ok(GOOD)]);
        assert_eq!(
            j.iter().map(|j| j.level()).collect::<Vec<_>>(),
            vec![Some(4), Some(3), Some(3)]
        );
        assert_eq!(canned.prompts.lock().unwrap().len(), 1);
        assert_eq!(
            j[0].evidence[0].quote,
            "I want to work on the fraud models."
        );
    }

    #[test]
    fn invalid_dimensions_are_asked_again_with_the_problems_named() {
        let first = r#"{"motivation": {"level": 9, "evidence": ["S2"]},
            "experience": {"level": 3, "evidence": ["I built their whole fraud stack"]},
            "communication": {"level": 3, "evidence": ["S1"]}}"#;
        let second = r#"{"motivation": {"level": 4, "evidence": ["S2"]}, "experience": {"level": 3, "evidence": ["S1"]}}"#;
        let (j, canned) = judge(&[Ok(first), Ok(second)]);
        assert_eq!(
            j.iter().map(|j| j.level()).collect::<Vec<_>>(),
            vec![Some(4), Some(3), Some(3)]
        );
        let prompts = canned.prompts.lock().unwrap();
        assert_eq!(prompts.len(), 2);
        let retry = &prompts[1].last().unwrap().content;
        assert!(
            retry.contains("from 1 to 5") && retry.contains("not in what the candidate said"),
            "{retry}"
        );
        assert!(
            !retry.contains("\"communication\""),
            "only the failed dimensions are asked again"
        );
    }

    #[test]
    fn a_judge_that_keeps_failing_leaves_dimensions_unjudged_never_zero() {
        let (j, canned) = judge(&[
            Ok("not json"),
            Err("model crashed"),
            Ok("{\"motivation\": 2}"),
        ]);
        assert_eq!(canned.prompts.lock().unwrap().len(), ATTEMPTS);
        assert_eq!(
            j[0].outcome,
            Outcome::NotEnoughEvidence,
            "a level with no evidence is not a judgment"
        );
        for d in &j[1..] {
            assert!(
                matches!(&d.outcome, Outcome::Unjudged { why } if why.contains("missing")),
                "{d:?}"
            );
        }
    }

    #[test]
    fn a_slow_judge_is_stopped_and_counted_as_failed() {
        let (j, _) = judge(&[Ok("SLOW"), Ok("SLOW"), Ok("SLOW")]);
        for d in &j {
            assert!(
                matches!(&d.outcome, Outcome::Unjudged { why } if why.contains("longer than")),
                "{d:?}"
            );
        }
    }

    #[test]
    fn the_prompt_numbers_sentences_and_lists_every_dimension() {
        let r = rubric::for_kind(RoundKind::RecruiterScreen);
        let p = prompt(r, &round());
        assert!(p.contains("S2: I want to work on the fraud models."));
        for d in &r.dimensions {
            assert!(p.contains(&format!("\"{}\":", d.id)));
        }
    }
}
