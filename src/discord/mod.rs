//! The Discord boundary: building serenity's HTTP client, Discord's limits, and the REST edge
//! the enforcement executor calls.
//!
//! - [`http`]: `Http` from configuration (direct, or through `discord.api_base`).
//! - [`limits`]: Discord's size/time limits and pure helpers that make content fit.
//! - [`guard`]: the sliding-window invalid-request guard (401/403/429).
//! - [`rest`]: typed moderation requests with the retry/permanent-failure policy.

pub mod guard;
pub mod http;
pub mod limits;
pub mod rest;
