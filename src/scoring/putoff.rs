//! What a short reply puts off and what it says of its own: the phrases that put a question off or talk about it
//! instead of answering, the words that only fill a spoken answer, and whether a reply that puts the question off
//! answers it all the same. Shared by the reading of a reply as an answer ([`super::material`]) and the rules
//! judge ([`super::rules`]).

use super::{lexicon as lx, material::sentences};
use crate::{
    engine::answers,
    text::{fold_words, positions},
};

/// Phrases that put a question off rather than answer it: declining, deferring, not remembering, passing. (A short
/// reply with one of the interviewer's own evasion phrases, `answers::EVASIVE`, never gets here: it is not an answer.)
pub(super) const DEFERRALS: &[&str] = &[
    "rather not",
    "prefer not",
    "I'd prefer to",
    "would prefer to",
    "not comfortable",
    "don't want to get into",
    "can't share",
    "cannot share",
    "not able to share",
    "not at liberty",
    "confidential",
    "no comment",
    "hard to say",
    "difficult to say",
    "can't really say",
    "don't remember",
    "can't remember",
    "don't recall",
    "no idea",
    "haven't thought",
    "never thought about",
    "come back to",
    "later in the process",
    "down the line",
    "skip",
    "pass on",
    "next question",
    "without knowing",
    "without more context",
    "wouldn't want to",
    "want to guess",
    "to speculate",
    "it depends",
    "really depends",
    "case by case",
    "we'll see",
    "play it by ear",
    "cross that bridge",
    "can't think of",
    "hold off",
    "not worth",
    "no point",
    "look it up",
    "as I go",
    "know it when I see it",
    "rather hear",
    "work that out later",
    "work it out later",
    "figure that out later",
    "circle back",
    "rather keep that",
    "keep that private",
    "keep that to myself",
    "need to think about it",
    "have to think about it",
];

/// Talk about the question in place of an answer ("I think what this question is really trying to get at is
/// whether I'm a team player"): a deferral however long it runs, when nothing specific is said.
pub(super) const ABOUT_THE_QUESTION: &[&str] = &[
    "this question is",
    "what this question",
    "a question like this",
    "a question like that",
    "questions like this",
    "one of those questions",
];

/// Words that fill a spoken answer without saying anything ("um", "like", "you know", "the usual").
pub(super) const FILLERS: &[&str] = &[
    "um",
    "uh",
    "erm",
    "hmm",
    "like",
    "yeah",
    "basically",
    "stuff",
    "thing",
    "things",
    "usual",
    "kind of",
    "sort of",
    "you know",
    "i mean",
    "and all that",
    "or whatever",
    "something like that",
];

/// How many different words of four letters or more an answer says that are neither the question's, filler
/// ([`FILLERS`]), nor words that only join or hedge a sentence.
pub(super) fn words_of_its_own(words: &[String], question: &str) -> usize {
    const EMPTY: &[&str] = &[
        "that",
        "this",
        "with",
        "have",
        "would",
        "just",
        "really",
        "about",
        "there",
        "they",
        "what",
        "when",
        "were",
        "been",
        "being",
        "some",
        "more",
        "much",
        "very",
        "into",
        "then",
        "than",
        "well",
        "also",
        "because",
        "which",
        "your",
        "their",
        "them",
        "will",
        "could",
        "should",
        "maybe",
        "honestly",
        "actually",
        "think",
        "guess",
        "suppose",
        "mean",
        "know",
        "whatever",
        "something",
        "anything",
        "everything",
        "kinda",
        "sorta",
        "okay",
        "right",
        "sure",
        "probably",
        "hard",
        "says",
        "said",
    ];
    let asked = crate::text::fold_words(question);
    let mut own: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .filter(|w| {
            w.len() >= 4
                && !EMPTY.contains(w)
                && !FILLERS.contains(w)
                && !asked.iter().any(|q| q == w)
        })
        .collect();
    own.sort_unstable();
    own.dedup();
    own.len()
}

