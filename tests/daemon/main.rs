//! End-to-end: the real `usmca-bot run` binary against a fake Discord (REST + gateway on
//! loopback), a fresh Postgres database and a fresh Redis key prefix per test.

#[path = "../support/db.rs"]
mod db;
#[path = "../support/fake_discord/mod.rs"]
mod fake_discord;
#[path = "../support/pg_server.rs"]
mod pg_support;
#[path = "../support/redis.rs"]
mod redis_support;

mod chaos;
mod commands;
mod doctor;
mod failures;
mod harness;
mod moderation;
mod ops;
mod raid;
mod reliability;
mod rules;
mod workflow;

use std::sync::Once;
use usmca_bot::config::{load_from, Config, ConfigSource};

/// Keeps reqwest from sending loopback traffic to an HTTP proxy from the environment.
pub fn no_proxy() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::env::set_var("NO_PROXY", "127.0.0.1,localhost");
        std::env::set_var("no_proxy", "127.0.0.1,localhost");
    });
}

/// The built-in configuration, without the environment.
pub fn base_config() -> Config {
    load_from(&ConfigSource {
        defaults_file: Some(concat!(env!("CARGO_MANIFEST_DIR"), "/config/default.toml").into()),
        file: None,
        use_env: false,
    })
    .expect("default configuration is valid")
}
