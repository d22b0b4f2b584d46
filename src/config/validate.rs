//! Semantic validation. Every rule names the key it checks; all problems are collected.

use super::{Config, DurationSpec, MAX_TIMEOUT};
use std::fmt;
use std::time::Duration;

/// One configuration problem: the key and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key, e.g. `thresholds.warn`.
    pub key: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Problem {
    /// Creates a problem for `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Why configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// One or more values are missing, malformed or inconsistent.
    #[error("invalid configuration ({} problem{}):\n{}", .0.len(), if .0.len() == 1 { "" } else { "s" }, render(.0))]
    Invalid(Vec<Problem>),
}

impl ConfigError {
    /// The individual problems.
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid(p) => p,
        }
    }
}

fn render(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Which shards this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardSpec {
    /// Discord's recommended count, all in this process.
    Auto,
    /// Shards `first..=last` of `total`.
    Range {
        /// First shard id.
        first: u32,
        /// Last shard id (inclusive).
        last: u32,
        /// Total shards across all processes.
        total: u32,
    },
}

impl ShardSpec {
    /// Parses "auto" or "FIRST-LAST/TOTAL" (or "N/TOTAL" for a single shard).
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("auto") || s.is_empty() {
            return Ok(ShardSpec::Auto);
        }
        let bad = || format!("{s:?} is not \"auto\" or \"FIRST-LAST/TOTAL\" (e.g. \"0-1/4\")");
        let (range, total) = s.split_once('/').ok_or_else(bad)?;
        let total: u32 = total.trim().parse().map_err(|_| bad())?;
        let (first, last) = match range.split_once('-') {
            Some((a, b)) => (
                a.trim().parse().map_err(|_| bad())?,
                b.trim().parse().map_err(|_| bad())?,
            ),
            None => {
                let n: u32 = range.trim().parse().map_err(|_| bad())?;
                (n, n)
            }
        };
        if total == 0 || first > last || last >= total {
            return Err(format!(
                "{s:?}: need FIRST <= LAST < TOTAL and TOTAL >= 1 (shard ids start at 0)"
            ));
        }
        Ok(ShardSpec::Range { first, last, total })
    }
}

struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn push(&mut self, key: &str, message: impl Into<String>) {
        self.problems.push(Problem::new(key, message));
    }

    /// A duration that must parse and lie within `[min, max]`.
    fn duration(&mut self, key: &str, d: &DurationSpec, min: Duration, max: Option<Duration>) {
        match d.get() {
            None => self.push(
                key,
                format!(
                    "{:?} is not a duration; write e.g. \"30s\", \"10m\", \"1h\", \"7d\"",
                    d.raw()
                ),
            ),
            Some(v) if v < min => {
                if min == Duration::ZERO {
                    self.push(key, "must not be negative")
                } else if min <= Duration::from_millis(1) {
                    self.push(key, format!("must be positive, got {:?}", d.raw()))
                } else {
                    self.push(
                        key,
                        format!(
                            "must be at least {}, got {:?}",
                            humantime::format_duration(min),
                            d.raw()
                        ),
                    )
                }
            }
            Some(v) => {
                if let Some(max) = max {
                    if v > max {
                        self.push(
                            key,
                            format!(
                                "must be at most {}, got {:?}",
                                humantime::format_duration(max),
                                d.raw()
                            ),
                        );
                    }
                }
            }
        }
    }

    fn positive(&mut self, key: &str, d: &DurationSpec) {
        self.duration(key, d, Duration::from_millis(1), None);
    }

    fn unit_interval(&mut self, key: &str, v: f64) {
        if !(v > 0.0 && v <= 1.0) {
            self.push(key, format!("must be in (0, 1], got {v}"));
        }
    }

    fn at_least<T: PartialOrd + fmt::Display + Copy>(&mut self, key: &str, v: T, min: T) {
        if v < min {
            self.push(key, format!("must be at least {min}, got {v}"));
        }
    }
}

