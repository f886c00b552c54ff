//! Where a candidate's words go: which backends run, and, when any runs on another machine, a plain notice that
//! what the candidate says and writes is sent there (the briefing before they start, the live room while they
//! talk, the home page's promise). A model server on this machine (a loopback URL) keeps the words here.

use maud::{Markup, html};

use crate::{backends::Spec, config::Settings};

/// A backend that sends the candidate's words off this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// What it does: "the interviewer", "the judge".
    pub role: &'static str,
    /// The spec, e.g. `openai:gpt-4o-mini`.
    pub backend: String,
    /// Where the words go, e.g. `api.openai.com`.
    pub host: String,
}

/// The backends of `settings` whose server is not on this machine.
pub fn destinations(settings: &Settings) -> Vec<Destination> {
    let judge = settings
        .judge_llm
        .as_ref()
        .filter(|_| settings.judge_with_llm);
    // A live model hears, writes and speaks in place of the interviewer, speech recognition and the voice.
    let live = settings.realtime.as_ref().map(Spec::of_live);
    let local = |spec| Some(spec).filter(|_| live.is_none());
    [
        ("the live interviewer", live.as_ref()),
        ("the interviewer", local(&settings.llm)),
        ("the judge", judge),
        ("speech recognition", local(&settings.stt)),
        ("the voice", local(&settings.tts)),
    ]
    .into_iter()
    .filter_map(|(role, spec)| match spec {
        Some(spec @ Spec::Remote(r)) if !r.endpoint.is_loopback() => Some(Destination {
            role,
            backend: spec.to_string(),
            host: r.endpoint.host(),
        }),
        _ => None,
    })
    .collect()
}

/// The notice for pages that run an interview: where the words go, or that they stay here.
pub fn notice(settings: &Settings) -> Markup {
    let away = destinations(settings);
    html! {
        @if away.is_empty() {
            p.hint.privacy #privacy data-remote="false" {
                "Private: the interviewer ("
                @if let Some(r) = &settings.realtime { (r.provider.prefix()) ":" (r.model) ", live" } @else { (settings.llm) }
                "), speech recognition and the voice run on this machine; nothing you say or write leaves it."
            }
        } @else {
            div.notice.notice-warn.privacy #privacy data-remote="true" role="note" {
                strong { "Your words leave this machine. " }
                @for (i, d) in away.iter().enumerate() {
                    @if i > 0 { " " }
                    (capitalised(d.role)) " runs on " strong { (d.host) } " (" (d.backend) ")"
                    @if d.role == "the judge" { ": your answers are sent there to be scored." }
                    @else if d.role == "speech recognition" { ": your spoken answers are sent there as audio." }
                    @else if d.role == "the voice" { ": the interviewer's words are sent there to be spoken (yours are not)." }
                    @else if d.role == "the live interviewer" { ": your spoken answers are sent there as audio, and what you say and write in this interview is sent there." }
                    @else { ": what you say and write in this interview is sent there." }
                }
            }
        }
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The home page's promise, true to the settings.
pub fn promise(settings: &Settings) -> Markup {
    let away = destinations(settings);
    html! {
        @if away.is_empty() {
            "Speech recognition, the interviewer and its voice run locally. Nothing you say or write leaves this machine unless the operator switches on a cloud model, and then every interview page says so."
        } @else {
            "This appliance's operator has switched on a model on another machine: "
            @for (i, d) in away.iter().enumerate() {
                @if i > 0 { "; " }
                (d.role) " runs on " strong { (d.host) }
            }
            ". The rest runs locally, and every interview page says so before you start."
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        backends::{Provider, Remote},
        llm::remote::Endpoint,
    };

    fn remote(url: &str) -> Spec {
        Spec::Remote(Remote {
            provider: Provider::OpenAi,
            model: "gpt-4o-mini".into(),
            endpoint: Endpoint::new(url, None).unwrap(),
        })
    }

    #[test]
    fn only_servers_off_this_machine_are_destinations_and_the_notice_names_them() {
        let mut s = Settings::for_data_dir(std::path::Path::new("/d"));
        assert!(destinations(&s).is_empty());
        let local = notice(&s).into_string();
        assert!(local.contains("data-remote=\"false\"") && local.contains("on this machine"));

        s.llm = remote("http://127.0.0.1:8000/v1");
        assert!(
            destinations(&s).is_empty(),
            "a model server on loopback keeps the words here"
        );

        s.llm = remote("https://api.openai.com/v1");
        s.judge_llm = Some(remote("http://10.0.0.5:8000/v1"));
        s.judge_with_llm = true;
        let away = destinations(&s);
        assert_eq!(away.len(), 2);
        assert_eq!(away[0].host, "api.openai.com");
        assert_eq!(away[1].role, "the judge");
        let shown = notice(&s).into_string();
        assert!(shown.contains("Your words leave this machine"), "{shown}");
        assert!(
            shown.contains("api.openai.com") && shown.contains("10.0.0.5:8000"),
            "{shown}"
        );
        assert!(promise(&s).into_string().contains("api.openai.com"));

        // A judge model that does not judge (the rules do) sends nothing.
        s.judge_with_llm = false;
        assert_eq!(destinations(&s).len(), 1);
        // Speech recognition on another machine sends the candidate's voice.
        s.stt = remote("https://api.openai.com/v1");
        let shown = notice(&s).into_string();
        assert!(shown.contains("Speech recognition runs on"), "{shown}");
        assert!(
            shown.contains("spoken answers are sent there as audio"),
            "{shown}"
        );
        // A voice on another machine gets the interviewer's words, not the candidate's.
        s.tts = remote("https://api.openai.com/v1");
        let shown = notice(&s).into_string();
        assert!(
            shown.contains("The voice runs on")
                && shown.contains("the interviewer's words are sent there to be spoken"),
            "{shown}"
        );
        let promised = promise(&s).into_string();
        assert!(
            promised.contains("the voice runs on") && !promised.contains("the voice run locally"),
            "{promised}"
        );
    }

    #[test]
    fn a_live_model_is_named_in_place_of_the_roles_it_takes() {
        let mut s = Settings::for_data_dir(std::path::Path::new("/d"));
        s.llm = remote("https://api.openai.com/v1");
        s.realtime = Some(crate::voice::live::LiveConfig {
            provider: crate::voice::live::Provider::Gemini,
            model: "gemini-live-2.5-flash".into(),
            endpoint: Endpoint::new("https://generativelanguage.googleapis.com/v1beta", None)
                .unwrap(),
            voice: "Puck".into(),
        });
        let away = destinations(&s);
        assert_eq!(
            away.len(),
            1,
            "the interviewer's own model is not used: {away:?}"
        );
        assert_eq!(away[0].role, "the live interviewer");
        assert_eq!(away[0].backend, "gemini:gemini-live-2.5-flash");
        let page = notice(&s).into_string();
        assert!(
            page.contains("spoken answers are sent there as audio"),
            "{page}"
        );
        // On this machine, it is named in the private notice.
        s.realtime.as_mut().unwrap().endpoint =
            Endpoint::new("http://127.0.0.1:9/v1", None).unwrap();
        let page = notice(&s).into_string();
        assert!(
            page.contains("gemini:gemini-live-2.5-flash, live")
                && page.contains("data-remote=\"false\""),
            "{page}"
        );
    }
}
