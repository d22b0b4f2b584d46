//! Logs and metrics.

mod logging;
pub mod metrics;

pub use logging::init;
pub use metrics::Metrics;

/// This process's name (host name, pid and a start tag, since a container restarts with the
/// same host name and pid): in shard heartbeats, and kept with the cases it records so a
/// restart can tell its own unfinished cases from those of live processes.
pub fn process_name() -> String {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
        format!(
            "{host}:{}:{:04x}",
            std::process::id(),
            rand::random::<u16>()
        )
    })
    .clone()
}
