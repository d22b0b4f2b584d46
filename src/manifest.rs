//! `model.toml`: what a model directory contains and how to feed it.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Name of the manifest file inside a model directory.
pub const MANIFEST_FILE: &str = "model.toml";

/// How text becomes token ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenizerKind {
    /// Keras-style word index (`vocab.json`): the bundled LSTM.
    WordIndex,
    /// A Hugging Face `tokenizer.json` (Detoxify exports).
    Huggingface,
}

/// Whether the graph's output is already a probability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutputKind {
    /// Sigmoid already applied.
    Probabilities,
    /// Raw logits; the pipeline applies a sigmoid per label (multi-label).
    Logits,
}

/// Integer type of the id tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdType {
    /// 32-bit ids.
    Int32,
    /// 64-bit ids (typical of exported transformers).
    Int64,
}

/// Tokenizer section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenizerSpec {
    /// Tokenizer kind.
    pub kind: TokenizerKind,
    /// File inside the model directory (`vocab.json` or `tokenizer.json`).
    pub file: PathBuf,
}

/// Graph input and output names.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IoSpec {
    /// Token-id input.
    pub input_ids: String,
    /// Attention-mask input, for transformer graphs.
    #[serde(default)]
    pub attention_mask: Option<String>,
    /// Token-type input; fed only when the graph declares it.
    #[serde(default)]
    pub token_type_ids: Option<String>,
    /// Integer type of the id inputs.
    pub id_type: IdType,
    /// Output tensor `[batch, labels]`.
    pub output: String,
    /// Probabilities or logits.
    pub output_kind: OutputKind,
}

/// The parsed `model.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Short model name shown in reports and `/mod status`.
    pub name: String,
    /// One line on what the model is and where it comes from.
    #[serde(default)]
    pub description: String,
    /// ONNX file inside the directory.
    pub weights: PathBuf,
    /// Expected sha256 (hex) of the weights; checked at load when present.
    #[serde(default)]
    pub sha256: Option<String>,
    /// Output labels, in the order of the output tensor's last axis.
    pub labels: Vec<String>,
    /// Longest token sequence fed to the model.
    pub max_length: usize,
    /// Tokenizer.
    pub tokenizer: TokenizerSpec,
    /// Tensor names and types.
    pub io: IoSpec,
    /// The directory the manifest was read from (not part of the file).
    #[serde(skip)]
    pub dir: PathBuf,
}

