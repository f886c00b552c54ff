//! Checking a judge model's reply: it must be JSON, name known dimensions, give levels on the 1-5 scale (or null
//! for "not enough evidence"), cite evidence that exists (sentence and code-run ids, or quotes found verbatim in
//! what the candidate said), and give no reason that rests on accent, looks, confidence or nervousness. Every
//! problem is named so the judge can be asked again.

use serde_json::Value;

use super::{
    judge::{Evidence, Judgment, Outcome, Source},
    material::{Citable, Material, fold},
    rubric::{Rubric, banned_word},
};

/// The reply's judgments that passed, and a message per problem found.
#[derive(Debug, Default)]
pub struct Checked {
    pub valid: Vec<Judgment>,
    pub problems: Vec<String>,
    /// Dimensions whose only fault was citing no evidence for a level.
    pub uncited: Vec<String>,
}

/// The first JSON object in `text` (models wrap it in prose or code fences).
pub fn json_object(text: &str) -> Result<serde_json::Map<String, Value>, String> {
    let start = text.find('{').ok_or("the reply contains no JSON object")?;
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in text[start..].char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    let slice = &text[start..start + i + 1];
                    return match serde_json::from_str::<Value>(slice) {
                        Ok(Value::Object(map)) => Ok(map),
                        Ok(_) => Err("the reply is not a JSON object".into()),
                        Err(e) => Err(format!("the reply is not valid JSON: {e}")),
                    };
                }
            }
            _ => {}
        }
    }
    Err("the reply's JSON object is not closed".into())
}

/// Checks the reply for the dimensions in `wanted` (ids of `rubric`).
pub fn check(reply: &str, rubric: &Rubric, round: &Material, wanted: &[String]) -> Checked {
    let mut out = Checked::default();
    let map = match json_object(reply) {
        Ok(map) => map,
        Err(e) => {
            out.problems.push(e);
            return out;
        }
    };
    // Some models nest the dimensions under one key.
    let map = match map.get("scores").or_else(|| map.get("dimensions")) {
        Some(Value::Object(inner)) => inner.clone(),
        _ => map,
    };
    let sentences = round.candidate_sentences();
    let code = round.code_results();
    let said = round.folded_answers();
    for id in wanted {
        let Some(dimension) = rubric.dimensions.iter().find(|d| &d.id == id) else {
            continue;
        };
        match check_one(map.get(id), &sentences, &code, &said) {
            Ok(j) => out.valid.push(Judgment {
                dimension: dimension.id.clone(),
                ..j
            }),
            Err(Problem::Uncited) => {
                out.uncited.push(id.clone());
                out.problems.push(format!(
                    "{id}: a level needs evidence: cite sentence ids such as \"S2\""
                ));
            }
            Err(Problem::Other(p)) => out.problems.push(format!("{id}: {p}")),
        }
    }
    out
}

enum Problem {
    Uncited,
    Other(String),
}

/// Checks one dimension's value: its shape, its reason, its level, then its evidence.
fn check_one(
    value: Option<&Value>,
    sentences: &[Citable],
    code: &[Citable],
    said: &str,
) -> Result<Judgment, Problem> {
    let value = value.ok_or_else(|| Problem::Other("missing".into()))?;
    let (level, evidence, reason) = fields(value)?;
    if let Some(word) = banned_word(&reason) {
        return Err(Problem::Other(format!(
            "the reason mentions \"{word}\"; judge only what the candidate said and did"
        )));
    }
    let level = parse_level(&level)?;
    let mut cited = cite_all(&evidence, sentences, code, said)?;
    cited.dedup();
    match level {
        None => Ok(Judgment {
            dimension: String::new(),
            outcome: Outcome::NotEnoughEvidence,
            evidence: Vec::new(),
            reason,
        }),
        Some(_) if cited.is_empty() => Err(Problem::Uncited),
        Some(level) => Ok(Judgment {
            dimension: String::new(),
            outcome: Outcome::Level { level },
            evidence: cited,
            reason,
        }),
    }
}

/// Splits one dimension's value into its level, evidence and trimmed reason.
fn fields(value: &Value) -> Result<(Value, Value, String), Problem> {
    // A bare number is accepted as the level with no evidence (and refused later for that).
    match value {
        Value::Object(o) => Ok((
            o.get("level").cloned().unwrap_or(Value::Null),
            o.get("evidence").cloned().unwrap_or(Value::Array(vec![])),
            o.get("reason")
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim()
                .to_string(),
        )),
        Value::Number(_) | Value::Null => Ok((value.clone(), Value::Array(vec![]), String::new())),
        _ => Err(Problem::Other(format!("expected an object, got {value}"))),
    }
}

/// Reads the level: null for "not enough evidence", else a whole number from 1 to 5 (as a number or a string).
fn parse_level(level: &Value) -> Result<Option<u8>, Problem> {
    let other = |s: String| Problem::Other(s);
    match level {
        Value::Null => Ok(None),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && (1.0..=5.0).contains(&f) => Ok(Some(f as u8)),
            _ => Err(other(format!(
                "level {n} is not a whole number from 1 to 5"
            ))),
        },
        Value::String(s) => match s.trim().parse::<u8>() {
            Ok(l) if (1..=5).contains(&l) => Ok(Some(l)),
            _ => Err(other(format!(
                "level \"{s}\" is not a whole number from 1 to 5"
            ))),
        },
        v => Err(other(format!(
            "level {v} is not a whole number from 1 to 5"
        ))),
    }
}

