//! `usmca-bot audit verify [--guild ID]`: walks the audit hash chain.

use super::migrate::{connect, runtime};
use crate::storage::AuditVerifyError;
use std::path::Path;
use std::process::ExitCode;

/// Exit code when the chain is broken (tampering detected).
pub const EXIT_TAMPERED: u8 = 4;

/// Verifies one guild's chain (or all) and prints the rows checked, or the first bad row.
pub fn verify(path: Option<&Path>, guild: Option<u64>) -> ExitCode {
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
        let result = storage.verify_audit(guild).await;
        storage.close().await;
        match result {
            Ok(r) => {
                println!(
                    "audit chain OK: {} rows checked in {} chain{}",
                    r.rows,
                    r.chains,
                    if r.chains == 1 { "" } else { "s" }
                );
                ExitCode::SUCCESS
            }
            Err(AuditVerifyError::Fault(f)) => {
                eprintln!("audit chain BROKEN: {f}");
                ExitCode::from(EXIT_TAMPERED)
            }
            Err(AuditVerifyError::Storage(e)) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
