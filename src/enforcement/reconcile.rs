//! After a crash: cases a previous run recorded but never saw through (`pending`) are settled
//! with what Discord says now. An action in effect is confirmed; one that never reached
//! Discord is completed (it was decided and recorded, so doing it now does it once); one whose
//! time has passed is closed as expired; one Discord cannot tell about (a warning, a deleted
//! message) is marked with that, never repeated.

use super::{Executor, Step};
use crate::discord::rest::RestError;
use crate::domain::{Case, CaseAction, CaseStatus};
use crate::storage::{CaseRef, StorageError};
use chrono::{DateTime, Utc};
use serenity::model::id::{GuildId, UserId};
use std::time::Duration;

/// What Discord says about the member now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observed {
    /// `None`: not a member; `Some(until)`: a member, timed out until `until` if set.
    pub member: Option<Option<DateTime<Utc>>>,
    /// Banned.
    pub banned: bool,
}

/// How a pending case is settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// In effect on Discord: applied.
    InEffect(String),
    /// Not in effect: carry out `step` now.
    Complete(Step),
    /// Its time has passed: expired, nothing to do.
    Lapsed(String),
    /// Discord cannot tell whether it happened: failed, with why, never repeated.
    Unknown(String),
}

/// Timeouts this close to their end are not started again.
const MIN_REMAINING: Duration = Duration::from_secs(10);

/// Settles one pending case from what Discord says (pure).
pub fn resolve(
    action: CaseAction,
    expires_at: Option<DateTime<Utc>>,
    observed: Observed,
    now: DateTime<Utc>,
) -> Resolution {
    match action {
        CaseAction::Ban if observed.banned => {
            Resolution::InEffect("confirmed after a restart: the member is banned".into())
        }
        CaseAction::Ban => Resolution::Complete(Step::Ban),
        CaseAction::Kick if observed.member.is_none() => Resolution::InEffect(
            "confirmed after a restart: the member is no longer in the server".into(),
        ),
        CaseAction::Kick => Resolution::Complete(Step::Kick),
        CaseAction::Timeout => match observed.member {
            Some(Some(until)) if until > now => Resolution::InEffect(format!(
                "confirmed after a restart: timed out until {}",
                until.to_rfc3339()
            )),
            None => Resolution::Unknown(
                "interrupted by a restart; the member has left the server, so the timeout was not applied".into(),
            ),
            Some(_) => {
                let remaining = expires_at
                    .and_then(|e| (e - now).to_std().ok())
                    .unwrap_or_default();
                if remaining > MIN_REMAINING {
                    Resolution::Complete(Step::Timeout(remaining))
                } else {
                    Resolution::Lapsed(
                        "interrupted by a restart; its time had passed before it could be applied"
                            .into(),
                    )
                }
            }
        },
        CaseAction::Warn => Resolution::Unknown(
            "interrupted by a restart; whether the member received the warning is unknown, so it is not sent again".into(),
        ),
        CaseAction::Delete => Resolution::Unknown(
            "interrupted by a restart; whether the message was removed is unknown".into(),
        ),
        other => Resolution::Unknown(format!(
            "interrupted by a restart; a {other} is not checked against Discord"
        )),
    }
}

/// What a reconciliation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Found in effect.
    pub confirmed: usize,
    /// Carried out now.
    pub completed: usize,
    /// Closed as expired.
    pub lapsed: usize,
    /// Marked as unknown or failed.
    pub unresolved: usize,
}

impl Executor {
    /// Settles every case left `pending` by processes not named in `live` (this one included:
    /// pass its name), checking each against Discord.
    pub async fn reconcile(&self, live: &[String]) -> Result<Reconciled, StorageError> {
        let mut done = Reconciled::default();
        for case in self.storage.pending_cases(live).await? {
            let (status, note) = self.settle(&case).await;
            match status {
                CaseStatus::Applied if note.starts_with("completed") => done.completed += 1,
                CaseStatus::Applied => done.confirmed += 1,
                CaseStatus::Expired => done.lapsed += 1,
                _ => done.unresolved += 1,
            }
            tracing::info!(guild = case.guild_id, case_no = case.case_no, %status, note = %note, "pending case reconciled");
            self.storage
                .update_case_status(
                    case.guild_id,
                    CaseRef::Number(case.case_no),
                    status,
                    Some(&note),
                    None,
                )
                .await?;
        }
        Ok(done)
    }