/// Resolves every evidence item (a list, one string or null) to what it cites, refusing the first bad one.
fn cite_all(
    evidence: &Value,
    sentences: &[Citable],
    code: &[Citable],
    said: &str,
) -> Result<Vec<Evidence>, Problem> {
    let items: Vec<&Value> = match evidence {
        Value::Array(a) => a.iter().collect(),
        Value::String(_) => vec![evidence],
        Value::Null => vec![],
        v => return Err(Problem::Other(format!("evidence {v} is not a list"))),
    };
    let mut cited = Vec::new();
    for item in items {
        if let Some(e) = cite_one(item, sentences, code, said)? {
            cited.push(e);
        }
    }
    Ok(cited)
}

/// Resolves one evidence item: a sentence or code-run id, or a quote of three words or more found in what the
/// candidate said; `None` for an empty item.
fn cite_one(
    item: &Value,
    sentences: &[Citable],
    code: &[Citable],
    said: &str,
) -> Result<Option<Evidence>, Problem> {
    let other = |s: String| Problem::Other(s);
    let Some(s) = item.as_str() else {
        return Err(other(format!("evidence item {item} is not a string")));
    };
    let s = s.trim().trim_matches('"');
    if s.is_empty() {
        return Ok(None);
    }
    let id = s
        .trim_start_matches(['[', '('])
        .trim_end_matches([']', ')'])
        .to_uppercase();
    if let Some(c) = sentences.iter().find(|c| c.id == id) {
        Ok(Some(Evidence {
            source: Source::Candidate,
            quote: c.text.clone(),
        }))
    } else if let Some(c) = code.iter().find(|c| c.id == id) {
        Ok(Some(Evidence {
            source: Source::Code,
            quote: c.text.clone(),
        }))
    } else if id.len() <= 4
        && id.starts_with(['S', 'C'])
        && id[1..].chars().all(|c| c.is_ascii_digit())
    {
        Err(other(format!("cites {id}, which does not exist")))
    } else if fold(s).split(' ').count() >= 3 && said.contains(&fold(s)) {
        Ok(Some(Evidence {
            source: Source::Candidate,
            quote: s.to_string(),
        }))
    } else {
        Err(other(format!(
            "the quote \"{s}\" is not in what the candidate said"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        catalog::RoundKind,
        scoring::{
            material::{CodeRun, Exchange},
            rubric,
        },
    };

    fn round() -> Material {
        Material {
            kind: Some(RoundKind::Behavioral),
            held: true,
            exchanges: vec![Exchange {
                question: "Tell me about a time you missed a deadline.".into(),
                answers: vec![
                    "I owned the billing migration. I moved 40 services in six weeks. We cut costs by 30 percent."
                        .into(),
                ],
            }],
            code: vec![CodeRun {
                mode: "submit".into(),
                language: "python".into(),
                verdict: "accepted".into(),
                passed: 8,
                total: 8,
            }],
            ..Material::default()
        }
    }

    fn ids(rubric: &Rubric) -> Vec<String> {
        rubric.dimensions.iter().map(|d| d.id.clone()).collect()
    }

    #[test]
    fn a_good_reply_resolves_ids_and_verbatim_quotes() {
        let r = rubric::for_kind(RoundKind::Behavioral);
        let reply = r#"Here you go: ```json
        {"situation_task": {"level": 3, "evidence": ["S1"], "reason": "names the project"},
         "action_ownership": {"level": "4", "evidence": ["S2", "c1"]},
         "result_impact": {"level": 4, "evidence": ["we cut costs by 30 percent"]},
         "reflection": {"level": null, "evidence": []},
         "communication": {"level": 3, "evidence": "S1"}} ```"#;
        let c = check(reply, r, &round(), &ids(r));
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert_eq!(c.valid.len(), 5);
        assert_eq!(
            c.valid[0].evidence[0].quote,
            "I owned the billing migration."
        );
        assert_eq!(c.valid[1].evidence[1].source, Source::Code);
        assert_eq!(c.valid[3].outcome, Outcome::NotEnoughEvidence);
    }

    #[test]
    fn every_kind_of_bad_reply_is_named() {
        let r = rubric::for_kind(RoundKind::Behavioral);
        let m = round();
        let problems = |reply: &str| {
            check(reply, r, &m, &["situation_task".to_string()])
                .problems
                .join("; ")
        };
        assert!(problems("no json here").contains("no JSON"));
        assert!(problems("{\"situation_task\": {\"level\": 3,").contains("not closed"));
        assert!(
            problems("{\"situation_task\": {\"level\": 3 \"evidence\": []}}")
                .contains("not valid JSON")
        );
        assert!(problems("{}").contains("missing"));
        assert!(
            problems(r#"{"situation_task": {"level": 7, "evidence": ["S1"]}}"#)
                .contains("from 1 to 5")
        );
        assert!(
            problems(r#"{"situation_task": {"level": 2.5, "evidence": ["S1"]}}"#)
                .contains("from 1 to 5")
        );
        assert!(
            problems(r#"{"situation_task": {"level": 3, "evidence": ["S9"]}}"#)
                .contains("does not exist")
        );
        assert!(
            problems(r#"{"situation_task": {"level": 3, "evidence": ["I single-handedly saved the company"]}}"#)
                .contains("not in what the candidate said")
        );
        assert!(
            problems(r#"{"situation_task": {"level": 3, "evidence": []}}"#)
                .contains("needs evidence")
        );
        assert!(
            problems(r#"{"situation_task": {"level": 2, "evidence": ["S1"], "reason": "seemed nervous"}}"#)
                .contains("nervous")
        );
        let c = check(
            r#"{"situation_task": 4}"#,
            r,
            &m,
            &["situation_task".to_string()],
        );
        assert_eq!(c.uncited, vec!["situation_task"]);
    }
}
