//! What the realtime channel needs from the rest of the application, as narrow handles: the database, the
//! catalog, the interviewer, speech, the sandbox, the scorer, a sink for what the interviews measure, and the few
//! settings an interview reads. The application builds one [`Services`] at start-up; actors and connections hold
//! it behind an `Arc`. Nothing here knows about HTTP or the application's state.

use std::{sync::Arc, time::Duration};

use super::{activity::Activity, hub::Hub, latency::VoiceStage};
use crate::{
    catalog::Catalog,
    db::Db,
    engine::{
        guard::Outcome,
        turns::{Rules, TurnEnd},
        wording::Ask,
    },
    llm::Llm,
    sandbox::pool::Pool,
    scoring::service::Scorer,
    voice::{SpeechToText, TextToSpeech, VoiceActivity},
};

/// Where the interviews' measurements go (the server's metrics).
pub trait Observe: Send + Sync {
    /// One stage of a spoken answer's way back to the interviewer's voice took `seconds`.
    fn voice(&self, stage: VoiceStage, seconds: f64);
    /// What became of one model-written piece of an interviewer turn.
    fn piece(&self, ask: Ask, outcome: Outcome);
    /// A spoken answer was taken back up: the candidate went on just after the interviewer began to reply.
    fn resumed(&self);
    /// A spoken turn ended; what set the silence that ended it.
    fn turn_ended(&self, end: TurnEnd);
}

/// The settings an interview reads.
#[derive(Debug, Clone)]
pub struct Options {
    /// An actor with nobody connected saves and stops after this long.
    pub interview_idle: Duration,
    /// The gentle prompt comes after this long without an answer.
    pub silence_prompt: Duration,
    /// When a spoken turn ends (its longest silence is told to clients).
    pub turn_rules: Rules,
    /// What runs speech-to-text, the interviewer and the voice, stored with each turn's latency.
    pub stt_name: String,
    pub llm_name: String,
    pub tts_name: String,
}

pub struct Services {
    pub db: Db,
    pub catalog: Arc<Catalog>,
    pub llm: Arc<dyn Llm>,
    /// Speech-to-text; `None` when candidates type.
    pub stt: Option<Arc<dyn SpeechToText>>,
    /// The interviewer's voice; `None` when interviews are text only.
    pub tts: Option<Arc<dyn TextToSpeech>>,
    /// Voice activity detection; `None` when loudness decides what is speech.
    pub vad: Option<Arc<dyn VoiceActivity>>,
    pub sandbox: Pool,
    /// Reads short replies for their meaning (with the sentence-embedding model, when installed).
    pub intents: Option<Arc<dyn crate::engine::intents::Intents>>,
    pub scorer: Scorer,
    pub observe: Arc<dyn Observe>,
    pub options: Options,
    /// The running interview actors.
    pub hub: Arc<Hub>,
    /// Work going on for replies, which captions give way to.
    pub activity: Activity,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("llm", &self.llm.name())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}
