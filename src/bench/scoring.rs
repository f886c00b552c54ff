//! `rehearse bench scoring`: how well a judge ranks a calibration set's pairs (the stronger answer must score
//! higher; a tie counts as wrong), whether the scale is honest (where stronger and weaker answers land on average)
//! and whether non-answers land in the lowest level, below every answer of their kind, with the time each
//! judgment takes. Figures are given overall and per round kind.

use std::{collections::BTreeMap, time::Instant};

use serde::Serialize;

use crate::{
    catalog::RoundKind,
    scoring::{calibration, judge::Judge, score_round},
};

#[derive(Debug, Clone, Serialize)]
pub struct PairResult {
    pub id: String,
    pub kind: String,
    pub stronger: Option<f64>,
    pub weaker: Option<f64>,
    pub correct: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct BottomResult {
    pub id: String,
    pub kind: String,
    pub class: String,
    pub score: Option<f64>,
    /// In the lowest level and below every pair answer of its kind.
    pub at_bottom: bool,
}

/// The figures for one round kind, or for all of them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Tally {
    pub pairs: usize,
    /// Pairs where the stronger answer scored strictly higher.
    pub ranked_correctly: usize,
    pub ties: usize,
    /// Pairs where a side could not be scored (the judge failed).
    pub unscored: usize,
    pub mean_stronger: f64,
    pub mean_weaker: f64,
    pub bottoms: usize,
    pub bottoms_at_bottom: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub judge: String,
    /// `dev`, `test` or the file read.
    pub calibration: String,
    pub overall: Tally,
    pub per_kind: BTreeMap<String, Tally>,
    pub mean_seconds_per_round: f64,
    pub max_seconds_per_round: f64,
    pub pair_results: Vec<PairResult>,
    pub bottom_results: Vec<BottomResult>,
}

pub use crate::scoring::calibration::BOTTOM_BELOW;

fn tally<'a>(
    pairs: impl Iterator<Item = &'a PairResult>,
    bottoms: impl Iterator<Item = &'a BottomResult>,
) -> Tally {
    let pairs: Vec<&PairResult> = pairs.collect();
    let bottoms: Vec<&BottomResult> = bottoms.collect();
    let mean = |side: &dyn Fn(&PairResult) -> Option<f64>| {
        let v: Vec<f64> = pairs.iter().filter_map(|p| side(p)).collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    Tally {
        pairs: pairs.len(),
        ranked_correctly: pairs.iter().filter(|p| p.correct).count(),
        ties: pairs
            .iter()
            .filter(|p| matches!((p.stronger, p.weaker), (Some(s), Some(w)) if s == w))
            .count(),
        unscored: pairs
            .iter()
            .filter(|p| p.stronger.is_none() || p.weaker.is_none())
            .count(),
        mean_stronger: mean(&|p| p.stronger),
        mean_weaker: mean(&|p| p.weaker),
        bottoms: bottoms.len(),
        bottoms_at_bottom: bottoms.iter().filter(|b| b.at_bottom).count(),
    }
}

/// Scores every pair and non-answer of `set` (the first `limit` of each). With `show_pairs`, each pair's result is
/// printed as it comes; leave it off for a held-out set that a judge is being tuned beside.
pub fn run(
    judge: &dyn Judge,
    set: &calibration::Set,
    name: &str,
    limit: Option<usize>,
    show_pairs: bool,
) -> Report {
    let mut times = Vec::new();
    let mut timed = |kind, question: &str, answer: &str| {
        let started = Instant::now();
        let r = score_round(judge, 0, kind, &calibration::round(kind, question, answer));
        times.push(started.elapsed().as_secs_f64());
        r.score
    };
    let n = limit.unwrap_or(usize::MAX);
    let pair_results = score_pairs(&mut timed, set, n, show_pairs);
    let bottom_results = score_bottoms(&mut timed, set, n, &pair_results);
    let per_kind = per_kind(&pair_results, &bottom_results);
    Report {
        judge: judge.name(),
        calibration: name.to_string(),
        overall: tally(pair_results.iter(), bottom_results.iter()),
        per_kind,
        mean_seconds_per_round: times.iter().sum::<f64>() / times.len().max(1) as f64,
        max_seconds_per_round: times.iter().copied().fold(0.0, f64::max),
        pair_results,
        bottom_results,
    }
}

/// Scores the first `n` pairs of `set` with `timed`, printing each result with `show_pairs`.
fn score_pairs(
    timed: &mut impl FnMut(RoundKind, &str, &str) -> Option<f64>,
    set: &calibration::Set,
    n: usize,
    show_pairs: bool,
) -> Vec<PairResult> {
    let mut pair_results = Vec::new();
    for (i, p) in set.pair.iter().take(n).enumerate() {
        let stronger = timed(p.kind, &p.question, &p.stronger);
        let weaker = timed(p.kind, &p.question, &p.weaker);
        let correct = matches!((stronger, weaker), (Some(s), Some(w)) if s > w);
        if show_pairs {
            eprintln!(
                "pair {}/{} {}: stronger {:?}, weaker {:?}{}",
                i + 1,
                set.pair.len().min(n),
                p.id,
                stronger,
                weaker,
                if correct { "" } else { "  <- wrong" }
            );
        }
        pair_results.push(PairResult {
            id: p.id.clone(),
            kind: p.kind.as_str().into(),
            stronger,
            weaker,
            correct,
        });
    }
    pair_results
}

/// Scores the first `n` non-answers of `set` with `timed`; each is at the bottom when it scores in the lowest
/// level and below every pair answer of its kind.
fn score_bottoms(
    timed: &mut impl FnMut(RoundKind, &str, &str) -> Option<f64>,
    set: &calibration::Set,
    n: usize,
    pair_results: &[PairResult],
) -> Vec<BottomResult> {
    let mut bottom_results = Vec::new();
    for b in set.bottom.iter().take(n) {
        let score = timed(b.kind, &b.question, &b.answer);
        let lowest_of_kind = pair_results
            .iter()
            .filter(|p| p.kind == b.kind.as_str())
            .flat_map(|p| [p.stronger, p.weaker])
            .flatten()
            .fold(f64::INFINITY, f64::min);
        bottom_results.push(BottomResult {
            id: b.id.clone(),
            kind: b.kind.as_str().into(),
            class: b.class.clone(),
            score,
            at_bottom: score.is_some_and(|s| s < BOTTOM_BELOW && s < lowest_of_kind),
        });
    }
    bottom_results
}

/// The figures of each round kind that has a pair or a non-answer.
fn per_kind(
    pair_results: &[PairResult],
    bottom_results: &[BottomResult],
) -> BTreeMap<String, Tally> {
    let kinds: std::collections::BTreeSet<&str> = pair_results
        .iter()
        .map(|p| p.kind.as_str())
        .chain(bottom_results.iter().map(|b| b.kind.as_str()))
        .collect();
    kinds
        .into_iter()
        .map(|k| {
            let t = tally(
                pair_results.iter().filter(|p| p.kind == k),
                bottom_results.iter().filter(|b| b.kind == k),
            );
            (k.to_string(), t)
        })
        .collect()
}

fn pct(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        100.0 * a as f64 / b as f64
    }
}

