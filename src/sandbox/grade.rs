//! Judging a candidate's function on a problem's tests: one run of the language's harness over all the tests, then
//! a verdict per test from what the harness reported and how the run ended.

use serde_json::Value;

use super::{
    Language, Verdict,
    harness::{self, Spec},
    output::{self, Report},
    runner::{Exit, Limits, Output, Sandbox},
};
use crate::catalog::{Problem, TestCase};

#[derive(Debug, Clone, PartialEq)]
pub struct TestVerdict {
    pub index: usize,
    pub verdict: Verdict,
    pub micros: u64,
    /// What the function returned (JSON), when it returned.
    pub actual: Option<String>,
    /// The exception, when it raised one.
    pub message: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Graded {
    pub tests: Vec<TestVerdict>,
    /// The whole run: the candidate's own output, time and memory.
    pub run: Output,
    pub candidate_stdout: String,
    /// The harness could not call the function (it is missing or the code does not load).
    pub fatal: Option<String>,
}

impl Graded {
    pub fn verdict(&self) -> Verdict {
        self.tests
            .iter()
            .map(|t| t.verdict)
            .find(|v| *v != Verdict::Accepted)
            .unwrap_or(Verdict::Accepted)
    }
}

/// Runs `source` on `cases` (index, test) and grades each.
pub fn grade(
    sandbox: &Sandbox,
    problem: &Problem,
    language: Language,
    source: &str,
    cases: &[(usize, &TestCase)],
    limits: &Limits,
) -> anyhow::Result<Graded> {
    let tests: Vec<(usize, &[Value])> =
        cases.iter().map(|(i, t)| (*i, t.args.as_slice())).collect();
    let spec = Spec::new(problem, tests, harness::new_marker());
    let program = harness::program(language, &spec, source);
    let run = sandbox.run(language, &program, b"", limits)?;
    let parsed = output::parse(&run.stdout, &spec.marker);
    // When the run ended early, the test in progress and those after it are graded by how it ended.
    let cut_short = match (&run.exit, run.output_limited) {
        (_, true) => Verdict::OutputLimitExceeded,
        (Exit::TimeLimit, _) => Verdict::TimeLimitExceeded,
        (Exit::MemoryLimit, _) => Verdict::MemoryLimitExceeded,
        (Exit::Trap(_), _) => Verdict::RuntimeError,
        (Exit::Code(_), _) => Verdict::RuntimeError,
    };
    let load_failed =
        parsed.fatal.is_some() || (parsed.reports.is_empty() && run.exit != Exit::Code(0));
    let verdicts = cases
        .iter()
        .map(|(i, case)| {
            let (verdict, micros, actual, message) = match parsed.reports.get(i) {
                Some(Report::Returned { micros, json }) => {
                    let ok = output::check(problem.checker, problem.returns, &case.expected, json);
                    (
                        if ok {
                            Verdict::Accepted
                        } else {
                            Verdict::WrongAnswer
                        },
                        *micros,
                        Some(json.clone()),
                        None,
                    )
                }
                Some(Report::Raised { micros, message }) => {
                    (Verdict::RuntimeError, *micros, None, Some(message.clone()))
                }
                Some(Report::Unfinished) => (cut_short, 0, None, None),
                None if run.compile_error.is_some() => (Verdict::CompilationError, 0, None, None),
                None if load_failed => (Verdict::RuntimeError, 0, None, parsed.fatal.clone()),
                None => (Verdict::NotRun, 0, None, None),
            };
            TestVerdict {
                index: *i,
                verdict,
                micros,
                actual,
                message,
            }
        })
        .collect();
    Ok(Graded {
        tests: verdicts,
        candidate_stdout: parsed.stdout,
        fatal: parsed.fatal,
        run,
    })
}
