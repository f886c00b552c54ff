//! Routes through `router(state)` without a socket: pages, the catalog API, health, metrics and every error shape.

use axum::http::{Method, StatusCode};

use crate::util::{app, get, request};

#[tokio::test]
async fn the_company_grid_lists_every_company() {
    let t = app().await;
    let r = get(&t.router, "/interview-prep").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    for c in &t.state.catalog().companies {
        assert!(
            r.body
                .contains(&format!("href=\"/interview-prep/{}\"", c.id)),
            "no card for {}",
            c.id
        );
    }
}

#[tokio::test]
async fn the_amazon_briefing_shows_its_rounds_with_durations_and_a_mic_test() {
    let t = app().await;
    let catalog = t.state.catalog();
    let (_, role) = catalog
        .role("amazon", "sde-ii")
        .expect("Amazon SDE II is seeded");
    let r = get(&t.router, "/interview-prep/amazon/sde-ii").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body.matches("class=\"round-card\"").count(),
        role.rounds.len()
    );
    for round in &role.rounds {
        assert!(
            r.body
                .contains(&maud::html! { (round.title) }.into_string()),
            "missing round {}",
            round.title
        );
    }
    assert!(r.body.contains("Bar raiser"));
    let csp = r.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self';")
            && !r.body.contains("onsubmit=")
            && !r.body.contains("onclick="),
        "no inline script"
    );
    assert!(r.body.contains("id=\"mic-test\""));
    assert!(r.body.contains("/static/js/mic-test.js"));
}

#[tokio::test]
async fn unknown_companies_roles_and_paths_get_a_404_page() {
    let t = app().await;
    for path in [
        "/interview-prep/nope",
        "/interview-prep/amazon/nope",
        "/no/such/page",
    ] {
        let r = get(&t.router, path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            r.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        assert!(r.body.contains("Page not found"), "{path}");
    }
}

#[tokio::test]
async fn api_errors_share_one_json_shape() {
    let t = app().await;
    let r = get(&t.router, "/api/v1/companies/nope").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["error"]["code"], "not_found");
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nope")
    );

    let r = get(&t.router, "/api/v1/no-such-route").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["error"]["code"], "not_found");

    // Without a CSRF token any state-changing request is refused before routing...
    let r = request(
        &t.router,
        Method::DELETE,
        "/api/v1/companies",
        "application/json",
        vec![],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["error"]["code"], "forbidden");
    // ...and with one, a method the route does not have is a 405 in the same shape.
    let client = crate::util::Client::new(&t.router).await;
    let r = client.send(Method::DELETE, "/api/v1/companies", None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "method_not_allowed");
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let t = app().await;
    let big = vec![b'x'; t.state.settings().max_body_bytes + 1];
    let r = request(
        &t.router,
        Method::POST,
        "/api/v1/companies",
        "application/json",
        big.clone(),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.json()["error"]["code"], "payload_too_large");
    let r = request(
        &t.router,
        Method::POST,
        "/interview-prep",
        "application/x-www-form-urlencoded",
        big,
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn the_catalog_api_serves_loops_without_interviewer_secrets() {
    let t = app().await;
    let r = get(&t.router, "/api/v1/companies").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json().as_array().unwrap().len() >= 8);
    let r = get(&t.router, "/api/v1/companies/amazon/roles/sde-ii").await;
    assert_eq!(r.status, StatusCode::OK);
    let role = r.json();
    assert_eq!(role["company_id"], "amazon");
    assert!(
        role["rounds"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["minutes"].as_u64().unwrap() > 0)
    );
    let company = get(&t.router, "/api/v1/companies/amazon").await;
    assert_eq!(
        company.json()["interviewer"]["name"]
            .as_str()
            .map(str::is_empty),
        Some(false)
    );
}

#[tokio::test]
async fn health_and_metrics_answer() {
    let t = app().await;
    let r = get(&t.router, "/healthz").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["status"], "ok");
    assert_eq!(r.json()["version"], env!("CARGO_PKG_VERSION"));
    get(&t.router, "/interview-prep").await;
    let m = get(&t.router, "/metrics").await;
    assert!(
        m.body
            .contains("rehearse_catalog_entries{kind=\"company\"}")
    );
    let pages_2xx = m
        .body
        .lines()
        .find(|l| l.starts_with("rehearse_http_requests_total{route=\"page\",status=\"2xx\"}"))
        .unwrap();
    assert!(!pages_2xx.ends_with(" 0"), "{pages_2xx}");
}

#[tokio::test]
async fn static_assets_are_embedded_and_revalidated_by_etag() {
    let t = app().await;
    let r = get(&t.router, "/static/css/app.css").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    let etag = r.headers["etag"].to_str().unwrap().to_string();
    let req = axum::http::Request::builder()
        .uri("/static/css/app.css")
        .header("if-none-match", &etag)
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(
        crate::util::send(&t.router, req).await.status,
        StatusCode::NOT_MODIFIED
    );
    let schema = get(&t.router, "/static/js/realtime-schema.js").await;
    assert!(schema.body.starts_with("export const schema = {"));
    assert!(schema.body.contains("rehearse.v1.ClientFrame"));
    assert_eq!(
        get(&t.router, "/static/nope.js").await.status,
        StatusCode::NOT_FOUND
    );
    // The Monaco editor is served from the binary too.
    let loader = get(&t.router, "/static/monaco/vs/loader.js").await;
    assert_eq!(loader.status, StatusCode::OK);
    assert!(
        loader.headers["content-type"]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    assert_eq!(
        get(&t.router, "/static/monaco/vs/editor/editor.main.js")
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        get(&t.router, "/static/monaco/vs/../../package.json")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
