//! `usmca-bot migrate`: applies pending database migrations.

use crate::storage::Storage;
use std::path::Path;
use std::process::ExitCode;

/// Exit code when the database cannot be reached or a migration fails.
const EXIT_DB: u8 = 3;

/// Builds a runtime for a one-shot command.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: could not start the async runtime: {e}");
            ExitCode::FAILURE
        })
}

/// Connects to the configured database, reporting a failure the operator can act on.
pub(crate) async fn connect(config: &crate::config::Config) -> Result<Storage, ExitCode> {
    Storage::connect(&config.database).await.map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(EXIT_DB)
    })
}

/// Applies pending migrations and reports how many ran.
pub fn run(path: Option<&Path>) -> ExitCode {
    let config = match super::load_config(path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async {
        let storage = match connect(&config).await {
            Ok(s) => s,
            Err(code) => return code,
        };
        let result = storage.migrate().await;
        storage.close().await;
        match result {
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
