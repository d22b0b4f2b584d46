//! `usmca-bot config check`.

use std::path::Path;
use std::process::ExitCode;

/// Prints the effective configuration with secrets redacted, or every problem (exit 2).
pub fn check(path: Option<&Path>) -> ExitCode {
    match super::load_config(path) {
        Ok(config) => {
            print!("{}", config.to_redacted_toml());
            eprintln!("configuration OK");
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}
