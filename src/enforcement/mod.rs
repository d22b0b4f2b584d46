//! The enforcement executor: turns a decision (or a moderator's command, or an incident's
//! response) into a case, the Discord calls, and a mod-log post.
//!
//! - [`plan`]: pure: which calls, in which order, and the texts.
//! - [`modlog`]: pure: the mod-log embed and its buttons.
//! - [`incidents`]: an incident's response (alert, slow-mode, participant timeouts), recorded
//!   before each call like every other action.
//!
//! Every action becomes a case and an audit row before anything is sent to Discord, so a crash
//! mid-action leaves a `pending` case rather than an unexplained punishment. A refused call (403:
//! missing permission, role hierarchy) fails the case with a note and is never retried.

pub mod incidents;
pub mod modlog;
pub mod plan;

pub use incidents::IncidentResponder;
pub use plan::{ActRequest, NoticeStyle, Step};

use crate::discord::rest::{OutgoingMessage, RestClient, RestError};
use crate::domain::{Case, CaseAction, CaseStatus, NewCase};
use crate::state::WindowStore;
use crate::storage::{Storage, StorageError};
use crate::telemetry::Metrics;
use chrono::Utc;
use serenity::model::id::{ChannelId, GuildId, MessageId, UserId};
use std::sync::Arc;

/// Why an action could not be recorded or reversed.
#[derive(Debug, thiserror::Error)]
pub enum EnforcementError {
    /// The case could not be stored; nothing was sent to Discord.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Discord refused the reversal.
    #[error(transparent)]
    Discord(#[from] RestError),
}

/// What happened to one action.
#[derive(Debug, Clone, PartialEq)]
pub struct Executed {
    /// The case's database id.
    pub case_id: i64,
    /// Its number in the guild.
    pub case_no: i64,
    /// Final status.
    pub status: CaseStatus,
    /// What went wrong along the way (member not notified, message already gone, 403 ...).
    pub problems: Vec<String>,
}

/// Where a guild's posts go, and how it is named and spoken to in member notices.
#[derive(Debug, Clone, Default)]
pub struct GuildTarget {
    /// Guild name for notices.
    pub name: String,
    /// Mod-log channel.
    pub mod_log: Option<u64>,
    /// Language and templates of member notices.
    pub notices: plan::NoticeStyle,
}

/// Executes actions against Discord and records them.
#[derive(Clone)]
pub struct Executor {
    rest: RestClient,
    storage: Storage,
    state: Arc<dyn WindowStore>,
    metrics: Arc<Metrics>,
    actions_per_minute: u32,
    ban_delete: std::time::Duration,
}

impl Executor {
    /// An executor allowing `actions_per_minute` automatic actions per guild.
    pub fn new(
        rest: RestClient,
        storage: Storage,
        state: Arc<dyn WindowStore>,
        metrics: Arc<Metrics>,
        actions_per_minute: u32,
        ban_delete: std::time::Duration,
    ) -> Self {
        Self {
            rest,
            storage,
            state,
            metrics,
            actions_per_minute: actions_per_minute.max(1),
            ban_delete,
        }
    }

    /// The REST client (for commands that post replies).
    pub fn rest(&self) -> &RestClient {
        &self.rest
    }

    /// Whether an automatic action fits this guild's budget (`limits.actions_per_minute`).
    /// When Redis is away the in-process bucket answers; a store error lets the action through.
    async fn within_budget(&self, guild_id: u64) -> bool {
        let key = format!("actions:{guild_id}");
        let per_minute = self.actions_per_minute;
        match self
            .state
            .take_token(&key, per_minute, per_minute, Utc::now().timestamp_millis())
            .await
        {
            Ok(ok) => ok,
            Err(e) => {
                tracing::warn!(error = %e, "action budget unavailable; allowing the action");
                true
            }
        }
    }

    /// Records `req` as a case, executes it (unless dry-run) and posts it to the mod log.
    pub async fn act(
        &self,
        req: &ActRequest,
        guild: &GuildTarget,
    ) -> Result<Executed, EnforcementError> {
        let over_budget =
            !req.dry_run && req.actor_id.is_none() && !self.within_budget(req.guild_id).await;
        let expires_at = req
            .timeout
            .filter(|_| req.action == CaseAction::Timeout)
            .and_then(|t| chrono::Duration::from_std(t).ok())
            .map(|t| Utc::now() + t);
        let new = NewCase {
            guild_id: req.guild_id,
            user_id: req.user_id,
            action: req.action,
            reason: req.moderator_reason.clone(),
            scores: req.scores.clone(),
            message_id: req.message_id.or(req.delete.map(|d| d.1)),
            message_excerpt: req.excerpt.clone(),
            actor_id: req.actor_id,
            expires_at,
            dry_run: req.dry_run,
            status: if req.dry_run {
                CaseStatus::Applied
            } else {
                CaseStatus::Pending
            },
            error_note: None,
        };
        let (case_id, case_no) = self.storage.record_case_ids(&new).await?;

        let mut problems = Vec::new();
        let status = if req.dry_run {
            CaseStatus::Applied
        } else if over_budget {
            problems.push(format!(
                "not executed: more than {} automatic actions this minute in this guild (limits.actions_per_minute)",
                self.actions_per_minute
            ));
            CaseStatus::Failed
        } else {
            self.run_steps(req, guild, case_id, case_no, &mut problems)
                .await
        };
        if !req.dry_run {
            let note = (!problems.is_empty()).then(|| problems.join("; "));
            self.storage
                .set_case_status(req.guild_id, case_no, status, note.as_deref())
                .await?;
        }
        self.metrics
            .messages_actioned
            .with_label_values(&[req.action.as_str()])
            .inc();
        if let Some(channel) = guild.mod_log {
            let post = modlog::case_post(req, case_id, case_no, status, &problems);
            self.post(channel, &post).await;
        }
        Ok(Executed {
            case_id,
            case_no,
            status,
            problems,
        })
    }

