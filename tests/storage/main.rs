//! Persistence tests against real Postgres and Redis servers: each test gets its own database
//! and key prefix (see tests/support).

#[path = "../support/db.rs"]
mod db;
#[path = "../support/pg_server.rs"]
mod pg_support;
#[path = "../support/redis.rs"]
mod redis_support;

mod audit;
mod cases;
mod dashboard;
mod migrations;
mod pg_server;
mod privacy;
mod resilient;
mod scan_state;
mod settings;
mod tuning;
mod windows;
mod writer;

use usmca_bot::config::{load_from, Config, ConfigSource};
use usmca_bot::domain::{CaseAction, CaseStatus, NewCase};

/// The built-in configuration, without the environment.
pub fn base_config() -> Config {
    load_from(&ConfigSource {
        defaults_file: Some(concat!(env!("CARGO_MANIFEST_DIR"), "/config/default.toml").into()),
        file: None,
        use_env: false,
    })
    .expect("default configuration is valid")
}

/// A bot-issued warning for `user` in `guild`.
pub fn warn_case(guild: u64, user: u64, reason: &str) -> NewCase {
    NewCase {
        guild_id: guild,
        user_id: user,
        action: CaseAction::Warn,
        reason: reason.to_string(),
        scores: serde_json::json!({ "toxic": 0.91, "insult": 0.72 }),
        message_id: Some(1_100_000_000_000_000_000 + user),
        message_excerpt: Some(format!("offending text by {user}")),
        actor_id: None,
        expires_at: None,
        dry_run: false,
        status: CaseStatus::Applied,
        error_note: None,
        key: None,
        behaviour_score: None,
    }
}
