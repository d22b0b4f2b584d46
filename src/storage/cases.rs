//! Moderation cases: numbered per guild, written together with their audit row.

use super::audit::{append, append_at, AuditEvent};
use super::members::{member_from_row, MEMBER_COLUMNS};
use super::{db_id, ensure_guild, from_db_id, Member, Storage, StorageError, StoredMessage};
use crate::domain::{Case, CaseAction, CaseStatus, NewCase};
use chrono::{DateTime, SubsecRound, Utc};
use sqlx::Row;

/// What recording a keyed case did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordedCase {
    /// The case's database id.
    pub case_id: i64,
    /// Its number in the guild.
    pub case_no: i64,
    /// `Some(status)` when a case with the same key existed already (nothing was written).
    pub existed: Option<CaseStatus>,
}

/// A case named by its number or by its idempotency key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseRef<'a> {
    /// Its per-guild number.
    Number(i64),
    /// Its idempotency key.
    Key(&'a str),
}

impl std::fmt::Display for CaseRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CaseRef::Number(n) => write!(f, "#{n}"),
            CaseRef::Key(k) => write!(f, "with key {k}"),
        }
    }
}

/// A member's record: the member row, recent cases and recent messages, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberHistory {
    /// The member, if known.
    pub member: Option<Member>,
    /// Recent cases.
    pub cases: Vec<Case>,
    /// Recent messages.
    pub messages: Vec<StoredMessage>,
}

pub(crate) const CASE_COLUMNS: &str = "case_id, guild_id, case_no, user_id, action, reason, scores, message_id, message_excerpt, actor_id, created_at, expires_at, reversed_by, reversed_at, reversed_reason, dry_run, status, error_note, redacted_at, action_key, behaviour_score, label";

pub(crate) fn case_from_row(r: &sqlx::postgres::PgRow) -> Result<Case, StorageError> {
    let action: String = r.try_get("action")?;
    let status: String = r.try_get("status")?;
    let redacted_at: Option<DateTime<Utc>> = r.try_get("redacted_at")?;
    Ok(Case {
        case_id: r.try_get("case_id")?,
        guild_id: from_db_id(r.try_get("guild_id")?),
        case_no: r.try_get("case_no")?,
        user_id: from_db_id(r.try_get("user_id")?),
        action: CaseAction::parse(&action)
            .ok_or_else(|| StorageError::Corrupt(format!("unknown case action {action:?}")))?,
        reason: r.try_get("reason")?,
        scores: r.try_get("scores")?,
        message_id: r.try_get::<Option<i64>, _>("message_id")?.map(from_db_id),
        message_excerpt: r.try_get("message_excerpt")?,
        actor_id: r.try_get::<Option<i64>, _>("actor_id")?.map(from_db_id),
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        reversed_by: r.try_get::<Option<i64>, _>("reversed_by")?.map(from_db_id),
        reversed_at: r.try_get("reversed_at")?,
        reversed_reason: r.try_get("reversed_reason")?,
        dry_run: r.try_get("dry_run")?,
        status: CaseStatus::parse(&status)
            .ok_or_else(|| StorageError::Corrupt(format!("unknown case status {status:?}")))?,
        error_note: r.try_get("error_note")?,
        redacted: redacted_at.is_some(),
        key: r.try_get("action_key")?,
        behaviour_score: r.try_get("behaviour_score")?,
        label: r.try_get("label")?,
    })
}

impl Storage {
    /// Records a case and its audit row in one transaction and returns the case number, which is
    /// sequential per guild even under concurrent inserts (the guild row's counter is bumped with
    /// `UPDATE ... RETURNING`, which holds its row lock until commit).
    pub async fn record_case(&self, case: &NewCase) -> Result<i64, StorageError> {
        self.record_case_ids(case).await.map(|(_, case_no)| case_no)
    }

    /// [`Storage::record_case`], returning the case's database id as well: `(case_id, case_no)`.
    pub async fn record_case_ids(&self, case: &NewCase) -> Result<(i64, i64), StorageError> {
        self.record_case_keyed(case, None, None)
            .await
            .map(|r| (r.case_id, r.case_no))
    }

