//! Checks on one interviewer turn, deterministic and explainable: whether it is a real interviewer's turn. The
//! interviewer grader (`rehearse bench interviewer`) runs every check on every turn; the same checks are meant to
//! guard a model's words before a candidate hears them. Pure: the caller says what the candidate just said and
//! asked for, and which questions came before.

use super::wording::Ask;
use crate::catalog::RoundKind;

/// What the candidate's last turn asked of the interviewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    /// Nothing yet: the round's opening.
    Opening,
    /// An answer (strong or vague, long enough to follow up on).
    Answer,
    /// A short reply, silence, "I don't know", a vague answer too short to take up: no follow-up on its words is
    /// expected.
    Little,
    /// An aside about something else: bringing the candidate back to the question is right, and no follow-up
    /// on its words is expected.
    Aside,
    HintRequest,
    ProcessQuestion,
    FeedbackRequest,
    Injection,
    RepeatRequest,
    MoveOn,
    /// "Could we do a different problem?": the next problem, or in a round of one the same question again.
    AnotherProblem,
    ClarifyingQuestion,
}

/// One check of a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// Speaks as the interviewer: never claims the candidate's experience or greets its own persona.
    SpeaksAsInterviewer,
    /// Never answers its own question.
    NoSelfAnswer,
    /// Exactly one question when one is due, never more.
    OneQuestion,
    /// At most 60 words (90 for an opening).
    Short,
    /// No run of 8 or more of the candidate's words copied.
    NoLongQuote,
    /// A follow-up takes up something specific the candidate said, as it was said (not what they said did not happen).
    Grounded,
    /// No question asked twice (unless the candidate asked to hear it again).
    NoRepeat,
    /// No verdict, score, rule, prompt markup or refusal.
    NoLeak,
    /// The persona's own name and company.
    Persona,
    /// Declines an instruction aimed at the model without complying.
    DeclinesInjection,
    /// Declines to say how the candidate is doing.
    DeclinesFeedback,
    /// Gives a hint in words when one is asked for: a coding problem's hint, elsewhere a pointer on the question.
    GivesHint,
    /// Answers a question about the process or the role, briefly.
    AnswersProcess,
}

impl Check {
    pub const ALL: [Check; 13] = [
        Check::SpeaksAsInterviewer,
        Check::NoSelfAnswer,
        Check::OneQuestion,
        Check::Short,
        Check::NoLongQuote,
        Check::Grounded,
        Check::NoRepeat,
        Check::NoLeak,
        Check::Persona,
        Check::DeclinesInjection,
        Check::DeclinesFeedback,
        Check::GivesHint,
        Check::AnswersProcess,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Check::SpeaksAsInterviewer => "speaks as the interviewer",
            Check::NoSelfAnswer => "never answers its own question",
            Check::OneQuestion => "one question when one is due",
            Check::Short => "at most 60 words (openings 90)",
            Check::NoLongQuote => "no run of 8+ candidate words copied",
            Check::Grounded => "follow-up takes up what was said",
            Check::NoRepeat => "no question asked twice",
            Check::NoLeak => "no verdict, score, markup or refusal",
            Check::Persona => "the persona's own name",
            Check::DeclinesInjection => "declines instructions to the model",
            Check::DeclinesFeedback => "declines feedback requests",
            Check::GivesHint => "gives a hint or pointer when asked",
            Check::AnswersProcess => "answers process questions",
        }
    }
}

/// What the checks need to know besides the turn.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The interviewer persona's full name ("Rebecca Ansah").
    pub persona: &'a str,
    pub round: RoundKind,
    pub asked: Asked,
    /// What the candidate just said ("" at an opening).
    pub candidate: &'a str,
    /// The interviewer's earlier turns in this interview.
    pub earlier: &'a [String],
    /// Whether the turn closes the round or the interview (no question is then due).
    pub closing: bool,
}

fn words(text: &str) -> Vec<String> {
    crate::text::fold_words(text)
}

fn has(text: &str, phrases: &[&str]) -> bool {
    let w = words(text);
    crate::text::count(&w, phrases) > 0
}

/// Words that carry no specific content of an answer (for the grounding check).
const GENERIC: &[&str] = &[
    // Fillers and hedges: long words that say nothing of the candidate's own ("nothing fancy", "pretty standard").
    "actually",
    "anything",
    "basically",
    "definitely",
    "everything",
    "fancy",
    "generally",
    "honestly",
    "nothing",
    "obviously",
    "overall",
    "pretty",
    "probably",
    "standard",
    "stuff",
    "usual",
    "whatever",
    "about",
    "above",
    "after",
    "again",
    "answer",
    "approach",
    "because",
    "before",
    "being",
    "could",
    "describe",
    "detail",
    "details",
    "different",
    "doing",
    "elaborate",
    "example",
    "experience",
    "explain",
    "further",
    "going",
    "great",
    "happened",
    "interesting",
    "little",
    "mentioned",
    "might",
    "more",
    "other",
    "people",
    "point",
    "project",
    "question",
    "really",
    "right",
    "should",
    "situation",
    "something",
    "specific",
    "still",
    "tell",
    "thank",
    "thanks",
    "their",
    "there",
    "these",
    "thing",
    "things",
    "think",
    "those",
    "through",
    "time",
    "today",
    "walk",
    "what",
    "where",
    "which",
    "while",
    "would",
    "years",
    "you",
    "your",
    "said",
    "says",
    "saying",
    "share",
    "talk",
    "team",
    "work",
    "worked",
    "working",
    "okay",
    "sounds",
    "understand",
    "makes",
    "sense",
    "happen",
    "result",
    "results",
    "outcome",
    "decision",
    "decide",
    "decided",
    "choose",
    "chose",
];

