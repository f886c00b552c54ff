//! Whole-catalog checks that the TOML parser cannot make: slugs, uniqueness, references between files, and coding
//! problems whose tests fit their signatures. Every error names the file, the entry and the field.

use std::collections::HashSet;

use super::model::{Catalog, Checker, Company, Problem, Role};

#[derive(Debug, Clone, PartialEq)]
pub struct SeedError {
    pub file: String,
    pub entry: String,
    pub field: String,
    pub reason: String,
}

impl SeedError {
    pub fn file(file: &str, reason: impl std::fmt::Display) -> SeedError {
        SeedError {
            file: file.into(),
            entry: String::new(),
            field: String::new(),
            reason: reason.to_string(),
        }
    }

    pub fn at(file: &str, entry: &str, field: &str, reason: impl std::fmt::Display) -> SeedError {
        SeedError {
            file: file.into(),
            entry: entry.into(),
            field: field.into(),
            reason: reason.to_string(),
        }
    }
}

impl std::fmt::Display for SeedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "seeds/{}", self.file)?;
        if !self.entry.is_empty() {
            write!(f, ": entry `{}`", self.entry)?;
        }
        if !self.field.is_empty() {
            write!(f, ", field `{}`", self.field)?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Every problem found in a catalog, one per line.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedErrors(pub Vec<SeedError>);

impl std::fmt::Display for SeedErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "the interview catalog has {} problem(s):", self.0.len())?;
        for e in &self.0 {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SeedErrors {}

impl From<SeedError> for SeedErrors {
    fn from(e: SeedError) -> Self {
        SeedErrors(vec![e])
    }
}

/// Paths under `/interview-prep/` that are pages, not companies.
pub const RESERVED_COMPANY_IDS: [&str; 2] = ["history", "session"];

pub fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

fn is_snake_identifier(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !s.contains("__")
        && !s.ends_with('_')
}

/// Appends every problem in `catalog` to `errors`.
pub fn validate(catalog: &Catalog, errors: &mut Vec<SeedError>) {
    let known: HashSet<&str> = catalog.competencies.iter().map(|c| c.id.as_str()).collect();
    check_ids(
        errors,
        "competencies.toml",
        catalog.competencies.iter().map(|c| c.id.as_str()),
    );
    check_ids(
        errors,
        "questions/behavioral.toml",
        catalog.behavioral.iter().map(|q| q.id.as_str()),
    );
    check_ids(
        errors,
        "questions/system_design.toml",
        catalog.design.iter().map(|q| q.id.as_str()),
    );

    for c in &catalog.competencies {
        require_text(
            errors,
            "competencies.toml",
            &c.id,
            &[("name", &c.name), ("description", &c.description)],
        );
    }
    validate_behavioral(errors, catalog, &known);
    validate_design(errors, catalog);
    for c in &catalog.companies {
        validate_company(errors, &known, c);
        check_pinned_questions(errors, catalog, c);
    }
    for p in &catalog.problems {
        validate_problem(errors, p);
    }
}

/// The ids of one file's entries: each a slug, none used twice.
fn check_ids<'a>(errors: &mut Vec<SeedError>, file: &str, ids: impl Iterator<Item = &'a str>) {
    let mut seen = HashSet::new();
    for id in ids {
        if !is_slug(id) {
            errors.push(SeedError::at(
                file,
                id,
                "id",
                "must be a lowercase slug like `two-sum`",
            ));
        }
        if !seen.insert(id.to_string()) {
            errors.push(SeedError::at(file, id, "id", "is used twice"));
        }
    }
}

/// Each behavioral question has its text, at least one known competency and at least one follow-up.
fn validate_behavioral(errors: &mut Vec<SeedError>, catalog: &Catalog, known: &HashSet<&str>) {
    for q in &catalog.behavioral {
        let file = "questions/behavioral.toml";
        require_text(errors, file, &q.id, &[("text", &q.text)]);
        if q.competencies.is_empty() {
            errors.push(SeedError::at(
                file,
                &q.id,
                "competencies",
                "needs at least one competency",
            ));
        }
        check_competencies(errors, known, file, &q.id, "competencies", &q.competencies);
        if q.follow_ups.is_empty() {
            errors.push(SeedError::at(
                file,
                &q.id,
                "follow_ups",
                "needs at least one follow-up",
            ));
        }
    }
}

/// Each system design problem has its title and prompt, and at least five points a strong answer covers.
fn validate_design(errors: &mut Vec<SeedError>, catalog: &Catalog) {
    for p in &catalog.design {
        let file = "questions/system_design.toml";
        require_text(
            errors,
            file,
            &p.id,
            &[("title", &p.title), ("prompt", &p.prompt)],
        );
        if p.strong_answer.len() < 5 {
            errors.push(SeedError::at(
                file,
                &p.id,
                "strong_answer",
                "needs at least five points",
            ));
        }
    }
}