    /// Records a case and its audit row unless a case with the same idempotency key exists in
    /// the guild (then that one is returned, `existed` set, nothing written). `at` backdates
    /// the case and its audit row (a journal replayed after an outage is written as it
    /// happened); `recorded_by` names the process, for reconciliation after a crash.
    pub async fn record_case_keyed(
        &self,
        case: &NewCase,
        at: Option<DateTime<Utc>>,
        recorded_by: Option<&str>,
    ) -> Result<RecordedCase, StorageError> {
        let mut tx = self.pool.begin().await?;
        ensure_guild(&mut tx, case.guild_id).await?;
        // The guild row's lock serialises numbering, and the key check with it.
        sqlx::query("SELECT last_case_no FROM guilds WHERE guild_id = $1 FOR UPDATE")
            .bind(db_id(case.guild_id))
            .execute(&mut *tx)
            .await?;
        if let Some(key) = &case.key {
            let existing: Option<(i64, i64, String)> = sqlx::query_as(
                "SELECT case_id, case_no, status FROM moderation_cases WHERE guild_id = $1 AND action_key = $2",
            )
            .bind(db_id(case.guild_id))
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((case_id, case_no, status)) = existing {
                tx.rollback().await?;
                return Ok(RecordedCase {
                    case_id,
                    case_no,
                    existed: Some(CaseStatus::parse(&status).ok_or_else(|| {
                        StorageError::Corrupt(format!("unknown case status {status:?}"))
                    })?),
                });
            }
        }
        let case_no: i64 = sqlx::query_scalar(
            "UPDATE guilds SET last_case_no = last_case_no + 1 WHERE guild_id = $1 RETURNING last_case_no",
        )
        .bind(db_id(case.guild_id))
        .fetch_one(&mut *tx)
        .await?;
        let at = at.map(|t| t.trunc_subsecs(6));
        let case_id: i64 = sqlx::query_scalar(
            "INSERT INTO moderation_cases (guild_id, case_no, user_id, action, reason, scores, message_id,
                 message_excerpt, actor_id, expires_at, dry_run, status, error_note, action_key,
                 recorded_by, created_at, behaviour_score)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, COALESCE($16, now()), $17)
             RETURNING case_id",
        )
        .bind(db_id(case.guild_id))
        .bind(case_no)
        .bind(db_id(case.user_id))
        .bind(case.action.as_str())
        .bind(&case.reason)
        .bind(&case.scores)
        .bind(case.message_id.map(db_id))
        .bind(&case.message_excerpt)
        .bind(case.actor_id.map(db_id))
        .bind(case.expires_at)
        .bind(case.dry_run)
        .bind(case.status.as_str())
        .bind(&case.error_note)
        .bind(&case.key)
        .bind(recorded_by)
        .bind(at)
        .bind(case.behaviour_score)
        .fetch_one(&mut *tx)
        .await?;
        append_at(
            &mut tx,
            &AuditEvent {
                guild_id: case.guild_id,
                kind: "case.created".into(),
                actor_id: case.actor_id,
                target_id: Some(case.user_id),
                payload: serde_json::json!({
                    "case_no": case_no,
                    "action": case.action,
                    "reason": case.reason,
                    "scores": case.scores,
                    "message_id": case.message_id,
                    "expires_at": case.expires_at,
                    "dry_run": case.dry_run,
                    "status": case.status,
                    "error_note": case.error_note,
                }),
            },
            at,
        )
        .await?;
        tx.commit().await?;
        Ok(RecordedCase {
            case_id,
            case_no,
            existed: None,
        })
    }

    /// Sets a case's status after the Discord call (e.g. `Failed` with "403 Missing Permissions").
    pub async fn set_case_status(
        &self,
        guild_id: u64,
        case_no: i64,
        status: CaseStatus,
        error_note: Option<&str>,
    ) -> Result<(), StorageError> {
        self.update_case_status(guild_id, CaseRef::Number(case_no), status, error_note, None)
            .await
    }

    /// Sets the status of a case found by number or idempotency key, audited (`case.status`);
    /// `at` backdates the audit row (journal replay).
    pub async fn update_case_status(
        &self,
        guild_id: u64,
        case: CaseRef<'_>,
        status: CaseStatus,
        error_note: Option<&str>,
        at: Option<DateTime<Utc>>,
    ) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await?;
        let (filter, key_bind): (&str, Option<&str>) = match case {
            CaseRef::Number(_) => ("case_no = $2", None),
            CaseRef::Key(k) => ("action_key = $5", Some(k)),
        };
        let row: Option<(i64, i64)> = sqlx::query_as(&format!(
            "UPDATE moderation_cases SET status = $3, error_note = $4
             WHERE guild_id = $1 AND {filter} RETURNING user_id, case_no"
        ))
        .bind(db_id(guild_id))
        .bind(match case {
            CaseRef::Number(n) => n,
            CaseRef::Key(_) => 0,
        })
        .bind(status.as_str())
        .bind(error_note)
        .bind(key_bind)
        .fetch_optional(&mut *tx)
        .await?;
        let (user, case_no) =
            row.ok_or_else(|| StorageError::NotFound(format!("case {case} in guild {guild_id}")))?;
        append_at(
            &mut tx,
            &AuditEvent {
                guild_id,
                kind: "case.status".into(),
                actor_id: None,
                target_id: Some(from_db_id(user)),
                payload: serde_json::json!({ "case_no": case_no, "status": status, "error_note": error_note }),
            },
            at,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Cases left `pending` (not dry-run) by processes other than those in `exclude` (the live
    /// ones), oldest first: what a restart reconciles.
    pub async fn pending_cases(&self, exclude: &[String]) -> Result<Vec<Case>, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {CASE_COLUMNS}, recorded_by FROM moderation_cases
             WHERE status = 'pending' AND NOT dry_run
               AND (recorded_by IS NULL OR NOT (recorded_by = ANY($1)))
             ORDER BY case_id"
        ))
        .bind(exclude)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(case_from_row).collect()
    }

    /// Replaces a case's reason (a moderator's `/mod reason`), audited with the old and new text.
    pub async fn set_case_reason(
        &self,
        guild_id: u64,
        case_no: i64,
        reason: &str,
        actor_id: u64,
    ) -> Result<Case, StorageError> {
        let mut tx = self.pool.begin().await?;
        let old: Option<String> = sqlx::query_scalar(
            "SELECT reason FROM moderation_cases WHERE guild_id = $1 AND case_no = $2 FOR UPDATE",
        )
        .bind(db_id(guild_id))
        .bind(case_no)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(old) = old else {
            return Err(StorageError::NotFound(format!(
                "case #{case_no} in guild {guild_id}"
            )));
        };
        let row = sqlx::query(&format!(
            "UPDATE moderation_cases SET reason = $3 WHERE guild_id = $1 AND case_no = $2 RETURNING {CASE_COLUMNS}"
        ))
        .bind(db_id(guild_id))
        .bind(case_no)
        .bind(reason)
        .fetch_one(&mut *tx)
        .await?;
        let case = case_from_row(&row)?;
        append(
            &mut tx,
            &AuditEvent {
                guild_id,
                kind: "case.reason".into(),
                actor_id: Some(actor_id),
                target_id: Some(case.user_id),
                payload: serde_json::json!({ "case_no": case_no, "old": old, "new": reason }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(case)
    }

    /// Records the moderators' verdict on a case (`confirmed` or `reversed`); the latest wins.
    pub async fn set_case_label(
        &self,
        case_id: i64,
        label: &str,
        by: u64,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "UPDATE moderation_cases SET label = $2, labelled_by = $3, labelled_at = now() WHERE case_id = $1",
        )
        .bind(case_id)
        .bind(label)
        .bind(db_id(by))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A guild's labelled automatic cases, oldest first: the tuning loop's data.
    pub async fn labelled_cases(&self, guild_id: u64) -> Result<Vec<Case>, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {CASE_COLUMNS} FROM moderation_cases
             WHERE guild_id = $1 AND label IS NOT NULL AND actor_id IS NULL ORDER BY case_id"
        ))
        .bind(db_id(guild_id))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(case_from_row).collect()
    }

    /// The labelled automatic cases of a guild that carry their behaviour score, for
    /// [`crate::domain::calibration`].
    pub async fn labelled_scores(
        &self,
        guild_id: u64,
    ) -> Result<Vec<crate::domain::calibration::Labelled>, StorageError> {
        Ok(self
            .labelled_cases(guild_id)
            .await?
            .into_iter()
            .filter_map(|c| {
                Some(crate::domain::calibration::Labelled {
                    score: c.behaviour_score?,
                    confirmed: c.label.as_deref() == Some("confirmed"),
                })
            })
            .collect())
    }

    /// A guild's cases whose idempotency key starts with `prefix` (e.g. an incident's timeouts).
    pub async fn cases_with_key_prefix(
        &self,
        guild_id: u64,
        prefix: &str,
    ) -> Result<Vec<Case>, StorageError> {
        let pattern = format!("{}%", prefix.replace('%', "\\%").replace('_', "\\_"));
        let rows = sqlx::query(&format!(
            "SELECT {CASE_COLUMNS} FROM moderation_cases
             WHERE guild_id = $1 AND action_key LIKE $2 ORDER BY case_no"
        ))
        .bind(db_id(guild_id))
        .bind(pattern)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(case_from_row).collect()
    }

    /// A case by its idempotency key.
    pub async fn case_by_key(
        &self,
        guild_id: u64,
        key: &str,
    ) -> Result<Option<Case>, StorageError> {
        let row = sqlx::query(&format!(
            "SELECT {CASE_COLUMNS} FROM moderation_cases WHERE guild_id = $1 AND action_key = $2"
        ))
        .bind(db_id(guild_id))
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(case_from_row).transpose()
    }

    /// A case by its per-guild number.
    pub async fn case(&self, guild_id: u64, case_no: i64) -> Result<Option<Case>, StorageError> {
        let row = sqlx::query(&format!(
            "SELECT {CASE_COLUMNS} FROM moderation_cases WHERE guild_id = $1 AND case_no = $2"
        ))
        .bind(db_id(guild_id))
        .bind(case_no)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(case_from_row).transpose()
    }

    /// A case by its database id (what appeal buttons carry: DMs have no guild).
    pub async fn case_by_id(&self, case_id: i64) -> Result<Option<Case>, StorageError> {
        let row = sqlx::query(&format!(
            "SELECT {CASE_COLUMNS} FROM moderation_cases WHERE case_id = $1"
        ))
        .bind(case_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(case_from_row).transpose()
    }

    /// A guild's open (pending or applied) cases, newest first.
    pub async fn open_cases(&self, guild_id: u64, limit: i64) -> Result<Vec<Case>, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {CASE_COLUMNS} FROM moderation_cases
             WHERE guild_id = $1 AND status IN ('pending', 'applied') ORDER BY case_no DESC LIMIT $2"
        ))
        .bind(db_id(guild_id))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(case_from_row).collect()
    }

    /// A member's recent cases and messages (at most `limit` of each), newest first.
    pub async fn member_history(
        &self,
        guild_id: u64,
        user_id: u64,
        limit: i64,
    ) -> Result<MemberHistory, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {CASE_COLUMNS} FROM moderation_cases
             WHERE guild_id = $1 AND user_id = $2 ORDER BY created_at DESC, case_no DESC LIMIT $3"
        ))
        .bind(db_id(guild_id))
        .bind(db_id(user_id))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let cases = rows.iter().map(case_from_row).collect::<Result<_, _>>()?;
        let member = sqlx::query_as(&format!(
            "SELECT {MEMBER_COLUMNS} FROM members WHERE guild_id = $1 AND user_id = $2"
        ))
        .bind(db_id(guild_id))
        .bind(db_id(user_id))
        .fetch_optional(&self.pool)
        .await?
        .map(member_from_row);
        let messages = self.recent_messages(guild_id, user_id, limit).await?;
        Ok(MemberHistory {
            member,
            cases,
            messages,
        })
    }

    /// One page of a member's cases, newest first, with how many they have in all.
    pub async fn member_cases_page(
        &self,
        guild_id: u64,
        user_id: u64,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<Case>, i64), StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {CASE_COLUMNS} FROM moderation_cases
             WHERE guild_id = $1 AND user_id = $2 ORDER BY created_at DESC, case_no DESC
             OFFSET $3 LIMIT $4"
        ))
        .bind(db_id(guild_id))
        .bind(db_id(user_id))
        .bind(offset.max(0))
        .bind(limit.max(1))
        .fetch_all(&self.pool)
        .await?;
        let total: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM moderation_cases WHERE guild_id = $1 AND user_id = $2",
        )
        .bind(db_id(guild_id))
        .bind(db_id(user_id))
        .fetch_one(&self.pool)
        .await?;
        Ok((
            rows.iter().map(case_from_row).collect::<Result<_, _>>()?,
            total,
        ))
    }

    /// A guild's most recent case numbers (for autocompletion), newest first.
    pub async fn recent_case_numbers(
        &self,
        guild_id: u64,
        limit: i64,
    ) -> Result<Vec<(i64, String, u64)>, StorageError> {
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT case_no, action, user_id FROM moderation_cases WHERE guild_id = $1
             ORDER BY case_no DESC LIMIT $2",
        )
        .bind(db_id(guild_id))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(n, a, u)| (n, a, from_db_id(u)))
            .collect())
    }

    /// Reverses a case (unban/untimeout is the caller's Discord call), audited in the same
    /// transaction. Fails with `Conflict` when it was already reversed.
    pub async fn reverse_case(
        &self,
        guild_id: u64,
        case_no: i64,
        reversed_by: u64,
        why: &str,
    ) -> Result<Case, StorageError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "UPDATE moderation_cases SET status = 'reversed', reversed_by = $3, reversed_at = now(), reversed_reason = $4
             WHERE guild_id = $1 AND case_no = $2 AND status <> 'reversed' RETURNING {CASE_COLUMNS}"
        ))
        .bind(db_id(guild_id))
        .bind(case_no)
        .bind(db_id(reversed_by))
        .bind(why)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            let exists: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM moderation_cases WHERE guild_id = $1 AND case_no = $2)",
            )
            .bind(db_id(guild_id))
            .bind(case_no)
            .fetch_one(&mut *tx)
            .await?;
            return Err(if exists {
                StorageError::Conflict(format!("case #{case_no} is already reversed"))
            } else {
                StorageError::NotFound(format!("case #{case_no} in guild {guild_id}"))
            });
        };
        let case = case_from_row(&row)?;
        append(
            &mut tx,
            &AuditEvent {
                guild_id,
                kind: "case.reversed".into(),
                actor_id: Some(reversed_by),
                target_id: Some(case.user_id),
                payload: serde_json::json!({ "case_no": case_no, "reason": why }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(case)
    }
}
