//! Text-to-speech: piper voices on onnxruntime ([`piper`]), a server with OpenAI's speech API ([`remote`]), and
//! the resampler that brings their audio to the rate a client asked for ([`resample`]).

pub mod piper;
pub mod remote;
pub mod resample;