/// A round that always asks one question must name one of its kind's pool.
fn check_pinned_questions(errors: &mut Vec<SeedError>, catalog: &Catalog, c: &Company) {
    let file = format!("companies/{}.toml", c.id);
    for role in &c.roles {
        for (i, round) in role.rounds.iter().enumerate() {
            if let Some(q) = &round.question
                && !catalog.has_question(round.kind, q)
            {
                errors.push(SeedError::at(
                    &file,
                    &format!("roles.{}.rounds[{i}]", role.id),
                    "question",
                    format!(
                        "`{q}` is not a question of the {} pool",
                        round.kind.as_str()
                    ),
                ));
            }
        }
    }
}

fn require_text(errors: &mut Vec<SeedError>, file: &str, entry: &str, fields: &[(&str, &str)]) {
    for (name, value) in fields {
        if value.trim().is_empty() {
            errors.push(SeedError::at(file, entry, name, "must not be empty"));
        }
    }
}

fn check_competencies(
    errors: &mut Vec<SeedError>,
    known: &HashSet<&str>,
    file: &str,
    entry: &str,
    field: &str,
    ids: &[String],
) {
    for id in ids {
        if !known.contains(id.as_str()) {
            errors.push(SeedError::at(
                file,
                entry,
                field,
                format!("`{id}` is not defined in competencies.toml"),
            ));
        }
    }
}