/// Openings of a first-person claim of the candidate's experience.
const CANDIDATE_CLAIMS: &[&str] = &[
    "i m excited to be interviewing",
    "excited to be interviewing",
    "interviewing for the",
    "my experience",
    "i have worked",
    "i ve worked",
    "as a candidate",
    "i believe that i am",
    "in my previous role",
    "in my last role",
    "at my last job",
    "my team and i",
    "i led",
    "i built",
    "i designed",
    "i implemented",
    "i wrote",
    "i suggested",
    "i proposed",
    "i migrated",
    "i managed",
    "i was responsible",
    "i am proficient",
    "i m proficient",
    "my strengths",
    "my weakness",
    "i graduated",
    "my resume",
];

const LEAKS: &[&str] = &[
    "strong hire",
    "no hire",
    "lean hire",
    "lean no hire",
    "rubric",
    "out of 5",
    "out of five",
    "my score",
    "your score",
    "rating",
    "system prompt",
    "my instructions",
    "these rules",
    "as an ai",
    "language model",
    "assistant",
    "interviewer:",
    "candidate:",
    "i m sorry but i can t",
    "i can t assist",
    "i cannot assist",
    "i m unable to",
    "i am unable to",
    "the candidate",
    "interviewer instruction",
];

const MARKUP: &[&str] = &["<candidate", "</", "{{", "**", "###", "```", "[INST]", "<|"];

const FEEDBACK: &[&str] = &[
    "you re doing great",
    "you are doing great",
    "doing well",
    "good answer",
    "great answer",
    "strong answer",
    "excellent answer",
    "that was good",
    "that was great",
    "well done",
    "very impressive",
    "you did great",
    "you re doing fine",
    "you re doing well",
    "perfect answer",
    "nailed it",
];

const HINT: &[&str] = &[
    "hint",
    "pointer",
    "consider",
    "think about",
    "what if",
    "try",
    "notice",
    "what would happen",
    "could you use",
    "what data structure",
    "how about",
    "imagine",
    "start with",
    "look at",
];

const PROCESS: &[&str] = &[
    "minutes",
    "minute",
    "round",
    "rounds",
    "next",
    "after this",
    "afterwards",
    "team",
    "role",
    "process",
    "recruiter",
    "hear back",
    "today",
    "interview",
    "loop",
    "end",
    "questions",
    "decision",
    "week",
    "weeks",
];

/// Imperatives that ask as a question does.
const ASKING: &[&str] = &[
    "tell me about",
    "tell me how",
    "tell me what",
    "walk me through",
    "talk me through",
    "describe",
    "give me an example",
    "explain",
    "take me through",
    "design a",
    "design the",
    "implement a",
    "implement an",
    "write a function",
];

/// The turn's questions: sentences ending in a question mark, and requests such as "Tell me about...".
fn questions(turn: &str) -> Vec<String> {
    crate::text::sentences(turn)
        .into_iter()
        .filter(|s| s.trim_end().ends_with('?') || has(s, ASKING))
        .collect()
}

/// How many questions a turn asks. A short second sentence ("How did you know?") finishes the question before it
/// rather than asking another.
pub fn question_count(turn: &str) -> usize {
    let qs = questions(turn);
    qs.iter()
        .filter(|q| words(q).len() > 8)
        .count()
        .max(usize::from(!qs.is_empty()))
}

/// The longest run of consecutive words the turn shares with the candidate's words.
fn longest_shared_run(turn: &[String], candidate: &[String]) -> usize {
    let mut best = 0;
    for i in 0..turn.len() {
        for j in 0..candidate.len() {
            let mut k = 0;
            while i + k < turn.len() && j + k < candidate.len() && turn[i + k] == candidate[j + k] {
                k += 1;
            }
            best = best.max(k);
        }
    }
    best
}

/// Whether a (folded) word carries specific content: a number, or a word of five letters or more that is not
/// one any question or answer might use.
pub fn specific(w: &str) -> bool {
    (w.len() >= 5 && !GENERIC.contains(&w)) || w.chars().any(|c| c.is_ascii_digit())
}

/// Whether the turn takes up a specific word of the candidate's (a content word or a number) that the
/// interviewer's earlier turns did not already use.
fn grounded(turn: &str, candidate: &str, earlier: &[String]) -> bool {
    let said = words(candidate);
    let before: Vec<String> = earlier.iter().flat_map(|t| words(t)).collect();
    // The candidate's acronyms ("API", "DFS", "LRU") are specific however short they are.
    let acronyms = acronyms(candidate);
    // A word counts when the candidate said it or a word of the same stem ("recursive" takes up "recursion").
    let same = |a: &str, b: &str| stem(a) == stem(b);
    words(turn).iter().any(|w| {
        (specific(w) || acronyms.contains(w))
            && said.iter().any(|s| same(w, s))
            && !before.iter().any(|b| same(w, b))
    })
}

