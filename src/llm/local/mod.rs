//! The local interviewer: a quantized GGUF model on candle, run by one dedicated thread that serves every
//! interview.
//!
//! - **Fair.** Requests wait in a bounded queue; up to [`MAX_ACTIVE`] run at once, interleaved one step at a
//!   time (a prefill chunk or one decoded token), so a long generation cannot starve the others.
//! - **Cached.** Each conversation (the request's `session`) keeps its KV cache between turns. A new prompt is
//!   compared with the tokens the cache holds and only the new suffix is run; the model's own reply keeps the
//!   tokens it was written in, even where the tokenizer would split its text differently. Every cache the thread
//!   holds, idle or in use, stays within one memory budget: an idle one is dropped, least recently used first,
//!   when a new one would pass it.
//! - **Cancellable.** When the caller's sink stops, the job is dropped before its next step.
//! - **Streaming.** Text is released only as whole UTF-8, and held back while it could still be the start of a
//!   stop sequence.

pub mod model;
pub mod qmatmul;
pub mod template;
pub mod tokenizer;

use std::{
    collections::VecDeque,
    ops::ControlFlow,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
        mpsc,
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use candle_core::{Device, quantized::gguf_file};

use self::{
    model::{Cache, Sampler, Weights},
    template::Template,
    tokenizer::{Tokenizer, Utf8Stream},
};
use super::{Completion, Llm, LlmError, Request, Usage};

/// Generations interleaved at once; more wait in the queue.
pub const MAX_ACTIVE: usize = 4;
/// Requests that may wait; beyond this the caller is told the model is busy.
const QUEUE: usize = 64;
/// Prompt tokens run per step: large enough for fast prefill, small enough to interleave.
const PREFILL_CHUNK: usize = 256;
/// What conversations' caches may hold: an idle conversation keeps its cache so that its next turn pays only for
/// its new tokens. `total` bounds every cache at once, the idle ones and those of the generations running: when
/// a running one grows or a finished one is kept past it, the least recently used idle ones are dropped (a dropped
/// conversation's next turn runs its whole prompt again). A cache over `per_conversation` is not kept at all once
/// its turn ends.
///
/// `resident`, when set, bounds the whole process: the caches may hold only what the process's resident memory
/// leaves below it, so that speech recognition's and the voice's working memory, the prefill's temporaries and
/// the rest of the server are paid for by idle caches rather than added on top. The server sets it to its resident
/// memory with the models loaded plus `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    pub per_conversation: usize,
    pub total: usize,
    pub resident: Option<usize>,
}

impl Default for CacheLimits {
    fn default() -> Self {
        CacheLimits {
            per_conversation: 64 << 20,
            total: 2 << 30,
            resident: None,
        }
    }
}

/// How often at most the scheduler reads the process's resident memory.
const RESIDENT_EVERY: Duration = Duration::from_millis(250);

/// The process's resident memory in bytes, from `/proc/self/status` (Linux); `None` elsewhere.
pub fn resident_bytes() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb << 10)
}

/// What the caches may hold now: `total`, or less when the rest of the process leaves less below `resident`.
#[derive(Debug, Default)]
struct Budget {
    /// Resident bytes besides the caches, at the last reading.
    other: usize,
    read: Option<Instant>,
}

impl Budget {
    /// `held`: what the caches hold now. `settled`: whether no dropped cache's memory still waits to be handed
    /// back (memory freed but still resident would read as the rest of the process's).
    fn of(&mut self, limits: CacheLimits, held: usize, settled: bool) -> usize {
        let Some(resident) = limits.resident else {
            return limits.total;
        };
        if settled && self.read.is_none_or(|t| t.elapsed() >= RESIDENT_EVERY) {
            if let Some(rss) = resident_bytes() {
                self.other = rss.saturating_sub(held);
            }
            self.read = Some(Instant::now());
        }
        limits.total.min(resident.saturating_sub(self.other))
    }
}
/// How often a caller waiting for its first piece is asked whether it still wants it.
const LIVENESS: Duration = Duration::from_millis(50);
/// Tokens of context used at most (the models know more; memory and speed say less).
const MAX_CONTEXT: usize = 4096;
/// Recent tokens the repetition penalty looks at.
const PENALTY_WINDOW: usize = 64;

