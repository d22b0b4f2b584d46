//! Cases: reading them, a member's history and standing, reversing and confirming.

use super::{Moderation, ServiceError};
use crate::behaviour::MemberStanding;
use crate::domain::{calibration, Case};
use crate::enforcement::EnforcementError;
use crate::storage::{AuditEvent, MemberHistory, StorageError};

/// What the moderators' verdicts suggest for a guild's thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    /// Labelled cases used.
    pub labelled: usize,
    /// Every candidate warn threshold, lowest first.
    pub candidates: Vec<calibration::Candidate>,
    /// The chosen candidate (`None`: no threshold meets the target).
    pub proposal: Option<calibration::Candidate>,
    /// Thresholds now: warn, timeout, kick, ban.
    pub current: [f64; 4],
    /// Proposed thresholds.
    pub proposed: Option<[f64; 4]>,
}

/// A case that was reversed, and whether its strike was lifted from the member's standing.
#[derive(Debug, Clone, PartialEq)]
pub struct Reversed {
    /// The case as recorded after the reversal.
    pub case: Case,
    /// The strike the automatic action added was found and removed.
    pub strike_lifted: bool,
}

impl Moderation {
    /// Case `case_no` of a guild.
    pub async fn case(&self, guild_id: u64, case_no: i64) -> Result<Case, ServiceError> {
        self.storage.case(guild_id, case_no).await?.ok_or_else(|| {
            ServiceError::NotFound(format!("There is no case #{case_no} in this server."))
        })
    }

    /// A case by its database id (buttons carry it).
    pub async fn case_by_id(&self, case_id: i64) -> Result<Case, ServiceError> {
        self.storage
            .case_by_id(case_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound("This case no longer exists.".into()))
    }

    /// A case by its idempotency key (an Appeal button of a case recorded in the journal).
    pub async fn case_by_key(&self, guild_id: u64, key: &str) -> Result<Case, ServiceError> {
        self.storage
            .case_by_key(guild_id, key)
            .await?
            .ok_or_else(|| ServiceError::NotFound("This case is not recorded yet.".into()))
    }

    /// A member's record in a guild: the member row, the `limit` newest cases and messages.
    pub async fn member_history(
        &self,
        guild_id: u64,
        user_id: u64,
        limit: i64,
    ) -> Result<MemberHistory, ServiceError> {
        Ok(self
            .storage
            .member_history(guild_id, user_id, limit)
            .await?)
    }

    /// A member's stored standing (strikes, decayed toxicity), if any.
    pub async fn member_standing(
        &self,
        guild_id: u64,
        user_id: u64,
    ) -> Result<Option<MemberStanding>, ServiceError> {
        Ok(self.storage.standing(guild_id, user_id).await?)
    }

    /// Reverses a case: Discord (lift a timeout or ban), the case record and audit row, the mod
    /// log, and the strike it added to the member's standing.
    pub async fn reverse_case(
        &self,
        guild_id: u64,
        case_no: i64,
        by: u64,
        why: &str,
    ) -> Result<Reversed, ServiceError> {
        let target = self.guilds.target(guild_id);
        let case = match self
            .executor
            .reverse(guild_id, case_no, by, why, &target)
            .await
        {
            Ok(c) => c,
            Err(EnforcementError::Storage(StorageError::Conflict(m))) => {
                return Err(ServiceError::Conflict(m))
            }
            Err(EnforcementError::Storage(StorageError::NotFound(_))) => {
                return Err(ServiceError::NotFound(format!(
                    "There is no case #{case_no} in this server."
                )))
            }
            Err(e) => return Err(e.into()),
        };
        if let Err(e) = self
            .storage
            .set_case_label(case.case_id, "reversed", by)
            .await
        {
            tracing::warn!(guild = guild_id, case_no, error = %e, "reversal not kept as a label");
        }
        let mut strike_lifted = false;
        if case.actor_id.is_none() && !case.dry_run {
            match self
                .pipeline
                .lift_strike(guild_id, case.user_id, case.created_at)
                .await
            {
                Ok(lifted) => strike_lifted = lifted,
                Err(e) => {
                    tracing::warn!(guild = guild_id, case_no, error = %e, "strike not lifted")
                }
            }
        }
        Ok(Reversed {
            case,
            strike_lifted,
        })
    }

    /// Reverses the case with database id `case_id` (the mod log's Reverse button).
    pub async fn reverse_case_by_id(
        &self,
        case_id: i64,
        by: u64,
        why: &str,
    ) -> Result<Reversed, ServiceError> {
        let case = self.case_by_id(case_id).await?;
        self.reverse_case(case.guild_id, case.case_no, by, why)
            .await
    }

    /// Records a moderator's confirmation of a case (the mod log's Confirm button).
    pub async fn confirm_case(&self, case_id: i64, by: u64) -> Result<Case, ServiceError> {
        let case = self.case_by_id(case_id).await?;
        self.storage
            .audit(&AuditEvent {
                guild_id: case.guild_id,
                kind: "case.confirmed".into(),
                actor_id: Some(by),
                target_id: Some(case.user_id),
                payload: serde_json::json!({ "case_no": case.case_no }),
            })
            .await?;
        self.storage
            .set_case_label(case.case_id, "confirmed", by)
            .await?;
        Ok(case)
    }

    /// Thresholds the moderators' verdicts suggest: every candidate warn threshold over the
    /// guild's labelled cases, the lowest one keeping the reversal rate at or under
    /// `max_reversal_rate`, and the four thresholds moved by as much.
    pub async fn suggest_thresholds(
        &self,
        guild_id: u64,
        max_reversal_rate: f64,
    ) -> Result<Suggestion, ServiceError> {
        let labelled = self.storage.labelled_scores(guild_id).await?;
        let (_, cfg) = self.effective_settings(guild_id);
        let t = cfg.thresholds;
        let current = [t.warn, t.timeout, t.kick, t.ban];
        let proposal = calibration::propose(&labelled, max_reversal_rate);
        Ok(Suggestion {
            labelled: labelled.len(),
            candidates: calibration::candidates(&labelled),
            proposal,
            current,
            proposed: proposal.map(|p| calibration::shifted(current, p.threshold)),
        })
    }
}