    async fn run_steps(
        &self,
        req: &ActRequest,
        guild: &GuildTarget,
        case_id: i64,
        case_no: i64,
        problems: &mut Vec<String>,
    ) -> CaseStatus {
        let gid = GuildId::new(req.guild_id.max(1));
        let uid = UserId::new(req.user_id.max(1));
        let reason = plan::audit_log_reason(req, case_no);
        let mut status = CaseStatus::Applied;
        // When a timeout ends, as Discord set it; the notice shows it in the member's time zone.
        let mut timeout_ends = None;
        for step in plan::steps(req) {
            let result = match step {
                Step::Notify => {
                    let ends = timeout_ends.or_else(|| {
                        req.timeout
                            .filter(|_| req.action == CaseAction::Timeout)
                            .and_then(|t| chrono::Duration::from_std(t).ok())
                            .map(|t| Utc::now() + t)
                    });
                    let text = plan::member_notice(
                        req,
                        &guild.name,
                        &guild.notices,
                        case_no,
                        ends.map(|t| t.timestamp()),
                    );
                    let sent = match req.notice_channel {
                        Some(c) => self
                            .rest
                            .notify_member(
                                uid,
                                ChannelId::new(c.max(1)),
                                &text,
                                Some(case_id as u64),
                            )
                            .await
                            .map(drop),
                        None => self
                            .rest
                            .dm_member(uid, &text, Some(case_id as u64))
                            .await
                            .map(drop),
                    };
                    if let Err(e) = &sent {
                        problems.push(format!("member not notified: {e}"));
                        if req.action == CaseAction::Warn {
                            // A warning nobody received did not happen.
                            status = CaseStatus::Failed;
                        }
                    }
                    continue;
                }
                Step::DeleteMessage => match req.delete {
                    Some((c, m)) => {
                        self.rest
                            .delete_message(
                                ChannelId::new(c.max(1)),
                                MessageId::new(m.max(1)),
                                &reason,
                            )
                            .await
                    }
                    None => Ok(()),
                },
                Step::Timeout(d) => self
                    .rest
                    .timeout_member(gid, uid, d, &reason)
                    .await
                    .map(|until| timeout_ends = Some(until)),
                Step::Kick => self.rest.kick(gid, uid, &reason).await,
                Step::Ban => self.rest.ban(gid, uid, self.ban_delete, &reason).await,
            };
            match result {
                Ok(()) => {}
                Err(RestError::NotFound { .. }) if step == Step::DeleteMessage => {
                    problems.push("message already deleted".into());
                }
                Err(e) => {
                    tracing::warn!(guild = req.guild_id, user = req.user_id, case_no, ?step, error = %e, "enforcement step failed");
                    problems.push(format!("{step:?} failed: {e}"));
                    if step.is_punishment() || req.action == CaseAction::Delete {
                        status = CaseStatus::Failed;
                        // Nothing after a failed punishment: the member must not be told of it.
                        break;
                    }
                }
            }
        }
        status
    }

    /// Posts to a channel, logging (not failing) when Discord refuses.
    pub async fn post(&self, channel: u64, message: &OutgoingMessage) {
        if let Err(e) = self
            .rest
            .post_message(ChannelId::new(channel.max(1)), message)
            .await
        {
            tracing::warn!(channel, error = %e, "could not post to the moderation channel; check the bot can send messages there");
        }
    }

    /// Reverses a case: records it (who, why), lifts a timeout or ban on Discord, and notes it in
    /// the mod log. Kicks and warnings have nothing to undo on Discord; their strike is lifted
    /// by the caller.
    pub async fn reverse(
        &self,
        guild_id: u64,
        case_no: i64,
        by: u64,
        why: &str,
        guild: &GuildTarget,
    ) -> Result<Case, EnforcementError> {
        let case = self
            .storage
            .reverse_case(guild_id, case_no, by, why)
            .await?;
        let gid = GuildId::new(guild_id.max(1));
        let uid = UserId::new(case.user_id.max(1));
        let reason = format!("usmca-bot: case #{case_no} reversed by {by}: {why}");
        if !case.dry_run {
            let undo = match case.action {
                CaseAction::Timeout => Some(self.rest.remove_timeout(gid, uid, &reason).await),
                CaseAction::Ban => Some(self.rest.unban(gid, uid, &reason).await),
                _ => None,
            };
            match undo {
                Some(Err(RestError::NotFound { .. })) | Some(Ok(())) | None => {}
                Some(Err(e)) => return Err(e.into()),
            }
        }
        if let Some(channel) = guild.mod_log {
            let text = format!(
                "Case #{case_no} ({}) against <@{}> was reversed by <@{by}>: {why}",
                case.action, case.user_id
            );
            self.post(channel, &OutgoingMessage::text(text)).await;
        }
        Ok(case)
    }
}
