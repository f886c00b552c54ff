//! The catalog's tables: import a validated [`Catalog`] in one transaction, and read the active catalog back.
//! An import whose fingerprint equals the stored one changes nothing. Entries that disappear from the seeds are
//! deactivated rather than deleted, because past interviews still refer to them.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Serialize, de::DeserializeOwned};

use super::{DbError, now_ms};
use crate::catalog::{
    BehavioralQuestion, Catalog, Company, Competency, DesignPrompt, Difficulty, Persona, Problem,
    Role, Round, RoundKind, Solutions, TestCase,
};

const FINGERPRINT_KEY: &str = "catalog_fingerprint";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    /// The stored catalog already came from identical files.
    Unchanged,
    Imported {
        companies: usize,
        roles: usize,
        behavioral: usize,
        design: usize,
        problems: usize,
    },
}

pub fn fingerprint(conn: &Connection) -> Result<Option<String>, DbError> {
    Ok(conn
        .query_row(
            "SELECT value FROM meta WHERE key = ?1",
            [FINGERPRINT_KEY],
            |r| r.get(0),
        )
        .optional()?)
}

pub fn import(
    conn: &mut Connection,
    catalog: &Catalog,
    fp: &str,
) -> Result<ImportOutcome, DbError> {
    let tx = conn.transaction()?;
    if fingerprint(&tx)?.as_deref() == Some(fp) {
        return Ok(ImportOutcome::Unchanged);
    }
    for table in [
        "companies",
        "roles",
        "behavioral_questions",
        "design_prompts",
        "problems",
    ] {
        tx.execute(&format!("UPDATE {table} SET active = 0"), [])?;
    }
    import_competencies(&tx, &catalog.competencies)?;
    let mut roles = 0;
    for (pos, c) in catalog.companies.iter().enumerate() {
        import_company(&tx, pos, c)?;
        roles += c.roles.len();
    }
    for (pos, q) in catalog.behavioral.iter().enumerate() {
        import_behavioral(&tx, pos, q)?;
    }
    for (pos, p) in catalog.design.iter().enumerate() {
        tx.execute(
            "INSERT INTO design_prompts (id, title, prompt, difficulty, strong_answer_json, follow_ups_json, position, active)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1)
             ON CONFLICT (id) DO UPDATE SET title = ?2, prompt = ?3, difficulty = ?4, strong_answer_json = ?5,
               follow_ups_json = ?6, position = ?7, active = 1",
            params![p.id, p.title, p.prompt, p.difficulty.as_str(), json(&p.strong_answer), json(&p.follow_ups), pos as i64],
        )?;
    }
    for (pos, p) in catalog.problems.iter().enumerate() {
        import_problem(&tx, pos, p)?;
    }
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2",
        [FINGERPRINT_KEY, fp],
    )?;
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('catalog_imported_at', ?1) ON CONFLICT (key) DO UPDATE SET value = ?1",
        [now_ms().to_string()],
    )?;
    tx.commit()?;
    Ok(ImportOutcome::Imported {
        companies: catalog.companies.len(),
        roles,
        behavioral: catalog.behavioral.len(),
        design: catalog.design.len(),
        problems: catalog.problems.len(),
    })
}

fn json<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).expect("catalog values serialise")
}

fn from_json<T: DeserializeOwned>(s: &str) -> Result<T, DbError> {
    serde_json::from_str(s).map_err(|e| DbError::Corrupt(format!("catalog JSON column: {e}")))
}

fn import_competencies(tx: &Transaction, items: &[Competency]) -> Result<(), DbError> {
    for c in items {
        tx.execute(
            "INSERT INTO competencies (id, name, description) VALUES (?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET name = ?2, description = ?3",
            params![c.id, c.name, c.description],
        )?;
    }
    Ok(())
}

fn import_company(tx: &Transaction, pos: usize, c: &Company) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO companies (id, name, tagline, description, brand_color, values_json, persona_json, position, active)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1)
         ON CONFLICT (id) DO UPDATE SET name = ?2, tagline = ?3, description = ?4, brand_color = ?5,
           values_json = ?6, persona_json = ?7, position = ?8, active = 1",
        params![c.id, c.name, c.tagline, c.description, c.brand_color, json(&c.values), json(&c.persona), pos as i64],
    )?;
    for (rpos, r) in c.roles.iter().enumerate() {
        tx.execute(
            "INSERT INTO roles (company_id, id, title, level, summary, difficulty, price, position, active)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1)
             ON CONFLICT (company_id, id) DO UPDATE SET title = ?3, level = ?4, summary = ?5, difficulty = ?6,
               price = ?7, position = ?8, active = 1",
            params![c.id, r.id, r.title, r.level, r.summary, r.difficulty.as_str(), r.price, rpos as i64],
        )?;
        tx.execute(
            "DELETE FROM rounds WHERE company_id = ?1 AND role_id = ?2",
            params![c.id, r.id],
        )?;
        for (i, round) in r.rounds.iter().enumerate() {
            tx.execute(
                "INSERT INTO rounds (company_id, role_id, position, kind, title, minutes, description, focus_json, bar_raiser, question)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    c.id,
                    r.id,
                    i as i64,
                    round.kind.as_str(),
                    round.title,
                    round.minutes,
                    round.description,
                    json(&round.focus),
                    round.bar_raiser,
                    round.question
                ],
            )?;
        }
    }
    Ok(())
}

