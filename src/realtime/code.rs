//! Coding rounds in the live interview: the candidate's code as they type (kept per language, restored after a
//! reload) and their runs: Run judges the problem's visible samples, Submit its hidden tests (only their count and
//! verdicts go back, never their contents or the output they produced), Custom runs the code on the candidate's
//! own input. Every run is recorded for the results page. The interviewer reacts to each submission from its
//! result, and gives the problem's hints one at a time when asked.

use super::{
    actor::Actor,
    code_run::{Graded, execute, language, mode_name, result_frame, tests_json, verdict_name},
    frames,
    hub::Cmd,
    pb::{self, server_frame::Kind},
    speak::Line,
};
use crate::{
    catalog::RoundKind,
    db::live,
    engine::plan::QuestionPool,
    sandbox::{Language, runner::Limits},
};

/// The largest program accepted in an interview.
pub const MAX_SOURCE_BYTES: usize = 64 * 1024;

/// A run as it was asked for.
#[derive(Debug)]
pub(super) struct Started {
    conn: u64,
    seq: u64,
    round: i64,
    problem_id: String,
    lang: Language,
    run: pb::CodeRun,
}

/// A finished run, handed back to the actor.
#[derive(Debug)]
pub struct Finished {
    started: Started,
    outcome: Result<Graded, String>,
}

impl Actor {
    /// The problem of the current round, if it is a coding round.
    fn current_problem(&self) -> Option<(i64, String)> {
        let iv = self.engine.as_ref()?;
        let round = iv.current_round()?;
        let q = round.questions.first()?;
        (round.kind == RoundKind::Coding && q.pool == QuestionPool::Problem)
            .then(|| (iv.current as i64, q.id.clone()))
    }

    pub(super) async fn code_update(&mut self, conn: u64, seq: u64, u: pb::CodeUpdate) {
        let (Some((round, _)), Some(lang)) = (self.current_problem(), language(u.language()))
        else {
            self.send_to(
                conn,
                frames::error(
                    "unsupported",
                    "There is no code to keep in this round.",
                    seq,
                ),
            );
            return;
        };
        if u.source.len() > MAX_SOURCE_BYTES {
            self.send_to(
                conn,
                frames::error("source_too_long", "Code is limited to 64 KiB.", seq),
            );
            return;
        }
        let id = self.session.id.clone();
        let saved = self
            .services
            .db
            .call(move |c| {
                live::save_code(c, &id, round, lang.as_str(), &u.source, u.revision as i64)
            })
            .await;
        if let Err(e) = saved {
            tracing::error!("saving code failed: {e}");
        }
    }

    pub(super) async fn code_run(&mut self, conn: u64, seq: u64, r: pb::CodeRun) {
        if let Some(why) = self.closed_reason() {
            self.send_to(conn, frames::error("session_closed", why, seq));
            return;
        }
        let Some((round, problem_id)) = self.current_problem() else {
            self.send_to(
                conn,
                frames::error(
                    "not_a_coding_round",
                    "Code runs belong to coding rounds.",
                    seq,
                ),
            );
            return;
        };
        let Some(lang) = language(r.language()) else {
            self.send_to(
                conn,
                frames::error("unsupported", "Choose Python, JavaScript or C.", seq),
            );
            return;
        };
        if r.source.len() > MAX_SOURCE_BYTES || r.stdin.len() > MAX_SOURCE_BYTES {
            self.send_to(
                conn,
                frames::error(
                    "source_too_long",
                    "Code and input are limited to 64 KiB each.",
                    seq,
                ),
            );
            return;
        }
        let catalog = self.services.catalog.clone();
        let Some(problem) = catalog.problem(&problem_id).cloned() else {
            self.send_to(
                conn,
                frames::error(
                    "internal",
                    "This round's problem is no longer in the catalog.",
                    seq,
                ),
            );
            return;
        };
        let mode = r.mode();
        let source = r.source.clone();
        let stdin = r.stdin.clone().into_bytes();
        let limits = Limits::default();
        // The run goes on beside the actor, which keeps answering pings, answers and controls meanwhile; the result
        // comes back to it as a command (a run used to hold the interview up to 10 s).
        let (pool, me, user) = (self.services.clone(), self.me.clone(), self.session.user_id);
        let started = Started {
            conn,
            seq,
            round,
            problem_id,
            lang,
            run: r,
        };
        self.code_runs += 1;
        tokio::spawn(async move {
            let outcome = pool
                .sandbox
                .with_sandbox(user, move |sandbox| {
                    execute(sandbox, mode, lang, &source, &stdin, &problem, &limits)
                })
                .await
                .map_err(|e| e.to_string());
            let done = Cmd::CodeDone(Box::new(Finished { started, outcome }));
            if let Some(me) = me.upgrade() {
                let _ = me.send(done).await;
            }
        });
    }