/// What a loaded model is, for `doctor`, logs and benchmarks.
#[derive(Debug, Clone)]
pub struct Info {
    pub name: String,
    pub path: std::path::PathBuf,
    pub arch: String,
    pub template: &'static str,
    pub context: usize,
    pub vocab: usize,
    pub load_time: Duration,
}

struct Shared {
    caches: std::sync::Mutex<CacheLimits>,
    /// What the conversations' caches hold now, idle and in use, in bytes.
    held: AtomicUsize,
    weights: Arc<Weights>,
    tokenizer: Tokenizer,
    template: Template,
    stop_ids: Vec<u32>,
}

pub struct LocalLlm {
    name: String,
    info: Info,
    shared: Arc<Shared>,
    queue: mpsc::SyncSender<Job>,
}

impl std::fmt::Debug for LocalLlm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalLlm")
            .field("info", &self.info)
            .finish()
    }
}

struct Job {
    /// The prompt as text, and as the tokenizer splits it.
    text: String,
    prompt: Vec<u32>,
    /// The most prompt tokens that leave room for the reply.
    budget: usize,
    session: Option<String>,
    max_tokens: usize,
    sampler: Sampler,
    stop: Vec<String>,
    ignore_eos: bool,
    cancel: Arc<AtomicBool>,
    events: mpsc::Sender<Event>,
    queued: Instant,
}

enum Event {
    Piece(String),
    Done { usage: Usage, cancelled: bool },
    Failed(String),
}

impl LocalLlm {
    /// Loads a GGUF file. Errors name the file and say what is wrong with it.
    pub fn load(path: &Path, name: &str) -> anyhow::Result<LocalLlm> {
        let started = Instant::now();
        let mut file = std::fs::File::open(path)
            .with_context(|| format!("opening the model {}", path.display()))?;
        let content = gguf_file::Content::read(&mut file)
            .map_err(|e| anyhow::anyhow!("{} is not a readable GGUF file: {e}", path.display()))?;
        let tokenizer = Tokenizer::from_gguf(&content)
            .with_context(|| format!("reading the tokenizer of {}", path.display()))?;
        let template = Template::detect(gguf_text(&content, "tokenizer.chat_template"));
        let device = device()?;
        let weights = Weights::load(&content, &mut file, &device, MAX_CONTEXT)
            .with_context(|| format!("loading the weights of {}", path.display()))?;
        let mut stop_ids: Vec<u32> = template
            .stop_tokens()
            .iter()
            .filter_map(|t| tokenizer.id(t))
            .collect();
        stop_ids.extend(tokenizer.eos);
        let info = Info {
            name: name.to_string(),
            path: path.to_path_buf(),
            arch: format!("{:?}", weights.arch).to_lowercase(),
            template: template.name(),
            context: weights.context,
            vocab: tokenizer.vocab_size(),
            load_time: started.elapsed(),
        };
        let shared = Arc::new(Shared {
            caches: std::sync::Mutex::new(CacheLimits::default()),
            held: AtomicUsize::new(0),
            weights,
            tokenizer,
            template,
            stop_ids,
        });
        let (queue, rx) = mpsc::sync_channel(QUEUE);
        let worker = shared.clone();
        std::thread::Builder::new()
            .name("llm".into())
            .spawn(move || run(&worker, &rx))
            .context("starting the model thread")?;
        Ok(LocalLlm {
            name: format!("local:{name}"),
            info,
            shared,
            queue,
        })
    }

    pub fn info(&self) -> &Info {
        &self.info
    }

    /// What the conversations' caches hold now, idle and in use, in bytes (within the total of [`CacheLimits`]
    /// unless the generations running alone pass it).
    pub fn cache_bytes(&self) -> usize {
        self.shared.held.load(Ordering::Relaxed)
    }

    /// Sets what conversations' caches may hold (from the next step on).
    pub fn set_cache_limits(&self, limits: CacheLimits) {
        *self.shared.caches.lock().unwrap_or_else(|p| p.into_inner()) = limits;
    }