fn import_behavioral(tx: &Transaction, pos: usize, q: &BehavioralQuestion) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO behavioral_questions (id, text, difficulty, follow_ups_json, signals_json, position, active)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1)
         ON CONFLICT (id) DO UPDATE SET text = ?2, difficulty = ?3, follow_ups_json = ?4, signals_json = ?5,
           position = ?6, active = 1",
        params![q.id, q.text, q.difficulty.as_str(), json(&q.follow_ups), json(&q.signals), pos as i64],
    )?;
    tx.execute(
        "DELETE FROM question_competencies WHERE question_id = ?1",
        [&q.id],
    )?;
    for (i, c) in q.competencies.iter().enumerate() {
        tx.execute(
            "INSERT INTO question_competencies (question_id, competency_id, position) VALUES (?1, ?2, ?3)",
            params![q.id, c, i as i64],
        )?;
    }
    Ok(())
}

fn import_problem(tx: &Transaction, pos: usize, p: &Problem) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO problems (id, title, difficulty, topics_json, statement, function_name, params_json, returns,
           checker, hints_json, optimal, solutions_json, position, active)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 1)
         ON CONFLICT (id) DO UPDATE SET title = ?2, difficulty = ?3, topics_json = ?4, statement = ?5,
           function_name = ?6, params_json = ?7, returns = ?8, checker = ?9, hints_json = ?10, optimal = ?11,
           solutions_json = ?12, position = ?13, active = 1",
        params![
            p.id,
            p.title,
            p.difficulty.as_str(),
            json(&p.topics),
            p.statement,
            p.function,
            json(&p.params),
            json(&p.returns),
            p.checker.as_str(),
            json(&p.hints),
            p.optimal,
            json(&p.solutions),
            pos as i64
        ],
    )?;
    tx.execute("DELETE FROM problem_tests WHERE problem_id = ?1", [&p.id])?;
    for (hidden, cases) in [(false, &p.samples), (true, &p.tests)] {
        for (i, t) in cases.iter().enumerate() {
            tx.execute(
                "INSERT INTO problem_tests (problem_id, hidden, position, args_json, expected_json, explanation)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![p.id, hidden, i as i64, json(&t.args), json(&t.expected), t.explanation],
            )?;
        }
    }
    Ok(())
}

fn difficulty(s: String) -> Result<Difficulty, DbError> {
    Difficulty::parse(&s).ok_or_else(|| DbError::Corrupt(format!("difficulty `{s}`")))
}

/// Reads the active catalog, in seed order.
pub fn load(conn: &Connection) -> Result<Catalog, DbError> {
    let ids: Vec<String> = conn
        .prepare("SELECT id FROM problems WHERE active = 1 ORDER BY position")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut problems = Vec::with_capacity(ids.len());
    for id in ids {
        problems.push(load_problem(conn, &id)?.expect("listed problem exists"));
    }
    Ok(Catalog {
        competencies: load_competencies(conn)?,
        companies: load_companies(conn)?,
        behavioral: load_behavioral(conn)?,
        design: load_design(conn)?,
        problems,
    })
}

