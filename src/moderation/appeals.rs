//! Appeals: who may appeal a case, filing one (stored, then put before the moderators), and
//! a moderator's decision (recorded, the case reversed on approval, the member told).

use super::{Moderation, ServiceError};
use crate::discord::limits::truncate;
use crate::domain::{Appeal, AppealDecision, CaseStatus};
use crate::enforcement::modlog::appeal_review_post;
use crate::storage::StorageError;
use serenity::all::UserId;

/// Longest appeal text kept.
pub const APPEAL_MAX_CHARS: usize = 1_000;

/// A case the member may appeal: open the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppealForm {
    /// The case's database id.
    pub case_id: i64,
    /// Its number in the guild.
    pub case_no: i64,
    /// Longest text accepted.
    pub max_chars: usize,
}

/// An appeal that was stored.
#[derive(Debug, Clone, PartialEq)]
pub struct FiledAppeal {
    /// The appeal.
    pub appeal: Appeal,
    /// The guild's name, for the member's acknowledgement.
    pub guild_name: String,
    /// Whether it was posted for review (false: no appeal or mod-log channel is set).
    pub posted: bool,
}

/// A decided appeal.
#[derive(Debug, Clone, PartialEq)]
pub struct AppealReview {
    /// The appeal as recorded.
    pub appeal: Appeal,
    /// The decision.
    pub decision: AppealDecision,
    /// Set when the appeal was approved but reversing the case failed (the member is not told).
    pub reversal_failed: Option<String>,
    /// Whether the member got the decision by DM.
    pub member_told: bool,
}

impl Moderation {
    /// A guild's open appeals, oldest first, each with its case.
    pub async fn open_appeals(
        &self,
        guild_id: u64,
    ) -> Result<Vec<(Appeal, Option<crate::domain::Case>)>, ServiceError> {
        let mut out = Vec::new();
        for a in self.storage.open_appeals(guild_id).await? {
            let case = self.storage.case_by_id(a.case_id).await?;
            out.push((a, case));
        }
        Ok(out)
    }

    /// Checks that `user` may appeal case `case_id` now.
    pub async fn appeal_form(&self, case_id: i64, user: u64) -> Result<AppealForm, ServiceError> {
        let case = self.case_by_id(case_id).await?;
        if case.user_id != user {
            return Err(ServiceError::Forbidden(
                "Only the member this case is about can appeal it.".into(),
            ));
        }
        if case.status == CaseStatus::Reversed {
            return Err(ServiceError::Conflict(format!(
                "Case #{} was already reversed.",
                case.case_no
            )));
        }
        Ok(AppealForm {
            case_id,
            case_no: case.case_no,
            max_chars: APPEAL_MAX_CHARS,
        })
    }

