//! The remote backends against a real OpenAI-compatible server: llama.cpp's (the PyPI package llama-cpp-python,
//! installed by `scripts/llama-server.sh`, which the check script runs) serving the tiny set's SmolLM2. A whole
//! text interview and its scoring run through `openai:`, and a server killed mid-interview costs the turn its
//! model piece and no answer. The failures a server can have (401, 429, 5xx, cut streams, silence) are the unit
//! tests' in `src/llm/remote/tests.rs`, against fake servers.

use std::{
    net::TcpListener,
    ops::ControlFlow,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use rehearse::{
    backends::{Provider, Remote, Spec},
    llm::{Message, MessageRole, Request, remote::Endpoint},
    realtime::pb::{self, server_frame::Kind},
};

use crate::ws::*;

const ANSWER: &str = "I led the move of our billing jobs onto a queue. I wrote the design doc, built the consumer \
                      and cut the nightly run from four hours to forty minutes, and we lost no invoices.";

/// llama.cpp's server on a free loopback port, stopped when dropped.
struct LlamaServer {
    child: Child,
    url: String,
}

impl LlamaServer {
    fn start() -> LlamaServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let model = crate::util::tiny_model("smollm2-135m", rehearse::models::Purpose::Llm);
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/llama-server.sh");
        let child = Command::new("bash")
            .arg(script)
            .arg("serve")
            .arg(&model)
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("scripts/llama-server.sh runs");
        let mut server = LlamaServer {
            child,
            url: format!("http://127.0.0.1:{port}/v1"),
        };
        let started = Instant::now();
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!(
                    "llama.cpp's server stopped ({status}); install it with scripts/llama-server.sh install"
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "llama.cpp's server did not start in 2 minutes"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        server
    }

    fn spec(&self) -> Spec {
        Spec::Remote(Remote {
            provider: Provider::OpenAi,
            model: "smollm2-135m".into(),
            endpoint: Endpoint::new(&self.url, None).unwrap(),
        })
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Answers until the interview completes (or `stop_after` answers); returns what the interviewer said, in order,
/// and how many answers were sent.
async fn interview(ws: &mut Ws, stop_after: u64) -> (Vec<String>, u64, bool) {
    let mut said = Vec::new();
    let opening = until(ws, interviewer_final).await;
    if let Some(Kind::Transcript(t)) = opening.last() {
        said.push(t.text.clone());
    }
    for n in 1..=stop_after {
        answer(ws, n, &format!("a{n}"), ANSWER).await;
        let frames = until(ws, |k| {
            interviewer_final(k) || status(k) == Some(pb::SessionStatus::Completed)
        })
        .await;
        for k in &frames {
            if let Kind::Transcript(t) = k
                && t.speaker == pb::Speaker::Interviewer as i32
            {
                said.push(t.text.clone());
            }
        }
        let done = frames
            .iter()
            .any(|k| status(k) == Some(pb::SessionStatus::Completed));
        if done {
            return (said, n, true);
        }
        if said
            .last()
            .is_some_and(|t| t.starts_with("That's the end of our time"))
        {
            let more = until(ws, |k| status(k).is_some()).await;
            let completed = more.iter().find_map(status) == Some(pb::SessionStatus::Completed);
            return (said, n, completed);
        }
    }
    (said, stop_after, false)
}

async fn stored_turns(client: &crate::util::Client, id: &str) -> (Vec<String>, usize) {
    let transcript = client
        .get(&format!("/api/v1/sessions/{id}/transcript"))
        .await
        .json();
    let turns = transcript.as_array().unwrap();
    let interviewer = turns
        .iter()
        .filter(|t| t["speaker"] == "interviewer")
        .map(|t| t["text"].as_str().unwrap().to_string())
        .collect();
    let answers = turns.iter().filter(|t| t["speaker"] == "candidate").count();
    (interviewer, answers)
}

/// The model pieces the interview asked for, by outcome, from `/metrics`.
async fn pieces(server: &Server) -> (u64, u64) {
    let router = rehearse::app::router(server.state.clone());
    let metrics = crate::util::get(&router, "/metrics").await.body;
    let mut accepted = 0;
    let mut replaced = 0;
    for line in metrics.lines() {
        if let Some(rest) = line.strip_prefix("rehearse_interviewer_pieces_total{") {
            let n: u64 = rest.rsplit(' ').next().unwrap().parse().unwrap();
            if rest.contains("outcome=\"replaced\"") {
                replaced += n;
            } else {
                accepted += n;
            }
        }
    }
    (accepted, replaced)
}

#[tokio::test]
#[allow(
    clippy::await_holding_lock,
    reason = "the guard only orders CPU-heavy tests; each test has its own runtime"
)]
async fn a_whole_interview_and_its_scoring_run_on_llama_cpps_server() {
    let _cpu = crate::util::exclusive_cpu();
    let llama = LlamaServer::start();

    // The protocol itself: a streamed reply.
    let (llm, status) =
        rehearse::backends::open_llm(&llama.spec(), std::path::Path::new("."), Default::default());
    assert_eq!(llm.name(), "openai:smollm2-135m");
    assert!(
        status.ok && status.detail.contains("on this machine"),
        "{}",
        status.detail
    );
    let request = Request {
        messages: vec![
            Message {
                role: MessageRole::System,
                content: "You are an interviewer. Ask one short question.".into(),
            },
            Message {
                role: MessageRole::User,
                content: "The candidate said they built a queue consumer.".into(),
            },
        ],
        scripted: String::new(),
        max_tokens: 24,
        temperature: 0.2,
        seed: 1,
        stop: vec![],
        session: Some("probe".into()),
        ignore_eos: false,
    };
    let (mut streamed, mut pieces_seen) = (String::new(), 0);
    let done = tokio::task::spawn_blocking({
        let llm = llm.clone();
        move || {
            let done = llm.generate(&request, &mut |p| {
                if !p.is_empty() {
                    pieces_seen += 1;
                    streamed.push_str(p);
                }
                ControlFlow::Continue(())
            });
            (done, streamed, pieces_seen)
        }
    })
    .await
    .unwrap();
    let (done, streamed, pieces_seen) = (done.0.unwrap(), done.1, done.2);
    assert!(!done.text.trim().is_empty() && done.text == streamed);
    assert!(pieces_seen > 1, "the reply streamed in pieces");
    // llama-cpp-python sends no usage event: the pieces are counted instead.
    assert_eq!(done.tokens, pieces_seen as u32, "{:?}", done.usage);
    assert!(done.usage.first_token > Duration::ZERO && done.usage.first_token <= done.usage.total);

    // A whole text interview with the interviewer and the judge on the server.
    let dir = tempfile::tempdir().unwrap();
    let mut settings = with_models(dir.path());
    settings.llm = llama.spec();
    settings.judge_with_llm = true;
    settings.judge_llm = Some(llama.spec());
    let server = start(settings).await;
    let (client, id) = new_interview(&server.state, "ada@example.com").await;
    let mut ws = connect(&server, &client, &id).await;
    let (said, answers, completed) = interview(&mut ws, 80).await;
    assert!(completed, "the interview reached COMPLETED");
    assert!(answers >= 6, "the rounds ran on: {answers} answers");
    let (stored, stored_answers) = stored_turns(&client, &id).await;
    assert_eq!(
        stored, said,
        "the database holds what the candidate was shown"
    );
    assert_eq!(stored_answers as u64, answers);
    let (accepted, replaced) = pieces(&server).await;
    assert!(
        accepted + replaced >= 4,
        "the interviewer asked the model for its pieces ({accepted} accepted, {replaced} replaced)"
    );
    assert!(
        accepted >= 1,
        "some of the server's pieces passed the guard ({accepted} accepted, {replaced} replaced)"
    );

    // The report, judged by the model on the server.
    let started = Instant::now();
    let report = loop {
        let r = client.get(&format!("/api/v1/sessions/{id}/report")).await;
        if r.status == axum::http::StatusCode::OK {
            break r.json();
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "no report in 10 minutes: {}",
            r.body
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(report["judge"], "llm:openai:smollm2-135m", "{report}");
    assert_eq!(report["rounds"].as_array().unwrap().len(), 2, "{report}");
    server.stop().await;
}

#[tokio::test]
#[allow(
    clippy::await_holding_lock,
    reason = "the guard only orders CPU-heavy tests; each test has its own runtime"
)]
async fn a_model_server_killed_mid_interview_costs_its_pieces_and_no_answer() {
    let _cpu = crate::util::exclusive_cpu();
    let mut llama = LlamaServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut settings = with_models(dir.path());
    settings.llm = llama.spec();
    let server = start(settings).await;
    let (client, id) = new_interview(&server.state, "kim@example.com").await;
    let mut ws = connect(&server, &client, &id).await;
    let (_, before, completed) = interview(&mut ws, 2).await;
    assert!(!completed);
    let (_, replaced_before) = pieces(&server).await;

    llama.kill();
    // Each answer after the server died is answered, at once, in the pieces' fixed wording.
    for n in before + 1..=before + 3 {
        let asked = Instant::now();
        answer(&mut ws, n, &format!("a{n}"), ANSWER).await;
        let frames = until(&mut ws, interviewer_final).await;
        let notices = frames
            .iter()
            .filter(|k| matches!(k, Kind::Notice(x) if x.message.contains("not answering")))
            .count();
        assert_eq!(
            notices,
            usize::from(n == before + 1),
            "the candidate is told once, at the first failure"
        );
        let Some(Kind::Transcript(t)) = frames.last() else {
            panic!("no reply to answer {n}")
        };
        assert!(!t.text.trim().is_empty());
        assert!(
            asked.elapsed() < Duration::from_secs(8),
            "the reply to answer {n} took {:?}",
            asked.elapsed()
        );
    }
    let (_, replaced_after) = pieces(&server).await;
    assert!(
        replaced_after > replaced_before,
        "the pieces the dead server could not write were replaced and counted"
    );
    let (_, stored_answers) = stored_turns(&client, &id).await;
    assert_eq!(stored_answers as u64, before + 3, "no answer was lost");
    server.stop().await;
}
