//! Appeals against cases: at most one open appeal per case (a partial unique index).

use super::audit::{append, AuditEvent};
use super::{db_id, from_db_id, Storage, StorageError};
use crate::domain::{Appeal, AppealDecision, AppealStatus};
use sqlx::Row;

const APPEAL_SELECT: &str =
    "SELECT a.appeal_id, a.case_id, c.guild_id, c.case_no, a.user_id, a.body, a.status,
        a.reviewer_id, a.review_note, a.created_at, a.decided_at
     FROM appeals a JOIN moderation_cases c ON c.case_id = a.case_id";

fn appeal_from_row(r: &sqlx::postgres::PgRow) -> Result<Appeal, StorageError> {
    let status: String = r.try_get("status")?;
    Ok(Appeal {
        appeal_id: r.try_get("appeal_id")?,
        case_id: r.try_get("case_id")?,
        guild_id: from_db_id(r.try_get("guild_id")?),
        case_no: r.try_get("case_no")?,
        user_id: from_db_id(r.try_get("user_id")?),
        body: r.try_get("body")?,
        status: AppealStatus::parse(&status)
            .ok_or_else(|| StorageError::Corrupt(format!("unknown appeal status {status:?}")))?,
        reviewer_id: r.try_get::<Option<i64>, _>("reviewer_id")?.map(from_db_id),
        review_note: r.try_get("review_note")?,
        created_at: r.try_get("created_at")?,
        decided_at: r.try_get("decided_at")?,
    })
}

impl Storage {
    /// Every appeal filed on a case, newest first.
    pub async fn appeals_of_case(&self, case_id: i64) -> Result<Vec<Appeal>, StorageError> {
        let rows = sqlx::query(&format!(
            "{APPEAL_SELECT} WHERE a.case_id = $1 ORDER BY a.created_at DESC"
        ))
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(appeal_from_row).collect()
    }

    /// Files an appeal by the case's member. `Conflict` when the case already has an open appeal,
    /// `NotFound` when the case does not exist or is about someone else.
    pub async fn create_appeal(
        &self,
        guild_id: u64,
        case_no: i64,
        user_id: u64,
        body: &str,
    ) -> Result<Appeal, StorageError> {
        let mut tx = self.pool.begin().await?;
        let case_id: Option<i64> = sqlx::query_scalar(
            "SELECT case_id FROM moderation_cases WHERE guild_id = $1 AND case_no = $2 AND user_id = $3",
        )
        .bind(db_id(guild_id))
        .bind(case_no)
        .bind(db_id(user_id))
        .fetch_optional(&mut *tx)
        .await?;
        let case_id = case_id.ok_or_else(|| {
            StorageError::NotFound(format!(
                "case #{case_no} for user {user_id} in guild {guild_id}"
            ))
        })?;
        let inserted = sqlx::query_scalar::<_, i64>(
            "INSERT INTO appeals (case_id, user_id, body) VALUES ($1, $2, $3) RETURNING appeal_id",
        )
        .bind(case_id)
        .bind(db_id(user_id))
        .bind(body)
        .fetch_one(&mut *tx)
        .await;
        let appeal_id = match inserted {
            Ok(id) => id,
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StorageError::Conflict(format!(
                    "case #{case_no} already has an open appeal"
                )))
            }
            Err(e) => return Err(e.into()),
        };
        append(
            &mut tx,
            &AuditEvent {
                guild_id,
                kind: "appeal.created".into(),
                actor_id: Some(user_id),
                target_id: Some(user_id),
                payload: serde_json::json!({ "appeal_id": appeal_id, "case_no": case_no, "body": body }),
            },
        )
        .await?;
        tx.commit().await?;
        self.appeal(appeal_id)
            .await?
            .ok_or_else(|| StorageError::NotFound(format!("appeal {appeal_id}")))
    }

    /// An appeal by id.
    pub async fn appeal(&self, appeal_id: i64) -> Result<Option<Appeal>, StorageError> {
        let row = sqlx::query(&format!("{APPEAL_SELECT} WHERE a.appeal_id = $1"))
            .bind(appeal_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(appeal_from_row).transpose()
    }

    /// Open appeals of a guild, oldest first.
    pub async fn open_appeals(&self, guild_id: u64) -> Result<Vec<Appeal>, StorageError> {
        let rows = sqlx::query(&format!(
            "{APPEAL_SELECT} WHERE c.guild_id = $1 AND a.status = 'open' ORDER BY a.created_at"
        ))
        .bind(db_id(guild_id))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(appeal_from_row).collect()
    }

    /// Decides an open appeal (audited). `Conflict` when it is no longer open. Accepting does
    /// not reverse the case by itself: the caller lifts the punishment and calls `reverse_case`.
    pub async fn decide_appeal(
        &self,
        appeal_id: i64,
        reviewer_id: u64,
        decision: AppealDecision,
        note: &str,
    ) -> Result<Appeal, StorageError> {
        let status = match decision {
            AppealDecision::Accept => AppealStatus::Accepted,
            AppealDecision::Reject => AppealStatus::Rejected,
        };
        let mut tx = self.pool.begin().await?;
        let updated: Option<(i64, i64)> = sqlx::query_as(
            "UPDATE appeals SET status = $2, reviewer_id = $3, review_note = $4, decided_at = now()
             WHERE appeal_id = $1 AND status = 'open' RETURNING case_id, user_id",
        )
        .bind(appeal_id)
        .bind(status.as_str())
        .bind(db_id(reviewer_id))
        .bind(note)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((case_id, user_id)) = updated else {
            return Err(match self.appeal(appeal_id).await? {
                Some(a) => {
                    StorageError::Conflict(format!("appeal {appeal_id} is already {}", a.status))
                }
                None => StorageError::NotFound(format!("appeal {appeal_id}")),
            });
        };
        let (guild_id, case_no): (i64, i64) =
            sqlx::query_as("SELECT guild_id, case_no FROM moderation_cases WHERE case_id = $1")
                .bind(case_id)
                .fetch_one(&mut *tx)
                .await?;
        append(
            &mut tx,
            &AuditEvent {
                guild_id: from_db_id(guild_id),
                kind: "appeal.decided".into(),
                actor_id: Some(reviewer_id),
                target_id: Some(from_db_id(user_id)),
                payload: serde_json::json!({
                    "appeal_id": appeal_id, "case_no": case_no, "status": status, "note": note
                }),
            },
        )
        .await?;
        tx.commit().await?;
        self.appeal(appeal_id)
            .await?
            .ok_or_else(|| StorageError::NotFound(format!("appeal {appeal_id}")))
    }
}
