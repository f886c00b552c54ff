//! The shipped catalog: it validates, it holds what the product promises, seeding is idempotent, and a bad seed
//! file is reported by file, entry and field without touching the database.

use std::{collections::HashMap, path::Path};

use rehearse::{
    app::import_catalog,
    catalog::{self, RoundKind, SeedSource},
    db::{Db, catalog::ImportOutcome},
};

fn shipped() -> catalog::Catalog {
    match catalog::load(&SeedSource::Embedded) {
        Ok(l) => l.catalog,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn the_shipped_catalog_holds_what_the_product_promises() {
    let c = shipped();
    assert!(c.companies.len() >= 8, "{} companies", c.companies.len());
    for id in [
        "google",
        "meta",
        "amazon",
        "apple",
        "microsoft",
        "netflix",
        "stripe",
    ] {
        assert!(c.company(id).is_some(), "missing company {id}");
    }
    for company in &c.companies {
        assert!(
            company.roles.len() >= 2,
            "{} has {} roles",
            company.id,
            company.roles.len()
        );
    }
    assert!(
        c.behavioral.len() >= 60,
        "{} behavioral questions",
        c.behavioral.len()
    );
    assert!(
        c.design.len() >= 15,
        "{} system design prompts",
        c.design.len()
    );
    assert!(
        c.problems.len() >= 25,
        "{} coding problems",
        c.problems.len()
    );
    for p in &c.problems {
        assert!(
            p.samples.len() >= 3 && p.tests.len() >= 8,
            "{}: too few tests",
            p.id
        );
        // A hint is said aloud after "Here's a hint:"; a spoken turn is at most 60 words.
        for h in &p.hints {
            let words = h.split_whitespace().count();
            assert!(words <= 55, "{}: a hint of {words} words: {h}", p.id);
        }
    }
    // A follow-up is said as the interviewer's one question: it asks, rather than tells ("Give me a situation.").
    let follow_ups = c
        .behavioral
        .iter()
        .flat_map(|q| q.follow_ups.iter().map(move |f| (&q.id, f)))
        .chain(
            c.design
                .iter()
                .flat_map(|q| q.follow_ups.iter().map(move |f| (&q.id, f))),
        );
    for (id, f) in follow_ups {
        assert!(
            f.trim_end().ends_with('?'),
            "{id}: a follow-up that asks nothing: {f}"
        );
    }
}

#[test]
fn every_amazon_leadership_principle_has_questions() {
    let c = shipped();
    let amazon = c.company("amazon").unwrap();
    assert_eq!(
        amazon.values.len(),
        16,
        "Amazon states sixteen Leadership Principles"
    );
    let mut per: HashMap<&str, usize> = HashMap::new();
    for q in &c.behavioral {
        for comp in &q.competencies {
            *per.entry(comp.as_str()).or_default() += 1;
        }
    }
    for lp in &amazon.values {
        assert!(
            per.get(lp.as_str()).copied().unwrap_or(0) >= 1,
            "no question probes {lp}"
        );
    }
}

#[test]
fn the_real_loops_are_there() {
    let c = shipped();
    let amazon = c.company("amazon").unwrap();
    assert!(
        amazon
            .roles
            .iter()
            .all(|r| r.rounds.iter().any(|x| x.bar_raiser)),
        "every Amazon loop has a Bar Raiser"
    );
    let google = c.company("google").unwrap();
    assert!(
        google
            .roles
            .iter()
            .all(|r| r.rounds.iter().any(|x| x.title.contains("Googleyness"))),
        "every Google loop has a Googleyness round"
    );
    let meta = c.company("meta").unwrap();
    let titles: Vec<&str> = meta
        .roles
        .iter()
        .flat_map(|r| r.rounds.iter().map(|x| x.title.as_str()))
        .collect();
    for name in ["Ninja", "Pirate", "Jedi"] {
        assert!(
            titles.iter().any(|t| t.contains(name)),
            "Meta has a {name} round"
        );
    }
    let kinds: std::collections::HashSet<RoundKind> = c
        .companies
        .iter()
        .flat_map(|x| &x.roles)
        .flat_map(|r| r.rounds.iter().map(|x| x.kind))
        .collect();
    assert_eq!(
        kinds.len(),
        RoundKind::ALL.len(),
        "every round kind is used"
    );
}

async fn open(dir: &Path) -> Db {
    let path = dir.join("rehearse.db");
    tokio::task::spawn_blocking(move || Db::open(&path))
        .await
        .unwrap()
        .unwrap()
}

async fn count(db: &Db, table: &'static str) -> i64 {
    db.call(move |c| Ok(c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?))
        .await
        .unwrap()
}

#[tokio::test]
async fn seeding_twice_changes_nothing_the_second_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path()).await;
    let first = import_catalog(&db, &SeedSource::Embedded).await.unwrap();
    assert!(matches!(first, ImportOutcome::Imported { companies, .. } if companies >= 8));
    let changes_before: i64 = db
        .call(|c| Ok(c.query_row("SELECT total_changes()", [], |r| r.get(0))?))
        .await
        .unwrap();
    let second = import_catalog(&db, &SeedSource::Embedded).await.unwrap();
    assert_eq!(second, ImportOutcome::Unchanged);
    let changes_after: i64 = db
        .call(|c| Ok(c.query_row("SELECT total_changes()", [], |r| r.get(0))?))
        .await
        .unwrap();
    assert_eq!(
        changes_before, changes_after,
        "the second import wrote rows"
    );
    // What was imported reads back as what was seeded.
    let loaded = db.call(|c| rehearse::db::catalog::load(c)).await.unwrap();
    let mut expected = shipped();
    expected.competencies.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(loaded.competencies, expected.competencies);
    assert_eq!(loaded.companies, expected.companies);
    assert_eq!(loaded.behavioral, expected.behavioral);
    assert_eq!(loaded.design, expected.design);
    for (l, e) in loaded.problems.iter().zip(&expected.problems) {
        assert_eq!(l, e, "problem {} reads back differently", e.id);
    }
    assert_eq!(loaded.problems.len(), expected.problems.len());
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[tokio::test]
async fn a_bad_seed_file_names_file_entry_and_field_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let seeds = dir.path().join("seeds");
    copy_dir(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("seeds")
            .as_path(),
        &seeds,
    );
    let db = open(dir.path()).await;
    import_catalog(&db, &SeedSource::Dir(seeds.clone()))
        .await
        .unwrap();
    let rounds_before = count(&db, "rounds").await;

    // A round with zero minutes, and a behavioral question tagged with an unknown competency.
    let amazon = seeds.join("companies/amazon.toml");
    let text = std::fs::read_to_string(&amazon).unwrap();
    let broken = text.replacen("minutes = 30", "minutes = 0", 1);
    assert_ne!(
        text, broken,
        "the Amazon seed has a 30-minute round to break"
    );
    std::fs::write(&amazon, broken).unwrap();
    let err = import_catalog(&db, &SeedSource::Dir(seeds.clone()))
        .await
        .unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("seeds/companies/amazon.toml"), "{msg}");
    assert!(msg.contains("rounds["), "{msg}");
    assert!(msg.contains("field `minutes`"), "{msg}");
    assert_eq!(count(&db, "rounds").await, rounds_before);

    // A syntax error names the file and the line.
    std::fs::write(&amazon, "id = \"amazon\"\nname = \n").unwrap();
    let msg = format!(
        "{:#}",
        import_catalog(&db, &SeedSource::Dir(seeds.clone()))
            .await
            .unwrap_err()
    );
    assert!(
        msg.contains("seeds/companies/amazon.toml") && msg.contains("line 2"),
        "{msg}"
    );

    // A missing required field names the field.
    std::fs::write(&amazon, text.replacen("tagline = ", "slogan = ", 1)).unwrap();
    let msg = format!(
        "{:#}",
        import_catalog(&db, &SeedSource::Dir(seeds))
            .await
            .unwrap_err()
    );
    assert!(msg.contains("slogan"), "{msg}");
    assert_eq!(count(&db, "rounds").await, rounds_before);
}
