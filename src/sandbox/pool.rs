//! The sandbox as a shared service: the runtimes are compiled once (in the background when the server starts),
//! runs wait for one of as many slots as the machine has cores in a fair queue (the user who has used the sandbox
//! least in the last minute goes first, see [`super::fair`]), each user has at most one run going at a time (so one
//! person's flood holds one slot, not all of them), and each user may start at most [`RUNS_PER_MINUTE`] runs a
//! minute.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, LazyLock, Mutex},
    time::{Duration, Instant},
};

use tokio::sync::{OnceCell, Semaphore};

use super::{
    Language,
    fair::FairSlots,
    runner::{Limits, Output, Sandbox},
};

pub const RUNS_PER_MINUTE: usize = 30;

#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("The code sandbox is not available: {0}")]
    Unavailable(String),
    #[error("At most {RUNS_PER_MINUTE} runs a minute; try again in {0} s.")]
    RateLimited(u64),
    #[error("The run failed inside the server: {0}")]
    Internal(String),
}

pub struct Pool {
    dir: PathBuf,
    sandbox: OnceCell<Result<Arc<Sandbox>, String>>,
    slots: FairSlots,
    recent: Mutex<HashMap<i64, Vec<Instant>>>,
    per_user: Mutex<HashMap<i64, Arc<Semaphore>>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("dir", &self.dir).finish()
    }
}

impl Pool {
    pub fn new(dir: PathBuf) -> Pool {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Pool {
            dir,
            sandbox: OnceCell::new(),
            slots: FairSlots::new(cores),
            recent: Mutex::new(HashMap::new()),
            per_user: Mutex::new(HashMap::new()),
        }
    }

    /// Loads and compiles the runtimes (seconds) unless done; later calls return at once. Compiled runtimes are
    /// shared by every pool in the process that uses the same folder.
    pub async fn ready(&self) -> Result<Arc<Sandbox>, PoolError> {
        static COMPILED: LazyLock<Mutex<HashMap<PathBuf, Arc<Sandbox>>>> =
            LazyLock::new(Default::default);
        let dir = self.dir.clone();
        let loaded = self
            .sandbox
            .get_or_init(|| async move {
                let shared = COMPILED
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(&dir)
                    .cloned();
                if let Some(s) = shared {
                    return Ok(s);
                }
                let key = dir.clone();
                match tokio::task::spawn_blocking(move || Sandbox::load(&dir)).await {
                    Ok(Ok(s)) => {
                        let s = Arc::new(s);
                        COMPILED
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .insert(key, s.clone());
                        Ok(s)
                    }
                    Ok(Err(e)) => Err(format!("{e:#}")),
                    Err(e) => Err(e.to_string()),
                }
            })
            .await;
        loaded.clone().map_err(PoolError::Unavailable)
    }

    fn admit(&self, user: i64) -> Result<(), PoolError> {
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let runs = recent.entry(user).or_default();
        runs.retain(|t| now.duration_since(*t) < Duration::from_secs(60));
        if runs.len() >= RUNS_PER_MINUTE {
            let wait = 60 - now.duration_since(runs[0]).as_secs();
            return Err(PoolError::RateLimited(wait.max(1)));
        }
        runs.push(now);
        Ok(())
    }

    /// Runs a program for `user` once a slot is free.
    pub async fn run(
        &self,
        user: i64,
        language: Language,
        source: String,
        stdin: Vec<u8>,
        limits: Limits,
    ) -> Result<Output, PoolError> {
        self.with_sandbox(user, move |sandbox| {
            sandbox.run(language, &source, &stdin, &limits)
        })
        .await
    }

    /// Runs `job` with the sandbox for `user`: counted against their allowance, one at a time per user, in the
    /// shared queue, on a blocking thread.
    pub async fn with_sandbox<T: Send + 'static>(
        &self,
        user: i64,
        job: impl FnOnce(&Sandbox) -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, PoolError> {
        self.admit(user)?;
        let sandbox = self.ready().await?;
        let mine = self
            .per_user
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(user)
            .or_insert_with(|| Arc::new(Semaphore::new(1)))
            .clone();
        let _turn = mine
            .acquire()
            .await
            .map_err(|e| PoolError::Internal(e.to_string()))?;
        let _slot = self.slots.acquire(user).await;
        tokio::task::spawn_blocking(move || job(&sandbox))
            .await
            .map_err(|e| PoolError::Internal(e.to_string()))?
            .map_err(|e| PoolError::Internal(format!("{e:#}")))
    }
}
