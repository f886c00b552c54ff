//! The rubrics a judge scores against, one per round type, read from `rubrics.toml` (data compiled into the
//! binary). Every dimension has five anchored levels, from strong no hire (1) to strong hire (5).

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::catalog::RoundKind;

const RUBRICS: &str = include_str!("rubrics.toml");

/// The five levels' names, level 1 first.
pub const LEVEL_NAMES: [&str; 5] = ["Strong no hire", "No hire", "Mixed", "Hire", "Strong hire"];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Dimension {
    pub id: String,
    pub name: String,
    pub weight: f64,
    /// What the dimension judges.
    pub what: String,
    /// Five anchors, level 1 first.
    pub levels: Vec<String>,
    /// What a strong answer includes, as advice.
    pub strong: String,
    /// Words whose presence marks a sentence as evidence (the rule-based judge).
    pub keywords: Vec<String>,
}

impl Dimension {
    /// The anchor of `level` (1..=5) without its leading label.
    pub fn anchor(&self, level: u8) -> &str {
        let text = &self.levels[usize::from(level.clamp(1, 5)) - 1];
        text.split_once(": ")
            .map_or(text.as_str(), |(_, rest)| rest)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rubric {
    pub kinds: Vec<RoundKind>,
    pub title: String,
    #[serde(rename = "dimension")]
    pub dimensions: Vec<Dimension>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    rubric: Vec<Rubric>,
}

/// Words a judgment must never rest on: how someone sounds or looks is not evidence of how they work.
pub const BANNED: &[&str] = &[
    "accent",
    "appearance",
    "confident",
    "confidence",
    "nervous",
    "anxious",
    "shy",
    "stutter",
    "attractive",
    "tone of voice",
    "well spoken",
    "native speaker",
    "english is",
    "age",
    "gender",
];

/// Parses and checks a rubrics file: every round kind covered exactly once, five levels per dimension in order,
/// unique ids, sensible weights, no banned words in the anchors.
pub fn parse(text: &str) -> Result<Vec<Rubric>, String> {
    let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
    for kind in RoundKind::ALL {
        let n = file
            .rubric
            .iter()
            .filter(|r| r.kinds.contains(&kind))
            .count();
        if n != 1 {
            return Err(format!(
                "round kind {} is in {n} rubrics, not one",
                kind.as_str()
            ));
        }
    }
    for r in &file.rubric {
        if r.dimensions.is_empty() {
            return Err(format!("rubric {} has no dimensions", r.title));
        }
        for (i, d) in r.dimensions.iter().enumerate() {
            let at = format!("rubric {}, dimension {}", r.title, d.id);
            if r.dimensions[..i].iter().any(|e| e.id == d.id) {
                return Err(format!("{at}: the id is used twice"));
            }
            if !(0.1..=5.0).contains(&d.weight) {
                return Err(format!("{at}: weight {} is outside 0.1..5", d.weight));
            }
            if d.levels.len() != 5 {
                return Err(format!("{at}: {} levels, not 5", d.levels.len()));
            }
            for (level, name) in d.levels.iter().zip(LEVEL_NAMES) {
                if !level.starts_with(&format!("{name}: ")) {
                    return Err(format!(
                        "{at}: the level \"{level}\" does not start with \"{name}: \""
                    ));
                }
                if let Some(word) = banned_word(level) {
                    return Err(format!("{at}: the level \"{level}\" judges {word}"));
                }
            }
            if d.keywords.is_empty() {
                return Err(format!("{at}: no keywords"));
            }
        }
    }
    Ok(file.rubric)
}

/// The first banned word in `text`, matched on word boundaries.
pub fn banned_word(text: &str) -> Option<&'static str> {
    let lower = format!(
        " {} ",
        text.to_lowercase()
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { ' ' })
            .collect::<String>()
    );
    BANNED
        .iter()
        .copied()
        .find(|w| lower.contains(&format!(" {w} ")))
}

static BUILTIN: LazyLock<Vec<Rubric>> =
    LazyLock::new(|| parse(RUBRICS).unwrap_or_else(|e| panic!("src/scoring/rubrics.toml: {e}")));

/// The rubric for a round kind.
pub fn for_kind(kind: RoundKind) -> &'static Rubric {
    BUILTIN
        .iter()
        .find(|r| r.kinds.contains(&kind))
        .expect("every kind has a rubric (checked by parse)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_rubrics_are_valid_and_cover_every_round_kind() {
        let rubrics = parse(RUBRICS).unwrap();
        assert!(rubrics.len() >= 4);
        for kind in RoundKind::ALL {
            assert!(!for_kind(kind).dimensions.is_empty());
        }
        let behavioral = for_kind(RoundKind::Behavioral);
        for id in [
            "situation_task",
            "action_ownership",
            "result_impact",
            "reflection",
        ] {
            assert!(behavioral.dimensions.iter().any(|d| d.id == id), "{id}");
        }
        let d = &behavioral.dimensions[0];
        assert!(!d.anchor(1).starts_with("Strong no hire"));
    }

    #[test]
    fn bad_rubrics_are_refused_with_a_reason() {
        let missing_kind = "[[rubric]]\nkinds = [\"coding\"]\ntitle = \"C\"\n[[rubric.dimension]]\nid = \"x\"\nname = \"X\"\nweight = 1.0\nwhat = \"w\"\nlevels = [\"Strong no hire: a\", \"No hire: b\", \"Mixed: c\", \"Hire: d\", \"Strong hire: e\"]\nstrong = \"s\"\nkeywords = [\"k\"]\n";
        assert!(
            parse(missing_kind)
                .unwrap_err()
                .contains("recruiter_screen")
        );
        let all = RoundKind::ALL
            .map(|k| format!("\"{}\"", k.as_str()))
            .join(", ");
        let ok = missing_kind.replace("[\"coding\"]", &format!("[{all}]"));
        assert!(parse(&ok).is_ok());
        assert!(
            parse(&ok.replace("Mixed: c", "Hire: c"))
                .unwrap_err()
                .contains("does not start")
        );
        assert!(
            parse(&ok.replace("No hire: b", "No hire: sounded nervous"))
                .unwrap_err()
                .contains("nervous")
        );
        assert!(
            parse(&ok.replace("weight = 1.0", "weight = 9.0"))
                .unwrap_err()
                .contains("weight")
        );
    }

    #[test]
    fn banned_words_match_whole_words_only() {
        assert_eq!(banned_word("Strong accent, hard to follow"), Some("accent"));
        assert_eq!(banned_word("She seemed nervous."), Some("nervous"));
        assert_eq!(banned_word("managed the storage layer"), None);
        assert_eq!(banned_word("cut page load by 40%"), None);
    }
}