    /// What conversations' caches may hold now.
    pub fn cache_limits(&self) -> CacheLimits {
        *self.shared.caches.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The prompt text for `messages` in this model's chat template.
    pub fn render(&self, messages: &[super::Message]) -> String {
        self.shared.template.render(messages)
    }

    /// The prompt's text and tokens, dropping the oldest turns (never the first, system message) until the
    /// prompt and the reply fit in the context (at most the budget returned).
    fn prompt(&self, req: &Request) -> Result<(String, Vec<u32>, usize), LlmError> {
        let context = self.shared.weights.context;
        let budget = context.saturating_sub(req.max_tokens as usize + 1);
        let mut messages = req.messages.clone();
        loop {
            let text = self.shared.template.render(&messages);
            let ids = self
                .shared
                .tokenizer
                .encode(&text)
                .map_err(|e| LlmError::Generate(e.to_string()))?;
            if ids.len() <= budget {
                return Ok((text, ids, budget));
            }
            if messages.len() <= 2 {
                return Err(LlmError::Generate(format!(
                    "the prompt is {} tokens; the model's context holds {context}",
                    ids.len()
                )));
            }
            messages.remove(1);
        }
    }
}

fn device() -> anyhow::Result<Device> {
    #[cfg(feature = "cuda")]
    {
        if let Ok(d) = Device::new_cuda(0) {
            return Ok(d);
        }
        tracing::warn!("no CUDA device could be opened; the model runs on the CPU");
    }
    Ok(Device::Cpu)
}

impl Llm for LocalLlm {
    fn name(&self) -> &str {
        &self.name
    }

    fn cache_bytes(&self) -> Option<usize> {
        Some(LocalLlm::cache_bytes(self))
    }

    fn bound_resident(&self, resident: usize) {
        let mut limits = self.cache_limits();
        limits.resident = Some(resident);
        self.set_cache_limits(limits);
    }