fn validate_company(errors: &mut Vec<SeedError>, known: &HashSet<&str>, c: &Company) {
    let file = format!("companies/{}.toml", c.id);
    let file = file.as_str();
    if !is_slug(&c.id) {
        errors.push(SeedError::at(
            file,
            &c.id,
            "id",
            "must be a lowercase slug like `amazon`",
        ));
    }
    require_text(
        errors,
        file,
        &c.id,
        &[
            ("name", &c.name),
            ("tagline", &c.tagline),
            ("description", &c.description),
            ("persona.name", &c.persona.name),
            ("persona.title", &c.persona.title),
            ("persona.tone", &c.persona.tone),
            ("persona.opening", &c.persona.opening),
        ],
    );
    let color_ok = c.brand_color.len() == 7
        && c.brand_color.starts_with('#')
        && c.brand_color[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if !color_ok {
        errors.push(SeedError::at(
            file,
            &c.id,
            "brand_color",
            "must be a colour like `#1A73E8`",
        ));
    }
    check_competencies(errors, known, file, &c.id, "values", &c.values);
    if c.persona.probes.is_empty() {
        errors.push(SeedError::at(
            file,
            &c.id,
            "persona.probes",
            "needs at least one thing the interviewer probes",
        ));
    }
    if c.roles.len() < 2 {
        errors.push(SeedError::at(
            file,
            &c.id,
            "roles",
            "a company needs at least two roles",
        ));
    }
    let mut role_ids = HashSet::new();
    for role in &c.roles {
        let first = role_ids.insert(role.id.as_str());
        validate_role(errors, known, file, role, first);
    }
}

/// `first`: no earlier role of the company has this role's id.
fn validate_role(
    errors: &mut Vec<SeedError>,
    known: &HashSet<&str>,
    file: &str,
    role: &Role,
    first: bool,
) {
    let entry = format!("roles.{}", role.id);
    if !is_slug(&role.id) {
        errors.push(SeedError::at(
            file,
            &entry,
            "id",
            "must be a lowercase slug like `sde-ii`",
        ));
    }
    if !first {
        errors.push(SeedError::at(
            file,
            &entry,
            "id",
            "is used twice in this company",
        ));
    }
    require_text(
        errors,
        file,
        &entry,
        &[
            ("title", &role.title),
            ("level", &role.level),
            ("summary", &role.summary),
        ],
    );
    if role.price > 100 {
        errors.push(SeedError::at(
            file,
            &entry,
            "price",
            "must be at most 100 credits",
        ));
    }
    if role.rounds.len() < 2 {
        errors.push(SeedError::at(
            file,
            &entry,
            "rounds",
            "a role needs at least two rounds",
        ));
    }
    for (i, round) in role.rounds.iter().enumerate() {
        let entry = format!("roles.{}.rounds[{i}]", role.id);
        require_text(
            errors,
            file,
            &entry,
            &[("title", &round.title), ("description", &round.description)],
        );
        if !(5..=240).contains(&round.minutes) {
            errors.push(SeedError::at(
                file,
                &entry,
                "minutes",
                "must be between 5 and 240",
            ));
        }
        // A coding or design round may still name values to probe; its question comes from its own pool.
        check_competencies(errors, known, file, &entry, "focus", &round.focus);
    }
}

fn validate_problem(errors: &mut Vec<SeedError>, p: &Problem) {
    let file = format!("problems/{}.toml", p.id);
    let file = file.as_str();
    let id = p.id.as_str();
    require_text(
        errors,
        file,
        id,
        &[
            ("title", &p.title),
            ("statement", &p.statement),
            ("optimal", &p.optimal),
            ("solutions.python", &p.solutions.python),
            ("solutions.javascript", &p.solutions.javascript),
            ("solutions.c", &p.solutions.c),
        ],
    );
    if !is_snake_identifier(&p.function) {
        errors.push(SeedError::at(
            file,
            id,
            "function",
            "must be a snake_case identifier like `two_sum`",
        ));
    }
    check_params(errors, file, p);
    check_checker_and_counts(errors, file, p);
    check_cases(errors, file, p);
}

/// The parameters: snake_case names, none twice, at least one.
fn check_params(errors: &mut Vec<SeedError>, file: &str, p: &Problem) {
    let id = p.id.as_str();
    let mut names = HashSet::new();
    for param in &p.params {
        if !is_snake_identifier(&param.name) {
            errors.push(SeedError::at(
                file,
                id,
                "params",
                format!("`{}` must be a snake_case identifier", param.name),
            ));
        }
        if !names.insert(param.name.as_str()) {
            errors.push(SeedError::at(
                file,
                id,
                "params",
                format!("`{}` is used twice", param.name),
            ));
        }
    }
    if p.params.is_empty() {
        errors.push(SeedError::at(
            file,
            id,
            "params",
            "needs at least one parameter",
        ));
    }
}

/// The checker fits the return type; enough hints, samples and hidden tests.
fn check_checker_and_counts(errors: &mut Vec<SeedError>, file: &str, p: &Problem) {
    let id = p.id.as_str();
    if p.returns.has_double() != (p.checker == Checker::Float) {
        errors.push(SeedError::at(
            file,
            id,
            "checker",
            "must be `float` exactly when the return type has a double",
        ));
    }
    if p.checker == Checker::Unordered && !p.returns.is_array() {
        errors.push(SeedError::at(
            file,
            id,
            "checker",
            "`unordered` needs an array return type",
        ));
    }
    if p.hints.is_empty() {
        errors.push(SeedError::at(file, id, "hints", "needs at least one hint"));
    }
    if p.samples.len() < 3 {
        errors.push(SeedError::at(
            file,
            id,
            "samples",
            "needs at least three samples",
        ));
    }
    if p.tests.len() < 8 {
        errors.push(SeedError::at(
            file,
            id,
            "tests",
            "needs at least eight hidden tests",
        ));
    }
}

/// Every sample and hidden test: one argument per parameter, each of its type, and an expected value of the
/// return type.
fn check_cases(errors: &mut Vec<SeedError>, file: &str, p: &Problem) {
    let id = p.id.as_str();
    for (field, cases) in [("samples", &p.samples), ("tests", &p.tests)] {
        for (i, case) in cases.iter().enumerate() {
            let field = format!("{field}[{i}]");
            if case.args.len() != p.params.len() {
                errors.push(SeedError::at(
                    file,
                    id,
                    &field,
                    format!(
                        "has {} args but the function takes {}",
                        case.args.len(),
                        p.params.len()
                    ),
                ));
                continue;
            }
            for (arg, param) in case.args.iter().zip(&p.params) {
                if let Err(e) = param.ty.check(arg) {
                    errors.push(SeedError::at(
                        file,
                        id,
                        &format!("{field}.args.{}", param.name),
                        e,
                    ));
                }
            }
            if let Err(e) = p.returns.check(&case.expected) {
                errors.push(SeedError::at(file, id, &format!("{field}.expected"), e));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::model::RoundKind;

    #[test]
    fn slugs_are_lowercase_words_joined_by_single_hyphens() {
        for ok in ["amazon", "sde-ii", "l5", "two-sum-2"] {
            assert!(is_slug(ok), "{ok}");
        }
        for bad in ["", "Amazon", "sde_ii", "-a", "a-", "a--b", "a b"] {
            assert!(!is_slug(bad), "{bad}");
        }
    }

    #[test]
    fn a_round_may_pin_a_question_of_its_own_pool_only() {
        let mut catalog = crate::catalog::load(&crate::catalog::SeedSource::Embedded)
            .unwrap()
            .catalog;
        let (c, r) = catalog
            .companies
            .iter()
            .enumerate()
            .find_map(|(c, co)| {
                co.roles[0]
                    .rounds
                    .iter()
                    .position(|r| r.kind == RoundKind::Coding)
                    .map(|r| (c, r))
            })
            .unwrap();
        catalog.companies[c].roles[0].rounds[r].question = Some("coin-change".into());
        let mut errors = Vec::new();
        validate(&catalog, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        catalog.companies[c].roles[0].rounds[r].question = Some("payment-ledger".into());
        validate(&catalog, &mut errors);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].to_string().contains(
                "field `question`: `payment-ledger` is not a question of the coding pool"
            ),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn an_error_names_file_entry_and_field() {
        let e = SeedError::at(
            "companies/amazon.toml",
            "roles.sde-ii.rounds[2]",
            "minutes",
            "must be between 5 and 240",
        );
        assert_eq!(
            e.to_string(),
            "seeds/companies/amazon.toml: entry `roles.sde-ii.rounds[2]`, field `minutes`: must be between 5 and 240"
        );
    }
}