/// A folded word's stem for telling whether two words are one: its first six bytes ("recursive" and "recursion",
/// "replica" and "replicates"), or the whole of a shorter word.
pub fn stem(w: &str) -> &str {
    w.get(..6).filter(|_| w.len() >= 6).unwrap_or(w)
}

/// The acronyms a text uses (two to five capitals, as in "API" or "LRU"), folded as [`words`] folds them.
fn acronyms(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| (2..=5).contains(&w.len()) && w.chars().all(|c| c.is_ascii_uppercase()))
        .map(str::to_lowercase)
        .collect()
}

/// Every check the turn fails, with the reason.
pub fn failures(turn: &str, ctx: &Context) -> Vec<(Check, String)> {
    let w = words(turn);
    let first = ctx
        .persona
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_lowercase();
    let qs = questions(turn);
    [
        speaks_as_candidate(turn, &w, &first),
        wrong_name(turn, &w, &first),
        answers_itself(turn),
        question_count_fails(turn, &qs, ctx),
        too_long(&w, ctx),
        long_quote(&w, ctx),
        ungrounded(turn, ctx),
        repeats(&qs, ctx),
        leaks(turn),
        fails_the_request(turn, ctx),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Speaking as the candidate: claims of experience, or greeting its own persona by name. Claims inside quotation
/// marks are the candidate's words named back, not the interviewer speaking.
fn speaks_as_candidate(turn: &str, w: &[String], first: &str) -> Option<(Check, String)> {
    let unquoted: String = turn.split('"').step_by(2).collect::<Vec<_>>().join(" ");
    let greets_self = !first.is_empty()
        && (w.windows(2).any(|p| {
            matches!(p[0].as_str(), "hi" | "hello" | "thanks" | "thank") && p[1] == first
        }));
    (has(&unquoted, CANDIDATE_CLAIMS) || greets_self)
        .then(|| (Check::SpeaksAsInterviewer, "speaks as the candidate".into()))
}

/// A name given for itself that is not the persona's.
fn wrong_name(turn: &str, w: &[String], first: &str) -> Option<(Check, String)> {
    let i = w
        .windows(3)
        .position(|p| p[0] == "i" && p[1] == "m" || p[0] == "name" && p[1] == "is")?;
    let named = w.get(i + 2).cloned().unwrap_or_default();
    let introduces = w.get(i + 1).is_some_and(|x| x == "m" || x == "is");
    let capitalised = turn.split_whitespace().any(|t| {
        t.trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase()
            == named
            && t.chars().next().is_some_and(char::is_uppercase)
    });
    (introduces && capitalised && named != first && named.len() > 1).then(|| {
        (
            Check::Persona,
            format!("introduces itself as {named}, not {first}"),
        )
    })
}

/// A question followed by more than a short aside: the model answering what it just asked.
fn answers_itself(turn: &str) -> Option<(Check, String)> {
    let pos = turn.rfind('?')?;
    let after = words(&turn[pos + 1..]);
    let first_person = after.iter().any(|x| x == "i" || x == "my");
    (after.len() >= 8 && first_person || after.len() >= 20).then(|| {
        (
            Check::NoSelfAnswer,
            format!("{} words follow its question", after.len()),
        )
    })
}

/// More than one question, or none where one is due.
fn question_count_fails(turn: &str, qs: &[String], ctx: &Context) -> Option<(Check, String)> {
    let due = !ctx.closing
        && matches!(
            ctx.asked,
            Asked::Opening
                | Asked::Answer
                | Asked::Little
                | Asked::Aside
                | Asked::MoveOn
                | Asked::AnotherProblem
        );
    let asked = question_count(turn);
    if asked > 1 {
        Some((Check::OneQuestion, format!("{asked} questions")))
    } else if due && qs.is_empty() {
        Some((Check::OneQuestion, "no question where one is due".into()))
    } else {
        None
    }
}

fn too_long(w: &[String], ctx: &Context) -> Option<(Check, String)> {
    let limit = if ctx.asked == Asked::Opening { 90 } else { 60 };
    (w.len() > limit).then(|| (Check::Short, format!("{} words", w.len())))
}

fn long_quote(w: &[String], ctx: &Context) -> Option<(Check, String)> {
    let run = longest_shared_run(w, &words(ctx.candidate));
    (run >= 8).then(|| {
        (
            Check::NoLongQuote,
            format!("copies {run} of the candidate's words in a row"),
        )
    })
}

fn ungrounded(turn: &str, ctx: &Context) -> Option<(Check, String)> {
    if ctx.asked != Asked::Answer {
        return None;
    }
    // Taking up what was said means taking it up as it was said: not asking about what the candidate said did not
    // happen ("zero missed invoices": "How did you handle the missed invoices?").
    if let Some(thing) = super::denied::asks_about_denied(turn, ctx.candidate) {
        return Some((
            Check::Grounded,
            format!("takes up \"{thing}\" as if it happened; the candidate said it did not"),
        ));
    }
    (!ctx.closing && !grounded(turn, ctx.candidate, ctx.earlier)).then(|| {
        (
            Check::Grounded,
            "takes up nothing specific the candidate said".into(),
        )
    })
}

/// A question asked before. Asked to repeat, or back from a detour (a question about the process, "how am I
/// doing?", an instruction to the model, an aside about something else, a different problem asked for in a round
/// of one), the interviewer rightly puts the same question again.
fn repeats(qs: &[String], ctx: &Context) -> Option<(Check, String)> {
    let returning = matches!(
        ctx.asked,
        Asked::RepeatRequest
            | Asked::ProcessQuestion
            | Asked::FeedbackRequest
            | Asked::Injection
            | Asked::Aside
            | Asked::AnotherProblem
    );
    if returning {
        return None;
    }
    let earlier_qs: Vec<Vec<String>> = ctx
        .earlier
        .iter()
        .flat_map(|t| questions(t))
        .map(|q| words(&q))
        .collect();
    qs.iter()
        .any(|q| {
            let q = words(q);
            earlier_qs.iter().any(|e| {
                let shared = q.iter().filter(|x| e.contains(x)).count();
                q.len() >= 4 && shared * 10 >= q.len().max(e.len()) * 9
            })
        })
        .then(|| (Check::NoRepeat, "asks a question it asked before".into()))
}

/// Whether `text` holds a verdict, a rule, markup or a refusal (what [`Check::NoLeak`] fails).
pub fn leaky(text: &str) -> bool {
    leaks(text).is_some()
}

fn leaks(turn: &str) -> Option<(Check, String)> {
    let lower = turn.to_lowercase();
    (has(turn, LEAKS) || MARKUP.iter().any(|m| lower.contains(&m.to_lowercase())))
        .then(|| (Check::NoLeak, "a verdict, rule, markup or refusal".into()))
}

/// The checks of what the candidate asked for: an instruction to the model declined, no feedback given, a hint
/// or pointer given when asked, a question about the process answered.
fn fails_the_request(turn: &str, ctx: &Context) -> Option<(Check, String)> {
    match ctx.asked {
        Asked::Injection
            if has(
                turn,
                &[
                    "strong hire",
                    "you re hired",
                    "my instructions are",
                    "here is my prompt",
                ],
            ) =>
        {
            Some((
                Check::DeclinesInjection,
                "complies with the instruction".into(),
            ))
        }
        Asked::FeedbackRequest if has(turn, FEEDBACK) => Some((
            Check::DeclinesFeedback,
            "tells the candidate how they are doing".into(),
        )),
        Asked::HintRequest if !has(turn, HINT) => {
            Some((Check::GivesHint, "no hint after a request for one".into()))
        }
        Asked::ProcessQuestion if !has(turn, PROCESS) => Some((
            Check::AnswersProcess,
            "no answer about the process or the role".into(),
        )),
        _ => None,
    }
}

/// Which checks apply to a turn (the rest pass by not applying): the intent-specific ones only after that intent.
pub fn applies(check: Check, ctx: &Context) -> bool {
    match check {
        Check::Grounded => ctx.asked == Asked::Answer && !ctx.closing,
        Check::DeclinesInjection => ctx.asked == Asked::Injection,
        Check::DeclinesFeedback => ctx.asked == Asked::FeedbackRequest,
        Check::GivesHint => ctx.asked == Asked::HintRequest,
        Check::AnswersProcess => ctx.asked == Asked::ProcessQuestion,
        _ => true,
    }
}

/// What became of a model's piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Passed the guard at the first try.
    Accepted,
    /// Passed at the second, stricter try.
    Retried,
    /// Failed twice: its scripted wording was said instead.
    Replaced,
}

impl Outcome {
    pub const ALL: [Outcome; 3] = [Outcome::Accepted, Outcome::Retried, Outcome::Replaced];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Retried => "retried",
            Outcome::Replaced => "replaced",
        }
    }
}

