//! The OpenAPI schemas of the domain types the API serves as they are (a report, a round of the catalog, a session's
//! state, a user's role). OpenAPI is the web layer's concern, so the domain types carry no annotation: each is
//! described here by a documentation-only twin, and `ToSchema` for the domain type hands out the twin's schema
//! under the domain type's name. A unit test reads the field and variant names serde really uses from every domain
//! type and fails when a twin drifts from it.

// The twins describe; they are never built (serde's derive is there for its attributes, which utoipa reads).
#![allow(dead_code)]

use std::borrow::Cow;

use serde::Deserialize;
use utoipa::openapi::{RefOr, schema::Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::{accounts, catalog, engine::lifecycle, scoring::report};

/// `ToSchema` for a domain type, from its twin.
macro_rules! described_by {
    ($($domain:ty => $twin:ty),* $(,)?) => {$(
        impl PartialSchema for $domain {
            fn schema() -> RefOr<Schema> {
                <$twin as PartialSchema>::schema()
            }
        }
        impl ToSchema for $domain {
            fn name() -> Cow<'static, str> {
                <$twin as ToSchema>::name()
            }
            fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
                <$twin as ToSchema>::schemas(schemas)
            }
        }
    )*};
}

described_by! {
    catalog::RoundKind => RoundKind,
    catalog::Persona => Persona,
    catalog::Round => Round,
    lifecycle::SessionState => SessionState,
    accounts::UserRole => UserRole,
    report::Recommendation => Recommendation,
    report::ReportStatus => ReportStatus,
    report::RoundStatus => RoundStatus,
    report::DimensionScore => DimensionScore,
    report::QuestionOutcome => QuestionOutcome,
    report::CodeOutcome => CodeOutcome,
    report::RoundReport => RoundReport,
    report::Report => Report,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = RoundKind)]
#[serde(rename_all = "snake_case")]
enum RoundKind {
    RecruiterScreen,
    Behavioral,
    HiringManager,
    Coding,
    SystemDesign,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = Persona)]
#[serde(deny_unknown_fields)]
struct Persona {
    name: String,
    title: String,
    tone: String,
    probes: Vec<String>,
    opening: String,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = Round)]
#[serde(deny_unknown_fields)]
struct Round {
    kind: catalog::RoundKind,
    title: String,
    minutes: u32,
    description: String,
    #[serde(default)]
    focus: Vec<String>,
    #[serde(default)]
    bar_raiser: bool,
    /// The question this round asks (an id from the pool of its kind: a coding problem, a design prompt or a
    /// behavioral question); drawn from the pool when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    question: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = SessionState)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum SessionState {
    Pending,
    InProgress,
    Completed,
    Abandoned,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = UserRole)]
#[serde(rename_all = "lowercase")]
enum UserRole {
    Candidate,
    Instructor,
    Admin,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = Recommendation)]
#[serde(rename_all = "snake_case")]
enum Recommendation {
    NoHire,
    LeanNoHire,
    LeanHire,
    Hire,
    StrongHire,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = ReportStatus)]
#[serde(rename_all = "snake_case")]
enum ReportStatus {
    /// Every round that was held is scored.
    Complete,
    /// At least one round could not be scored; re-score to complete it.
    Incomplete,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = RoundStatus)]
#[serde(rename_all = "snake_case")]
enum RoundStatus {
    Scored,
    /// The judge failed on some dimension; no score rather than a wrong one.
    Incomplete,
    /// The round was skipped or never reached, with no answer given: not scored.
    NotHeld,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = DimensionScore)]
struct DimensionScore {
    id: String,
    name: String,
    weight: f64,
    /// `level` (1-5), `not_enough_evidence` or `unjudged`.
    #[schema(value_type = Object)]
    outcome: (),
    /// The anchor text of the level given.
    anchor: String,
    #[schema(value_type = Vec<Object>)]
    evidence: (),
    reason: String,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = QuestionOutcome)]
struct QuestionOutcome {
    question: String,
    /// Whether the candidate gave a substantive answer (not silence, "I don't know" or a one-liner).
    answered: bool,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = CodeOutcome)]
struct CodeOutcome {
    mode: String,
    language: String,
    verdict: String,
    passed: i64,
    total: i64,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = RoundReport)]
