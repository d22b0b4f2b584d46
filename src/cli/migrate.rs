//! `usmca-bot migrate`: applies pending database migrations.

use super::db::{with_storage, EXIT_DB};
use std::path::Path;
use std::process::ExitCode;

/// Applies pending migrations and reports how many ran.
pub fn run(path: Option<&Path>) -> ExitCode {
    with_storage(path, |storage, _| async move {
        match storage.migrate().await {
            Ok(r) => {
                println!(
                    "migrations: {} applied, {} known, database up to date",
                    r.applied, r.known
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(EXIT_DB)
            }
        }
    })
}
