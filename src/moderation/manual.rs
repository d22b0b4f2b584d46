//! A moderator's own actions: warn, time out, kick, ban, unban or note a member through the
//! bot. They go through the same executor as automatic ones (a numbered case and its audit row
//! first, the member's notice with the Appeal button, the mod-log post) and add the same
//! strikes. Discord's role hierarchy is checked first.

use super::{Moderation, ServiceError};
use crate::decision::Action;
use crate::domain::hierarchy::{self, Ranks};
use crate::domain::{Case, CaseAction, CaseStatus, Ground};
use crate::enforcement::ActRequest;
use std::time::Duration;

/// A moderator's action, as asked.
#[derive(Debug, Clone, PartialEq)]
pub struct ManualRequest {
    /// Guild.
    pub guild_id: u64,
    /// The moderator.
    pub actor: u64,
    /// The member.
    pub target: u64,
    /// Warn, timeout, kick, ban, unban or note.
    pub action: CaseAction,
    /// A timeout's length (`None`: the member's next step on the ladder).
    pub duration: Option<Duration>,
    /// Messages deleted with a ban (`None`: `enforcement.ban_delete_messages`).
    pub delete_messages: Option<Duration>,
    /// The moderator's reason, shown to the member.
    pub reason: Option<String>,
    /// Role positions, when the member is in the server (a ban or unban may target someone
    /// who is not).
    pub ranks: Option<Ranks>,
    /// Where the command was used (the notice's fallback when DMs are closed).
    pub channel: Option<u64>,
}

/// An action a moderator took in Discord's own interface (or another bot did), as the audit
/// log reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalAction {
    /// Guild.
    pub guild_id: u64,
    /// The audit-log entry's id (one case per entry, however often it is delivered).
    pub entry_id: u64,
    /// Who did it.
    pub moderator: u64,
    /// The member.
    pub target: u64,
    /// Ban, unban, kick, timeout or untimeout.
    pub action: CaseAction,
    /// When a timeout ends.
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// The reason given in Discord.
    pub reason: Option<String>,
}

/// What a moderator's action did.
#[derive(Debug, Clone, PartialEq)]
pub struct ManualOutcome {
    /// Case number (`None` while it waits in the journal for one).
    pub case_no: Option<i64>,
    /// Final status.
    pub status: CaseStatus,
    /// What went wrong along the way.
    pub problems: Vec<String>,
    /// The timeout applied.
    pub duration: Option<Duration>,
}

fn ladder_action(a: CaseAction) -> Option<Action> {
    match a {
        CaseAction::Warn => Some(Action::Warn),
        CaseAction::Timeout => Some(Action::Timeout),
        CaseAction::Kick => Some(Action::Kick),
        CaseAction::Ban => Some(Action::Ban),
        _ => None,
    }
}

impl Moderation {
    /// Carries out a moderator's action on a member.
    pub async fn act_manually(&self, r: ManualRequest) -> Result<ManualOutcome, ServiceError> {
        if !matches!(
            r.action,
            CaseAction::Warn
                | CaseAction::Timeout
                | CaseAction::Kick
                | CaseAction::Ban
                | CaseAction::Unban
                | CaseAction::Note
        ) {
            return Err(ServiceError::Invalid(format!(
                "{} is not an action a moderator takes; use warn, timeout, kick, ban, unban or note",
                r.action
            )));
        }
        if let (Some(ranks), true) = (r.ranks, ladder_action(r.action).is_some()) {
            hierarchy::check(r.actor, r.target, ranks)
                .map_err(|e| ServiceError::Forbidden(e.to_string()))?;
        }
        let reason = r
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or("no reason given")
            .to_string();
        let duration = match r.action {
            CaseAction::Timeout => Some(match r.duration {
                Some(d) if !d.is_zero() => d,
                _ => self.pipeline.next_timeout(r.guild_id, r.target).await,
            }),
            _ => None,
        };
        let req = ActRequest {
            guild_id: r.guild_id,
            user_id: r.target,
            action: r.action,
            timeout: duration,
            delete: None,
            message_id: None,
            summary: reason.clone(),
            moderator_reason: format!("by <@{}>: {reason}", r.actor),
            label: None,
            grounds: vec![Ground::ModeratorDecision],
            scores: serde_json::json!({}),
            excerpt: None,
            notice_channel: r.channel,
            actor_id: Some(r.actor),
            // A moderator's explicit action is carried out even in dry-run.
            dry_run: false,
            ban_delete: r.delete_messages,
            behaviour_score: None,
            key: None,
        };
        let target = self.guilds.target(r.guild_id);
        let done = self.executor.act(&req, &target).await?;
        if done.status == CaseStatus::Applied {
            if let Some(action) = ladder_action(r.action) {
                if let Err(e) = self
                    .pipeline
                    .record_strike(r.guild_id, r.target, action, chrono::Utc::now())
                    .await
                {
                    tracing::warn!(guild = r.guild_id, user = r.target, error = %e, "strike of a moderator's action not recorded");
                }
            }
        }
        Ok(ManualOutcome {
            case_no: done.case.no,
            status: done.status,
            problems: done.problems,
            duration,
        })
    }