    fn generate(
        &self,
        req: &Request,
        sink: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Completion, LlmError> {
        let (text, prompt, budget) = self.prompt(req)?;
        let (events, rx) = mpsc::channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let job = Job {
            text,
            prompt,
            budget,
            session: req.session.clone(),
            max_tokens: req.max_tokens.max(1) as usize,
            sampler: Sampler::new(req.seed, req.temperature),
            stop: req.stop.iter().filter(|s| !s.is_empty()).cloned().collect(),
            ignore_eos: req.ignore_eos,
            cancel: cancel.clone(),
            events,
            queued: Instant::now(),
        };
        self.queue.try_send(job).map_err(|e| match e {
            mpsc::TrySendError::Full(_) => LlmError::Busy,
            mpsc::TrySendError::Disconnected(_) => {
                LlmError::Generate("the model thread has stopped".into())
            }
        })?;
        let mut text = String::new();
        let mut stopped_by_sink = false;
        loop {
            let event = match rx.recv_timeout(LIVENESS) {
                Ok(event) => event,
                // While the job waits in the queue or prefills, the sink is asked with an empty piece whether it
                // still wants the reply: one given up on (a reply too slow, a barge-in) leaves the queue at once
                // instead of costing a prefill later.
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if !stopped_by_sink && sink("").is_break() {
                        stopped_by_sink = true;
                        cancel.store(true, Ordering::Relaxed);
                    }
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            match event {
                Event::Piece(p) => {
                    if stopped_by_sink {
                        continue;
                    }
                    text.push_str(&p);
                    if sink(&p).is_break() {
                        stopped_by_sink = true;
                        cancel.store(true, Ordering::Relaxed);
                    }
                }
                Event::Done { usage, cancelled } => {
                    return Ok(Completion {
                        text,
                        cancelled: cancelled || stopped_by_sink,
                        tokens: usage.completion_tokens,
                        usage,
                    });
                }
                Event::Failed(e) => return Err(LlmError::Generate(e)),
            }
        }
        Err(LlmError::Generate("the model thread has stopped".into()))
    }
}

/// A conversation's cache and the tokens it covers.
struct Conversation {
    key: String,
    cache: Cache,
    tokens: Vec<u32>,
}

struct Active {
    job: Job,
    conv: Conversation,
    /// Prompt tokens still to run.
    pending: Vec<u32>,
    /// The sampled token to feed next.
    next: Option<u32>,
    generated: Vec<u32>,
    utf8: Utf8Stream,
    /// Text decoded but not yet sent (held back for stop sequences).
    held: String,
    usage: Usage,
}

enum Step {
    Continue,
    Finished { cancelled: bool },
}

fn run(shared: &Shared, rx: &mpsc::Receiver<Job>) {
    let mut idle: VecDeque<Conversation> = VecDeque::new();
    let mut active: VecDeque<Active> = VecDeque::new();
    // Jobs whose conversation is running another job: each waits for that one's cache rather than start afresh.
    let mut waiting: VecDeque<Job> = VecDeque::new();
    // Cache bytes dropped since freed memory was last handed back.
    let (mut freed, mut last_trim) = (0usize, Instant::now());
    let mut budget = Budget::default();
    loop {
        if !take_jobs(shared, rx, &mut active, &mut waiting, &mut idle) {
            return;
        }
        let Some(mut a) = active.pop_front() else {
            continue;
        };
        let before = a.conv.cache.bytes();
        let stepped = step(shared, &mut a);
        if a.conv.cache.bytes() > before {
            freed += room_for_growth(
                shared,
                &a.conv.cache,
                &active,
                &mut idle,
                &mut budget,
                freed == 0,
            );
        }
        let key = match stepped {
            Ok(Step::Continue) => {
                active.push_back(a);
                continue;
            }
            Ok(Step::Finished { cancelled }) => {
                send_end(&mut a, cancelled);
                let key = a.conv.key.clone();
                freed += keep_finished(shared, a.conv, &active, &mut idle, &mut budget, freed == 0);
                key
            }
            Err(e) => {
                let _ = a.job.events.send(Event::Failed(format!("{e:#}")));
                // The cache may be half-extended: drop it rather than keep a wrong one.
                freed += a.conv.cache.bytes();
                a.conv.key
            }
        };
        shared
            .held
            .store(in_use_bytes(&active) + kept_bytes(&idle), Ordering::Relaxed);
        if freed > 0 && last_trim.elapsed() >= TRIM_EVERY {
            give_back_freed_memory();
            (freed, last_trim) = (0, Instant::now());
        }
        resume_waiting(shared, &key, &mut waiting, &mut active, &mut idle);
    }
}

/// Takes new jobs: blocks for one when nothing runs, then takes what is queued while there is room. Returns false
/// when the channel has closed and nothing runs.
fn take_jobs(
    shared: &Shared,
    rx: &mpsc::Receiver<Job>,
    active: &mut VecDeque<Active>,
    waiting: &mut VecDeque<Job>,
    idle: &mut VecDeque<Conversation>,
) -> bool {
    if active.is_empty() {
        match waiting.pop_front() {
            Some(job) => active.push_back(admit(shared, job, idle)),
            None => match rx.recv() {
                Ok(job) => schedule(job, active, waiting, idle, shared),
                Err(_) => return false,
            },
        }
    }
    while active.len() < MAX_ACTIVE && waiting.len() < QUEUE {
        match rx.try_recv() {
            Ok(job) => schedule(job, active, waiting, idle, shared),
            Err(_) => break,
        }
    }
    true
}

/// After a step grew the cache `grown`: idle caches make room for it, and the bytes held are updated. Returns the
/// bytes dropped.
fn room_for_growth(
    shared: &Shared,
    grown: &Cache,
    active: &VecDeque<Active>,
    idle: &mut VecDeque<Conversation>,
    budget: &mut Budget,
    settled: bool,
) -> usize {
    let limits = *shared.caches.lock().unwrap_or_else(|p| p.into_inner());
    let in_use = grown.bytes() + in_use_bytes(active);
    let total = budget.of(limits, in_use + kept_bytes(idle), settled);
    let dropped = make_room(idle, in_use, total);
    shared
        .held
        .store(in_use + kept_bytes(idle), Ordering::Relaxed);
    dropped
}

/// Sends a finished job's last held text (unless cancelled) and its usage.
fn send_end(a: &mut Active, cancelled: bool) {
    let rest = a.utf8.finish();
    a.held.push_str(&rest);
    if !a.held.is_empty() && !cancelled {
        let _ = a.job.events.send(Event::Piece(std::mem::take(&mut a.held)));
    }
    a.usage.total = a.job.queued.elapsed();
    let _ = a.job.events.send(Event::Done {
        usage: a.usage,
        cancelled,
    });
}

/// Keeps a finished conversation's cache among the idle ones, within the budget. Returns the bytes dropped.
fn keep_finished(
    shared: &Shared,
    conv: Conversation,
    active: &VecDeque<Active>,
    idle: &mut VecDeque<Conversation>,
    budget: &mut Budget,
    settled: bool,
) -> usize {
    let mut limits = *shared.caches.lock().unwrap_or_else(|p| p.into_inner());
    let in_use = in_use_bytes(active);
    limits.total = budget.of(
        limits,
        in_use + conv.cache.bytes() + kept_bytes(idle),
        settled,
    );
    keep(idle, conv, limits, in_use)
}

/// The conversation `key` is free: the next job waiting for it goes on from its cache.
fn resume_waiting(
    shared: &Shared,
    key: &str,
    waiting: &mut VecDeque<Job>,
    active: &mut VecDeque<Active>,
    idle: &mut VecDeque<Conversation>,
) {
    if let Some(i) = waiting
        .iter()
        .position(|j| j.session.as_deref() == Some(key))
    {
        let job = waiting.remove(i).expect("found");
        active.push_back(admit(shared, job, idle));
    }
}

/// Starts a job, or has it wait while its conversation runs another.
fn schedule(
    job: Job,
    active: &mut VecDeque<Active>,
    waiting: &mut VecDeque<Job>,
    idle: &mut VecDeque<Conversation>,
    shared: &Shared,
) {
    let busy = |key: &str| {
        !key.is_empty()
            && (active.iter().any(|a| a.conv.key == key)
                || waiting.iter().any(|j| j.session.as_deref() == Some(key)))
    };
    if busy(job.session.as_deref().unwrap_or_default()) {
        waiting.push_back(job);
    } else {
        active.push_back(admit(shared, job, idle));
    }
}

/// Takes the job's conversation out of the idle list (or starts one) and keeps the longest prefix of the cache
/// that matches the new prompt.
fn admit(shared: &Shared, mut job: Job, idle: &mut VecDeque<Conversation>) -> Active {
    let key = job.session.clone().unwrap_or_default();
    let found = if key.is_empty() {
        None
    } else {
        idle.iter().position(|c| c.key == key)
    };
    let mut conv = match found.and_then(|i| idle.remove(i)) {
        Some(c) => c,
        None => Conversation {
            key,
            cache: Cache::default(),
            tokens: Vec::new(),
        },
    };
    job.prompt = keep_own_tokens(&shared.tokenizer, &conv.tokens, &job);
    let common = conv
        .tokens
        .iter()
        .zip(&job.prompt)
        .take_while(|(a, b)| a == b)
        .count();
    // At least one prompt token must run to produce the next token's logits.
    let common = common.min(job.prompt.len().saturating_sub(1));
    conv.cache.truncate(common);
    conv.tokens.truncate(common);
    let pending = job.prompt[common..].to_vec();
    let usage = Usage {
        prompt_tokens: job.prompt.len() as u32,
        cached_tokens: common as u32,
        ..Usage::default()
    };
    Active {
        job,
        conv,
        pending,
        next: None,
        generated: Vec::new(),
        utf8: Utf8Stream::default(),
        held: String::new(),
        usage,
    }
}

/// The prompt's tokens, beginning with the conversation's own tokens for as much of the text as they spell. The
/// model does not always split its reply as the tokenizer would split the same text; tokenizing the reply afresh
/// would then make the next turn run it again. The rest of the text is tokenized as usual.
fn keep_own_tokens(tokenizer: &Tokenizer, own: &[u32], job: &Job) -> Vec<u32> {
    let text = job.text.as_bytes();
    let (mut kept, mut at) = (0, 0);
    for &id in own {
        let spelled = tokenizer.spelling(id);
        if spelled.is_empty() || !text[at..].starts_with(spelled) {
            break;
        }
        kept += 1;
        at += spelled.len();
    }
    // A character split across tokens: keep only whole characters' tokens.
    while kept > 0 && !job.text.is_char_boundary(at) {
        kept -= 1;
        at -= tokenizer.spelling(own[kept]).len();
    }
    if kept == 0 {
        return job.prompt.clone();
    }
    let Ok(rest) = tokenizer.encode(&job.text[at..]) else {
        return job.prompt.clone();
    };
    let ids = [&own[..kept], &rest[..]].concat();
    if ids.len() > job.budget {
        return job.prompt.clone();
    }
    ids
}

fn kept_bytes(idle: &VecDeque<Conversation>) -> usize {
    idle.iter().map(|c| c.cache.bytes()).sum()
}

fn in_use_bytes(active: &VecDeque<Active>) -> usize {
    active.iter().map(|a| a.conv.cache.bytes()).sum()
}

/// Keeps an idle conversation's cache (unless it alone is over its bound), then drops the least recently used
/// ones while the idle caches and the `in_use` ones pass the total. Returns the bytes dropped.
fn keep(
    idle: &mut VecDeque<Conversation>,
    conv: Conversation,
    limits: CacheLimits,
    in_use: usize,
) -> usize {
    if conv.key.is_empty() || conv.cache.bytes() > limits.per_conversation {
        return conv.cache.bytes();
    }
    idle.push_back(conv);
    make_room(idle, in_use, limits.total)
}

/// Drops the least recently used idle caches until they and the caches in use (`in_use` bytes) fit `total`.
/// Returns the bytes dropped.
fn make_room(idle: &mut VecDeque<Conversation>, in_use: usize, total: usize) -> usize {
    let mut held = in_use + kept_bytes(idle);
    let mut dropped = 0;
    while held > total {
        match idle.pop_front() {
            Some(old) => {
                held -= old.cache.bytes();
                dropped += old.cache.bytes();
            }
            None => break,
        }
    }
    dropped
}

/// How often at most the thread hands the memory of dropped caches back to the system.
const TRIM_EVERY: Duration = Duration::from_secs(1);

/// Hands the free pages of the allocator's heaps back to the system. A dropped cache's buffers are freed into
/// those heaps, which keep them resident and reuse them only for allocations that fit: a 150 s text soak with the
/// caches within their 2 GB bound had 850 MB free but resident in the heaps. Mapping large buffers on their own
/// instead (a fixed `M_MMAP_THRESHOLD`) slows prefill by a third, since its temporaries are as large as a cache's
/// buffers and would be mapped afresh each step.
#[allow(unsafe_code)]
fn give_back_freed_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases free pages of the allocator's own heaps; it is thread-safe and takes no
    // pointers.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn step(shared: &Shared, a: &mut Active) -> anyhow::Result<Step> {
    if a.job.cancel.load(Ordering::Relaxed) {
        return Ok(Step::Finished { cancelled: true });
    }
    let logits = if !a.pending.is_empty() {
        let t = Instant::now();
        let n = a.pending.len().min(PREFILL_CHUNK);
        let chunk: Vec<u32> = a.pending.drain(..n).collect();
        let logits = shared.weights.forward(&chunk, &mut a.conv.cache)?;
        a.conv.tokens.extend_from_slice(&chunk);
        a.usage.prefill += t.elapsed();
        if !a.pending.is_empty() {
            return Ok(Step::Continue);
        }
        logits
    } else {
        let Some(next) = a.next.take() else {
            return Ok(Step::Finished { cancelled: false });
        };
        let logits = shared.weights.forward(&[next], &mut a.conv.cache)?;
        a.conv.tokens.push(next);
        logits
    };
    let recent = &a.generated[a.generated.len().saturating_sub(PENALTY_WINDOW)..];
    let id = a.job.sampler.sample(&logits, recent)?;
    if a.generated.is_empty() {
        a.usage.first_token = a.job.queued.elapsed();
    }
    if shared.stop_ids.contains(&id) && !a.job.ignore_eos {
        return Ok(Step::Finished { cancelled: false });
    }
    a.generated.push(id);
    a.usage.completion_tokens += 1;
    let piece = a.utf8.push(shared.tokenizer.token_bytes(id));
    a.held.push_str(&piece);
    if let Some(at) = a
        .job
        .stop
        .iter()
        .filter_map(|s| a.held.find(s.as_str()))
        .min()
    {
        a.held.truncate(at);
        return Ok(Step::Finished { cancelled: false });
    }
    // Send what can no longer turn into a stop sequence.
    let hold = a.job.stop.iter().map(|s| s.len() - 1).max().unwrap_or(0);
    let mut cut = a.held.len().saturating_sub(hold);
    while !a.held.is_char_boundary(cut) {
        cut -= 1;
    }
    if cut > 0 {
        let rest = a.held.split_off(cut);
        let out = std::mem::replace(&mut a.held, rest);
        if a.job.events.send(Event::Piece(out)).is_err() {
            return Ok(Step::Finished { cancelled: true });
        }
    }
    if a.generated.len() >= a.job.max_tokens {
        return Ok(Step::Finished { cancelled: false });
    }
    a.next = Some(id);
    Ok(Step::Continue)
}

/// A GGUF metadata entry that is text, if the file has it.
fn gguf_text<'a>(content: &'a gguf_file::Content, key: &str) -> Option<&'a str> {
    content
        .metadata
        .get(key)
        .and_then(|v| v.to_string().ok())
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conversation(key: &str, mb: usize) -> Conversation {
        Conversation {
            key: key.into(),
            cache: Cache::of_bytes(mb << 20),
            tokens: Vec::new(),
        }
    }

