//! Every seeded problem's reference solution passes every sample and hidden test in Python, JavaScript and C,
//! through the project's own harnesses and checkers, run by the machine's python3, node and cc: the harnesses are
//! ordinary programs that behave the same outside the sandbox (`sandbox.rs` runs them inside). A solution that
//! returns nothing fails, which proves the checks can fail.

use std::{
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use rehearse::{
    catalog::{self, Problem, SeedSource},
    sandbox::{
        Language,
        harness::{self, Spec},
        output::{self, Report},
    },
};

fn problems() -> Vec<Problem> {
    catalog::load(&SeedSource::Embedded)
        .unwrap_or_else(|e| panic!("{e}"))
        .catalog
        .problems
}

/// Runs `cmd` with a deadline; returns (exit success, stdout, stderr).
fn run(mut cmd: Command, limit: Duration) -> (bool, String, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > limit {
            child.kill().ok();
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// Runs `source` on every sample and hidden test natively; returns one line per failed test.
fn judge_natively(dir: &Path, language: Language, p: &Problem, source: &str) -> Vec<String> {
    let cases: Vec<_> = p.samples.iter().chain(&p.tests).collect();
    let tests = cases
        .iter()
        .enumerate()
        .map(|(i, t)| (i, t.args.as_slice()))
        .collect();
    let spec = Spec::new(p, tests, harness::new_marker());
    let program = harness::program(language, &spec, source);
    let limit = Duration::from_secs(20);
    let (ok, stdout, stderr) = match language {
        Language::Python => {
            let file = dir.join(format!("{}.py", p.id));
            std::fs::write(&file, program).unwrap();
            let mut cmd = Command::new("python3");
            cmd.arg(&file);
            run(cmd, limit)
        }
        Language::Javascript => {
            let file = dir.join(format!("{}.js", p.id));
            std::fs::write(&file, program).unwrap();
            let mut cmd = Command::new("node");
            cmd.arg(&file);
            run(cmd, limit)
        }
        Language::C => {
            let file = dir.join(format!("{}.c", p.id));
            let bin = dir.join(format!("{}.bin", p.id));
            std::fs::write(&file, program).unwrap();
            let mut cc = Command::new("cc");
            cc.args(["-std=c11", "-O1", "-w", "-o"])
                .arg(&bin)
                .arg(&file)
                .arg("-lm");
            let (ok, _, err) = run(cc, limit);
            if !ok {
                return vec![format!("{} c: does not compile: {err}", p.id)];
            }
            run(Command::new(&bin), limit)
        }
    };
    let parsed = output::parse(&stdout, &spec.marker);
    if let Some(fatal) = parsed.fatal {
        return vec![format!("{} {}: {fatal}", p.id, language.as_str())];
    }
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let what = if i < p.samples.len() {
            format!("sample {i}")
        } else {
            format!("test {}", i - p.samples.len())
        };
        match parsed.reports.get(&i) {
            Some(Report::Returned { json, .. })
                if output::check(p.checker, p.returns, &case.expected, json) => {}
            Some(Report::Returned { json, .. }) => failures.push(format!(
                "{} {} {what}: expected {}, got {json}",
                p.id,
                language.as_str(),
                case.expected
            )),
            Some(other) => failures.push(format!(
                "{} {} {what}: {other:?} (exit ok: {ok}) {stderr}",
                p.id,
                language.as_str()
            )),
            None => failures.push(format!(
                "{} {} {what}: never ran (exit ok: {ok}) {stderr}",
                p.id,
                language.as_str()
            )),
        }
    }
    failures
}

fn solution(p: &Problem, language: Language) -> &str {
    match language {
        Language::Python => &p.solutions.python,
        Language::Javascript => &p.solutions.javascript,
        Language::C => &p.solutions.c,
    }
}

#[test]
fn every_reference_solution_passes_every_test_in_every_language() {
    let problems = problems();
    let dir = tempfile::tempdir().unwrap();
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = Language::ALL
            .into_iter()
            .map(|lang| {
                let (problems, dir) = (&problems, dir.path());
                s.spawn(move || {
                    let sub = dir.join(lang.as_str());
                    std::fs::create_dir_all(&sub).unwrap();
                    problems
                        .iter()
                        .flat_map(|p| judge_natively(&sub, lang, p, solution(p, lang)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_solution_that_returns_nothing_is_not_accepted() {
    let dir = tempfile::tempdir().unwrap();
    for p in problems() {
        let wrong = format!("def {}(*args):\n    return None\n", p.function);
        let failures = judge_natively(dir.path(), Language::Python, &p, &wrong);
        assert_eq!(
            failures.len(),
            p.samples.len() + p.tests.len(),
            "{}: a None answer passed some tests",
            p.id
        );
    }
}

#[test]
fn starter_code_runs_in_every_language_and_is_not_accepted() {
    let dir = tempfile::tempdir().unwrap();
    for p in problems().iter().take(6) {
        for lang in [Language::Python, Language::Javascript] {
            let failures = judge_natively(dir.path(), lang, p, &harness::starter(lang, p));
            assert_eq!(
                failures.len(),
                p.samples.len() + p.tests.len(),
                "{} {}: {failures:?}",
                p.id,
                lang.as_str()
            );
            assert!(
                failures.iter().all(|f| f.contains("got null")),
                "{} {}: {failures:?}",
                p.id,
                lang.as_str()
            );
        }
        let c = harness::starter(Language::C, p);
        let file = dir.path().join("starter.c");
        std::fs::write(
            &file,
            harness::program(Language::C, &Spec::new(p, vec![], "@@m".into()), &c),
        )
        .unwrap();
        let mut cc = Command::new("cc");
        cc.args(["-std=c11", "-fsyntax-only", "-w"]).arg(&file);
        let (ok, _, err) = run(cc, Duration::from_secs(20));
        assert!(ok, "{}: C starter does not compile: {err}", p.id);
    }
}
