//! The interview itself, as pure logic with no IO: the session lifecycle ([`lifecycle`]), answer classification
//! ([`answers`]), question choice ([`plan`]) and the round state machine ([`interview`]), which turns inputs and the
//! current time into effects for the realtime actor to perform; [`wording`] gives each turn its shape (fixed wording,
//! and the pieces a model writes), [`prompts`] asks a model for those pieces, and [`guard`] checks whether a turn,
//! or a model's piece of one, is a real interviewer's. This module imports no axum, tokio or rusqlite.

pub mod answers;
pub mod denied;
pub mod elsewhere;
pub mod guard;
pub mod intents;
pub mod interview;
pub mod lifecycle;
pub mod plan;
pub mod prompts;
pub mod turns;
pub mod wording;
