//! The moderation brain: behaviour scorer, decision engine, brigade detector and pipeline.

mod brigade;
mod common;
mod decision;
mod persistence;
mod properties;
mod scenarios;
