//! `usmca-bot doctor`: checks that the bot can do its job, and says how to fix what is wrong.
//!
//! - [`discord`]: the token, the privileged intents, each server's permissions, the bot's role
//!   position against the members it moderates, and the configured channels. The daemon runs
//!   these at start-up too and logs each failure as a warning.
//! - [`local`]: Postgres (reachable and migrated), Redis, the model, the HTTP listener.
//!
//! The checks return data ([`Check`]); `cli/doctor.rs` prints them and chooses the exit code.

pub mod discord;
pub mod local;

use crate::config::Config;
use serde::Serialize;

/// How one check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// All good.
    Pass,
    /// Works, but something should be looked at (does not fail `doctor`).
    Warn,
    /// The bot cannot do part of its job until this is fixed.
    Fail,
    /// Not checked (an earlier check failed, or there is nothing to check).
    Skip,
}

/// One line of the checklist.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Outcome.
    pub status: Status,
    /// What was checked, with what was found.
    pub what: String,
    /// How to fix it (for warnings and failures).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    /// A passed check.
    pub fn pass(what: impl Into<String>) -> Self {
        Check {
            status: Status::Pass,
            what: what.into(),
            fix: None,
        }
    }

    /// A failed check and its fix.
    pub fn fail(what: impl Into<String>, fix: impl Into<String>) -> Self {
        Check {
            status: Status::Fail,
            what: what.into(),
            fix: Some(fix.into()),
        }
    }

    /// A warning and its fix.
    pub fn warn(what: impl Into<String>, fix: impl Into<String>) -> Self {
        Check {
            status: Status::Warn,
            what: what.into(),
            fix: Some(fix.into()),
        }
    }

    /// A check that was not run, and why.
    pub fn skip(what: impl Into<String>) -> Self {
        Check {
            status: Status::Skip,
            what: what.into(),
            fix: None,
        }
    }

    /// The checklist line: `✓ what`, `✗ what — fix: …`, `! what — fix: …`, `- what`.
    pub fn line(&self) -> String {
        let mark = match self.status {
            Status::Pass => "✓",
            Status::Fail => "✗",
            Status::Warn => "!",
            Status::Skip => "-",
        };
        match &self.fix {
            Some(fix) => format!("{mark} {} — fix: {fix}", self.what),
            None => format!("{mark} {}", self.what),
        }
    }
}

/// The whole checklist.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Checks in the order they ran.
    pub checks: Vec<Check>,
}

impl Report {
    /// No check failed (warnings allowed).
    pub fn passed(&self) -> bool {
        !self.checks.iter().any(|c| c.status == Status::Fail)
    }

    /// How many checks ended with `status`.
    pub fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }
}

/// Runs every check against `config`: Discord, then Postgres and Redis, the model and the
/// HTTP listener. `load_model` off skips loading the model (it takes a moment).
pub async fn run(config: &Config, load_model: bool) -> Report {
    let mut checks = vec![Check::pass(
        "configuration is valid (every key checked; see usmca-bot config check)",
    )];
    let storage = local::postgres(config, &mut checks).await;
    local::redis(config, &mut checks).await;
    checks.extend(discord::checks(config, storage.as_ref()).await);
    if load_model {
        checks.push(local::model(config).await);
    }
    checks.push(local::http_listener(config).await);
    checks.push(Check::skip(
        "dashboard: none in this version (nothing to check)",
    ));
    if let Some(s) = storage {
        s.close().await;
    }
    Report { checks }
}
