//! Finding and loading the ONNX Runtime shared library, once per process.

use super::ClassifierError;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// File name of the runtime library on this platform.
#[cfg(target_os = "windows")]
pub const LIBRARY_NAME: &str = "onnxruntime.dll";
/// File name of the runtime library on this platform.
#[cfg(target_os = "macos")]
pub const LIBRARY_NAME: &str = "libonnxruntime.dylib";
/// File name of the runtime library on this platform.
#[cfg(not(any(target_os = "windows", target_os = "macos")))]
pub const LIBRARY_NAME: &str = "libonnxruntime.so";

/// The places searched for the library, in order: `model.runtime_path`, `ORT_DYLIB_PATH`,
/// `./.onnxruntime/`; beside the executable (`../lib/usmca-bot`, `../lib` — where
/// `scripts/setup-onnxruntime.sh --prefix R` puts it for a `cargo install --root R` — the
/// executable's own directory, and a source checkout's `.onnxruntime/` for `target/*/usmca-bot`);
/// then the directories of `LD_LIBRARY_PATH` and the standard system ones (the Docker image's
/// `/usr/local/lib/usmca-bot/` among them).
pub fn candidates(configured: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let as_file = |p: PathBuf| if p.is_dir() { p.join(LIBRARY_NAME) } else { p };
    if !configured.trim().is_empty() {
        out.push(as_file(PathBuf::from(configured.trim())));
    }
    if let Some(env) = std::env::var_os("ORT_DYLIB_PATH").filter(|v| !v.is_empty()) {
        out.push(as_file(PathBuf::from(env)));
    }
    out.push(PathBuf::from(".onnxruntime").join(LIBRARY_NAME));
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.canonicalize().ok())
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        out.push(dir.join("../lib/usmca-bot").join(LIBRARY_NAME));
        out.push(dir.join("../lib").join(LIBRARY_NAME));
        out.push(dir.join(LIBRARY_NAME));
        out.push(dir.join("../.onnxruntime").join(LIBRARY_NAME));
        out.push(dir.join("../../.onnxruntime").join(LIBRARY_NAME));
    }
    if let Some(paths) = std::env::var_os("LD_LIBRARY_PATH") {
        out.extend(
            std::env::split_paths(&paths)
                .filter(|p| !p.as_os_str().is_empty())
                .map(|p| p.join(LIBRARY_NAME)),
        );
    }
    let multiarch = format!("/usr/lib/{}-linux-gnu", std::env::consts::ARCH);
    for dir in [
        "/usr/local/lib/usmca-bot",
        "/usr/local/lib",
        "/usr/lib/usmca-bot",
        multiarch.as_str(),
        "/usr/lib",
    ] {
        out.push(PathBuf::from(dir).join(LIBRARY_NAME));
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(p.clone()));
    out
}

/// The process-wide ONNX Runtime environment.
#[derive(Clone)]
pub struct Runtime {
    /// Library that was loaded.
    pub path: PathBuf,
    /// The environment sessions are created in.
    pub env: ort::environment::Environment,
}

static RUNTIME: Mutex<Option<Runtime>> = Mutex::new(None);

/// Loads the runtime on first use and returns the same environment afterwards.
///
/// An explicitly configured path must exist: silently falling back to another library would hide a
/// configuration mistake. Only the first successful load counts; the library cannot be swapped later.
pub fn get(configured: &str) -> Result<Runtime, ClassifierError> {
    let mut guard = RUNTIME.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(rt) = guard.as_ref() {
        return Ok(rt.clone());
    }
    let candidates = candidates(configured);
    let path = if !configured.trim().is_empty() {
        let p = candidates[0].clone();
        if !p.is_file() {
            return Err(ClassifierError::RuntimeNotFound {
                searched: format!("{} (model.runtime_path)", p.display()),
            });
        }
        p
    } else {
        match candidates.iter().find(|p| p.is_file()) {
            Some(p) => p.clone(),
            None => {
                let searched = candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(ClassifierError::RuntimeNotFound { searched });
            }
        }
    };
    let load_err = |message: String| ClassifierError::RuntimeLoad {
        path: path.clone(),
        message,
    };
    let env = ort::init_from(&path)
        .map_err(|e| load_err(e.to_string()))?
        .with_name("usmca-bot")
        .build()
        .map_err(|e| load_err(e.to_string()))?;
    tracing::info!(path = %path.display(), "loaded ONNX Runtime");
    let rt = Runtime { path, env };
    *guard = Some(rt.clone());
    Ok(rt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_path_comes_first_and_project_dir_before_exe_dirs() {
        let c = candidates("/opt/ort/libonnxruntime.so");
        assert_eq!(c[0], PathBuf::from("/opt/ort/libonnxruntime.so"));
        let local = PathBuf::from(".onnxruntime").join(LIBRARY_NAME);
        let pos = |p: &PathBuf| c.iter().position(|x| x == p);
        assert!(pos(&local) > Some(0));
        let image = PathBuf::from("/usr/local/lib/usmca-bot").join(LIBRARY_NAME);
        assert!(pos(&image) > pos(&local));
        assert_eq!(
            c.last(),
            Some(&PathBuf::from("/usr/lib").join(LIBRARY_NAME))
        );
        // A configured directory means the library inside it.
        let dir = std::env::temp_dir();
        assert_eq!(
            candidates(&dir.display().to_string())[0],
            dir.join(LIBRARY_NAME)
        );
    }

    #[test]
    fn a_missing_configured_library_is_an_error_with_the_fix() {
        // Only meaningful before the runtime is loaded in this process; unit tests never load it.
        let err = get("/nonexistent/libonnxruntime.so")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("setup-onnxruntime.sh") && err.contains("model.runtime_path"),
            "{err}"
        );
    }
}
