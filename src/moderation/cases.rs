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

/// A strike on a member's standing now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StrikeNow {
    /// When it was added.
    pub at: chrono::DateTime<chrono::Utc>,
    /// Its points then.
    pub points: f64,
    /// Its points now (halved every `enforcement.strike_half_life`).
    pub now: f64,
    /// When it stops weighing (under a tenth of a point).
    pub fades_at: chrono::DateTime<chrono::Utc>,
}

/// One page of a member's record.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberRecord {
    /// The member row, this page's cases and the recent messages.
    pub history: MemberHistory,
    /// Cases in all.
    pub total_cases: i64,
    /// This page (0-based) and how many there are.
    pub page: i64,
    /// Pages.
    pub pages: i64,
    /// Active strikes, newest first.
    pub strikes: Vec<StrikeNow>,
    /// Their points now, together.
    pub strike_points: f64,
}

/// Cases per page of `/mod history`.
pub const HISTORY_PAGE: i64 = 5;

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

    /// One page of a member's record: cases (newest first), active strikes and when each fades,
    /// recent messages.
    pub async fn member_record(
        &self,
        guild_id: u64,
        user_id: u64,
        page: i64,
    ) -> Result<MemberRecord, ServiceError> {
        let (cases, total) = self
            .storage
            .member_cases_page(guild_id, user_id, page.max(0) * HISTORY_PAGE, HISTORY_PAGE)
            .await?;
        let mut history = self.storage.member_history(guild_id, user_id, 10).await?;
        history.cases = cases;
        let half_life = self.pipeline.policy_for(guild_id).strike_half_life_ms;
        let now = chrono::Utc::now();
        let now_ms = now.timestamp_millis();
        let standing = self
            .pipeline
            .member_standing(guild_id, user_id)
            .await
            .or(self.storage.standing(guild_id, user_id).await?);
        let mut strikes: Vec<StrikeNow> = standing
            .map(|st| st.strikes.clone())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|s| {
                let at = chrono::DateTime::from_timestamp_millis(s.at_ms)?;
                let now_points = s.points * crate::behaviour::decay(now_ms - s.at_ms, half_life);
                // points * 2^(-t/h) = 0.1  =>  t = h * log2(points / 0.1)
                let fade_ms = (half_life as f64 * (s.points / 0.1).log2()).max(0.0) as i64;
                Some(StrikeNow {
                    at,
                    points: s.points,
                    now: now_points,
                    fades_at: at + chrono::Duration::milliseconds(fade_ms),
                })
            })
            .filter(|s| s.now >= 0.1)
            .collect();
        strikes.sort_by_key(|s| std::cmp::Reverse(s.at));
        let strike_points = strikes.iter().map(|s| s.now).sum();
        Ok(MemberRecord {
            history,
            total_cases: total,
            page: page.max(0),
            pages: ((total + HISTORY_PAGE - 1) / HISTORY_PAGE).max(1),
            strikes,
            strike_points,
        })
    }

    /// A guild's most recent cases as (number, action, member), newest first.
    pub async fn recent_cases(
        &self,
        guild_id: u64,
        limit: i64,
    ) -> Result<Vec<(i64, String, u64)>, ServiceError> {
        Ok(self.storage.recent_case_numbers(guild_id, limit).await?)
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
