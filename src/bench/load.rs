//! `rehearse bench load`: simulated candidates, all at once, each signing up, starting an interview and answering
//! over a real WebSocket, as a browser would. Measures, per answer, the time to the server's acknowledgement (the
//! answer is stored), to the interviewer's first streamed words, and to the end of the interviewer's turn.
//! Without `--url` it starts its own server on 127.0.0.1 with a fresh data directory; traffic never leaves the
//! machine either way.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::PathBuf,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_tungstenite::tungstenite::Message;

use super::Stats;
use crate::{
    app::{self, AppState},
    config::Settings,
    realtime::pb::{self, client_frame, server_frame::Kind},
};

#[derive(Debug, Clone)]
pub struct Options {
    /// A running server (`http://host:port`); `None` starts one in this process.
    pub url: Option<String>,
    pub candidates: usize,
    pub answers: usize,
    /// The interviewer of the server started in this process: a remote model (`--llm openai:...`), else the
    /// scripted one.
    pub llm: Option<crate::backends::Spec>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub candidates: usize,
    pub answers: usize,
    pub errors: Vec<String>,
    /// Answer sent -> stored and acknowledged.
    pub ack: Stats,
    /// Answer sent -> the interviewer's first words arrive.
    pub first_words: Stats,
    /// Answer sent -> the interviewer's turn is complete.
    pub full_turn: Stats,
    /// Sign-up to the interviewer's opening, per candidate (includes Argon2id hashing, two at a time).
    pub start: Stats,
    pub wall_seconds: f64,
    pub answers_per_second: f64,
    /// Peak resident memory of this process (server and simulated clients together) when it ran the server.
    pub peak_rss_mb: Option<f64>,
    pub interviewer: String,
}

const ANSWERS: [&str; 3] = [
    "I owned the migration of our billing service when the deadline moved up by two weeks. I split the work into \
     three streams, wrote the runbook myself, and we shipped on time with zero data loss.",
    "The hardest part was convincing the payments team to freeze their schema for a week; I showed them the failure \
     rate from the last migration and offered to take their on-call shifts during the cutover.",
    "Looking back I would have automated the reconciliation earlier. We caught two mismatches by hand, and I now \
     start every migration by writing the check that proves it worked.",
];

/// A minimal HTTP/1.1 client for loopback: one request per connection, JSON in and out, a cookie jar and the
/// CSRF token. Enough for a benchmark (or a test) against our own server; not a general client.
pub struct Http {
    addr: SocketAddr,
    cookies: BTreeMap<String, String>,
    csrf: String,
}

impl Http {
    /// A client of the server at `addr`, with no cookies yet.
    pub fn new(addr: SocketAddr) -> Http {
        Http {
            addr,
            cookies: BTreeMap::new(),
            csrf: String::new(),
        }
    }

    /// Asks for an anonymous CSRF token (and its cookie), as a page does before its first form.
    pub async fn fetch_csrf(&mut self) -> anyhow::Result<()> {
        let (_, csrf) = self.call("GET", "/api/v1/auth/csrf", None).await?;
        self.csrf = csrf["csrf_token"].as_str().unwrap_or_default().to_string();
        Ok(())
    }

    /// Sends one request; the status and the JSON body (null when it is not JSON). Cookies and the CSRF token the
    /// server sets are kept for the next request.
    pub async fn call(
        &mut self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let cookies: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nCookie: {}\r\nX-CSRF-Token: {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            cookies.join("; "),
            self.csrf,
            body.len()
        );
        let mut stream = TcpStream::connect(self.addr)
            .await
            .with_context(|| format!("connecting to {}", self.addr))?;
        stream.write_all(request.as_bytes()).await?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await?;
        let text = String::from_utf8_lossy(&raw);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .context("a malformed HTTP response")?;
        let mut lines = head.lines();
        let status: u16 = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .context("no status")?;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
            if name == "set-cookie"
                && let Some((k, v)) = value.split(';').next().and_then(|kv| kv.split_once('='))
            {
                self.cookies.insert(k.to_string(), v.to_string());
            } else if name == "x-csrf-token" {
                self.csrf = value.to_string();
            }
        }
        Ok((status, serde_json::from_str(body).unwrap_or(Value::Null)))
    }
}

