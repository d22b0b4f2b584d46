//! Incident data returned to the caller, who persists and executes it.

use crate::config::{BehaviourConfig, BrigadeConfig, Config};
use serde::{Deserialize, Serialize};

/// What triggered an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    /// Many (new, default-avatar) accounts joined within a short window.
    JoinSurge,
    /// Several recently joined members were toxic in one channel.
    CoordinatedToxicity,
    /// Several members directed toxic replies or mentions at one user.
    TargetedHarassment,
    /// One normalised text was posted by many accounts.
    DuplicateFlood,
}

impl IncidentKind {
    /// The name used in reports, metrics and storage (the serde name), e.g. `join_surge`.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentKind::JoinSurge => "join_surge",
            IncidentKind::CoordinatedToxicity => "coordinated_toxicity",
            IncidentKind::TargetedHarassment => "targeted_harassment",
            IncidentKind::DuplicateFlood => "duplicate_flood",
        }
    }
}

/// What the daemon should do when an incident opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// Post an alert in the moderators' channel.
    pub alert_moderators: bool,
    /// Channel to put in slow-mode, with the interval in seconds.
    pub slowmode: Option<(u64, u64)>,
    /// Participants to time out (new accounts), each for `timeout_secs`.
    pub timeout_users: Vec<u64>,
    /// Participant timeout in seconds.
    pub timeout_secs: u64,
    /// Participants' behaviour scores are raised while the incident is open.
    pub raise_scores: bool,
    /// The guild is in dry-run: record the response, do not execute it.
    pub dry_run: bool,
}

/// A change to an incident. Persisting it is the caller's job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "update", rename_all = "snake_case")]
pub enum IncidentUpdate {
    /// A new incident.
    Opened {
        /// Stable id: `{guild}-{start ms}`.
        incident_id: String,
        /// Guild.
        guild_id: u64,
        /// Trigger.
        kind: IncidentKind,
        /// Start, ms since the epoch.
        started_at_ms: i64,
        /// Channel involved, if any.
        channel_id: Option<u64>,
        /// Harassed member, for targeted harassment.
        target_id: Option<u64>,
        /// Participants known at the start (lookback joins included).
        participants: Vec<u64>,
        /// What to do.
        response: Response,
    },
    /// A member joined an open incident.
    ParticipantAdded {
        /// Incident.
        incident_id: String,
        /// Guild.
        guild_id: u64,
        /// The member.
        user_id: u64,
        /// When, ms since the epoch.
        at_ms: i64,
        /// Timeout for this member in seconds (new account and timeouts enabled).
        timeout_secs: Option<u64>,
        /// The guild is in dry-run: record, do not execute.
        dry_run: bool,
    },
    /// The incident ended after a quiet period.
    Closed {
        /// Incident.
        incident_id: String,
        /// Guild.
        guild_id: u64,
        /// End: last activity plus the quiet period, ms since the epoch.
        ended_at_ms: i64,
    },
}

impl IncidentUpdate {
    /// The incident this update belongs to.
    pub fn incident_id(&self) -> &str {
        match self {
            IncidentUpdate::Opened { incident_id, .. }
            | IncidentUpdate::ParticipantAdded { incident_id, .. }
            | IncidentUpdate::Closed { incident_id, .. } => incident_id,
        }
    }

    /// Members this update makes participants.
    pub fn participants(&self) -> Vec<u64> {
        match self {
            IncidentUpdate::Opened { participants, .. } => participants.clone(),
            IncidentUpdate::ParticipantAdded { user_id, .. } => vec![*user_id],
            IncidentUpdate::Closed { .. } => Vec::new(),
        }
    }

    /// Members this update says to time out, with the duration in seconds.
    pub fn timeouts(&self) -> Vec<(u64, u64)> {
        match self {
            IncidentUpdate::Opened { response, .. } => response
                .timeout_users
                .iter()
                .map(|u| (*u, response.timeout_secs))
                .collect(),
            IncidentUpdate::ParticipantAdded {
                user_id,
                timeout_secs: Some(s),
                ..
            } => vec![(*user_id, *s)],
            _ => Vec::new(),
        }
    }

