//! The moderation brain: behaviour scorer, decision engine, brigade detector and pipeline.

#[path = "../support/db.rs"]
mod db;
#[path = "../support/redis.rs"]
mod redis_support;

mod brigade;
mod common;
mod decision;
mod notices;
mod persistence;
mod properties;
mod rules;
mod scenarios;
