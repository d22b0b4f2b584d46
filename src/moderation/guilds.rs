//! Per-guild settings as the service sees them: the stored overrides, cached in process and
//! turned into the guild's own decision policy; changed by key (validated, audited), and
//! announced to the other processes over Redis so they apply a change at once.
//!
//! Postgres is the truth. The in-process map is the cache: the hot path reads it for every
//! message, so a Redis round trip per message would cost more than it saves. A change is
//! published on a Redis channel and every process reloads that guild from Postgres; a slow
//! poll catches what an announcement missed while Redis was away.

use super::{Moderation, ServiceError};
use crate::brigade::BrigadeParams;
use crate::config::Config;
use crate::decision::Policy;
use crate::domain::{rules, setting_keys, GuildSettings, RuleKind, RuleOverrides};
use crate::enforcement::{GuildTarget, NoticeStyle};
use crate::pipeline::Pipeline;
use crate::rules::{links, RuleSet};
use crate::storage::StorageError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What Discord says about a guild when it becomes available (GUILD_CREATE).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuildInfo {
    /// Name.
    pub name: String,
    /// The server's `preferred_locale` (`en-US`, `pt-BR`, ...): the language of member notices
    /// unless the server sets `notices.locale`.
    pub preferred_locale: String,
    /// The server's vanity invite code: its own invite, never a hit of the invite rule.
    pub vanity_url_code: Option<String>,
}

/// What the service knows about one guild.
#[derive(Debug, Clone, Default)]
pub struct GuildView {
    /// Name (for member notices).
    pub name: String,
    /// Discord's `preferred_locale` for it (empty: not known; notices then read English).
    pub preferred_locale: String,
    /// Its vanity invite code, if any.
    pub vanity_url_code: Option<String>,
    /// Stored overrides.
    pub settings: GuildSettings,
    /// Their version in Postgres (0: never stored).
    pub version: i64,
}

/// A setting changed with [`Moderation::set_setting`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingChange {
    /// The key, as given.
    pub key: String,
    /// The value, as given.
    pub value: String,
    /// The guild's settings version after the change.
    pub version: i64,
}

/// The guilds this process serves.
#[derive(Debug, Default)]
pub(super) struct Guilds {
    map: RwLock<HashMap<u64, GuildView>>,
    /// Compiled rules by what they were compiled from: guilds with the same rules share one
    /// set, and the 30-second refresh recompiles nothing that did not change.
    compiled: Mutex<HashMap<String, Arc<RuleSet>>>,
    /// Domains of the operator's deny-list file (`rules.deny_domains_file`), read at start and
    /// on reload.
    file_domains: RwLock<Arc<Vec<String>>>,
}

impl Guilds {
    /// A guild's view (defaults for one not seen yet).
    pub(super) fn get(&self, guild_id: u64) -> GuildView {
        self.read().get(&guild_id).cloned().unwrap_or_default()
    }

    fn known(&self, guild_id: u64) -> Option<i64> {
        self.read().get(&guild_id).map(|g| g.version)
    }