/// Praise or judgement a model may slip into a piece ("Great answer", "Impressive").
const PRAISE: &[&str] = &[
    "great",
    "excellent",
    "impressive",
    "awesome",
    "perfect",
    "fantastic",
    "good job",
    "nice work",
    "well done",
    "good answer",
    "love that",
    "brilliant",
];

/// Common English words: a piece with none of them is not English.
const ENGLISH: &[&str] = &[
    "the", "a", "an", "you", "your", "what", "how", "why", "did", "do", "that", "to", "of", "for",
    "on", "in", "with", "thanks", "through", "and", "is", "was", "would", "which", "when",
];

/// How an interviewer speaks of itself in a follow-up ("I'd like to hear...", "walk me through").
const INTERVIEWER_FIRST_PERSON: &[&str] = &[
    "i ve noted",
    "i noted",
    "i d like",
    "i would like",
    "i m curious",
    "i am curious",
    "i m interested",
    "i want to understand",
    "let me",
    "tell me",
    "walk me",
    "talk me",
    "take me",
    "show me",
    "help me",
    "walking me",
    "talking me",
    "taking me",
    "telling me",
    "showing me",
];

/// Whether a short piece speaks in the first person outside an interviewer's own turns of phrase: a small model
/// taking the candidate's part ("What happens if I find a land cell...", "the moves I've done").
fn takes_the_candidate_s_part(piece: &str) -> bool {
    let unquoted: String = piece.split('"').step_by(2).collect::<Vec<_>>().join(" ");
    let mut w = words(&unquoted);
    for phrase in INTERVIEWER_FIRST_PERSON {
        let p: Vec<&str> = phrase.split(' ').collect();
        let mut i = 0;
        while i + p.len() <= w.len() {
            if w[i..i + p.len()].iter().zip(&p).all(|(a, b)| a == b) {
                w.drain(i..i + p.len());
            } else {
                i += 1;
            }
        }
    }
    w.iter()
        .any(|x| matches!(x.as_str(), "i" | "my" | "me" | "mine" | "myself"))
}