fn load_competencies(conn: &Connection) -> Result<Vec<Competency>, DbError> {
    let mut stmt = conn.prepare("SELECT id, name, description FROM competencies ORDER BY id")?;
    let competencies = stmt
        .query_map([], |r| {
            Ok(Competency {
                id: r.get(0)?,
                name: r.get(1)?,
                description: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(competencies)
}

fn load_companies(conn: &Connection) -> Result<Vec<Company>, DbError> {
    let mut companies = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT id, name, tagline, description, brand_color, values_json, persona_json
         FROM companies WHERE active = 1 ORDER BY position",
    )?;
    let rows: Vec<(String, String, String, String, String, String, String)> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    for (id, name, tagline, description, brand_color, values, persona) in rows {
        let roles = load_roles(conn, &id)?;
        let persona: Persona = from_json(&persona)?;
        companies.push(Company {
            id,
            name,
            tagline,
            description,
            brand_color,
            values: from_json(&values)?,
            persona,
            roles,
        });
    }

    Ok(companies)
}

fn load_behavioral(conn: &Connection) -> Result<Vec<BehavioralQuestion>, DbError> {
    let mut behavioral = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT id, text, difficulty, follow_ups_json, signals_json FROM behavioral_questions
         WHERE active = 1 ORDER BY position",
    )?;
    let rows: Vec<(String, String, String, String, String)> = stmt
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut comp_stmt = conn.prepare(
        "SELECT competency_id FROM question_competencies WHERE question_id = ?1 ORDER BY position",
    )?;
    for (id, text, diff, follow_ups, signals) in rows {
        let competencies = comp_stmt
            .query_map([&id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        behavioral.push(BehavioralQuestion {
            id,
            text,
            competencies,
            difficulty: difficulty(diff)?,
            follow_ups: from_json(&follow_ups)?,
            signals: from_json(&signals)?,
        });
    }

    Ok(behavioral)
}

fn load_design(conn: &Connection) -> Result<Vec<DesignPrompt>, DbError> {
    let mut design = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT id, title, prompt, difficulty, strong_answer_json, follow_ups_json FROM design_prompts
         WHERE active = 1 ORDER BY position",
    )?;
    let rows: Vec<(String, String, String, String, String, String)> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    for (id, title, prompt, diff, strong, follow_ups) in rows {
        design.push(DesignPrompt {
            id,
            title,
            prompt,
            difficulty: difficulty(diff)?,
            strong_answer: from_json(&strong)?,
            follow_ups: from_json(&follow_ups)?,
        });
    }

    Ok(design)
}

fn load_roles(conn: &Connection, company_id: &str) -> Result<Vec<Role>, DbError> {
    let mut stmt = conn.prepare(
        "SELECT id, title, level, summary, difficulty, price FROM roles
         WHERE company_id = ?1 AND active = 1 ORDER BY position",
    )?;
    let rows: Vec<(String, String, String, String, String, u32)> = stmt
        .query_map([company_id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    let mut round_stmt = conn.prepare(
        "SELECT kind, title, minutes, description, focus_json, bar_raiser, question FROM rounds
         WHERE company_id = ?1 AND role_id = ?2 ORDER BY position",
    )?;
    let mut roles = Vec::new();
    for (id, title, level, summary, diff, price) in rows {
        type Raw = (String, String, u32, String, String, bool, Option<String>);
        let raw: Vec<Raw> = round_stmt
            .query_map([company_id, id.as_str()], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })?
            .collect::<Result<_, _>>()?;
        let rounds = raw
            .into_iter()
            .map(
                |(kind, title, minutes, description, focus, bar_raiser, question)| {
                    Ok(Round {
                        kind: RoundKind::parse(&kind)
                            .ok_or_else(|| DbError::Corrupt(format!("round kind `{kind}`")))?,
                        title,
                        minutes,
                        description,
                        focus: from_json(&focus)?,
                        bar_raiser,
                        question,
                    })
                },
            )
            .collect::<Result<_, DbError>>()?;
        roles.push(Role {
            id,
            title,
            level,
            summary,
            difficulty: difficulty(diff)?,
            price,
            rounds,
        });
    }
    Ok(roles)
}

/// One problem with its samples and hidden tests, active or not (past interviews may refer to a retired one).
pub fn load_problem(conn: &Connection, id: &str) -> Result<Option<Problem>, DbError> {
    let row = conn
        .query_row(
            "SELECT title, difficulty, topics_json, statement, function_name, params_json, returns, checker,
               hints_json, optimal, solutions_json FROM problems WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, String>(8)?,
                    r.get::<_, String>(9)?,
                    r.get::<_, String>(10)?,
                ))
            },
        )
        .optional()?;
    let Some((
        title,
        diff,
        topics,
        statement,
        function,
        params,
        returns,
        checker,
        hints,
        optimal,
        solutions,
    )) = row
    else {
        return Ok(None);
    };
    let mut stmt = conn.prepare(
        "SELECT args_json, expected_json, explanation FROM problem_tests
         WHERE problem_id = ?1 AND hidden = ?2 ORDER BY position",
    )?;
    let mut cases = |hidden: bool| -> Result<Vec<TestCase>, DbError> {
        let rows: Vec<(String, String, String)> = stmt
            .query_map(params![id, hidden], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        rows.into_iter()
            .map(|(args, expected, explanation)| {
                Ok(TestCase {
                    args: from_json(&args)?,
                    expected: from_json(&expected)?,
                    explanation,
                })
            })
            .collect()
    };
    let samples = cases(false)?;
    let tests = cases(true)?;
    let solutions: Solutions = from_json(&solutions)?;
    Ok(Some(Problem {
        id: id.to_string(),
        title,
        difficulty: difficulty(diff)?,
        topics: from_json(&topics)?,
        statement,
        function,
        params: from_json(&params)?,
        returns: from_json(&returns)?,
        checker: from_json(&format!("\"{checker}\""))?,
        hints: from_json(&hints)?,
        optimal,
        samples,
        tests,
        solutions,
    }))
}
