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
    /// A semantic rule failed.
    #[error("{path}: {message}")]
    Invalid {
        /// File.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl Manifest {
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