    /// Files `user`'s appeal of case `case_id` (one open appeal per case) and posts it to the
    /// guild's appeal-review channel (or the mod log) with Approve and Deny.
    pub async fn file_appeal(
        &self,
        case_id: i64,
        user: u64,
        text: &str,
    ) -> Result<FiledAppeal, ServiceError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ServiceError::Invalid(
                "Your appeal was empty; press Appeal again and say why the decision was wrong."
                    .into(),
            ));
        }
        let text = truncate(text, APPEAL_MAX_CHARS);
        let case = self.case_by_id(case_id).await?;
        if case.user_id != user {
            return Err(ServiceError::Forbidden(
                "Only the member this case is about can appeal it.".into(),
            ));
        }
        let appeal = match self
            .storage
            .create_appeal(case.guild_id, case.case_no, user, &text)
            .await
        {
            Ok(a) => a,
            Err(StorageError::Conflict(_)) => {
                return Err(ServiceError::Conflict(format!(
                    "You already have an open appeal for case #{}; the moderators will answer it.",
                    case.case_no
                )))
            }
            Err(e) => return Err(e.into()),
        };
        self.metrics.appeals.with_label_values(&["filed"]).inc();
        let view = self.guilds.get(case.guild_id);
        let channel = view
            .settings
            .appeal_channel
            .or(view.settings.mod_log_channel);
        match channel {
            Some(ch) => {
                let post = appeal_review_post(
                    appeal.appeal_id,
                    case.case_no,
                    case.action,
                    user,
                    &text,
                    &case.reason,
                );
                self.executor.post(ch, &post).await;
            }
            None => tracing::warn!(guild = case.guild_id, "appeal stored but no appeal_channel or mod_log_channel is set; set one with /mod config set appeal_channel"),
        }
        Ok(FiledAppeal {
            appeal,
            guild_name: self.guilds.target(case.guild_id).name,
            posted: channel.is_some(),
        })
    }

    /// Records a moderator's decision on an appeal; an approval reverses the case. The member
    /// is told by DM either way (unless the reversal failed: then the moderator is told).
    pub async fn decide_appeal(
        &self,
        appeal_id: i64,
        reviewer: u64,
        decision: AppealDecision,
        reason: Option<&str>,
    ) -> Result<AppealReview, ServiceError> {
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        let note = reason.unwrap_or(match decision {
            AppealDecision::Accept => "approved",
            AppealDecision::Reject => "denied",
        });
        let appeal = match self
            .storage
            .decide_appeal(appeal_id, reviewer, decision, note)
            .await
        {
            Ok(a) => a,
            Err(StorageError::Conflict(_)) => {
                return Err(ServiceError::Conflict(format!(
                    "Appeal #{appeal_id} was already decided."
                )))
            }
            Err(e) => return Err(e.into()),
        };
        let guild_name = self.guilds.target(appeal.guild_id).name;
        let message = match decision {
            AppealDecision::Accept => {
                self.metrics.appeals.with_label_values(&["accepted"]).inc();
                let why = format!("appeal #{appeal_id} approved");
                match self
                    .reverse_case(appeal.guild_id, appeal.case_no, reviewer, &why)
                    .await
                {
                    Ok(_) | Err(ServiceError::Conflict(_)) => format!(
                        "Your appeal for case #{} in {guild_name} was approved; the action was reversed.",
                        appeal.case_no
                    ),
                    Err(e) => {
                        return Ok(AppealReview {
                            appeal,
                            decision,
                            reversal_failed: Some(e.to_string()),
                            member_told: false,
                        })
                    }
                }
            }
            AppealDecision::Reject => {
                self.metrics.appeals.with_label_values(&["rejected"]).inc();
                let mut text = format!(
                    "Your appeal for case #{} in {guild_name} was reviewed and denied; the decision stands.",
                    appeal.case_no
                );
                if let Some(r) = reason {
                    text.push_str(&format!("\nThe moderators' reason: {r}"));
                }
                text
            }
        };
        let uid = UserId::new(appeal.user_id.max(1));
        let member_told = match self.executor.rest().dm_member(uid, &message, None).await {
            Ok(_) => true,
            Err(e) => {
                tracing::info!(user = appeal.user_id, error = %e, "appeal decision not delivered by DM");
                // A kicked or banned member shares no server with the bot: the decision is
                // stored with the appeal and waits for them in the appeal portal.
                if let Some(log) = self.guilds.target(appeal.guild_id).mod_log {
                    let cfg = self.cfg();
                    let web = &cfg.web;
                    let portal = if web.enabled() {
                        format!(" ({}/me)", web.public_url.trim().trim_end_matches('/'))
                    } else {
                        String::new()
                    };
                    let text = format!(
                        "The decision on appeal #{appeal_id} (case #{}) could not be sent to <@{}> by DM; it is stored with the appeal and waits for them in the appeal portal{portal}.",
                        appeal.case_no, appeal.user_id
                    );
                    self.executor
                        .post(log, &crate::discord::rest::OutgoingMessage::text(text))
                        .await;
                }
                false
            }
        };
        Ok(AppealReview {
            appeal,
            decision,
            reversal_failed: None,
            member_told,
        })
    }
}
