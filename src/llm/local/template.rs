//! Chat templates. GGUF files carry their template as Jinja (`tokenizer.chat_template`); rather than run Jinja,
//! Rehearse recognises the family from the template's markers and renders it in code, which is exact for the
//! families it knows and keeps the prompt a plain, cacheable prefix. Each family also names the tokens that end
//! an assistant turn.

use crate::llm::{Message, MessageRole};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// `<|im_start|>role\n...<|im_end|>`: Qwen2/2.5, SmolLM2, many others.
    ChatMl,
    /// `<|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|>`: Llama 3.
    Llama3,
    /// `<|system|>\n...<|end|>`: Phi-3.
    Phi3,
    /// `<start_of_turn>user\n...<end_of_turn>`: Gemma (no system role).
    Gemma,
    /// `[INST] ... [/INST]`: Mistral and Llama 2.
    Inst,
}

impl Template {
    /// Recognises a template from its Jinja source; ChatML when there is none or it is unknown.
    pub fn detect(jinja: Option<&str>) -> Template {
        let Some(j) = jinja else {
            return Template::ChatMl;
        };
        if j.contains("<|im_start|>") {
            Template::ChatMl
        } else if j.contains("<|start_header_id|>") {
            Template::Llama3
        } else if j.contains("<|end|>") && j.contains("<|user|>") {
            Template::Phi3
        } else if j.contains("<start_of_turn>") {
            Template::Gemma
        } else if j.contains("[INST]") {
            Template::Inst
        } else {
            Template::ChatMl
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Template::ChatMl => "chatml",
            Template::Llama3 => "llama3",
            Template::Phi3 => "phi3",
            Template::Gemma => "gemma",
            Template::Inst => "inst",
        }
    }

    /// Tokens that end the assistant's turn in this family (besides the model's end-of-sequence token).
    pub fn stop_tokens(self) -> &'static [&'static str] {
        match self {
            Template::ChatMl => &["<|im_end|>", "<|endoftext|>"],
            Template::Llama3 => &["<|eot_id|>", "<|end_of_text|>"],
            Template::Phi3 => &["<|end|>", "<|endoftext|>"],
            Template::Gemma => &["<end_of_turn>", "<eos>"],
            Template::Inst => &["</s>"],
        }
    }

    /// The prompt for `messages`, ending where the assistant's reply begins.
    pub fn render(self, messages: &[Message]) -> String {
        let mut out = String::new();
        match self {
            Template::ChatMl => {
                for m in messages {
                    out += &format!("<|im_start|>{}\n{}<|im_end|>\n", role(m.role), m.content);
                }
                out += "<|im_start|>assistant\n";
            }
            Template::Llama3 => {
                out += "<|begin_of_text|>";
                for m in messages {
                    out += &format!(
                        "<|start_header_id|>{}<|end_header_id|>\n\n{}<|eot_id|>",
                        role(m.role),
                        m.content.trim()
                    );
                }
                out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
            }
            Template::Phi3 => {
                for m in messages {
                    out += &format!("<|{}|>\n{}<|end|>\n", role(m.role), m.content);
                }
                out += "<|assistant|>\n";
            }
            Template::Gemma | Template::Inst => {
                // Neither has a system role: the system text leads the first user turn.
                let mut system = String::new();
                let mut first_user = true;
                if self == Template::Inst {
                    out += "<s>";
                }
                for m in messages {
                    match m.role {
                        MessageRole::System => {
                            system += m.content.trim();
                            system += "\n\n";
                        }
                        MessageRole::User => {
                            let content = if first_user {
                                format!("{system}{}", m.content.trim())
                            } else {
                                m.content.trim().to_string()
                            };
                            first_user = false;
                            if self == Template::Gemma {
                                out += &format!("<start_of_turn>user\n{content}<end_of_turn>\n");
                            } else {
                                out += &format!("[INST] {content} [/INST]");
                            }
                        }
                        MessageRole::Assistant => {
                            if self == Template::Gemma {
                                out += &format!(
                                    "<start_of_turn>model\n{}<end_of_turn>\n",
                                    m.content.trim()
                                );
                            } else {
                                out += &format!(" {}</s>", m.content.trim());
                            }
                        }
                    }
                }
                if self == Template::Gemma {
                    out += "<start_of_turn>model\n";
                }
            }
        }
        out
    }
}

fn role(r: MessageRole) -> &'static str {
    match r {
        MessageRole::System => "system",
        MessageRole::User => "user",
        MessageRole::Assistant => "assistant",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat() -> Vec<Message> {
        vec![
            Message {
                role: MessageRole::System,
                content: "Be brief.".into(),
            },
            Message {
                role: MessageRole::User,
                content: "Hi".into(),
            },
            Message {
                role: MessageRole::Assistant,
                content: "Hello.".into(),
            },
            Message {
                role: MessageRole::User,
                content: "Ask me".into(),
            },
        ]
    }

    #[test]
    fn families_are_recognised_from_their_jinja() {
        let qwen = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}";
        assert_eq!(Template::detect(Some(qwen)), Template::ChatMl);
        assert_eq!(
            Template::detect(Some("{{ '<|start_header_id|>' + message['role'] }}")),
            Template::Llama3
        );
        assert_eq!(
            Template::detect(Some(
                "{{'<|user|>' + '\n' + message['content'] + '<|end|>'}}"
            )),
            Template::Phi3
        );
        assert_eq!(
            Template::detect(Some("{{ '<start_of_turn>' + role }}")),
            Template::Gemma
        );
        assert_eq!(
            Template::detect(Some("{{ '[INST] ' + content }}")),
            Template::Inst
        );
        assert_eq!(Template::detect(None), Template::ChatMl);
    }

    #[test]
    fn chatml_matches_the_reference_rendering() {
        assert_eq!(
            Template::ChatMl.render(&chat()),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n\
             <|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nAsk me<|im_end|>\n\
             <|im_start|>assistant\n"
        );
    }

    #[test]
    fn llama3_matches_the_reference_rendering() {
        assert_eq!(
            Template::Llama3.render(&chat()[..2]),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>\
             <|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>\
             <|start_header_id|>assistant<|end_header_id|>\n\n"
        );
    }

    #[test]
    fn families_without_a_system_role_fold_it_into_the_first_user_turn() {
        let g = Template::Gemma.render(&chat());
        assert!(
            g.starts_with("<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n"),
            "{g}"
        );
        assert!(g.ends_with("<start_of_turn>user\nAsk me<end_of_turn>\n<start_of_turn>model\n"));
        let i = Template::Inst.render(&chat());
        assert_eq!(
            i,
            "<s>[INST] Be brief.\n\nHi [/INST] Hello.</s>[INST] Ask me [/INST]"
        );
    }

    #[test]
    fn a_conversation_renders_as_a_prefix_of_its_continuation() {
        // What makes the KV cache pay: the next turn's prompt starts with this turn's prompt minus the final
        // assistant header.
        for t in [Template::ChatMl, Template::Llama3, Template::Phi3] {
            let short = t.render(&chat()[..2]);
            let long = t.render(&chat());
            let header_len = match t {
                Template::ChatMl => "<|im_start|>assistant\n".len(),
                Template::Llama3 => "<|start_header_id|>assistant<|end_header_id|>\n\n".len(),
                _ => "<|assistant|>\n".len(),
            };
            assert!(
                long.starts_with(&short[..short.len() - header_len]),
                "{t:?}"
            );
        }
    }
}
