//! Command-line interface: one subcommand per job, each in its own file.

mod audit;
mod classify;
mod config_cmd;
mod db;
mod doctor;
mod evaluate;
mod labels;
mod migrate;
mod privacy;
mod run;
mod scan;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code for invalid configuration or input the operator must fix.
pub const EXIT_CONFIG: u8 = 2;

/// usmca-bot: Discord moderation with an in-process toxicity model, graduated enforcement,
/// appeals and a tamper-evident audit trail.
#[derive(Debug, Parser)]
#[command(name = "usmca-bot", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file layered over config/default.toml (environment variables still win).
    #[arg(long, global = true, env = "USMCA_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// What to do; `run` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Connect to Discord and moderate (the default).
    Run,
    /// Score texts with the configured model: the arguments, or each line of stdin.
    Classify {
        /// One JSON object per input: {"text", "scores", "max_label", "max_score"}.
        #[arg(long)]
        json: bool,
        /// Texts to classify; read stdin line by line when none are given.
        texts: Vec<String>,
    },
    /// Classify every message of a chat export and report (offline: no Discord, database or Redis needed).
    Scan(scan::ScanArgs),
    /// Measure the model on a labelled CSV: ROC-AUC, average precision, precision/recall/F1 at the thresholds.
    Evaluate(Box<evaluate::EvaluateArgs>),
    /// Inspect the configuration.
    Config {
        /// What to do with it.
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Check the set-up: token, intents, each server's permissions and role position, the
    /// configured channels, Postgres, Redis, the model. Prints a checklist with the fix for each
    /// failure; exits 0 when nothing failed, 1 otherwise.
    Doctor {
        /// Skip loading the model (faster).
        #[arg(long)]
        no_model: bool,
        /// The checklist as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Inspect the tamper-evident audit trail.
    Audit {
        /// What to do with it.
        #[command(subcommand)]
        action: AuditAction,
    },
    /// The moderators' verdicts on automatic cases (Confirm, Reverse, approved appeals).
    Labels {
        /// What to do with them.
        #[command(subcommand)]
        action: LabelsAction,
    },
    /// Propose thresholds from the moderators' verdicts: the lowest warn threshold whose
    /// reversal rate stays at or under the target, the others moved by as much.
    Calibrate {
        /// The guild.
        #[arg(long, value_name = "ID")]
        guild: u64,
        /// Highest share of acted-on cases moderators may have reversed.
        #[arg(long, default_value_t = 0.1, value_name = "R")]
        max_reversal_rate: f64,
    },
    /// Handle privacy requests.
    Privacy {
        /// What to do.
        #[command(subcommand)]
        action: PrivacyAction,
    },
}

/// `audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Walk the hash chain; exit 0 printing the rows checked, or exit 4 naming the first bad row.
    Verify {
        /// Only this guild's chain (default: every chain).
        #[arg(long, value_name = "ID")]
        guild: Option<u64>,
    },
}

/// `privacy` subcommands.
#[derive(Debug, Subcommand)]
pub enum PrivacyAction {
    /// Delete a user's messages and stored text; keep their cases, redacted; keep the audit chain verifiable.
    Forget {
        /// The user's id.
        #[arg(long, value_name = "ID")]
        user: u64,
        /// Only in this guild (default: every guild).
        #[arg(long, value_name = "ID")]
        guild: Option<u64>,
    },
}

/// `labels` subcommands.
#[derive(Debug, Subcommand)]
pub enum LabelsAction {
    /// Write a guild's labelled cases as CSV (case_no, action, behaviour_score, label, text)
    /// that `evaluate --text-column text --label-column label --positive confirmed` reads.
    Export {
        /// The guild.
        #[arg(long, value_name = "ID")]
        guild: u64,
        /// Where to write (default: standard output).
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// `config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print the effective configuration (secrets redacted) and exit 0, or list every problem and exit 2.
    Check,
}

/// Parses arguments and runs the chosen command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Run);
    match command {
        Command::Config {
            action: ConfigAction::Check,
        } => config_cmd::check(cli.config.as_deref()),
        Command::Classify { json, texts } => classify::run(cli.config.as_deref(), json, texts),
        Command::Scan(args) => scan::run(args, cli.config.as_deref()),
        Command::Evaluate(args) => evaluate::run(*args, cli.config.as_deref()),
        Command::Doctor { no_model, json } => doctor::run(cli.config.as_deref(), !no_model, json),
        Command::Migrate => migrate::run(cli.config.as_deref()),
        Command::Audit {
            action: AuditAction::Verify { guild },
        } => audit::verify(cli.config.as_deref(), guild),
        Command::Privacy {
            action: PrivacyAction::Forget { user, guild },
        } => privacy::forget(cli.config.as_deref(), user, guild),
        Command::Labels {
            action: LabelsAction::Export { guild, output },
        } => labels::export(cli.config.as_deref(), guild, output.as_deref()),
        Command::Calibrate {
            guild,
            max_reversal_rate,
        } => labels::calibrate(cli.config.as_deref(), guild, max_reversal_rate),
        Command::Run => run::run(cli.config.as_deref()),
    }
}

/// Loads configuration for a command, printing every problem and returning exit code 2 on failure.
/// Also installs logging as the configuration asks, so every command logs the same way.
pub fn load_config(path: Option<&std::path::Path>) -> Result<crate::config::Config, ExitCode> {
    match crate::config::load(path) {
        Ok(c) => {
            crate::telemetry::init(&c.log);
            Ok(c)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Err(ExitCode::from(EXIT_CONFIG))
        }
    }
}
