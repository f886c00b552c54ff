//! Rehearse's integration tests, built as one binary (linking the whole crate into several would cost minutes).

mod accounts;
mod catalog_seeds;
mod crash;
mod fuzz;
mod fuzz_media;
mod http;
mod intents;
mod layers;
mod live;
mod live_models;
mod local_llm;
mod proto;
mod remote;
mod remote_voice;
mod sandbox;
mod server;
mod sessions_api;
mod solutions;
mod speech;
mod turn_taking;
mod util;
mod ws;
