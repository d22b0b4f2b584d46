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
mod queue;
pub mod reconcile;

pub use incidents::IncidentResponder;
pub use plan::{ActRequest, NoticeStyle, Step};

use crate::discord::rest::{AppealRef, OutgoingMessage, RestClient, RestError};
use crate::domain::{Case, CaseAction, CaseStatus, NewCase};
use crate::journal::{RecordError, Recorded, Records};
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
    /// The case could be recorded neither in Postgres nor in the journal; nothing was sent.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// Discord refused to undo the action: the case is unchanged and can be reversed again.
    #[error("Discord refused to lift the {action} ({source}); case #{case_no} is unchanged, so it can be reversed again once that is fixed")]
    UndoRefused {
        /// The case.
        case_no: i64,
        /// What was to be lifted ("timeout", "ban").
        action: &'static str,
        /// Discord's answer.
        source: RestError,
    },
}

/// A recorded case as the executor holds it: numbered when it is in Postgres, named by its key
/// alone while it waits in the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseHandle {
    /// Database id (`None`: journaled).
    pub id: Option<i64>,
    /// Number in the guild (`None`: journaled).
    pub no: Option<i64>,
    /// Idempotency key.
    pub key: String,
}

impl CaseHandle {
    /// What the member's Appeal button refers to.
    fn appeal(&self, guild_id: u64) -> AppealRef {
        match self.id {
            Some(id) => AppealRef::Case(id as u64),
            None => AppealRef::Key {
                guild: guild_id,
                key: self.key.clone(),
            },
        }
    }
}

/// What happened to one action.
#[derive(Debug, Clone, PartialEq)]
pub struct Executed {
    /// The case.
    pub case: CaseHandle,
    /// Final status (`Pending` while it waits for the budget).
    pub status: CaseStatus,
    /// What went wrong along the way (member not notified, message already gone, 403 ...).
    pub problems: Vec<String>,
    /// The same action was recorded before (same message and decision): nothing was done.
    pub duplicate: bool,
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
    /// Role pinged by incident alerts.
    pub alert_role: Option<u64>,
}

/// Executes actions against Discord and records them.
#[derive(Clone)]
pub struct Executor {
    rest: RestClient,
    storage: Storage,
    records: Arc<Records>,
    /// This process's name, kept with its cases (reconciliation after a crash).
    process: String,
    state: Arc<dyn WindowStore>,
    metrics: Arc<Metrics>,
    actions_per_minute: u32,
    ban_delete: std::time::Duration,
    /// Automatic actions over the guild's budget, waiting in order.
    waiting: Arc<queue::Waiting>,
}

/// A key for an action that has none of its own (a moderator's): unique, never repeated.
fn unique_key() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("once:{nanos:x}-{:08x}", rand::random::<u32>())
}

/// How long an action is retried while Discord answers 5xx or not at all.
pub const DISCORD_OUTAGE_RETRY: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// Most automatic actions waiting for their guild's budget, over all guilds; past it an
/// action fails with a note (the raid is bigger than the budget allows to answer).
pub const WAITING_ACTIONS_MAX: usize = 10_000;

