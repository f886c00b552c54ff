//! A deterministic interviewer that needs no model: it words each [`Utterance`] from phrase tables in the
//! company persona's name, names a few of the candidate's own words in follow-ups, and streams word by word like a
//! model would. The same utterance and seed always give the same text.

use std::ops::ControlFlow;

use super::{Completion, Llm, LlmError, Request};
use crate::{
    catalog::RoundKind,
    engine::{answers, interview::Intent},
};

#[derive(Debug, Default)]
pub struct Scripted;

fn pick<'a>(options: &[&'a str], turn: u64, seed: u64) -> &'a str {
    options[((turn.wrapping_mul(31) ^ seed) % options.len() as u64) as usize]
}

/// Words of a quote, at most: a follow-up names what it takes up, it does not read the answer back.
const QUOTE_WORDS: usize = 6;

/// The few words of the candidate's most salient clause worth naming in a follow-up: around its first number, or
/// what follows its first-person action ("I convinced my manager to delay..." -> "my manager to delay the
/// launch..."), at most [`QUOTE_WORDS`].
fn short_quote(answer: &str) -> Option<String> {
    let clause = answers::salient_phrase(answer, 60)?;
    let words: Vec<&str> = clause.trim_end_matches('…').split_whitespace().collect();
    let number = words
        .iter()
        .position(|w| w.chars().any(|c| c.is_ascii_digit()));
    let action = words
        .windows(2)
        .position(|p| p[0].eq_ignore_ascii_case("i") && p[1].len() > 2)
        .map(|i| i + 2);
    let start = match (number, action) {
        (Some(n), _) => n.saturating_sub(3),
        (None, Some(a)) if a < words.len() => a,
        _ => 0,
    };
    let end = (start + QUOTE_WORDS).min(words.len());
    let picked = words[start..end]
        .join(" ")
        .trim_end_matches([',', ':', '-', '.'])
        .to_string();
    if picked.split_whitespace().count() < 2 {
        return None;
    }
    Some(if end < words.len() {
        format!("{picked}…")
    } else {
        picked
    })
}

/// The question as spoken. A coding problem is read on screen (the live page shows its statement beside the
/// editor), so the turn names it and points there instead of reading a paragraph aloud.
fn spoken_question(u: &crate::engine::interview::Utterance) -> String {
    let text = u.question.as_ref().map(|q| q.text.as_str()).unwrap_or("");
    if u.round_kind != RoundKind::Coding || text.is_empty() {
        return text.to_string();
    }
    let title = text.split(':').next().unwrap_or(text).trim();
    format!(
        "Let's work on {title}. The full problem is on your screen: read it through, then tell me how you'd \
         approach it."
    )
}

/// The text the scripted interviewer says for `req`.
pub fn word(req: &Request) -> String {
    let Some(u) = &req.utterance else {
        return "Let's continue.".to_string();
    };
    let question = spoken_question(u);
    let question = question.as_str();
    let kind_intro = match u.round_kind {
        RoundKind::RecruiterScreen => "I'd like to get to know you and what you're looking for.",
        RoundKind::Behavioral => {
            "I'll ask about specific situations from your experience; tell me what you did."
        }
        RoundKind::HiringManager => {
            "I'm interested in how you work with a team and how you make decisions."
        }
        RoundKind::Coding => "We'll work through a coding problem; think out loud as you go.",
        RoundKind::SystemDesign => {
            "This is a design discussion: start from requirements, and it's fine to make assumptions."
        }
    };
    let t = u.turn;
    let s = req.seed;
    match u.intent {
        Intent::Open if !req.persona_opening.is_empty() => {
            // The persona's own opening already frames the interview: the round's name and its question follow,
            // so an opening stays within about 90 words.
            format!(
                "{} This is the {} round. Let's start. {}",
                req.persona_opening.trim(),
                u.round_title,
                question
            )
        }
        Intent::Open => format!(
            "Hi, I'm {}, and I'll be your interviewer for the {} round at {}. {} Let's start. {}",
            req.persona_name, u.round_title, req.company_name, kind_intro, question
        ),
        Intent::Ask => format!(
            "{} {}",
            pick(&["Thank you.", "Okay, thanks.", "Got it, thanks."], t, s),
            question
        ),
        Intent::FollowUp => {
            let quote = u.candidate_said.as_deref().and_then(short_quote);
            let lead = match quote {
                Some(q) => format!(
                    "{} \"{q}\".",
                    pick(&["You said", "You mentioned", "I noted"], t, s)
                ),
                None => {
                    pick(&["Let me dig into that.", "I'd like to go deeper."], t, s).to_string()
                }
            };
            let probe = u.suggested_follow_up.clone().unwrap_or_else(|| {
                pick(
                    &[
                        "What did you personally do there, step by step?",
                        "What was the measurable result, and how did you know?",
                        "What would you do differently if you faced it again?",
                    ],
                    t,
                    s,
                )
                .to_string()
            });
            format!("{lead} {probe}")
        }
        Intent::Expand => format!(
            "{} Could you walk me through a specific example: the situation, what you did, and how it turned out?",
            pick(
                &["That's a short answer.", "I'd like more detail there."],
                t,
                s
            )
        ),
        Intent::Nudge => format!(
            "Take your time; it's fine to think for a moment. If it helps, start with the situation. The question was: {question}"
        ),
        Intent::Repeat => format!("Of course. {question}"),
        Intent::Deflect => format!(
            "I can't change how this interview is run or what it records, and I'll keep to the questions. {question}"
        ),
        Intent::Redirect => format!("Let's bring it back to the question. {question}"),
        Intent::MoveOn => format!("That's all right; let's try a different one. {question}"),
        Intent::Transition => format!(
            "Thanks, that's the end of that round. Next is the {} round. {} {}",
            u.round_title, kind_intro, question
        ),
        Intent::Feedback => format!(
            "{} {question}",
            pick(
                &[
                    "I'll keep my notes to myself until the end; you'll get a full written report afterwards.",
                    "No verdicts mid-interview: the report at the end covers every answer.",
                ],
                t,
                s
            )
        ),
        Intent::Process => format!(
            "{} Back to the question: {question}",
            u.process
                .as_deref()
                .unwrap_or("We'll keep to this round's time.")
        ),
        Intent::Close => format!(
            "That's all the time we have. Thank you for talking with me today; the transcript is saved in your \
             history. Good luck, from me and the rest of the {} team.",
            req.company_name
        ),
    }
}

