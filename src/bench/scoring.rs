//! `rehearse bench scoring`: how well a judge ranks the calibration set's pairs (the stronger answer must score
//! higher) and whether non-answers land at the bottom, with the time each judgment takes.

use std::time::Instant;

use serde::Serialize;

use crate::scoring::{calibration, judge::Judge, score_round};

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
    pub class: String,
    pub score: Option<f64>,
    pub at_bottom: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub judge: String,
    pub pairs: usize,
    /// Pairs where the stronger answer scored strictly higher.
    pub ranked_correctly: usize,
    pub ties: usize,
    /// Pairs where a side could not be scored (the judge failed).
    pub unscored: usize,
    pub bottoms: usize,
    pub bottoms_at_bottom: usize,
    pub mean_seconds_per_round: f64,
    pub max_seconds_per_round: f64,
    pub pair_results: Vec<PairResult>,
    pub bottom_results: Vec<BottomResult>,
}

/// A round below this is in the bottom level (strong no hire).
pub const BOTTOM_BELOW: f64 = 1.5;

pub fn run(judge: &dyn Judge, limit: Option<usize>) -> Report {
    let set = calibration::builtin();
    let mut times = Vec::new();
    let mut timed = |kind, question: &str, answer: &str| {
        let started = Instant::now();
        let r = score_round(judge, 0, kind, &calibration::round(kind, question, answer));
        times.push(started.elapsed().as_secs_f64());
        r.score
    };
    let n = limit.unwrap_or(usize::MAX);
    let mut pair_results = Vec::new();
    for (i, p) in set.pair.iter().take(n).enumerate() {
        let stronger = timed(p.kind, &p.question, &p.stronger);
        let weaker = timed(p.kind, &p.question, &p.weaker);
        let correct = matches!((stronger, weaker), (Some(s), Some(w)) if s > w);
        eprintln!(
            "pair {}/{} {}: stronger {:?}, weaker {:?}{}",
            i + 1,
            set.pair.len().min(n),
            p.id,
            stronger,
            weaker,
            if correct { "" } else { "  <- wrong" }
        );
        pair_results.push(PairResult {
            id: p.id.clone(),
            kind: p.kind.as_str().into(),
            stronger,
            weaker,
            correct,
        });
    }
    let mut bottom_results = Vec::new();
    for b in set.bottom.iter().take(n) {
        let score = timed(b.kind, &b.question, &b.answer);
        bottom_results.push(BottomResult {
            id: b.id.clone(),
            class: b.class.clone(),
            score,
            at_bottom: score.is_some_and(|s| s < BOTTOM_BELOW),
        });
    }
    let count = |f: &dyn Fn(&PairResult) -> bool| pair_results.iter().filter(|p| f(p)).count();
    Report {
        judge: judge.name(),
        pairs: pair_results.len(),
        ranked_correctly: count(&|p| p.correct),
        ties: count(&|p| matches!((p.stronger, p.weaker), (Some(s), Some(w)) if s == w)),
        unscored: count(&|p| p.stronger.is_none() || p.weaker.is_none()),
        bottoms: bottom_results.len(),
        bottoms_at_bottom: bottom_results.iter().filter(|b| b.at_bottom).count(),
        mean_seconds_per_round: times.iter().sum::<f64>() / times.len().max(1) as f64,
        max_seconds_per_round: times.iter().copied().fold(0.0, f64::max),
        pair_results,
        bottom_results,
    }
}

pub fn print(r: &Report) {
    let pct = |a: usize, b: usize| {
        if b == 0 {
            0.0
        } else {
            100.0 * a as f64 / b as f64
        }
    };
    println!("judge: {}", r.judge);
    println!(
        "stronger answer ranked higher: {}/{} ({:.0}%; target 80%), ties {}, unscored {}",
        r.ranked_correctly,
        r.pairs,
        pct(r.ranked_correctly, r.pairs),
        r.ties,
        r.unscored
    );
    println!(
        "non-answers at the bottom level: {}/{} ({:.0}%; target 100%)",
        r.bottoms_at_bottom,
        r.bottoms,
        pct(r.bottoms_at_bottom, r.bottoms)
    );
    println!(
        "time per round scored: mean {:.2} s, max {:.2} s (target 30 s)",
        r.mean_seconds_per_round, r.max_seconds_per_round
    );
    for b in r.bottom_results.iter().filter(|b| !b.at_bottom) {
        println!(
            "  not at the bottom: {} ({}) scored {:?}",
            b.id, b.class, b.score
        );
    }
}
