//! What the web dashboard asks of the service: a user's rights on a guild from the bot's own
//! view of the member (cached briefly), dashboard grants, the case and audit lists, the
//! overview's series, member search, and the what-if preview of draft settings.

use super::access::Access;
use super::{Moderation, ServiceError};
use crate::decision::{replay, Policy, ReplayMessage, WhatIf};
use crate::discord::permissions::{base_permissions, guild_roles, json_u64, member_role_ids};
use crate::domain::{setting_keys, Case, GuildSettings};
use crate::storage::{
    AuditFilter, AuditRow, CaseFilter, DayCount, DecisionRates, Grant, MemberSummary, ReplayRow,
};
use chrono::{Duration as ChronoDuration, Utc};
use serenity::all::{GuildId, Permissions, UserId};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most messages one what-if preview replays (each holds its scores in memory while it runs).
pub const WHATIF_MAX_MESSAGES: i64 = 2_000_000;

/// What-if previews running at once in this process (one can hold its rows in memory, up
/// to a gigabyte or two at the limit); more wait their turn.
static WHATIF_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// (guild, user) → (access, when checked).
type RightsMap = HashMap<(u64, u64), (Option<Access>, Instant)>;

/// Cached rights: (guild, user) → (access, when checked).
#[derive(Debug, Default)]
pub(super) struct RightsCache {
    map: Mutex<RightsMap>,
}

impl RightsCache {
    fn get(&self, key: (u64, u64), ttl: Duration) -> Option<Option<Access>> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&key)
            .filter(|(_, at)| at.elapsed() < ttl)
            .map(|(a, _)| *a)
    }

    fn put(&self, key: (u64, u64), access: Option<Access>) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 50_000 {
            map.clear();
        }
        map.insert(key, (access, Instant::now()));
    }

    fn forget_guild(&self, guild_id: u64) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|(g, _), _| *g != guild_id);
    }
}

/// The overview page's numbers.
#[derive(Debug, Clone, Default)]
pub struct Overview {
    /// Messages per day (`key` `""`) and flagged messages per day by top label.
    pub messages: Vec<DayCount>,
    /// Cases per day by action.
    pub actions: Vec<DayCount>,
    /// Appeal approvals and reversals.
    pub rates: DecisionRates,
    /// Open incidents.
    pub open_incidents: usize,
}

/// Counts one appeal by `user` at `now_ms` in a one-hour sliding window; false (and not
/// counted) when `per_hour` are already there. A shared-state failure lets it through.
pub async fn appeal_allowed(
    store: &dyn crate::state::WindowStore,
    user: u64,
    per_hour: u32,
    now_ms: i64,
) -> bool {
    const HOUR_MS: i64 = 3_600_000;
    let key = format!("appeal:{user}");
    match store.peek(&key, now_ms, HOUR_MS).await {
        Ok(w) if w.count >= u64::from(per_hour) => false,
        _ => {
            // A member per attempt: two in the same millisecond still count twice.
            let member = format!("{now_ms}:{:016x}", rand::random::<u64>());
            let _ = store.touch(&key, &member, now_ms, HOUR_MS, false).await;
            true
        }
    }
}

/// A member's permissions from the guild object's roles: the owner has all; otherwise
/// @everyone's and each of the member's roles' bits.
pub fn member_permissions(
    guild_id: u64,
    user_id: u64,
    guild: &serde_json::Value,
    member_roles: &[u64],
) -> Permissions {
    if json_u64(&guild["owner_id"]) == user_id {
        return Permissions::all();
    }
    Permissions::from_bits_truncate(base_permissions(
        guild_id,
        &guild_roles(guild),
        member_roles,
    ))
}

/// Replays stored rows (oldest first) through `before` and `after`: the CPU part of
/// [`Moderation::what_if`], public so the dashboard benchmark times the same work.
pub fn replay_stored(before: &Policy, after: &Policy, rows: Vec<ReplayRow>) -> WhatIf {
    let msgs: Vec<ReplayMessage> = rows
        .into_iter()
        .map(|r| ReplayMessage {
            message_id: r.message_id,
            channel_id: r.channel_id,
            author_id: r.author_id,
            at_ms: r.created_at.timestamp_millis(),
            account_created_ms: crate::behaviour::snowflake_ms(r.author_id),
            joined_ms: r.joined_at.map(|t| t.timestamp_millis()),
            scores: r.scores,
        })
        .collect();
    replay(before, after, &msgs)
}