fn line(label: &str, t: &Tally) -> String {
    format!(
        "{label:<17} {:>3}/{:<3} {:>4.0}%  ties {:>2}  stronger {:.2}  weaker {:.2}  non-answers at the bottom {}/{}",
        t.ranked_correctly,
        t.pairs,
        pct(t.ranked_correctly, t.pairs),
        t.ties,
        t.mean_stronger,
        t.mean_weaker,
        t.bottoms_at_bottom,
        t.bottoms
    )
}

pub fn print(r: &Report, show_pairs: bool) {
    println!("judge: {}; calibration set: {}", r.judge, r.calibration);
    println!(
        "stronger answer ranked higher (ties count as wrong), mean round score of each side (1-5):"
    );
    for (kind, t) in &r.per_kind {
        println!("  {}", line(kind, t));
    }
    println!("  {}", line("all", &r.overall));
    println!(
        "targets: 85% overall and 75% per kind; stronger at least 3.5, weaker at most 2.5; every non-answer at the \
         bottom"
    );
    if r.overall.unscored > 0 {
        println!("unscored pairs (the judge failed): {}", r.overall.unscored);
    }
    println!(
        "time per round scored: mean {:.3} s, max {:.3} s (target 10 s)",
        r.mean_seconds_per_round, r.max_seconds_per_round
    );
    println!("non-answers by class (in the lowest level / also below every answer of their kind):");
    for class in ["empty", "one_word", "evasive", "off_topic"] {
        let of: Vec<&BottomResult> = r
            .bottom_results
            .iter()
            .filter(|b| b.class == class)
            .collect();
        if of.is_empty() {
            continue;
        }
        let lowest = of
            .iter()
            .filter(|b| b.score.is_some_and(|s| s < BOTTOM_BELOW))
            .count();
        let below = of.iter().filter(|b| b.at_bottom).count();
        println!("  {class:<10} {lowest}/{n} / {below}/{n}", n = of.len());
    }
    if show_pairs {
        for b in r.bottom_results.iter().filter(|b| !b.at_bottom) {
            println!(
                "  not at the bottom: {} ({}) scored {:?}",
                b.id, b.class, b.score
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::{calibration::builtin, rules::RuleJudge};

    /// The scale the rules were calibrated to on the development set, and how they rank it (without the
    /// embeddings, which only catch off-topic answers). A change to a weight or a signal that breaks either fails
    /// here; the held-out figures are `bench scoring`'s.
    #[test]
    fn the_rules_rank_the_development_set_and_use_the_scale_honestly() {
        let set = builtin();
        let report = run(&RuleJudge::default(), set, "dev", None, false);
        let all = &report.overall;
        assert!(
            all.ranked_correctly * 100 >= all.pairs * 85,
            "{}/{}",
            all.ranked_correctly,
            all.pairs
        );
        assert!(all.mean_stronger >= 3.5, "{}", all.mean_stronger);
        assert!(all.mean_weaker <= 2.5, "{}", all.mean_weaker);
        for (kind, t) in &report.per_kind {
            assert!(
                t.ranked_correctly * 100 >= t.pairs * 75,
                "{kind}: {}/{}",
                t.ranked_correctly,
                t.pairs
            );
        }
    }
}
