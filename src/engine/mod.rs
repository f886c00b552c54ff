//! The interview itself, as pure logic with no IO: for now the interview session's lifecycle. The round state
//! machine, personas and prompts come with the live interview. This module imports no axum, tokio or rusqlite.

pub mod lifecycle;