impl Moderation {
    /// A user's rights on a guild for the dashboard, from the bot's own view of the member (not
    /// the user's OAuth claim), cached for `web.rights_cache`. `None`: no access (not a
    /// member, the bot is not in the guild, or a member without rights or grant).
    pub async fn dashboard_access(&self, guild_id: u64, user_id: u64) -> Option<Access> {
        let ttl = self.cfg().web.rights_cache.value();
        if let Some(hit) = self.rights.get((guild_id, user_id), ttl) {
            return hit;
        }
        let access = self.check_dashboard_access(guild_id, user_id).await;
        self.rights.put((guild_id, user_id), access);
        access
    }

    async fn check_dashboard_access(&self, guild_id: u64, user_id: u64) -> Option<Access> {
        if guild_id == 0 || user_id == 0 {
            return None;
        }
        let rest = self.executor.rest();
        let guild = rest.guild(GuildId::new(guild_id)).await.ok()?;
        let member = rest
            .guild_member(GuildId::new(guild_id), UserId::new(user_id))
            .await
            .ok()?;
        let roles = member_role_ids(&member);
        let perms = member_permissions(guild_id, user_id, &guild, &roles);
        match self.access(guild_id, perms, &roles) {
            Access::Member => {
                let grants = self.storage.grants(guild_id).await.ok()?;
                let granted = grants.iter().any(|g| {
                    (g.kind == "user" && g.subject_id == user_id)
                        || (g.kind == "role" && roles.contains(&g.subject_id))
                });
                granted.then_some(Access::Moderator)
            }
            other => Some(other),
        }
    }

    /// Guilds among `candidates` the bot serves or has records for (what a dashboard user may
    /// be shown, before their rights are checked).
    pub async fn served_guilds(&self, candidates: &[u64]) -> Vec<u64> {
        let local = self.guilds.ids();
        let stored = self
            .storage
            .known_guilds(candidates)
            .await
            .unwrap_or_default();
        candidates
            .iter()
            .copied()
            .filter(|g| local.contains(g) || stored.contains(g))
            .collect()
    }

    /// The guild's dashboard grants.
    pub async fn dashboard_grants(&self, guild_id: u64) -> Result<Vec<Grant>, ServiceError> {
        Ok(self.storage.grants(guild_id).await?)
    }

    /// Grants or revokes dashboard access (audited). `kind` is `user` or `role`.
    pub async fn set_dashboard_grant(
        &self,
        guild_id: u64,
        kind: &str,
        subject: &str,
        by: u64,
        add: bool,
    ) -> Result<bool, ServiceError> {
        if !matches!(kind, "user" | "role") {
            return Err(ServiceError::Invalid(
                "choose whether you grant a user or a role".into(),
            ));
        }
        let id = setting_keys::parse_id(subject).map_err(ServiceError::Invalid)?;
        let changed = self.storage.set_grant(guild_id, kind, id, by, add).await?;
        // Revocations take effect at once, not after the cache expires.
        self.rights.forget_guild(guild_id);
        Ok(changed)
    }

    /// One page of the guild's cases.
    pub async fn list_cases(
        &self,
        guild_id: u64,
        filter: &CaseFilter,
        limit: i64,
    ) -> Result<Vec<Case>, ServiceError> {
        Ok(self.storage.list_cases(guild_id, filter, limit).await?)
    }

    /// The overview over the last `days` days.
    pub async fn overview(&self, guild_id: u64, days: i64) -> Result<Overview, ServiceError> {
        let now = Utc::now();
        let from = now - ChronoDuration::days(days);
        let tomorrow = now.date_naive() + ChronoDuration::days(1);
        let (messages, actions, rates, incidents) = tokio::try_join!(
            self.storage
                .message_days(guild_id, from.date_naive(), tomorrow),
            self.storage.case_days(guild_id, from),
            self.storage.decision_rates(guild_id, from),
            self.storage.open_incidents(guild_id),
        )?;
        Ok(Overview {
            messages,
            actions,
            rates,
            open_incidents: incidents.len(),
        })
    }

    /// Members matching an id prefix (or the most-sanctioned recently).
    pub async fn search_members(
        &self,
        guild_id: u64,
        query: &str,
    ) -> Result<Vec<MemberSummary>, ServiceError> {
        let q = query.trim();
        let prefix = if q.is_empty() {
            None
        } else if q.chars().all(|c| c.is_ascii_digit()) && q.len() <= 20 {
            Some(q)
        } else {
            return Err(ServiceError::Invalid(
                "search by user id (digits); copy it in Discord with Developer Mode → Copy ID"
                    .into(),
            ));
        };
        Ok(self.storage.search_members(guild_id, prefix, 50).await?)
    }

    /// One page of the guild's audit trail.
    pub async fn audit_page(
        &self,
        guild_id: u64,
        filter: &AuditFilter,
        limit: i64,
    ) -> Result<Vec<AuditRow>, ServiceError> {
        Ok(self.storage.list_audit(guild_id, filter, limit).await?)
    }

