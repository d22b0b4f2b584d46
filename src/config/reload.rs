//! Hot reload: SIGHUP re-reads the configuration; a valid one replaces the current one, an invalid
//! one is rejected with a log line and the old one stays.

use super::{load_from, Config, ConfigError, ConfigSource};
use std::sync::Arc;
use tokio::sync::watch;

/// The configuration currently in force, shared by every stage. Readers call [`LiveConfig::get`]
/// per decision (cheap: an `Arc` clone), or [`LiveConfig::subscribe`] to hear about changes.
pub struct LiveConfig {
    source: ConfigSource,
    tx: watch::Sender<Arc<Config>>,
    /// The configuration the process started with (what restart-only keys still hold).
    started: Arc<Config>,
}

/// Keys applied to the running daemon by a reload (prefixes end with a dot). Every other key
/// is read once at start-up and takes effect after a restart.
pub const LIVE_KEYS: &[&str] = &[
    "thresholds.",
    "enforcement.delete_at",
    "enforcement.timeout_ladder",
    "enforcement.cooldown",
    "enforcement.strike_half_life",
    "enforcement.dry_run",
    "behaviour.",
    "exemptions.",
    "rules.",
    "limits.commands_per_minute",
    "storage.store_content",
    "discord.moderator_roles",
    "web.public_url",
    "web.owners",
    "web.rights_cache",
    "web.logins_per_minute",
    "web.appeals_per_hour",
];

/// Whether a reload applies `key` to the running daemon.
pub fn is_live(key: &str) -> bool {
    LIVE_KEYS.iter().any(|k| {
        key == *k || (k.ends_with('.') && key.starts_with(k)) || key.starts_with(&format!("{k}."))
    })
}

fn leaves(
    prefix: &str,
    v: &serde_json::Value,
    out: &mut std::collections::BTreeMap<String, String>,
) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(&key, v, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// Every key whose value differs between two configurations (secrets compared by value,
/// never printed).
pub fn changed_keys(old: &Config, new: &Config) -> Vec<String> {
    let flat = |c: &Config| {
        let mut out = std::collections::BTreeMap::new();
        leaves("", &serde_json::to_value(c).unwrap_or_default(), &mut out);
        out
    };
    let (a, b) = (flat(old), flat(new));
    let mut keys: std::collections::BTreeSet<String> = a
        .iter()
        .filter(|(k, v)| b.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .chain(b.keys().filter(|k| !a.contains_key(*k)).cloned())
        .collect();
    // Secrets serialise redacted: compare them directly.
    if old.discord.token != new.discord.token {
        keys.insert("discord.token".into());
    }
    if old.database.url != new.database.url {
        keys.insert("database.url".into());
    }
    if old.redis.url != new.redis.url {
        keys.insert("redis.url".into());
    }
    keys.into_iter().collect()
}

/// The keys changed between two configurations that only a restart applies.
pub fn restart_only_changes(old: &Config, new: &Config) -> Vec<String> {
    changed_keys(old, new)
        .into_iter()
        .filter(|k| !is_live(k))
        .collect()
}

impl LiveConfig {
    /// Starts with `initial`, re-reading `source` on reload.
    pub fn new(initial: Config, source: ConfigSource) -> Self {
        let initial = Arc::new(initial);
        let (tx, _) = watch::channel(initial.clone());
        Self {
            source,
            tx,
            started: initial,
        }
    }

    /// The configuration in force now.
    pub fn get(&self) -> Arc<Config> {
        self.tx.borrow().clone()
    }

    /// The configuration the process started with: what the keys only a restart applies
    /// (those not in [`LIVE_KEYS`]) still hold.
    pub fn started(&self) -> Arc<Config> {
        self.started.clone()
    }

    /// Notified on every applied reload.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Config>> {
        self.tx.subscribe()
    }

    /// Re-reads and validates; applies the new configuration only when it is valid.
    pub fn reload(&self) -> Result<Arc<Config>, ConfigError> {
        let new = Arc::new(load_from(&self.source)?);
        let old = self.get();
        for key in restart_only_changes(&old, &new) {
            tracing::warn!(key = %key, "{key} changed; takes effect after a restart");
        }
        self.tx.send_replace(new.clone());
        Ok(new)
    }

    /// Keys changed by reloads since start that only a restart applies (empty: the running
    /// daemon uses exactly the configuration in force).
    pub fn restart_pending(&self) -> Vec<String> {
        restart_only_changes(&self.started, &self.get())
    }
}

/// Reloads on every SIGHUP until `shutdown` is cancelled. Unix only.
#[cfg(unix)]
pub fn spawn_sighup_reloader(
    live: Arc<LiveConfig>,
    shutdown: tokio_util::sync::CancellationToken,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hup = signal(SignalKind::hangup())?;
    Ok(tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                got = hup.recv() => {
                    if got.is_none() { break; }
                    match live.reload() {
                        Ok(c) => tracing::info!(
                            warn = c.thresholds.warn, timeout = c.thresholds.timeout,
                            kick = c.thresholds.kick, ban = c.thresholds.ban,
                            "SIGHUP: configuration reloaded"
                        ),
                        Err(e) => tracing::error!(error = %e, "SIGHUP: new configuration rejected; keeping the current one"),
                    }
                }
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_reload_keeps_the_old_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "[thresholds]\nwarn = 0.5\n").unwrap();
        let source = ConfigSource {
            defaults_file: None,
            file: Some(file.clone()),
            use_env: false,
        };
        let live = LiveConfig::new(load_from(&source).unwrap(), source);
        let mut rx = live.subscribe();
        assert_eq!(live.get().thresholds.warn, 0.5);

        std::fs::write(&file, "[thresholds]\nwarn = 0.99\n").unwrap();
        let err = live.reload().unwrap_err().to_string();
        assert!(err.contains("thresholds.warn"), "{err}");
        assert_eq!(live.get().thresholds.warn, 0.5);
        assert!(!rx.has_changed().unwrap());

        std::fs::write(&file, "[thresholds]\nwarn = 0.55\n").unwrap();
        live.reload().unwrap();
        assert_eq!(live.get().thresholds.warn, 0.55);
        assert!(rx.has_changed().unwrap());
        assert_eq!(rx.borrow_and_update().thresholds.warn, 0.55);
    }

    #[test]
    fn reload_says_which_changes_wait_for_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "[thresholds]\nwarn = 0.5\n").unwrap();
        let source = ConfigSource {
            defaults_file: None,
            file: Some(file.clone()),
            use_env: false,
        };
        let live = LiveConfig::new(load_from(&source).unwrap(), source);
        assert!(live.restart_pending().is_empty());
        std::fs::write(
            &file,
            "[thresholds]\nwarn = 0.55\n[limits]\nactions_per_minute = 7\n[log]\nfilter = \"debug\"\n[brigade]\nslowmode = \"1m\"\n[discord]\ntoken = \"new-secret\"\n",
        )
        .unwrap();
        live.reload().unwrap();
        assert_eq!(
            live.restart_pending(),
            vec![
                "brigade.slowmode",
                "discord.token",
                "limits.actions_per_minute",
                "log.filter"
            ],
            "thresholds apply live; the others wait for a restart"
        );
        // Changed back: nothing is pending any more.
        std::fs::write(&file, "[thresholds]\nwarn = 0.6\n").unwrap();
        live.reload().unwrap();
        assert!(live.restart_pending().is_empty());
        assert!(is_live("thresholds.ban") && is_live("behaviour.label_weights.toxic"));
        assert!(!is_live("enforcement.ban_delete_messages") && !is_live("model.dir"));
    }
}
