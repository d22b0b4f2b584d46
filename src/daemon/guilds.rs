//! Per-guild settings as the daemon sees them: the stored overrides, cached in memory, turned
//! into the guild's own decision policy.

use crate::config::Config;
use crate::decision::Policy;
use crate::enforcement::GuildTarget;
use crate::pipeline::Pipeline;
use crate::storage::{GuildSettings, Storage, StorageError};
use std::collections::HashMap;
use std::sync::RwLock;

/// What the daemon knows about one guild.
#[derive(Debug, Clone, Default)]
pub struct GuildView {
    /// Name (for member notices).
    pub name: String,
    /// Stored overrides.
    pub settings: GuildSettings,
}

/// The guilds this process serves.
#[derive(Debug, Default)]
pub struct Guilds {
    map: RwLock<HashMap<u64, GuildView>>,
}

impl Guilds {
    /// A guild's view (defaults for one not seen yet).
    pub fn get(&self, guild_id: u64) -> GuildView {
        self.read().get(&guild_id).cloned().unwrap_or_default()
    }

    /// Every guild id known.
    pub fn ids(&self) -> Vec<u64> {
        self.read().keys().copied().collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<u64, GuildView>> {
        self.map.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Where the executor posts for this guild.
    pub fn target(&self, guild_id: u64) -> GuildTarget {
        let g = self.get(guild_id);
        GuildTarget {
            name: if g.name.is_empty() {
                format!("server {guild_id}")
            } else {
                g.name
            },
            mod_log: g.settings.mod_log_channel,
        }
    }

    /// Loads a guild's settings from Postgres and installs its policy. Called on GUILD_CREATE
    /// and after `/mod config set`.
    pub async fn load(
        &self,
        storage: &Storage,
        pipeline: &Pipeline,
        config: &Config,
        guild_id: u64,
        name: Option<String>,
    ) -> Result<GuildView, StorageError> {
        let (settings, _version) = storage.guild_settings(guild_id).await?;
        Ok(self.install(pipeline, config, guild_id, name, settings))
    }

    /// Caches `settings` for a guild and installs the policy they give.
    pub fn install(
        &self,
        pipeline: &Pipeline,
        config: &Config,
        guild_id: u64,
        name: Option<String>,
        settings: GuildSettings,
    ) -> GuildView {
        apply_policy(pipeline, config, guild_id, &settings);
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        let entry = map.entry(guild_id).or_default();
        if let Some(n) = name {
            entry.name = n;
        }
        entry.settings = settings;
        entry.clone()
    }

    /// Rebuilds every guild's policy on top of a reloaded global configuration.
    pub fn reapply(&self, pipeline: &Pipeline, config: &Config) {
        for (id, view) in self.read().iter() {
            apply_policy(pipeline, config, *id, &view.settings);
        }
    }
}

/// Installs the guild's own policy when its settings change anything the policy holds.
fn apply_policy(pipeline: &Pipeline, config: &Config, guild_id: u64, settings: &GuildSettings) {
    if settings.thresholds.is_none() && settings.exemptions.is_none() && settings.dry_run.is_none()
    {
        pipeline.set_guild_policy(guild_id, None);
        return;
    }
    match Policy::from_config(&settings.effective(config)) {
        Ok(p) => pipeline.set_guild_policy(guild_id, Some(p)),
        Err(e) => {
            // Stored settings were validated when set; a global reload can still make them
            // inconsistent. Keep deciding with the global policy and say why.
            tracing::warn!(guild = guild_id, error = %e, "guild settings do not fit the current configuration; using the global policy");
            pipeline.set_guild_policy(guild_id, None);
        }
    }
}