    /// Audit rows about one case.
    pub async fn case_audit(&self, case: &Case) -> Result<Vec<AuditRow>, ServiceError> {
        Ok(self
            .storage
            .audit_for_case(case.guild_id, case.case_id, case.case_no)
            .await?)
    }

    /// Walks the guild's audit chain: `Ok(rows checked)` or what is broken.
    pub async fn verify_guild_audit(&self, guild_id: u64) -> Result<u64, String> {
        self.storage
            .verify_audit(Some(guild_id))
            .await
            .map(|r| r.rows)
            .map_err(|e| e.to_string())
    }

    /// Cases about `user_id` in every guild (the member's own view in the appeal portal).
    pub async fn cases_of_user(&self, user_id: u64) -> Result<Vec<Case>, ServiceError> {
        Ok(self.storage.cases_of_user(user_id, 200).await?)
    }

    /// Appeals filed on `case_id` (newest first).
    pub async fn appeals_of_case(
        &self,
        case_id: i64,
    ) -> Result<Vec<crate::domain::Appeal>, ServiceError> {
        Ok(self.storage.appeals_of_case(case_id).await?)
    }

    /// Counts one portal appeal by `user`; false when they already filed `web.appeals_per_hour`
    /// in the last hour (a sliding window shared by every process). When the shared state
    /// fails the appeal is let through.
    pub async fn within_appeal_budget(&self, user: u64) -> bool {
        let per_hour = self.cfg().web.appeals_per_hour.max(1);
        appeal_allowed(&*self.state, user, per_hour, Utc::now().timestamp_millis()).await
    }

    /// Validates `changes` against the guild's stored settings as `/mod config set` would,
    /// without storing them: the draft settings, or every problem at once (see
    /// [`Moderation::check_draft`] for them one by one).
    pub async fn draft_settings(
        &self,
        guild_id: u64,
        changes: &[(String, String)],
    ) -> Result<GuildSettings, ServiceError> {
        let draft = self.check_draft(guild_id, changes).await?;
        if draft.problems.is_empty() {
            Ok(draft.settings)
        } else {
            Err(ServiceError::Invalid(
                draft
                    .problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            ))
        }
    }

    /// Replays the guild's stored messages of the last `days` days (1 to 30) through its
    /// stored settings and through `draft`, and reports the differences. Nothing is executed.
    pub async fn what_if(
        &self,
        guild_id: u64,
        draft: &GuildSettings,
        days: i64,
    ) -> Result<WhatIf, ServiceError> {
        let cfg = self.cfg();
        // Postgres, not this process's cache: the guild may be served by another process.
        let (current, _) = self.storage.guild_settings(guild_id).await?;
        let policy = |s: &GuildSettings| -> Result<Policy, ServiceError> {
            super::guilds::guild_policy(&cfg, s).map_err(|e| ServiceError::Invalid(e.to_string()))
        };
        let (before, after) = (policy(&current)?, policy(draft)?);
        let _slot = WHATIF_SLOTS
            .acquire()
            .await
            .map_err(|e| ServiceError::Invalid(format!("what-if preview unavailable: {e}")))?;
        let from = Utc::now() - ChronoDuration::days(days.clamp(1, 30));
        let rows = self
            .storage
            .replay_rows(guild_id, from, WHATIF_MAX_MESSAGES)
            .await?;
        let truncated = rows.len() as i64 >= WHATIF_MAX_MESSAGES;
        // The replay is CPU work over up to WHATIF_MAX_MESSAGES rows: off the async workers.
        let mut result = tokio::task::spawn_blocking(move || replay_stored(&before, &after, rows))
            .await
            .map_err(|e| ServiceError::Invalid(format!("what-if preview failed: {e}")))?;
        result.truncated = truncated;
        Ok(result)
    }

    /// Adds a moderator's note to a case (an audit row about it).
    pub async fn add_case_note(
        &self,
        guild_id: u64,
        case_no: i64,
        by: u64,
        note: &str,
    ) -> Result<(), ServiceError> {
        let note = note.trim();
        if note.is_empty() {
            return Err(ServiceError::Invalid("write the note first".into()));
        }
        if note.chars().count() > 1000 {
            return Err(ServiceError::Invalid(
                "a note holds at most 1000 characters".into(),
            ));
        }
        let case = self.case(guild_id, case_no).await?;
        self.storage
            .audit(&crate::storage::AuditEvent {
                guild_id,
                kind: "case.note".into(),
                actor_id: Some(by),
                target_id: Some(case.user_id),
                payload: serde_json::json!({
                    "case_id": case.case_id, "case_no": case.case_no, "note": note,
                }),
            })
            .await?;
        Ok(())
    }
}

