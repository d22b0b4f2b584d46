//! What the detector is told: joins and message signals, and its error type.

use crate::state::StateError;

/// Why the detector could not update its windows.
#[derive(Debug, thiserror::Error)]
pub enum BrigadeError {
    /// The shared state store failed.
    #[error("brigade state: {0}")]
    State(#[from] StateError),
}

/// A member joined a guild.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinSignal {
    /// Guild.
    pub guild_id: u64,
    /// The new member.
    pub user_id: u64,
    /// Join time, ms since the epoch.
    pub at_ms: i64,
    /// The account has no avatar of its own.
    pub default_avatar: bool,
}

/// What the detector needs to know about a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageSignal {
    /// Guild.
    pub guild_id: u64,
    /// Channel.
    pub channel_id: u64,
    /// Author.
    pub author_id: u64,
    /// Sent at, ms since the epoch.
    pub at_ms: i64,
    /// When the author joined, if known.
    pub joined_ms: Option<i64>,
    /// The classifier found it toxic.
    pub toxic: bool,
    /// Users it replies to or mentions (the author excluded).
    pub targets: Vec<u64>,
    /// Normalised-text fingerprint.
    pub fingerprint: Option<u64>,
}
