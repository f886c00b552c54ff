//! `rehearse bench remote`: what the remote path costs Rehearse itself, apart from any model's speed. A server on
//! loopback in this process answers `/v1/chat/completions` as an OpenAI-compatible server streams, and stamps the
//! moment each request has arrived and each token event is written; the client side is the interviewer's own
//! [`RemoteLlm`], so the clock runs on both sides of the socket:
//!
//! - **to the request**: from calling the model (what a turn does once the engine has decided the piece) to the
//!   server holding the whole request: the request thread, the JSON, the connection and the write;
//! - **token to sink**: from the server writing a token's event to that token reaching the sink that speaks and
//!   shows it: reading, parsing the event and the JSON, and the hand-over between threads.
//!
//! With `--llm openai:MODEL --llm-url URL` it also runs the same requests against that server and reports the
//! model's own first token and pace, for comparison.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{TcpListener, TcpStream},
    ops::ControlFlow,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde::Serialize;

use crate::{
    backends::Spec,
    llm::{
        Llm, Message, MessageRole, Request,
        remote::{Endpoint, RemoteLlm, Timeouts, openai::OpenAi},
    },
    stats::Stats,
};

#[derive(Debug, Serialize)]
pub struct Report {
    pub requests: usize,
    pub tokens_per_request: usize,
    /// From the call to the server holding the request.
    pub to_request: Stats,
    /// From the server writing a token's event to the sink receiving it.
    pub token_to_sink: Stats,
    /// The same requests against a real server, when one was named.
    pub server: Option<ServerRun>,
}

#[derive(Debug, Serialize)]
pub struct ServerRun {
    pub backend: String,
    pub url: String,
    pub first_token: Stats,
    pub tokens_per_second: f64,
    pub failures: usize,
}

/// The moments the fake server saw, on this process's clock.
#[derive(Default)]
struct Stamps {
    arrived: Vec<Instant>,
    written: Vec<Vec<Instant>>,
}

/// Serves `tokens` token events `gap` apart for each request, stamping when each request arrived and each event
/// was written.
fn serve(tokens: usize, gap: Duration) -> anyhow::Result<(String, Arc<Mutex<Stamps>>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/v1", listener.local_addr()?);
    let stamps = Arc::new(Mutex::new(Stamps::default()));
    let log = stamps.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let _ = answer(stream, tokens, gap, &log);
        }
    });
    Ok((url, stamps))
}

fn answer(
    mut stream: TcpStream,
    tokens: usize,
    gap: Duration,
    log: &Mutex<Stamps>,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let arrived = Instant::now();
    stream.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n",
    )?;
    let mut written = Vec::with_capacity(tokens);
    for i in 0..tokens {
        std::thread::sleep(gap);
        let event = format!(
            "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"t{i} \"}},\"finish_reason\":null}}]}}\n\n"
        );
        written.push(Instant::now());
        stream.write_all(event.as_bytes())?;
    }
    stream.write_all(
        b"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n",
    )?;
    let mut stamps = log.lock().unwrap_or_else(|p| p.into_inner());
    stamps.arrived.push(arrived);
    stamps.written.push(written);
    Ok(())
}

/// A follow-up piece's request, of the size the interviewer sends.
fn request(n: usize) -> Request {
    Request {
        messages: vec![
            Message {
                role: MessageRole::System,
                content: "You are Rebecca, a principal engineer interviewing a candidate. "
                    .repeat(12),
            },
            Message {
                role: MessageRole::User,
                content: format!(
                    "Question: Tell me about a migration you led.\nAnswer {n}: I led the move of our billing jobs \
                     onto a queue, wrote the design doc and cut the nightly run from four hours to forty minutes."
                ),
            },
        ],
        scripted: String::new(),
        max_tokens: 48,
        temperature: 0.3,
        seed: n as u64,
        stop: vec!["\n".into()],
        session: Some("bench".into()),
        ignore_eos: false,
    }
}