    pub(super) fn ids(&self) -> Vec<u64> {
        self.read().keys().copied().collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<u64, GuildView>> {
        self.map.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Where the executor posts for this guild.
    pub(super) fn target(&self, guild_id: u64) -> GuildTarget {
        let g = self.get(guild_id);
        let notices = notice_style(&g);
        GuildTarget {
            name: if g.name.is_empty() {
                format!("server {guild_id}")
            } else {
                g.name
            },
            mod_log: g.settings.mod_log_channel,
            notices,
            alert_role: g.settings.alert_role,
        }
    }

    /// Caches `settings` for a guild and installs the policy they give. An older version never
    /// replaces a newer one (a slow reload racing an announcement).
    #[allow(clippy::too_many_arguments)]
    fn install(
        &self,
        pipeline: &Pipeline,
        config: &Config,
        started: &Config,
        guild_id: u64,
        info: Option<GuildInfo>,
        settings: GuildSettings,
        version: i64,
    ) -> GuildView {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        let entry = map.entry(guild_id).or_default();
        if let Some(info) = info {
            entry.name = info.name;
            entry.preferred_locale = info.preferred_locale;
            entry.vanity_url_code = info.vanity_url_code;
        }
        if version >= entry.version {
            apply_policy(pipeline, config, guild_id, &settings);
            apply_brigade(pipeline, started, guild_id, &settings);
            entry.settings = settings;
            entry.version = version;
        }
        let view = entry.clone();
        drop(map);
        self.apply_rules(pipeline, config, guild_id, &view);
        view
    }

    /// Rebuilds every guild's policy and rules on top of a reloaded global configuration.
    pub(super) fn reapply(&self, pipeline: &Pipeline, config: &Config) {
        self.load_deny_file(config);
        self.compiled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.set_base_rules(pipeline, config);
        let views: Vec<(u64, GuildView)> =
            self.read().iter().map(|(id, v)| (*id, v.clone())).collect();
        for (id, view) in views {
            apply_policy(pipeline, config, id, &view.settings);
            self.apply_rules(pipeline, config, id, &view);
        }
    }

    /// Reads the operator's deny-list file; a missing or unreadable file leaves it empty and
    /// says so (configuration checking names it before the daemon starts).
    pub(super) fn load_deny_file(&self, config: &Config) {
        let path = config.rules.deny_domains_file.trim();
        let domains = if path.is_empty() {
            Vec::new()
        } else {
            match std::fs::read_to_string(path) {
                Ok(text) => links::parse_domain_list(&text),
                Err(e) => {
                    tracing::error!(path, error = %e, "rules.deny_domains_file not read; its domains are not denied");
                    Vec::new()
                }
            }
        };
        *self.file_domains.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(domains);
    }

    fn file_domains(&self) -> Arc<Vec<String>> {
        self.file_domains
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Compiles (or reuses) the rules for `rules` in a guild with `locale` and `own_invites`.
    pub(super) fn compile(
        &self,
        rules: &crate::config::RulesConfig,
        locale: &str,
        own_invites: &[String],
    ) -> Result<Arc<RuleSet>, String> {
        let key = format!(
            "{}|{locale}|{}",
            serde_json::to_string(rules).unwrap_or_default(),
            own_invites.join(",")
        );
        if let Some(r) = self
            .compiled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Ok(r.clone());
        }
        let set = Arc::new(
            RuleSet::compile(rules, locale, own_invites, &self.file_domains()).map_err(|e| e.0)?,
        );
        let mut cache = self.compiled.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(key, set.clone());
        Ok(set)
    }

    /// Installs the global rules for guilds not known yet.
    pub(super) fn set_base_rules(&self, pipeline: &Pipeline, config: &Config) {
        match self.compile(&config.rules, "", &[]) {
            Ok(r) => pipeline.set_rules(r),
            Err(e) => tracing::error!(error = %e, "global rules not compiled; fix [rules]"),
        }
    }

    fn apply_rules(&self, pipeline: &Pipeline, config: &Config, guild_id: u64, view: &GuildView) {
        let effective = view.settings.effective(config);
        let own: Vec<String> = view.vanity_url_code.iter().cloned().collect();
        match self.compile(&effective.rules, &view.preferred_locale, &own) {
            Ok(r) => pipeline.set_guild_rules(guild_id, Some(r)),
            Err(e) => {
                tracing::warn!(guild = guild_id, error = %e, "guild rules not compiled; using the global rules");
                pipeline.set_guild_rules(guild_id, None);
            }
        }
    }
}

/// How a guild's member notices read: its override or its `preferred_locale`, and its templates.
fn notice_style(g: &GuildView) -> NoticeStyle {
    let overrides = g.settings.notices.clone().unwrap_or_default();
    NoticeStyle {
        locale: overrides.locale_for(&g.preferred_locale),
        overrides,
    }
}

/// Installs the guild's own policy when its settings change anything the policy holds.
/// The decision policy of a guild with `settings` over `config`, per-channel thresholds included.
pub(super) fn guild_policy(
    config: &Config,
    settings: &GuildSettings,
) -> Result<Policy, crate::decision::PolicyError> {
    let effective = settings.effective(config);
    let mut p = Policy::from_config(&effective)?;
    p.channel_thresholds = settings
        .channel_thresholds
        .iter()
        .flat_map(|m| m.keys())
        .map(|c| (*c, settings.thresholds_in(*c, &effective.thresholds)))
        .collect();
    Ok(p)
}

fn apply_policy(pipeline: &Pipeline, config: &Config, guild_id: u64, settings: &GuildSettings) {
    if settings.thresholds.is_none()
        && settings.exemptions.is_none()
        && settings.dry_run.is_none()
        && settings.channel_thresholds.is_none()
    {
        pipeline.set_guild_policy(guild_id, None);
        return;
    }
    match guild_policy(config, settings) {
        Ok(p) => pipeline.set_guild_policy(guild_id, Some(p)),
        Err(e) => {
            // Stored settings were validated when set; a global reload can still make them
            // inconsistent. Keep deciding with the global policy and say why.
            tracing::warn!(guild = guild_id, error = %e, "guild settings do not fit the current configuration; using the global policy");
            pipeline.set_guild_policy(guild_id, None);
        }
    }
}

/// Installs the guild's own raid and brigade detection settings, or takes them away. They are
/// laid over `[brigade]` as the process started: a reload does not apply that section (it is
/// not among the live keys), for guilds with overrides as for the others.
fn apply_brigade(pipeline: &Pipeline, started: &Config, guild_id: u64, settings: &GuildSettings) {
    let params = settings.brigade.as_ref().map(|o| {
        let mut section = started.brigade.clone();
        o.apply_to(&mut section);
        BrigadeParams::from_sections(&section, &started.behaviour)
    });
    pipeline.set_guild_brigade(guild_id, params);
}

/// How often every known guild is re-read, for announcements missed while Redis was away.
const REFRESH_EVERY: Duration = Duration::from_secs(30);
/// Wait before subscribing again after the announcement channel dropped.
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(2);

impl Moderation {
    /// What the service knows of a guild (defaults for one not seen yet).
    pub fn guild(&self, guild_id: u64) -> GuildView {
        self.guilds.get(guild_id)
    }

    /// A guild's name and mod-log channel, for posts and notices.
    pub fn guild_target(&self, guild_id: u64) -> GuildTarget {
        self.guilds.target(guild_id)
    }

    /// Loads a guild's settings from Postgres and installs its policy; on GUILD_CREATE with
    /// what Discord says about it (`info`), otherwise keeping what is known.
    pub async fn load_guild(
        &self,
        guild_id: u64,
        info: Option<GuildInfo>,
    ) -> Result<GuildView, ServiceError> {
        let (settings, version) = self.storage.guild_settings(guild_id).await?;
        Ok(self.guilds.install(
            &self.pipeline,
            &self.cfg(),
            &self.config.started(),
            guild_id,
            info,
            settings,
            version,
        ))
    }

    /// The keys [`Moderation::set_setting`] accepts, each with what it takes.
    pub fn settable_keys(&self) -> &'static [(&'static str, &'static str)] {
        setting_keys::KEYS
    }

    /// The guild's view and the configuration in effect there (global values with its
    /// overrides laid over them).
    pub fn effective_settings(&self, guild_id: u64) -> (GuildView, Config) {
        let view = self.guilds.get(guild_id);
        let effective = view.settings.effective(&self.cfg());
        (view, effective)
    }

    /// Changes one setting of a guild: parsed, validated against the global configuration,
    /// stored with an audit row naming `actor`, applied here and announced to the other
    /// processes. `none` as the value restores the global value.
    pub async fn set_setting(
        &self,
        guild_id: u64,
        actor: u64,
        key: &str,
        value: &str,
    ) -> Result<SettingChange, ServiceError> {
        let version = self
            .change_settings(guild_id, actor, |s| setting_keys::apply(s, key, value))
            .await?;
        Ok(SettingChange {
            key: key.to_string(),
            value: value.to_string(),
            version,
        })
    }

    /// Changes several settings at once (validated together, one version, one audit row):
    /// e.g. all four thresholds, which must stay ordered. Returns the new version.
    pub async fn set_settings(
        &self,
        guild_id: u64,
        actor: u64,
        changes: &[(String, String)],
    ) -> Result<i64, ServiceError> {
        self.change_settings(guild_id, actor, |s| {
            changes
                .iter()
                .try_for_each(|(key, value)| setting_keys::apply(s, key, value))
        })
        .await
    }

    /// The guild's rules compiled from `settings` (shared with every guild whose rules are the
    /// same), as the pipeline holds them once the settings are stored.
    pub(super) fn guild_rules(
        &self,
        guild_id: u64,
        settings: &GuildSettings,
    ) -> Result<std::sync::Arc<crate::rules::RuleSet>, String> {
        let view = self.guilds.get(guild_id);
        let own: Vec<String> = view.vanity_url_code.iter().cloned().collect();
        self.guilds.compile(
            &settings.effective(&self.cfg()).rules,
            &view.preferred_locale,
            &own,
        )
    }

    /// Changes a guild's settings with `edit`: read from Postgres (not from this process's
    /// cache: the guild may be served by another process, and a stale copy would undo its
    /// changes), edited, validated against the global configuration, stored with an audit row
    /// naming `actor`, applied here and announced to the other processes. Returns the version.
    async fn change_settings(
        &self,
        guild_id: u64,
        actor: u64,
        edit: impl FnOnce(&mut GuildSettings) -> Result<(), String>,
    ) -> Result<i64, ServiceError> {
        let (mut settings, _) = self.storage.guild_settings(guild_id).await?;
        edit(&mut settings).map_err(ServiceError::Invalid)?;
        let cfg = self.cfg();
        // The rules must compile (the settings' own validation checks each term).
        self.guild_rules(guild_id, &settings)
            .map_err(ServiceError::Invalid)?;
        let version = match self
            .storage
            .set_guild_settings(guild_id, &settings, &cfg, Some(actor))
            .await
        {
            Ok(v) => v,
            Err(StorageError::Invalid(problems)) => {
                return Err(ServiceError::Invalid(
                    problems
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; "),
                ))
            }
            Err(e) => return Err(e.into()),
        };
        self.guilds.install(
            &self.pipeline,
            &cfg,
            &self.config.started(),
            guild_id,
            None,
            settings,
            version,
        );
        self.announce_settings(guild_id, version).await;
        Ok(version)
    }

    /// The guild's rules in lines (`/mod rules list`, the dashboard).
    pub fn rules_list(&self, guild_id: u64) -> Vec<String> {
        let (view, effective) = self.effective_settings(guild_id);
        let own = view.settings.rules.clone().unwrap_or_default();
        let mut lines = crate::domain::rules::describe(&effective.rules, &own);
        let (on, auto) =
            crate::rules::preset_plan(&effective.rules.presets, &view.preferred_locale);
        lines.insert(
            1,
            format!(
                "Presets in force: {}{}",
                if on.is_empty() {
                    "none".to_string()
                } else {
                    on.join(", ")
                },
                if auto {
                    " and the list of each message's detected language"
                } else {
                    ""
                }
            ),
        );
        lines
    }

    /// Adds a rule to a guild (`/mod rules add`): audited and announced like every setting.
    /// Returns what was done, in words.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_rule(
        &self,
        guild_id: u64,
        actor: u64,
        kind: &str,
        value: &str,
        list: Option<&str>,
        label: Option<&str>,
        severity: Option<f64>,
    ) -> Result<String, ServiceError> {
        let kind = RuleKind::parse(kind).map_err(ServiceError::Invalid)?;
        let mut said = String::new();
        self.change_settings(guild_id, actor, |s| {
            let r = s.rules.get_or_insert_with(RuleOverrides::default);
            said = rules::add(r, kind, value, list, label, severity)?;
            Ok(())
        })
        .await?;
        Ok(said)
    }

