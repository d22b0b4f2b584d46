//! Configuration: built-in defaults ← `config/default.toml` ← optional file ← environment,
//! validated at start-up with every problem reported at once.

mod duration;
mod load;
mod reload;
mod secret;
mod validate;

pub use duration::DurationSpec;
pub use load::{load, load_from, ConfigSource};
#[cfg(unix)]
pub use reload::spawn_sighup_reloader;
pub use reload::LiveConfig;
pub use secret::{Secret, SecretUrl};
pub use validate::{validate, ConfigError, Problem, ShardSpec, RULE_ACTIONS};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Discord's upper bound for a member timeout.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(28 * 24 * 3600);

/// The whole configuration of one process.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Gateway and REST settings.
    pub discord: DiscordConfig,
    /// Postgres.
    pub database: DatabaseConfig,
    /// Redis.
    pub redis: RedisConfig,
    /// Classifier model and runtime.
    pub model: ModelConfig,
    /// Behaviour-score thresholds for each punishment level.
    pub thresholds: Thresholds,
    /// How decisions turn into actions.
    pub enforcement: EnforcementConfig,
    /// Behaviour scorer weights and windows.
    pub behaviour: BehaviourConfig,
    /// Raid and brigade detection.
    pub brigade: BrigadeConfig,
    /// Who and where is never punished automatically.
    pub exemptions: Exemptions,
    /// Rules beside the model: word lists, links and invites, spam.
    pub rules: RulesConfig,
    /// What is stored and for how long.
    pub storage: StorageConfig,
    /// Rate limits for commands and the bot's own actions.
    pub limits: LimitsConfig,
    /// Health and metrics listener.
    pub http: HttpConfig,
    /// The web dashboard and appeal portal.
    pub web: WebConfig,
    /// Logging.
    pub log: LogConfig,
    /// Graceful shutdown.
    pub shutdown: ShutdownConfig,
}

/// `[discord]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordConfig {
    /// Bot token (`DISCORD_TOKEN`).
    pub token: Secret,
    /// API base URL; empty means Discord itself.
    pub api_base: String,
    /// "auto" or "FIRST-LAST/TOTAL".
    pub shards: String,
    /// Role ids allowed to use moderator commands.
    pub moderator_roles: Vec<u64>,
    /// The application (client) id for the dashboard's login; 0: taken from READY.
    pub application_id: u64,
}

/// `[database]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Postgres URL (`DATABASE_URL`).
    pub url: SecretUrl,
    /// Connection pool size.
    pub max_connections: u32,
    /// Apply migrations when the daemon starts.
    pub migrate_on_start: bool,
}

/// `[redis]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// Redis URL (`REDIS_URL`).
    pub url: SecretUrl,
    /// Prefix for every key.
    pub key_prefix: String,
}

/// `[model]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Directory with `model.toml`.
    pub dir: PathBuf,
    /// Explicit path to `libonnxruntime.so`; empty to search the usual places.
    pub runtime_path: String,
    /// "cpu" or "cuda".
    pub device: String,
    /// ONNX Runtime intra-op threads.
    pub intra_threads: usize,
    /// Inference sessions, each on its own thread; 0: one per core for the one-shot tools
    /// (`scan`, `classify`, `evaluate`) and 1 for the daemon. See [`ModelConfig::workers_for`].
    pub workers: usize,
    /// Largest micro-batch.
    pub max_batch: usize,
    /// Longest wait for a micro-batch to fill.
    pub max_wait: DurationSpec,
    /// Bounded queue length in front of the inference worker.
    pub queue_capacity: usize,
}

impl ModelConfig {
    /// The number of inference workers to run: `workers` when set, otherwise one per core for a
    /// one-shot tool (`tool = true`) and 1 for the daemon.
    pub fn workers_for(&self, tool: bool) -> usize {
        match self.workers {
            0 if tool => std::thread::available_parallelism().map_or(1, |n| n.get()),
            0 => 1,
            n => n,
        }
    }
}

/// `[thresholds]`: behaviour score at which each punishment starts. Strictly increasing.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Warning.
    pub warn: f64,
    /// Timeout.
    pub timeout: f64,
    /// Kick.
    pub kick: f64,
    /// Ban.
    pub ban: f64,
}

