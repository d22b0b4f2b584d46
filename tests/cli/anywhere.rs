//! The binary finds its parts wherever it runs: from a directory with no `models/` and no
//! `.onnxruntime/`, `classify` uses the runtime found beside the executable and the model
//! embedded in the binary; a model directory found nowhere is an error listing every place tried.

use super::stderr;
use std::process::Command;

fn in_empty_dir(
    args: &[&str],
    extra: &[(&str, &str)],
) -> (std::process::Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_usmca-bot"));
    cmd.current_dir(dir.path()).args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("USMCA_")
            || k.starts_with("XDG_")
            || k == "ORT_DYLIB_PATH"
            || k == "RUST_LOG"
        {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", dir.path()).envs(extra.iter().copied());
    (cmd.output().unwrap(), dir)
}

#[test]
fn classify_works_from_a_directory_without_the_model_or_runtime() {
    // target/debug/usmca-bot finds the checkout's .onnxruntime/ (../../.onnxruntime beside it).
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    if !root.join(".onnxruntime/libonnxruntime.so").is_file() {
        eprintln!("SKIPPED: no .onnxruntime/ (scripts/setup-onnxruntime.sh)");
        return;
    }
    let (out, dir) = in_empty_dir(&["classify", "--json", "you idiot"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let line: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    assert!(
        line["scores"]["toxic"].as_f64().unwrap_or(0.0) > 0.5,
        "{line}"
    );
    // The embedded model was written under the cache directory ($HOME/.cache here).
    let cached = dir.path().join(".cache/usmca-bot/models");
    let entries: Vec<_> = std::fs::read_dir(&cached)
        .unwrap_or_else(|e| panic!("{}: {e}", cached.display()))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        entries.iter().any(|n| n.starts_with("toxblock-lstm-")),
        "{entries:?}"
    );
}

#[test]
fn a_model_found_nowhere_lists_every_place_tried() {
    let (out, _dir) = in_empty_dir(
        &["config", "check"],
        &[("USMCA_MODEL__DIR", "models/some-other-model")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("model.dir")
            && err.contains("searched models/some-other-model,")
            && err.contains("share/usmca-bot/models/some-other-model")
            && err.contains("/usr/share/usmca-bot/models/some-other-model"),
        "{err}"
    );
}
