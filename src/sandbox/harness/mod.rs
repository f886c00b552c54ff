//! Programs that call a candidate's function on each test and report the results on stdout.
//!
//! The generated program embeds the tests' arguments (no stdin, so a candidate's own reads see nothing) and, for
//! each test, prints protocol lines that start with a per-run random marker:
//! `MARK START i`, then `MARK RESULT i MICROS JSON` or `MARK ERROR i MICROS "message"`, and `MARK FATAL "message"`
//! when the function does not exist. Anything else on stdout is the candidate's own output. A crash leaves a
//! START without its RESULT; the grader then regenerates a program for the remaining tests.

mod c;
mod javascript;
mod python;

use serde_json::Value;

use super::Language;
use crate::catalog::{Param, Problem, ValueType};

/// What a harness needs: the signature and the tests to run, as (index, args).
#[derive(Debug, Clone)]
pub struct Spec<'a> {
    pub function: &'a str,
    pub params: &'a [Param],
    pub returns: ValueType,
    pub tests: Vec<(usize, &'a [Value])>,
    pub marker: String,
}

impl<'a> Spec<'a> {
    pub fn new(problem: &'a Problem, tests: Vec<(usize, &'a [Value])>, marker: String) -> Spec<'a> {
        Spec {
            function: &problem.function,
            params: &problem.params,
            returns: problem.returns,
            tests,
            marker,
        }
    }
}

/// A program for `language`: the candidate's `source` with the harness around it. For C this is one translation
/// unit to compile; for Python and JavaScript a script to run.
pub fn program(language: Language, spec: &Spec, source: &str) -> String {
    match language {
        Language::Python => python::program(spec, source),
        Language::Javascript => javascript::program(spec, source),
        Language::C => c::program(spec, source),
    }
}

/// The empty function a candidate starts from.
pub fn starter(language: Language, problem: &Problem) -> String {
    match language {
        Language::Python => python::starter(problem),
        Language::Javascript => javascript::starter(problem),
        Language::C => c::starter(problem),
    }
}

/// A fresh random marker: a candidate cannot predict it, so their output is never taken for a result.
pub fn new_marker() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::from("@@rehearse-");
    for _ in 0..2 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        );
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

/// `two_sum` -> `twoSum`: the JavaScript and C spelling of a seed's snake_case name.
pub fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for ch in snake.chars() {
        if ch == '_' {
            upper = true;
        } else if upper {
            out.extend(ch.to_uppercase());
            upper = false;
        } else {
            out.push(ch);
        }
    }
    out
}

/// The tests as a JSON array of `[index, args]`, for the scripting languages.
fn tests_json(spec: &Spec) -> String {
    let tests: Vec<(usize, &[Value])> = spec.tests.clone();
    serde_json::to_string(&tests).expect("test arguments serialise")
}

/// A JSON string literal, which is also a valid Python and JavaScript string literal.
fn string_literal(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_joins_words() {
        assert_eq!(camel("two_sum"), "twoSum");
        assert_eq!(camel("lru_cache"), "lruCache");
        assert_eq!(camel("nums"), "nums");
        assert_eq!(camel("num_courses"), "numCourses");
    }

    #[test]
    fn markers_differ_between_runs() {
        assert_ne!(new_marker(), new_marker());
    }
}
