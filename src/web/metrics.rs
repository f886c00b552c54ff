//! Prometheus text on `/metrics`: request counts by route class and status class, the catalog's size, and the
//! spoken interview's latency per stage as histograms. Counters are plain atomics; no metrics library is needed for
//! a handful of series.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::{
    extract::{Request, State},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{
    engine::{guard::Outcome, turns::TurnEnd, wording::Ask},
    realtime::{Observe, VoiceStage},
    web::AppState,
};

const CLASSES: [&str; 4] = ["page", "api", "static", "other"];

#[derive(Debug, Default)]
pub struct Metrics {
    /// [route class][status class 1xx..5xx]
    requests: [[AtomicU64; 5]; 4],
    voice: [Histogram; VoiceStage::ALL.len()],
    /// Model-written pieces of interviewer turns: [follow-up, acknowledgement][accepted, retried, replaced].
    pieces: [[AtomicU64; 3]; 2],
    /// Connections closed on accept: [one address's limit, the total limit].
    refused: [AtomicU64; 2],
    /// Spoken answers taken back up when the candidate went on.
    resumed: AtomicU64,
    /// Spoken turns ended, by what set their silence ([`TurnEnd::ALL`]).
    turn_ends: [AtomicU64; TurnEnd::ALL.len()],
}

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0,
];

#[derive(Debug, Default)]
struct Histogram {
    /// Observations per bucket (not cumulative); the last is above every bound.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, seconds: f64) {
        let i = BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(BUCKETS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add((seconds.max(0.0) * 1e6) as u64, Ordering::Relaxed);
    }

    fn render(&self, name: &str, labels: &str, out: &mut String) {
        let mut total = 0;
        for (i, bound) in BUCKETS.iter().enumerate() {
            total += self.buckets[i].load(Ordering::Relaxed);
            out.push_str(&format!(
                "{name}_bucket{{{labels},le=\"{bound}\"}} {total}\n"
            ));
        }
        total += self.buckets[BUCKETS.len()].load(Ordering::Relaxed);
        out.push_str(&format!("{name}_bucket{{{labels},le=\"+Inf\"}} {total}\n"));
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        out.push_str(&format!(
            "{name}_sum{{{labels}}} {sum}\n{name}_count{{{labels}}} {total}\n"
        ));
    }
}

const PIECES: [Ask; 2] = [Ask::FollowUp, Ask::Bridge];

impl Metrics {
    /// Model-written pieces so far, per kind of piece and outcome.
    pub fn pieces(&self) -> Vec<(Ask, Outcome, u64)> {
        let mut out = Vec::new();
        for (p, ask) in PIECES.iter().enumerate() {
            for (o, outcome) in Outcome::ALL.iter().enumerate() {
                out.push((*ask, *outcome, self.pieces[p][o].load(Ordering::Relaxed)));
            }
        }
        out
    }

    /// Counts a connection closed on accept because a limit was reached.
    pub fn record_refused(&self, why: crate::listener::Refused) {
        let i = match why {
            crate::listener::Refused::PerAddress => 0,
            crate::listener::Refused::Total => 1,
        };
        self.refused[i].fetch_add(1, Ordering::Relaxed);
    }
}

impl Observe for Metrics {
    fn voice(&self, stage: VoiceStage, seconds: f64) {
        let i = VoiceStage::ALL
            .iter()
            .position(|s| *s == stage)
            .unwrap_or(0);
        self.voice[i].observe(seconds);
    }

    fn piece(&self, ask: Ask, outcome: Outcome) {
        let p = PIECES.iter().position(|a| *a == ask).unwrap_or(0);
        let o = Outcome::ALL.iter().position(|x| *x == outcome).unwrap_or(0);
        self.pieces[p][o].fetch_add(1, Ordering::Relaxed);
    }

    fn resumed(&self) {
        self.resumed.fetch_add(1, Ordering::Relaxed);
    }

    fn turn_ended(&self, end: TurnEnd) {
        let i = TurnEnd::ALL.iter().position(|e| *e == end).unwrap_or(0);
        self.turn_ends[i].fetch_add(1, Ordering::Relaxed);
    }
}

