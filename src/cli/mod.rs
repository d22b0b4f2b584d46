//! Command-line interface: one subcommand per job, each in its own file.

mod classify;
mod config_cmd;

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
    /// Inspect the configuration.
    Config {
        /// What to do with it.
        #[command(subcommand)]
        action: ConfigAction,
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
        Command::Run => {
            eprintln!("error: the Discord daemon is not part of this build yet");
            ExitCode::FAILURE
        }
    }
}

/// Loads configuration for a command, printing every problem and returning exit code 2 on failure.
pub fn load_config(path: Option<&std::path::Path>) -> Result<crate::config::Config, ExitCode> {
    match crate::config::load(path) {
        Ok(c) => Ok(c),
        Err(e) => {
            eprintln!("error: {e}");
            Err(ExitCode::from(EXIT_CONFIG))
        }
    }
}