/// Runs `requests` requests of `tokens` tokens each against the stamping server, then (when `server` names a
/// remote spec) against that server.
pub fn run(requests: usize, tokens: usize, server: Option<&Spec>) -> anyhow::Result<Report> {
    let (url, stamps) = serve(tokens, Duration::from_millis(2))?;
    let llm = RemoteLlm::new(
        Box::new(OpenAi),
        "bench",
        Endpoint::new(&url, None).map_err(anyhow::Error::msg)?,
        Timeouts::default(),
    );
    let mut to_request = Vec::new();
    let mut token_to_sink = Vec::new();
    for n in 0..requests {
        let called = Instant::now();
        let mut received = Vec::with_capacity(tokens);
        llm.generate(&request(n), &mut |piece| {
            if !piece.is_empty() {
                received.push(Instant::now());
            }
            ControlFlow::Continue(())
        })?;
        let stamps = stamps.lock().unwrap_or_else(|p| p.into_inner());
        let (Some(arrived), Some(written)) = (stamps.arrived.last(), stamps.written.last()) else {
            anyhow::bail!("the stamping server saw no request");
        };
        anyhow::ensure!(
            written.len() == received.len(),
            "{} tokens written, {} received",
            written.len(),
            received.len()
        );
        to_request.push(arrived.duration_since(called).as_secs_f64() * 1000.0);
        for (w, r) in written.iter().zip(&received) {
            token_to_sink.push(r.duration_since(*w).as_secs_f64() * 1000.0);
        }
    }
    let server = match server {
        Some(spec @ Spec::Remote(_)) => Some(against(spec, requests)?),
        Some(other) => {
            anyhow::bail!("--llm {other} is not a remote backend (openai:MODEL or gemini:MODEL)")
        }
        None => None,
    };
    Ok(Report {
        requests,
        tokens_per_request: tokens,
        to_request: Stats::of(to_request),
        token_to_sink: Stats::of(token_to_sink),
        server,
    })
}

fn against(spec: &Spec, requests: usize) -> anyhow::Result<ServerRun> {
    let Spec::Remote(r) = spec else {
        unreachable!("checked by the caller")
    };
    let (llm, _) = crate::backends::open_llm(spec, std::path::Path::new("."), Default::default());
    let mut first = Vec::new();
    let (mut tokens, mut decoding) = (0u32, Duration::ZERO);
    let mut failures = 0;
    for n in 0..requests {
        match llm.generate(&request(n), &mut |_| ControlFlow::Continue(())) {
            Ok(c) => {
                first.push(c.usage.first_token.as_secs_f64() * 1000.0);
                tokens += c.tokens.saturating_sub(1);
                decoding += c.usage.total.saturating_sub(c.usage.first_token);
            }
            Err(e) => {
                failures += 1;
                eprintln!("{}: {e}", llm.name());
            }
        }
    }
    Ok(ServerRun {
        backend: llm.name().to_string(),
        url: r.endpoint.url.clone(),
        first_token: Stats::of(first),
        tokens_per_second: f64::from(tokens) / decoding.as_secs_f64().max(1e-9),
        failures,
    })
}

pub fn print(r: &Report) {
    println!(
        "Rehearse's own overhead on the remote path ({} requests of {} tokens, a stamping server on loopback):",
        r.requests, r.tokens_per_request
    );
    let line = |what: &str, s: &Stats| {
        println!(
            "  {what:<28} p50 {:>6.2} ms   p95 {:>6.2} ms   max {:>6.2} ms   ({} samples)",
            s.p50_ms, s.p95_ms, s.max_ms, s.count
        );
    };
    line("call to request received", &r.to_request);
    line("token written to sink", &r.token_to_sink);
    if let Some(s) = &r.server {
        println!("{} at {}:", s.backend, s.url);
        line("first token", &s.first_token);
        println!(
            "  decoding                     {:.1} tokens/s   failures {}",
            s.tokens_per_second, s.failures
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overhead_is_measured_on_both_sides_of_the_socket() {
        let r = run(3, 5, None).unwrap();
        assert_eq!(r.to_request.count, 3);
        assert_eq!(
            r.token_to_sink.count, 15,
            "every token is stamped and received"
        );
        assert!(r.to_request.p50_ms > 0.0 && r.token_to_sink.p50_ms >= 0.0);
        assert!(r.server.is_none());
        assert!(run(1, 1, Some(&Spec::Scripted)).is_err());
    }
}
