//! Helpers shared by the benches: the Davidson messages both the Rust and the Python side use,
//! the generated BERT-base model directories, and a raw ONNX Runtime session over pre-tokenised
//! batches (the "inference only" baseline).
#![allow(dead_code)] // Each bench uses a different part.

use ort::session::Session;
use ort::value::{DynValue, Tensor};
use std::path::PathBuf;
use usmca_bot::classifier::{EncodedBatch, IdType, Manifest, TextTokenizer};
use usmca_bot::config::{load_from, ConfigSource, DurationSpec, ModelConfig};
use usmca_bot::decision::Policy;
use usmca_bot::pipeline::{MessageEvent, Outcome};
use usmca_bot::storage::{MessageRecord, WriterOptions};

/// The repository root.
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Chat messages used when the Davidson data set is absent.
const FALLBACK: [&str; 8] = [
    "you are a stupid idiot and i hate you",
    "thank you for your help, have a nice day",
    "i will kill you",
    "what a lovely picture of your dog",
    "lol that match last night was insane, gg everyone",
    "can someone help me set up the server roles?",
    "shut up nobody asked for your opinion you absolute clown",
    "meeting moved to 5pm, see the pinned message for the link",
];

/// The first `n` tweets of `../shared/datasets/davidson/labeled_data.csv` in file order (the
/// messages `scripts/bench-python.py` uses), or repeated built-in samples when it is absent.
pub fn messages(n: usize) -> Vec<String> {
    let path = PathBuf::from(ROOT).join("../shared/datasets/davidson/labeled_data.csv");
    let read = || -> Result<Vec<String>, Box<dyn std::error::Error>> {
        let mut rdr = csv::Reader::from_path(&path)?;
        let col = rdr
            .headers()?
            .iter()
            .position(|h| h == "tweet")
            .ok_or("no tweet column")?;
        let mut out = Vec::with_capacity(n);
        for rec in rdr.records().take(n) {
            out.push(rec?.get(col).unwrap_or_default().to_string());
        }
        Ok(out)
    };
    match read() {
        Ok(v) if v.len() == n => v,
        Ok(_) | Err(_) => {
            eprintln!(
                "note: {} not readable; using built-in sample messages",
                path.display()
            );
            (0..n)
                .map(|i| FALLBACK[i % FALLBACK.len()].to_string())
                .collect()
        }
    }
}

/// The bundled model's directory.
pub fn bundled_dir() -> PathBuf {
    PathBuf::from(ROOT).join("models/toxblock-lstm")
}

/// A generated model directory (`USMCA_BENCH_MODELS`, default `.bench-models/`), or `None` with
/// the reason printed when it has not been generated.
pub fn generated_dir(name: &str) -> Option<PathBuf> {
    let base = std::env::var_os("USMCA_BENCH_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(ROOT).join(".bench-models"));
    let dir = base.join(name);
    if dir.join("model.toml").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "skipping {name}: {} not found; generate it with \
             `.bench-venv/bin/python scripts/make-bench-bert.py` (see docs/performance.md)",
            dir.display()
        );
        None
    }
}

/// The model configuration the benches use: one intra-op thread, batches of up to 32.
pub fn model_config(dir: &std::path::Path, max_wait: &str) -> ModelConfig {
    ModelConfig {
        dir: dir.to_path_buf(),
        runtime_path: String::new(),
        device: "cpu".into(),
        intra_threads: 1,
        workers: 1,
        max_batch: 32,
        max_wait: DurationSpec::parse(max_wait),
        queue_capacity: 4096,
    }
}

/// A bare ONNX Runtime session on a model directory plus its tokenizer: inference only.
pub struct Raw {
    session: Session,
    manifest: Manifest,
    tokenizer: TextTokenizer,
    takes_types: bool,
}

impl Raw {
    /// Opens the model with one intra-op thread (as the classifier does in the benches).
    pub fn open(dir: &std::path::Path) -> Result<Raw, Box<dyn std::error::Error>> {
        let rt = usmca_bot::classifier::runtime::get("")?;
        let manifest = Manifest::load(dir)?;
        let tokenizer = TextTokenizer::load(&manifest)?;
        let session = Session::builder(&rt.env)?
            .with_intra_threads(1)?
            .commit_from_file(manifest.weights_path())?;
        let takes_types = manifest
            .io
            .token_type_ids
            .as_deref()
            .is_some_and(|n| session.inputs().iter().any(|i| i.name() == n));
        Ok(Raw {
            session,
            manifest,
            tokenizer,
            takes_types,
        })
    }

