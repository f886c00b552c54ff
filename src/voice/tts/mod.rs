//! Text-to-speech: piper voices on onnxruntime ([`piper`]), and the resampler that brings their audio to the
//! rate a client asked for ([`resample`]).

pub mod piper;
pub mod resample;