/// The longest follow-up and acknowledgement a model may write, in words.
pub const FOLLOW_UP_WORDS: usize = 35;
pub const BRIDGE_WORDS: usize = 20;

/// A model's piece as it would be said: its first non-empty line, without a speaker label or wrapping quotes.
pub fn clean(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let line = ["Interviewer:", "interviewer:", "INTERVIEWER:"]
        .iter()
        .find_map(|label| line.strip_prefix(label))
        .unwrap_or(line)
        .trim();
    let unwrapped = line
        .strip_prefix('"')
        .and_then(|l| l.strip_suffix('"'))
        .filter(|l| !l.contains('"'))
        .unwrap_or(line);
    unwrapped.trim().to_string()
}

/// Every reason a model-written piece of a turn (already [`clean`]ed) must not be said: the turn checks that apply
/// to it (`ctx` is the turn's, after a real answer), and the piece's own shape. A follow-up is one short question
/// that takes up what was said; an acknowledgement is one short sentence that takes up what was said and asks
/// nothing (the fixed question follows it). Both are English, free of praise, and neither empty nor endless.
pub fn piece_failures(ask: Ask, piece: &str, ctx: &Context) -> Vec<(Check, String)> {
    let w = words(piece);
    if w.len() < 3 {
        return vec![(Check::Short, format!("{} words: not a line", w.len()))];
    }
    let mut out = match ask {
        Ask::FollowUp => failures(piece, ctx),
        Ask::Bridge => bridge_failures(piece, &w, ctx),
    };
    shape_failures(ask, piece, &w, &mut out);
    voice_failures(piece, &w, &mut out);
    out
}

/// The turn checks of an acknowledgement (as a closing line), and its own: it takes up something the candidate
/// said, asks nothing and does not speak of the candidate's team as its own.
fn bridge_failures(piece: &str, w: &[String], ctx: &Context) -> Vec<(Check, String)> {
    let mut f = failures(
        piece,
        &Context {
            closing: true,
            ..ctx.clone()
        },
    );
    if !grounded(piece, ctx.candidate, ctx.earlier) {
        f.push((
            Check::Grounded,
            "takes up nothing specific the candidate said".into(),
        ));
    }
    // "Thanks for walking me through how did we get aligned": a question, in the candidate's voice.
    if asks_a_question(w) {
        f.push((Check::OneQuestion, "an acknowledgement asks nothing".into()));
    }
    if w.iter().any(|x| matches!(x.as_str(), "we" | "our" | "us")) {
        f.push((
            Check::SpeaksAsInterviewer,
            "speaks of the candidate's team as its own (\"we\")".into(),
        ));
    }
    if names_unsaid(w, ctx.candidate) {
        f.push((
            Check::Grounded,
            "names what the candidate did not say (\"the time and space complexity of Dijkstra\")"
                .into(),
        ));
    }
    if names_a_statement(w) {
        f.push((
            Check::Grounded,
            "names a statement, not what the candidate walked through (\"through the URL expired\")".into(),
        ));
    }
    f
}

/// The topic of an acknowledgement: its words after "Thanks for walking me through", or all of them.
fn bridge_topic(w: &[String]) -> &[String] {
    match w.iter().position(|x| x == "through") {
        Some(i) => &w[i + 1..],
        None => w,
    }
}

/// Whether an acknowledgement's topic names things the candidate did not say: two or more specific words
/// ([`specific`]) that no word of the answer shares a stem with, or more than half of its specific words. A small
/// model borrows them from the question that comes next ("Thanks for walking me through the time and space
/// complexity of Dijkstra" to an answer that never spoke of complexity).
fn names_unsaid(w: &[String], candidate: &str) -> bool {
    let topic = bridge_topic(w);
    let said = words(candidate);
    let acronyms = acronyms(candidate);
    let named: Vec<&String> = topic
        .iter()
        .filter(|x| specific(x) || acronyms.contains(x))
        .collect();
    let unsaid = named
        .iter()
        .filter(|x| !said.iter().any(|s| stem(s) == stem(x)))
        .count();
    unsaid >= 2 || unsaid * 2 > named.len()
}

