//! A code run as the candidate sees it: executed in the sandbox as its mode asks (the candidate's own input, the
//! problem's samples, or its hidden tests), and its result as a frame, with what must stay on the server kept
//! there (hidden tests' contents, what a submission printed). Functions of their inputs; the actor's coding-round
//! handlers ([`super::code`]) call them.

use super::pb;
use crate::{
    catalog::Problem,
    sandbox::{
        Language, Verdict,
        grade::grade,
        runner::{Exit, Limits, Output, Sandbox},
    },
};

pub(super) fn language(l: pb::Language) -> Option<Language> {
    match l {
        pb::Language::Python => Some(Language::Python),
        pb::Language::Javascript => Some(Language::Javascript),
        pb::Language::C => Some(Language::C),
        _ => None,
    }
}

/// What the candidate sees of the compiler's messages. A submission's program holds the hidden tests as C data, so
/// only the messages about the candidate's own file (`solution.c`) leave the server then.
pub(super) fn compiler_messages(messages: &str, hidden: bool) -> String {
    if !hidden {
        return messages.to_string();
    }
    let own: Vec<&str> = messages
        .lines()
        .filter(|l| l.starts_with("solution.c"))
        .collect();
    if own.is_empty() {
        "The tests cannot call your function: check its name and parameters against the starter code.".into()
    } else {
        own.join("\n")
    }
}

pub(super) fn verdict(v: Verdict) -> pb::Verdict {
    match v {
        Verdict::Accepted => pb::Verdict::Accepted,
        Verdict::WrongAnswer => pb::Verdict::WrongAnswer,
        Verdict::TimeLimitExceeded => pb::Verdict::TimeLimitExceeded,
        Verdict::MemoryLimitExceeded => pb::Verdict::MemoryLimitExceeded,
        Verdict::RuntimeError => pb::Verdict::RuntimeError,
        Verdict::CompilationError => pb::Verdict::CompilationError,
        Verdict::OutputLimitExceeded => pb::Verdict::OutputLimitExceeded,
        Verdict::InternalError => pb::Verdict::InternalError,
        Verdict::NotRun => pb::Verdict::NotRun,
    }
}

pub(super) fn verdict_name(v: pb::Verdict) -> String {
    v.as_str_name()
        .trim_start_matches("VERDICT_")
        .to_lowercase()
}

/// The graded tests with the overall verdict, what the candidate's code printed and a fatal message, when the run
/// judged tests; and the run's output.
pub(super) type Graded = (Option<GradedTests>, Output);
pub(super) type GradedTests = (Vec<pb::TestResult>, Verdict, String, Option<String>);

/// Runs `source` in `sandbox` as `mode` asks: on `stdin` (Custom), the problem's samples (Run) or its hidden tests
/// (Submit).
pub(super) fn execute(
    sandbox: &Sandbox,
    mode: pb::RunMode,
    lang: Language,
    source: &str,
    stdin: &[u8],
    problem: &Problem,
    limits: &Limits,
) -> anyhow::Result<Graded> {
    Ok(match mode {
        pb::RunMode::Custom => (None, sandbox.run(lang, source, stdin, limits)?),
        _ => {
            let hidden = mode == pb::RunMode::Submit;
            let tests = if hidden {
                &problem.tests
            } else {
                &problem.samples
            };
            let cases: Vec<_> = tests.iter().enumerate().collect();
            let g = grade(sandbox, problem, lang, source, &cases, limits)?;
            let run = g.run.clone();
            let results: Vec<pb::TestResult> = g
                .tests
                .iter()
                .map(|t| pb::TestResult {
                    index: t.index as u32,
                    verdict: verdict(t.verdict) as i32,
                    time_ms: (t.micros / 1000) as u32,
                    memory_kb: run.memory_kb as u32,
                    hidden,
                    actual_json: if hidden {
                        String::new()
                    } else {
                        t.actual.clone().unwrap_or_default()
                    },
                    expected_json: if hidden {
                        String::new()
                    } else {
                        tests[t.index].expected.to_string()
                    },
                })
                .collect();
            (
                Some((results, g.verdict(), g.candidate_stdout, g.fatal)),
                run,
            )
        }
    })
}

/// The result frame of a finished run asked for by `r`.
pub(super) fn result_frame(
    r: &pb::CodeRun,
    graded: Option<GradedTests>,
    run: &Output,
) -> pb::CodeResult {
    let mode = r.mode();
    let hidden = mode == pb::RunMode::Submit;
    let (tests, overall, stdout, stderr) = match graded {
        Some((tests, v, stdout, fatal)) => {
            let stderr =
                fatal.map_or_else(|| run.stderr.clone(), |f| format!("{f}\n{}", run.stderr));
            (tests, verdict(v), stdout, stderr)
        }
        None => {
            let v = match run.exit {
                _ if run.compile_error.is_some() => pb::Verdict::CompilationError,
                Exit::Code(0) if !run.output_limited => pb::Verdict::Accepted,
                Exit::TimeLimit => pb::Verdict::TimeLimitExceeded,
                Exit::MemoryLimit => pb::Verdict::MemoryLimitExceeded,
                _ if run.output_limited => pb::Verdict::OutputLimitExceeded,
                _ => pb::Verdict::RuntimeError,
            };
            (Vec::new(), v, run.stdout.clone(), run.stderr.clone())
        }
    };
    let passed = tests
        .iter()
        .filter(|t| t.verdict == pb::Verdict::Accepted as i32)
        .count() as u32;
    pb::CodeResult {
        run_id: r.run_id.clone(),
        mode: mode as i32,
        verdict: overall as i32,
        total: tests.len() as u32,
        passed,
        tests,
        // What a submission printed could reveal hidden tests: it stays on the server.
        stdout: if hidden { String::new() } else { stdout },
        stderr: if hidden || run.compile_error.is_some() {
            String::new()
        } else {
            stderr
        },
        compile_output: run
            .compile_error
            .as_deref()
            .map(|m| compiler_messages(m, hidden))
            .unwrap_or_default(),
        time_ms: run.time_ms as u32,
        memory_kb: run.memory_kb as u32,
    }
}

/// Each test's index, verdict and time, as recorded with the submission.
pub(super) fn tests_json(result: &pb::CodeResult) -> String {
    serde_json::to_string(
        &result
            .tests
            .iter()
            .map(|t| serde_json::json!({"index": t.index, "verdict": verdict_name(t.verdict()), "time_ms": t.time_ms}))
            .collect::<Vec<_>>(),
    )
    .unwrap_or_default()
}

pub(super) fn mode_name(mode: pb::RunMode) -> &'static str {
    match mode {
        pb::RunMode::Submit => "submit",
        pb::RunMode::Custom => "custom",
        _ => "run",
    }
}