/// `[enforcement]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnforcementConfig {
    /// Message severity (weighted label maximum, before history) at which the message is deleted.
    pub delete_at: f64,
    /// Successive timeout durations.
    pub timeout_ladder: Vec<DurationSpec>,
    /// Minimum gap between automatic punishments of one member.
    pub cooldown: DurationSpec,
    /// Strike-point half-life.
    pub strike_half_life: DurationSpec,
    /// Message history deleted with a ban.
    pub ban_delete_messages: DurationSpec,
    /// Record decisions without acting.
    pub dry_run: bool,
}

/// `[behaviour]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BehaviourConfig {
    /// Weight per classifier label.
    pub label_weights: BTreeMap<String, f64>,
    /// Half-life of decayed toxicity.
    pub history_half_life: DurationSpec,
    /// Accounts younger than this are "new".
    pub new_account_age: DurationSpec,
    /// Members who joined less than this ago are "new".
    pub new_member_age: DurationSpec,
    /// Messages per minute where velocity starts to count.
    pub velocity_per_minute: f64,
    /// Clean messages that make a member long-standing.
    pub clean_history_messages: u64,
}

/// `[brigade]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrigadeConfig {
    /// Joins that make a surge ...
    pub join_surge_count: u32,
    /// ... within this window.
    pub join_surge_window: DurationSpec,
    /// Distinct new members toxic in one channel ...
    pub coordinated_count: u32,
    /// ... within this window.
    pub coordinated_window: DurationSpec,
    /// Distinct members directing toxicity at one user ...
    pub harassment_count: u32,
    /// ... within this window.
    pub harassment_window: DurationSpec,
    /// Accounts posting one normalised text ...
    pub duplicate_count: u32,
    /// ... within this window.
    pub duplicate_window: DurationSpec,
    /// Joins this long before an incident count as participants.
    pub lookback: DurationSpec,
    /// Quiet time that ends an incident.
    pub quiet_period: DurationSpec,
    /// Channel slow-mode during an incident (0 disables).
    pub slowmode: DurationSpec,
    /// Time out participating new accounts.
    pub timeout_new_accounts: bool,
    /// Timeout given to participants.
    pub participant_timeout: DurationSpec,
}

/// `[exemptions]`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exemptions {
    /// Role ids.
    pub roles: Vec<u64>,
    /// Channel ids.
    pub channels: Vec<u64>,
    /// User ids.
    pub users: Vec<u64>,
}

/// `[storage]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// Store message text (guilds can override).
    pub store_content: bool,
    /// How long stored text is kept.
    pub content_retention: DurationSpec,
    /// How often the retention purge runs.
    pub purge_interval: DurationSpec,
    /// Batched writer flush interval.
    pub writer_flush: DurationSpec,
    /// Batched writer flush size.
    pub writer_batch_rows: usize,
    /// Directory of the local journal that records actions while Postgres is down (one per
    /// process; empty: no journal, and moderation stops recording when Postgres does).
    pub journal_dir: String,
}

/// A named word list: terms (whole words, `*` at either end for prefix or suffix matches) that
/// feed one label with one severity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WordListSpec {
    /// Name, shown in case reasons (`rule slurs: "term"`).
    pub name: String,
    /// The label a hit feeds (`toxic`, `obscene`, `insult`, `identity_hate`, `threat`).
    pub label: String,
    /// The score a hit gives that label, in (0, 1].
    pub severity: f64,
    /// Words, phrases and patterns.
    pub terms: Vec<String>,
}

