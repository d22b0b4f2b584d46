//! Appeals against cases: where an appeal stands and a moderator's verdict. Pure data.

use super::cases::text_enum;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

text_enum! {
    /// Where an appeal stands.
    AppealStatus {
        /// Waiting for a moderator.
        Open => "open",
        /// Granted; the case is reversed by the caller.
        Accepted => "accepted",
        /// Denied.
        Rejected => "rejected",
        /// Withdrawn by the member.
        Withdrawn => "withdrawn",
    }
}

/// A moderator's verdict on an appeal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppealDecision {
    /// Grant it.
    Accept,
    /// Deny it.
    Reject,
}

/// A stored appeal.
#[derive(Debug, Clone, PartialEq)]
pub struct Appeal {
    /// Appeal id.
    pub appeal_id: i64,
    /// The case's database id.
    pub case_id: i64,
    /// Guild of the case.
    pub guild_id: u64,
    /// Case number in that guild.
    pub case_no: i64,
    /// Appellant.
    pub user_id: u64,
    /// What they wrote (`None` after a privacy request).
    pub body: Option<String>,
    /// Status.
    pub status: AppealStatus,
    /// Moderator who decided.
    pub reviewer_id: Option<u64>,
    /// Their note.
    pub review_note: Option<String>,
    /// Filed at.
    pub created_at: DateTime<Utc>,
    /// Decided at.
    pub decided_at: Option<DateTime<Utc>>,
}
