//! `usmca-bot run` (the default): the Discord daemon.

use crate::config::{ConfigSource, LiveConfig};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

/// Exit code when the daemon cannot start (unreachable database, missing token, model) or fails.
const EXIT_RUNTIME: u8 = 1;

/// Loads and validates the configuration, then runs the daemon until SIGTERM/SIGINT.
pub fn run(path: Option<&Path>) -> ExitCode {
    let config = match super::load_config(path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if config.discord.token.is_empty() {
        eprintln!("error: discord.token is empty: set DISCORD_TOKEN to the bot token from the Discord developer portal");
        return ExitCode::from(super::EXIT_CONFIG);
    }
    let source = ConfigSource {
        defaults_file: None,
        file: path.map(Path::to_path_buf),
        use_env: true,
    };
    let live = Arc::new(LiveConfig::new(config, source));
    // A panicking event task must leave a trace in the logs, not vanish with its task.
    std::panic::set_hook(Box::new(|info| {
        tracing::error!(panic = %info, "a task panicked; the event it handled was dropped");
    }));
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("usmca-rt")
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        let daemon = crate::daemon::build(live).await?;
        daemon.run(crate::daemon::wait_for_signal()).await
    });
    // Tasks still running (e.g. a shard stuck past the deadline) must not hold the exit.
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "daemon stopped");
            eprintln!("error: {e}");
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}