    /// Marks the update as recorded only (the guild is in dry-run).
    pub fn set_dry_run(&mut self, value: bool) {
        match self {
            IncidentUpdate::Opened { response, .. } => response.dry_run = value,
            IncidentUpdate::ParticipantAdded { dry_run, .. } => *dry_run = value,
            IncidentUpdate::Closed { .. } => {}
        }
    }
}

/// Detector settings from `[brigade]` (and `behaviour.new_account_age`), all times in ms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrigadeParams {
    /// Join-weight units (a plain join is 1.0) that make a surge.
    pub join_surge_count: u32,
    /// Join window.
    pub join_surge_window_ms: i64,
    /// Distinct toxic new members in one channel.
    pub coordinated_count: u32,
    /// Their window.
    pub coordinated_window_ms: i64,
    /// Distinct members targeting one user.
    pub harassment_count: u32,
    /// Their window.
    pub harassment_window_ms: i64,
    /// Accounts posting one fingerprint.
    pub duplicate_count: u32,
    /// Their window.
    pub duplicate_window_ms: i64,
    /// Joins this long before the start are participants.
    pub lookback_ms: i64,
    /// Quiet time that ends an incident.
    pub quiet_period_ms: i64,
    /// Slow-mode interval in seconds (0: none).
    pub slowmode_secs: u64,
    /// Time out participating new accounts.
    pub timeout_new_accounts: bool,
    /// Participant timeout in seconds.
    pub participant_timeout_secs: u64,
    /// Accounts younger than this are new.
    pub new_account_ms: i64,
    /// Members who joined less than this ago count as recently joined.
    pub new_member_ms: i64,
}

fn ms(d: &crate::config::DurationSpec) -> i64 {
    i64::try_from(d.value().as_millis()).unwrap_or(i64::MAX)
}

impl BrigadeParams {
    /// Reads the detector settings from a validated configuration.
    pub fn from_config(c: &Config) -> Self {
        Self::from_sections(&c.brigade, &c.behaviour)
    }

    /// Reads the detector settings from a validated `[brigade]` section (a guild's, with its
    /// overrides laid over the global one) and `[behaviour]` (what makes an account new).
    pub fn from_sections(b: &BrigadeConfig, behaviour: &BehaviourConfig) -> Self {
        Self {
            join_surge_count: b.join_surge_count,
            join_surge_window_ms: ms(&b.join_surge_window),
            coordinated_count: b.coordinated_count,
            coordinated_window_ms: ms(&b.coordinated_window),
            harassment_count: b.harassment_count,
            harassment_window_ms: ms(&b.harassment_window),
            duplicate_count: b.duplicate_count,
            duplicate_window_ms: ms(&b.duplicate_window),
            lookback_ms: ms(&b.lookback),
            quiet_period_ms: ms(&b.quiet_period).max(1),
            slowmode_secs: b.slowmode.value().as_secs(),
            timeout_new_accounts: b.timeout_new_accounts,
            participant_timeout_secs: b.participant_timeout.value().as_secs(),
            new_account_ms: ms(&behaviour.new_account_age),
            new_member_ms: ms(&behaviour.new_member_age),
        }
    }
}

#[cfg(test)]
mod kind_tests {
    use super::IncidentKind;

    #[test]
    fn names_match_the_serde_names() {
        for k in [
            IncidentKind::JoinSurge,
            IncidentKind::CoordinatedToxicity,
            IncidentKind::TargetedHarassment,
            IncidentKind::DuplicateFlood,
        ] {
            assert_eq!(
                serde_json::to_value(k).ok(),
                Some(serde_json::json!(k.as_str()))
            );
        }
    }
}