/// How many times an answer says "I", "me" or "my" other than to hedge ("I think", "I guess", "I mean").
pub(super) fn about_themselves(words: &[String]) -> usize {
    const HEDGING: &[&str] = &["think", "guess", "mean", "suppose", "dunno", "know"];
    words
        .iter()
        .enumerate()
        .filter(|(i, w)| match w.as_str() {
            "me" | "my" => true,
            "i" => !words
                .get(i + 1)
                .is_some_and(|n| HEDGING.contains(&n.as_str())),
            _ => false,
        })
        .count()
}

/// Months and seasons: a rambling answer that names when ("ideally something sorted before the summer, like
/// June-ish") says something, however much filler is around it.
pub(super) const WHEN: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "spring",
    "summer",
    "autumn",
    "winter",
];

/// Whether `words` (folded) say one of `phrases`, word for word.
pub(super) fn says_any(phrases: &[&str], words: &[String]) -> bool {
    phrases
        .iter()
        .any(|p| positions(words, &fold_words(p).join(" ")).next().is_some())
}

/// Whether a piece of a reply puts the question off or says it does not know.
fn puts_off(part: &str) -> bool {
    let words = fold_words(part);
    says_any(DEFERRALS, &words)
        || says_any(ABOUT_THE_QUESTION, &words)
        || answers::puts_off_or_does_not_know(part)
}

/// A yes, a no or an agreement, said plainly.
const PLAIN: &[&str] = &["okay", "fine"];

/// A yes or a no: an answer to a question that asks for one ([`asks_yes_or_no`]).
const YES_OR_NO: &[&str] = &["yes", "yeah", "yep", "no", "nope"];

/// Whether a question asks for a yes or a no: it opens with a verb ("Are you interviewing anywhere else?", "Would
/// you relocate?"), not with a question word ("What are your salary expectations?").
fn asks_yes_or_no(question: &str) -> bool {
    const OPENS: &[&str] = &[
        "are", "is", "do", "does", "did", "have", "has", "would", "will", "can", "could", "should",
    ];
    fold_words(question)
        .first()
        .is_some_and(|w| OPENS.contains(&w.as_str()))
}

/// Words that open a real answer however hedged ("Hopefully leading a small team.", "Probably something with more
/// ownership.").
const OPENS_AN_ANSWER: &[&str] = &["hopefully", "ideally", "probably", "definitely", "still"];

/// Openings of an answer that needs two words of its own to say anything ("Somewhere friendly where I can keep
/// learning.").
const VAGUE_OPENINGS: &[&str] = &["somewhere", "something"];

/// The pieces of a reply (its sentences, split again at ", but ") that put nothing off.
fn pieces_beside(answer: &str) -> Vec<String> {
    sentences(answer)
        .iter()
        .flat_map(|s| s.split(", but ").map(str::to_string).collect::<Vec<_>>())
        .filter(|p| !puts_off(p))
        .collect()
}

/// How many words a reply says outside the pieces that put the question off: "I'd rather not share my current
/// salary, but I'm looking for around a hundred and twenty thousand base..." puts off only its first clause.
pub(super) fn words_beside(answer: &str) -> usize {
    pieces_beside(answer)
        .iter()
        .map(|p| fold_words(p).len())
        .sum()
}

/// Openings of a sentence that tells what the candidate has done or had ("I had a friend at a bank who got paged
/// every weekend", "I've been on the payments team three years").
const TELLS_WHAT_WAS: &[&str] = &[
    "i've been",
    "i've done",
    "i've worked",
    "i've had",
    "i've never",
    "i had",
    "i was",
    "i did",
    "i worked",
    "i used",
    "i spent",
    "we had",
    "we were",
    "my last",
    "my current",
];

