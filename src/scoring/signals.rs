//! Substance signals read from an answer's words: what a senior interviewer listens for (actions the candidate
//! took in the first person, measured results, reasons and alternatives, named specifics; for coding the
//! structures, complexity, edge cases and tests; for system design requirements, interfaces, storage, failure and
//! trade-offs) and what stands in for it (hedges, stock phrases, "we", buzzwords, brute force presented as fine).
//! Each signal is a plain count over the lists in [`super::lexicon`], so every one can be explained and
//! unit-tested; [`super::rules`] weighs them. Knows nothing of rubrics or reports.

use super::lexicon as lx;
use crate::catalog::RoundKind;
use crate::text::{count, fold_words};

fn is_number(word: &str) -> bool {
    word.chars().any(|c| c.is_ascii_digit()) || lx::NUMBER_WORDS.contains(&word)
}

/// "I" followed (perhaps after an adverb) by a verb in the past tense: something the candidate did.
fn first_person_actions(words: &[String]) -> usize {
    let mut n = 0;
    for (i, w) in words.iter().enumerate() {
        if w != "i" {
            continue;
        }
        let mut j = i + 1;
        if words
            .get(j)
            .is_some_and(|a| lx::ACTION_ADVERBS.contains(&a.as_str()))
        {
            j += 1;
        }
        if let Some(v) = words.get(j) {
            let past =
                (v.ends_with("ed") && v.len() > 3) || lx::IRREGULAR_PAST.contains(&v.as_str());
            if past && !lx::NOT_ACTIONS.contains(&v.as_str()) {
                n += 1;
            }
        }
    }
    n
}

/// Numbers in the answer, by how they are used.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Numbers {
    /// In a before-and-after or a bound: "from 55 to 18", "dropped by 3 percent", "within ten minutes".
    results: usize,
    /// Followed by a unit: "40 minutes", "3 percent".
    with_units: usize,
    /// Said with a shrug: "like maybe 10".
    hedged: usize,
}

fn numbers(words: &[String]) -> Numbers {
    let mut n = Numbers::default();
    let has = |range: &[String], list: &[&str]| range.iter().any(|w| list.contains(&w.as_str()));
    for (k, w) in words.iter().enumerate() {
        if !is_number(w) {
            continue;
        }
        let around = &words[k.saturating_sub(6)..(k + 4).min(words.len())];
        if has(around, lx::CHANGE_WORDS) {
            n.results += 1;
        }
        if has(
            &words[(k + 1).min(words.len())..(k + 3).min(words.len())],
            lx::UNITS,
        ) {
            n.with_units += 1;
        }
        if has(&words[k.saturating_sub(3)..k], lx::NUMBER_HEDGES) {
            n.hedged += 1;
        }
    }
    n
}

/// Named states and variables as a programmer says them: `dp[i]`, `tails[j]`, `leftMax`.
fn identifiers(text: &str) -> usize {
    text.split_whitespace()
        .filter(|t| {
            let t = t.trim_matches(|c: char| !c.is_alphanumeric() && c != '[' && c != ']');
            let indexed = t.contains('[') && t.ends_with(']') && t.len() > 3;
            let camel = t.chars().next().is_some_and(char::is_lowercase)
                && t.chars().skip(1).any(char::is_uppercase)
                && t.chars().all(char::is_alphanumeric);
            indexed || camel
        })
        .count()
}

/// Sentences that call a sort linear: a complexity claim that cannot be right.
fn linear_sorts(text: &str) -> usize {
    super::material::sentences(text)
        .iter()
        .filter(|s| {
            let w = fold_words(s);
            let sorts = w.iter().any(|x| x.starts_with("sort"));
            let linear = count(&w, &["o n", "linear", "o of n"]) > 0;
            sorts && linear && !w.iter().any(|x| x == "log" || x == "logn")
        })
        .count()
}

