//! `usmca-bot doctor`: runs [`crate::doctor`]'s checks and prints the checklist; exit 0 when
//! nothing failed (warnings allowed), 1 otherwise.

use crate::doctor::{Check, Status};
use std::path::Path;
use std::process::ExitCode;

/// Runs `doctor`.
pub fn run(config_path: Option<&Path>, load_model: bool, json: bool) -> ExitCode {
    let config = match crate::config::load(config_path) {
        Ok(c) => {
            crate::telemetry::init(&crate::config::LogConfig {
                filter: "warn".into(),
                ..c.log.clone()
            });
            c
        }
        Err(e) => {
            let check = Check::fail(
                format!("configuration: {e}"),
                "fix each key listed (usmca-bot config check shows them)",
            );
            println!("{}", check.line());
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let report = runtime.block_on(crate::doctor::run(&config, load_model));
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("error: {e}"),
        }
    } else {
        for check in &report.checks {
            println!("{}", check.line());
        }
        println!(
            "\n{} passed, {} warning{}, {} failed",
            report.count(Status::Pass),
            report.count(Status::Warn),
            if report.count(Status::Warn) == 1 {
                ""
            } else {
                "s"
            },
            report.count(Status::Fail)
        );
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
