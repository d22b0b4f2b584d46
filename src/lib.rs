//! usmca-bot: a self-hosted Discord moderation daemon.
//!
//! The pipeline, stage by stage (see [`pipeline`] for the flow in one place):
//! [`config`] → [`classifier`] (ONNX toxicity model) → [`state`] (sliding windows, Redis or in-process)
//! → behaviour scoring → brigade detection → decision → enforcement, with [`storage`] keeping the
//! audit trail.

pub mod behaviour;
pub mod brigade;
pub mod classifier;
pub mod cli;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod decision;
pub mod discord;
pub mod doctor;
pub mod domain;
pub mod enforcement;
pub mod evaluate;
pub mod gateway;
pub mod http;
pub mod journal;
pub mod manifest;
pub mod moderation;
pub mod pipeline;
pub mod report;
pub mod rules;
pub mod scan;
pub mod state;
pub mod storage;
pub mod telemetry;
pub mod web;
