//! End-to-end tests of the web dashboard and appeal portal: the real `usmca-bot run` binary
//! with the dashboard on, logged in through the fake Discord's OAuth2. `security.rs` checks
//! the HTTP surface with a plain client (sessions, rights, CSRF, escaping, OAuth `state`,
//! headers); `browser.rs` drives headless Chromium through the moderator's and the banned
//! member's flows; `pages.rs` checks each page's content and forms against Postgres and the
//! fake Discord.

#[path = "../support/db.rs"]
mod db;
#[path = "../support/fake_discord/mod.rs"]
mod fake_discord;
#[allow(dead_code)] // The daemon's harness, shared with tests/daemon; these tests use part of it.
#[path = "../daemon/harness.rs"]
mod harness;
#[path = "../support/redis.rs"]
mod redis_support;

mod browser;
mod client;
mod pages;
mod security;
mod world;

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
