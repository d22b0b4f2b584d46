//! The command-line interface as an operator uses it: the built binary, its output and exit codes.
//! Commands that load the model need the ONNX Runtime library (`scripts/setup-onnxruntime.sh`).

mod config_check;
mod evaluate;
mod run;
mod scan;

use std::process::{Command, Output};

/// Runs `usmca-bot ARGS` from the repository root with a clean `USMCA_*` environment.
pub fn usmca(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_usmca-bot"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR")).args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("USMCA_") || k == "DISCORD_TOKEN" || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().copied());
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run usmca-bot: {e}"))
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

mod anywhere;
