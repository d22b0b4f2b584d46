//! The Discord boundary: building serenity's HTTP client, Discord's limits, and the REST edge
//! the enforcement executor calls.
//!
//! - [`client`]: serenity's `Http` client from configuration (direct, or through `discord.api_base`).
//! - [`limits`]: Discord's size/time limits and pure helpers that make content fit.
//! - [`guard`]: the sliding-window invalid-request guard (401/403/429).
//! - [`rest`]: typed moderation requests with the retry/permanent-failure policy.
//! - [`permissions`]: the permissions the bot needs, and the invite URL's integer.

pub mod client;
pub mod guard;
pub mod limits;
pub mod permissions;
pub mod rest;