struct RoundReport {
    position: i64,
    kind: catalog::RoundKind,
    title: String,
    status: report::RoundStatus,
    /// Weighted mean of the dimension levels, 1-5; absent unless scored.
    score: Option<f64>,
    summary: String,
    dimensions: Vec<report::DimensionScore>,
    strengths: Vec<String>,
    improvements: Vec<String>,
    /// What an interviewer expects a strong answer to this round's questions to cover.
    strong_answer: Vec<String>,
    questions: Vec<report::QuestionOutcome>,
    code: Vec<report::CodeOutcome>,
    hints: u32,
    minutes_used: f64,
    minutes: u32,
    /// The company values this round's questions probed.
    values: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = Report)]
struct Report {
    version: u32,
    /// The stored report's id (several reports per interview when it is re-scored).
    id: i64,
    session_id: String,
    company: String,
    role: String,
    /// Who judged: `rules` or `llm:<backend>`.
    judge: String,
    status: report::ReportStatus,
    /// Absent while the report is incomplete or no round was held.
    recommendation: Option<report::Recommendation>,
    overall: Option<f64>,
    /// How the recommendation follows from the scores, written by code.
    rationale: String,
    rounds: Vec<report::RoundReport>,
    /// Unix milliseconds.
    created_at: i64,
    /// How long scoring took.
    scoring_ms: u64,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde::de::{self, Deserialize, Deserializer, Visitor};

    use super::*;

    /// A deserializer that fails at once, having noted the field names a struct asked for or the variant names an
    /// enum did: exactly the names serde reads and writes, after every rename.
    struct Names<'a>(&'a mut Vec<&'static str>);

    impl<'de> Deserializer<'de> for Names<'_> {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("neither a struct nor an enum"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0.extend_from_slice(fields);
            Err(de::Error::custom("noted"))
        }

        fn deserialize_enum<V: Visitor<'de>>(
            self,
            _: &'static str,
            variants: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0.extend_from_slice(variants);
            Err(de::Error::custom("noted"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
            unit_struct newtype_struct seq tuple tuple_struct map identifier ignored_any
        }
    }

    fn serde_names<T: for<'de> Deserialize<'de>>() -> BTreeSet<String> {
        let mut names = Vec::new();
        let _ = T::deserialize(Names(&mut names));
        names.into_iter().map(String::from).collect()
    }

    /// The property names of an object schema, or the values of a string enum.
    fn schema_names<T: ToSchema>() -> BTreeSet<String> {
        let json = serde_json::to_value(T::schema()).expect("a schema serialises");
        if let Some(props) = json.get("properties").and_then(|p| p.as_object()) {
            return props.keys().cloned().collect();
        }
        let values = json
            .get("enum")
            .and_then(|e| e.as_array())
            .expect("an object or an enum");
        values
            .iter()
            .map(|v| v.as_str().expect("a string").to_string())
            .collect()
    }

    fn agree<T: ToSchema + for<'de> Deserialize<'de>>() {
        let (serde, schema) = (serde_names::<T>(), schema_names::<T>());
        assert!(!serde.is_empty(), "{}: serde named nothing", T::name());
        assert_eq!(
            serde,
            schema,
            "{}: the OpenAPI twin differs from the type",
            T::name()
        );
    }

    #[test]
    fn every_twin_names_what_serde_reads_and_writes() {
        agree::<catalog::RoundKind>();
        agree::<catalog::Persona>();
        agree::<catalog::Round>();
        agree::<lifecycle::SessionState>();
        agree::<accounts::UserRole>();
        agree::<report::Recommendation>();
        agree::<report::ReportStatus>();
        agree::<report::RoundStatus>();
        agree::<report::DimensionScore>();
        agree::<report::QuestionOutcome>();
        agree::<report::CodeOutcome>();
        agree::<report::RoundReport>();
        agree::<report::Report>();
    }

    #[test]
    fn the_check_sees_a_missing_field() {
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct Wider {
            a: u8,
            b: u8,
        }
        #[derive(ToSchema)]
        #[allow(dead_code)]
        struct Narrower {
            a: u8,
        }
        assert_ne!(serde_names::<Wider>(), schema_names::<Narrower>());
        assert_eq!(serde_names::<Wider>().len(), 2);
    }

    #[test]
    fn a_domain_type_is_named_as_before() {
        assert_eq!(report::Report::name(), "Report");
        assert_eq!(catalog::RoundKind::name(), "RoundKind");
    }
}