impl Executor {
    /// An executor allowing `actions_per_minute` automatic actions per guild, recording
    /// through `records` (Postgres, or the journal while it is down).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        rest: RestClient,
        storage: Storage,
        records: Arc<Records>,
        process: String,
        state: Arc<dyn WindowStore>,
        metrics: Arc<Metrics>,
        actions_per_minute: u32,
        ban_delete: std::time::Duration,
    ) -> Self {
        Self {
            rest,
            storage,
            records,
            process,
            state,
            metrics,
            actions_per_minute: actions_per_minute.max(1),
            ban_delete,
            waiting: Arc::new(queue::Waiting::new(WAITING_ACTIONS_MAX)),
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
        // Behind actions already waiting for the budget, a new one waits too: oldest first.
        let over_budget = !req.dry_run
            && req.actor_id.is_none()
            && (self.waiting.has_waiting(req.guild_id) || !self.within_budget(req.guild_id).await);
        let expires_at = req
            .timeout
            .filter(|_| req.action == CaseAction::Timeout)
            .and_then(|t| chrono::Duration::from_std(t).ok())
            .map(|t| Utc::now() + t);
        let key = req.key.clone().unwrap_or_else(unique_key);
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
            key: Some(key.clone()),
            behaviour_score: req.behaviour_score,
        };
        let case = match self.records.case(&new, &self.process).await? {
            Recorded::Stored { case_id, case_no } => CaseHandle {
                id: Some(case_id),
                no: Some(case_no),
                key,
            },
            Recorded::Journaled => CaseHandle {
                id: None,
                no: None,
                key,
            },
            Recorded::Duplicate { case_no, status } => {
                tracing::info!(guild = req.guild_id, user = req.user_id, key = %key, ?case_no, "action already recorded; not repeated");
                return Ok(Executed {
                    case: CaseHandle {
                        id: None,
                        no: case_no,
                        key,
                    },
                    status: status.unwrap_or(CaseStatus::Pending),
                    problems: vec!["already recorded for this message and decision".into()],
                    duplicate: true,
                });
            }
        };

        if over_budget {
            if let Some(depth) = self.wait_for_budget(req, guild, &case) {
                tracing::info!(
                    guild = req.guild_id,
                    case_no = case.no,
                    key = %case.key,
                    waiting = depth,
                    "action over the guild's budget queued"
                );
                return Ok(Executed {
                    case,
                    status: CaseStatus::Pending,
                    problems: vec![format!(
                        "waiting for the action budget (limits.actions_per_minute = {}); {depth} queued",
                        self.actions_per_minute
                    )],
                    duplicate: false,
                });
            }
        }
        self.finish(req, guild, &case, over_budget).await
    }

    /// Executes a recorded case (unless dry-run or refused for lack of budget), records its
    /// final status and posts it to the mod log.
    async fn finish(
        &self,
        req: &ActRequest,
        guild: &GuildTarget,
        case: &CaseHandle,
        refused: bool,
    ) -> Result<Executed, EnforcementError> {
        let mut problems = Vec::new();
        let status = if req.dry_run {
            CaseStatus::Applied
        } else if refused {
            problems.push(format!(
                "not executed: more than {} automatic actions are waiting for this guild's budget (limits.actions_per_minute)",
                WAITING_ACTIONS_MAX
            ));
            CaseStatus::Failed
        } else {
            self.run_steps(req, guild, case, &mut problems).await
        };
        if !req.dry_run {
            let note = (!problems.is_empty()).then(|| problems.join("; "));
            self.records
                .case_status(req.guild_id, &case.key, status, note.as_deref())
                .await?;
        }
        self.metrics
            .messages_actioned
            .with_label_values(&[req.action.as_str()])
            .inc();
        if let Some(channel) = guild.mod_log {
            let post = modlog::case_post(req, case.id, case.no, status, &problems);
            self.post(channel, &post).await;
        }
        Ok(Executed {
            case: case.clone(),
            status,
            problems,
            duplicate: false,
        })
    }

    async fn run_steps(
        &self,
        req: &ActRequest,
        guild: &GuildTarget,
        case: &CaseHandle,
        problems: &mut Vec<String>,
    ) -> CaseStatus {
        let case_no = case.no;
        let gid = GuildId::new(req.guild_id.max(1));
        let uid = UserId::new(req.user_id.max(1));
        let reason = plan::audit_log_reason(req, case_no);
        let mut status = CaseStatus::Applied;
        // When a timeout ends, as Discord set it; the notice shows it in the member's time zone.
        let mut timeout_ends = None;
        for step in plan::steps(req) {
            let ends = timeout_ends;
            let result = self
                .through_outage(step, || async {
                    match step {
                        Step::Notify => {
                            let ends = ends.or_else(|| {
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
                            // A moderator's own words go to the member with the notice.
                            let text = match req.actor_id {
                                Some(_) if !req.summary.trim().is_empty() => {
                                    format!("{text}\n> {}", req.summary.trim())
                                }
                                _ => text,
                            };
                            let appeal = Some(case.appeal(req.guild_id));
                            match req.notice_channel {
                                Some(c) => self
                                    .rest
                                    .notify_member(uid, ChannelId::new(c.max(1)), &text, appeal)
                                    .await
                                    .map(|_| None),
                                None => self.rest.dm_member(uid, &text, appeal).await.map(|_| None),
                            }
                        }
                        Step::DeleteMessage => match req.delete {
                            Some((c, m)) => self
                                .rest
                                .delete_message(
                                    ChannelId::new(c.max(1)),
                                    MessageId::new(m.max(1)),
                                    &reason,
                                )
                                .await
                                .map(|_| None),
                            None => Ok(None),
                        },
                        Step::Timeout(d) => self
                            .rest
                            .timeout_member(gid, uid, d, &reason)
                            .await
                            .map(Some),
                        Step::Kick => self.rest.kick(gid, uid, &reason).await.map(|_| None),
                        Step::Ban => self
                            .rest
                            .ban(gid, uid, req.ban_delete.unwrap_or(self.ban_delete), &reason)
                            .await
                            .map(|_| None),
                        Step::Unban => match self.rest.unban(gid, uid, &reason).await {
                            // Not banned: nothing to lift.
                            Ok(()) | Err(RestError::NotFound { .. }) => Ok(None),
                            Err(e) => Err(e),
                        },
                    }
                })
                .await;
            // When a timeout ends, as Discord set it: the notice after it says so.
            let result = result.map(|until| {
                if until.is_some() {
                    timeout_ends = until;
                }
            });
            if step == Step::Notify {
                if let Err(e) = &result {
                    problems.push(format!("member not notified: {e}"));
                    if req.action == CaseAction::Warn {
                        // A warning nobody received did not happen.
                        status = CaseStatus::Failed;
                    }
                }
                continue;
            }
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

    /// Runs one step's call, and again with growing pauses while Discord is unavailable (5xx
    /// or no answer after the REST client's own retries), for up to
    /// [`DISCORD_OUTAGE_RETRY`]: an outage of Discord delays an action, it does not drop it.
    /// Each step is idempotent on Discord (a timeout until a time, a ban, a deletion).
    async fn through_outage<T, F, Fut>(&self, step: Step, mut call: F) -> Result<T, RestError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, RestError>>,
    {
        let deadline = std::time::Instant::now() + DISCORD_OUTAGE_RETRY;
        let mut pause = std::time::Duration::from_secs(1);
        loop {
            match call().await {
                Err(e @ (RestError::Server { .. } | RestError::Transport { .. }))
                    if std::time::Instant::now() + pause < deadline =>
                {
                    tracing::warn!(?step, error = %e, retry_in = ?pause, "Discord unavailable; the action is retried");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(std::time::Duration::from_secs(15));
                }
                other => return other,
            }
        }
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

    /// Reverses a case: lifts a timeout or ban on Discord, then records the reversal (who,
    /// why) and notes it in the mod log. Kicks and warnings have nothing to undo on Discord;
    /// their strike is lifted by the caller.
    ///
    /// The reversal is recorded only once Discord confirmed the undo (a 404, "not banned" or
    /// "not timed out", counts as done): when Discord refuses, the case stays as it was, the
    /// refusal is audited (`case.reverse_failed`) and [`EnforcementError::UndoRefused`] says why.
    pub async fn reverse(
        &self,
        guild_id: u64,
        case_no: i64,
        by: u64,
        why: &str,
        guild: &GuildTarget,
    ) -> Result<Case, EnforcementError> {
        let current = self.storage.case(guild_id, case_no).await?.ok_or_else(|| {
            StorageError::NotFound(format!("case #{case_no} in guild {guild_id}"))
        })?;
        if current.status == CaseStatus::Reversed {
            return Err(
                StorageError::Conflict(format!("case #{case_no} is already reversed")).into(),
            );
        }
        let gid = GuildId::new(guild_id.max(1));
        let uid = UserId::new(current.user_id.max(1));
        let reason = format!("usmca-bot: case #{case_no} reversed by {by}: {why}");
        if !current.dry_run {
            let undo = match current.action {
                CaseAction::Timeout => {
                    Some(("timeout", self.rest.remove_timeout(gid, uid, &reason).await))
                }
                CaseAction::Ban => Some(("ban", self.rest.unban(gid, uid, &reason).await)),
                _ => None,
            };
            match undo {
                Some((_, Err(RestError::NotFound { .. }))) | Some((_, Ok(()))) | None => {}
                Some((action, Err(source))) => {
                    let refused = crate::storage::AuditEvent {
                        guild_id,
                        kind: "case.reverse_failed".into(),
                        actor_id: Some(by),
                        target_id: Some(current.user_id),
                        payload: serde_json::json!({
                            "case_no": case_no, "reason": why, "error": source.to_string(),
                        }),
                    };
                    if let Err(e) = self.storage.audit(&refused).await {
                        tracing::error!(guild = guild_id, case_no, error = %e, "refused reversal not recorded");
                    }
                    return Err(EnforcementError::UndoRefused {
                        case_no,
                        action,
                        source,
                    });
                }
            }
        }
        let case = self
            .storage
            .reverse_case(guild_id, case_no, by, why)
            .await?;
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
