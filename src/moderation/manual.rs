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
