//! `rehearse bench models`: how fast the local models run here. For the LLM: load time, a cold interviewer
//! prompt's prefill speed and time to first token, decode speed, and a follow-up turn's time to first token with
//! the conversation's KV cache kept and without it. Peak resident memory of the process at the end.

use std::{ops::ControlFlow, path::Path, time::Instant};

use serde::Serialize;

use crate::{
    catalog::{self, SeedSource},
    engine::{
        interview::{Intent, Utterance},
        prompts,
    },
    llm::{Llm, Message, Request, Role, local::LocalLlm},
    models::{Manifest, Role as ModelRole},
};

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub set: String,
    pub threads: usize,
    pub llm: Option<LlmReport>,
    pub peak_rss_mb: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LlmReport {
    pub model: String,
    pub load_seconds: f64,
    pub prompt_tokens: u32,
    pub prefill_tokens_per_second: f64,
    pub first_token_ms: f64,
    pub decode_tokens: u32,
    pub decode_tokens_per_second: f64,
    /// A follow-up turn (the reply and the candidate's answer appended), with the conversation's KV cache.
    pub follow_up_first_token_ms: f64,
    pub follow_up_cached_tokens: u32,
    pub follow_up_new_tokens: u32,
    /// The same follow-up without a cache: the whole prompt runs again.
    pub follow_up_cold_first_token_ms: f64,
}

/// A realistic interviewer turn: Amazon's persona and rules, two exchanges, and the instruction.
fn interview_messages() -> anyhow::Result<Vec<Message>> {
    let catalog = catalog::load(&SeedSource::Embedded)?.catalog;
    let amazon = catalog
        .company("amazon")
        .ok_or_else(|| anyhow::anyhow!("the catalog has no amazon"))?;
    Ok(prompts::messages(
        amazon,
        "SDE II",
        &utterance(),
        &prompts::history(&recent_turns()),
    ))
}

fn utterance() -> Utterance {
    Utterance {
        intent: Intent::FollowUp,
        round: 0,
        round_kind: crate::catalog::RoundKind::Behavioral,
        round_title: "Bar Raiser".into(),
        question: None,
        candidate_said: None,
        suggested_follow_up: Some("What did you personally do, and what was the result?".into()),
        turn: 3,
    }
}

fn recent_turns() -> [(bool, String); 2] {
    [
        (false, "Tell me about a time you disagreed with your manager and what you did about it.".to_string()),
        (true, "Last year my manager wanted to ship a feature without load testing. I disagreed because our \
                peak traffic was three times the test environment. I wrote a one-page risk summary, proposed a \
                two-day load test, and we found a connection-pool limit that would have taken the checkout \
                service down on launch day."
            .to_string()),
    ]
}

fn request(messages: Vec<Message>, session: Option<&str>, max_tokens: u32) -> Request {
    Request {
        messages,
        utterance: None,
        persona_name: String::new(),
        persona_opening: String::new(),
        company_name: String::new(),
        max_tokens,
        temperature: 0.0,
        seed: 1,
        stop: vec![],
        session: session.map(str::to_string),
        ignore_eos: true,
    }
}

fn run_llm(path: &Path, name: &str) -> anyhow::Result<LlmReport> {
    let started = Instant::now();
    let llm = LocalLlm::load(path, name)?;
    let load_seconds = started.elapsed().as_secs_f64();
    let messages = interview_messages()?;
    let quiet = &mut |_: &str| ControlFlow::Continue(());

    // Warm-up on a separate conversation so page faults and allocator growth are not measured.
    llm.generate(&request(messages.clone(), None, 4), quiet)?;

    let first = llm.generate(&request(messages.clone(), Some("bench"), 64), quiet)?;
    let u = first.usage;
    let new_prompt = (u.prompt_tokens - u.cached_tokens).max(1);
    let decode_time = u.total.saturating_sub(u.first_token);
    let decode_tokens = u.completion_tokens.saturating_sub(1);

    // The next turn, as the live interview builds it: this turn's messages, the reply, then the candidate's
    // answer with the next instruction.
    let mut follow = messages.clone();
    follow.push(Message {
        role: Role::Assistant,
        content: first.text.clone(),
    });
    follow.push(prompts::turn(&Utterance {
        candidate_said: Some(
            "I ran the load test myself over a weekend and shared the graphs with the team.".into(),
        ),
        ..utterance()
    }));
    let warm = llm.generate(&request(follow.clone(), Some("bench"), 16), quiet)?;
    let cold = llm.generate(&request(follow, None, 16), quiet)?;
    Ok(LlmReport {
        model: name.to_string(),
        load_seconds,
        prompt_tokens: u.prompt_tokens,
        prefill_tokens_per_second: new_prompt as f64 / u.prefill.as_secs_f64().max(1e-9),
        first_token_ms: u.first_token.as_secs_f64() * 1000.0,
        decode_tokens,
        decode_tokens_per_second: decode_tokens as f64 / decode_time.as_secs_f64().max(1e-9),
        follow_up_first_token_ms: warm.usage.first_token.as_secs_f64() * 1000.0,
        follow_up_cached_tokens: warm.usage.cached_tokens,
        follow_up_new_tokens: warm.usage.prompt_tokens - warm.usage.cached_tokens,
        follow_up_cold_first_token_ms: cold.usage.first_token.as_secs_f64() * 1000.0,
    })
}

/// Peak resident memory of this process (Linux), in MB.
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

pub fn run(models_dir: &Path, set: &str, llm: Option<&str>) -> anyhow::Result<Report> {
    let manifest = Manifest::builtin();
    manifest.set(set)?;
    let llm_name = match llm {
        Some(n) => Some(n.to_string()),
        None => manifest.in_set(set, ModelRole::Llm).map(|m| m.name.clone()),
    };
    let llm = match llm_name {
        Some(name) => {
            let path = manifest.locate(models_dir, &name, ModelRole::Llm)?;
            Some(run_llm(&path, &name)?)
        }
        None => None,
    };
    Ok(Report {
        set: set.to_string(),
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        llm,
        peak_rss_mb: peak_rss_mb(),
    })
}

pub fn print(r: &Report) {
    println!("Local models, set {} ({} threads)", r.set, r.threads);
    if let Some(l) = &r.llm {
        println!("LLM {} (loaded in {:.1} s)", l.model, l.load_seconds);
        println!(
            "  cold prompt: {} tokens, prefill {:.1} tok/s, first token {:.0} ms",
            l.prompt_tokens, l.prefill_tokens_per_second, l.first_token_ms
        );
        println!(
            "  decode: {:.1} tok/s over {} tokens",
            l.decode_tokens_per_second, l.decode_tokens
        );
        println!(
            "  follow-up turn: first token {:.0} ms with the KV cache ({} cached, {} new tokens), {:.0} ms without",
            l.follow_up_first_token_ms,
            l.follow_up_cached_tokens,
            l.follow_up_new_tokens,
            l.follow_up_cold_first_token_ms
        );
    }
    println!("peak resident memory: {:.0} MB", r.peak_rss_mb);
}
