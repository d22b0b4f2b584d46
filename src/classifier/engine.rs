//! One ONNX Runtime session plus its tokenizer: texts in, scores out, synchronously.

use super::normalize::{normalize_with, Rules};
use super::tokenize::{EncodedBatch, TextTokenizer};
use super::{runtime, ClassifierError, IdType, Manifest, OutputKind, Scores};
use crate::config::ModelConfig;
use ort::session::Session;
use ort::value::{DynValue, Tensor};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// A loaded model with one or more sessions (`model.workers`). Each inference call takes a free
/// session (or waits for one), so up to that many calls run at once.
pub(crate) struct Engine {
    sessions: Vec<Mutex<Session>>,
    /// Round-robin start for the search for a free session.
    next: AtomicUsize,
    tokenizer: TextTokenizer,
    pub(crate) labels: Arc<[String]>,
    pub(crate) manifest: Manifest,
    /// Feed `token_type_ids` only when the graph declares that input.
    feed_token_types: bool,
}

impl Engine {
    /// Loads runtime, checks the weights, creates the session and validates it against the manifest.
    pub(crate) fn load(
        cfg: &ModelConfig,
        manifest: Manifest,
        sessions: usize,
    ) -> Result<Self, ClassifierError> {
        let rt = runtime::get(&cfg.runtime_path)?;
        let weights = manifest.weights_path();
        if let Some(expected) = &manifest.sha256 {
            let actual = sha256_file(&weights)?;
            if !actual.eq_ignore_ascii_case(expected) {
                return Err(ClassifierError::Checksum {
                    path: weights,
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        let tokenizer = TextTokenizer::load(&manifest)?;
        let open = || -> Result<Session, ClassifierError> {
            let mut builder = Session::builder(&rt.env)?;
            if cfg.intra_threads > 0 {
                builder = builder.with_intra_threads(cfg.intra_threads)?;
            }
            builder = register_device(builder, &cfg.device);
            Ok(builder.commit_from_file(&weights)?)
        };
        let first = open()?;
        let feed_token_types = check_graph(&first, &manifest)?;
        let mut all = vec![Mutex::new(first)];
        for _ in 1..sessions.max(1) {
            all.push(Mutex::new(open()?));
        }
        Ok(Self {
            sessions: all,
            next: AtomicUsize::new(0),
            tokenizer,
            labels: manifest.labels.clone().into(),
            manifest,
            feed_token_types,
        })
    }

    /// Non-padding token ids of one text after `rules`: everything [`Engine::infer_tokens`]
    /// needs, computed wherever the caller runs.
    pub(crate) fn tokenize(&self, text: &str, rules: &Rules) -> Result<Vec<i64>, ClassifierError> {
        if *rules == Rules::NONE {
            return self.tokenizer.tokenize(text);
        }
        self.tokenizer.tokenize(&self.normalize(text, rules))
    }

    /// Normalises, tokenises and classifies `texts` on the calling thread.
    pub(crate) fn infer(
        &self,
        texts: &[String],
        rules: &Rules,
    ) -> Result<Vec<Scores>, ClassifierError> {
        let rows = texts
            .iter()
            .map(|t| self.tokenize(t, rules))
            .collect::<Result<Vec<_>, _>>()?;
        self.infer_tokens(&rows)
    }

    /// Classifies tokenised texts (rows from [`Engine::tokenize`]): pads them into one or more
    /// inference calls and returns the scores in input order.
    pub(crate) fn infer_tokens(&self, rows: &[Vec<i64>]) -> Result<Vec<Scores>, ClassifierError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let groups = self.tokenizer.pad_groups(rows);
        if let [(members, batch)] = groups.as_slice() {
            if members.iter().enumerate().all(|(k, &i)| k == i) {
                return self.run(batch);
            }
        }
        // Length groups: run each, put the scores back in input order.
        let mut out: Vec<Option<Scores>> = vec![None; rows.len()];
        for (members, batch) in &groups {
            for (&i, s) in members.iter().zip(self.run(batch)?) {
                if let Some(slot) = out.get_mut(i) {
                    *slot = Some(s);
                }
            }
        }
        out.into_iter()
            .map(|s| s.ok_or_else(|| self.graph_err("a text got no scores".into())))
            .collect()
    }

    /// Normalises with this model's vocabulary available to the rules that use one.
    pub(crate) fn normalize(&self, text: &str, rules: &Rules) -> String {
        match self.tokenizer.word_index() {
            Some(wi) => normalize_with(text, rules, Some(&|w: &str| wi.rank(w))),
            None => normalize_with(text, rules, None),
        }
    }

    fn run(&self, batch: &EncodedBatch) -> Result<Vec<Scores>, ClassifierError> {
        let io = &self.manifest.io;
        let shape = [batch.rows, batch.width];
        let mut inputs: Vec<(String, DynValue)> = vec![(
            io.input_ids.clone(),
            id_tensor(shape, &batch.ids, io.id_type)?,
        )];
        if let (Some(name), Some(mask)) = (&io.attention_mask, &batch.attention_mask) {
            inputs.push((name.clone(), id_tensor(shape, mask, io.id_type)?));
        }
        if self.feed_token_types {
            if let (Some(name), Some(types)) = (&io.token_type_ids, &batch.token_type_ids) {
                inputs.push((name.clone(), id_tensor(shape, types, io.id_type)?));
            }
        }
        let mut session = self.session();
        let outputs = session.run(inputs)?;
        let value = outputs
            .get(&io.output)
            .ok_or_else(|| self.graph_err(format!("no output named {:?}", io.output)))?;
        let (out_shape, data) = value.try_extract_tensor::<f32>()?;
        let n_labels = self.labels.len();
        if out_shape.len() != 2
            || out_shape[0] as usize != batch.rows
            || out_shape[1] as usize != n_labels
        {
            return Err(self.graph_err(format!(
                "output {:?} has shape {:?}, expected [{}, {}] (one column per label)",
                io.output, out_shape, batch.rows, n_labels
            )));
        }
        let logits = io.output_kind == OutputKind::Logits;
        Ok(data
            .chunks_exact(n_labels)
            .map(|row| {
                let values = row
                    .iter()
                    .map(|&v| if logits { sigmoid(v) } else { v })
                    .collect();
                Scores::new(self.labels.clone(), values)
            })
            .collect())
    }

    /// How many sessions run inference at once.
    pub(crate) fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// A free session, or the next one in turn when all are busy.
    fn session(&self) -> MutexGuard<'_, Session> {
        let n = self.sessions.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        for k in 0..n {
            if let Ok(guard) = self.sessions[(start + k) % n].try_lock() {
                return guard;
            }
        }
        self.sessions[start]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn graph_err(&self, message: String) -> ClassifierError {
        ClassifierError::Graph {
            model: self.manifest.name.clone(),
            message,
        }
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

fn id_tensor(shape: [usize; 2], ids: &[i64], id_type: IdType) -> Result<DynValue, ClassifierError> {
    Ok(match id_type {
        IdType::Int64 => Tensor::from_array((shape, ids.to_vec()))?.into_dyn(),
        IdType::Int32 => {
            let v: Vec<i32> = ids.iter().map(|&i| i32::try_from(i).unwrap_or(0)).collect();
            Tensor::from_array((shape, v))?.into_dyn()
        }
    })
}

/// Checks the manifest's tensor names exist; returns whether the graph takes `token_type_ids`.
fn check_graph(session: &Session, m: &Manifest) -> Result<bool, ClassifierError> {
    let inputs: Vec<&str> = session.inputs().iter().map(|o| o.name()).collect();
    let outputs: Vec<&str> = session.outputs().iter().map(|o| o.name()).collect();
    let err = |message: String| ClassifierError::Graph {
        model: m.name.clone(),
        message,
    };
    let required = std::iter::once(&m.io.input_ids).chain(m.io.attention_mask.as_ref());
    for name in required {
        if !inputs.contains(&name.as_str()) {
            return Err(err(format!(
                "the graph has no input {name:?} (inputs: {inputs:?}); fix [io] in model.toml"
            )));
        }
    }
    if !outputs.contains(&m.io.output.as_str()) {
        return Err(err(format!(
            "the graph has no output {:?} (outputs: {outputs:?}); fix io.output in model.toml",
            m.io.output
        )));
    }
    let takes_types =
        m.io.token_type_ids
            .as_deref()
            .is_some_and(|n| inputs.contains(&n));
    let known = [
        Some(m.io.input_ids.as_str()),
        m.io.attention_mask.as_deref(),
        m.io.token_type_ids.as_deref(),
    ];
    if let Some(extra) = inputs.iter().find(|i| !known.contains(&Some(**i))) {
        return Err(err(format!(
            "the graph needs input {extra:?} that model.toml does not describe"
        )));
    }
    Ok(takes_types)
}

fn register_device(
    builder: ort::session::builder::SessionBuilder,
    device: &str,
) -> ort::session::builder::SessionBuilder {
    if !device.eq_ignore_ascii_case("cuda") {
        return builder;
    }
    #[cfg(feature = "cuda")]
    {
        use ort::ep::ExecutionProvider;
        let mut builder = builder;
        match ort::ep::CUDA::default().register(&mut builder) {
            Ok(()) => tracing::info!("using the CUDA execution provider"),
            Err(e) => {
                tracing::warn!(error = %e, "CUDA execution provider unavailable; running on CPU")
            }
        }
        builder
    }
    #[cfg(not(feature = "cuda"))]
    {
        tracing::warn!(
            "model.device = \"cuda\" but this build lacks the `cuda` feature; running on CPU"
        );
        builder
    }
}

fn sha256_file(path: &std::path::Path) -> Result<String, ClassifierError> {
    use std::io::Read;
    let read_err = |source| ClassifierError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(read_err)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(read_err)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}