    /// Removes a rule from a guild (`/mod rules remove`), audited and announced.
    pub async fn remove_rule(
        &self,
        guild_id: u64,
        actor: u64,
        kind: &str,
        value: &str,
    ) -> Result<String, ServiceError> {
        let kind = RuleKind::parse(kind).map_err(ServiceError::Invalid)?;
        let mut said = String::new();
        self.change_settings(guild_id, actor, |s| {
            let r = s.rules.get_or_insert_with(RuleOverrides::default);
            said = rules::remove(r, kind, value)?;
            if *r == RuleOverrides::default() {
                s.rules = None;
            }
            Ok(())
        })
        .await?;
        Ok(said)
    }

    /// What the guild's rules find in `text` (`/mod rules test`): language and hits.
    pub fn test_rules(&self, guild_id: u64, text: &str) -> crate::rules::RuleReport {
        self.pipeline
            .rules_for(guild_id)
            .check(&crate::rules::RuleInput {
                text,
                ..Default::default()
            })
    }

    async fn announce_settings(&self, guild_id: u64, version: i64) {
        let Some(redis) = self.state.redis() else {
            tracing::warn!(
                guild = guild_id,
                "Redis unreachable: other processes apply this settings change within 30 s"
            );
            return;
        };
        if let Err(e) = redis.publish_settings_change(guild_id, version).await {
            tracing::warn!(guild = guild_id, error = %e, "settings change not announced; other processes apply it within 30 s");
        }
    }

