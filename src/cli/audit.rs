//! `usmca-bot audit verify [--guild ID]`: walks the audit hash chain.

use super::db::with_storage;
use crate::storage::AuditVerifyError;
use std::path::Path;
use std::process::ExitCode;

/// Exit code when the chain is broken (tampering detected).
pub const EXIT_TAMPERED: u8 = 4;

/// Verifies one guild's chain (or all) and prints the rows checked, or the first bad row.
pub fn verify(path: Option<&Path>, guild: Option<u64>) -> ExitCode {
    with_storage(path, |storage, _| async move {
        match storage.verify_audit(guild).await {
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