/// Whether an acknowledgement's topic ("Thanks for walking me through ...") is a statement rather than a thing or
/// a "how" ("the URL expired", "AI is huge", "compensation-wise"): it holds a finite verb and opens with no
/// question word, or it is an "-wise" aside.
fn names_a_statement(w: &[String]) -> bool {
    let topic = bridge_topic(w);
    let opens_how = topic.first().is_some_and(|x| {
        matches!(
            x.as_str(),
            "how" | "what" | "why" | "when" | "where" | "which" | "who" | "whether"
        )
    });
    let finite = topic.iter().any(|x| {
        matches!(
            x.as_str(),
            "is" | "are"
                | "was"
                | "were"
                | "am"
                | "went"
                | "got"
                | "became"
                | "expired"
                | "did"
                | "does"
                | "has"
                | "have"
                | "had"
                | "will"
        )
    });
    (finite && !opens_how) || topic.iter().any(|x| x == "wise")
}

/// Whether the words hold a question's opening: a question word followed by a verb ("how did", "what is").
fn asks_a_question(w: &[String]) -> bool {
    w.windows(2).any(|p| {
        matches!(
            p[0].as_str(),
            "how" | "what" | "why" | "when" | "where" | "which" | "who"
        ) && matches!(
            p[1].as_str(),
            "did"
                | "do"
                | "does"
                | "is"
                | "are"
                | "was"
                | "were"
                | "can"
                | "could"
                | "would"
                | "should"
                | "will"
        )
    })
}

/// Adds the piece's length and question-mark failures: a follow-up is at most [`FOLLOW_UP_WORDS`] words and one
/// question ending the line, an acknowledgement at most [`BRIDGE_WORDS`] words with no question mark.
fn shape_failures(ask: Ask, piece: &str, w: &[String], out: &mut Vec<(Check, String)>) {
    let (limit, marks) = match ask {
        Ask::FollowUp => (FOLLOW_UP_WORDS, 1),
        Ask::Bridge => (BRIDGE_WORDS, 0),
    };
    if w.len() > limit {
        out.push((
            Check::Short,
            format!("{} words in a piece of at most {limit}", w.len()),
        ));
    }
    let asked = piece.matches('?').count();
    if asked != marks || (marks == 1 && !piece.trim_end().ends_with('?')) {
        out.push((
            Check::OneQuestion,
            match ask {
                Ask::FollowUp => {
                    format!("{asked} question marks; a follow-up is one question, ending the line")
                }
                Ask::Bridge => "an acknowledgement asks nothing".into(),
            },
        ));
    }
}

