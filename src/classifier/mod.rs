//! The toxicity classifier: model manifest, tokenisation, ONNX Runtime session and the
//! batching inference worker.

mod manifest;

pub use manifest::{
    IdType, IoSpec, Manifest, ManifestError, OutputKind, TokenizerKind, TokenizerSpec,
    MANIFEST_FILE,
};