    fn keys(idle: &VecDeque<Conversation>) -> Vec<&str> {
        idle.iter().map(|c| c.key.as_str()).collect()
    }

    #[test]
    fn kept_caches_stay_within_their_bounds_dropping_the_least_recently_used() {
        let limits = CacheLimits {
            per_conversation: 8 << 20,
            total: 20 << 20,
            resident: None,
        };
        let mut idle = VecDeque::new();
        for key in ["a", "b", "c"] {
            keep(&mut idle, conversation(key, 6), limits, 0);
        }
        assert_eq!(keys(&idle), ["a", "b", "c"]);
        keep(&mut idle, conversation("d", 6), limits, 0);
        assert_eq!(
            keys(&idle),
            ["b", "c", "d"],
            "the oldest goes past the total"
        );
        keep(&mut idle, conversation("huge", 9), limits, 0);
        assert_eq!(
            keys(&idle),
            ["b", "c", "d"],
            "one over its own bound is not kept"
        );
        keep(&mut idle, conversation("", 1), limits, 0);
        assert_eq!(
            keys(&idle),
            ["b", "c", "d"],
            "a request without a conversation keeps nothing"
        );
        let total: usize = idle.iter().map(|c| c.cache.bytes()).sum();
        assert!(total <= limits.total);
    }