/// Capitalised words inside sentences (names of people, products, systems), counted once each.
fn names(text: &str) -> usize {
    let mut seen = std::collections::BTreeSet::new();
    for sentence in super::material::sentences(text) {
        for token in sentence.split_whitespace().skip(1) {
            let word: String = token.chars().filter(|c| c.is_alphabetic()).collect();
            let mut chars = word.chars();
            if word.len() > 1 && word != "I" && chars.next().is_some_and(char::is_uppercase) {
                seen.insert(word);
            }
        }
    }
    seen.len()
}

/// The signals of one answer. Densities are per 100 words; counts that matter less the more there are go through
/// `ln(1 + n)`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Signals {
    pub words: usize,
    /// "I" + a verb in the past tense.
    pub actions: usize,
    /// Share of "we"/"our"/"the team" among all person words.
    pub we_share: f64,
    pub generic: usize,
    pub hedges: usize,
    pub generic_present: usize,
    pub causal: usize,
    pub result_numbers: usize,
    pub unit_numbers: usize,
    pub hedged_numbers: usize,
    pub names: usize,
    pub buzzwords: usize,
    /// Share of the question's longer words that the answer uses.
    pub overlap: f64,
    /// Asking the judge for a score.
    pub injection: usize,
    /// States defined, invariants, bounds, counterexamples, named variables.
    pub precise: usize,
    /// Wrong steps waved through, labels in place of reasoning.
    pub fallacies: usize,
    /// Round-kind counts: coding (structures, complexity, edges, testing, shortcuts), design (requirements, api,
    /// data, failure, trade-offs), recruiter (logistics, research, fluff). Zero for other kinds.
    pub kind_counts: [usize; 5],
}

impl Signals {
    pub fn read(kind: RoundKind, question: &str, answer: &str) -> Signals {
        let w = fold_words(answer);
        let person = count(&w, &["i", "my", "me"]);
        let we = count(&w, lx::WE);
        let nums = numbers(&w);
        let question_words: std::collections::BTreeSet<String> = fold_words(question)
            .into_iter()
            .filter(|x| x.len() > 3)
            .collect();
        let used = question_words.iter().filter(|q| w.contains(q)).count();
        let lists: [&[&str]; 5] = match kind {
            RoundKind::Coding => [
                lx::CODE_STRUCTURES,
                lx::CODE_COMPLEXITY,
                lx::CODE_EDGES,
                lx::CODE_TESTING,
                lx::CODE_SHORTCUTS,
            ],
            RoundKind::SystemDesign => [
                lx::DESIGN_REQUIREMENTS,
                lx::DESIGN_API,
                lx::DESIGN_DATA,
                lx::DESIGN_FAILURE,
                lx::DESIGN_TRADEOFFS,
            ],
            RoundKind::RecruiterScreen => [
                lx::RECRUITER_LOGISTICS,
                lx::RECRUITER_RESEARCH,
                lx::RECRUITER_FLUFF,
                &[],
                &[],
            ],
            RoundKind::Behavioral | RoundKind::HiringManager => [&[]; 5],
        };
        Signals {
            words: w.len(),
            actions: first_person_actions(&w),
            we_share: we as f64 / (we + person + 1) as f64,
            generic: count(&w, lx::GENERIC),
            hedges: count(&w, lx::HEDGES),
            generic_present: count(&w, lx::GENERIC_PRESENT),
            causal: count(&w, lx::CAUSAL),
            result_numbers: nums.results,
            unit_numbers: nums.with_units,
            hedged_numbers: nums.hedged,
            names: names(answer),
            buzzwords: count(&w, lx::BUZZWORDS),
            overlap: used as f64 / question_words.len().max(1) as f64,
            injection: count(&w, lx::JUDGE_INJECTION),
            precise: count(&w, lx::PRECISE) + identifiers(answer),
            fallacies: count(&w, lx::FALLACIES) + linear_sorts(answer),
            kind_counts: lists.map(|l| count(&w, l)),
        }
    }

    fn per_100(&self, n: usize) -> f64 {
        100.0 * n as f64 / self.words.max(1) as f64
    }

    /// The features [`super::rules`] weighs, in the order of [`FEATURES`].
    pub fn features(&self) -> [f64; FEATURES.len()] {
        self.features_within(usize::MAX)
    }