    /// Records an action taken outside the bot as a case (already in effect: nothing is sent to
    /// Discord) naming the moderator, posts it to the mod log, and adds its strike. Returns the
    /// case number, or `None` when the entry was recorded before.
    pub async fn record_external(&self, ext: ExternalAction) -> Result<Option<i64>, ServiceError> {
        let reason = ext
            .reason
            .clone()
            .filter(|r| !r.trim().is_empty())
            .unwrap_or_else(|| "no reason given".into());
        let new = crate::domain::NewCase {
            guild_id: ext.guild_id,
            user_id: ext.target,
            action: ext.action,
            reason: format!("in Discord by <@{}>: {reason}", ext.moderator),
            scores: serde_json::json!({}),
            message_id: None,
            message_excerpt: None,
            actor_id: Some(ext.moderator),
            expires_at: ext.until,
            dry_run: false,
            status: CaseStatus::Applied,
            error_note: None,
            key: Some(format!("audit:{}", ext.entry_id)),
            behaviour_score: None,
        };
        let recorded = self
            .records
            .case(&new, &crate::telemetry::process_name())
            .await
            .map_err(|e| ServiceError::Enforcement(e.into()))?;
        let (case_id, case_no) = match recorded {
            crate::journal::Recorded::Stored { case_id, case_no } => (Some(case_id), Some(case_no)),
            crate::journal::Recorded::Journaled => (None, None),
            crate::journal::Recorded::Duplicate { .. } => return Ok(None),
        };
        let target = self.guilds.target(ext.guild_id);
        if let Some(channel) = target.mod_log {
            let req = ActRequest {
                guild_id: ext.guild_id,
                user_id: ext.target,
                action: ext.action,
                timeout: ext
                    .until
                    .and_then(|u| (u - chrono::Utc::now()).to_std().ok()),
                delete: None,
                message_id: None,
                summary: format!("Taken in Discord's own interface: {reason}"),
                moderator_reason: new.reason.clone(),
                label: None,
                grounds: Vec::new(),
                scores: serde_json::json!({}),
                excerpt: None,
                notice_channel: None,
                actor_id: Some(ext.moderator),
                dry_run: false,
                ban_delete: None,
                behaviour_score: None,
                key: new.key.clone(),
            };
            let post = crate::enforcement::modlog::case_post(
                &req,
                case_id,
                case_no,
                CaseStatus::Applied,
                &[],
            );
            self.executor.post(channel, &post).await;
        }
        if let Some(action) = ladder_action(ext.action) {
            if let Err(e) = self
                .pipeline
                .record_strike(ext.guild_id, ext.target, action, chrono::Utc::now())
                .await
            {
                tracing::warn!(guild = ext.guild_id, user = ext.target, error = %e, "strike of an action taken in Discord not recorded");
            }
        }
        Ok(case_no)
    }

    /// Replaces a case's reason (`/mod reason`), audited.
    pub async fn set_case_reason(
        &self,
        guild_id: u64,
        case_no: i64,
        actor: u64,
        reason: &str,
    ) -> Result<Case, ServiceError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(ServiceError::Invalid("Write the new reason.".into()));
        }
        match self
            .storage
            .set_case_reason(guild_id, case_no, reason, actor)
            .await
        {
            Ok(c) => Ok(c),
            Err(crate::storage::StorageError::NotFound(_)) => Err(ServiceError::NotFound(format!(
                "There is no case #{case_no} in this server."
            ))),
            Err(e) => Err(e.into()),
        }
    }
}
