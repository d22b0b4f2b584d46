//! Moderation cases: what a case did, where it stands, and its record. Pure data; the
//! Postgres queries live in `storage`, the Discord calls in `enforcement`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            /// The stored text.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the stored text.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use text_enum;

text_enum! {
    /// What a case did.
    CaseAction {
        /// A note without effect.
        Note => "note",
        /// A warning.
        Warn => "warn",
        /// The message was deleted.
        Delete => "delete",
        /// A timeout.
        Timeout => "timeout",
        /// A kick.
        Kick => "kick",
        /// A ban.
        Ban => "ban",
        /// A ban lifted.
        Unban => "unban",
        /// A timeout lifted.
        Untimeout => "untimeout",
    }
}

text_enum! {
    /// Where a case stands.
    CaseStatus {
        /// Recorded, action not yet confirmed by Discord.
        Pending => "pending",
        /// In effect (or recorded only, in dry-run).
        Applied => "applied",
        /// Discord refused or failed (e.g. 403); see the error note.
        Failed => "failed",
        /// Undone by a moderator or an accepted appeal.
        Reversed => "reversed",
        /// Ran out.
        Expired => "expired",
    }
}

/// A case to record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewCase {
    /// Guild id.
    pub guild_id: u64,
    /// Member the case is about.
    pub user_id: u64,
    /// What was done.
    pub action: CaseAction,
    /// Why.
    pub reason: String,
    /// Classifier scores that led to it (`{}` for manual cases).
    pub scores: serde_json::Value,
    /// Triggering message.
    pub message_id: Option<u64>,
    /// Text of the triggering message, only where the guild stores content.
    pub message_excerpt: Option<String>,
    /// `None`: the bot; otherwise the moderator.
    pub actor_id: Option<u64>,
    /// When a timeout or temporary ban ends.
    pub expires_at: Option<DateTime<Utc>>,
    /// Decided but not acted on.
    pub dry_run: bool,
    /// Initial status (usually `Pending` before the Discord call, or `Applied`).
    pub status: CaseStatus,
    /// Error detail for a `Failed` case.
    pub error_note: Option<String>,
    /// Idempotency key of an automatic action (one case per message and decision, per
    /// incident participant): a second case with the same key in the guild is never recorded
    /// or executed. `None` for moderators' actions.
    #[serde(default)]
    pub key: Option<String>,
    /// The behaviour score an automatic action was decided at (the tuning loop's input).
    #[serde(default)]
    pub behaviour_score: Option<f64>,
}

/// A stored case.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// Database id.
    pub case_id: i64,
    /// Guild id.
    pub guild_id: u64,
    /// Per-guild number shown to moderators.
    pub case_no: i64,
    /// Member.
    pub user_id: u64,
    /// What was done.
    pub action: CaseAction,
    /// Why (`[redacted]` after a privacy request).
    pub reason: String,
    /// Scores.
    pub scores: serde_json::Value,
    /// Triggering message.
    pub message_id: Option<u64>,
    /// Triggering text, if stored.
    pub message_excerpt: Option<String>,
    /// `None`: the bot.
    pub actor_id: Option<u64>,
    /// Recorded at.
    pub created_at: DateTime<Utc>,
    /// Ends at.
    pub expires_at: Option<DateTime<Utc>>,
    /// Who reversed it.
    pub reversed_by: Option<u64>,
    /// When.
    pub reversed_at: Option<DateTime<Utc>>,
    /// Why.
    pub reversed_reason: Option<String>,
    /// Dry-run flag.
    pub dry_run: bool,
    /// Status.
    pub status: CaseStatus,
    /// Error detail.
    pub error_note: Option<String>,
    /// Whether a privacy request redacted it.
    pub redacted: bool,
    /// Idempotency key of an automatic action.
    pub key: Option<String>,
    /// The behaviour score an automatic action was decided at.
    pub behaviour_score: Option<f64>,
    /// The moderators' verdict: confirmed, or reversed (by a moderator or an approved appeal).
    pub label: Option<String>,
}
