//! The remote backends against fake servers on loopback that answer as the providers' documents say (and as they
//! fail): each fake records what Rehearse sent and plays a scripted reply, written in pieces with pauses, or cut.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{TcpListener, TcpStream},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use super::{gemini::Gemini, openai::OpenAi, *};
use crate::llm::{Message, MessageRole};

/// What the fake answers one request with.
#[derive(Clone)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    /// Written one after the other, `pause` apart.
    pieces: Vec<String>,
    pause: Duration,
    /// Wait this long before answering at all.
    delay: Duration,
}

impl Reply {
    fn events(events: &[&str]) -> Reply {
        Reply {
            status: 200,
            headers: vec![("Content-Type", "text/event-stream".into())],
            pieces: events.iter().map(|e| format!("data: {e}\n\n")).collect(),
            pause: Duration::from_millis(5),
            delay: Duration::ZERO,
        }
    }

    fn status(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type", "application/json".into())],
            pieces: vec![body.to_string()],
            pause: Duration::ZERO,
            delay: Duration::ZERO,
        }
    }
}

/// A request the fake received.
#[derive(Debug, Clone)]
struct Received {
    line: String,
    headers: Vec<(String, String)>,
    body: serde_json::Value,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Fake {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

/// Serves `replies` in order, one request each (the last one again for any further request).
fn fake(replies: Vec<Reply>) -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Vec::new()));
    let log = received.clone();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(stream) = stream else { return };
            let reply = replies[n.min(replies.len() - 1)].clone();
            let log = log.clone();
            std::thread::spawn(move || serve(stream, &reply, &log));
        }
    });
    Fake { url, received }
}

fn serve(mut stream: TcpStream, reply: &Reply, log: &Mutex<Vec<Received>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).unwrap();
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (n, v) = h.split_once(':').unwrap();
        headers.push((n.trim().to_string(), v.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    log.lock().unwrap().push(Received {
        line: line.trim_end().to_string(),
        headers,
        body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    });
    std::thread::sleep(reply.delay);
    let mut head = format!("HTTP/1.1 {} X\r\nConnection: close\r\n", reply.status);
    for (n, v) in &reply.headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    if stream.write_all(head.as_bytes()).is_err() {
        return;
    }
    for piece in &reply.pieces {
        if stream.write_all(piece.as_bytes()).is_err() || stream.flush().is_err() {
            return;
        }
        std::thread::sleep(reply.pause);
    }
}

fn request() -> Request {
    Request {
        messages: vec![
            Message {
                role: MessageRole::System,
                content: "You are Rebecca, an interviewer.".into(),
            },
            Message {
                role: MessageRole::User,
                content: "Candidate: I built the Kafka consumer.".into(),
            },
        ],
        scripted: "What did you build?".into(),
        max_tokens: 40,
        temperature: 0.3,
        seed: 7,
        stop: vec!["\n".into()],
        session: Some("s1".into()),
        ignore_eos: false,
    }
}

/// Short enough for a test, long enough for two tries again (0.25 s and 1 s apart).
fn quick() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(2),
        first_token: Duration::from_millis(2500),
        total: Duration::from_secs(6),
    }
}

fn openai(url: &str, key: Option<&str>) -> RemoteLlm {
    let endpoint = Endpoint::new(url, key.and_then(ApiKey::new)).unwrap();
    RemoteLlm::new(Box::new(OpenAi), "qwen2.5:0.5b", endpoint, quick())
}

fn delta(text: &str) -> String {
    serde_json::json!({ "choices": [{ "index": 0, "delta": { "content": text }, "finish_reason": null }] })
        .to_string()
}

const FINISH: &str = r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#;
const USAGE: &str = r#"{"choices":[],"usage":{"prompt_tokens":31,"completion_tokens":4,"prompt_tokens_details":{"cached_tokens":20}}}"#;

fn collect(llm: &RemoteLlm) -> (Result<Completion, LlmError>, Vec<String>) {
    let mut pieces = Vec::new();
    let done = llm.generate(&request(), &mut |p| {
        if !p.is_empty() {
            pieces.push(p.to_string());
        }
        ControlFlow::Continue(())
    });
    (done, pieces)
}