    /// A run started by [`Actor::code_run`] has finished: its result goes to every connection and into the
    /// record, and a submission gets the interviewer's reaction.
    pub(super) async fn code_done(&mut self, f: Finished) {
        self.code_runs = self.code_runs.saturating_sub(1);
        let Finished { started, outcome } = f;
        let Started {
            conn,
            seq,
            round,
            problem_id,
            lang,
            run: r,
        } = started;
        let mode = r.mode();
        let (graded, run) = match outcome {
            Ok(g) => g,
            Err(e) => {
                self.send_to(conn, frames::error("sandbox", e, seq));
                return;
            }
        };
        let result = result_frame(&r, graded, &run);
        let overall = result.verdict();
        self.record_run(round, &problem_id, lang, mode, &r.source, &result)
            .await;
        // A reaction belongs to the round the run was for; if the candidate has moved on, the result is enough.
        let same_round = self.current_problem().is_some_and(|(now, _)| now == round);
        let reaction = (mode == pb::RunMode::Submit && same_round)
            .then(|| reaction(overall, result.passed, result.total));
        self.broadcast(frames::frame(Kind::CodeResult(result)));
        if let Some(text) = reaction {
            self.say_line(Line {
                round: round as usize,
                kind: "code_feedback",
                text,
            })
            .await;
        }
    }

    /// Records a finished run for the results page.
    async fn record_run(
        &self,
        round: i64,
        problem_id: &str,
        lang: Language,
        mode: pb::RunMode,
        source: &str,
        result: &pb::CodeResult,
    ) {
        let results_json = tests_json(result);
        let (id, user, src, problem_id) = (
            self.session.id.clone(),
            self.session.user_id,
            source.to_string(),
            problem_id.to_string(),
        );
        let (mode_name, lang_name, verdict_s) = (
            mode_name(mode),
            lang.as_str(),
            verdict_name(result.verdict()),
        );
        let (passed_i, total_i) = (i64::from(result.passed), i64::from(result.total));
        let (time_ms, memory_kb) = (i64::from(result.time_ms), i64::from(result.memory_kb));
        let recorded = self
            .services
            .db
            .call(move |c| {
                live::record_submission(
                    c,
                    &live::Submission {
                        user_id: user,
                        session_id: &id,
                        round,
                        problem_id: &problem_id,
                        mode: mode_name,
                        language: lang_name,
                        source: &src,
                        verdict: &verdict_s,
                        passed: passed_i,
                        total: total_i,
                        results_json: &results_json,
                        time_ms,
                        memory_kb,
                    },
                )
            })
            .await;
        if let Err(e) = recorded {
            tracing::error!("recording a submission failed: {e}");
        }
    }

    /// Gives the problem's next hint when asked with the hint control.
    pub(super) async fn hint(&mut self, conn: u64, seq: u64) {
        if !self.give_hint().await {
            self.send_to(
                conn,
                frames::error("not_a_coding_round", "Hints belong to coding rounds.", seq),
            );
        }
    }