/// One problem with draft settings: the key it is about, as the settings form names its field
/// (`thresholds.warn`, `channel.123.thresholds.warn`), and what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingProblem {
    /// The key.
    pub key: String,
    /// What is wrong and what to write instead.
    pub message: String,
}

impl std::fmt::Display for SettingProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Settings checked but not stored: the draft, and every problem with it (empty: usable).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Draft {
    /// The stored settings with the changes laid over them (those that could be read).
    pub settings: GuildSettings,
    /// Every problem, in the order of the changes, then those of the whole.
    pub problems: Vec<SettingProblem>,
}

/// One per-guild setting as the settings form shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingField {
    /// The key (`/mod config set` takes the same).
    pub key: &'static str,
    /// What it takes.
    pub takes: &'static str,
    /// The stored value as it can be written back; empty: not set (the default applies).
    pub stored: String,
    /// What applies while it is not set.
    pub default: String,
}

/// The settings form of a guild: every key, and the channels with thresholds of their own.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsForm {
    /// Every per-guild key but the channel thresholds, in `setting_keys::KEYS` order.
    pub fields: Vec<SettingField>,
    /// Channels with thresholds of their own, by id.
    pub channels: Vec<(u64, crate::domain::ThresholdOverrides)>,
    /// The guild's thresholds (what a channel's unset threshold means).
    pub guild_thresholds: crate::config::Thresholds,
    /// The stored settings.
    pub settings: GuildSettings,
    /// Their version (0: never stored).
    pub version: i64,
}

/// What the bot would do with one text in a guild (the dashboard's "Try a message").
#[derive(Debug, Clone, PartialEq)]
pub struct TextPreview {
    /// The model that scored it.
    pub model: String,
    /// The model's scores, highest first.
    pub scores: Vec<(String, f32)>,
    /// What the guild's rules (word lists, links, spam) found.
    pub rules: crate::rules::RuleReport,
    /// The decision on the model's and the rules' scores together, with the guild's policy.
    pub preview: crate::decision::Preview,
    /// The guild's thresholds.
    pub thresholds: crate::config::Thresholds,
    /// Severity from which a message is deleted.
    pub delete_at: f64,
    /// Whether the guild only records decisions.
    pub dry_run: bool,
}

/// Longest text "Try a message" scores (Discord's own limit for a message with Nitro).
pub const TRY_MAX_CHARS: usize = 4_000;

fn setting_key_of(problem_key: &str) -> String {
    let k = problem_key.strip_prefix("guild.").unwrap_or(problem_key);
    match k {
        "storage.content_retention" => "content_retention".to_string(),
        other => other.to_string(),
    }
}

/// Lays `changes` over `stored` and checks the result against `base`: every problem at once,
/// each keyed like the form's field. A change that cannot be read leaves its key as stored.
pub fn draft_from(
    stored: GuildSettings,
    changes: &[(String, String)],
    base: &crate::config::Config,
) -> Draft {
    let mut settings = stored;
    let mut problems = Vec::new();
    for (k, v) in changes {
        if let Err(e) = setting_keys::apply(&mut settings, k, v) {
            problems.push(SettingProblem {
                key: k.trim().to_ascii_lowercase(),
                message: e,
            });
        }
    }
    problems.extend(settings.validate(base).into_iter().map(|p| SettingProblem {
        key: setting_key_of(&p.key),
        message: p.message,
    }));
    Draft { settings, problems }
}

fn on_off(v: bool) -> String {
    if v { "on" } else { "off" }.to_string()
}

