//! The moderation brain: behaviour scorer, decision engine, brigade detector and pipeline.

mod common;
mod decision;
mod properties;