    /// Tokenises (raw text, no normalisation) and pads a batch, outside any timing.
    pub fn encode(&self, texts: &[String]) -> EncodedBatch {
        match self.tokenizer.encode_batch(texts) {
            Ok(b) => b,
            Err(e) => panic!("tokenising bench messages: {e}"),
        }
    }

    /// One inference call on a prepared batch; returns the number of output values.
    pub fn run(&mut self, batch: &EncodedBatch) -> usize {
        let io = &self.manifest.io;
        let shape = [batch.rows, batch.width];
        let tensor = |v: &[i64]| -> DynValue {
            let r = match io.id_type {
                IdType::Int64 => Tensor::from_array((shape, v.to_vec())).map(|t| t.into_dyn()),
                IdType::Int32 => {
                    let v: Vec<i32> = v.iter().map(|&i| i as i32).collect();
                    Tensor::from_array((shape, v)).map(|t| t.into_dyn())
                }
            };
            match r {
                Ok(t) => t,
                Err(e) => panic!("input tensor: {e}"),
            }
        };
        let mut inputs: Vec<(String, DynValue)> = vec![(io.input_ids.clone(), tensor(&batch.ids))];
        if let (Some(name), Some(mask)) = (&io.attention_mask, &batch.attention_mask) {
            inputs.push((name.clone(), tensor(mask)));
        }
        if self.takes_types {
            if let (Some(name), Some(types)) = (&io.token_type_ids, &batch.token_type_ids) {
                inputs.push((name.clone(), tensor(types)));
            }
        }
        let out = match self.session.run(inputs) {
            Ok(o) => o,
            Err(e) => panic!("inference: {e}"),
        };
        match out[0].try_extract_tensor::<f32>() {
            Ok((_, data)) => data.len(),
            Err(e) => panic!("output: {e}"),
        }
    }
}

/// The default decision policy (no configuration file, no environment).
pub fn default_policy() -> Policy {
    let cfg = load_from(&ConfigSource {
        defaults_file: None,
        file: None,
        use_env: false,
    })
    .expect("default configuration");
    Policy::from_config(&cfg).expect("policy")
}

/// Message `i` of a busy server: one of 500 long-standing members in one of 16 channels of 4
/// guilds.
pub fn message_event(i: u64, message_id: u64, content: &str) -> MessageEvent {
    let now = chrono::Utc::now();
    MessageEvent {
        guild_id: 1 + i % 4,
        channel_id: 10 + i % 16,
        message_id,
        author_id: usmca_bot::behaviour::snowflake_at(
            now.timestamp_millis() - 400 * 86_400_000,
            i % 500,
        ),
        author_roles: vec![],
        author_is_moderator: false,
        author_joined_at: Some(now - chrono::Duration::days(100)),
        author_default_avatar: false,
        content: content.to_string(),
        created_at: now,
        edited: false,
        reply_to_author: None,
        mentions: vec![],
        role_mentions: vec![],
        attachments: 0,
    }
}

/// What the daemon writes for a decided message (`moderation` flow: `write_row`).
pub fn message_record(ev: &MessageEvent, outcome: &Outcome) -> MessageRecord {
    MessageRecord {
        message_id: ev.message_id,
        guild_id: ev.guild_id,
        channel_id: ev.channel_id,
        author_id: ev.author_id,
        created_at: ev.created_at,
        edited_at: None,
        scores: outcome
            .scores
            .iter()
            .map(|(k, v)| (k.to_string(), f64::from(v)))
            .collect(),
        decision: outcome.decision.action.as_str().to_string(),
        content: None,
    }
}

/// The batched message writer as the path benches run it: flushing every millisecond, so the
/// wait for the last commit stays short.
pub fn bench_writer_options() -> WriterOptions {
    WriterOptions {
        flush_every: std::time::Duration::from_millis(1),
        batch_rows: 500,
        queue_capacity: 4000,
        max_retry_delay: std::time::Duration::from_secs(1),
        shutdown_attempts: 5,
        store_content_default: false,
    }
}