    /// Gives the problem's next hint, recorded as a `hint` turn (the report counts them); false outside a coding
    /// round.
    pub(super) async fn give_hint(&mut self) -> bool {
        let Some((round, problem_id)) = self.current_problem() else {
            return false;
        };
        let id = self.session.id.clone();
        let given = self
            .services
            .db
            .call(move |c| live::count_turns(c, &id, round, "hint"))
            .await
            .unwrap_or(0);
        let catalog = self.services.catalog.clone();
        let hints = catalog
            .problem(&problem_id)
            .map(|p| p.hints.clone())
            .unwrap_or_default();
        let line = match hints.get(given.max(0) as usize) {
            Some(h) => Line {
                round: round as usize,
                kind: "hint",
                text: format!("Here's a hint: {h}"),
            },
            // The problem's own hints are used up: a hint on how to work any such problem, still a hint.
            None => Line {
                round: round as usize,
                kind: "hint",
                text: general_hint(given.max(0) as usize - hints.len()).into(),
            },
        };
        self.say_line(line).await;
        true
    }
}

/// The `n`th hint after a problem's own hints are used up: ways of working that help with any problem.
pub fn general_hint(n: usize) -> &'static str {
    const GENERAL: &[&str] = &[
        "That was the last hint written for this problem, so here's a general one: work the smallest example by \
         hand and notice what you compute more than once. What could you keep so you don't compute it again?",
        "Here's a general hint: write the plain brute force first, even if it's slow, then look at which loop repeats \
         work. What would make that loop cheaper?",
        "Here's a general hint: say what is true after each step of your loop, the invariant. What must hold when \
         the loop ends?",
    ];
    // Past those, no question that was asked already: what to do with the hints given.
    const LAST: &[&str] = &[
        "That's every hint I have for this one. Take the idea you trust most and try it on the first sample, out \
         loud.",
        "No more hints from me on this one; go with your best idea and we'll see where it takes you.",
    ];
    match GENERAL.get(n) {
        Some(hint) => hint,
        None => LAST[(n - GENERAL.len()) % LAST.len()],
    }
}

/// What the interviewer says about a submission: grounded in its result, and a prompt to keep talking.
pub fn reaction(verdict: pb::Verdict, passed: u32, total: u32) -> String {
    match verdict {
        pb::Verdict::Accepted => format!(
            "All {total} hidden tests pass. What are the time and space complexity, and which edge case would you \
             still want to test?"
        ),
        pb::Verdict::CompilationError => {
            "That didn't compile. What does the compiler's first message point at?".into()
        }
        pb::Verdict::RuntimeError if passed == 0 => {
            "That one didn't run: it stopped with an error. Read the error with me: what do you think happened?"
                .into()
        }
        pb::Verdict::TimeLimitExceeded => format!(
            "{passed} of {total} hidden tests pass; the others ran out of time. What's the complexity now, and \
             can you do better?"
        ),
        _ => format!(
            "{passed} of {total} hidden tests pass. What kinds of input do you think the failing ones use?"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reaction_to_a_submission_rests_on_its_result() {
        assert!(reaction(pb::Verdict::Accepted, 12, 12).starts_with("All 12 hidden tests pass."));
        assert!(
            reaction(pb::Verdict::WrongAnswer, 5, 12).starts_with("5 of 12 hidden tests pass.")
        );
        assert!(reaction(pb::Verdict::TimeLimitExceeded, 9, 12).contains("ran out of time"));
        assert!(reaction(pb::Verdict::RuntimeError, 0, 12).contains("stopped with an error"));
        assert!(reaction(pb::Verdict::CompilationError, 0, 12).contains("didn't compile"));
        assert!(reaction(pb::Verdict::RuntimeError, 3, 12).starts_with("3 of 12"));
    }

    #[test]
    fn hint_after_hint_never_puts_a_question_twice() {
        use crate::engine::guard::question_count;
        let given: Vec<&str> = (0..8).map(general_hint).collect();
        let mut questions: Vec<&str> = given
            .iter()
            .copied()
            .filter(|h| question_count(h) > 0)
            .collect();
        let asked = questions.len();
        questions.sort();
        questions.dedup();
        assert_eq!(questions.len(), asked, "{given:?}");
        assert!(asked >= 3, "{given:?}");
        assert!(given.iter().all(|h| h.split_whitespace().count() <= 60));
    }
}
