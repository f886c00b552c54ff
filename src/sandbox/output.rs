//! Reading a harness's output ([`parse`]) and comparing a returned value with the expected one ([`check`]).
//! Pure functions: the runner that produced the output is not known here.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::catalog::{Checker, ValueType};

/// What the harness said about one test.
#[derive(Debug, Clone, PartialEq)]
pub enum Report {
    /// The function returned; `json` is its value as text.
    Returned { micros: u64, json: String },
    /// The function raised an exception.
    Raised { micros: u64, message: String },
    /// The test started and the program stopped before it ended (crash, kill, time limit).
    Unfinished,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    pub reports: BTreeMap<usize, Report>,
    /// The harness could not start (for example the function is missing).
    pub fatal: Option<String>,
    /// The candidate's own output, protocol lines removed.
    pub stdout: String,
}

/// Splits a run's stdout into protocol lines (those containing `marker`) and the candidate's own output.
pub fn parse(stdout: &str, marker: &str) -> Parsed {
    let mut parsed = Parsed::default();
    for line in stdout.split_inclusive('\n') {
        let Some(at) = line.find(marker) else {
            parsed.stdout.push_str(line);
            continue;
        };
        // A candidate's print without a newline shares the line with the next protocol line.
        parsed.stdout.push_str(&line[..at]);
        let rest = line[at + marker.len()..].trim();
        let mut words = rest.splitn(4, ' ');
        let kind = words.next().unwrap_or("");
        if kind == "FATAL" {
            let msg = rest.trim_start_matches("FATAL").trim();
            parsed.fatal = Some(serde_json::from_str(msg).unwrap_or_else(|_| msg.to_string()));
            continue;
        }
        let Some(idx) = words.next().and_then(|w| w.parse::<usize>().ok()) else {
            continue;
        };
        let micros = words
            .next()
            .and_then(|w| w.parse::<u64>().ok())
            .unwrap_or(0);
        let payload = words.next().unwrap_or("").to_string();
        match kind {
            "START" => {
                parsed.reports.insert(idx, Report::Unfinished);
            }
            "RESULT" => {
                parsed.reports.insert(
                    idx,
                    Report::Returned {
                        micros,
                        json: payload,
                    },
                );
            }
            "ERROR" => {
                let message = serde_json::from_str(&payload).unwrap_or(payload);
                parsed
                    .reports
                    .insert(idx, Report::Raised { micros, message });
            }
            _ => {}
        }
    }
    parsed
}

/// Whether `actual` (JSON text from the harness) is a correct answer.
pub fn check(checker: Checker, returns: ValueType, expected: &Value, actual: &str) -> bool {
    let Ok(actual) = serde_json::from_str::<Value>(actual) else {
        return false;
    };
    let actual = normalize(actual, returns);
    let expected = normalize(expected.clone(), returns);
    match checker {
        Checker::Exact => actual == expected,
        Checker::Unordered => match (actual, expected) {
            (Value::Array(mut a), Value::Array(mut e)) => {
                let key = |v: &Value| serde_json::to_string(v).unwrap_or_default();
                a.sort_by_key(key);
                e.sort_by_key(key);
                a == e
            }
            _ => false,
        },
        Checker::Float => close(&actual, &expected),
        Checker::Whitespace => match (actual.as_str(), expected.as_str()) {
            (Some(a), Some(e)) => collapse(a) == collapse(e),
            _ => actual == expected,
        },
    }
}

/// Integral floats become integers where the type says integer (Python's `2.0` for an `int` is accepted).
fn normalize(v: Value, ty: ValueType) -> Value {
    fn int(v: Value) -> Value {
        match v.as_f64() {
            Some(f) if v.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => Value::from(f as i64),
            _ => v,
        }
    }
    match (ty, v) {
        (ValueType::Int | ValueType::Long, v) => int(v),
        (ValueType::IntArray, Value::Array(items)) => {
            Value::Array(items.into_iter().map(int).collect())
        }
        (ValueType::IntMatrix, Value::Array(rows)) => Value::Array(
            rows.into_iter()
                .map(|r| match r {
                    Value::Array(cells) => Value::Array(cells.into_iter().map(int).collect()),
                    other => other,
                })
                .collect(),
        ),
        (_, v) => v,
    }
}

