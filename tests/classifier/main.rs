//! Classifier integration tests: parity with the Python reference, the Hugging Face path,
//! the batching worker and the `classify` CLI. They need the ONNX Runtime library
//! (`scripts/setup-onnxruntime.sh`).

mod cli;
mod hf;
mod parity;
mod props;
mod worker;

use std::path::PathBuf;
use usmca_bot::classifier::Classifier;
use usmca_bot::config::{DurationSpec, ModelConfig};

/// Absolute path inside the repository.
pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Model settings for `dir` with the shipped defaults.
pub fn model_config(dir: &str) -> ModelConfig {
    ModelConfig {
        dir: repo_path(dir),
        runtime_path: String::new(),
        device: "cpu".into(),
        intra_threads: 1,
        workers: 1,
        max_batch: 32,
        max_wait: DurationSpec::parse("3ms"),
        queue_capacity: 2048,
    }
}

/// Loads a model or fails the test with the loader's message (which says how to fix it).
pub fn load(dir: &str) -> Classifier {
    match Classifier::load(&model_config(dir)) {
        Ok(c) => c,
        Err(e) => panic!("cannot load {dir}: {e}"),
    }
}
