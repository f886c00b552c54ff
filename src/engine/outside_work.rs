//! Whether an answer is about the candidate's life outside work (a marathon, a trip, the weather, espresso, chess)
//! rather than anything an interview asks: each sentence is compared, in a sentence-embedding space, with short
//! descriptions of pastimes and of the things interview answers are about, and the answer leans to pastimes when
//! its sentences are on average clearly closer to them. Such an answer can share the question's words ("I spent
//! three weeks in Japan" to "What's your notice period?") and tell a vivid story in the first person, so neither
//! the words shared with the question nor the cosine with it finds it. Questions that invite such talk (about
//! yourself, hobbies, a move) are never checked.
//!
//! The line was set on the development material only (the calibration sets' parts other than the test part and the
//! development interviewer scripts): every real answer of 30 words or more leans at most 0.057, the off-topic
//! answers about pastimes 0.09 to 0.30.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::embed::{Embed, cosine};

/// Pastimes, each a short description. Family is not among them: a real answer to "why are you leaving?" can be
/// about a partner's new job or a child.
const PASTIMES: &[&str] = &[
    "running, marathons and training for a race",
    "sport: football, tennis, cycling, swimming and the gym",
    "a trip abroad, travelling and a holiday",
    "hiking, walking and camping outdoors in the mountains",
    "coffee, cooking, baking and food",
    "restaurants, wine and going out for dinner",
    "the weather: rain, sunshine, snow and the forecast",
    "chess, board games, crosswords and puzzles",
    "video games I play at home",
    "my dog, my cat and other pets",
    "gardening, plants and my home",
    "music, concerts and playing the guitar",
    "films, TV shows and books I enjoy",
    "a hobby I do at the weekend",
    "pottery, painting, photography and crafts",
];

/// What interview answers are about.
const WORK: &[&str] = &[
    "a project at work with my team",
    "my manager, colleagues and stakeholders at my job",
    "a bug, an outage or an incident in production",
    "designing a system with a database, a cache, services and an API",
    "an algorithm, a data structure and its time complexity",
    "writing code, tests and reviewing pull requests",
    "salary, notice period, start date and the job offer",
    "my career, my experience and the role I am looking for",
    "customers, users and the product",
    "a deadline, a plan and a launch",
];

/// At or above this mean lean (a sentence's closest pastime less its closest work description, averaged over the
/// answer's sentences) an answer is about life outside work.
pub const LEANS_OUTSIDE_WORK: f32 = 0.09;

/// Answers shorter than this say too little to be judged for their topic.
pub const MIN_WORDS: usize = 30;

/// A long ramble is read for its first sentences only: the cost stays bounded.
const MAX_SENTENCES: usize = 40;

/// Phrases of a question that invites talk of life outside work.
const INVITES: &[&str] = &[
    "about yourself",
    "outside",
    "hobby",
    "hobbies",
    "interests",
    "unwind",
    "recharge",
    "burnout",
    "balance",
    "switch off",
    "enjoy doing",
    "for fun",
    "weekend",
    "free time",
    "spare time",
    "relocat",
    "move to",
    "moving to",
    "passion",
    "personal",
];

/// Whether `question` invites the candidate to talk about their life outside work.
pub fn invites_life_outside_work(question: &str) -> bool {
    let q = question.to_lowercase();
    INVITES.iter().any(|p| q.contains(p))
}

/// The descriptions in one model's space.
struct Anchors {
    pastimes: Vec<Vec<f32>>,
    work: Vec<Vec<f32>>,
}

/// The descriptions embedded once per model (by its name).
fn anchors(embed: &dyn Embed) -> Option<Arc<Anchors>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Anchors>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let name = embed.name();
    if let Some(a) = cache.lock().ok()?.get(&name) {
        return Some(a.clone());
    }
    let pastimes = embed.embed(PASTIMES).ok()?;
    let work = embed.embed(WORK).ok()?;
    let a = Arc::new(Anchors { pastimes, work });
    cache.lock().ok()?.insert(name, a.clone());
    Some(a)
}

/// Embeds the descriptions now (at start-up, off the async workers) rather than on an interview's first answer.
pub fn warm(embed: &dyn Embed) {
    if anchors(embed).is_none() {
        tracing::warn!("the descriptions of pastimes could not be embedded");
    }
}

