//! The WebAssembly sandbox with the real runtimes (installed by `scripts/fetch-runtimes.py`, which the check script
//! runs): every seeded problem's reference solution is Accepted in Python and JavaScript, a wrong one is not, and
//! hostile programs end with a clean verdict without touching the host.

use std::{path::PathBuf, sync::OnceLock, time::Duration};

use rehearse::{
    catalog::{self, Problem, SeedSource},
    sandbox::{
        Language, Verdict,
        grade::grade,
        runner::{Exit, Limits, Output, Sandbox},
    },
};

fn runtimes_dir() -> PathBuf {
    std::env::var_os("REHEARSE_RUNTIMES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME is set"))
                .join(".cache/rehearse/runtimes")
        })
}

fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| Sandbox::load(&runtimes_dir()).unwrap_or_else(|e| panic!("{e:#}")))
}

fn problems() -> Vec<Problem> {
    catalog::load(&SeedSource::Embedded)
        .unwrap()
        .catalog
        .problems
}

fn quick() -> Limits {
    Limits {
        wall: Duration::from_secs(2),
        ..Limits::default()
    }
}

fn run(language: Language, source: &str) -> Output {
    sandbox().run(language, source, b"", &quick()).unwrap()
}

#[test]
fn every_reference_solution_is_accepted_in_python_and_javascript() {
    let mut failures = Vec::new();
    for p in problems() {
        let cases: Vec<_> = p.samples.iter().chain(&p.tests).enumerate().collect();
        for (language, source) in [
            (Language::Python, &p.solutions.python),
            (Language::Javascript, &p.solutions.javascript),
        ] {
            let graded =
                grade(sandbox(), &p, language, source, &cases, &Limits::default()).unwrap();
            for t in graded
                .tests
                .iter()
                .filter(|t| t.verdict != Verdict::Accepted)
            {
                failures.push(format!(
                    "{} {}: test {} {:?} {:?} {:?} stderr: {}",
                    p.id,
                    language.as_str(),
                    t.index,
                    t.verdict,
                    t.actual,
                    t.message,
                    graded.run.stderr.chars().take(300).collect::<String>()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_wrong_solution_is_not_accepted_and_a_missing_function_is_reported() {
    let p = problems().into_iter().find(|p| p.id == "two-sum").unwrap();
    let cases: Vec<_> = p.samples.iter().enumerate().collect();
    let wrong = grade(
        sandbox(),
        &p,
        Language::Python,
        "def two_sum(nums, target):\n    return [0, 0]\n",
        &cases,
        &quick(),
    )
    .unwrap();
    assert!(
        wrong
            .tests
            .iter()
            .all(|t| t.verdict == Verdict::WrongAnswer),
        "{:?}",
        wrong.tests
    );
    let raising = grade(
        sandbox(),
        &p,
        Language::Javascript,
        "function twoSum() { throw new Error('boom'); }",
        &cases,
        &quick(),
    )
    .unwrap();
    assert!(
        raising
            .tests
            .iter()
            .all(|t| t.verdict == Verdict::RuntimeError),
        "{:?}",
        raising.tests
    );
    assert!(
        raising.tests[0]
            .message
            .as_deref()
            .unwrap()
            .contains("boom")
    );
    let missing = grade(
        sandbox(),
        &p,
        Language::Python,
        "def other():\n    pass\n",
        &cases,
        &quick(),
    )
    .unwrap();
    assert!(
        missing.fatal.as_deref().unwrap().contains("two_sum"),
        "{:?}",
        missing.fatal
    );
    assert_eq!(missing.verdict(), Verdict::RuntimeError);
    let syntax = grade(
        sandbox(),
        &p,
        Language::Python,
        "def two_sum(nums, target)\n    return []\n",
        &cases,
        &quick(),
    )
    .unwrap();
    assert_eq!(syntax.verdict(), Verdict::RuntimeError);
    assert!(
        syntax.run.stderr.contains("SyntaxError"),
        "{}",
        syntax.run.stderr
    );
}

#[test]
fn infinite_loops_hit_the_time_limit() {
    assert_eq!(
        run(Language::Python, "while True:\n    pass\n").exit,
        Exit::TimeLimit
    );
    assert_eq!(
        run(Language::Javascript, "for (;;) {}").exit,
        Exit::TimeLimit
    );
}

#[test]
fn memory_bombs_hit_the_memory_limit() {
    assert_eq!(
        run(Language::Python, "x = bytearray(1 << 30)\n").exit,
        Exit::MemoryLimit
    );
    let js = "const keep = []; for (;;) keep.push(new Array(1e6).fill(7));";
    assert_eq!(run(Language::Javascript, js).exit, Exit::MemoryLimit);
}

#[test]
fn output_floods_are_capped() {
    let out = run(Language::Python, "while True:\n    print('x' * 1000)\n");
    assert!(out.output_limited, "{:?}", out.exit);
    assert!(out.stdout.len() <= Limits::default().output_bytes);
}

#[test]
fn deep_recursion_is_an_ordinary_error() {
    let out = run(Language::Python, "def f(n):\n    return f(n + 1)\nf(0)\n");
    assert_eq!(out.exit, Exit::Code(1), "{}", out.stderr);
    assert!(out.stderr.contains("RecursionError"), "{}", out.stderr);
}

#[test]
fn the_host_file_system_environment_network_and_threads_are_out_of_reach() {
    let probes = [
        "open('/etc/passwd').read()",
        "open('/work/../etc/passwd').read()",
        "open('../etc/passwd').read()",
        "open('/tmp/evil', 'w').write('x')",
        "import os; os.symlink('/etc/passwd', '/work/link'); open('/work/link').read()",
        "import socket; socket.create_connection(('127.0.0.1', 22), timeout=1)",
        "import threading; threading.Thread(target=print).start()",
        "import subprocess; subprocess.run(['ls'])",
    ];
    for probe in probes {
        let out = run(Language::Python, &format!("{probe}\nprint('ESCAPED')\n"));
        assert_ne!(out.exit, Exit::Code(0), "{probe} succeeded");
        assert!(
            !out.stdout.contains("ESCAPED") && !out.stdout.contains("root:"),
            "{probe}: {}",
            out.stdout
        );
    }
    let env = run(Language::Python, "import os\nprint(len(os.environ))\n");
    assert_eq!(
        env.stdout.trim(),
        "0",
        "no environment variables from the host"
    );
    let js = run(
        Language::Javascript,
        "print(std.loadFile('/etc/passwd'), std.getenv('HOME'));",
    );
    assert_eq!(js.stdout.trim(), "null undefined", "{}", js.stderr);
    // The private directory itself works.
    let own = run(
        Language::Python,
        "open('/work/notes.txt', 'w').write('mine')\nprint(open('/work/notes.txt').read())\n",
    );
    assert_eq!(own.stdout.trim(), "mine", "{}", own.stderr);
}

#[test]
fn exit_codes_of_126_and_above_are_ordinary_exits() {
    assert_eq!(
        run(Language::Python, "import sys\nsys.exit(200)\n").exit,
        Exit::Code(200)
    );
    assert_eq!(
        run(Language::Python, "import sys\nsys.exit(3)\n").exit,
        Exit::Code(3)
    );
}
