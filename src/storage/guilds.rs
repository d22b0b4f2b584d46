//! Guild rows and per-guild settings: validated JSON overlaying the global configuration.

use super::audit::{append, AuditEvent};
use super::{db_id, ensure_guild, Storage, StorageError};
use crate::config::{self, Config, DurationSpec, Problem};
use crate::state::RedisState;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Per-guild overrides of the punishment thresholds; unset ones keep the global value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThresholdOverrides {
    /// Warning threshold.
    pub warn: Option<f64>,
    /// Timeout threshold.
    pub timeout: Option<f64>,
    /// Kick threshold.
    pub kick: Option<f64>,
    /// Ban threshold.
    pub ban: Option<f64>,
}

/// Per-guild exemptions, added to the global ones (a guild can exempt more, never less).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExemptionOverrides {
    /// Role ids.
    pub roles: Option<Vec<u64>>,
    /// Channel ids.
    pub channels: Option<Vec<u64>>,
    /// User ids.
    pub users: Option<Vec<u64>>,
}

/// Settings a guild may override. Every field is optional; unset fields keep the global value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GuildSettings {
    /// Punishment thresholds.
    pub thresholds: Option<ThresholdOverrides>,
    /// Extra exemptions.
    pub exemptions: Option<ExemptionOverrides>,
    /// Channel receiving the moderation log.
    pub mod_log_channel: Option<u64>,
    /// Channel where moderators review appeals.
    pub appeal_channel: Option<u64>,
    /// Record decisions without acting.
    pub dry_run: Option<bool>,
    /// Store message text.
    pub store_content: Option<bool>,
    /// How long stored text is kept.
    pub content_retention: Option<DurationSpec>,
    /// Extra roles allowed to use moderator commands.
    pub moderator_roles: Option<Vec<u64>>,
}

fn union(base: &mut Vec<u64>, extra: &Option<Vec<u64>>) {
    for id in extra.iter().flatten() {
        if !base.contains(id) {
            base.push(*id);
        }
    }
}

impl GuildSettings {
    /// The global configuration with this guild's overrides applied.
    pub fn effective(&self, base: &Config) -> Config {
        let mut c = base.clone();
        if let Some(t) = &self.thresholds {
            c.thresholds.warn = t.warn.unwrap_or(c.thresholds.warn);
            c.thresholds.timeout = t.timeout.unwrap_or(c.thresholds.timeout);
            c.thresholds.kick = t.kick.unwrap_or(c.thresholds.kick);
            c.thresholds.ban = t.ban.unwrap_or(c.thresholds.ban);
        }
        if let Some(e) = &self.exemptions {
            union(&mut c.exemptions.roles, &e.roles);
            union(&mut c.exemptions.channels, &e.channels);
            union(&mut c.exemptions.users, &e.users);
        }
        union(&mut c.discord.moderator_roles, &self.moderator_roles);
        if let Some(d) = self.dry_run {
            c.enforcement.dry_run = d;
        }
        if let Some(s) = self.store_content {
            c.storage.store_content = s;
        }
        if let Some(r) = &self.content_retention {
            c.storage.content_retention = r.clone();
        }
        c
    }

    /// Every problem with these overrides on top of `base` (empty when usable). Keys are
    /// prefixed with `guild.` so operators can tell them from global keys.
    pub fn validate(&self, base: &Config) -> Vec<Problem> {
        let effective = self.effective(base);
        // Reuse the global rules, keeping only those about keys a guild can override.
        let mut problems: Vec<Problem> = config::validate(&effective)
            .into_iter()
            .filter(|p| p.key.starts_with("thresholds.") || p.key == "storage.content_retention")
            .map(|p| Problem::new(format!("guild.{}", p.key), p.message))
            .collect();
        let mut ids = |key: &str, list: &Option<Vec<u64>>| {
            if list.iter().flatten().any(|id| *id == 0) {
                problems.push(Problem::new(
                    format!("guild.{key}"),
                    "0 is not a Discord id; use the numeric id (Developer Mode → Copy ID)",
                ));
            }
        };
        if let Some(e) = &self.exemptions {
            ids("exemptions.roles", &e.roles);
            ids("exemptions.channels", &e.channels);
            ids("exemptions.users", &e.users);
        }
        ids("moderator_roles", &self.moderator_roles);
        ids("mod_log_channel", &self.mod_log_channel.map(|c| vec![c]));
        ids("appeal_channel", &self.appeal_channel.map(|c| vec![c]));
        problems
    }

    /// Parses settings from JSON, reporting unknown keys and wrong types as a problem.
    pub fn from_json(value: serde_json::Value) -> Result<Self, Vec<Problem>> {
        serde_json::from_value(value).map_err(|e| {
            vec![Problem::new(
                "guild",
                format!("settings are not valid: {e}"),
            )]
        })
    }
}

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

/// A guild's settings through the Redis cache: a hit skips Postgres; a miss reads Postgres and
/// fills the cache for `ttl`. Cache errors are logged and ignored (Postgres stays the truth).
/// After changing settings, call [`RedisState::invalidate_guild_settings`].
pub async fn settings_read_through(
    storage: &Storage,
    cache: Option<&RedisState>,
    guild_id: u64,
    ttl: Duration,
) -> Result<GuildSettings, StorageError> {
    if let Some(cache) = cache {
        match cache.cached_guild_settings(guild_id).await {
            Ok(Some((settings, _))) => return Ok(settings),
            Ok(None) => {}
            Err(e) => tracing::debug!(error = %e, guild_id, "settings cache unavailable"),
        }
    }
    let (settings, version) = storage.guild_settings(guild_id).await?;
    if let Some(cache) = cache {
        if let Err(e) = cache
            .cache_guild_settings(guild_id, &settings, version, ttl)
            .await
        {
            tracing::debug!(error = %e, guild_id, "could not fill settings cache");
        }
    }
    Ok(settings)
}