fn failure(done: Result<Completion, LlmError>) -> String {
    match done {
        Err(LlmError::Unavailable(why)) => why,
        other => panic!("expected the server to be unavailable, got {other:?}"),
    }
}

#[test]
fn openai_streams_the_reply_and_sends_what_the_protocol_says() {
    let events = [
        delta("What did "),
        delta("the consumer "),
        delta("do?"),
        FINISH.into(),
        USAGE.into(),
        "[DONE]".into(),
    ];
    let server = fake(vec![Reply::events(
        &events.iter().map(String::as_str).collect::<Vec<_>>(),
    )]);
    let llm = openai(&format!("{}/", server.url), Some("sk-test-123"));
    assert_eq!(
        llm.name(),
        "openai:qwen2.5:0.5b",
        "the model name keeps its colon"
    );
    let (done, pieces) = collect(&llm);
    let done = done.unwrap();
    assert_eq!(pieces, ["What did ", "the consumer ", "do?"]);
    assert_eq!(done.text, "What did the consumer do?");
    assert!(!done.cancelled);
    assert_eq!(done.usage.prompt_tokens, 31);
    assert_eq!(done.usage.cached_tokens, 20);
    assert_eq!(done.usage.completion_tokens, 4);
    assert!(done.usage.first_token <= done.usage.total);

    let sent = server.received.lock().unwrap()[0].clone();
    assert_eq!(sent.line, "POST /v1/chat/completions HTTP/1.1");
    assert_eq!(sent.header("authorization"), Some("Bearer sk-test-123"));
    assert_eq!(sent.header("content-type"), Some("application/json"));
    let b = &sent.body;
    assert_eq!(b["model"], "qwen2.5:0.5b");
    assert_eq!(b["stream"], true);
    assert_eq!(b["max_tokens"], 40);
    assert_eq!(b["seed"], 7);
    assert_eq!(b["stop"], serde_json::json!(["\n"]));
    assert_eq!(b["messages"][0]["role"], "system");
    assert_eq!(
        b["messages"][1]["content"],
        "Candidate: I built the Kafka consumer."
    );
    assert_eq!(
        b["cache_prompt"], true,
        "a server that is not OpenAI's keeps the cache"
    );
    let to_openai = OpenAi.post(
        &Endpoint::new(openai::DEFAULT_URL, None).unwrap(),
        "gpt-4o-mini",
        &request(),
    );
    assert!(to_openai.body.get("cache_prompt").is_none());
    assert!(to_openai.body.get("max_tokens").is_none());
    assert_eq!(to_openai.body["max_completion_tokens"], 40);
    assert!(to_openai.headers.is_empty(), "no key, no header");
}

