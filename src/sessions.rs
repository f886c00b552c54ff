//! The interview lifecycle as a service, used by the API, the pages and the realtime actor alike: creating an
//! interview (the rounds chosen, the price charged in the same transaction), starting, completing and abandoning
//! it (the rules of [`crate::engine::lifecycle`], applied here and stored in one transaction with any refund),
//! deleting it, and finding a user's own. `db` stores and reads; this module decides. It knows no HTTP: errors are
//! values the caller words for its own page or response.

use rusqlite::TransactionBehavior;

use crate::{
    accounts::tokens,
    catalog::{Catalog, Role, Round},
    db::{
        Db, DbError,
        credits::{self, Reason},
        sessions::{self, NewSession, Session},
    },
    engine::lifecycle::{Illegal, Transition},
};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The interview does not exist, or is another user's.
    #[error("There is no such interview in your account.")]
    NotFound,
    #[error("There is no role `{role}` at `{company}`.")]
    UnknownRole { company: String, role: String },
    /// The rounds chosen are not a selection of the loop's rounds.
    #[error("{0}")]
    BadSelection(String),
    #[error("This interview costs {price} credits and you have {balance}.")]
    NotEnoughCredits { balance: i64, price: i64 },
    /// The lifecycle does not allow this from the interview's state.
    #[error("{}.", capitalise(&.0.to_string()))]
    Illegal(Illegal),
    /// Only finished interviews are scored.
    #[error("This interview is {0}; it is scored when it is over.")]
    NotOver(&'static str),
    #[error(transparent)]
    Db(#[from] DbError),
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

/// A question chosen for one of the loop's rounds, instead of one drawn from its pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// The round's position in the loop (from 0), as in the selection.
    pub round: usize,
    /// A question id from the pool of that round's kind.
    pub question: String,
}

/// Creates a PENDING interview for a role (the rounds `selection` names, or the whole loop, asking the questions
/// `pins` choose) and charges its price, or refuses when the balance is short. The transaction takes SQLite's write lock first (IMMEDIATE), so
/// concurrent creations cannot overdraw.
pub async fn create(
    db: &Db,
    catalog: &Catalog,
    user_id: i64,
    company_id: &str,
    role_id: &str,
    selection: Option<&[usize]>,
    pins: &[Pin],
) -> Result<Session, Error> {
    let (company, role) = catalog
        .role(company_id, role_id)
        .ok_or_else(|| Error::UnknownRole {
            company: company_id.to_string(),
            role: role_id.to_string(),
        })?;
    let new = NewSession {
        id: tokens::random_id(),
        user_id,
        company_id: company.id.clone(),
        role_id: role.id.clone(),
        price: i64::from(role.price),
        rounds: chosen_rounds(catalog, role, selection, pins)?,
        now: crate::clock::now_ms(),
    };
    db.call(move |c| {
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let balance = credits::balance(&tx, user_id)?;
        if balance < new.price {
            return Ok(Err(Error::NotEnoughCredits {
                balance,
                price: new.price,
            }));
        }
        sessions::insert(&tx, &new)?;
        if new.price > 0 {
            credits::insert(
                &tx,
                user_id,
                -new.price,
                Reason::Interview,
                Some(&new.id),
                Some(user_id),
                "",
                new.now,
            )?;
        }
        tx.commit()?;
        Ok(Ok(
            sessions::get(c, user_id, &new.id)?.expect("just created")
        ))
    })
    .await?
}

/// The rounds a candidate chose to practise, in loop order (the whole loop when they chose nothing in
/// particular), each asking the question pinned to it.
fn chosen_rounds(
    catalog: &Catalog,
    role: &Role,
    selection: Option<&[usize]>,
    pins: &[Pin],
) -> Result<Vec<Round>, Error> {
    let all: Vec<usize> = (0..role.rounds.len()).collect();
    let chosen = selected(role, selection.unwrap_or(&all))?;
    let mut rounds: Vec<Round> = chosen.iter().map(|&i| role.rounds[i].clone()).collect();
    for pin in pins {
        let Some(at) = chosen.iter().position(|&i| i == pin.round) else {
            return Err(Error::BadSelection(format!(
                "A question is chosen for round {}, which is not among the rounds to practise.",
                pin.round
            )));
        };
        let round = &mut rounds[at];
        if round.question.is_some() && round.question.as_deref() != Some(&pin.question) {
            return Err(Error::BadSelection(format!(
                "Round {} ({}) always asks its own question.",
                pin.round, round.title
            )));
        }
        if !catalog.has_question(round.kind, &pin.question) {
            return Err(Error::BadSelection(format!(
                "There is no {} question `{}` for round {} ({}).",
                round.kind.label().to_lowercase(),
                pin.question,
                pin.round,
                round.title
            )));
        }
        round.question = Some(pin.question.clone());
    }
    Ok(rounds)
}

/// The positions chosen, checked against the loop and sorted into its order.
fn selected(role: &Role, chosen: &[usize]) -> Result<Vec<usize>, Error> {
    if chosen.is_empty() {
        return Err(Error::BadSelection(
            "Choose at least one round to practise.".into(),
        ));
    }
    let mut sorted = chosen.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != chosen.len() {
        return Err(Error::BadSelection("Each round can be chosen once.".into()));
    }
    if let Some(i) = sorted.iter().find(|&&i| i >= role.rounds.len()) {
        return Err(Error::BadSelection(format!(
            "This loop has {} rounds; there is no round {i}.",
            role.rounds.len()
        )));
    }
    Ok(sorted)
}

/// What became of a transition asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Transitioned {
    Ok(Box<Session>),
    NotFound,
    Illegal(Illegal),
}

