//! Per-guild settings: validated overrides laid over the global configuration. Pure; stored by
//! `storage`, changed through the moderation service.

use super::notices::{self, Locale, NoticeKind};
use super::rules::RuleOverrides;
use crate::config::{self, Config, DurationSpec, Problem};
use serde::{Deserialize, Serialize};

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

/// Per-guild wording of member notices: the language of the shipped wording and the server's
/// own templates (variables in [`notices::VARIABLES`]). Unset fields keep the defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NoticeOverrides {
    /// Language of the shipped wording (`en`, `es`, `pt`, `fr`, `de`); unset: the server's
    /// preferred locale, English when none is shipped for it.
    pub locale: Option<String>,
    /// Template of a warning notice.
    pub warn: Option<String>,
    /// Template of a timeout notice.
    pub timeout: Option<String>,
    /// Template of a kick notice.
    pub kick: Option<String>,
    /// Template of a ban notice.
    pub ban: Option<String>,
}

impl NoticeOverrides {
    /// The server's template for `kind`, if it set one.
    pub fn template(&self, kind: NoticeKind) -> Option<&str> {
        match kind {
            NoticeKind::Warn => self.warn.as_deref(),
            NoticeKind::Timeout => self.timeout.as_deref(),
            NoticeKind::Kick => self.kick.as_deref(),
            NoticeKind::Ban => self.ban.as_deref(),
        }
    }

    /// The slot of `kind`'s template.
    pub fn template_mut(&mut self, kind: NoticeKind) -> &mut Option<String> {
        match kind {
            NoticeKind::Warn => &mut self.warn,
            NoticeKind::Timeout => &mut self.timeout,
            NoticeKind::Kick => &mut self.kick,
            NoticeKind::Ban => &mut self.ban,
        }
    }

    /// The language notices are written in: the override, else `preferred_locale`'s, else English.
    pub fn locale_for(&self, preferred_locale: &str) -> Locale {
        self.locale
            .as_deref()
            .and_then(Locale::parse)
            .unwrap_or_else(|| Locale::for_discord(preferred_locale))
    }
}

/// Per-guild overrides of raid and brigade detection (`[brigade]`); unset ones keep the global
/// value. Validated by the same rules as the global keys.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BrigadeOverrides {
    /// Joins (weighted) that make a surge within `join_surge_window`.
    pub join_surge_count: Option<u32>,
    /// Window for `join_surge_count`.
    pub join_surge_window: Option<DurationSpec>,
    /// Distinct recently joined members toxic in one channel within `coordinated_window`.
    pub coordinated_count: Option<u32>,
    /// Window for `coordinated_count`.
    pub coordinated_window: Option<DurationSpec>,
    /// Distinct members directing toxicity at one user within `harassment_window`.
    pub harassment_count: Option<u32>,
    /// Window for `harassment_count`.
    pub harassment_window: Option<DurationSpec>,
    /// Accounts posting one normalised text within `duplicate_window`.
    pub duplicate_count: Option<u32>,
    /// Window for `duplicate_count`.
    pub duplicate_window: Option<DurationSpec>,
    /// Joins this long before an incident count as its participants.
    pub lookback: Option<DurationSpec>,
    /// Quiet time that ends an incident.
    pub quiet_period: Option<DurationSpec>,
    /// Channel slow-mode during an incident (0 disables it).
    pub slowmode: Option<DurationSpec>,
    /// Time out participating new accounts.
    pub timeout_new_accounts: Option<bool>,
    /// Timeout given to participants.
    pub participant_timeout: Option<DurationSpec>,
}

