//! Whether an answer is about something other than anything the question asks, read for its meaning: each sentence
//! is compared, in a sentence-embedding space, with short descriptions of what answers are about, and an answer
//! that leans clearly to the wrong side on average is elsewhere. Two readings:
//!
//! - life outside work (a marathon, a trip, the weather, espresso, chess) against what interview answers are about,
//!   for every question that does not invite such talk (about yourself, hobbies, a move);
//! - in a coding or system design round, talk that is not technical (a career, how a team runs its sprints, why
//!   this company) against what that round's answers are about (an algorithm and its complexity; storage, queues,
//!   scaling and failure).
//!
//! Such an answer can share the question's words ("I spent three weeks in Japan" to "What's your notice period?")
//! and tell a vivid story in the first person, so neither the words shared with the question nor the cosine with it
//! finds it. The lines were set on the development material only (the calibration sets' parts other than the test
//! part and the development interviewer scripts), each well clear of every real answer there.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::{
    catalog::RoundKind,
    embed::{Embed, cosine},
};

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

/// What coding answers are about.
const CODING: &[&str] = &[
    "an algorithm and its time and space complexity",
    "a loop over the array with two pointers",
    "a hash map from each value to its index",
    "recursion on a tree, breadth-first or depth-first search",
    "sorting the input and scanning it once",
    "dynamic programming over a table of subproblems",
    "edge cases: an empty input, one element, duplicates",
    "a stack, a queue, a heap or a linked list",
    "the function returns the answer for this input",
];

/// What system design answers are about.
const DESIGN: &[&str] = &[
    "designing a system with a database, a cache, services and an API",
    "storage, sharding, replication and partitioning",
    "a message queue, workers and asynchronous processing",
    "scaling to millions of users, requests per second and latency",
    "what happens when a server fails: retries and failover",
    "the data model, tables and indexes",
    "a load balancer, a CDN and servers",
    "the requirements, the API and the trade-offs",
];

/// Talk that is not technical: what an answer about something else in a technical round is about.
const NOT_TECHNICAL: &[&str] = &[
    "my background: where I studied and the companies I worked at",
    "my career so far, my skills and my certifications",
    "how my team works: code reviews, sprints, standups and retros",
    "what I like about this company and its product",
    "why I want this job and what motivates me",
    "a disagreement with my manager or a colleague",
    "what I learned about myself",
];

/// At or above this mean lean (a sentence's closest pastime less its closest work description, averaged over the
/// answer's sentences) an answer is about life outside work. Development: every real answer of 30 words or more
/// leans at most 0.057, the off-topic stories about pastimes 0.09 to 0.30.
pub const LEANS_OUTSIDE_WORK: f32 = 0.09;

/// At or above this mean lean (closest talk that is not technical less closest description of the round's answers)
/// an answer in a coding or design round is not technical. Development: real coding answers lean at most -0.025,
/// real design answers 0.012; a CV recited to a design prompt 0.178, team process told to a coding problem 0.08 to
/// 0.25.
pub const LEANS_NOT_TECHNICAL: f32 = 0.07;

/// The fewest words of an answer whose topic is checked (here and by the judge's cosine with the question). A short
/// reply says too little to be about something else: "Remote, ideally." and "Whatever the band is for this level is
/// fine with me." are far in meaning from the recruiter's questions they answer (cosines 0.17 and 0.05), "Sure.
/// University, then two jobs, both in web development." shares no word with "Can you walk me through your
/// resume?", and every off-topic answer in the development set runs to 61 words or more.
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

/// The descriptions of each side, in one model's space.
struct Anchors {
    toward: Vec<Vec<f32>>,
    against: Vec<Vec<f32>>,
}

/// Two sets of descriptions, embedded once per model (by its name and the first description of each), on the first
/// answer long enough to read (about 50 short texts; not at start-up, where the voice pipeline's first turn would
/// wait on them).
fn anchors(embed: &dyn Embed, toward: &[&str], against: &[&str]) -> Option<Arc<Anchors>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Anchors>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = format!(
        "{}\n{}\n{}",
        embed.name(),
        toward.first()?,
        against.first()?
    );
    if let Some(a) = cache.lock().ok()?.get(&key) {
        return Some(a.clone());
    }
    let a = Arc::new(Anchors {
        toward: embed.embed(toward).ok()?,
        against: embed.embed(against).ok()?,
    });
    cache.lock().ok()?.insert(key, a.clone());
    Some(a)
}

/// The readings an answer to `question` in a round of `kind` gets: (what an answer about something else is about,
/// what answers are about, the line). Life outside work unless the question invites it; talk that is not technical
/// in a coding or design round.
fn readings(
    kind: Option<RoundKind>,
    question: &str,
) -> Vec<(&'static [&'static str], &'static [&'static str], f32)> {
    let mut out = Vec::new();
    if !invites_life_outside_work(question) {
        out.push((PASTIMES, WORK, LEANS_OUTSIDE_WORK));
    }
    match kind {
        Some(RoundKind::Coding) => out.push((NOT_TECHNICAL, CODING, LEANS_NOT_TECHNICAL)),
        Some(RoundKind::SystemDesign) => out.push((NOT_TECHNICAL, DESIGN, LEANS_NOT_TECHNICAL)),
        _ => {}
    }
    out
}

