//! Logs and metrics.

mod logging;
pub mod metrics;

pub use logging::init;
pub use metrics::Metrics;

/// This process's name (host name and pid): in shard heartbeats, and kept with the cases it
/// records so a restart can tell its own unfinished cases from those of live processes.
pub fn process_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
    format!("{host}:{}", std::process::id())
}
