//! Discord boundary tests: the fake Discord itself, fixture contracts with serenity's types,
//! the REST edge's failure policy, and a real serenity client against the fake gateway.

#[path = "../support/fake_discord/mod.rs"]
mod fake_discord;

mod contract;
mod fake;
mod fake_oauth;
mod reply;
mod rest;
mod smoke;

use std::sync::Once;

/// Keeps reqwest from sending loopback traffic to an HTTP proxy from the environment.
pub fn no_proxy() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Set once, before any client is built; tests only read it afterwards.
        std::env::set_var("NO_PROXY", "127.0.0.1,localhost");
        std::env::set_var("no_proxy", "127.0.0.1,localhost");
    });
}