/// One simulated candidate's measurements.
#[derive(Default)]
pub(super) struct Samples {
    pub ack: Vec<f64>,
    pub first: Vec<f64>,
    pub turn: Vec<f64>,
    pub start: Option<f64>,
    pub answers: usize,
}

/// Answers a soak's candidate gives in each interview before starting the next.
pub(super) const ANSWERS_PER_INTERVIEW: usize = 4;

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// Signs a new candidate up as `email`, starts an interview of `rounds` of Amazon's SDE II loop, opens its
/// WebSocket and says `hello`.
pub(super) async fn open_interview(
    addr: SocketAddr,
    email: &str,
    rounds: Value,
    hello: pb::Hello,
) -> anyhow::Result<Ws> {
    open_interview_at(
        addr,
        email,
        json!({"company_id": "amazon", "role_id": "sde-ii", "rounds": rounds}),
        hello,
    )
    .await
}

/// Signs a new candidate up as `email`, starts an interview of `rounds` of a company's role, opens its WebSocket
/// and says `hello`.
pub(super) async fn open_interview_at(
    addr: SocketAddr,
    email: &str,
    interview: Value,
    hello: pb::Hello,
) -> anyhow::Result<Ws> {
    let mut http = Http::new(addr);
    http.fetch_csrf().await?;
    let (status, body) = http
        .call(
            "POST",
            "/api/v1/auth/signup",
            Some(json!({"email": email, "password": "benchmark password"})),
        )
        .await?;
    if status != 201 {
        bail!("sign-up answered {status}: {body}");
    }
    let (status, body) = http
        .call("POST", "/api/v1/sessions", Some(interview))
        .await?;
    if status != 201 {
        bail!("creating an interview answered {status}: {body}");
    }
    let id = body["id"].as_str().context("no session id")?.to_string();
    let (status, token) = http
        .call(
            "POST",
            &format!("/api/v1/sessions/{id}/realtime-token"),
            None,
        )
        .await?;
    if status != 200 {
        bail!("the realtime token answered {status}: {token}");
    }
    let url = format!(
        "ws://{addr}{}",
        token["ws_url"].as_str().context("no ws_url")?
    );
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
        .await
        .context("opening the WebSocket")?;
    ws.send(message(0, client_frame::Kind::Hello(hello)))
        .await?;
    Ok(ws)
}

/// A client frame as a WebSocket message.
pub(super) fn message(seq: u64, kind: client_frame::Kind) -> Message {
    Message::Binary(
        pb::ClientFrame {
            seq,
            kind: Some(kind),
        }
        .encode_to_vec()
        .into(),
    )
}

pub(super) async fn candidate(
    addr: SocketAddr,
    n: usize,
    run: u64,
    answers: usize,
) -> anyhow::Result<Samples> {
    let mut s = Samples::default();
    let began = Instant::now();
    // The Bar Raiser round alone: five questions, each with follow-ups, enough turns for any --answers.
    let hello = pb::Hello {
        client_version: "bench".into(),
        ..Default::default()
    };
    let email = format!("bench-{run}-{n}@example.com");
    let mut ws = open_interview(addr, &email, json!([6]), hello).await?;
    let send = message;
    loop {
        if let Kind::Transcript(t) = next_frame(&mut ws).await?
            && t.speaker == pb::Speaker::Interviewer as i32
        {
            break;
        }
    }
    s.start = Some(ms(began));
    for k in 0..answers {
        let text = ANSWERS[k % ANSWERS.len()];
        let frame = send(
            k as u64 + 1,
            client_frame::Kind::TextAnswer(pb::TextAnswer {
                answer_id: format!("a{k}"),
                text: text.into(),
            }),
        );
        let t0 = Instant::now();
        ws.send(frame).await?;
        let (mut acked, mut first) = (false, false);
        loop {
            match next_frame(&mut ws).await? {
                Kind::Ack(_) if !acked => {
                    acked = true;
                    s.ack.push(ms(t0));
                }
                Kind::InterviewerText(d) if !first && !d.delta.is_empty() => {
                    first = true;
                    s.first.push(ms(t0));
                }
                Kind::Transcript(t) if t.speaker == pb::Speaker::Interviewer as i32 => {
                    s.turn.push(ms(t0));
                    s.answers += 1;
                    break;
                }
                Kind::Error(e) => bail!("error frame: {} {}", e.code, e.message),
                _ => {}
            }
        }
    }
    let _ = ws.close(None).await;
    Ok(s)
}