fn id_list(ids: &[u64]) -> String {
    ids.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The stored value of `key` (a key of `setting_keys::KEYS`, not a channel's) written so that
/// `setting_keys::apply` reads it back unchanged; empty when not set.
pub fn stored_value(s: &GuildSettings, key: &str) -> String {
    let num = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let flag = |v: Option<bool>| v.map(on_off).unwrap_or_default();
    let id = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
    let ids = |v: &Option<Vec<u64>>| v.as_deref().map(id_list).unwrap_or_default();
    let dur = |v: &Option<crate::config::DurationSpec>| {
        v.as_ref().map(|d| d.raw().to_string()).unwrap_or_default()
    };
    let count = |v: Option<u32>| v.map(|v| v.to_string()).unwrap_or_default();
    let t = s.thresholds.unwrap_or_default();
    let e = s.exemptions.clone().unwrap_or_default();
    let n = s.notices.clone().unwrap_or_default();
    let r = s.rules.clone().unwrap_or_default();
    let b = s.brigade.clone().unwrap_or_default();
    match key {
        "thresholds.warn" => num(t.warn),
        "thresholds.timeout" => num(t.timeout),
        "thresholds.kick" => num(t.kick),
        "thresholds.ban" => num(t.ban),
        "dry_run" => flag(s.dry_run),
        "store_content" => flag(s.store_content),
        "content_retention" => dur(&s.content_retention),
        "mod_log_channel" => id(s.mod_log_channel),
        "appeal_channel" => id(s.appeal_channel),
        "moderator_roles" => ids(&s.moderator_roles),
        "lockdown_channels" => ids(&s.lockdown_channels),
        "alert_role" => id(s.alert_role),
        "exemptions.roles" => ids(&e.roles),
        "exemptions.channels" => ids(&e.channels),
        "exemptions.users" => ids(&e.users),
        "notices.locale" => n.locale.unwrap_or_default(),
        k if k.starts_with("notices.") => crate::domain::NoticeKind::ALL
            .into_iter()
            .find(|kind| k.strip_prefix("notices.") == Some(kind.key()))
            .and_then(|kind| n.template(kind).map(str::to_string))
            .unwrap_or_default(),
        "rules.presets" => match &r.presets {
            None => String::new(),
            Some(p) if p.is_empty() => "off".to_string(),
            Some(p) => p.join(", "),
        },
        "rules.invites" => flag(r.invites),
        "rules.link_action" => r.link_action.unwrap_or_default(),
        "rules.mass_mentions" => count(r.mass_mentions),
        "rules.mention_action" => r.mention_action.unwrap_or_default(),
        "rules.caps_ratio" => num(r.caps_ratio),
        "rules.emoji_max" => count(r.emoji_max),
        "rules.zalgo_marks" => count(r.zalgo_marks),
        "rules.attachments_max" => count(r.attachments_max),
        "rules.spam_action" => r.spam_action.unwrap_or_default(),
        "brigade.join_surge_count" => count(b.join_surge_count),
        "brigade.join_surge_window" => dur(&b.join_surge_window),
        "brigade.coordinated_count" => count(b.coordinated_count),
        "brigade.coordinated_window" => dur(&b.coordinated_window),
        "brigade.harassment_count" => count(b.harassment_count),
        "brigade.harassment_window" => dur(&b.harassment_window),
        "brigade.duplicate_count" => count(b.duplicate_count),
        "brigade.duplicate_window" => dur(&b.duplicate_window),
        "brigade.lookback" => dur(&b.lookback),
        "brigade.quiet_period" => dur(&b.quiet_period),
        "brigade.slowmode" => dur(&b.slowmode),
        "brigade.timeout_new_accounts" => flag(b.timeout_new_accounts),
        "brigade.participant_timeout" => dur(&b.participant_timeout),
        _ => String::new(),
    }
}

/// What applies while `key` is not set in a guild: the global value (`base`), in words where
/// there is none. For lists the guild's own are added to the global ones.
pub fn default_value(base: &crate::config::Config, preferred_locale: &str, key: &str) -> String {
    let listed = |ids: &[u64]| {
        if ids.is_empty() {
            "none".to_string()
        } else {
            id_list(ids)
        }
    };
    let r = &base.rules;
    let b = &base.brigade;
    match key {
        "thresholds.warn" => base.thresholds.warn.to_string(),
        "thresholds.timeout" => base.thresholds.timeout.to_string(),
        "thresholds.kick" => base.thresholds.kick.to_string(),
        "thresholds.ban" => base.thresholds.ban.to_string(),
        "dry_run" => on_off(base.enforcement.dry_run),
        "store_content" => on_off(base.storage.store_content),
        "content_retention" => base.storage.content_retention.raw().to_string(),
        "mod_log_channel" | "alert_role" => "none".to_string(),
        "appeal_channel" => "the mod-log channel".to_string(),
        "lockdown_channels" => "none".to_string(),
        "moderator_roles" => listed(&base.discord.moderator_roles),
        "exemptions.roles" => listed(&base.exemptions.roles),
        "exemptions.channels" => listed(&base.exemptions.channels),
        "exemptions.users" => listed(&base.exemptions.users),
        "notices.locale" => {
            let l = crate::domain::Locale::for_discord(preferred_locale).code();
            if preferred_locale.is_empty() {
                l.to_string()
            } else {
                format!("{l} (the server's language)")
            }
        }
        k if k.starts_with("notices.") => "the shipped wording".to_string(),
        "rules.presets" if r.presets.is_empty() => "off".to_string(),
        "rules.presets" => r.presets.join(", "),
        "rules.invites" => on_off(r.invites),
        "rules.link_action" => r.link_action.clone(),
        "rules.mass_mentions" => r.mass_mentions.to_string(),
        "rules.mention_action" => r.mention_action.clone(),
        "rules.caps_ratio" => r.caps_ratio.to_string(),
        "rules.emoji_max" => r.emoji_max.to_string(),
        "rules.zalgo_marks" => r.zalgo_marks.to_string(),
        "rules.attachments_max" => r.attachments_max.to_string(),
        "rules.spam_action" => r.spam_action.clone(),
        "brigade.join_surge_count" => b.join_surge_count.to_string(),
        "brigade.join_surge_window" => b.join_surge_window.to_string(),
        "brigade.coordinated_count" => b.coordinated_count.to_string(),
        "brigade.coordinated_window" => b.coordinated_window.to_string(),
        "brigade.harassment_count" => b.harassment_count.to_string(),
        "brigade.harassment_window" => b.harassment_window.to_string(),
        "brigade.duplicate_count" => b.duplicate_count.to_string(),
        "brigade.duplicate_window" => b.duplicate_window.to_string(),
        "brigade.lookback" => b.lookback.to_string(),
        "brigade.quiet_period" => b.quiet_period.to_string(),
        "brigade.slowmode" => b.slowmode.to_string(),
        "brigade.timeout_new_accounts" => on_off(b.timeout_new_accounts),
        "brigade.participant_timeout" => b.participant_timeout.to_string(),
        _ => String::new(),
    }
}

impl Moderation {
    /// The guild's settings form: every key with its stored value (read from Postgres, the
    /// truth other processes write) and what applies when it is not set.
    pub async fn settings_form(&self, guild_id: u64) -> Result<SettingsForm, ServiceError> {
        let (settings, version) = self.storage.guild_settings(guild_id).await?;
        let cfg = self.cfg();
        let locale = self.guilds.get(guild_id).preferred_locale;
        let fields = setting_keys::KEYS
            .iter()
            .filter(|(k, _)| !k.starts_with("channel."))
            .map(|(key, takes)| SettingField {
                key,
                takes,
                stored: stored_value(&settings, key),
                default: default_value(&cfg, &locale, key),
            })
            .collect();
        let guild_thresholds = settings.effective(&cfg).thresholds;
        let channels = settings
            .channel_thresholds
            .iter()
            .flatten()
            .map(|(c, t)| (*c, *t))
            .collect();
        Ok(SettingsForm {
            fields,
            channels,
            guild_thresholds,
            settings,
            version,
        })
    }

    /// Lays `changes` over the guild's stored settings and checks them as `/mod config set`
    /// would (the rules must compile too), without storing anything: every problem at once.
    pub async fn check_draft(
        &self,
        guild_id: u64,
        changes: &[(String, String)],
    ) -> Result<Draft, ServiceError> {
        let (stored, _) = self.storage.guild_settings(guild_id).await?;
        let cfg = self.cfg();
        let mut draft = draft_from(stored, changes, &cfg);
        if draft.problems.is_empty() {
            if let Err(e) = self.guild_rules(guild_id, &draft.settings) {
                draft.problems.push(SettingProblem {
                    key: "rules".into(),
                    message: e,
                });
            }
        }
        Ok(draft)
    }

    /// What the bot would do with `text` in a guild: the model's scores, the guild's rules'
    /// hits, and the decision with the guild's policy (deleted by content? the sanction for a
    /// member without history and for one warned the day before). Nothing is recorded.
    pub async fn preview_text(
        &self,
        guild_id: u64,
        text: &str,
    ) -> Result<TextPreview, ServiceError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ServiceError::Invalid(
                "write the message to try first".into(),
            ));
        }
        if text.chars().count() > TRY_MAX_CHARS {
            return Err(ServiceError::Invalid(format!(
                "a message holds at most {TRY_MAX_CHARS} characters; shorten it"
            )));
        }
        // The stored settings; while Postgres is away, those this process holds.
        let settings = match self.storage.guild_settings(guild_id).await {
            Ok((s, _)) => s,
            Err(e) => {
                tracing::debug!(guild = guild_id, error = %e, "settings not read; trying with the cached ones");
                self.guilds.get(guild_id).settings
            }
        };
        let cfg = self.cfg();
        let policy = super::guilds::guild_policy(&cfg, &settings)
            .map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let rules = self
            .guild_rules(guild_id, &settings)
            .map_err(ServiceError::Invalid)?;
        let report = rules.check(&crate::rules::RuleInput {
            text,
            ..Default::default()
        });
        let (scores, model) = self.check_text(text).await?;
        let merged = crate::pipeline::merge_scores(&scores, &report.scores());
        let preview =
            crate::decision::preview(&policy, merged.iter(), Utc::now().timestamp_millis());
        let mut own: Vec<(String, f32)> = scores.iter().map(|(l, v)| (l.to_string(), v)).collect();
        own.sort_by(|a, b| b.1.total_cmp(&a.1));
        Ok(TextPreview {
            model,
            scores: own,
            rules: report,
            preview,
            thresholds: policy.thresholds,
            delete_at: policy.delete_at,
            dry_run: policy.dry_run,
        })
    }

    /// One appeal of the guild (another guild's is not found, as if it did not exist).
    pub async fn guild_appeal(
        &self,
        guild_id: u64,
        appeal_id: i64,
    ) -> Result<crate::domain::Appeal, ServiceError> {
        match self.storage.appeal(appeal_id).await? {
            Some(a) if a.guild_id == guild_id => Ok(a),
            _ => Err(ServiceError::NotFound(format!(
                "There is no appeal #{appeal_id} in this server."
            ))),
        }
    }

    /// Decides one of the guild's appeals ([`Moderation::decide_appeal`]: recorded, the case
    /// reversed on approval, the member told). A denial needs the reason the member reads.
    pub async fn decide_guild_appeal(
        &self,
        guild_id: u64,
        appeal_id: i64,
        reviewer: u64,
        decision: crate::domain::AppealDecision,
        note: &str,
    ) -> Result<super::AppealReview, ServiceError> {
        let appeal = self.guild_appeal(guild_id, appeal_id).await?;
        if appeal.status != crate::domain::AppealStatus::Open {
            return Err(ServiceError::Conflict(format!(
                "Appeal #{appeal_id} was already decided."
            )));
        }
        let note = note.trim();
        if decision == crate::domain::AppealDecision::Reject && note.is_empty() {
            return Err(ServiceError::Invalid(
                "Say why the appeal is denied: the member receives this reason.".into(),
            ));
        }
        if note.chars().count() > super::appeals::APPEAL_MAX_CHARS {
            return Err(ServiceError::Invalid(format!(
                "The note holds at most {} characters; shorten it.",
                super::appeals::APPEAL_MAX_CHARS
            )));
        }
        self.decide_appeal(appeal_id, reviewer, decision, Some(note))
            .await
    }
}