/// An answer's sentences (of three words or more, the first [`MAX_SENTENCES`]) embedded, or `None` when there is
/// nothing to read or the model fails.
fn sentences(embed: &dyn Embed, answer: &str) -> Option<Vec<Vec<f32>>> {
    let sentences: Vec<String> = crate::text::sentences(answer)
        .into_iter()
        .filter(|s| s.split_whitespace().count() >= 3)
        .take(MAX_SENTENCES)
        .collect();
    if sentences.is_empty() {
        return None;
    }
    let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
    match embed.embed(&refs) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(
                "the embedding model failed; what an answer is about is not checked: {e:#}"
            );
            None
        }
    }
}

/// How far embedded sentences lean towards one side: the mean over them of the closest description of `toward`
/// less the closest of `against`.
fn lean_of(sentences: &[Vec<f32>], anchors: &Anchors) -> f32 {
    let closest = |set: &[Vec<f32>], v: &[f32]| {
        set.iter()
            .map(|a| cosine(a, v))
            .fold(f32::NEG_INFINITY, f32::max)
    };
    let total: f32 = sentences
        .iter()
        .map(|v| closest(&anchors.toward, v) - closest(&anchors.against, v))
        .sum();
    total / sentences.len().max(1) as f32
}

/// How far `answer` leans towards pastimes ([`LEANS_OUTSIDE_WORK`]). `None` when there is no sentence to read or
/// the model fails.
pub fn lean(embed: &dyn Embed, answer: &str) -> Option<f32> {
    let anchors = anchors(embed, PASTIMES, WORK)?;
    Some(lean_of(&sentences(embed, answer)?, &anchors))
}

/// Whether `answer` to `question`, in a round of `kind` (`None`: not known), is about something else: at least
/// [`MIN_WORDS`] words, and about life outside work (when the question does not invite that) or, in a coding or
/// design round, not technical.
pub fn is_elsewhere(
    embed: &dyn Embed,
    kind: Option<RoundKind>,
    question: &str,
    answer: &str,
) -> bool {
    let readings = readings(kind, question);
    if answer.split_whitespace().count() < MIN_WORDS || readings.is_empty() {
        return false;
    }
    let Some(v) = sentences(embed, answer) else {
        return false;
    };
    readings.into_iter().any(|(toward, against, line)| {
        anchors(embed, toward, against).is_some_and(|a| lean_of(&v, &a) >= line)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Places a text by the words it holds of four topics: pastimes, work, a career, code.
    struct Topics;

    impl Embed for Topics {
        fn name(&self) -> String {
            "topics".into()
        }

        fn embed(&self, texts: &[&str]) -> anyhow::Result<Vec<Vec<f32>>> {
            const TOPICS: [&[&str]; 4] = [
                &[
                    "marathon", "running", "trip", "weather", "chess", "coffee", "hiking",
                ],
                &["team", "project", "database", "salary", "manager", "role"],
                &[
                    "career",
                    "studied",
                    "sprints",
                    "company",
                    "certification",
                    "motivates",
                ],
                &[
                    "algorithm",
                    "array",
                    "hash",
                    "tree",
                    "sort",
                    "stack",
                    "complexity",
                ],
            ];
            Ok(texts
                .iter()
                .map(|t| {
                    let t = t.to_lowercase();
                    let v: Vec<f32> = TOPICS
                        .iter()
                        .map(|ws| ws.iter().filter(|w| t.contains(*w)).count() as f32)
                        .collect();
                    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                    v.iter()
                        .map(|x| if n == 0.0 { 0.0 } else { x / n })
                        .collect()
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
        assert!(is_elsewhere(&Topics, None, q, MARATHON));
        assert!(!is_elsewhere(&Topics, None, q, PROJECT));
        assert!(lean(&Topics, MARATHON).unwrap() > lean(&Topics, PROJECT).unwrap());
    }

    #[test]
    fn a_question_that_invites_talk_of_pastimes_or_a_short_reply_is_never_checked() {
        assert!(!is_elsewhere(
            &Topics,
            None,
            "To start, tell me a bit about yourself.",
            MARATHON
        ));
        assert!(!is_elsewhere(
            &Topics,
            None,
            "Would you be open to relocating to Dublin?",
            MARATHON
        ));
        assert!(!is_elsewhere(
            &Topics,
            None,
            "What's your notice period?",
            "I love running marathons and hiking."
        ));
        assert!(invites_life_outside_work(
            "What do you do for fun outside of work?"
        ));
        assert!(!invites_life_outside_work("Design a URL shortener."));
    }

    const CV: &str = "So a bit about my career first. I studied physics and my first company was a consultancy. \
        Then I joined a fintech company where I earned a cloud certification and ran our sprints. \
        What motivates me is a company with a clear mission, which is why I applied here.";

    const SOLUTION: &str = "I would sort the array first and then walk it with two pointers from both ends. \
        Each step moves one pointer, so after the sort the walk is linear and the complexity is n log n. \
        A hash set instead would avoid the sort, at the cost of memory for the array's values.";

    #[test]
    fn talk_that_is_not_technical_is_elsewhere_only_in_a_technical_round() {
        let q = "Given an array of numbers and a target, find two that add up to it.";
        assert!(is_elsewhere(&Topics, Some(RoundKind::Coding), q, CV));
        assert!(is_elsewhere(&Topics, Some(RoundKind::SystemDesign), q, CV));
        assert!(!is_elsewhere(&Topics, Some(RoundKind::Coding), q, SOLUTION));
        assert!(!is_elsewhere(
            &Topics,
            Some(RoundKind::RecruiterScreen),
            q,
            CV
        ));
        assert!(!is_elsewhere(&Topics, None, q, CV));
    }

    #[test]
    fn nothing_to_read_is_no_verdict() {
        assert_eq!(lean(&Topics, ""), None);
        assert_eq!(lean(&Topics, "Yes. No."), None);
    }
}