/// Checks every rule and returns all problems (empty when the configuration is usable).
pub fn validate(c: &Config) -> Vec<Problem> {
    let mut ck = Checker {
        problems: Vec::new(),
    };

    // Thresholds: each in (0, 1], strictly increasing warn < timeout < kick < ban.
    let ordered = c.thresholds.ordered();
    for (key, v) in ordered {
        ck.unit_interval(key, v);
    }
    for pair in ordered.windows(2) {
        let ((ka, a), (kb, b)) = (pair[0], pair[1]);
        if a >= b {
            ck.push(
                ka,
                format!("{a} must be strictly below {kb} ({b}): thresholds are ordered warn < timeout < kick < ban"),
            );
        }
    }

    // Enforcement.
    ck.unit_interval("enforcement.delete_at", c.enforcement.delete_at);
    if c.enforcement.timeout_ladder.is_empty() {
        ck.push(
            "enforcement.timeout_ladder",
            "needs at least one duration, e.g. [\"10m\", \"1h\", \"1d\"]",
        );
    }
    let mut previous = Duration::ZERO;
    for (i, step) in c.enforcement.timeout_ladder.iter().enumerate() {
        let key = format!("enforcement.timeout_ladder[{i}]");
        ck.duration(&key, step, Duration::from_secs(1), Some(MAX_TIMEOUT));
        if let Some(v) = step.get() {
            if v < previous {
                ck.push(&key, "timeouts must not get shorter along the ladder");
            }
            previous = v;
        }
    }
    ck.duration(
        "enforcement.cooldown",
        &c.enforcement.cooldown,
        Duration::ZERO,
        None,
    );
    ck.positive(
        "enforcement.strike_half_life",
        &c.enforcement.strike_half_life,
    );
    ck.duration(
        "enforcement.ban_delete_messages",
        &c.enforcement.ban_delete_messages,
        Duration::ZERO,
        Some(Duration::from_secs(7 * 86_400)),
    );

    // Behaviour.
    for (label, w) in &c.behaviour.label_weights {
        if !(w.is_finite() && *w >= 0.0 && *w <= 5.0) {
            ck.push(
                &format!("behaviour.label_weights.{label}"),
                format!("must be between 0 and 5, got {w}"),
            );
        }
    }
    ck.positive(
        "behaviour.history_half_life",
        &c.behaviour.history_half_life,
    );
    ck.positive("behaviour.new_account_age", &c.behaviour.new_account_age);
    ck.positive("behaviour.new_member_age", &c.behaviour.new_member_age);
    if !(c.behaviour.velocity_per_minute.is_finite() && c.behaviour.velocity_per_minute > 0.0) {
        ck.push(
            "behaviour.velocity_per_minute",
            "must be a positive number of messages per minute",
        );
    }
    ck.at_least(
        "behaviour.clean_history_messages",
        c.behaviour.clean_history_messages,
        1,
    );

    // Brigade.
    let b = &c.brigade;
    ck.at_least("brigade.join_surge_count", b.join_surge_count, 2);
    ck.at_least("brigade.coordinated_count", b.coordinated_count, 2);
    ck.at_least("brigade.harassment_count", b.harassment_count, 2);
    ck.at_least("brigade.duplicate_count", b.duplicate_count, 2);
    ck.positive("brigade.join_surge_window", &b.join_surge_window);
    ck.positive("brigade.coordinated_window", &b.coordinated_window);
    ck.positive("brigade.harassment_window", &b.harassment_window);
    ck.positive("brigade.duplicate_window", &b.duplicate_window);
    ck.duration("brigade.lookback", &b.lookback, Duration::ZERO, None);
    ck.positive("brigade.quiet_period", &b.quiet_period);
    // Discord allows slow-mode up to 6 hours.
    ck.duration(
        "brigade.slowmode",
        &b.slowmode,
        Duration::ZERO,
        Some(Duration::from_secs(21_600)),
    );
    ck.duration(
        "brigade.participant_timeout",
        &b.participant_timeout,
        Duration::from_secs(1),
        Some(MAX_TIMEOUT),
    );

    // Storage.
    ck.positive("storage.content_retention", &c.storage.content_retention);
    ck.duration(
        "storage.purge_interval",
        &c.storage.purge_interval,
        Duration::from_secs(1),
        None,
    );
    ck.positive("storage.writer_flush", &c.storage.writer_flush);
    ck.at_least("storage.writer_batch_rows", c.storage.writer_batch_rows, 1);

    // Limits.
    ck.at_least(
        "limits.commands_per_minute",
        c.limits.commands_per_minute,
        1,
    );
    ck.at_least("limits.actions_per_minute", c.limits.actions_per_minute, 1);

    // Shutdown.
    ck.positive("shutdown.deadline", &c.shutdown.deadline);

    // URLs.
    check_url(
        &mut ck,
        "database.url",
        c.database.url.expose(),
        &["postgres", "postgresql"],
    );
    check_url(
        &mut ck,
        "redis.url",
        c.redis.url.expose(),
        &["redis", "rediss", "redis+unix", "unix"],
    );
    if let Some(base) = c.api_base() {
        check_url(&mut ck, "discord.api_base", base, &["http", "https"]);
    }
    ck.at_least("database.max_connections", c.database.max_connections, 1);
    if c.redis.key_prefix.is_empty() {
        ck.push(
            "redis.key_prefix",
            "must not be empty (it keeps this bot's keys apart from others')",
        );
    }
    if let Err(e) = ShardSpec::parse(&c.discord.shards) {
        ck.push("discord.shards", e);
    }

    // Model and runtime.
    match crate::manifest::Manifest::locate(&c.model.dir) {
        Ok(manifest) => {
            for label in c.behaviour.label_weights.keys() {
                if !manifest.labels.iter().any(|l| l == label) {
                    ck.push(
                        &format!("behaviour.label_weights.{label}"),
                        format!(
                            "the model has no label {label:?}; its labels are {}",
                            manifest.labels.join(", ")
                        ),
                    );
                }
            }
        }
        Err(e) => ck.push("model.dir", e.to_string()),
    }
    if !matches!(c.model.device.as_str(), "cpu" | "cuda") {
        ck.push(
            "model.device",
            format!("must be \"cpu\" or \"cuda\", got {:?}", c.model.device),
        );
    }
    let rt = c.model.runtime_path.trim();
    if !rt.is_empty() && !std::path::Path::new(rt).is_file() {
        ck.push(
            "model.runtime_path",
            format!("{rt} is not a file; run scripts/setup-onnxruntime.sh or point it at libonnxruntime.so"),
        );
    }
    ck.at_least("model.intra_threads", c.model.intra_threads, 1);
    ck.at_least("model.max_batch", c.model.max_batch, 1);
    if c.model.workers > 256 {
        ck.push(
            "model.workers",
            format!(
                "must be at most 256 (0 means one per core for the tools, 1 for the daemon), got {}",
                c.model.workers
            ),
        );
    }
    if c.model.max_batch > 1024 {
        ck.push(
            "model.max_batch",
            format!("must be at most 1024, got {}", c.model.max_batch),
        );
    }
    ck.duration(
        "model.max_wait",
        &c.model.max_wait,
        Duration::ZERO,
        Some(Duration::from_secs(1)),
    );
    if c.model.queue_capacity < c.model.max_batch {
        ck.push(
            "model.queue_capacity",
            format!(
                "must be at least model.max_batch ({}), got {}",
                c.model.max_batch, c.model.queue_capacity
            ),
        );
    }

    // HTTP and logging.
    if c.http.addr.parse::<std::net::SocketAddr>().is_err() {
        ck.push(
            "http.addr",
            format!("{:?} is not an address like 0.0.0.0:8080", c.http.addr),
        );
    }
    check_web(&mut ck, c);
    if !matches!(c.log.format.as_str(), "text" | "json") {
        ck.push(
            "log.format",
            format!("must be \"text\" or \"json\", got {:?}", c.log.format),
        );
    }
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&c.log.filter) {
        ck.push(
            "log.filter",
            format!("{:?} is not a valid filter: {e}", c.log.filter),
        );
    }

    // Rules.
    let r = &c.rules;
    ck.unit_interval("rules.preset_severity", r.preset_severity);
    ck.unit_interval("rules.term_severity", r.term_severity);
    for (key, label) in [
        ("rules.preset_label", &r.preset_label),
        ("rules.term_label", &r.term_label),
    ] {
        if label.trim().is_empty() {
            ck.push(key, "needs a label, e.g. \"toxic\"");
        }
    }
    for (key, action) in [
        ("rules.link_action", &r.link_action),
        ("rules.mention_action", &r.mention_action),
        ("rules.spam_action", &r.spam_action),
    ] {
        if !RULE_ACTIONS.contains(&action.as_str()) {
            ck.push(
                key,
                format!("must be \"delete\", \"ladder\" or \"timeout\", got {action:?}"),
            );
        }
    }
    if !(0.0..=1.0).contains(&r.caps_ratio) {
        ck.push(
            "rules.caps_ratio",
            format!("must be in [0, 1] (0 turns it off), got {}", r.caps_ratio),
        );
    }
    for (i, l) in r.lists.iter().enumerate() {
        ck.unit_interval(&format!("rules.lists[{i}].severity"), l.severity);
        if l.name.trim().is_empty() || l.label.trim().is_empty() {
            ck.push(
                &format!("rules.lists[{i}]"),
                "needs a name and a label, e.g. name = \"slurs\", label = \"identity_hate\"",
            );
        }
    }

    ck.problems
}