#[cfg(test)]
mod appeal_budget_tests {
    use super::*;

    #[tokio::test]
    async fn appeals_per_hour_is_a_sliding_hour_not_a_refill_per_minute() {
        let store = crate::state::MemoryState::new();
        let t = 1_700_000_000_000i64;
        assert!(appeal_allowed(&store, 1, 2, t).await);
        assert!(appeal_allowed(&store, 1, 2, t + 1).await);
        assert!(!appeal_allowed(&store, 1, 2, t + 2).await);
        // Minutes later, still within the hour: still refused (refused tries do not count).
        assert!(!appeal_allowed(&store, 1, 2, t + 30 * 60_000).await);
        assert!(
            appeal_allowed(&store, 2, 2, t + 30 * 60_000).await,
            "per member"
        );
        // An hour after the first two, the slots come back.
        assert!(appeal_allowed(&store, 1, 2, t + 3_600_002).await);
        assert!(appeal_allowed(&store, 1, 2, t + 3_600_003).await);
        assert!(!appeal_allowed(&store, 1, 2, t + 3_600_004).await);
    }
}

#[cfg(test)]
mod settings_form_tests {
    use super::*;
    use crate::config::{load_from, ConfigSource};

    fn base() -> crate::config::Config {
        load_from(&ConfigSource::default()).expect("the built-in configuration loads")
    }