/// Whether a reply that puts the question off, or says it does not know, answers it all the same in a sentence of
/// its own or after a ", but": one that puts nothing off, and says a number, a time of year, a yes or a no, opens
/// like an answer with a word of its own ("Hard to say, honestly. Still writing code, I hope, maybe a bit more
/// senior."; "Yes, two other places. I want to keep my options open."), or tells what the candidate has done or had
/// in words of its own ("I guess it depends. I had a friend at a bank who got paged every weekend..."). A
/// recruiter's question is answered in a few words, so such a reply is a weak answer, not a non-answer. A sentence
/// that only speaks of the candidate ("I'm sure we can find a number that works for both of us", "I'll know more
/// once I've talked to my manager") does not answer.
pub(super) fn answers_beside(question: &str, answer: &str) -> bool {
    let yes_or_no = asks_yes_or_no(question);
    pieces_beside(answer).iter().any(|part| {
        let words = fold_words(part);
        let Some(first) = words.first() else {
            return false;
        };
        // A question back answers nothing ("Yes or no doesn't really matter, does it?").
        if part.trim_end().ends_with('?') {
            return false;
        }
        let plain = words.iter().any(|w| {
            w.chars().any(|c| c.is_ascii_digit())
                || (w != "one" && lx::NUMBER_WORDS.contains(&w.as_str()))
                || WHEN.contains(&w.as_str())
                || PLAIN.contains(&w.as_str())
                || (yes_or_no && YES_OR_NO.contains(&w.as_str()))
        });
        let opening = words
            .iter()
            .take(2)
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ");
        let own = words_of_its_own(&words, question);
        // "Something that fits, I suppose." says nothing; "Somewhere friendly where I can keep learning." does.
        let opens = if VAGUE_OPENINGS.contains(&first.as_str()) {
            own >= 2
        } else {
            OPENS_AN_ANSWER.contains(&first.as_str()) && (own >= 1 || words.len() >= 4)
        };
        plain || opens || (TELLS_WHAT_WAS.iter().any(|o| opening.starts_with(o)) && own >= 3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_is_said_beside_a_put_off_counts() {
        assert_eq!(
            words_beside(
                "I'd rather not share my current salary, but I'm looking for about a hundred and twenty thousand."
            ),
            10
        );
        assert_eq!(words_beside("I'd rather not say. It's hard to say."), 0);
    }

    #[test]
    fn a_reply_that_puts_the_question_off_can_answer_it_beside() {
        for (q, a) in [
            (
                "Where do you see yourself in five years?",
                "Hard to say, honestly. Still writing code, I hope, maybe a bit more senior.",
            ),
            (
                "How do you feel about on-call?",
                "It really depends how often. If it's once a month, that's fine.",
            ),
            (
                "Are you interviewing anywhere else?",
                "Yes, two other places. I want to keep my options open.",
            ),
            (
                "When can you start?",
                "I'd rather not promise a date, but probably early March.",
            ),
            (
                "What's your current salary, and what are you looking for?",
                "I'd rather not share that, but probably a bit more than now.",
            ),
            (
                "Have you ever been on call?",
                "No, I haven't had to do that yet.",
            ),
            (
                "How do you feel about being on call?",
                "I guess it depends on how it works here. I had a friend at a bank who got paged every weekend and \
                 he burned out.",
            ),
            (
                "What are you looking for next?",
                "We'll see, I'm fairly open. Probably something with more ownership.",
            ),
        ] {
            assert!(answers_beside(q, a), "{a}");
        }
        for (q, a) in [
            (
                "What are your salary expectations?",
                "I'd rather not say, if that's alright. It's in the past, and I'd prefer to leave it there.",
            ),
            (
                "What are you looking for?",
                "I think I'll know it when I see it, honestly. I'd rather hear what you have first.",
            ),
            (
                "Why are you looking to leave?",
                "That's a great question. There's a lot to unpack there, honestly. Everyone has their own reasons \
                 for looking, and it's never just one thing, is it?",
            ),
            (
                "What are your salary expectations?",
                "It depends on the whole package, really. I'm sure we can find a number that works for both of us.",
            ),
            (
                "When could you start?",
                "Hard to say right now. I'll know more once I've talked to my manager.",
            ),
            // A yes to a question that asks for none, a question back, and "something" with nothing of its own.
            (
                "What are your salary expectations?",
                "Honestly, I'd rather not anchor on a number. Yes, money matters.",
            ),
            (
                "Are you interviewing anywhere else?",
                "I'd rather keep that private for now. Yes or no doesn't really matter, does it?",
            ),
            (
                "What level are you targeting?",
                "I'd rather not box myself in. Something that fits, I suppose.",
            ),
        ] {
            assert!(!answers_beside(q, a), "{a}");
        }
    }
}
