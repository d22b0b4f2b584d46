//! Shared moderation state that must look the same from every shard and process:
//! sliding windows and token buckets. Redis holds it in production; [`MemoryState`] is the
//! in-process stand-in used by `scan` and whenever Redis is unreachable.

mod memory;
mod redis;
mod resilient;

pub use memory::MemoryState;
pub use redis::{RedisState, RedisTimeouts};
pub use resilient::{ResilientOptions, ResilientState};

use async_trait::async_trait;

/// Why a state operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Redis could not be reached or answered with an error.
    #[error("redis: {0}")]
    Redis(String),
}

/// What a sliding window holds after an update.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WindowSnapshot {
    /// Distinct members in the window after the update.
    pub count: u64,
    /// The members, oldest first (only when asked for).
    pub members: Vec<String>,
}

/// Sliding-window sets and token buckets. Every update is atomic: with Redis, one round trip.
///
/// A window is a set of `member`s, each stamped with the time it was last added; members older
/// than `window_ms` fall out. Counting events uses unique members (message ids); counting
/// distinct people uses user ids.
#[async_trait]
pub trait WindowStore: Send + Sync {
    /// Adds `member` at `at_ms` to window `key`, drops members older than `at_ms - window_ms`,
    /// and returns what remains (with the member list when `with_members`).
    async fn touch(
        &self,
        key: &str,
        member: &str,
        at_ms: i64,
        window_ms: i64,
        with_members: bool,
    ) -> Result<WindowSnapshot, StateError>;

    /// Reads window `key` as of `at_ms` without adding to it.
    async fn peek(
        &self,
        key: &str,
        at_ms: i64,
        window_ms: i64,
    ) -> Result<WindowSnapshot, StateError>;

    /// Adds to window `key` those of `members` it does not hold yet (stamped `at_ms`; members
    /// already there keep their stamp), drops members older than `at_ms - window_ms`, and
    /// returns the members this call added, in the order given. Atomic; "who is new here"
    /// without reading a large set back (in Redis each offered member costs O(log window)).
    async fn add_new(
        &self,
        key: &str,
        members: &[String],
        at_ms: i64,
        window_ms: i64,
    ) -> Result<Vec<String>, StateError>;

    /// Claims `key` for `value` until `at_ms + ttl_ms` unless another value holds it; returns the
    /// holder afterwards (`value` when this call won). Atomic: among concurrent claimers on any
    /// process, exactly one wins.
    async fn claim(
        &self,
        key: &str,
        value: &str,
        at_ms: i64,
        ttl_ms: i64,
    ) -> Result<String, StateError>;

    /// Takes one token from bucket `key` (capacity `capacity`, refilled at `per_minute` tokens a minute).
    /// Returns false when the bucket is empty.
    async fn take_token(
        &self,
        key: &str,
        capacity: u32,
        per_minute: u32,
        at_ms: i64,
    ) -> Result<bool, StateError>;
}
