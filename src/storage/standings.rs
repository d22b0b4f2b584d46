//! Member standings between restarts.

use super::{db_id, Storage, StorageError};
use crate::behaviour::{MemberStanding, StandingStore, StandingStoreError};
use async_trait::async_trait;
use sqlx::Row;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

impl Storage {
    /// A member's stored standing.
    pub async fn standing(
        &self,
        guild_id: u64,
        user_id: u64,
    ) -> Result<Option<MemberStanding>, StorageError> {
        let row = sqlx::query(
            "SELECT standing FROM member_standing WHERE guild_id = $1 AND user_id = $2",
        )
        .bind(db_id(guild_id))
        .bind(db_id(user_id))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let v: serde_json::Value = r.try_get("standing")?;
            serde_json::from_value(v)
                .map_err(|e| StorageError::Corrupt(format!("member standing: {e}")))
        })
        .transpose()
    }

    /// Stores a member's standing (replacing the previous one).
    pub async fn save_standing(
        &self,
        guild_id: u64,
        user_id: u64,
        standing: &MemberStanding,
    ) -> Result<(), StorageError> {
        let v = serde_json::to_value(standing)
            .map_err(|e| StorageError::Corrupt(format!("member standing: {e}")))?;
        sqlx::query(
            "INSERT INTO member_standing (guild_id, user_id, standing) VALUES ($1, $2, $3)
             ON CONFLICT (guild_id, user_id) DO UPDATE SET standing = EXCLUDED.standing, updated_at = now()",
        )
        .bind(db_id(guild_id))
        .bind(db_id(user_id))
        .bind(v)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// Member standings kept in Postgres: the daemon hands this to the pipeline as its [`StandingStore`].
///
/// Saves are write-behind: the latest standing per member waits in memory and
/// [`PgStandingStore::flush`] writes them all in one statement, so Postgres latency never sits
/// between a message and its decision. Loads see pending saves first.
#[derive(Debug)]
pub struct PgStandingStore {
    storage: Storage,
    pending: Mutex<HashMap<(u64, u64), MemberStanding>>,
    read_only: bool,
    health: Arc<super::PgHealth>,
}

impl PgStandingStore {
    /// A store over `storage`; nothing is written until [`Self::flush`].
    pub fn new(storage: Storage) -> Self {
        Self {
            storage,
            pending: Mutex::new(HashMap::new()),
            read_only: false,
            health: Arc::default(),
        }
    }

    /// Shares the daemon's Postgres breaker: while it is open, loads fail at once instead of
    /// waiting on the pool, and an unreachable server opens it.
    pub fn with_health(mut self, health: Arc<super::PgHealth>) -> Self {
        self.health = health;
        self
    }

    /// A store that loads stored standings but never saves (dry runs such as `scan`).
    pub fn read_only(storage: Storage) -> Self {
        Self {
            read_only: true,
            ..Self::new(storage)
        }
    }

    /// Standings waiting to be written.
    pub fn pending(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(u64, u64), MemberStanding>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes every pending standing in one upsert; on failure they stay pending (newer saves win).
    pub async fn flush(&self) -> Result<usize, StorageError> {
        let batch: Vec<((u64, u64), MemberStanding)> = self.lock().drain().collect();
        if batch.is_empty() {
            return Ok(0);
        }
        let mut guilds = Vec::with_capacity(batch.len());
        let mut users = Vec::with_capacity(batch.len());
        let mut values = Vec::with_capacity(batch.len());
        for ((g, u), st) in &batch {
            guilds.push(db_id(*g));
            users.push(db_id(*u));
            values.push(
                serde_json::to_value(st)
                    .map_err(|e| StorageError::Corrupt(format!("member standing: {e}")))?,
            );
        }
        let result = sqlx::query(
            "INSERT INTO member_standing (guild_id, user_id, standing)
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::jsonb[])
             ON CONFLICT (guild_id, user_id) DO UPDATE SET standing = EXCLUDED.standing, updated_at = now()",
        )
        .bind(&guilds)
        .bind(&users)
        .bind(&values)
        .execute(self.storage.pool())
        .await;
        if let Err(e) = result {
            let mut pending = self.lock();
            for (key, st) in batch {
                pending.entry(key).or_insert(st);
            }
            return Err(e.into());
        }
        Ok(batch.len())
    }

    /// Flushes every `every` until `shutdown`, then once more.
    pub fn spawn_flusher(
        self: &Arc<Self>,
        every: Duration,
        shutdown: CancellationToken,
    ) -> JoinHandle<()> {
        let store = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every.max(Duration::from_millis(10)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tick.tick() => {
                        if let Err(e) = store.flush().await {
                            tracing::warn!(error = %e, "saving member standings failed; retrying");
                        }
                    }
                }
            }
            if let Err(e) = store.flush().await {
                tracing::error!(error = %e, "final save of member standings failed");
            }
        })
    }
}

#[async_trait]
impl StandingStore for PgStandingStore {
    async fn load(
        &self,
        guild_id: u64,
        user_id: u64,
    ) -> Result<Option<MemberStanding>, StandingStoreError> {
        if let Some(st) = self.lock().get(&(guild_id, user_id)) {
            return Ok(Some(st.clone()));
        }
        if self.health.is_down() {
            return Err(StandingStoreError("Postgres is unreachable".into()));
        }
        self.storage
            .standing(guild_id, user_id)
            .await
            .map_err(|e| StandingStoreError(self.health.observe(e).to_string()))
    }

    async fn save(
        &self,
        guild_id: u64,
        user_id: u64,
        standing: &MemberStanding,
    ) -> Result<(), StandingStoreError> {
        if !self.read_only {
            self.lock().insert((guild_id, user_id), standing.clone());
        }
        Ok(())
    }
}
