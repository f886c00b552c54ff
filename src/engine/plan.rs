//! Which questions a round draws from the pool: behavioral kinds by the round's focus (else the company's values),
//! coding by the role's difficulty, system design likewise; never one the user has already had while others remain,
//! and in a seeded order so an interview is reproducible.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::catalog::{
    BehavioralQuestion, Catalog, Company, DesignPrompt, Difficulty, Problem, Role, Round, RoundKind,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionPool {
    Behavioral,
    Design,
    Problem,
}

impl QuestionPool {
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionPool::Behavioral => "behavioral",
            QuestionPool::Design => "design",
            QuestionPool::Problem => "problem",
        }
    }
}

/// A question as the interviewer will use it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Question {
    pub id: String,
    pub pool: QuestionPool,
    pub text: String,
    /// Follow-ups from the seeds, used in order.
    pub follow_ups: Vec<String>,
}

/// How many main questions a behavioral round of `minutes` holds: about one per twelve minutes, two to five.
pub fn behavioral_count(minutes: u32) -> usize {
    (minutes as usize / 12).clamp(2, 5)
}

fn mix(seed: u64, id: &str) -> u64 {
    // FNV-1a: stable across runs and platforms, unlike the standard hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn distance(a: Difficulty, b: Difficulty) -> u64 {
    (a as i64 - b as i64).unsigned_abs()
}

/// The questions for `round`, best first: the question pinned to it (when it names one of its pool) first, the
/// rest drawn.
pub fn draw(
    catalog: &Catalog,
    company: &Company,
    role: &Role,
    round: &Round,
    asked: &HashSet<String>,
    seed: u64,
) -> Vec<Question> {
    let Some(first) = round
        .question
        .as_deref()
        .and_then(|id| pinned(catalog, round.kind, id))
    else {
        return drawn(catalog, company, role, round, asked, seed);
    };
    if matches!(round.kind, RoundKind::Coding | RoundKind::SystemDesign) {
        return vec![first];
    }
    // The rest are drawn as if the pinned one had been asked already.
    let mut asked = asked.clone();
    asked.insert(first.id.clone());
    let mut rest = drawn(catalog, company, role, round, &asked, seed);
    rest.retain(|q| q.id != first.id);
    rest.truncate(behavioral_count(round.minutes).saturating_sub(1));
    std::iter::once(first).chain(rest).collect()
}

/// The question `id` of the pool a round of `kind` draws from.
fn pinned(catalog: &Catalog, kind: RoundKind, id: &str) -> Option<Question> {
    match kind {
        RoundKind::Coding => catalog.problems.iter().find(|p| p.id == id).map(problem),
        RoundKind::SystemDesign => catalog.design.iter().find(|p| p.id == id).map(design),
        RoundKind::RecruiterScreen | RoundKind::Behavioral | RoundKind::HiringManager => catalog
            .behavioral
            .iter()
            .find(|q| q.id == id)
            .map(behavioral),
    }
}

fn behavioral(q: &BehavioralQuestion) -> Question {
    Question {
        id: q.id.clone(),
        pool: QuestionPool::Behavioral,
        text: q.text.clone(),
        follow_ups: q.follow_ups.clone(),
    }
}

fn problem(p: &Problem) -> Question {
    Question {
        id: p.id.clone(),
        pool: QuestionPool::Problem,
        text: problem_text(p),
        follow_ups: CODING_PHASES.iter().map(|s| s.to_string()).collect(),
    }
}

fn design(p: &DesignPrompt) -> Question {
    Question {
        id: p.id.clone(),
        pool: QuestionPool::Design,
        text: p.prompt.clone(),
        follow_ups: design_phases(&p.follow_ups),
    }
}

