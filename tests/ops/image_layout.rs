//! The runtime image's file layout and environment, rebuilt in a scratch directory without
//! Docker: the binary must find its configuration, the model and the ONNX Runtime library there.

use crate::{read, root};
use std::path::{Path, PathBuf};
use std::process::Command;

/// `ENV` assignments of the runtime stage, with `${MODEL}` and the work directory substituted.
fn runtime_env(dockerfile: &str, model: &str, workdir: &Path) -> Vec<(String, String)> {
    let runtime = dockerfile
        .split("AS runtime")
        .nth(1)
        .expect("runtime stage");
    let mut env = Vec::new();
    let mut lines = runtime.lines();
    while let Some(line) = lines.next() {
        let Some(rest) = line.strip_prefix("ENV ") else {
            continue;
        };
        let mut text = rest.to_string();
        let mut current = line;
        while current.trim_end().ends_with('\\') {
            current = lines.next().unwrap_or_default();
            text.push(' ');
            text.push_str(current);
        }
        for pair in text.replace('\\', " ").split_whitespace() {
            let (k, v) = pair.split_once('=').expect("ENV KEY=value");
            let v = v
                .replace("${MODEL}", model)
                .replace("/opt/usmca-bot", &workdir.to_string_lossy());
            env.push((k.to_string(), v));
        }
    }
    env
}

fn runtime_library() -> Option<PathBuf> {
    std::env::var_os("ORT_DYLIB_PATH")
        .map(PathBuf::from)
        .or_else(|| Some(root().join(".onnxruntime")))
        .filter(|p| {
            p.join(usmca_bot::classifier::runtime::LIBRARY_NAME)
                .is_file()
                || p.is_file()
        })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read model dir").flatten() {
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy model file");
    }
}

#[test]
fn default_image_layout_classifies_with_the_bundled_model() {
    let dockerfile = read("Dockerfile");
    // The files the runtime stage copies, mirrored below.
    for line in [
        "WORKDIR /opt/usmca-bot",
        "COPY config/default.toml config/default.toml",
        "COPY --from=model /model/ models/${MODEL}/",
        "COPY models/toxblock-lstm/ /model/",
        "COPY examples/README.md examples/davidson-conversation.json examples/",
        "COPY examples/server-export/ examples/server-export/",
    ] {
        assert!(dockerfile.contains(line), "Dockerfile changed: {line}");
    }
    let Some(lib) = runtime_library() else {
        eprintln!("no ONNX Runtime library (scripts/setup-onnxruntime.sh): image layout not run");
        return;
    };
    let work = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(work.path().join("config")).expect("mkdir");
    std::fs::copy(
        root().join("config/default.toml"),
        work.path().join("config/default.toml"),
    )
    .expect("copy config");
    copy_dir(
        &root().join("models/toxblock-lstm"),
        &work.path().join("models/toxblock-lstm"),
    );
    let env = runtime_env(&dockerfile, "toxblock-lstm", work.path());
    assert!(env.iter().any(|(k, _)| k == "USMCA_MODEL__DIR"), "{env:?}");

    let out = Command::new(env!("CARGO_BIN_EXE_usmca-bot"))
        .current_dir(work.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("ORT_DYLIB_PATH", &lib)
        .args([
            "classify",
            "--json",
            "you are a stupid idiot",
            "have a nice day",
        ])
        .output()
        .expect("run usmca-bot");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "classify in the image layout failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let toxic: Vec<f64> = stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("JSON line");
            v["scores"]["toxic"].as_f64().expect("toxic score")
        })
        .collect();
    assert_eq!(toxic.len(), 2, "{stdout}");
    assert!(toxic[0] > 0.5 && toxic[1] < 0.5, "scores {toxic:?}");
}
