//! Speech-to-text: whisper.cpp through whisper-rs, on ggml files converted from CTranslate2 by `models fetch`.

pub mod whisper;