/// The questions drawn from `round`'s pool, best first.
fn drawn(
    catalog: &Catalog,
    company: &Company,
    role: &Role,
    round: &Round,
    asked: &HashSet<String>,
    seed: u64,
) -> Vec<Question> {
    match round.kind {
        RoundKind::RecruiterScreen | RoundKind::Behavioral | RoundKind::HiringManager => {
            let mut wanted: Vec<&str> = round.focus.iter().map(String::as_str).collect();
            if wanted.is_empty() {
                wanted = company.values.iter().map(String::as_str).collect();
            }
            if round.kind == RoundKind::RecruiterScreen && !wanted.contains(&"motivation") {
                wanted.push("motivation");
            }
            let mut scored: Vec<(u64, &crate::catalog::BehavioralQuestion)> = catalog
                .behavioral
                .iter()
                .map(|q| {
                    let overlap = q
                        .competencies
                        .iter()
                        .filter(|c| wanted.contains(&c.as_str()))
                        .count() as u64;
                    let fresh = u64::from(!asked.contains(&q.id));
                    // Unasked first, then topical, then near the role's level, then a seeded shuffle.
                    let score = fresh * 1_000_000
                        + overlap * 10_000
                        + (2 - distance(q.difficulty, role.difficulty)) * 1_000
                        + mix(seed, &q.id) % 1_000;
                    (score, q)
                })
                .collect();
            scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id)));
            // A recruiter opens with the candidate and what they want; a values question, if any, comes after.
            if round.kind == RoundKind::RecruiterScreen
                && let Some(at) = scored.iter().position(|(_, q)| {
                    !asked.contains(&q.id) && q.competencies.iter().any(|c| c == "motivation")
                })
            {
                let opening = scored.remove(at);
                scored.insert(0, opening);
            }
            scored
                .into_iter()
                .take(behavioral_count(round.minutes))
                .map(|(_, q)| behavioral(q))
                .collect()
        }
        RoundKind::Coding => catalog
            .problems
            .iter()
            .max_by_key(|p| rank(asked, &p.id, p.difficulty, role.difficulty, seed))
            .map(problem)
            .into_iter()
            .collect(),
        RoundKind::SystemDesign => catalog
            .design
            .iter()
            .max_by_key(|p| rank(asked, &p.id, p.difficulty, role.difficulty, seed))
            .map(design)
            .into_iter()
            .collect(),
    }
}

/// A coding round's phases after the candidate's approach (the opening asks for it): each is asked unless the
/// candidate already covered it ([`super::interview::covered`]). Worded to ask, never to hint at the answer.
pub const CODING_PHASES: &[&str] = &[
    "What are the time and space complexity of that approach?",
    "Go ahead and write it in the editor, talking me through it as you go. Run it whenever you're ready. How \
     will you structure the code?",
    "Which edge cases would you test first, and what should each one return?",
    "Last part: what would you change if the input were a thousand times larger?",
];

/// A design round's phases, in the order an interviewer works through them, with the design's own follow-ups
/// (from the seeds) pushed in before the trade-offs.
pub fn design_phases(own: &[String]) -> Vec<String> {
    let mut phases: Vec<String> = [
        "Before we go further, let's pin down the scope: which requirements matter most, and what scale should we \
         design for?",
        "What API would clients call? Walk me through the main endpoints.",
        "What data do you store, and how would you lay it out?",
        "Walk me through the main components, and how one request flows through them.",
        "Where does this break first as traffic grows tenfold, and what would you do about it?",
        "What happens when a node, or a whole dependency, fails?",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    phases.extend(own.iter().take(2).cloned());
    phases.push(
        "Which trade-off in this design are you least sure about, and what would change your mind?"
            .into(),
    );
    phases
}

/// The phase of a design round a probe asks about, read from its words (the phases of [`design_phases`]; a seeded
/// follow-up may name one too). `None` for a probe about something else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DesignPhase {
    Requirements,
    Api,
    Data,
    Scaling,
    Failure,
    Components,
    TradeOff,
}

impl DesignPhase {
    pub fn of(probe: &str) -> Option<DesignPhase> {
        let p = probe.to_lowercase();
        [
            ("requirements", DesignPhase::Requirements),
            ("api", DesignPhase::Api),
            ("data do you store", DesignPhase::Data),
            ("traffic grows", DesignPhase::Scaling),
            ("fails", DesignPhase::Failure),
            ("components", DesignPhase::Components),
            ("trade-off", DesignPhase::TradeOff),
        ]
        .into_iter()
        .find(|(key, _)| p.contains(key))
        .map(|(_, phase)| phase)
    }
}

