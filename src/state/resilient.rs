//! A [`WindowStore`] that prefers Redis and keeps moderating with in-process state while Redis
//! is unreachable, then returns to Redis by itself once it answers again.

use super::redis::{RedisState, RedisTimeouts};
use super::{MemoryState, StateError, WindowSnapshot, WindowStore};
use crate::config::RedisConfig;
use async_trait::async_trait;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::{CancellationToken, DropGuard};

/// Tuning for [`ResilientState`].
#[derive(Debug, Clone, Copy)]
pub struct ResilientOptions {
    /// How often a degraded store checks whether Redis is back.
    pub probe_interval: Duration,
    /// Redis timeouts; short, so a dead Redis costs little before the fallback kicks in.
    pub timeouts: RedisTimeouts,
}

impl Default for ResilientOptions {
    fn default() -> Self {
        Self {
            probe_interval: Duration::from_secs(1),
            timeouts: RedisTimeouts::default(),
        }
    }
}

struct Inner {
    cfg: RedisConfig,
    timeouts: RedisTimeouts,
    redis: Mutex<Option<RedisState>>,
    memory: Mutex<Arc<MemoryState>>,
    degraded: AtomicBool,
    fallbacks: AtomicU64,
    recoveries: AtomicU64,
}

impl Inner {
    fn live_redis(&self) -> Option<RedisState> {
        if self.degraded.load(Ordering::Acquire) {
            return None;
        }
        self.redis.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn memory(&self) -> Arc<MemoryState> {
        self.fallbacks.fetch_add(1, Ordering::Relaxed);
        self.memory
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn mark_degraded(&self, e: &StateError) {
        if !self.degraded.swap(true, Ordering::AcqRel) {
            tracing::warn!(error = %e, "Redis unreachable; continuing with in-process windows");
        }
    }

    /// One probe: connect if never connected, else ping. Clears the degraded flag on success.
    async fn probe(&self) {
        let existing = self.redis.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let ok = match existing {
            Some(r) => r.ping().await.is_ok(),
            None => match RedisState::connect_with(&self.cfg, self.timeouts).await {
                Ok(r) => {
                    *self.redis.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
                    true
                }
                Err(_) => false,
            },
        };
        if ok && self.degraded.swap(false, Ordering::AcqRel) {
            // Windows kept in-process while degraded are not merged back; start fresh next time.
            *self.memory.lock().unwrap_or_else(|e| e.into_inner()) = Arc::new(MemoryState::new());
            self.recoveries.fetch_add(1, Ordering::Relaxed);
            tracing::info!("Redis reachable again; shared windows restored");
        }
    }
}

/// Redis-first window store with an in-process fallback. Construct once, share as
/// `Arc<dyn WindowStore>`; dropping the last handle stops its probe task.
pub struct ResilientState {
    inner: Arc<Inner>,
    _stop_probe: DropGuard,
}

impl ResilientState {
    /// Connects to Redis; never fails: starts degraded when Redis is down and keeps probing.
    pub async fn connect(cfg: &RedisConfig) -> Self {
        Self::connect_with(cfg, ResilientOptions::default()).await
    }

    /// [`ResilientState::connect`] with explicit probe interval and timeouts.
    pub async fn connect_with(cfg: &RedisConfig, opts: ResilientOptions) -> Self {
        let redis = match RedisState::connect_with(cfg, opts.timeouts).await {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::warn!(error = %e, "Redis unreachable at start; using in-process windows until it answers");
                None
            }
        };
        let inner = Arc::new(Inner {
            cfg: cfg.clone(),
            timeouts: opts.timeouts,
            degraded: AtomicBool::new(redis.is_none()),
            redis: Mutex::new(redis),
            memory: Mutex::new(Arc::new(MemoryState::new())),
            fallbacks: AtomicU64::new(0),
            recoveries: AtomicU64::new(0),
        });
        let stop = CancellationToken::new();
        let probe_inner = Arc::clone(&inner);
        let probe_stop = stop.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = probe_stop.cancelled() => break,
                    _ = tokio::time::sleep(opts.probe_interval) => {
                        if probe_inner.degraded.load(Ordering::Acquire) {
                            probe_inner.probe().await;
                        }
                    }
                }
            }
        });
        Self {
            inner,
            _stop_probe: stop.drop_guard(),
        }
    }

    /// Whether operations are currently served in-process (readiness reports this).
    pub fn is_degraded(&self) -> bool {
        self.inner.degraded.load(Ordering::Acquire)
    }

    /// Operations served in-process because Redis was unavailable.
    pub fn fallbacks(&self) -> u64 {
        self.inner.fallbacks.load(Ordering::Relaxed)
    }

    /// Times Redis came back after an outage.
    pub fn recoveries(&self) -> u64 {
        self.inner.recoveries.load(Ordering::Relaxed)
    }

    /// The Redis handle while Redis is in use (e.g. for the guild-settings cache).
    pub fn redis(&self) -> Option<RedisState> {
        self.inner.live_redis()
    }
}

#[async_trait]
impl WindowStore for ResilientState {
    async fn touch(
        &self,
        key: &str,
        member: &str,
        at_ms: i64,
        window_ms: i64,
        with_members: bool,
    ) -> Result<WindowSnapshot, StateError> {
        if let Some(r) = self.inner.live_redis() {
            match r.touch(key, member, at_ms, window_ms, with_members).await {
                Ok(s) => return Ok(s),
                Err(e) => self.inner.mark_degraded(&e),
            }
        }
        self.inner
            .memory()
            .touch(key, member, at_ms, window_ms, with_members)
            .await
    }

    async fn peek(
        &self,
        key: &str,
        at_ms: i64,
        window_ms: i64,
    ) -> Result<WindowSnapshot, StateError> {
        if let Some(r) = self.inner.live_redis() {
            match r.peek(key, at_ms, window_ms).await {
                Ok(s) => return Ok(s),
                Err(e) => self.inner.mark_degraded(&e),
            }
        }
        self.inner.memory().peek(key, at_ms, window_ms).await
    }

    async fn add_new(
        &self,
        key: &str,
        members: &[String],
        at_ms: i64,
        window_ms: i64,
    ) -> Result<Vec<String>, StateError> {
        if let Some(r) = self.inner.live_redis() {
            match r.add_new(key, members, at_ms, window_ms).await {
                Ok(v) => return Ok(v),
                Err(e) => self.inner.mark_degraded(&e),
            }
        }
        self.inner
            .memory()
            .add_new(key, members, at_ms, window_ms)
            .await
    }

    async fn claim(
        &self,
        key: &str,
        value: &str,
        at_ms: i64,
        ttl_ms: i64,
    ) -> Result<String, StateError> {
        if let Some(r) = self.inner.live_redis() {
            match r.claim(key, value, at_ms, ttl_ms).await {
                Ok(v) => return Ok(v),
                Err(e) => self.inner.mark_degraded(&e),
            }
        }
        self.inner.memory().claim(key, value, at_ms, ttl_ms).await
    }

    async fn take_token(
        &self,
        key: &str,
        capacity: u32,
        per_minute: u32,
        at_ms: i64,
    ) -> Result<bool, StateError> {
        if let Some(r) = self.inner.live_redis() {
            match r.take_token(key, capacity, per_minute, at_ms).await {
                Ok(t) => return Ok(t),
                Err(e) => self.inner.mark_degraded(&e),
            }
        }
        self.inner
            .memory()
            .take_token(key, capacity, per_minute, at_ms)
            .await
    }
}
