//! Privacy: forgetting a user on request, and the retention purge of stored message text.

use super::audit::{append, AuditEvent};
use super::{db_id, Storage, StorageError};
use crate::config::DurationSpec;
use chrono::Utc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// What `privacy forget` removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ForgetReport {
    /// Message rows deleted.
    pub messages_deleted: u64,
    /// Cases kept with their reason and excerpt redacted.
    pub cases_redacted: u64,
    /// Appeals with their text removed.
    pub appeals_redacted: u64,
    /// Audit rows whose payload was removed (their digests stay, so the chain still verifies).
    pub audit_rows_redacted: u64,
}

/// Text that replaces a redacted case reason.
pub const REDACTED: &str = "[redacted]";

impl Storage {
    /// Forgets a user (in one guild or everywhere): deletes their messages and stored text,
    /// keeps their moderation cases with the text redacted, clears audit payloads about them
    /// while keeping the digests, and audits the request itself — all in one transaction.
    /// Member rows (join time, counters, decayed toxicity: no text) are kept, as are ids in
    /// short-lived Redis windows, which expire on their own.
    pub async fn forget_user(
        &self,
        user_id: u64,
        guild_id: Option<u64>,
        actor_id: Option<u64>,
    ) -> Result<ForgetReport, StorageError> {
        let user = db_id(user_id);
        let guild = guild_id.map(db_id);
        let mut tx = self.pool.begin().await?;
        let messages_deleted = sqlx::query(
            "DELETE FROM messages WHERE author_id = $1 AND ($2::bigint IS NULL OR guild_id = $2)",
        )
        .bind(user)
        .bind(guild)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let cases_redacted = sqlx::query(
            "UPDATE moderation_cases SET reason = $3, message_excerpt = NULL, reversed_reason = NULL,
                 redacted_at = now()
             WHERE user_id = $1 AND ($2::bigint IS NULL OR guild_id = $2)",
        )
        .bind(user)
        .bind(guild)
        .bind(REDACTED)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let appeals_redacted = sqlx::query(
            "UPDATE appeals a SET body = NULL, redacted_at = now()
             FROM moderation_cases c
             WHERE c.case_id = a.case_id AND a.user_id = $1 AND ($2::bigint IS NULL OR c.guild_id = $2)",
        )
        .bind(user)
        .bind(guild)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let audit_rows_redacted = sqlx::query(
            "UPDATE audit_log SET payload = NULL, redacted_at = now()
             WHERE target_id = $1 AND payload IS NOT NULL AND ($2::bigint IS NULL OR guild_id = $2)",
        )
        .bind(user)
        .bind(guild)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let report = ForgetReport {
            messages_deleted,
            cases_redacted,
            appeals_redacted,
            audit_rows_redacted,
        };
        append(
            &mut tx,
            &AuditEvent {
                guild_id: guild_id.unwrap_or(0),
                kind: "privacy.forget".into(),
                actor_id,
                // Not the user: a later request must not redact the record of this one.
                target_id: None,
                payload: serde_json::json!({
                    "user_id": user_id,
                    "scope": guild_id.map_or("all guilds".to_string(), |g| format!("guild {g}")),
                    "messages_deleted": messages_deleted,
                    "cases_redacted": cases_redacted,
                    "appeals_redacted": appeals_redacted,
                    "audit_rows_redacted": audit_rows_redacted,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(report)
    }

    /// Clears message text (and case excerpts) older than each guild's retention period
    /// (`default_retention` where the guild sets none). Returns the rows cleared.
    pub async fn purge_expired_content(
        &self,
        default_retention: Duration,
    ) -> Result<u64, StorageError> {
        let overrides: Vec<(i64, String)> = sqlx::query_as(
            "SELECT guild_id, settings->>'content_retention' FROM guilds
             WHERE settings->>'content_retention' IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut cleared = 0;
        let mut special = Vec::with_capacity(overrides.len());
        for (guild, raw) in overrides {
            // Validated when stored; an unreadable value falls back to the default rather than keeping text forever.
            let retention = DurationSpec::parse(&raw).get().unwrap_or(default_retention);
            cleared += self.purge_before(Some(guild), &[], retention).await?;
            special.push(guild);
        }
        cleared += self.purge_before(None, &special, default_retention).await?;
        Ok(cleared)
    }

    async fn purge_before(
        &self,
        guild: Option<i64>,
        except: &[i64],
        retention: Duration,
    ) -> Result<u64, StorageError> {
        let cutoff =
            Utc::now() - chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
        let mut n = sqlx::query(
            "UPDATE messages SET content = NULL
             WHERE content IS NOT NULL AND created_at < $1
               AND ($2::bigint IS NULL OR guild_id = $2) AND NOT (guild_id = ANY($3))",
        )
        .bind(cutoff)
        .bind(guild)
        .bind(except)
        .execute(&self.pool)
        .await?
        .rows_affected();
        n += sqlx::query(
            "UPDATE moderation_cases SET message_excerpt = NULL
             WHERE message_excerpt IS NOT NULL AND created_at < $1
               AND ($2::bigint IS NULL OR guild_id = $2) AND NOT (guild_id = ANY($3))",
        )
        .bind(cutoff)
        .bind(guild)
        .bind(except)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n)
    }
}

/// Runs [`Storage::purge_expired_content`] every `interval` until `shutdown` is cancelled.
/// Failures are logged and retried at the next tick.
pub fn spawn_retention_task(
    storage: Storage,
    default_retention: Duration,
    interval: Duration,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval.max(Duration::from_secs(1)));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = ticker.tick() => {
                    match storage.purge_expired_content(default_retention).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(rows = n, "retention purge cleared stored message text"),
                        Err(e) => tracing::warn!(error = %e, "retention purge failed; retrying next interval"),
                    }
                }
            }
        }
    })
}