    /// A value for every key that `apply` accepts and the global rules allow.
    const SAMPLES: &[(&str, &str)] = &[
        ("thresholds.warn", "0.55"),
        ("thresholds.timeout", "0.7"),
        ("thresholds.kick", "0.9"),
        ("thresholds.ban", "0.96"),
        ("dry_run", "on"),
        ("store_content", "off"),
        ("content_retention", "12h"),
        ("mod_log_channel", "<#11>"),
        ("appeal_channel", "12"),
        ("moderator_roles", "<@&13>, 14"),
        ("lockdown_channels", "15 16"),
        ("alert_role", "17"),
        ("exemptions.roles", "18"),
        ("exemptions.channels", "19,20"),
        ("exemptions.users", "<@21>"),
        ("notices.locale", "pt-BR"),
        ("notices.warn", "Warned in {guild}.\\nWhy: {why}"),
        ("notices.timeout", "Muted {duration} in {guild}: {why}"),
        ("notices.kick", "Kicked from {guild}: {why}"),
        ("notices.ban", "Banned from {guild}: {why}"),
        ("rules.presets", "auto, es"),
        ("rules.invites", "off"),
        ("rules.link_action", "timeout"),
        ("rules.mass_mentions", "6"),
        ("rules.mention_action", "ladder"),
        ("rules.caps_ratio", "0.85"),
        ("rules.emoji_max", "12"),
        ("rules.zalgo_marks", "4"),
        ("rules.attachments_max", "5"),
        ("rules.spam_action", "delete"),
        ("brigade.join_surge_count", "4"),
        ("brigade.join_surge_window", "45s"),
        ("brigade.coordinated_count", "3"),
        ("brigade.coordinated_window", "3m"),
        ("brigade.harassment_count", "3"),
        ("brigade.harassment_window", "4m"),
        ("brigade.duplicate_count", "3"),
        ("brigade.duplicate_window", "90s"),
        ("brigade.lookback", "15m"),
        ("brigade.quiet_period", "4m"),
        ("brigade.slowmode", "30s"),
        ("brigade.timeout_new_accounts", "off"),
        ("brigade.participant_timeout", "2h"),
    ];