impl BrigadeOverrides {
    /// Lays these overrides over the global `[brigade]` section.
    pub fn apply_to(&self, b: &mut config::BrigadeConfig) {
        macro_rules! set {
            ($($f:ident),*) => {$(if let Some(v) = &self.$f { b.$f = v.clone(); })*};
        }
        set!(
            join_surge_count,
            join_surge_window,
            coordinated_count,
            coordinated_window,
            harassment_count,
            harassment_window,
            duplicate_count,
            duplicate_window,
            lookback,
            quiet_period,
            slowmode,
            timeout_new_accounts,
            participant_timeout
        );
    }
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
    /// Thresholds of single channels, over the guild's.
    pub channel_thresholds: Option<std::collections::BTreeMap<u64, ThresholdOverrides>>,
    /// Channels `/mod raid lockdown on` closes to @everyone.
    pub lockdown_channels: Option<Vec<u64>>,
    /// Role pinged by incident alerts.
    pub alert_role: Option<u64>,
    /// Wording of member notices.
    pub notices: Option<NoticeOverrides>,
    /// Rules beside the model: word lists, links, spam.
    pub rules: Option<RuleOverrides>,
    /// Raid and brigade detection.
    pub brigade: Option<BrigadeOverrides>,
}

fn union(base: &mut Vec<u64>, extra: &Option<Vec<u64>>) {
    for id in extra.iter().flatten() {
        if !base.contains(id) {
            base.push(*id);
        }
    }
}

/// The shipped notice languages, as `en, es, pt, fr, de`.
pub fn locale_list() -> String {
    Locale::ALL
        .iter()
        .map(|l| l.code())
        .collect::<Vec<_>>()
        .join(", ")
}

impl GuildSettings {
    /// The thresholds in `channel`: the channel's own over `guild` (the guild's effective ones).
    pub fn thresholds_in(&self, channel: u64, guild: &config::Thresholds) -> config::Thresholds {
        match self
            .channel_thresholds
            .as_ref()
            .and_then(|m| m.get(&channel))
        {
            Some(t) => config::Thresholds {
                warn: t.warn.unwrap_or(guild.warn),
                timeout: t.timeout.unwrap_or(guild.timeout),
                kick: t.kick.unwrap_or(guild.kick),
                ban: t.ban.unwrap_or(guild.ban),
            },
            None => *guild,
        }
    }

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
        if let Some(r) = &self.rules {
            r.apply_to(&mut c.rules);
        }
        if let Some(b) = &self.brigade {
            b.apply_to(&mut c.brigade);
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
            .filter(|p| {
                p.key.starts_with("thresholds.")
                    || p.key.starts_with("rules.")
                    || p.key.starts_with("brigade.")
                    || p.key == "storage.content_retention"
            })
            .map(|p| Problem::new(format!("guild.{}", p.key), p.message))
            .collect();
        // Each channel's thresholds, over the guild's, follow the same rules.
        for channel in self.channel_thresholds.iter().flat_map(|m| m.keys()) {
            let mut c = effective.clone();
            c.thresholds = self.thresholds_in(*channel, &effective.thresholds);
            problems.extend(
                config::validate(&c)
                    .into_iter()
                    .filter(|p| p.key.starts_with("thresholds."))
                    .map(|p| Problem::new(format!("guild.channel.{channel}.{}", p.key), p.message)),
            );
        }
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
        ids("lockdown_channels", &self.lockdown_channels);
        ids("alert_role", &self.alert_role.map(|r| vec![r]));
        ids("mod_log_channel", &self.mod_log_channel.map(|c| vec![c]));
        ids("appeal_channel", &self.appeal_channel.map(|c| vec![c]));
        if let Some(r) = &self.rules {
            for (key, message) in r.problems() {
                problems.push(Problem::new(key, message));
            }
        }
        if let Some(n) = &self.notices {
            if let Some(code) = &n.locale {
                if Locale::parse(code).is_none() {
                    problems.push(Problem::new(
                        "guild.notices.locale",
                        format!(
                            "`{code}` has no shipped wording; use one of: {}",
                            locale_list()
                        ),
                    ));
                }
            }
            for kind in NoticeKind::ALL {
                if let Some(t) = n.template(kind) {
                    if let Err(e) = notices::validate_template(kind, t) {
                        problems.push(Problem::new(format!("guild.notices.{}", kind.key()), e));
                    }
                }
            }
        }
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
