//! Automatic actions over their guild's budget (`limits.actions_per_minute`) wait here, in
//! order, and run as the budget frees: during a raid every offender is still dealt with, just
//! no faster than the budget allows. One worker per guild with a queue; oldest first; bounded.

use super::{CaseHandle, Executor, GuildTarget};
use crate::enforcement::ActRequest;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

/// A recorded case waiting for its guild's budget.
pub(super) struct Queued {
    req: ActRequest,
    guild: GuildTarget,
    case: CaseHandle,
}

#[derive(Default)]
struct GuildQueue {
    items: VecDeque<Queued>,
    /// A worker is draining this queue.
    draining: bool,
}

/// The waiting actions of every guild.
pub(super) struct Waiting {
    guilds: Mutex<HashMap<u64, GuildQueue>>,
    cap: usize,
}

impl Waiting {
    pub(super) fn new(cap: usize) -> Self {
        Self {
            guilds: Mutex::new(HashMap::new()),
            cap,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, GuildQueue>> {
        self.guilds.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Actions waiting in all guilds.
    pub(super) fn depth(&self) -> usize {
        self.lock().values().map(|q| q.items.len()).sum()
    }

    /// Whether actions of `guild_id` are waiting (a newer one must queue behind them).
    pub(super) fn has_waiting(&self, guild_id: u64) -> bool {
        self.lock()
            .get(&guild_id)
            .is_some_and(|q| !q.items.is_empty())
    }

    /// Queues an action; `None` when the queue is full. Otherwise the guild's queue length and
    /// whether the caller must start a worker for it.
    fn push(&self, guild_id: u64, item: Queued) -> Option<(usize, bool)> {
        let mut guilds = self.lock();
        let total: usize = guilds.values().map(|q| q.items.len()).sum();
        if total >= self.cap {
            return None;
        }
        let q = guilds.entry(guild_id).or_default();
        q.items.push_back(item);
        let start = !q.draining;
        q.draining = true;
        Some((q.items.len(), start))
    }

    /// Ends the guild's worker when nothing waits (atomically with [`Waiting::push`], so an
    /// action queued meanwhile is never left without a worker). Returns whether it ended.
    fn stop_if_empty(&self, guild_id: u64) -> bool {
        let mut guilds = self.lock();
        let empty = guilds.get(&guild_id).is_none_or(|q| q.items.is_empty());
        if empty {
            guilds.remove(&guild_id);
        }
        empty
    }

    /// The oldest waiting action of a guild.
    fn pop(&self, guild_id: u64) -> Option<Queued> {
        self.lock().get_mut(&guild_id)?.items.pop_front()
    }
}

impl Executor {
    /// Queues a recorded case until its guild's budget frees; returns the queue's length, or
    /// `None` when the queue is full (the caller fails the case with a note).
    pub(super) fn wait_for_budget(
        &self,
        req: &ActRequest,
        guild: &GuildTarget,
        case: &CaseHandle,
    ) -> Option<usize> {
        let item = Queued {
            req: req.clone(),
            guild: guild.clone(),
            case: case.clone(),
        };
        let (depth, start) = self.waiting.push(req.guild_id, item)?;
        self.metrics
            .waiting_actions
            .set(i64::try_from(self.waiting.depth()).unwrap_or(i64::MAX));
        if start {
            let me = self.clone();
            let guild_id = req.guild_id;
            tokio::spawn(async move { me.drain_waiting(guild_id).await });
        }
        Some(depth)
    }

    /// Runs a guild's waiting actions, oldest first, each when the budget has a token.
    async fn drain_waiting(&self, guild_id: u64) {
        let refill = Duration::from_millis((60_000 / u64::from(self.actions_per_minute)).max(20));
        loop {
            if self.waiting.stop_if_empty(guild_id) {
                break;
            }
            if !self.within_budget(guild_id).await {
                tokio::time::sleep(refill).await;
                continue;
            }
            // Only this worker pops this guild's queue, so the item is still there.
            let Some(item) = self.waiting.pop(guild_id) else {
                continue;
            };
            self.metrics
                .waiting_actions
                .set(i64::try_from(self.waiting.depth()).unwrap_or(i64::MAX));
            match self.finish(&item.req, &item.guild, &item.case, false).await {
                Ok(done) => tracing::info!(
                    guild = guild_id, case_no = item.case.no, key = %item.case.key, status = %done.status,
                    "waiting action executed"
                ),
                Err(e) => {
                    tracing::error!(guild = guild_id, key = %item.case.key, error = %e, "waiting action not recorded")
                }
            }
        }
    }
}