    /// Applies an announced change: reloads the guild from Postgres unless this process has
    /// that version already. Guilds this process does not serve are ignored.
    async fn apply_announced(&self, guild_id: u64, version: i64) {
        match self.guilds.known(guild_id) {
            Some(have) if have < version => {}
            _ => return,
        }
        match self.load_guild(guild_id, None).await {
            Ok(view) => tracing::info!(
                guild = guild_id,
                version = view.version,
                "applied guild settings changed by another process"
            ),
            Err(e) => {
                tracing::warn!(guild = guild_id, error = %e, "announced settings change not loaded")
            }
        }
    }

    /// Re-reads every known guild's settings.
    async fn refresh_guilds(&self) {
        for id in self.guilds.ids() {
            if let Err(e) = self.load_guild(id, None).await {
                tracing::debug!(guild = id, error = %e, "guild settings refresh failed");
            }
        }
    }

    /// Follows settings changes made by other processes until `shutdown`: announcements over
    /// Redis as they come, and a full re-read every 30 s for those missed while Redis was away.
    pub async fn follow_settings_changes(&self, shutdown: CancellationToken) {
        use futures::StreamExt;
        let mut refresh = tokio::time::interval(REFRESH_EVERY);
        loop {
            let stream = match self.state.redis() {
                Some(r) => r.settings_changes().await.ok(),
                None => None,
            };
            let Some(mut stream) = stream else {
                // No subscription: poll until Redis answers again.
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = refresh.tick() => self.refresh_guilds().await,
                    _ = tokio::time::sleep(RESUBSCRIBE_AFTER) => {}
                }
                continue;
            };
            // Announcements made before the subscription took effect.
            self.refresh_guilds().await;
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = refresh.tick() => self.refresh_guilds().await,
                    next = stream.next() => match next {
                        Some((guild, version)) => self.apply_announced(guild, version).await,
                        None => break,
                    },
                }
            }
            tracing::debug!("settings announcements dropped; subscribing again");
        }
    }
}
