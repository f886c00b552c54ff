//! Rehearse: a self-hosted mock-interview appliance.
//!
//! # Layout
//!
//! - [`bench`]: `rehearse bench ...`, measurements for the README.
//! - [`config`]: what the user typed (flags, `REHEARSE_*` variables, `rehearse.toml`) -> validated [`config::Settings`].
//! - [`cli`]: the commands other than `serve` (`seed`, `doctor`), as functions over settings.
//! - [`app`]: [`app::AppState`], [`app::router`] and [`app::serve`], shared by `main` and the tests.
//! - [`db`]: the SQLite handle (one connection, used off the async workers), migrations, one file per aggregate.
//! - [`catalog`]: companies, roles, rounds, questions and coding problems: parsed and validated from `seeds/`.
//! - [`embed`]: sentence embeddings (all-MiniLM-L6-v2 on candle) behind the `Embed` trait, for the judge.
//! - [`engine`]: the interview as pure logic: lifecycle, answer classification, question choice, round state machine.
//! - [`llm`]: the language-model trait, the scripted interviewer and the local candle models.
//! - [`models`]: the model manifest, `models fetch` (pip downloads, checksums, the whisper converter), status.
//! - [`backends`]: `--llm/--stt/--tts/--vad` resolved to what runs, with fallbacks when a model cannot load.
//! - [`scoring`]: rubrics, judges (a model's checked JSON, or plain rules), aggregation and the stored reports.
//! - [`sandbox`]: running candidates' code; for now the per-language harnesses and the output checkers.
//! - [`realtime`]: the WebSocket protocol (types generated from `proto/` by prost).
//! - [`stats`]: percentiles and p50/p95 summaries of measurements.
//! - [`stt`]: speech-to-text with whisper.cpp on a finished utterance.
//! - [`text`]: folding words, counting phrases, splitting sentences: shared by the guard and the judge.
//! - [`tts`]: text-to-speech with piper voices (onnxruntime loaded at run time), sentence by sentence.
//! - [`vad`]: voice activity detection with Silero VAD, for the end-of-turn rules.
//! - [`listener`]: accepting connections (HTTP or HTTPS) with header and idle deadlines and per-address limits.
//! - [`tls`]: HTTPS for a LAN: a self-signed certificate made once, or the user's own.
//! - [`web`]: routes, the one error type, static assets, pages (maud, one file per page) and the JSON API.
//!
//! Dependencies point one way: `web` calls `catalog` and `db`; nothing below `web` knows about HTTP.

pub mod accounts;
pub mod app;
pub mod backends;
pub mod bench;
pub mod catalog;
pub mod cli;
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
pub mod stats;
pub mod stt;
pub mod text;
pub mod tls;
pub mod tts;
pub mod vad;
pub mod web;
