//! An interview session's states and the only transitions allowed between them: the one place the server decides.
//!
//! `PENDING -> IN_PROGRESS -> COMPLETED`; `PENDING | IN_PROGRESS -> ABANDONED`. Abandoning before the interview
//! starts refunds its credits; after it has started it does not.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SessionState {
    Pending,
    InProgress,
    Completed,
    Abandoned,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    Start,
    Complete,
    Abandon,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an interview that is {} cannot {}", from.label(), match action { Transition::Start => "start", Transition::Complete => "complete", Transition::Abandon => "be abandoned" })]
pub struct Illegal {
    pub from: SessionState,
    pub action: Transition,
}

/// What a legal transition leads to, and whether it refunds the interview's price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub to: SessionState,
    pub refund: bool,
}

impl SessionState {
    pub const ALL: [SessionState; 4] = [
        SessionState::Pending,
        SessionState::InProgress,
        SessionState::Completed,
        SessionState::Abandoned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Pending => "PENDING",
            SessionState::InProgress => "IN_PROGRESS",
            SessionState::Completed => "COMPLETED",
            SessionState::Abandoned => "ABANDONED",
        }
    }

    pub fn parse(s: &str) -> Option<SessionState> {
        SessionState::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            SessionState::Pending => "not started",
            SessionState::InProgress => "in progress",
            SessionState::Completed => "completed",
            SessionState::Abandoned => "abandoned",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, SessionState::Completed | SessionState::Abandoned)
    }

    pub fn apply(self, action: Transition) -> Result<Outcome, Illegal> {
        use SessionState::*;
        use Transition::*;
        match (self, action) {
            (Pending, Start) => Ok(Outcome {
                to: InProgress,
                refund: false,
            }),
            (InProgress, Complete) => Ok(Outcome {
                to: Completed,
                refund: false,
            }),
            (Pending, Abandon) => Ok(Outcome {
                to: Abandoned,
                refund: true,
            }),
            (InProgress, Abandon) => Ok(Outcome {
                to: Abandoned,
                refund: false,
            }),
            (from, action) => Err(Illegal { from, action }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{SessionState::*, Transition::*, *};

    #[test]
    fn every_transition_is_either_legal_as_listed_or_refused() {
        let legal = [
            (Pending, Start, InProgress, false),
            (InProgress, Complete, Completed, false),
            (Pending, Abandon, Abandoned, true),
            (InProgress, Abandon, Abandoned, false),
        ];
        for from in SessionState::ALL {
            for action in [Start, Complete, Abandon] {
                let expected = legal.iter().find(|(f, a, _, _)| *f == from && *a == action);
                match (from.apply(action), expected) {
                    (Ok(o), Some((_, _, to, refund))) => {
                        assert_eq!((o.to, o.refund), (*to, *refund))
                    }
                    (Err(e), None) => assert_eq!(e, Illegal { from, action }),
                    (got, want) => panic!("{from:?} {action:?}: got {got:?}, want {want:?}"),
                }
            }
        }
    }

    #[test]
    fn finished_interviews_stay_finished() {
        for from in [Completed, Abandoned] {
            assert!(from.is_final());
            for action in [Start, Complete, Abandon] {
                assert!(from.apply(action).is_err());
            }
        }
        assert_eq!(
            Completed.apply(Abandon).unwrap_err().to_string(),
            "an interview that is completed cannot be abandoned"
        );
    }
}
