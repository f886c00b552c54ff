//! What the candidate said did not happen, and an interviewer's line that asks about it as if it had. A small
//! model reads "we shipped a week early with zero missed invoices" and asks "How did you handle the missed
//! invoices?": it takes up the candidate's words and passes the grounding check, but it misreads the answer, and a
//! candidate hears an interviewer who was not listening. The guard ([`super::guard`]) fails such a line, so the
//! scripted wording is said instead.

use super::guard::stem;

/// Words that say what follows did not happen or does not exist ("no data loss", "zero downtime", "never lost a
/// message", "without losing anything"). "Not" is left out: it mostly negates a verb or an opinion ("not sure",
/// "not the bottleneck"), not a thing; so are "nobody" and "none", which deny a doer ("nobody ever said it", "none
/// of the tests failed"), not what follows them.
pub const NEGATORS: &[&str] = &["no", "zero", "without", "never"];

/// Words a line puts before or after a denied thing when it asks about it rightly: "how did you keep it at zero
/// downtime?", "what did you do to avoid missed invoices?", "how did you make sure nothing was lost?".
const KEEPING: &[&str] = &[
    "no",
    "zero",
    "without",
    "never",
    "none",
    "avoid",
    "avoided",
    "avoiding",
    "prevent",
    "prevented",
    "preventing",
    "keep",
    "kept",
    "ensure",
    "ensured",
    "sure",
    "guarantee",
    "guaranteed",
    "stop",
    "stopped",
    "eliminate",
    "eliminated",
    "reduce",
    "reduced",
    "risk",
    "risked",
    "risking",
    "chance",
    "any",
    "not",
];

/// Words after a negator that are not the denied thing itself ("no more than", "zero of the", "never really").
const NOT_THE_THING: &[&str] = &[
    "a",
    "an",
    "the",
    "any",
    "single",
    "more",
    "less",
    "than",
    "other",
    "such",
    "real",
    "really",
    "one",
    "of",
    "at",
    "all",
    "way",
    "longer",
    "matter",
    "idea",
    "problem",
    "problems",
    "issue",
    "issues",
    "doubt",
    "need",
    "time",
    "thing",
    "things",
    "anything",
    "something",
    "much",
    "many",
    "even",
    "just",
    "only",
    "once",
    "again",
    "ever",
    "still",
    "point",
    "reason",
    "choice",
    "maybe",
    "probably",
    "about",
    "around",
];

/// The content words of each thing `candidate` said did not happen: up to two words of four letters or more
/// within three words after a negator, skipping [`NOT_THE_THING`] ("zero missed invoices": "missed invoices"), two
/// after "never". `candidate` is one clause; [`asks_about_denied`] drops a thing the answer also names without a
/// negator ("no tests at first, then tests for every path").
fn denied(candidate: &[String]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    for (i, w) in candidate.iter().enumerate() {
        if !NEGATORS.contains(&w.as_str()) {
            continue;
        }
        let thing: Vec<String> = candidate[i + 1..]
            .iter()
            .take(3)
            .take_while(|x| !NEGATORS.contains(&x.as_str()))
            .filter(|x| x.len() >= 4 && !NOT_THE_THING.contains(&x.as_str()))
            .take(2)
            .cloned()
            .collect();
        // After "never" a verb alone ("never really measured") is how it went, not a thing; with its object
        // ("never dropped a message") it is. One word alone must be specific ("zero downtime", "no signal").
        let enough = match thing.len() {
            0 => false,
            1 => w != "never" && super::guard::specific(&thing[0]),
            _ => true,
        };
        if enough && !out.contains(&thing) {
            out.push(thing);
        }
    }
    out
}

/// Where `thing` starts in `words`, matched by stem, its words in order with at most one word between them.
fn positions(words: &[String], thing: &[String]) -> Vec<usize> {
    (0..words.len())
        .filter(|&start| {
            let mut at = start;
            thing.iter().enumerate().all(|(k, t)| {
                let window = if k == 0 { 1 } else { 2 };
                match (at..(at + window).min(words.len())).find(|&j| stem(&words[j]) == stem(t)) {
                    Some(j) => {
                        at = j + 1;
                        true
                    }
                    None => false,
                }
            })
        })
        .collect()
}

/// Whether one of `near` stands within three words before `at` or two after the thing's `len` words.
fn kept_near(words: &[String], at: usize, len: usize, near: &[&str]) -> bool {
    let before = at.saturating_sub(3)..at;
    let after = (at + len).min(words.len())..(at + len + 2).min(words.len());
    before
        .chain(after)
        .any(|j| near.contains(&words[j].as_str()))
}

/// When a line (an interviewer's question or acknowledgement) takes up something `candidate` said did not happen
/// as if it had, the thing, for the guard's reason.
pub fn asks_about_denied(line: &str, candidate: &str) -> Option<String> {
    let said = crate::text::fold_words(candidate);
    let line = crate::text::fold_words(line);
    let things: Vec<Vec<String>> = candidate
        .split(['.', ',', ';', ':', '?', '!'])
        .flat_map(|clause| denied(&crate::text::fold_words(clause)))
        .filter(|thing| {
            positions(&said, thing)
                .into_iter()
                .all(|at| kept_near(&said, at, thing.len(), NEGATORS))
        })
        .collect();
    things.into_iter().find_map(|thing| {
        positions(&line, &thing)
            .into_iter()
            .any(|at| !kept_near(&line, at, thing.len(), KEEPING))
            .then(|| thing.join(" "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_question_about_what_the_candidate_said_did_not_happen_is_caught() {
        let shipped = "We moved billing onto the new ledger and shipped a week early with zero missed invoices.";
        assert_eq!(
            asks_about_denied("How did you handle the early missed invoices?", shipped).as_deref(),
            Some("missed invoices")
        );
        let lossless = "We cut over on a Sunday night with no data loss and about four minutes of read-only time.";
        assert_eq!(
            asks_about_denied("How did you recover the lost data afterwards?", lossless),
            None,
            "\"lost\" is not \"loss\": the stems differ, and a guard that guesses would refuse good lines"
        );
        assert_eq!(
            asks_about_denied("What caused the data loss during the cutover?", lossless).as_deref(),
            Some("data loss")
        );
        let never = "The consumer never dropped a message, because every write was acknowledged after the fsync.";
        assert_eq!(
            asks_about_denied("What happened to the dropped messages?", never).as_deref(),
            Some("dropped message")
        );
    }

    #[test]
    fn asking_how_it_was_kept_from_happening_is_not_caught() {
        let shipped = "We shipped a week early with zero missed invoices.";
        for fine in [
            "How did you make sure there were no missed invoices?",
            "What did you do to avoid missed invoices during the cutover?",
            "You said zero missed invoices; how did you check that?",
            "How did you keep the early release from risking missed invoices?",
            "What made the week early possible?",
        ] {
            assert_eq!(asks_about_denied(fine, shipped), None, "{fine}");
        }
    }

    #[test]
    fn a_thing_the_candidate_also_names_plainly_is_not_denied() {
        let tests = "There were no tests at first, so I wrote tests for every payment path before touching it.";
        assert_eq!(
            asks_about_denied("Which tests did you write first?", tests),
            None
        );
        // "No idea", "no more than", "never really": nothing is denied.
        let vague =
            "No idea really, it was never really measured, maybe no more than a few hundred.";
        assert!(denied(&crate::text::fold_words(vague)).is_empty());
    }
}