pub(super) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

pub(super) async fn next_frame(ws: &mut Ws) -> anyhow::Result<Kind> {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
            Ok(Some(Ok(Message::Binary(b)))) => {
                return pb::ServerFrame::decode(b.as_ref())?
                    .kind
                    .context("an empty frame");
            }
            Ok(Some(Ok(_))) => continue,
            Ok(_) => bail!("the WebSocket closed"),
            Err(_) => bail!("no frame for 30 s"),
        }
    }
}

pub(super) fn peak_rss_mb() -> Option<f64> {
    super::proc_status_mb("VmHWM")
}

pub async fn run(opts: &Options) -> anyhow::Result<Report> {
    let mut local = None;
    let addr: SocketAddr = match &opts.url {
        Some(url) => {
            let host = url.trim_start_matches("http://").trim_end_matches('/');
            if url.starts_with("https://") {
                bail!("bench load speaks plain HTTP; point it at an http:// address");
            }
            tokio::net::lookup_host(host)
                .await?
                .next()
                .with_context(|| format!("resolving {host}"))?
        }
        None => {
            let dir = tempfile_dir()?;
            let mut settings = Settings::for_data_dir(&dir);
            if let Some(llm) = &opts.llm {
                settings.llm = llm.clone();
            }
            let state = AppState::open(settings).await?;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let server = tokio::spawn(app::serve(listener, state.clone(), async {
                stopped.await.ok();
            }));
            local = Some((stop, server, state, dir));
            addr
        }
    };
    let run_id = crate::db::now_ms() as u64;
    let began = Instant::now();
    let tasks: Vec<_> = (0..opts.candidates)
        .map(|n| tokio::spawn(candidate(addr, n, run_id, opts.answers)))
        .collect();
    let mut all = Samples::default();
    let mut errors = Vec::new();
    let mut starts = Vec::new();
    for t in tasks {
        match t.await {
            Ok(Ok(s)) => {
                all.ack.extend(s.ack);
                all.first.extend(s.first);
                all.turn.extend(s.turn);
                all.answers += s.answers;
                starts.extend(s.start);
            }
            Ok(Err(e)) => errors.push(format!("{e:#}")),
            Err(e) => errors.push(e.to_string()),
        }
    }
    let wall = began.elapsed().as_secs_f64();
    let mut peak = None;
    let mut interviewer = "the server's".to_string();
    if let Some((stop, server, state, dir)) = local {
        peak = peak_rss_mb();
        interviewer = state.llm().name().to_string();
        let _ = stop.send(());
        let _ = server.await;
        state.hub().stop_all().await;
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok(Report {
        candidates: opts.candidates,
        answers: all.answers,
        errors,
        ack: Stats::of(all.ack),
        first_words: Stats::of(all.first),
        full_turn: Stats::of(all.turn),
        start: Stats::of(starts),
        wall_seconds: wall,
        answers_per_second: all.answers as f64 / wall,
        peak_rss_mb: peak,
        interviewer,
    })
}

pub(super) fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "rehearse-bench-{}-{}",
        std::process::id(),
        crate::db::now_ms()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The report as a table for people.
pub fn print(r: &Report) {
    println!(
        "{} simulated candidates, {} answers in {:.1} s ({:.1} answers/s), interviewer: {}",
        r.candidates, r.answers, r.wall_seconds, r.answers_per_second, r.interviewer
    );
    println!("{:<34} {:>9} {:>9} {:>9}", "", "p50 ms", "p95 ms", "max ms");
    for (name, s) in [
        ("answer stored and acknowledged", &r.ack),
        ("interviewer's first words", &r.first_words),
        ("interviewer's turn complete", &r.full_turn),
        ("sign-up to opening question", &r.start),
    ] {
        println!(
            "{name:<34} {:>9.1} {:>9.1} {:>9.1}",
            s.p50_ms, s.p95_ms, s.max_ms
        );
    }
    if let Some(mb) = r.peak_rss_mb {
        println!("peak resident memory (server and clients in one process): {mb:.0} MB");
    }
    if !r.errors.is_empty() {
        println!("{} candidate(s) failed:", r.errors.len());
        for e in r.errors.iter().take(5) {
            println!("  {e}");
        }
    }
}
