//! The classifier's error type: every message says what the operator should fix.

use std::path::PathBuf;

/// Why the classifier could not load or classify.
#[derive(Debug, thiserror::Error)]
pub enum ClassifierError {
    /// The model directory or its manifest is unusable.
    #[error(transparent)]
    Manifest(#[from] super::ManifestError),
    /// No ONNX Runtime shared library was found in any searched place.
    #[error(
        "ONNX Runtime library (libonnxruntime.so) not found; run scripts/setup-onnxruntime.sh \
         or set model.runtime_path (USMCA_MODEL__RUNTIME_PATH) to the library file. Searched: {searched}"
    )]
    RuntimeNotFound {
        /// Every path that was tried, comma-separated.
        searched: String,
    },
    /// The library exists but could not be loaded (wrong file, wrong version, wrong architecture).
    #[error(
        "cannot load ONNX Runtime from {path}: {message}; install a matching build with \
         scripts/setup-onnxruntime.sh (ONNX Runtime 1.22 or newer)"
    )]
    RuntimeLoad {
        /// The library file.
        path: PathBuf,
        /// Loader message.
        message: String,
    },
    /// The weights file does not match the manifest's sha256.
    #[error(
        "{path} has sha256 {actual} but model.toml expects {expected}; the file is corrupt or \
         not the model the manifest describes (re-download it or fix sha256 in model.toml)"
    )]
    Checksum {
        /// Weights file.
        path: PathBuf,
        /// Hash from the manifest.
        expected: String,
        /// Hash of the file.
        actual: String,
    },
    /// A model file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The tokenizer file is invalid.
    #[error("tokenizer {path} is invalid: {message}; check tokenizer.file and tokenizer.kind in model.toml")]
    Tokenizer {
        /// File.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The ONNX graph does not match the manifest.
    #[error("model {model} does not match its model.toml: {message}")]
    Graph {
        /// Model name.
        model: String,
        /// What is wrong.
        message: String,
    },
    /// ONNX Runtime failed while creating a session or running inference.
    #[error("ONNX Runtime error: {0}")]
    Runtime(String),
    /// Text could not be tokenised at inference time.
    #[error("tokenisation failed: {0}")]
    Encode(String),
    /// The inference worker is gone (the classifier is shutting down).
    #[error("the classifier worker has stopped; restart the process")]
    WorkerStopped,
    /// Invalid `[model]` settings.
    #[error("invalid [model] configuration: {0}")]
    Config(String),
}

impl<T> From<ort::Error<T>> for ClassifierError {
    fn from(e: ort::Error<T>) -> Self {
        ClassifierError::Runtime(e.to_string())
    }
}