/// The later phase a request to move on names ("Can we skip ahead to the data model?", "let's get to the code"):
/// the index of the first of `probes` from `from` on that asks about it, so the round goes there instead of to
/// its next phase. A part named to be left ("skip the API", "move on from the requirements") is not a place to go;
/// of several, the last named wins. `None` when the reply names no later phase.
pub fn named_phase(kind: RoundKind, reply: &str, probes: &[String], from: usize) -> Option<usize> {
    // (words the candidate may use, words of the probe that asks about it)
    const CODING: &[(&[&str], &str)] = &[
        (
            &["complexity", "big o", "runtime", "run time"],
            "complexity",
        ),
        (
            &[
                "code",
                "coding",
                "implement",
                "implementation",
                "write it",
                "editor",
            ],
            "editor",
        ),
        (
            &["edge case", "edge cases", "test", "tests", "testing"],
            "edge cases",
        ),
        (
            &["extension", "follow up", "larger input", "scale it"],
            "thousand times",
        ),
    ];
    const DESIGN: &[(&[&str], DesignPhase)] = &[
        (
            &["requirements", "scope", "estimates", "capacity"],
            DesignPhase::Requirements,
        ),
        (
            &["api", "apis", "endpoint", "endpoints", "interface"],
            DesignPhase::Api,
        ),
        (
            &["data model", "schema", "storage", "database", "tables"],
            DesignPhase::Data,
        ),
        (
            &["components", "architecture", "high level", "diagram"],
            DesignPhase::Components,
        ),
        (
            &["scaling", "bottleneck", "bottlenecks"],
            DesignPhase::Scaling,
        ),
        (
            &[
                "failure",
                "failures",
                "fault tolerance",
                "outage",
                "reliability",
            ],
            DesignPhase::Failure,
        ),
        (
            &["trade off", "trade offs", "tradeoff", "tradeoffs"],
            DesignPhase::TradeOff,
        ),
    ];
    let folded = crate::text::fold_words(reply);
    let words = folded.as_slice();
    let left = |at: usize| {
        let before: Vec<&str> = words[..at]
            .iter()
            .rev()
            .take(2)
            .map(String::as_str)
            .collect();
        let prev = |i: usize| before.get(i).copied().unwrap_or("");
        let leaving = |w: &str| matches!(w, "skip" | "from" | "past" | "with" | "without");
        leaving(prev(0)) || (matches!(prev(0), "the" | "our" | "my") && leaving(prev(1)))
    };
    // The last place in the reply each phrase is named, not as a part to leave.
    let named = |phrases: &[&str]| -> Option<usize> {
        phrases
            .iter()
            .flat_map(|p| crate::text::positions(words, p))
            .filter(|&i| !left(i))
            .max()
    };
    let later = |fits: &dyn Fn(&str) -> bool| (from..probes.len()).find(|&i| fits(&probes[i]));
    match kind {
        RoundKind::Coding => CODING
            .iter()
            .filter_map(|(said, key)| named(said).map(|at| (at, *key)))
            .max_by_key(|(at, _)| *at)
            .and_then(|(_, key)| later(&|p: &str| p.to_lowercase().contains(key))),
        RoundKind::SystemDesign => DESIGN
            .iter()
            .filter_map(|(said, phase)| named(said).map(|at| (at, *phase)))
            .max_by_key(|(at, _)| *at)
            .and_then(|(_, phase)| later(&|p: &str| DesignPhase::of(p) == Some(phase))),
        _ => None,
    }
}

/// Pointers on a design phase for a candidate who asks for help there: where to look, as a question, without
/// giving the answer; several, so a second request gets a new one. The design's own question and its seeded
/// follow-ups get pointers on how to break the problem down.
pub fn design_pointers(phase: &str) -> &'static [&'static str] {
    match DesignPhase::of(phase) {
        Some(DesignPhase::Requirements) => &[
            "start from the numbers you were given. How many reads and writes a second does that make, and how \
             much data over a few years?",
            "separate what the system must do from how well it must do it. Which two or three features matter \
             most, and how fast must they be?",
            "pick the one number that sizes the whole design. Is it the requests a second, the data stored, or \
             the fan-out?",
        ],
        Some(DesignPhase::Api) => &[
            "think of the two or three calls a client makes most often. What does each one take, and what does it \
             return?",
            "write down the request a client sends first. What are its parameters, and what comes back?",
            "think about a client that retries a call. Which of your calls must be safe to repeat, and how?",
        ],
        Some(DesignPhase::Data) => &[
            "look at how each request finds its data. What is every read keyed by, and what does that suggest for \
             storage?",
            "list the main entities and how they relate. Which of them grows fastest?",
            "think about the most frequent query. Which store answers it, and with what key?",
        ],
        Some(DesignPhase::Components) => &[
            "follow one request from the client to storage and back. Which parts does it pass through?",
            "split the write path from the read path. What does each one need that the other doesn't?",
            "name the parts that hold state first. Which of your components keep data, and which can be \
             restarted freely?",
        ],
        Some(DesignPhase::Scaling) => &[
            "find the part that every request touches. What happens to it at ten times the load?",
            "think about what you can cache or compute ahead of time. What would a cache in front of the busiest \
             read hold?",
            "think about splitting the data across machines. What key would you partition by?",
        ],
        Some(DesignPhase::Failure) => &[
            "take one component away. What does the user see, and how does the system get back to normal?",
            "think about a request that is halfway done when a machine dies. What state is left behind, and who \
             cleans it up?",
            "picture a whole region or dependency going away. What keeps working, and what do you turn off?",
        ],
        Some(DesignPhase::TradeOff) => &[
            "think of a place where you picked one good property over another, say consistency over \
             availability. Which one was it?",
            "look at where you accepted stale data or extra latency. Why was that the right call here?",
            "think about what you gave up to keep the design simple. What would you build with twice the time?",
        ],
        None => &[
            "split the problem into the data you keep and the requests that read or write it. Which request \
             matters most here?",
            "start with the one request that matters most and follow it end to end. What happens first?",
            "begin with the scale. Roughly how many requests a second, and how much data, are we talking about?",
        ],
    }
}