/// How far `answer` leans towards pastimes: the mean over its sentences (of three words or more) of the closest
/// pastime's cosine less the closest work description's. `None` when there is no sentence to read or the model
/// fails.
pub fn lean(embed: &dyn Embed, answer: &str) -> Option<f32> {
    let anchors = anchors(embed)?;
    let sentences: Vec<String> = crate::text::sentences(answer)
        .into_iter()
        .filter(|s| s.split_whitespace().count() >= 3)
        .take(MAX_SENTENCES)
        .collect();
    if sentences.is_empty() {
        return None;
    }
    let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let vectors = match embed.embed(&refs) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(
                "the embedding model failed; talk of life outside work is not checked: {e:#}"
            );
            return None;
        }
    };
    let closest = |set: &[Vec<f32>], v: &[f32]| {
        set.iter()
            .map(|a| cosine(a, v))
            .fold(f32::NEG_INFINITY, f32::max)
    };
    let total: f32 = vectors
        .iter()
        .map(|v| closest(&anchors.pastimes, v) - closest(&anchors.work, v))
        .sum();
    Some(total / vectors.len() as f32)
}

/// Whether `answer` to `question` is about the candidate's life outside work: at least [`MIN_WORDS`] words, a
/// question that does not invite such talk, and a [`lean`] of at least [`LEANS_OUTSIDE_WORK`].
pub fn is_about_life_outside_work(embed: &dyn Embed, question: &str, answer: &str) -> bool {
    answer.split_whitespace().count() >= MIN_WORDS
        && !invites_life_outside_work(question)
        && lean(embed, answer).is_some_and(|l| l >= LEANS_OUTSIDE_WORK)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Places a text by the pastime or work words it holds: one axis for each side.
    struct TwoTopics;

    impl Embed for TwoTopics {
        fn name(&self) -> String {
            "two-topics".into()
        }

        fn embed(&self, texts: &[&str]) -> anyhow::Result<Vec<Vec<f32>>> {
            Ok(texts
                .iter()
                .map(|t| {
                    let t = t.to_lowercase();
                    let has = |ws: &[&str]| ws.iter().filter(|w| t.contains(*w)).count() as f32;
                    let p = has(&[
                        "marathon", "running", "trip", "weather", "chess", "coffee", "hiking",
                    ]);
                    let w = has(&[
                        "team", "project", "database", "code", "salary", "manager", "role",
                    ]);
                    let n = (p * p + w * w).sqrt();
                    if n == 0.0 {
                        vec![0.0, 0.0]
                    } else {
                        vec![p / n, w / n]
                    }
                })
                .collect())
        }
    }

    const MARATHON: &str = "Honestly, the thing that comes to mind is training for my first marathon last year. \
        I started in January barely able to run, and I followed a plan of running four times a week. \
        I joined a running club for the long runs, which made a big difference to how the marathon went. \
        Race day was cool and flat, and the marathon was the best day of my year.";

    const PROJECT: &str = "Last year my team had to move the billing project to a new database in six weeks. \
        I split the project into four pieces and gave each engineer on the team one of them. \
        I reviewed the code myself, and the manager moved the launch out a week when the data checks failed. \
        We shipped with no lost invoices, and the team still uses the same plan.";

    #[test]
    fn a_story_about_a_pastime_leans_outside_work_and_a_work_story_does_not() {
        let q = "Walk me through a time you were handed a deadline that felt impossible.";
        assert!(is_about_life_outside_work(&TwoTopics, q, MARATHON));
        assert!(!is_about_life_outside_work(&TwoTopics, q, PROJECT));
        assert!(lean(&TwoTopics, MARATHON).unwrap() > lean(&TwoTopics, PROJECT).unwrap());
    }

    #[test]
    fn a_question_that_invites_talk_of_pastimes_or_a_short_reply_is_never_checked() {
        assert!(!is_about_life_outside_work(
            &TwoTopics,
            "To start, tell me a bit about yourself.",
            MARATHON
        ));
        assert!(!is_about_life_outside_work(
            &TwoTopics,
            "Would you be open to relocating to Dublin?",
            MARATHON
        ));
        assert!(!is_about_life_outside_work(
            &TwoTopics,
            "What's your notice period?",
            "I love running marathons and hiking."
        ));
        assert!(invites_life_outside_work(
            "What do you do for fun outside of work?"
        ));
        assert!(!invites_life_outside_work("Design a URL shortener."));
    }

    #[test]
    fn nothing_to_read_is_no_verdict() {
        assert_eq!(lean(&TwoTopics, ""), None);
        assert_eq!(lean(&TwoTopics, "Yes. No."), None);
    }
}
