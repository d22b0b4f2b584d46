//! What every one-shot database command shares: load the configuration, start a runtime,
//! connect (exit 3 naming the database, without its password, when that fails), run the
//! command, close the pool.

use crate::storage::Storage;
use std::future::Future;
use std::path::Path;
use std::process::ExitCode;

/// Exit code when the database cannot be reached or a migration fails.
pub(crate) const EXIT_DB: u8 = 3;

/// Runs `work` against the configured database and returns its exit code.
pub(crate) fn with_storage<F, Fut>(path: Option<&Path>, work: F) -> ExitCode
where
    F: FnOnce(Storage, crate::config::Config) -> Fut,
    Fut: Future<Output = ExitCode>,
{
    let config = match super::load_config(path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        let storage = match Storage::connect(&config.database).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_DB);
            }
        };
        let code = work(storage.clone(), config).await;
        storage.close().await;
        code
    })
}