    async fn settle(&self, case: &Case) -> (CaseStatus, String) {
        let gid = GuildId::new(case.guild_id.max(1));
        let uid = UserId::new(case.user_id.max(1));
        let observed = match self.observe(case.action, gid, uid).await {
            Ok(o) => o,
            Err(e) => {
                return (
                    CaseStatus::Failed,
                    format!("interrupted by a restart; Discord could not be asked whether it took effect ({e})"),
                )
            }
        };
        let reason = format!(
            "usmca-bot case #{} (completed after a restart): {}",
            case.case_no, case.reason
        );
        match resolve(case.action, case.expires_at, observed, Utc::now()) {
            Resolution::InEffect(note) => (CaseStatus::Applied, note),
            Resolution::Lapsed(note) => (CaseStatus::Expired, note),
            Resolution::Unknown(note) => (CaseStatus::Failed, note),
            Resolution::Complete(step) => {
                let result = match step {
                    Step::Timeout(d) => self
                        .rest
                        .timeout_member(gid, uid, d, &reason)
                        .await
                        .map(drop),
                    Step::Kick => self.rest.kick(gid, uid, &reason).await,
                    Step::Ban => self.rest.ban(gid, uid, self.ban_delete, &reason).await,
                    Step::Notify | Step::DeleteMessage | Step::Unban => Ok(()),
                };
                match result {
                    Ok(()) => (
                        CaseStatus::Applied,
                        "completed after a restart (the member was not notified)".into(),
                    ),
                    Err(e) => (
                        CaseStatus::Failed,
                        format!("interrupted by a restart, and completing it failed: {e}"),
                    ),
                }
            }
        }
    }

    async fn observe(
        &self,
        action: CaseAction,
        guild: GuildId,
        user: UserId,
    ) -> Result<Observed, RestError> {
        Ok(match action {
            CaseAction::Ban => Observed {
                member: None,
                banned: self.rest.is_banned(guild, user).await?,
            },
            CaseAction::Timeout | CaseAction::Kick => Observed {
                member: self.rest.member_state(guild, user).await?,
                banned: false,
            },
            _ => Observed {
                member: None,
                banned: false,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap_or_default()
    }

    const MEMBER: Observed = Observed {
        member: Some(None),
        banned: false,
    };

    #[test]
    fn actions_in_effect_are_confirmed_and_missing_ones_completed_once() {
        let now = at(0);
        let banned = Observed {
            member: None,
            banned: true,
        };
        assert!(matches!(
            resolve(CaseAction::Ban, None, banned, now),
            Resolution::InEffect(_)
        ));
        assert_eq!(
            resolve(CaseAction::Ban, None, MEMBER, now),
            Resolution::Complete(Step::Ban)
        );
        let gone = Observed {
            member: None,
            banned: false,
        };
        assert!(matches!(
            resolve(CaseAction::Kick, None, gone, now),
            Resolution::InEffect(_)
        ));
        assert_eq!(
            resolve(CaseAction::Kick, None, MEMBER, now),
            Resolution::Complete(Step::Kick)
        );
        let timed_out = Observed {
            member: Some(Some(at(300))),
            banned: false,
        };
        assert!(matches!(
            resolve(CaseAction::Timeout, Some(at(300)), timed_out, now),
            Resolution::InEffect(_)
        ));
        // Not in effect: only what is left of it.
        assert_eq!(
            resolve(CaseAction::Timeout, Some(at(600)), MEMBER, now),
            Resolution::Complete(Step::Timeout(Duration::from_secs(600)))
        );
        assert!(matches!(
            resolve(CaseAction::Timeout, Some(at(5)), MEMBER, now),
            Resolution::Lapsed(_)
        ));
        // A warning may or may not have been delivered: never sent twice.
        assert!(matches!(
            resolve(CaseAction::Warn, None, MEMBER, now),
            Resolution::Unknown(_)
        ));
        assert!(matches!(
            resolve(CaseAction::Delete, None, MEMBER, now),
            Resolution::Unknown(_)
        ));
    }
}
