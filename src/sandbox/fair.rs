//! A fair queue for the sandbox's run slots: when a slot frees, it goes to the waiting user who has used the
//! sandbox least in the last minute (first come among equals). A few accounts running loops one after another
//! cannot keep someone else waiting behind all of their queued runs: a newcomer waits for one run at most.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{sync::oneshot, time::Instant};

/// How far back a user's sandbox time counts against their place in the queue.
const MEMORY: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct FairSlots {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    free: usize,
    next: u64,
    waiting: Vec<Waiter>,
    /// Per user: when each recent run ended and how long it held a slot.
    used: HashMap<i64, VecDeque<(Instant, Duration)>>,
}

#[derive(Debug)]
struct Waiter {
    user: i64,
    arrived: u64,
    grant: oneshot::Sender<Slot>,
}

/// A run slot, given back (to the next user in fair order) when dropped.
#[derive(Debug)]
pub struct Slot {
    /// `None` once disarmed: a slot that could not be handed to a waiter that left.
    state: Option<Arc<Mutex<State>>>,
    user: i64,
    since: Instant,
}

impl State {
    fn recent_use(&mut self, user: i64, now: Instant) -> Duration {
        let Some(runs) = self.used.get_mut(&user) else {
            return Duration::ZERO;
        };
        while runs
            .front()
            .is_some_and(|(ended, _)| now.duration_since(*ended) > MEMORY)
        {
            runs.pop_front();
        }
        runs.iter().map(|(_, held)| *held).sum()
    }

    /// Gives a freed slot to the waiter who has used least, or keeps it free.
    fn hand_over(&mut self, state: &Arc<Mutex<State>>) {
        let now = Instant::now();
        loop {
            let mut best: Option<(Duration, u64, usize)> = None;
            for i in 0..self.waiting.len() {
                let (user, arrived) = (self.waiting[i].user, self.waiting[i].arrived);
                let key = (self.recent_use(user, now), arrived, i);
                if best.is_none_or(|b| (key.0, key.1) < (b.0, b.1)) {
                    best = Some(key);
                }
            }
            let Some((_, _, i)) = best else {
                self.free += 1;
                return;
            };
            let w = self.waiting.swap_remove(i);
            let slot = Slot {
                state: Some(state.clone()),
                user: w.user,
                since: now,
            };
            match w.grant.send(slot) {
                Ok(()) => return,
                // The waiter left (its request was cancelled): the next one gets the slot.
                Err(mut unwanted) => unwanted.state = None,
            }
        }
    }
}

impl FairSlots {
    pub fn new(slots: usize) -> FairSlots {
        FairSlots {
            state: Arc::new(Mutex::new(State {
                free: slots,
                ..State::default()
            })),
        }
    }

    /// Waits for a slot for `user`.
    pub async fn acquire(&self, user: i64) -> Slot {
        let rx = {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if st.free > 0 && st.waiting.is_empty() {
                st.free -= 1;
                return Slot {
                    state: Some(self.state.clone()),
                    user,
                    since: Instant::now(),
                };
            }
            let (grant, rx) = oneshot::channel();
            let arrived = st.next;
            st.next += 1;
            st.waiting.push(Waiter {
                user,
                arrived,
                grant,
            });
            rx
        };
        rx.await
            .expect("a waiter is only dropped by giving it a slot")
    }

    /// Users waiting for a slot.
    pub fn waiting(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .waiting
            .len()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let Some(state) = self.state.take() else {
            return;
        };
        let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        st.used
            .entry(self.user)
            .or_default()
            .push_back((now, now.duration_since(self.since)));
        st.hand_over(&state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn a_freed_slot_goes_to_the_waiter_who_used_least_then_first_come() {
        let slots = Arc::new(FairSlots::new(1));
        // The heavy user has run before and is running now; it queues two more runs before a newcomer arrives.
        drop(slots.acquire(1).await);
        let first = slots.acquire(1).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for user in [1, 1, 2] {
            let (slots, order) = (slots.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _slot = slots.acquire(user).await;
                order.lock().unwrap().push(user);
            }));
            settle().await;
        }
        assert_eq!(slots.waiting(), 3);
        drop(first);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), [2, 1, 1]);
    }

    #[tokio::test]
    async fn a_waiter_that_leaves_does_not_keep_the_slot() {
        let slots = Arc::new(FairSlots::new(1));
        let held = slots.acquire(1).await;
        let s = slots.clone();
        let leaving = tokio::spawn(async move { s.acquire(2).await });
        settle().await;
        leaving.abort();
        let _ = leaving.await;
        let s = slots.clone();
        let staying = tokio::spawn(async move { s.acquire(3).await });
        settle().await;
        drop(held);
        let slot = tokio::time::timeout(Duration::from_secs(1), staying)
            .await
            .expect("the slot reaches the waiter who stayed")
            .unwrap();
        assert_eq!(slot.user, 3);
        drop(slot);
        // And it is free again afterwards.
        let again = tokio::time::timeout(Duration::from_secs(1), slots.acquire(4)).await;
        assert!(again.is_ok());
    }
}