/// `[rules]`: rules beside the model, for every guild (guilds add their own with `/mod rules`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    /// Word-list presets by language code; `auto`: English, the server's language and each
    /// message's detected language; empty: none.
    pub presets: Vec<String>,
    /// Label a preset hit feeds.
    pub preset_label: String,
    /// Score a preset hit gives that label.
    pub preset_severity: f64,
    /// Extra terms for every guild.
    pub terms: Vec<String>,
    /// Label a hit on `terms` feeds.
    pub term_label: String,
    /// Score a hit on `terms` gives that label.
    pub term_severity: f64,
    /// Words and phrases that are never hits (they beat every list).
    pub allow: Vec<String>,
    /// Delete invites to other Discord servers.
    pub invites: bool,
    /// Invite codes that are allowed (the server's own vanity code always is).
    pub invite_allow: Vec<String>,
    /// Domains (with their subdomains) whose links are never hits.
    pub allow_domains: Vec<String>,
    /// Domains (with their subdomains) whose links are hits.
    pub deny_domains: Vec<String>,
    /// File of denied domains, one per line (`#` comments); empty: none.
    pub deny_domains_file: String,
    /// What a link or invite hit does: `delete`, `ladder` or `timeout`.
    pub link_action: String,
    /// Mentions (users and roles) in one message that count as mass mentions; 0: off.
    pub mass_mentions: u32,
    /// What a mass-mention hit does: `delete`, `ladder` or `timeout`.
    pub mention_action: String,
    /// Share of capital letters that counts as shouting; 0: off.
    pub caps_ratio: f64,
    /// Letters a message needs before `caps_ratio` applies.
    pub caps_min_letters: u32,
    /// Emoji in one message above which it is an emoji flood; 0: off.
    pub emoji_max: u32,
    /// Combining marks on one letter above which it is zalgo text; 0: off.
    pub zalgo_marks: u32,
    /// Attachments in one message above which it is an attachment flood; 0: off.
    pub attachments_max: u32,
    /// What a caps, emoji, zalgo or attachment hit does: `delete`, `ladder` or `timeout`.
    pub spam_action: String,
    /// Named word lists (guild settings add theirs).
    #[serde(default)]
    pub lists: Vec<WordListSpec>,
}

/// `[limits]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Moderator commands per user per minute.
    pub commands_per_minute: u32,
    /// Automatic actions per guild per minute.
    pub actions_per_minute: u32,
}

/// `[http]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Listen address for /healthz, /readyz, /metrics.
    pub addr: String,
}

/// `[web]`: the dashboard and the appeal portal. Off while `client_secret` is empty.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// Listen address of the dashboard.
    pub addr: String,
    /// Public base URL, e.g. `https://mod.example.org`: the OAuth redirect is
    /// `{public_url}/auth/callback`; https makes the session cookie `Secure`.
    pub public_url: String,
    /// OAuth2 client secret of the application (`DISCORD_CLIENT_SECRET`).
    pub client_secret: Secret,
    /// User ids who also see the operator page.
    pub owners: Vec<u64>,
    /// How long a dashboard login lasts.
    pub session_ttl: DurationSpec,
    /// How long a user's rights on a guild are cached (at most 60 s).
    pub rights_cache: DurationSpec,
    /// Login attempts one address may start per minute.
    pub logins_per_minute: u32,
    /// Appeals one member may file through the portal per hour.
    pub appeals_per_hour: u32,
}

impl WebConfig {
    /// Whether the dashboard runs (a client secret is configured).
    pub fn enabled(&self) -> bool {
        !self.client_secret.is_empty()
    }
}

/// `[log]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `RUST_LOG`-style filter.
    pub filter: String,
    /// "text" or "json".
    pub format: String,
}

/// `[shutdown]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShutdownConfig {
    /// Hard deadline for graceful shutdown.
    pub deadline: DurationSpec,
}

impl Config {
    /// Renders the effective configuration as TOML with every secret redacted.
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string_pretty(self)
            .unwrap_or_else(|e| format!("# could not render configuration: {e}\n"))
    }

    /// Whether a Discord API base override is configured.
    pub fn api_base(&self) -> Option<&str> {
        let b = self.discord.api_base.trim();
        (!b.is_empty()).then_some(b)
    }
}

impl Thresholds {
    /// The thresholds as (key, value) pairs in their required order.
    pub fn ordered(&self) -> [(&'static str, f64); 4] {
        [
            ("thresholds.warn", self.warn),
            ("thresholds.timeout", self.timeout),
            ("thresholds.kick", self.kick),
            ("thresholds.ban", self.ban),
        ]
    }
}