fn close(a: &Value, e: &Value) -> bool {
    match (a, e) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            let diff = (x - y).abs();
            diff <= 1e-6 || diff <= 1e-6 * x.abs().max(y.abs())
        }
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| close(x, y))
        }
        _ => a == e,
    }
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn protocol_lines_are_separated_from_the_candidates_output() {
        let m = "@@m";
        let out = "hello\n@@m START 0\ndebug 1\npartial@@m RESULT 0 17 [0,1]\n@@m START 1\n@@m ERROR 1 5 \"ZeroDivisionError: division by zero\"\n@@m START 2\n";
        let p = parse(out, m);
        assert_eq!(p.stdout, "hello\ndebug 1\npartial");
        assert_eq!(
            p.reports[&0],
            Report::Returned {
                micros: 17,
                json: "[0,1]".into()
            }
        );
        assert_eq!(
            p.reports[&1],
            Report::Raised {
                micros: 5,
                message: "ZeroDivisionError: division by zero".into()
            }
        );
        assert_eq!(p.reports[&2], Report::Unfinished);
        assert_eq!(p.fatal, None);
    }

    #[test]
    fn a_missing_function_is_fatal() {
        let p = parse("@@m FATAL \"define a function named two_sum\"\n", "@@m");
        assert_eq!(p.fatal.as_deref(), Some("define a function named two_sum"));
    }

    #[test]
    fn exact_accepts_integral_floats_for_integer_types_only() {
        assert!(check(Checker::Exact, ValueType::Int, &json!(2), "2.0"));
        assert!(check(
            Checker::Exact,
            ValueType::IntArray,
            &json!([0, 1]),
            "[0,1.0]"
        ));
        assert!(!check(Checker::Exact, ValueType::Int, &json!(2), "2.5"));
        assert!(!check(
            Checker::Exact,
            ValueType::IntArray,
            &json!([0, 1]),
            "[1,0]"
        ));
        assert!(!check(
            Checker::Exact,
            ValueType::Str,
            &json!("a"),
            "not json"
        ));
    }

    #[test]
    fn unordered_compares_the_outer_level_as_a_multiset() {
        let e = json!([[1, 2], [3, 4]]);
        assert!(check(
            Checker::Unordered,
            ValueType::IntMatrix,
            &e,
            "[[3,4],[1,2]]"
        ));
        assert!(!check(
            Checker::Unordered,
            ValueType::IntMatrix,
            &e,
            "[[4,3],[1,2]]"
        ));
        assert!(!check(
            Checker::Unordered,
            ValueType::IntArray,
            &json!([1, 1, 2]),
            "[1,2,2]"
        ));
    }

    #[test]
    fn float_allows_a_millionth() {
        assert!(check(
            Checker::Float,
            ValueType::Double,
            &json!(2.5),
            "2.5000004"
        ));
        assert!(check(
            Checker::Float,
            ValueType::Double,
            &json!(1e9),
            "1000000400.0"
        ));
        assert!(!check(
            Checker::Float,
            ValueType::Double,
            &json!(2.5),
            "2.51"
        ));
        assert!(check(
            Checker::Float,
            ValueType::DoubleArray,
            &json!([1.0, 2.0]),
            "[1,2.0000001]"
        ));
    }

    #[test]
    fn whitespace_collapses_runs_and_trims() {
        assert!(check(
            Checker::Whitespace,
            ValueType::Str,
            &json!("a b c"),
            "\"  a \\n b\\tc \""
        ));
        assert!(!check(
            Checker::Whitespace,
            ValueType::Str,
            &json!("a b c"),
            "\"abc\""
        ));
    }
}
