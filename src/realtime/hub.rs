//! The registry of running interview actors: finds the actor for an interview or starts one, retires actors that
//! went idle, and stops them all when the server stops. It knows nothing of what an actor does.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::sync::mpsc;

use super::{actor::Actor, floor::Floor, pb, services::Services};
use crate::db::sessions::Session;

#[derive(Debug)]
pub enum Cmd {
    Join {
        conn: u64,
        out: mpsc::Sender<pb::ServerFrame>,
        /// The sample rate the connection plays the interviewer's voice at; `None` for a text-only client.
        audio: Option<u32>,
    },
    Leave {
        conn: u64,
    },
    Frame {
        conn: u64,
        frame: pb::ClientFrame,
    },
    /// The interview's report is ready: tell the connected clients.
    ScoreReady {
        report_url: String,
    },
    /// A code run finished (it runs beside the actor).
    CodeDone(Box<super::code::Finished>),
    /// A caption of what a connection's candidate is saying was transcribed (beside the actor).
    Caption {
        conn: u64,
        id: String,
        text: String,
    },
    /// Save and stop (server shutdown).
    Stop {
        done: tokio::sync::oneshot::Sender<()>,
    },
}

#[derive(Clone)]
pub struct Handle {
    pub cmd: mpsc::Sender<Cmd>,
    /// Who has the floor: a connection raises a barge-in here at once, ahead of the actor's queue.
    pub floor: Arc<Floor>,
    generation: u64,
}

/// The registry of running actors.
#[derive(Default)]
pub struct Hub {
    actors: Mutex<HashMap<String, Handle>>,
    next_generation: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hub")
    }
}

impl Hub {
    /// The actor for `session`, started if none runs (with `services`, which hold this hub).
    pub fn actor(&self, services: &Arc<Services>, session: &Session) -> Handle {
        let mut actors = self.actors.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(h) = actors.get(&session.id)
            && !h.cmd.is_closed()
        {
            return h.clone();
        }
        let (tx, rx) = mpsc::channel(256);
        let generation = self
            .next_generation
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let handle = Handle {
            cmd: tx,
            floor: Arc::new(Floor::default()),
            generation,
        };
        actors.insert(session.id.clone(), handle.clone());
        let actor = Actor::new(
            services.clone(),
            session.clone(),
            generation,
            handle.floor.clone(),
            handle.cmd.downgrade(),
        );
        tokio::spawn(actor.run(rx));
        handle
    }

    /// Removes the actor's entry if it is still the given generation and nothing is waiting for it.
    pub(super) fn retire(
        &self,
        session_id: &str,
        generation: u64,
        rx: &mpsc::Receiver<Cmd>,
    ) -> bool {
        let mut actors = self.actors.lock().unwrap_or_else(|p| p.into_inner());
        if !rx.is_empty() {
            return false;
        }
        if actors
            .get(session_id)
            .is_some_and(|h| h.generation == generation)
        {
            actors.remove(session_id);
        }
        true
    }

    /// Saves and stops every actor (server shutdown).
    pub async fn stop_all(&self) {
        let handles: Vec<Handle> = self
            .actors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        for h in handles {
            let (done, wait) = tokio::sync::oneshot::channel();
            // Bounded like the wait for it: an actor that does not take its stop (its queue full, itself stuck)
            // must not hold up the server's shutdown.
            let asked =
                tokio::time::timeout(Duration::from_secs(5), h.cmd.send(Cmd::Stop { done }));
            match asked.await {
                Ok(Ok(())) => {
                    let _ = tokio::time::timeout(Duration::from_secs(5), wait).await;
                }
                Ok(Err(_)) => {}
                Err(_) => {
                    tracing::warn!("an interview did not take its stop within 5 s; left running")
                }
            }
        }
    }

    /// Hands `cmd` to the interview's actor if one is running (nothing is started for it).
    pub fn notify(&self, session_id: &str, cmd: Cmd) {
        let handle = self
            .actors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(session_id)
            .cloned();
        if let Some(h) = handle {
            let _ = h.cmd.try_send(cmd);
        }
    }

    pub fn running(&self) -> usize {
        self.actors.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}