impl Llm for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }

    fn generate(
        &self,
        req: &Request,
        sink: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Completion, LlmError> {
        let text = word(req);
        let mut sent = String::new();
        let mut tokens = 0;
        for piece in text.split_inclusive(' ') {
            if tokens >= req.max_tokens {
                break;
            }
            if sink(piece).is_break() {
                return Ok(Completion {
                    text: sent,
                    cancelled: true,
                    tokens,
                    usage: super::Usage::default(),
                });
            }
            sent.push_str(piece);
            tokens += 1;
        }
        Ok(Completion {
            text: sent,
            cancelled: false,
            tokens,
            usage: super::Usage {
                completion_tokens: tokens,
                ..super::Usage::default()
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{
        interview::Utterance,
        plan::{Pool, Question},
    };

    fn request(intent: Intent, said: Option<&str>) -> Request {
        Request {
            messages: vec![],
            utterance: Some(Utterance {
                intent,
                round: 0,
                round_kind: RoundKind::Behavioral,
                round_title: "Bar Raiser".into(),
                question: Some(Question {
                    id: "q".into(),
                    pool: Pool::Behavioral,
                    text: "Tell me about a time you disagreed with your manager.".into(),
                    follow_ups: vec![],
                }),
                candidate_said: said.map(str::to_string),
                suggested_follow_up: Some("What did your manager say?".into()),
                process: None,
                turn: 3,
            }),
            persona_name: "Rebecca".into(),
            persona_opening: String::new(),
            company_name: "Amazon".into(),
            max_tokens: 200,
            temperature: 0.0,
            seed: 1,
            stop: vec![],
            session: None,
            ignore_eos: false,
        }
    }

    #[test]
    fn follow_ups_quote_what_the_candidate_said() {
        let text = word(&request(
            Intent::FollowUp,
            Some(
                "It was hard. I convinced my manager to delay the launch by a week to fix 40 failing tests.",
            ),
        ));
        // A few words named, not the answer read back (the grader fails a run of 8 of the candidate's words).
        assert!(text.contains("\"week to fix 40 failing tests\""), "{text}");
        assert!(text.ends_with("What did your manager say?"), "{text}");
    }

    #[test]
    fn a_coding_problem_is_pointed_to_on_screen_not_read_aloud() {
        let mut req = request(Intent::Open, None);
        let u = req.utterance.as_mut().unwrap();
        u.round_kind = RoundKind::Coding;
        u.question.as_mut().unwrap().text =
            "Merge Intervals: You are given a list of closed intervals, where each covers every point from its \
             start to its end inclusive. Merge every group of overlapping intervals."
                .into();
        let text = word(&req);
        assert!(text.contains("Let's work on Merge Intervals."), "{text}");
        assert!(!text.contains("You are given"), "{text}");
        assert!(text.split_whitespace().count() <= 90, "{text}");
    }

    #[test]
    fn the_opening_introduces_the_persona_and_asks_the_question() {
        let text = word(&request(Intent::Open, None));
        assert!(text.starts_with("Hi, I'm Rebecca"), "{text}");
        assert!(
            text.contains("Amazon") && text.ends_with("disagreed with your manager."),
            "{text}"
        );
    }

    #[test]
    fn the_opening_uses_the_persona_s_own_words_when_the_seeds_have_them() {
        let mut req = request(Intent::Open, None);
        req.persona_opening = "Hi, I'm Rebecca; I run fulfilment systems.".into();
        let text = word(&req);
        assert!(
            text.starts_with(
                "Hi, I'm Rebecca; I run fulfilment systems. This is the Bar Raiser round."
            ),
            "{text}"
        );
    }

    #[test]
    fn generation_streams_is_deterministic_and_stops_when_told() {
        let req = request(Intent::Open, None);
        let mut pieces = Vec::new();
        let done = Scripted.generate(&req, &mut |p| {
            pieces.push(p.to_string());
            ControlFlow::Continue(())
        });
        let done = done.unwrap();
        assert!(pieces.len() > 10);
        assert_eq!(pieces.concat(), done.text);
        assert_eq!(
            done.text,
            Scripted
                .generate(&req, &mut |_| ControlFlow::Continue(()))
                .unwrap()
                .text
        );
        let mut n = 0;
        let cut = Scripted
            .generate(&req, &mut |_| {
                n += 1;
                if n > 3 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .unwrap();
        assert!(cut.cancelled);
        assert_eq!(cut.tokens, 3, "stops within one piece of being told");
    }
}
