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
}

/// Keys read once at start-up; a reload that changes them is applied on the next restart.
fn restart_only_changes(old: &Config, new: &Config) -> Vec<&'static str> {
    let mut keys = Vec::new();
    if old.discord.token != new.discord.token {
        keys.push("discord.token");
    }
    if old.discord.api_base != new.discord.api_base {
        keys.push("discord.api_base");
    }
    if old.discord.shards != new.discord.shards {
        keys.push("discord.shards");
    }
    if old.database.url != new.database.url
        || old.database.max_connections != new.database.max_connections
    {
        keys.push("database");
    }
    if old.redis.url != new.redis.url || old.redis.key_prefix != new.redis.key_prefix {
        keys.push("redis");
    }
    if old.model.dir != new.model.dir
        || old.model.device != new.model.device
        || old.model.runtime_path != new.model.runtime_path
    {
        keys.push("model");
    }
    if old.http.addr != new.http.addr {
        keys.push("http.addr");
    }
    keys
}

impl LiveConfig {
    /// Starts with `initial`, re-reading `source` on reload.
    pub fn new(initial: Config, source: ConfigSource) -> Self {
        let (tx, _) = watch::channel(Arc::new(initial));
        Self { source, tx }
    }

    /// The configuration in force now.
    pub fn get(&self) -> Arc<Config> {
        self.tx.borrow().clone()
    }

    /// Notified on every applied reload.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Config>> {
        self.tx.subscribe()
    }

    /// Re-reads and validates; applies the new configuration only when it is valid.
    pub fn reload(&self) -> Result<Arc<Config>, ConfigError> {
        let new = Arc::new(load_from(&self.source)?);
        let old = self.get();
        let restart = restart_only_changes(&old, &new);
        if !restart.is_empty() {
            tracing::warn!(keys = ?restart, "configuration reloaded; these keys take effect only after a restart");
        }
        self.tx.send_replace(new.clone());
        Ok(new)
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
}
