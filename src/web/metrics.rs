//! Prometheus text on `/metrics`: request counts by route class and status class, and the catalog's size.
//! Counters are plain atomics; no metrics library is needed for a handful of series.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::{
    extract::{Request, State},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::app::AppState;

const CLASSES: [&str; 4] = ["page", "api", "static", "other"];

#[derive(Debug, Default)]
pub struct Metrics {
    /// [route class][status class 1xx..5xx]
    requests: [[AtomicU64; 5]; 4],
}

fn class_of(path: &str) -> usize {
    if path.starts_with("/api/") {
        1
    } else if path.starts_with("/static/") {
        2
    } else if path == "/healthz" || path == "/metrics" || path.starts_with("/ws/") {
        3
    } else {
        0
    }
}

pub async fn count(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let class = class_of(req.uri().path());
    let resp = next.run(req).await;
    let status = (resp.status().as_u16() / 100).clamp(1, 5) as usize - 1;
    state.metrics().requests[class][status].fetch_add(1, Ordering::Relaxed);
    resp
}

pub async fn render(State(state): State<AppState>) -> impl IntoResponse {
    let m = state.metrics();
    let catalog = state.catalog();
    let mut out = String::new();
    out.push_str(
        "# HELP rehearse_build_info The running build.\n# TYPE rehearse_build_info gauge\n",
    );
    out.push_str(&format!(
        "rehearse_build_info{{version=\"{}\"}} 1\n",
        env!("CARGO_PKG_VERSION")
    ));
    out.push_str("# HELP rehearse_uptime_seconds Seconds since the server started.\n# TYPE rehearse_uptime_seconds gauge\n");
    out.push_str(&format!(
        "rehearse_uptime_seconds {:.0}\n",
        state.uptime().as_secs_f64()
    ));
    out.push_str(
        "# HELP rehearse_http_requests_total HTTP requests by route class and status class.\n",
    );
    out.push_str("# TYPE rehearse_http_requests_total counter\n");
    for (ci, class) in CLASSES.iter().enumerate() {
        for (si, counter) in m.requests[ci].iter().enumerate() {
            out.push_str(&format!(
                "rehearse_http_requests_total{{route=\"{class}\",status=\"{}xx\"}} {}\n",
                si + 1,
                counter.load(Ordering::Relaxed)
            ));
        }
    }
    out.push_str("# HELP rehearse_live_interviews Interviews with a running actor.\n# TYPE rehearse_live_interviews gauge\n");
    out.push_str(&format!(
        "rehearse_live_interviews {}\n",
        state.hub().running()
    ));
    out.push_str("# HELP rehearse_catalog_entries Entries in the active interview catalog.\n");
    out.push_str("# TYPE rehearse_catalog_entries gauge\n");
    for (kind, n) in [
        ("company", catalog.companies.len()),
        ("behavioral_question", catalog.behavioral.len()),
        ("design_prompt", catalog.design.len()),
        ("problem", catalog.problems.len()),
    ] {
        out.push_str(&format!(
            "rehearse_catalog_entries{{kind=\"{kind}\"}} {n}\n"
        ));
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}