#[test]
fn a_reply_no_longer_wanted_stops_between_pieces_and_while_the_server_thinks() {
    let many: Vec<String> = (0..50).map(|i| delta(&format!("w{i} "))).collect();
    let server = fake(vec![Reply::events(
        &many.iter().map(String::as_str).collect::<Vec<_>>(),
    )]);
    let llm = openai(&server.url, None);
    let mut n = 0;
    let done = llm
        .generate(&request(), &mut |p| {
            if p.is_empty() {
                return ControlFlow::Continue(());
            }
            n += 1;
            if n > 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert!(done.cancelled);
    assert_eq!(done.text, "w0 w1 w2 ");

    // A barge-in while nothing is written yet: the sink is asked, and the wait ends at once.
    let silent = fake(vec![Reply {
        delay: Duration::from_secs(5),
        ..Reply::events(&[FINISH])
    }]);
    let llm = openai(&silent.url, None);
    let started = Instant::now();
    let mut asked = 0;
    let done = llm
        .generate(&request(), &mut |_| {
            asked += 1;
            if asked >= 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert!(done.cancelled && done.text.is_empty());
    assert!(
        started.elapsed() < Duration::from_millis(700),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn refusals_fail_at_once_with_the_servers_message_and_never_the_key() {
    let server = fake(vec![Reply::status(
        401,
        r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}"#,
    )]);
    let why = failure(collect(&openai(&server.url, Some("sk-secret-987"))).0);
    assert!(why.contains("refused the API key"), "{why}");
    assert!(why.contains("HTTP 401"), "{why}");
    assert!(why.contains("Incorrect API key provided"), "{why}");
    assert!(!why.contains("sk-secret-987"), "{why}");
    assert_eq!(
        server.received.lock().unwrap().len(),
        1,
        "a 401 is not tried again"
    );

    let server = fake(vec![Reply::status(
        404,
        r#"{"detail":"model 'nope' not found"}"#,
    )]);
    let why = failure(collect(&openai(&server.url, None)).0);
    assert!(
        why.contains("no such model") && why.contains("not found"),
        "{why}"
    );
}

#[test]
fn busy_and_failing_servers_are_tried_again_then_given_up_on() {
    let ok = Reply::events(&[&delta("Fine?"), FINISH, "[DONE]"]);
    let limited = Reply {
        headers: vec![("Retry-After", "0".into())],
        ..Reply::status(429, r#"{"error":{"message":"slow down"}}"#)
    };
    let server = fake(vec![limited, Reply::status(503, "overloaded"), ok]);
    let (done, _) = collect(&openai(&server.url, None));
    assert_eq!(done.unwrap().text, "Fine?");
    assert_eq!(server.received.lock().unwrap().len(), 3);

    let server = fake(vec![Reply::status(500, "boom")]);
    let why = failure(collect(&openai(&server.url, None)).0);
    assert!(
        why.contains("HTTP 500 after 3 tries") && why.contains("boom"),
        "{why}"
    );
    assert_eq!(server.received.lock().unwrap().len(), 1 + RETRIES as usize);
}

#[test]
fn broken_streams_are_failures_not_replies() {
    // Cut off mid-sentence: no finish reason, no [DONE].
    let server = fake(vec![Reply::events(&[&delta("What did you ")])]);
    let why = failure(collect(&openai(&server.url, None)).0);
    assert!(why.contains("cut off"), "{why}");
    // An event that is not JSON, an error inside the stream, an event with no choices.
    for (bad, expect) in [
        ("{not json", "not JSON"),
        (
            r#"{"error":{"message":"context length exceeded"}}"#,
            "context length exceeded",
        ),
        (r#"{"id":"x"}"#, "neither choices nor usage"),
    ] {
        let server = fake(vec![Reply::events(&[&delta("Hi "), bad, FINISH])]);
        let why = failure(collect(&openai(&server.url, None)).0);
        assert!(why.contains(expect), "{bad}: {why}");
    }
    // An HTML page instead of events (a URL that is a web server, not a model server): no event, no reply.
    let page = Reply {
        headers: vec![("Content-Type", "text/html".into())],
        ..Reply::status(200, "<html><body>It works!</body></html>\n")
    };
    let server = fake(vec![page]);
    let why = failure(collect(&openai(&server.url, None)).0);
    assert!(why.contains("text/html, not an event stream"), "{why}");
}

#[test]
fn a_server_that_is_down_or_silent_fails_within_its_timeouts() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let why = failure(collect(&openai(&format!("http://127.0.0.1:{port}/v1"), None)).0);
    assert!(why.contains("cannot reach the server (3 tries)"), "{why}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    let silent = fake(vec![Reply {
        delay: Duration::from_secs(8),
        ..Reply::events(&[FINISH])
    }]);
    let started = Instant::now();
    let why = failure(collect(&openai(&silent.url, None)).0);
    assert!(why.contains("no reply within 2.5 s"), "{why}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn gemini_sends_its_own_shape_and_reads_its_events() {
    let chunk = |text: &str, finish: Option<&str>| {
        let mut c = serde_json::json!({
            "candidates": [{ "content": { "role": "model", "parts": [{ "text": text }] }, "index": 0 }]
        });
        if let Some(f) = finish {
            c["candidates"][0]["finishReason"] = f.into();
            c["usageMetadata"] = serde_json::json!({
                "promptTokenCount": 25, "candidatesTokenCount": 5, "cachedContentTokenCount": 0
            });
        }
        c.to_string()
    };
    let server = fake(vec![Reply::events(&[
        &chunk("Which part ", None),
        &chunk("was yours?", Some("STOP")),
    ])]);
    let endpoint = Endpoint::new(&server.url, ApiKey::new("g-key")).unwrap();
    let llm = RemoteLlm::new(
        Box::new(Gemini),
        "gemini-2.5-flash",
        endpoint.clone(),
        quick(),
    );
    assert_eq!(llm.name(), "gemini:gemini-2.5-flash");
    let mut req = request();
    req.messages.push(Message {
        role: MessageRole::User,
        content: "Ask one question.".into(),
    });
    let done = llm
        .generate(&req, &mut |_| ControlFlow::Continue(()))
        .unwrap();
    assert_eq!(done.text, "Which part was yours?");
    assert_eq!(done.usage.prompt_tokens, 25);
    assert_eq!(done.tokens, 5);
    let sent = server.received.lock().unwrap()[0].clone();
    assert_eq!(
        sent.line,
        "POST /v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse HTTP/1.1"
    );
    assert_eq!(sent.header("x-goog-api-key"), Some("g-key"));
    assert!(sent.header("authorization").is_none());
    let b = &sent.body;
    assert_eq!(
        b["systemInstruction"]["parts"][0]["text"],
        "You are Rebecca, an interviewer."
    );
    assert_eq!(
        b["contents"].as_array().unwrap().len(),
        1,
        "two user turns in a row are one"
    );
    assert_eq!(b["contents"][0]["role"], "user");
    assert_eq!(
        b["contents"][0]["parts"][0]["text"],
        "Candidate: I built the Kafka consumer.\n\nAsk one question."
    );
    assert_eq!(b["generationConfig"]["maxOutputTokens"], 40);
    assert_eq!(
        b["generationConfig"]["stopSequences"],
        serde_json::json!(["\n"])
    );

    // No finish reason: cut off. A blocked prompt: refused, with the reason.
    let server = fake(vec![Reply::events(&[&chunk("Which ", None)])]);
    let llm = RemoteLlm::new(
        Box::new(Gemini),
        "m",
        Endpoint::new(&server.url, None).unwrap(),
        quick(),
    );
    assert!(failure(collect(&llm).0).contains("cut off"));
    let server = fake(vec![Reply::events(&[
        r#"{"promptFeedback":{"blockReason":"SAFETY"}}"#,
    ])]);
    let llm = RemoteLlm::new(
        Box::new(Gemini),
        "m",
        Endpoint::new(&server.url, None).unwrap(),
        quick(),
    );
    assert!(failure(collect(&llm).0).contains("refused the prompt (SAFETY)"));
}

#[test]
fn endpoints_are_checked_and_keys_never_shown() {
    for (url, loopback) in [
        ("http://127.0.0.1:8000/v1", true),
        ("http://localhost:11434/v1/", true),
        ("http://[::1]:8000/v1", true),
        ("http://127.8.9.10/v1", true),
        ("https://api.openai.com/v1", false),
        ("http://192.168.1.20:8000/v1", false),
        ("http://user:pw@10.0.0.1/v1", false),
        ("http://localhost.evil.example/v1", false),
    ] {
        let e = Endpoint::new(url, None).unwrap();
        assert_eq!(e.is_loopback(), loopback, "{url}");
        assert!(!e.url.ends_with('/'));
    }
    assert_eq!(
        Endpoint::new("http://127.0.0.1:8000/v1", None)
            .unwrap()
            .host(),
        "127.0.0.1:8000"
    );
    for bad in [
        "ftp://x/v1",
        "127.0.0.1:8000",
        "http://",
        "http:///v1",
        "http://a b/v1",
    ] {
        assert!(Endpoint::new(bad, None).is_err(), "{bad}");
    }
    assert!(ApiKey::new("  ").is_none());
    let e = Endpoint::new("http://127.0.0.1/v1", ApiKey::new("sk-live-abc")).unwrap();
    let shown = format!("{e:?}");
    assert!(
        !shown.contains("sk-live-abc") && shown.contains("redacted"),
        "{shown}"
    );
}
