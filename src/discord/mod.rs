//! The Discord boundary: building serenity's HTTP client, Discord's limits, and the REST edge
//! the enforcement executor calls.
//!
//! - [`client`]: serenity's `Http` client from configuration (direct, or through `discord.api_base`).
//! - [`limits`]: Discord's size/time limits and pure helpers that make content fit.
//! - [`guard`]: the sliding-window invalid-request guard (401/403/429).
//! - [`rest`]: typed moderation requests with the retry/permanent-failure policy, and the
//!   read-only requests `doctor` uses.
//! - [`permissions`]: the permission bits the bot needs, the invite URL, channel overwrites.

pub mod client;
pub mod guard;
pub mod limits;
pub mod permissions;
pub mod rest;
