//! `usmca-bot privacy forget --user ID [--guild ID]`.

use super::db::with_storage;
use std::path::Path;
use std::process::ExitCode;

/// Forgets a user and prints what was removed.
pub fn forget(path: Option<&Path>, user: u64, guild: Option<u64>) -> ExitCode {
    with_storage(path, |storage, _| async move {
        // Run from the command line by the operator: the actor is recorded as the bot (None).
        match storage.forget_user(user, guild, None).await {
            Ok(r) => {
                let scope = guild.map_or("all guilds".to_string(), |g| format!("guild {g}"));
                println!(
                    "forgot user {user} in {scope}: {} messages deleted, {} cases redacted, {} appeals redacted, {} audit payloads redacted",
                    r.messages_deleted, r.cases_redacted, r.appeals_redacted, r.audit_rows_redacted
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