impl Metrics {
    /// Spoken answers taken back up so far.
    pub fn resumed(&self) -> u64 {
        self.resumed.load(Ordering::Relaxed)
    }

    /// Spoken turns ended so far that `end` set the silence of.
    pub fn turn_ends(&self, end: TurnEnd) -> u64 {
        let i = TurnEnd::ALL.iter().position(|e| *e == end).unwrap_or(0);
        self.turn_ends[i].load(Ordering::Relaxed)
    }
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
    out.push_str("# HELP rehearse_connections_refused_total Connections closed on accept because a limit was reached.\n# TYPE rehearse_connections_refused_total counter\n");
    for (i, limit) in ["per_address", "total"].iter().enumerate() {
        out.push_str(&format!(
            "rehearse_connections_refused_total{{limit=\"{limit}\"}} {}\n",
            m.refused[i].load(Ordering::Relaxed)
        ));
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
    interviews(m, &mut out);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}

/// What the interviews measure: the voice's stages, the model's pieces and the answers taken back up.
fn interviews(m: &Metrics, out: &mut String) {
    out.push_str("# HELP rehearse_voice_stage_seconds Spoken answers: seconds per stage of the way back to the interviewer's voice.\n");
    out.push_str("# TYPE rehearse_voice_stage_seconds histogram\n");
    for (stage, h) in VoiceStage::ALL.iter().zip(&m.voice) {
        h.render(
            "rehearse_voice_stage_seconds",
            &format!("stage=\"{}\"", stage.name()),
            out,
        );
    }
    out.push_str("# HELP rehearse_interviewer_pieces_total Model-written pieces of interviewer turns by outcome: \
                  accepted by the guard, accepted at the stricter second try, or replaced by the scripted wording.\n");
    out.push_str("# TYPE rehearse_interviewer_pieces_total counter\n");
    for (ask, outcome, n) in m.pieces() {
        out.push_str(&format!(
            "rehearse_interviewer_pieces_total{{piece=\"{}\",outcome=\"{}\"}} {n}\n",
            ask.as_str(),
            outcome.as_str()
        ));
    }
    out.push_str("# HELP rehearse_answers_resumed_total Spoken answers the candidate went on with just after the \
                  interviewer began to reply: the reply stopped and both parts made one answer.\n");
    out.push_str("# TYPE rehearse_answers_resumed_total counter\n");
    out.push_str(&format!("rehearse_answers_resumed_total {}\n", m.resumed()));
    out.push_str("# HELP rehearse_turn_ends_total Spoken turns ended, by what set the silence that ended them: words \
                  that read as finished, words that trailed off, or the longest wait before whisper had the words.\n");
    out.push_str("# TYPE rehearse_turn_ends_total counter\n");
    for end in TurnEnd::ALL {
        out.push_str(&format!(
            "rehearse_turn_ends_total{{by=\"{}\"}} {}\n",
            end.as_str(),
            m.turn_ends(end)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_count_cumulatively_with_a_sum() {
        let h = Histogram::default();
        for s in [0.04, 0.3, 0.31, 42.0] {
            h.observe(s);
        }
        let mut out = String::new();
        h.render("x", "stage=\"a\"", &mut out);
        assert!(
            out.contains("x_bucket{stage=\"a\",le=\"0.05\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains("x_bucket{stage=\"a\",le=\"0.3\"} 2\n"),
            "{out}"
        );
        assert!(
            out.contains("x_bucket{stage=\"a\",le=\"0.5\"} 3\n"),
            "{out}"
        );
        assert!(out.contains("x_bucket{stage=\"a\",le=\"10\"} 3\n"), "{out}");
        assert!(
            out.contains("x_bucket{stage=\"a\",le=\"+Inf\"} 4\n"),
            "{out}"
        );
        assert!(out.contains("x_count{stage=\"a\"} 4\n"), "{out}");
        assert!(out.contains("x_sum{stage=\"a\"} 42.65"), "{out}");
    }
}