/// How good a single-item pick is: unasked first, then near the role's level, then a seeded shuffle.
fn rank(
    asked: &HashSet<String>,
    id: &str,
    difficulty: Difficulty,
    level: Difficulty,
    seed: u64,
) -> (u64, u64, u64) {
    (
        u64::from(!asked.contains(id)),
        2 - distance(difficulty, level),
        mix(seed, id),
    )
}

/// A coding problem as the interviewer asks it: its title and the statement's first paragraph.
pub fn problem_text(p: &crate::catalog::Problem) -> String {
    format!("{}: {}", p.title, first_paragraph(&p.statement))
}

fn first_paragraph(markdown: &str) -> String {
    markdown
        .trim()
        .split("\n\n")
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{SeedSource, load};

    fn catalog() -> Catalog {
        load(&SeedSource::Embedded).unwrap().catalog
    }

    #[test]
    fn behavioral_rounds_draw_on_their_focus_and_avoid_repeats() {
        let c = catalog();
        let amazon = c.company("amazon").unwrap();
        let role = amazon.role("sde-ii").unwrap();
        let round = role.rounds.iter().find(|r| r.bar_raiser).unwrap();
        let first = draw(&c, amazon, role, round, &HashSet::new(), 7);
        assert_eq!(first.len(), behavioral_count(round.minutes));
        for q in &first {
            let bq = c.behavioral.iter().find(|b| b.id == q.id).unwrap();
            assert!(
                bq.competencies.iter().any(|x| round.focus.contains(x)),
                "{} is off-focus",
                q.id
            );
        }
        let asked: HashSet<String> = first.iter().map(|q| q.id.clone()).collect();
        let second = draw(&c, amazon, role, round, &asked, 7);
        assert!(
            second.iter().all(|q| !asked.contains(&q.id)),
            "repeats a question the user has had"
        );
        assert_eq!(
            draw(&c, amazon, role, round, &HashSet::new(), 7),
            first,
            "the same seed draws the same questions"
        );
    }

    #[test]
    fn a_recruiter_call_opens_on_the_candidate_not_a_values_question() {
        let c = catalog();
        let motivation = |id: &str| {
            c.behavioral
                .iter()
                .find(|b| b.id == id)
                .is_some_and(|b| b.competencies.iter().any(|x| x == "motivation"))
        };
        for company in &c.companies {
            for role in &company.roles {
                for round in role
                    .rounds
                    .iter()
                    .filter(|r| r.kind == RoundKind::RecruiterScreen)
                {
                    for seed in 0..20 {
                        let drawn = draw(&c, company, role, round, &HashSet::new(), seed);
                        assert!(
                            motivation(&drawn[0].id),
                            "{} {}: opens with {}",
                            company.id,
                            role.id,
                            drawn[0].id
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn coding_and_design_rounds_draw_one_item_near_the_role_level() {
        let c = catalog();
        let google = c.company("google").unwrap();
        for role in &google.roles {
            for round in &role.rounds {
                let drawn = draw(&c, google, role, round, &HashSet::new(), 1);
                match round.kind {
                    RoundKind::Coding => {
                        assert_eq!(drawn.len(), 1);
                        let p = c.problem(&drawn[0].id).unwrap();
                        assert!(distance(p.difficulty, role.difficulty) <= 1);
                    }
                    RoundKind::SystemDesign => assert_eq!(drawn[0].pool, QuestionPool::Design),
                    _ => assert!(drawn.len() >= 2),
                }
            }
        }
    }

    #[test]
    fn a_pinned_question_is_asked_first_even_when_asked_before() {
        let c = catalog();
        let google = c.company("google").unwrap();
        for role in &google.roles {
            for round in &role.rounds {
                let id = match round.kind {
                    RoundKind::Coding => "coin-change",
                    RoundKind::SystemDesign => c.design[2].id.as_str(),
                    _ => c.behavioral[5].id.as_str(),
                };
                let mut pinned = round.clone();
                pinned.question = Some(id.to_string());
                let asked = HashSet::from([id.to_string()]);
                let drawn = draw(&c, google, role, &pinned, &asked, 1);
                assert_eq!(drawn[0].id, id);
                let unpinned = draw(&c, google, role, round, &HashSet::new(), 1);
                assert_eq!(drawn.len(), unpinned.len(), "{}", round.title);
                let ids: HashSet<&str> = drawn.iter().map(|q| q.id.as_str()).collect();
                assert_eq!(
                    ids.len(),
                    drawn.len(),
                    "a question twice in {}",
                    round.title
                );
                // A question of another pool, or none, draws as before.
                pinned.question = Some("no-such-question".into());
                assert_eq!(
                    draw(&c, google, role, &pinned, &HashSet::new(), 1),
                    unpinned
                );
            }
        }
    }
}