    #[test]
    fn a_resident_bound_leaves_the_caches_what_the_rest_of_the_process_does_not_hold() {
        let limits = CacheLimits {
            per_conversation: 8 << 20,
            total: 20 << 20,
            resident: None,
        };
        let mut budget = Budget::default();
        assert_eq!(budget.of(limits, 0, true), limits.total, "unbounded");
        let rss = resident_bytes().expect("Linux reports resident memory");
        assert!(rss > 1 << 20, "{rss}");
        // A bound far above the process leaves the caches their total.
        let roomy = CacheLimits {
            resident: Some(rss + (1 << 30)),
            ..limits
        };
        assert_eq!(Budget::default().of(roomy, 0, true), limits.total);
        // A bound the process already passes leaves them nothing: every idle cache goes.
        let tight = CacheLimits {
            resident: Some(rss / 2),
            ..limits
        };
        let mut idle = VecDeque::new();
        for key in ["a", "b"] {
            keep(&mut idle, conversation(key, 6), limits, 0);
        }
        let nothing = Budget::default().of(tight, 0, true);
        assert_eq!(nothing, 0);
        assert_eq!(make_room(&mut idle, 0, nothing), 12 << 20);
        assert!(idle.is_empty());
        // Until freed memory is handed back nothing is read (freed memory would read as the rest's): with no
        // reading yet, the rest counts as nothing.
        let ten = CacheLimits {
            resident: Some(10 << 20),
            ..limits
        };
        assert_eq!(Budget::default().of(ten, 0, false), 10 << 20);
    }

    #[test]
    fn caches_in_use_count_against_the_total_and_push_idle_ones_out() {
        let limits = CacheLimits {
            per_conversation: 8 << 20,
            total: 20 << 20,
            resident: None,
        };
        let mut idle = VecDeque::new();
        for key in ["a", "b", "c"] {
            keep(&mut idle, conversation(key, 6), limits, 0);
        }
        // Two generations running hold 7 MB between them: 18 + 7 is past 20, so "a" goes.
        assert_eq!(make_room(&mut idle, 7 << 20, limits.total), 6 << 20);
        assert_eq!(keys(&idle), ["b", "c"]);
        // A finished one kept while 10 MB are in use: 12 + 6 + 10 is past 20, two go.
        keep(&mut idle, conversation("d", 6), limits, 10 << 20);
        assert_eq!(keys(&idle), ["d"]);
        // Caches in use are never dropped: past the total on their own, no idle one is left.
        make_room(&mut idle, 30 << 20, limits.total);
        assert!(idle.is_empty());
    }
}