    fn form_keys() -> Vec<&'static str> {
        setting_keys::KEYS
            .iter()
            .map(|(k, _)| *k)
            .filter(|k| !k.starts_with("channel."))
            .collect()
    }

    #[test]
    fn every_key_has_a_sample() {
        for key in form_keys() {
            assert!(
                SAMPLES.iter().any(|(k, _)| *k == key),
                "{key} has no sample value here"
            );
        }
    }

    #[test]
    fn stored_values_read_back_unchanged() {
        let base = base();
        let mut set = GuildSettings::default();
        for (k, v) in SAMPLES {
            setting_keys::apply(&mut set, k, v).unwrap_or_else(|e| panic!("{k} = {v}: {e}"));
        }
        assert!(set.validate(&base).is_empty(), "{:?}", set.validate(&base));
        // What the form shows, written back over nothing, gives the same settings.
        let mut again = GuildSettings::default();
        for key in form_keys() {
            let shown = stored_value(&set, key);
            assert!(!shown.is_empty(), "{key} shows nothing though it is set");
            setting_keys::apply(&mut again, key, &shown)
                .unwrap_or_else(|e| panic!("{key} = {shown:?}: {e}"));
        }
        assert_eq!(again, set);
        // Presets turned off read back as off, not as the global value.
        let mut off = GuildSettings::default();
        assert!(setting_keys::apply(&mut off, "rules.presets", "off").is_ok());
        assert_eq!(stored_value(&off, "rules.presets"), "off");
    }

    #[test]
    fn unset_keys_show_nothing_and_a_default() {
        let base = base();
        for key in form_keys() {
            assert_eq!(stored_value(&GuildSettings::default(), key), "", "{key}");
            assert!(
                !default_value(&base, "", key).is_empty(),
                "{key} has no default"
            );
        }
        assert_eq!(
            default_value(&base, "", "thresholds.warn"),
            base.thresholds.warn.to_string()
        );
        assert_eq!(
            default_value(&base, "es-ES", "notices.locale"),
            "es (the server's language)"
        );
    }

    #[test]
    fn a_draft_reports_every_problem_at_once_keyed_like_the_form() {
        let base = base();
        let changes: Vec<(String, String)> = [
            ("thresholds.warn", "high"),
            ("dry_run", "maybe"),
            ("channel.42.thresholds.warn", "lots"),
            ("thresholds.timeout", "0.99"),
            ("content_retention", "0s"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let d = draft_from(GuildSettings::default(), &changes, &base);
        let keys: Vec<&str> = d.problems.iter().map(|p| p.key.as_str()).collect();
        assert!(keys.contains(&"thresholds.warn"), "{keys:?}");
        assert!(keys.contains(&"dry_run"), "{keys:?}");
        assert!(keys.contains(&"channel.42.thresholds.warn"), "{keys:?}");
        // Read, then refused by the global rules: timeout above kick and ban.
        assert!(
            d.problems
                .iter()
                .any(|p| p.key == "thresholds.timeout" && p.message.contains("strictly below")),
            "{:?}",
            d.problems
        );
        assert!(keys.contains(&"content_retention"), "{keys:?}");
        assert!(d.problems.iter().all(|p| !p.key.starts_with("guild.")));
        // The readable change is in the draft; the unreadable ones are left as stored.
        assert_eq!(d.settings.thresholds.and_then(|t| t.timeout), Some(0.99));
        assert_eq!(d.settings.dry_run, None);

        let fine = draft_from(
            GuildSettings::default(),
            &[("thresholds.warn".to_string(), "0.5".to_string())],
            &base,
        );
        assert!(fine.problems.is_empty(), "{:?}", fine.problems);
        assert_eq!(fine.settings.thresholds.and_then(|t| t.warn), Some(0.5));
    }
}