/// Why a model directory is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The directory does not exist.
    #[error("model directory {0} does not exist; set model.dir (USMCA_MODEL__DIR) to a directory containing model.toml")]
    MissingDir(PathBuf),
    /// No manifest inside.
    #[error("{0} not found; a model directory needs a model.toml manifest (see docs/model.md)")]
    MissingManifest(PathBuf),
    /// Unreadable file.
    #[error("cannot read {path}: {source}")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Bad TOML or bad field.
    #[error("{path} is not a valid manifest: {message}")]
    Parse {
        /// File.
        path: PathBuf,
        /// Parser message.
        message: String,
    },
    /// A relative model directory was found in none of the places searched.
    #[error("model directory {dir} not found; searched {}; set model.dir (USMCA_MODEL__DIR) to a directory containing model.toml", .tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    NotFound {
        /// The configured directory.
        dir: PathBuf,
        /// Every place tried, in order.
        tried: Vec<PathBuf>,
    },
    /// The embedded copy of the bundled model could not be written out.
    #[error("cannot write the embedded model to {path}: {source}; set XDG_CACHE_HOME to a writable directory or model.dir to a model directory")]
    Materialise {
        /// Directory being written.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A semantic rule failed.
    #[error("{path}: {message}")]
    Invalid {
        /// File.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Name of the model shipped with the project (and embedded in the binary).
pub const BUNDLED_MODEL: &str = "toxblock-lstm";

/// The bundled model's files, compiled into the binary as the last place a model is found.
const EMBEDDED: [(&str, &[u8]); 6] = [
    (
        MANIFEST_FILE,
        include_bytes!("../models/toxblock-lstm/model.toml"),
    ),
    (
        "model.onnx",
        include_bytes!("../models/toxblock-lstm/model.onnx"),
    ),
    (
        "vocab.json",
        include_bytes!("../models/toxblock-lstm/vocab.json"),
    ),
    (
        "labels.json",
        include_bytes!("../models/toxblock-lstm/labels.json"),
    ),
    ("LICENSE", include_bytes!("../models/toxblock-lstm/LICENSE")),
    (
        "README.md",
        include_bytes!("../models/toxblock-lstm/README.md"),
    ),
];

/// Where a configured model directory is searched, in order.
///
/// An absolute path is taken as is. A relative one (the default `models/toxblock-lstm`) is tried
/// in the working directory, then beside the executable (`<exe>/../share/usmca-bot/`, which is where
/// `cargo install --root R` puts `R/bin`, and the executable's own directory), then in the user's
/// and the system's data directories (`$XDG_DATA_HOME/usmca-bot`, `/usr/local/share/usmca-bot`,
/// `/usr/share/usmca-bot`). Under each base both the path itself and its last component are tried.
pub fn model_dir_candidates(configured: &Path) -> Vec<PathBuf> {
    if configured.is_absolute() {
        return vec![configured.to_path_buf()];
    }
    let mut bases: Vec<PathBuf> = Vec::new();
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.canonicalize().ok())
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        bases.push(exe_dir.join("..").join("share").join("usmca-bot"));
        bases.push(exe_dir.clone());
    }
    let data_home = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")));
    if let Some(d) = data_home {
        bases.push(d.join("usmca-bot"));
    }
    bases.push(PathBuf::from("/usr/local/share/usmca-bot"));
    bases.push(PathBuf::from("/usr/share/usmca-bot"));
    let mut out = vec![configured.to_path_buf()];
    for base in bases {
        out.push(base.join(configured));
        if let Some(name) = configured.file_name() {
            if Path::new(name) != configured {
                out.push(base.join("models").join(name));
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(p.clone()));
    out
}

/// Finds the configured model directory: the first candidate of [`model_dir_candidates`] holding a
/// `model.toml`, or, for the bundled model's name, the copy embedded in the binary (written once
/// to the user's cache directory). The error lists every place tried.
pub fn locate_model_dir(configured: &Path) -> Result<PathBuf, ManifestError> {
    let tried = model_dir_candidates(configured);
    if let Some(found) = tried.iter().find(|d| d.join(MANIFEST_FILE).is_file()) {
        return Ok(found.clone());
    }
    if configured.is_absolute() {
        return if configured.is_dir() {
            Err(ManifestError::MissingManifest(
                configured.join(MANIFEST_FILE),
            ))
        } else {
            Err(ManifestError::MissingDir(configured.to_path_buf()))
        };
    }
    if configured.file_name().and_then(|n| n.to_str()) == Some(BUNDLED_MODEL) {
        return materialise_embedded();
    }
    Err(ManifestError::NotFound {
        dir: configured.to_path_buf(),
        tried,
    })
}

/// Writes the embedded bundled model to `$XDG_CACHE_HOME/usmca-bot/` (or `~/.cache`, or the
/// temporary directory), keyed by the weights' hash, and returns that directory. Idempotent and
/// safe against concurrent processes (each writes a private directory, then renames it in place).
fn materialise_embedded() -> Result<PathBuf, ManifestError> {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for (_, bytes) in EMBEDDED {
        hasher.update(bytes);
    }
    let key = hex::encode(&hasher.finalize()[..6]);
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    let root = cache.join("usmca-bot").join("models");
    let dir = root.join(format!("{BUNDLED_MODEL}-{key}"));
    if dir.join(MANIFEST_FILE).is_file() {
        return Ok(dir);
    }
    let fail = |source| ManifestError::Materialise {
        path: dir.clone(),
        source,
    };
    std::fs::create_dir_all(&root).map_err(fail)?;
    let staging = root.join(format!(".{BUNDLED_MODEL}-{key}.{}", std::process::id()));
    std::fs::create_dir_all(&staging).map_err(fail)?;
    for (name, bytes) in EMBEDDED {
        std::fs::write(staging.join(name), bytes).map_err(fail)?;
    }
    if let Err(e) = std::fs::rename(&staging, &dir) {
        let _ = std::fs::remove_dir_all(&staging);
        // Another process won the race: its copy is as good as ours.
        if !dir.join(MANIFEST_FILE).is_file() {
            return Err(fail(e));
        }
    }
    tracing::info!(dir = %dir.display(), "using the model embedded in the binary");
    Ok(dir)
}

impl Manifest {
    /// Finds the configured directory with [`locate_model_dir`] and reads its manifest.
    pub fn locate(configured: &Path) -> Result<Self, ManifestError> {
        Self::load(&locate_model_dir(configured)?)
    }

    /// Reads and checks `dir/model.toml` (file existence only; the sha256 is checked at load).
    pub fn load(dir: &Path) -> Result<Self, ManifestError> {
        if !dir.is_dir() {
            return Err(ManifestError::MissingDir(dir.to_path_buf()));
        }
        let path = dir.join(MANIFEST_FILE);
        if !path.is_file() {
            return Err(ManifestError::MissingManifest(path));
        }
        let text = std::fs::read_to_string(&path).map_err(|source| ManifestError::Read {
            path: path.clone(),
            source,
        })?;
        let mut m: Manifest = toml::from_str(&text).map_err(|e| ManifestError::Parse {
            path: path.clone(),
            message: e.to_string(),
        })?;
        m.dir = dir.to_path_buf();
        let invalid = |message: String| ManifestError::Invalid {
            path: path.clone(),
            message,
        };
        if m.labels.is_empty() {
            return Err(invalid("labels must list at least one label".into()));
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = m.labels.iter().find(|l| !seen.insert(l.as_str())) {
            return Err(invalid(format!("label {dup:?} appears twice")));
        }
        if m.max_length == 0 || m.max_length > 8192 {
            return Err(invalid(format!(
                "max_length must be in 1..=8192, got {}",
                m.max_length
            )));
        }
        for (what, file) in [
            ("weights", &m.weights),
            ("tokenizer.file", &m.tokenizer.file),
        ] {
            if !dir.join(file).is_file() {
                return Err(invalid(format!(
                    "{what} = {:?} does not exist in {}",
                    file,
                    dir.display()
                )));
            }
        }
        if let Some(sum) = &m.sha256 {
            if sum.len() != 64 || !sum.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(invalid("sha256 must be 64 hexadecimal characters".into()));
            }
        }
        if m.tokenizer.kind == TokenizerKind::Huggingface && m.io.attention_mask.is_none() {
            return Err(invalid("huggingface models need io.attention_mask".into()));
        }
        Ok(m)
    }

    /// Absolute path of the weights file.
    pub fn weights_path(&self) -> PathBuf {
        self.dir.join(&self.weights)
    }

    /// Absolute path of the tokenizer file.
    pub fn tokenizer_path(&self) -> PathBuf {
        self.dir.join(&self.tokenizer.file)
    }
}
