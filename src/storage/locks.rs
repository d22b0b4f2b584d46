//! Channel changes to undo: lockdowns and incident slow-modes, with what each channel had
//! before, kept so a restart or another process restores them exactly. Each change is audited
//! in the same transaction that records it, before the Discord call.

use super::audit::{append, AuditEvent};
use super::{db_id, from_db_id, Storage, StorageError};

/// A recorded channel change.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelLock {
    /// Guild.
    pub guild_id: u64,
    /// Channel.
    pub channel_id: u64,
    /// `lockdown` or `slowmode`.
    pub kind: String,
    /// What to restore.
    pub previous: serde_json::Value,
}

impl Storage {
    /// Records a change about to be made (audited as `channel.{kind}`); `false` when the
    /// channel already has one of that kind (its first `previous` is the one to restore).
    pub async fn record_lock(
        &self,
        lock: &ChannelLock,
        actor_id: Option<u64>,
    ) -> Result<bool, StorageError> {
        self.record_lock_audited(lock, actor_id, true).await
    }

    /// [`Storage::record_lock`], with the audit row left to the caller when `audited` is false
    /// (an incident's slow-mode has its own `incident.slowmode` row).
    pub async fn record_lock_audited(
        &self,
        lock: &ChannelLock,
        actor_id: Option<u64>,
        audited: bool,
    ) -> Result<bool, StorageError> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO channel_locks (guild_id, channel_id, kind, previous, by_id)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(db_id(lock.guild_id))
        .bind(db_id(lock.channel_id))
        .bind(&lock.kind)
        .bind(&lock.previous)
        .bind(actor_id.map(db_id))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if inserted && audited {
            append(
                &mut tx,
                &AuditEvent {
                    guild_id: lock.guild_id,
                    kind: format!("channel.{}", lock.kind),
                    actor_id,
                    target_id: Some(lock.channel_id),
                    payload: serde_json::json!({ "channel_id": lock.channel_id, "previous": lock.previous }),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// A guild's recorded changes of `kind`.
    pub async fn locks(&self, guild_id: u64, kind: &str) -> Result<Vec<ChannelLock>, StorageError> {
        let rows: Vec<(i64, i64, String, serde_json::Value)> = sqlx::query_as(
            "SELECT guild_id, channel_id, kind, previous FROM channel_locks
             WHERE guild_id = $1 AND kind = $2 ORDER BY channel_id",
        )
        .bind(db_id(guild_id))
        .bind(kind)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(g, c, kind, previous)| ChannelLock {
                guild_id: from_db_id(g),
                channel_id: from_db_id(c),
                kind,
                previous,
            })
            .collect())
    }

    /// Forgets a change once it was undone on Discord (audited as `channel.{kind}_lifted`).
    pub async fn remove_lock(
        &self,
        guild_id: u64,
        channel_id: u64,
        kind: &str,
        actor_id: Option<u64>,
    ) -> Result<(), StorageError> {
        self.remove_lock_audited(guild_id, channel_id, kind, actor_id, true)
            .await
    }

    /// [`Storage::remove_lock`], audited only when `audited`.
    pub async fn remove_lock_audited(
        &self,
        guild_id: u64,
        channel_id: u64,
        kind: &str,
        actor_id: Option<u64>,
        audited: bool,
    ) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await?;
        let removed = sqlx::query(
            "DELETE FROM channel_locks WHERE guild_id = $1 AND channel_id = $2 AND kind = $3",
        )
        .bind(db_id(guild_id))
        .bind(db_id(channel_id))
        .bind(kind)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if removed > 0 && audited {
            append(
                &mut tx,
                &AuditEvent {
                    guild_id,
                    kind: format!("channel.{kind}_lifted"),
                    actor_id,
                    target_id: Some(channel_id),
                    payload: serde_json::json!({ "channel_id": channel_id }),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
