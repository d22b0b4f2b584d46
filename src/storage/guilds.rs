//! Guild rows and per-guild settings: validated JSON overlaying the global configuration.

use super::audit::{append, AuditEvent};
use super::{db_id, ensure_guild, Storage, StorageError};
use crate::config::Config;
use crate::domain::GuildSettings;

impl Storage {
    /// A guild's settings and their version (0 and defaults for an unknown guild).
    pub async fn guild_settings(
        &self,
        guild_id: u64,
    ) -> Result<(GuildSettings, i64), StorageError> {
        let row: Option<(serde_json::Value, i64)> =
            sqlx::query_as("SELECT settings, settings_version FROM guilds WHERE guild_id = $1")
                .bind(db_id(guild_id))
                .fetch_optional(&self.pool)
                .await?;
        match row {
            None => Ok((GuildSettings::default(), 0)),
            Some((json, version)) => {
                let settings = GuildSettings::from_json(json).map_err(|p| {
                    StorageError::Corrupt(format!("guild {guild_id} settings: {}", p[0].message))
                })?;
                Ok((settings, version))
            }
        }
    }

    /// Validates and stores a guild's settings, audited as `guild.settings` by `actor_id`.
    /// Returns the new version (bump it in caches, or invalidate them).
    pub async fn set_guild_settings(
        &self,
        guild_id: u64,
        settings: &GuildSettings,
        base: &Config,
        actor_id: Option<u64>,
    ) -> Result<i64, StorageError> {
        let problems = settings.validate(base);
        if !problems.is_empty() {
            return Err(StorageError::Invalid(problems));
        }
        let json = serde_json::to_value(settings)
            .map_err(|e| StorageError::Corrupt(format!("settings do not serialise: {e}")))?;
        let mut tx = self.pool.begin().await?;
        ensure_guild(&mut tx, guild_id).await?;
        let version: i64 = sqlx::query_scalar(
            "UPDATE guilds SET settings = $2, settings_version = settings_version + 1, updated_at = now()
             WHERE guild_id = $1 RETURNING settings_version",
        )
        .bind(db_id(guild_id))
        .bind(&json)
        .fetch_one(&mut *tx)
        .await?;
        append(
            &mut tx,
            &AuditEvent {
                guild_id,
                kind: "guild.settings".into(),
                actor_id,
                target_id: None,
                payload: serde_json::json!({ "version": version, "settings": json }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(version)
    }
}