/// Adds the failures of how the piece speaks: praise, the candidate's first person, a language other than English.
fn voice_failures(piece: &str, w: &[String], out: &mut Vec<(Check, String)>) {
    if has(piece, PRAISE) {
        out.push((Check::NoLeak, "praises or judges the answer".into()));
    }
    if takes_the_candidate_s_part(piece) {
        out.push((
            Check::SpeaksAsInterviewer,
            "speaks in the first person, as the candidate (\"what if I find...\")".into(),
        ));
    }
    let letters = piece.chars().filter(|c| c.is_alphabetic()).count();
    let ascii = piece.chars().filter(|c| c.is_ascii_alphabetic()).count();
    if ascii * 10 < letters * 9 || !w.iter().any(|x| ENGLISH.contains(&x.as_str())) {
        out.push((Check::NoLeak, "not English".into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx<'a>(asked: Asked, candidate: &'a str, earlier: &'a [String]) -> Context<'a> {
        Context {
            persona: "Rebecca Ansah",
            round: RoundKind::Behavioral,
            asked,
            candidate,
            earlier,
            closing: false,
        }
    }

    fn failed(turn: &str, c: &Context) -> Vec<Check> {
        failures(turn, c).into_iter().map(|(c, _)| c).collect()
    }

    const MIGRATION: &str = "I proposed the change, wrote the design doc, and built the Kafka consumer and the \
        reconciliation job. Reconciliation now finishes within ten minutes of the last transaction.";

    #[test]
    fn a_follow_up_about_what_the_candidate_said_did_not_happen_is_not_grounded() {
        // Seen with Qwen2.5-Coder-0.5B: the answer's "zero missed invoices" read as missed invoices to handle.
        let said = "I moved billing onto the new ledger, and we shipped a week early with zero missed invoices.";
        let c = ctx(Asked::Answer, said, &[]);
        let misread = "How do you handle the early missed invoices?";
        let f = failures(misread, &c);
        assert!(
            f.iter()
                .any(|(check, why)| *check == Check::Grounded && why.contains("missed invoices")),
            "{f:?}"
        );
        let f = piece_failures(Ask::FollowUp, misread, &c);
        assert!(
            f.iter().any(|(check, _)| *check == Check::Grounded),
            "{f:?}"
        );
        // Asking how it was kept at zero takes it up as it was said.
        assert!(failed("How did you make sure there were no missed invoices?", &c).is_empty());
        let f = piece_failures(
            Ask::Bridge,
            "Thanks for walking me through the missed invoices.",
            &c,
        );
        assert!(
            f.iter().any(|(check, _)| *check == Check::Grounded),
            "{f:?}"
        );
    }

    #[test]
    fn the_default_models_real_failures_are_caught() {
        // Quoted from the issue: the opening of an Amazon Bar Raiser round spoken as the candidate.
        let opening = "Hi Rebecca, I'm excited to be interviewing for the Software Development Engineer II role at \
            Amazon. As a Principal Engineer and Fulfillment Technologies at Amazon, I have worked with multiple teams. \
            What was a skill you were weak at? I believe that I am proficient in using modern programming languages \
            such as Java and JavaScript.";
        let f = failed(opening, &ctx(Asked::Opening, "", &[]));
        assert!(f.contains(&Check::SpeaksAsInterviewer), "{f:?}");
        assert!(f.contains(&Check::NoSelfAnswer), "{f:?}");
        // The candidate's answer repeated back in the first person, asking nothing.
        let echo = "I suggested the change, wrote the design doc, and built the Kafka consumer and the \
            reconciliation job.";
        let f = failed(echo, &ctx(Asked::Answer, MIGRATION, &[]));
        assert!(
            f.contains(&Check::SpeaksAsInterviewer) && f.contains(&Check::OneQuestion),
            "{f:?}"
        );
        assert!(f.contains(&Check::NoLongQuote), "{f:?}");
        // A refusal.
        let f = failed(
            "I'm sorry, but I can't assist with that.",
            &ctx(Asked::Answer, MIGRATION, &[]),
        );
        assert!(f.contains(&Check::NoLeak), "{f:?}");
        // Designing the system itself, in the third person.
        let design = "The candidate mentioned that a cache node dies. To prevent this, we can implement load \
            balancing and replication across regions so that the system stays available.";
        let f = failed(
            design,
            &ctx(
                Asked::Answer,
                "If a cache node dies we lose the hot keys.",
                &[],
            ),
        );
        assert!(
            f.contains(&Check::OneQuestion) && f.contains(&Check::NoLeak),
            "{f:?}"
        );
    }

    #[test]
    fn a_real_interviewers_follow_up_passes_and_a_generic_one_does_not() {
        let good =
            "How did you check that the ten-minute reconciliation matched the old batch numbers?";
        assert!(failed(good, &ctx(Asked::Answer, MIGRATION, &[])).is_empty());
        let generic = "Can you tell me more about that?";
        assert_eq!(
            failed(generic, &ctx(Asked::Answer, MIGRATION, &[])),
            vec![Check::Grounded]
        );
        // An acknowledgement names a thing or a "how", not a statement.
        for (topic, statement) in [
            ("the URL expired", true),
            ("AI is huge, GPUs are everywhere", true),
            ("compensation-wise", true),
            ("the devices went from 4 percent", true),
            ("how you talked it through as a team", false),
            ("the idempotency key and its expiry", false),
            ("what happens when the processor times out", false),
        ] {
            let w = words(&format!("Thanks for walking me through {topic}."));
            assert_eq!(names_a_statement(&w), statement, "{topic}");
        }
        // The candidate's acronym is specific however short; the same three letters they never said are not.
        let said =
            "The API would be pretty standard, a create call and a redirect, nothing fancy there.";
        assert!(grounded(
            "What would the API return for an unknown link?",
            said,
            &[]
        ));
        assert!(!grounded(
            "What would the SDK return for an unknown link?",
            said,
            &[]
        ));
        assert!(!grounded(
            "What would the API return?",
            said,
            &["What API would clients call?".to_string()]
        ));
        // A 12-word verbatim quote is too long.
        let quote = "You said \"I proposed the change, wrote the design doc, and built the Kafka consumer\". Why?";
        assert!(failed(quote, &ctx(Asked::Answer, MIGRATION, &[])).contains(&Check::NoLongQuote));
    }

    #[test]
    fn questions_are_counted_and_never_asked_twice_unless_asked_to_repeat() {
        let two = "Why did you choose Kafka over a plain database queue? And how did reconciliation work across the \
            two systems?";
        let one = "Have you been on a team that had no clear direction? What did you do about it?";
        assert!(!failed(one, &ctx(Asked::Little, "Fine.", &[])).contains(&Check::OneQuestion));
        assert!(failed(two, &ctx(Asked::Answer, MIGRATION, &[])).contains(&Check::OneQuestion));
        let earlier = vec![
            "Tell me about a time you disagreed with your manager. What happened?".to_string(),
        ];
        let again = "Tell me about a time you disagreed with your manager. What happened?";
        assert!(failed(again, &ctx(Asked::Little, "Fine.", &earlier)).contains(&Check::NoRepeat));
        let aside =
            "Side note, my manager was a huge Formula One fan and we talked about races a lot.";
        assert!(!failed(again, &ctx(Asked::Aside, aside, &earlier)).contains(&Check::NoRepeat));
        assert!(
            !failed(
                again,
                &ctx(
                    Asked::RepeatRequest,
                    "Sorry, can you repeat that?",
                    &earlier
                )
            )
            .contains(&Check::NoRepeat)
        );
    }

    #[test]
    fn requests_get_what_they_ask_and_nothing_more() {
        let c = |asked| ctx(asked, "", &[]);
        assert!(
            failed(
                "That was a great answer, you're doing well! What next?",
                &c(Asked::FeedbackRequest)
            )
            .contains(&Check::DeclinesFeedback)
        );
        assert!(
            failed(
                "I'll keep my notes to myself until the end. What did you measure?",
                &c(Asked::FeedbackRequest)
            )
            .is_empty()
        );
        assert!(
            failed("Sure: strong hire. What else?", &c(Asked::Injection))
                .contains(&Check::DeclinesInjection)
        );
        let mut coding = c(Asked::HintRequest);
        coding.round = RoundKind::Coding;
        assert!(
            failed("Let's keep going. What is your approach?", &coding).contains(&Check::GivesHint)
        );
        assert!(
            !failed(
                "Here's a hint: think about sorting by start time first.",
                &coding
            )
            .contains(&Check::GivesHint)
        );
        // In a design round the request gets a pointer on the question, not a note of the request.
        let mut design = c(Asked::HintRequest);
        design.round = RoundKind::SystemDesign;
        assert!(
            failed(
                "Thanks, I've noted \"Any nudge\". Walk me through the main components.",
                &design
            )
            .contains(&Check::GivesHint)
        );
        assert!(
            !failed(
                "Here's a pointer: split the write path from the read path. What does each one need?",
                &design
            )
            .contains(&Check::GivesHint)
        );
        assert!(
            failed(
                "Good question. Anyway, what would you do?",
                &c(Asked::ProcessQuestion)
            )
            .contains(&Check::AnswersProcess)
        );
        assert!(
            !failed(
                "This round is 45 minutes, and the recruiter will follow up within a week.",
                &c(Asked::ProcessQuestion)
            )
            .contains(&Check::AnswersProcess)
        );
    }

    #[test]
    fn openings_may_be_longer_and_name_the_persona() {
        let opening = "Hi, I'm Rebecca, a principal engineer in fulfillment. Let's start: tell me about a time you \
            changed what you were building because of a customer.";
        assert!(failed(opening, &ctx(Asked::Opening, "", &[])).is_empty());
        let wrong =
            "Hi, I'm Priya, a principal engineer. Tell me about a customer you listened to.";
        assert!(failed(wrong, &ctx(Asked::Opening, "", &[])).contains(&Check::Persona));
        assert!(failed(&"word ".repeat(95), &ctx(Asked::Opening, "", &[])).contains(&Check::Short));
    }

    #[test]
    fn a_model_piece_that_takes_the_candidate_s_part_is_held_back() {
        let said = "I scan every cell and when I find an unvisited land cell I sink the island with a flood fill.";
        let c = ctx(Asked::Answer, said, &[]);
        let held = |ask, t: &str| {
            piece_failures(ask, t, &c)
                .into_iter()
                .map(|(c, _)| c)
                .collect::<Vec<_>>()
        };
        // Real outputs of the default model.
        assert!(
            held(
                Ask::FollowUp,
                "What happens if I find a land cell that's equal to 1?"
            )
            .contains(&Check::SpeaksAsInterviewer)
        );
        assert!(
            held(
                Ask::Bridge,
                "Thanks for walking me through the island fill I've done."
            )
            .contains(&Check::SpeaksAsInterviewer)
        );
        // An interviewer's own first person is fine.
        let f = piece_failures(
            Ask::FollowUp,
            "I'm curious: why sink the island instead of keeping a visited set?",
            &c,
        );
        assert!(f.is_empty(), "{f:?}");
        assert_eq!(
            held(
                Ask::Bridge,
                "Thanks for walking me through the island flood fill."
            ),
            []
        );
        // Praise, another language, two questions, and nothing at all are held back.
        assert!(!held(Ask::FollowUp, "Great answer! Why a flood fill?").is_empty());
        assert!(
            !held(
                Ask::FollowUp,
                "¿Por qué usas una inundación para cada isla?"
            )
            .is_empty()
        );
        assert!(!held(Ask::FollowUp, "Why a flood fill? What about the island?").is_empty());
        assert!(!held(Ask::FollowUp, "").is_empty());
        assert!(!held(Ask::Bridge, "Why the flood fill for the island?").is_empty());
        // The default model's acknowledgement of an answer that never spoke of complexity, borrowing the next
        // question's words; the same answer's own words pass.
        let dijkstra = ctx(
            Asked::Answer,
            "Right, weights are non-negative, so Dijkstra. I build an adjacency list from the edges, set dist to \
             infinity for nodes 1 to n and dist[k] to 0, and push (0, k) onto a min-heap.",
            &[],
        );
        let bridge = |t: &str| piece_failures(Ask::Bridge, t, &dijkstra);
        assert!(
            bridge("Thanks for walking me through the time and space complexity of Dijkstra.")
                .iter()
                .any(|(c, _)| *c == Check::Grounded)
        );
        let f = bridge("Thanks for walking me through Dijkstra with a min-heap.");
        assert!(f.is_empty(), "{f:?}");
    }
}
