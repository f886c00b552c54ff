//! Rehearse: a self-hosted mock-interview appliance.
//!
//! # Layout
//!
//! Each module sits in one layer of `ARCHITECTURE.md`, and uses only its own layer and those below (a test checks
//! it). Top to bottom:
//!
//! Entry points
//! - [`app`]: the composition root: [`app::AppState::open`] opens the database and the models and builds each
//!   layer's handles; [`app::router`] and [`app::serve`], shared by `main`, the benchmarks and the tests.
//! - [`cli`]: the commands other than `serve` (`seed`, `doctor`, `models`, `user`, `credits`), over settings.
//! - [`bench`]: `rehearse bench ...`, measurements for the README.
//!
//! Web
//! - [`web`]: routes, the one error type, static assets, pages (maud, one file per page), the JSON API, the
//!   WebSocket upgrade, `/metrics`, and [`web::AppState`], the handles the handlers use.
//!
//! Settings and server
//! - [`config`]: what the user typed (flags, `REHEARSE_*` variables, `rehearse.toml`) -> validated [`config::Settings`];
//!   where remote models are, their keys, and `--offline`.
//! - [`listener`]: accepting connections (HTTP or HTTPS) with header and idle deadlines and per-address limits.
//! - [`tls`]: HTTPS for a LAN: a self-signed certificate made once, or the user's own.
//!
//! Services
//! - [`realtime`]: the live interview: one actor per interview performing the engine's effects (the interviewer's
//!   words and voice, listening, code runs), and one client connection over any transport; protobuf frames
//!   generated from `proto/` by prost. Its handles are [`realtime::Services`].
//! - [`sessions`]: the interview lifecycle: creating (and paying for), starting, ending and deleting interviews.
//! - [`scoring::service`]: from a finished interview in the database to a stored report, in the background.
//! - [`accounts::service`]: sign-up, login (throttled), passwords and credits over the stored accounts.
//! - [`backends`]: `--llm/--stt/--tts/--vad` resolved to what runs, with fallbacks when a model cannot load.
//!
//! Storage
//! - [`db`]: the SQLite handle (one connection, used off the async workers), migrations, one file per aggregate.
//!
//! Domain (rules, no IO)
//! - [`engine`]: the interview: lifecycle, answer classification, question choice, the round state machine, the
//!   interviewer's wording and prompts, the guard on what a model writes, and the turn-taking rules.
//! - [`scoring`]: rubrics, judges (a model's checked JSON, or plain rules), aggregation and the report.
//! - [`accounts`]: roles, passwords, tokens and the login throttle.
//!
//! Models
//! - [`llm`]: the language-model trait, the scripted interviewer, the local candle models, and models on another
//!   server (OpenAI-compatible servers, Gemini).
//! - [`voice`]: speech behind small traits: speech-to-text (whisper.cpp, `voice::stt`), text-to-speech (piper voices,
//!   onnxruntime loaded at run time, `voice::tts`) and which audio frames are speech (loudness or Silero VAD,
//!   `voice::vad`).
//! - [`embed`]: sentence embeddings (all-MiniLM-L6-v2 on candle) behind the `Embed` trait, for the judge.
//! - [`sandbox`]: running candidates' code in wasmtime: runtimes, limits, the per-language harnesses, grading.
//! - [`models`]: the model manifest, fetching (pip downloads, checksums, the whisper converter), status.
//!
//! Foundations
//! - [`catalog`]: companies, roles, rounds, questions and coding problems: parsed and validated from `seeds/`.
//! - [`clock`]: the time as stored (milliseconds since the epoch).
//! - [`stats`]: percentiles and p50/p95 summaries of measurements.
//! - [`text`]: folding words, counting phrases, splitting sentences: shared by the guard, the judge and the voice.

pub mod accounts;
pub mod app;
pub mod backends;
pub mod bench;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod embed;
pub mod engine;
pub mod listener;
pub mod llm;
pub mod models;
pub mod realtime;
pub mod sandbox;
pub mod scoring;
pub mod sessions;
pub mod stats;
pub mod text;
pub mod tls;
pub mod voice;
pub mod web;
