//! A deterministic interviewer that needs no model: it says the engine's own scripted wording of each piece
//! ([`crate::engine::wording`]), streamed word by word as a model would. The same request always gives the same
//! text.

use std::ops::ControlFlow;

use super::{Completion, Llm, LlmError, Request};

#[derive(Debug, Default)]
pub struct Scripted;

impl Llm for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }

    fn generate(
        &self,
        req: &Request,
        sink: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Completion, LlmError> {
        let text = &req.scripted;
        let mut sent = String::new();
        let mut tokens = 0;
        for piece in text.split_inclusive(' ') {
            if tokens >= req.max_tokens {
                break;
            }
            if sink(piece).is_break() {
                return Ok(Completion {
                    text: sent,
                    cancelled: true,
                    tokens,
                    usage: super::Usage::default(),
                });
            }
            sent.push_str(piece);
            tokens += 1;
        }
        Ok(Completion {
            text: sent,
            cancelled: false,
            tokens,
            usage: super::Usage {
                completion_tokens: tokens,
                ..super::Usage::default()
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Request {
        Request {
            messages: vec![],
            scripted: "Hi, I'm Rebecca. This is the Bar Raiser round. Tell me about a time you disagreed with \
                       your manager and what you did about it."
                .into(),
            max_tokens: 200,
            temperature: 0.0,
            seed: 1,
            stop: vec![],
            session: None,
            ignore_eos: false,
        }
    }

    #[test]
    fn generation_streams_is_deterministic_and_stops_when_told() {
        let req = request();
        let mut pieces = Vec::new();
        let done = Scripted.generate(&req, &mut |p| {
            pieces.push(p.to_string());
            ControlFlow::Continue(())
        });
        let done = done.unwrap();
        assert!(pieces.len() > 10);
        assert_eq!(pieces.concat(), done.text);
        assert_eq!(
            done.text,
            Scripted
                .generate(&req, &mut |_| ControlFlow::Continue(()))
                .unwrap()
                .text
        );
        let mut n = 0;
        let cut = Scripted
            .generate(&req, &mut |_| {
                n += 1;
                if n > 3 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .unwrap();
        assert!(cut.cancelled);
        assert_eq!(cut.tokens, 3, "stops within one piece of being told");
    }
}