impl Transitioned {
    pub fn into_result(self) -> Result<Session, Error> {
        match self {
            Transitioned::Ok(s) => Ok(*s),
            Transitioned::NotFound => Err(Error::NotFound),
            Transitioned::Illegal(e) => Err(Error::Illegal(e)),
        }
    }
}

/// Applies a lifecycle transition to the user's interview and stores it, refunding in the same transaction when
/// the rules say so.
pub async fn transition(
    db: &Db,
    user_id: i64,
    id: &str,
    action: Transition,
) -> Result<Transitioned, DbError> {
    let id = id.to_string();
    let now = crate::clock::now_ms();
    db.call(move |c| {
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some(session) = sessions::get(&tx, user_id, &id)? else {
            return Ok(Transitioned::NotFound);
        };
        let outcome = match session.state.apply(action) {
            Ok(o) => o,
            Err(e) => return Ok(Transitioned::Illegal(e)),
        };
        let (started, ended) = match action {
            Transition::Start => (Some(now), None),
            Transition::Complete | Transition::Abandon => (None, Some(now)),
        };
        sessions::set_state(&tx, user_id, &id, outcome.to, now, started, ended)?;
        if outcome.refund && session.price > 0 {
            credits::insert(
                &tx,
                user_id,
                session.price,
                Reason::Refund,
                Some(&id),
                Some(user_id),
                "abandoned before it started",
                now,
            )?;
        }
        tx.commit()?;
        Ok(Transitioned::Ok(Box::new(
            sessions::get(c, user_id, &id)?.expect("still there"),
        )))
    })
    .await
}

/// The user's interview; other users' interviews do not exist for them.
pub async fn owned(db: &Db, user_id: i64, id: &str) -> Result<Session, Error> {
    let id = id.to_string();
    db.call(move |c| sessions::get(c, user_id, &id))
        .await?
        .ok_or(Error::NotFound)
}

/// The user's interview, if it is over (only finished interviews are scored).
pub async fn finished(db: &Db, user_id: i64, id: &str) -> Result<Session, Error> {
    let s = owned(db, user_id, id).await?;
    if !s.state.is_final() {
        return Err(Error::NotOver(s.state.label()));
    }
    Ok(s)
}

/// Deletes the user's interview and everything recorded in it; the ledger keeps its entries without the link.
pub async fn delete(db: &Db, user_id: i64, id: &str) -> Result<(), Error> {
    let id = id.to_string();
    if db.call(move |c| sessions::delete(c, user_id, &id)).await? {
        Ok(())
    } else {
        Err(Error::NotFound)
    }
}
