//! Moderation cases: numbered per guild, written together with their audit row.

use super::audit::{append, AuditEvent};
use super::members::{member_from_row, MEMBER_COLUMNS};
use super::{db_id, ensure_guild, from_db_id, Member, Storage, StorageError, StoredMessage};
use crate::domain::{Case, CaseAction, CaseStatus, NewCase};
use chrono::{DateTime, Utc};
use sqlx::Row;

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

pub(crate) const CASE_COLUMNS: &str = "case_id, guild_id, case_no, user_id, action, reason, scores, message_id, message_excerpt, actor_id, created_at, expires_at, reversed_by, reversed_at, reversed_reason, dry_run, status, error_note, redacted_at";

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
        let mut tx = self.pool.begin().await?;
        ensure_guild(&mut tx, case.guild_id).await?;
        let case_no: i64 = sqlx::query_scalar(
            "UPDATE guilds SET last_case_no = last_case_no + 1 WHERE guild_id = $1 RETURNING last_case_no",
        )
        .bind(db_id(case.guild_id))
        .fetch_one(&mut *tx)
        .await?;
        let case_id: i64 = sqlx::query_scalar(
            "INSERT INTO moderation_cases (guild_id, case_no, user_id, action, reason, scores, message_id,
                 message_excerpt, actor_id, expires_at, dry_run, status, error_note)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING case_id",
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
        .fetch_one(&mut *tx)
        .await?;
        append(
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
        )
        .await?;
        tx.commit().await?;
        Ok((case_id, case_no))
    }

    /// Sets a case's status after the Discord call (e.g. `Failed` with "403 Missing Permissions").
    pub async fn set_case_status(
        &self,
        guild_id: u64,
        case_no: i64,
        status: CaseStatus,
        error_note: Option<&str>,
    ) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await?;
        let user: Option<i64> = sqlx::query_scalar(
            "UPDATE moderation_cases SET status = $3, error_note = $4
             WHERE guild_id = $1 AND case_no = $2 RETURNING user_id",
        )
        .bind(db_id(guild_id))
        .bind(case_no)
        .bind(status.as_str())
        .bind(error_note)
        .fetch_optional(&mut *tx)
        .await?;
        let user = user.ok_or_else(|| {
            StorageError::NotFound(format!("case #{case_no} in guild {guild_id}"))
        })?;
        append(
            &mut tx,
            &AuditEvent {
                guild_id,
                kind: "case.status".into(),
                actor_id: None,
                target_id: Some(from_db_id(user)),
                payload: serde_json::json!({ "case_no": case_no, "status": status, "error_note": error_note }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
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