    /// The features as if the answer were at most `words` long: every count is scaled to that length, densities
    /// are kept. One question's answers over a whole round (a design's every part, a story and its follow-ups)
    /// are read as one answer; without this their counts would add up, so that saying more would score higher
    /// in itself.
    pub fn features_within(&self, words: usize) -> [f64; FEATURES.len()] {
        let share = (words as f64 / self.words.max(1) as f64).min(1.0);
        let ln = |n: usize| (n as f64 * share).ln_1p();
        let k = self.kind_counts;
        [
            ln(self.actions),
            self.per_100(self.actions),
            self.we_share,
            self.per_100(self.generic),
            self.per_100(self.hedges),
            self.per_100(self.generic_present),
            ln(self.causal),
            ln(self.result_numbers),
            ln(self.unit_numbers),
            ln(self.hedged_numbers),
            ln(self.names),
            self.per_100(self.buzzwords),
            (self.words.max(1) as f64).ln(),
            self.overlap,
            ln(self.precise),
            ln(self.fallacies),
            ln(k[0]),
            ln(k[1]),
            ln(k[2]),
            ln(k[3]),
            ln(k[4]),
        ]
    }
}

/// The names of [`Signals::features`], for the weights table and `bench scoring --dump-signals`.
pub const FEATURES: [&str; 21] = [
    "actions",
    "actions_per_100",
    "we_share",
    "generic_per_100",
    "hedges_per_100",
    "generic_present_per_100",
    "causal",
    "result_numbers",
    "unit_numbers",
    "hedged_numbers",
    "names",
    "buzzwords_per_100",
    "ln_words",
    "question_overlap",
    "precise",
    "fallacies",
    "kind_1",
    "kind_2",
    "kind_3",
    "kind_4",
    "kind_5",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        fold_words(s)
    }

    #[test]
    fn first_person_past_actions_are_what_the_candidate_did_not_thought() {
        let w = words(
            "I pulled the data, I then rewrote the job, I think it helped, I wanted more, we shipped.",
        );
        assert_eq!(first_person_actions(&w), 2);
    }

    #[test]
    fn a_measured_result_counts_and_a_shrugged_number_is_marked() {
        let n = numbers(&words(
            "Reconciliation finished within ten minutes and pages dropped from 16 a month to zero.",
        ));
        assert!(n.results >= 3, "{n:?}");
        assert!(n.with_units >= 1, "{n:?}");
        let n = numbers(&words("It failed like maybe 10 or 15 percent of the time."));
        assert!(n.hedged >= 1, "{n:?}");
    }

    #[test]
    fn precise_reasoning_and_waved_through_steps_are_counted() {
        let s = Signals::read(
            RoundKind::Coding,
            "q",
            "tails[j] is the smallest last value; the invariant is that tails stays sorted, and leftMax moves.",
        );
        assert!(s.precise >= 4, "{s:?}");
        let s = Signals::read(
            RoundKind::Coding,
            "q",
            "I'd sort it, and sorting is O(n) so it's fast. Basically a classic DP problem.",
        );
        assert!(s.fallacies >= 3, "{s:?}");
        assert_eq!(
            linear_sorts("Sorting takes O(n log n), then one linear pass."),
            0
        );
    }

    #[test]
    fn names_inside_sentences_are_counted_once() {
        assert_eq!(
            names("I asked Dana. Then Dana and Priya moved it to Kafka."),
            3
        );
    }

    #[test]
    fn kind_counts_follow_the_round_kind() {
        let s = Signals::read(
            RoundKind::Coding,
            "Two sum?",
            "A hash map from value to index gives O(n) time; I'd test empty input and duplicates.",
        );
        assert!(
            s.kind_counts[0] >= 2 && s.kind_counts[1] >= 1 && s.kind_counts[2] >= 2,
            "{s:?}"
        );
        let b = Signals::read(RoundKind::Behavioral, "q", "A hash map gives O(n).");
        assert_eq!(b.kind_counts, [0; 5]);
    }
}
