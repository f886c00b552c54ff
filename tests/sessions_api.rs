//! The interview session API: who may do what (the authorization matrix), no overdraft under concurrency,
//! every lifecycle transition, deletion, the realtime token and the OpenAPI document.

use axum::http::{Method, StatusCode};
use rehearse::{
    accounts::{UserRole, service},
    db,
    engine::lifecycle::Transition,
    sessions,
};
use serde_json::json;

use crate::util::{Client, PASSWORD, TestApp, app};

const AMAZON: &str = r#"{"company_id": "amazon", "role_id": "sde-ii"}"#;

async fn create(c: &Client) -> String {
    let r = c
        .send(
            Method::POST,
            "/api/v1/sessions",
            Some(serde_json::from_str(AMAZON).unwrap()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.json()["id"].as_str().unwrap().to_string()
}

struct Cast {
    anonymous: Client,
    owner: Client,
    other: Client,
    instructor: Client,
    admin: Client,
}

async fn cast(t: &TestApp) -> Cast {
    let admin = Client::signup(&t.router, "admin@example.com").await;
    let owner = Client::signup(&t.router, "owner@example.com").await;
    let other = Client::signup(&t.router, "other@example.com").await;
    service::add_user(
        t.state.db(),
        "teach@example.com",
        "Teach",
        PASSWORD,
        UserRole::Instructor,
        10,
    )
    .await
    .unwrap();
    let instructor = Client::new(&t.router).await;
    let r = instructor
        .send(
            Method::POST,
            "/api/v1/auth/login",
            Some(json!({"email": "teach@example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // The owner pays for a fresh interview per request in the matrix.
    t.state
        .db()
        .call(|c| rehearse::db::credits::grant(c, "owner@example.com", 500, None, "", 0))
        .await
        .unwrap();
    Cast {
        anonymous: Client::new(&t.router).await,
        owner,
        other,
        instructor,
        admin,
    }
}

#[tokio::test]
async fn the_authorization_matrix_holds_for_every_route() {
    let t = app().await;
    let cast = cast(&t).await;
    let who = [
        ("anonymous", &cast.anonymous),
        ("owner", &cast.owner),
        ("other", &cast.other),
        ("instructor", &cast.instructor),
        ("admin", &cast.admin),
    ];
    // For each route: expected status for anonymous, owner, other candidate, instructor, admin.
    // {s} is a fresh session of the owner's for every request, so no row depends on another.
    let grant = r#"{"email": "owner@example.com", "amount": 1}"#;
    let password = r#"{"current_password": "wrong password", "new_password": "another password"}"#;
    let rows: &[(Method, &str, Option<&str>, [u16; 5])] = &[
        (
            Method::GET,
            "/api/v1/companies",
            None,
            [200, 200, 200, 200, 200],
        ),
        (
            Method::GET,
            "/api/v1/companies/amazon/roles/sde-ii",
            None,
            [200, 200, 200, 200, 200],
        ),
        (Method::GET, "/api/v1/me", None, [401, 200, 200, 200, 200]),
        (
            Method::GET,
            "/api/v1/me/credits",
            None,
            [401, 200, 200, 200, 200],
        ),
        (
            Method::POST,
            "/api/v1/me/password",
            Some(password),
            [401, 403, 403, 403, 403],
        ),
        (
            Method::GET,
            "/api/v1/sessions",
            None,
            [401, 200, 200, 200, 200],
        ),
        (
            Method::POST,
            "/api/v1/sessions",
            Some(AMAZON),
            [401, 201, 201, 201, 201],
        ),
        (
            Method::GET,
            "/api/v1/sessions/{s}",
            None,
            [401, 200, 404, 404, 404],
        ),
        (
            Method::PATCH,
            "/api/v1/sessions/{s}",
            Some(r#"{"action": "abandon"}"#),
            [401, 200, 404, 404, 404],
        ),
        (
            Method::DELETE,
            "/api/v1/sessions/{s}",
            None,
            [401, 204, 404, 404, 404],
        ),
        (
            Method::POST,
            "/api/v1/sessions/{s}/realtime-token",
            None,
            [401, 200, 404, 404, 404],
        ),
        (
            Method::GET,
            "/api/v1/sessions/{s}/transcript",
            None,
            [401, 200, 404, 404, 404],
        ),
        (
            Method::GET,
            "/api/v1/sessions/{s}/report",
            None,
            [401, 409, 404, 404, 404],
        ),
        (
            Method::POST,
            "/api/v1/sessions/{s}/report",
            None,
            [401, 409, 404, 404, 404],
        ),
        (
            Method::GET,
            "/interview-prep/session/{s}/results",
            None,
            [303, 303, 404, 404, 404],
        ),
        (
            Method::GET,
            "/api/v1/admin/users",
            None,
            [401, 403, 403, 200, 200],
        ),
        (
            Method::POST,
            "/api/v1/admin/credits",
            Some(grant),
            [401, 403, 403, 201, 201],
        ),
        (
            Method::GET,
            "/interview-prep/history",
            None,
            [303, 200, 200, 200, 200],
        ),
        (
            Method::GET,
            "/interview-prep/session/{s}",
            None,
            [303, 200, 404, 404, 404],
        ),
        (Method::GET, "/profile", None, [303, 200, 200, 200, 200]),
        (Method::GET, "/admin", None, [303, 403, 403, 200, 200]),
        (
            Method::GET,
            "/admin/users/2",
            None,
            [303, 403, 403, 200, 200],
        ),
    ];
    let mut wrong = Vec::new();
    for (method, path, body, expected) in rows {
        for ((name, client), want) in who.iter().zip(expected) {
            let path = if path.contains("{s}") {
                path.replace("{s}", &create(&cast.owner).await)
            } else {
                path.to_string()
            };
            let body = body.map(|b| serde_json::from_str(b).unwrap());
            let r = client.send(method.clone(), &path, body).await;
            if r.status.as_u16() != *want {
                wrong.push(format!(
                    "{method} {path} as {name}: {} (want {want}) {}",
                    r.status,
                    r.body.chars().take(120).collect::<String>()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn fifty_concurrent_creations_against_ten_credits_make_exactly_ten() {
    let t = app().await;
    let c = std::sync::Arc::new(Client::signup(&t.router, "racer@example.com").await);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move {
                c.send(
                    Method::POST,
                    "/api/v1/sessions",
                    Some(serde_json::from_str(AMAZON).unwrap()),
                )
                .await
                .status
            })
        })
        .collect();
    let mut created = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            StatusCode::CREATED => created += 1,
            StatusCode::PAYMENT_REQUIRED => refused += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((created, refused), (10, 40));
    assert_eq!(c.get("/api/v1/me").await.json()["credits"], 0);
    assert_eq!(c.get("/api/v1/sessions").await.json()["total"], 10);
    let r = c
        .send(
            Method::POST,
            "/api/v1/sessions",
            Some(serde_json::from_str(AMAZON).unwrap()),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYMENT_REQUIRED);
    assert_eq!(r.json()["error"]["code"], "payment_required");
}

#[tokio::test]
async fn every_lifecycle_transition_is_enforced_with_refunds_only_before_the_start() {
    let t = app().await;
    let c = Client::signup(&t.router, "ada@example.com").await;
    let me = c.get("/api/v1/me").await.json();
    let user_id = me["id"].as_i64().unwrap();
    let credits = || async {
        c.get("/api/v1/me").await.json()["credits"]
            .as_i64()
            .unwrap()
    };
    let abandon = |id: String| {
        let c = &c;
        async move {
            c.send(
                Method::PATCH,
                &format!("/api/v1/sessions/{id}"),
                Some(json!({"action": "abandon"})),
            )
            .await
        }
    };
    let drive = |id: String, action: Transition| {
        let db = t.state.db().clone();
        async move {
            sessions::transition(&db, user_id, &id, action)
                .await
                .unwrap()
        }
    };

    // PENDING -> ABANDONED refunds.
    let a = create(&c).await;
    assert_eq!(credits().await, 9);
    let r = abandon(a.clone()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["state"], "ABANDONED");
    assert_eq!(credits().await, 10);
    // ABANDONED -> anything is refused, and never refunds twice.
    let r = abandon(a.clone()).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.json()["error"]["code"], "conflict");
    assert_eq!(credits().await, 10);
    for action in [Transition::Start, Transition::Complete] {
        assert!(matches!(
            drive(a.clone(), action).await,
            sessions::Transitioned::Illegal(_)
        ));
    }

    // PENDING -> IN_PROGRESS -> ABANDONED does not refund.
    let b = create(&c).await;
    assert!(
        matches!(
            drive(b.clone(), Transition::Complete).await,
            sessions::Transitioned::Illegal(_)
        ),
        "cannot complete before starting"
    );
    assert!(matches!(
        drive(b.clone(), Transition::Start).await,
        sessions::Transitioned::Ok(_)
    ));
    assert!(
        matches!(
            drive(b.clone(), Transition::Start).await,
            sessions::Transitioned::Illegal(_)
        ),
        "cannot start twice"
    );
    let r = abandon(b.clone()).await;
    assert_eq!(r.json()["state"], "ABANDONED");
    assert!(r.json()["started_at"].is_i64() && r.json()["ended_at"].is_i64());
    assert_eq!(credits().await, 9, "no refund once started");

    // PENDING -> IN_PROGRESS -> COMPLETED, after which nothing is allowed.
    let d = create(&c).await;
    assert!(matches!(
        drive(d.clone(), Transition::Start).await,
        sessions::Transitioned::Ok(_)
    ));
    assert!(matches!(
        drive(d.clone(), Transition::Complete).await,
        sessions::Transitioned::Ok(_)
    ));
    assert_eq!(abandon(d.clone()).await.status, StatusCode::CONFLICT);
    let r = c
        .send(
            Method::POST,
            &format!("/api/v1/sessions/{d}/realtime-token"),
            None,
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "no realtime token for a finished interview"
    );

    // Bad requests change nothing.
    let e = create(&c).await;
    let before = credits().await;
    let r = c
        .send(
            Method::PATCH,
            &format!("/api/v1/sessions/{e}"),
            Some(json!({"action": "complete"})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "only abandon is a client action"
    );
    let r = c
        .send(
            Method::POST,
            "/api/v1/sessions",
            Some(json!({"company_id": "amazon", "role_id": "nope"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = c
        .send(
            Method::POST,
            "/api/v1/sessions",
            Some(json!({"company_id": "amazon", "role_id": "x".repeat(100_000)})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(credits().await, before);
    assert_eq!(
        c.get(&format!("/api/v1/sessions/{e}")).await.json()["state"],
        "PENDING"
    );
}

#[tokio::test]
async fn deleting_a_session_removes_what_it_recorded_and_keeps_the_ledger_balanced() {
    let t = app().await;
    let c = Client::signup(&t.router, "ada@example.com").await;
    let id = create(&c).await;
    let count = |table: &'static str, id: String| {
        let db = t.state.db().clone();
        async move {
            db.call(move |conn| {
                Ok(conn.query_row(
                    &format!("SELECT COUNT(*) FROM {table} WHERE session_id = ?1"),
                    [&id],
                    |r| r.get::<_, i64>(0),
                )?)
            })
            .await
            .unwrap()
        }
    };
    assert!(count("round_runs", id.clone()).await > 0);
    assert_eq!(
        c.send(Method::DELETE, &format!("/api/v1/sessions/{id}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(count("round_runs", id.clone()).await, 0);
    assert_eq!(
        c.get(&format!("/api/v1/sessions/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        c.send(Method::DELETE, &format!("/api/v1/sessions/{id}"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let me = c.get("/api/v1/me").await.json();
    assert_eq!(me["credits"], 9, "deleting is not a refund");
    assert_eq!(
        c.get("/api/v1/me/credits")
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn the_realtime_token_is_bound_to_its_user_and_session() {
    let t = app().await;
    let c = Client::signup(&t.router, "ada@example.com").await;
    let user_id = c.get("/api/v1/me").await.json()["id"].as_i64().unwrap();
    let id = create(&c).await;
    let other = create(&c).await;
    let r = c
        .send(
            Method::POST,
            &format!("/api/v1/sessions/{id}/realtime-token"),
            None,
        )
        .await
        .json();
    let token = r["token"].as_str().unwrap();
    assert_eq!(r["ws_url"], format!("/ws/sessions/{id}?token={token}"));
    let key = t.state.signing_key();
    let now = db::now_ms();
    assert_eq!(
        key.verify_realtime(token, &id, now).map(|a| a.user_id),
        Ok(user_id)
    );
    assert!(key.verify_realtime(token, &other, now).is_err());
    assert!(
        key.verify_realtime(token, &id, r["expires_at"].as_i64().unwrap())
            .is_err(),
        "expired"
    );
    assert!(
        key.verify_realtime(&format!("{token}x"), &id, now).is_err(),
        "tampered"
    );
}

#[tokio::test]
async fn history_is_newest_first_and_paginated() {
    let t = app().await;
    let c = Client::signup(&t.router, "ada@example.com").await;
    t.state
        .db()
        .call(|conn| {
            rehearse::db::credits::insert(
                conn,
                1,
                100,
                rehearse::db::credits::Reason::Grant,
                None,
                None,
                "",
                0,
            )
        })
        .await
        .unwrap();
    let mut ids = Vec::new();
    for _ in 0..23 {
        ids.push(create(&c).await);
    }
    let first = c.get("/api/v1/sessions").await.json();
    assert_eq!(first["total"], 23);
    assert_eq!(first["sessions"].as_array().unwrap().len(), 20);
    assert_eq!(first["sessions"][0]["id"], ids[22].as_str(), "newest first");
    let second = c.get("/api/v1/sessions?page=2").await.json();
    assert_eq!(second["sessions"].as_array().unwrap().len(), 3);
    assert_eq!(second["sessions"][2]["id"], ids[0].as_str());
    let page = c.get("/interview-prep/history?page=2").await;
    assert!(page.body.contains("Page 2 of 2"));
}

#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let t = app().await;
    let doc = crate::util::get(&t.router, "/api/v1/openapi.json")
        .await
        .json();
    let mut listed: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| format!("{} {path}", m.to_uppercase()))
        })
        .collect();
    listed.sort();
    let mut expected: Vec<&str> = vec![
        "GET /healthz",
        "GET /api/v1/companies",
        "GET /api/v1/companies/{company_id}",
        "GET /api/v1/companies/{company_id}/roles/{role_id}",
        "GET /api/v1/auth/csrf",
        "POST /api/v1/auth/signup",
        "POST /api/v1/auth/login",
        "POST /api/v1/auth/logout",
        "GET /api/v1/me",
        "POST /api/v1/me/password",
        "GET /api/v1/me/credits",
        "POST /api/v1/sessions",
        "GET /api/v1/sessions",
        "GET /api/v1/sessions/{id}",
        "PATCH /api/v1/sessions/{id}",
        "DELETE /api/v1/sessions/{id}",
        "POST /api/v1/sessions/{id}/realtime-token",
        "GET /api/v1/sessions/{id}/transcript",
        "GET /api/v1/sessions/{id}/report",
        "POST /api/v1/sessions/{id}/report",
        "POST /api/v1/admin/credits",
        "GET /api/v1/admin/users",
        "POST /api/v1/sandbox/run",
    ];
    expected.sort();
    assert_eq!(listed, expected);
    assert!(doc["components"]["schemas"]["SessionView"].is_object());
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    assert!(doc["components"]["schemas"]["Report"].is_object());
}

/// The interview a form's redirect leads to.
fn session_of(r: &crate::util::Reply) -> String {
    let to = r.headers["location"].to_str().unwrap();
    to.rsplit('/').next().unwrap().to_string()
}

#[tokio::test]
async fn a_candidate_can_practise_chosen_rounds_of_a_loop() {
    let t = app().await;
    let c = Client::signup(&t.router, "ada@example.com").await;
    let r = c
        .send(
            Method::POST,
            "/api/v1/sessions",
            Some(json!({"company_id": "amazon", "role_id": "sde-ii", "rounds": [6, 4]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let rounds = r.json()["rounds"].clone();
    assert_eq!(rounds.as_array().unwrap().len(), 2);
    assert_eq!(rounds[0]["title"], "Loop: system design", "in loop order");
    assert_eq!(rounds[1]["title"], "Loop: Bar Raiser");
    for (bad, why) in [
        (json!([]), "at least one"),
        (json!([99]), "no round 99"),
        (json!([1, 1]), "once"),
    ] {
        let r = c
            .send(
                Method::POST,
                "/api/v1/sessions",
                Some(json!({"company_id": "amazon", "role_id": "sde-ii", "rounds": bad})),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(
            r.json()["error"]["message"].as_str().unwrap().contains(why),
            "{}",
            r.body
        );
    }
    assert_eq!(
        c.get("/api/v1/me").await.json()["credits"],
        9,
        "refused choices cost nothing"
    );

    // The briefing form: ticked rounds arrive as repeated fields.
    c.refresh_csrf_from_page().await;
    let briefing = c.get("/interview-prep/google/swe-l5").await;
    assert!(
        briefing
            .body
            .contains("name=\"rounds\" value=\"0\" checked form=\"start-form\"")
    );
    // A question chosen for a practised coding round is asked; one chosen for a round left out is ignored.
    let catalog = rehearse::catalog::load(&rehearse::catalog::SeedSource::Embedded)
        .unwrap()
        .catalog;
    let loop_ = &catalog.role("google", "swe-l5").unwrap().1.rounds;
    let coding = loop_
        .iter()
        .position(|r| r.kind == rehearse::catalog::RoundKind::Coding)
        .unwrap();
    assert!(
        briefing
            .body
            .contains(&format!("name=\"question-{coding}\" form=\"start-form\"")),
        "a coding round offers a choice of question"
    );
    let r = c
        .form(
            "/interview-prep/google/swe-l5/start",
            &[
                ("choose", "1"),
                ("rounds", &coding.to_string()),
                (&format!("question-{coding}"), "coin-change"),
                (&format!("question-{}", coding + 1), "two-sum"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id = session_of(&r);
    let view = c.get(&format!("/api/v1/sessions/{id}")).await.json();
    assert_eq!(view["rounds"].as_array().unwrap().len(), 1, "{view}");
    assert_eq!(view["rounds"][0]["question"], "coin-change", "{view}");

    let r = c
        .form(
            "/interview-prep/google/swe-l5/start",
            &[("choose", "1"), ("rounds", "2")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id = session_of(&r);
    assert_eq!(
        c.get(&format!("/api/v1/sessions/{id}")).await.json()["rounds"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let r = c
        .form("/interview-prep/google/swe-l4/start", &[("choose", "1")])
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "nothing ticked is refused"
    );
    assert!(r.body.contains("Choose at least one round"));
}