/// What a link, mention or spam rule may do.
pub const RULE_ACTIONS: &[&str] = &["delete", "ladder", "timeout"];

fn check_web(ck: &mut Checker, c: &Config) {
    let w = &c.web;
    if w.addr.parse::<std::net::SocketAddr>().is_err() {
        ck.push(
            "web.addr",
            format!("{:?} is not an address like 0.0.0.0:8081", w.addr),
        );
    }
    match url::Url::parse(w.public_url.trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
            if u.path() != "/" || u.query().is_some() {
                ck.push(
                    "web.public_url",
                    "must be a bare origin such as https://mod.example.org (no path or query)",
                );
            }
        }
        _ => ck.push(
            "web.public_url",
            format!(
                "{:?} is not an http(s) URL such as https://mod.example.org",
                w.public_url
            ),
        ),
    }
    ck.duration(
        "web.session_ttl",
        &w.session_ttl,
        Duration::from_secs(300),
        Some(Duration::from_secs(30 * 86_400)),
    );
    // Revoked rights must stop working within a minute.
    ck.duration(
        "web.rights_cache",
        &w.rights_cache,
        Duration::ZERO,
        Some(Duration::from_secs(60)),
    );
    if w.logins_per_minute == 0 {
        ck.push("web.logins_per_minute", "must be at least 1");
    }
    if w.appeals_per_hour == 0 {
        ck.push("web.appeals_per_hour", "must be at least 1");
    }
}

fn check_url(ck: &mut Checker, key: &str, value: &str, schemes: &[&str]) {
    match url::Url::parse(value) {
        Ok(u) if schemes.contains(&u.scheme()) => {}
        Ok(u) => ck.push(
            key,
            format!(
                "scheme {:?} is not supported; use one of: {}",
                u.scheme(),
                schemes.join(", ")
            ),
        ),
        // Never echo the value: it may hold a password.
        Err(e) => ck.push(key, format!("is not a valid URL ({e})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_spec_parses() {
        assert_eq!(ShardSpec::parse("auto"), Ok(ShardSpec::Auto));
        assert_eq!(
            ShardSpec::parse("0-1/4"),
            Ok(ShardSpec::Range {
                first: 0,
                last: 1,
                total: 4
            })
        );
        assert_eq!(
            ShardSpec::parse("1/2"),
            Ok(ShardSpec::Range {
                first: 1,
                last: 1,
                total: 2
            })
        );
        assert!(ShardSpec::parse("2/2").is_err());
        assert!(ShardSpec::parse("3-1/4").is_err());
        assert!(ShardSpec::parse("lots").is_err());
    }
}
