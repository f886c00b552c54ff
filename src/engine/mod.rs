//! The interview itself, as pure logic with no IO: the session lifecycle ([`lifecycle`]), answer classification
//! ([`answers`]), question choice ([`plan`]) and the round state machine ([`interview`]), which turns inputs and the
//! current time into effects for the realtime actor to perform; [`prompts`] words turns for model backends; [`guard`]
//! checks whether a turn is a real interviewer's turn. This module imports no axum, tokio or rusqlite.

pub mod answers;
pub mod guard;
pub mod interview;
pub mod lifecycle;
pub mod plan;
pub mod prompts;
pub mod turns;
