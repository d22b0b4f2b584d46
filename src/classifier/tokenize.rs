//! Text → token ids, for both tokenizer kinds a manifest can name.
//!
//! `word-index` reproduces the Keras `Tokenizer` the bundled LSTM was trained with;
//! `huggingface` runs a `tokenizer.json` through the `tokenizers` crate.

use super::{ClassifierError, Manifest, TokenizerKind};
use std::collections::HashMap;
use std::path::Path;

/// A tokenised batch, row-major `[rows, width]`, ready to become tensors.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedBatch {
    /// Number of texts.
    pub rows: usize,
    /// Sequence length of every row (after padding).
    pub width: usize,
    /// Token ids.
    pub ids: Vec<i64>,
    /// Attention mask (1 = token, 0 = padding); transformer models only.
    pub attention_mask: Option<Vec<i64>>,
    /// Token-type ids (all segment 0 here); transformer models only.
    pub token_type_ids: Option<Vec<i64>>,
}

/// Keras-style word index, as serialised in `vocab.json`.
#[derive(Debug, Clone)]
pub struct WordIndex {
    /// Filtered ASCII characters, one bit per code (the usual case, checked without a scan).
    ascii_filters: u128,
    /// Filtered characters outside ASCII.
    other_filters: Vec<char>,
    num_words: usize,
    max_length: usize,
    index: HashMap<String, i64>,
}

#[derive(serde::Deserialize)]
struct VocabFile {
    num_words: Option<usize>,
    #[serde(default = "default_filters")]
    filters: String,
    #[serde(default = "default_lower")]
    lower: bool,
    #[serde(default = "default_split")]
    split: String,
    word_index: HashMap<String, i64>,
}

fn default_filters() -> String {
    "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n".to_string()
}
fn default_lower() -> bool {
    true
}
fn default_split() -> String {
    " ".to_string()
}

impl WordIndex {
    /// Reads `vocab.json` (Keras tokenizer config plus `word_index`).
    pub fn from_file(path: &Path, max_length: usize) -> Result<Self, ClassifierError> {
        let text = std::fs::read_to_string(path).map_err(|source| ClassifierError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let invalid = |message: String| ClassifierError::Tokenizer {
            path: path.to_path_buf(),
            message,
        };
        let vocab: VocabFile = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        // Only the configuration the bundled model uses is implemented; refuse anything else loudly.
        if !vocab.lower || vocab.split != " " {
            return Err(invalid(
                "only lower = true and split = \" \" are supported".into(),
            ));
        }
        let mut ascii_filters = 0u128;
        let mut other_filters = Vec::new();
        for c in vocab.filters.chars() {
            if c.is_ascii() {
                ascii_filters |= 1 << (c as u32);
            } else {
                other_filters.push(c);
            }
        }
        Ok(Self {
            ascii_filters,
            other_filters,
            num_words: vocab.num_words.unwrap_or(usize::MAX),
            max_length,
            index: vocab.word_index,
        })
    }

    /// Non-padding ids of `text`, in order: lowercase, filter characters → space, split on
    /// `' '`, drop empty words, unknown words and ids ≥ `num_words`, keep the LAST `max_length`.
    pub fn tokenize(&self, text: &str) -> Vec<i64> {
        // Rust's `to_lowercase` and Python's `str.lower` both apply full (multi-char) mappings and the
        // context-dependent final sigma, so they agree on the reference rows.
        let lowered = if text.is_ascii() {
            text.to_ascii_lowercase()
        } else {
            text.to_lowercase()
        };
        let filtered: String = lowered
            .chars()
            .map(|c| if self.is_filtered(c) { ' ' } else { c })
            .collect();
        let mut ids: Vec<i64> = filtered
            .split(' ')
            .filter(|w| !w.is_empty())
            .filter_map(|w| self.rank(w))
            .collect();
        if ids.len() > self.max_length {
            ids.drain(..ids.len() - self.max_length);
        }
        ids
    }

    /// The id of a (lowercase) word the model uses, or `None` when unknown or beyond `num_words`.
    /// Ids are frequency ranks, so lower means more common.
    pub fn rank(&self, word: &str) -> Option<i64> {
        self.index
            .get(word)
            .copied()
            .filter(|&id| id > 0 && (id as u64) < self.num_words as u64)
    }

    fn is_filtered(&self, c: char) -> bool {
        if c.is_ascii() {
            self.ascii_filters & (1 << (c as u32)) != 0
        } else {
            self.other_filters.contains(&c)
        }
    }

    /// Tokenises and left-pads every text to `max_length` with 0.
    pub fn encode_batch(&self, texts: &[String]) -> EncodedBatch {
        let rows: Vec<Vec<i64>> = texts.iter().map(|t| self.tokenize(t)).collect();
        self.pad(&rows)
    }

    /// Left-pads rows of ids (from [`WordIndex::tokenize`]) to `max_length` with 0.
    pub fn pad(&self, rows: &[Vec<i64>]) -> EncodedBatch {
        let width = self.max_length;
        let mut ids = vec![0i64; rows.len() * width];
        for (row, toks) in rows.iter().enumerate() {
            // Rows longer than the model's length keep their last ids, as `tokenize` does.
            let toks = &toks[toks.len().saturating_sub(width)..];
            let start = row * width + (width - toks.len());
            ids[start..start + toks.len()].copy_from_slice(toks);
        }
        EncodedBatch {
            rows: rows.len(),
            width,
            ids,
            attention_mask: None,
            token_type_ids: None,
        }
    }
}

/// A Hugging Face `tokenizer.json`, truncating to `max_length`; batches are padded on the right.
#[derive(Clone)]
pub struct HfTokenizer {
    inner: tokenizers::Tokenizer,
    pad_id: u32,
}

impl std::fmt::Debug for HfTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HfTokenizer")
    }
}

impl HfTokenizer {
    /// Loads `tokenizer.json` and configures truncation to `max_length`.
    pub fn from_file(path: &Path, max_length: usize) -> Result<Self, ClassifierError> {
        let invalid = |message: String| ClassifierError::Tokenizer {
            path: path.to_path_buf(),
            message,
        };
        let mut inner =
            tokenizers::Tokenizer::from_file(path).map_err(|e| invalid(e.to_string()))?;
        // Keep the file's padding token if it declares one; otherwise BERT's conventional [PAD].
        // Padding itself is ours (`pad_rows`): the tokenizer only truncates.
        let pad_id = match inner.get_padding() {
            Some(p) => p.pad_id,
            None => ["[PAD]", "<pad>"]
                .iter()
                .find_map(|t| inner.token_to_id(t))
                .unwrap_or(0),
        };
        inner.with_padding(None);
        inner
            .with_truncation(Some(tokenizers::TruncationParams {
                max_length,
                ..Default::default()
            }))
            .map_err(|e| invalid(e.to_string()))?;
        Ok(Self { inner, pad_id })
    }

    /// Ids of one text including special tokens, truncated, without padding.
    pub fn tokenize(&self, text: &str) -> Result<Vec<i64>, ClassifierError> {
        let enc = self
            .inner
            .encode(text, true)
            .map_err(|e| ClassifierError::Encode(e.to_string()))?;
        Ok(enc.get_ids().iter().map(|&i| i64::from(i)).collect())
    }

    /// Tokenises a batch, padded to its longest row.
    pub fn encode_batch(&self, texts: &[String]) -> Result<EncodedBatch, ClassifierError> {
        let rows = texts
            .iter()
            .map(|t| self.tokenize(t))
            .collect::<Result<Vec<_>, _>>()?;
        let all: Vec<usize> = (0..rows.len()).collect();
        Ok(self.pad_rows(rows.as_slice(), &all))
    }

    /// The rows `members` of `rows`, right-padded with the padding id to the longest of them.
    fn pad_rows(&self, rows: &[Vec<i64>], members: &[usize]) -> EncodedBatch {
        let pad_id = i64::from(self.pad_id);
        let width = members.iter().map(|&i| rows[i].len()).max().unwrap_or(0);
        let n = members.len() * width;
        let (mut ids, mut mask) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for &i in members {
            let row = &rows[i];
            let pad = width - row.len();
            ids.extend_from_slice(row);
            ids.extend(std::iter::repeat_n(pad_id, pad));
            mask.extend(std::iter::repeat_n(1, row.len()));
            mask.extend(std::iter::repeat_n(0, pad));
        }
        EncodedBatch {
            rows: members.len(),
            width,
            ids,
            attention_mask: Some(mask),
            // One segment: every token is type 0.
            token_type_ids: Some(vec![0; n]),
        }
    }
}

impl HfTokenizer {
    /// Pads rows of ids (from [`HfTokenizer::tokenize`]) into groups of similar length, each
    /// padded only to its own longest row, so short messages do not pay for the attention and
    /// feed-forward work of a long one's padding. Rows are sorted by length and a group grows
    /// while its padded size stays within [`MAX_PADDING`] of its real tokens. Returns each group
    /// with the input positions of its rows.
    pub fn pad_grouped(&self, rows: &[Vec<i64>]) -> Vec<(Vec<usize>, EncodedBatch)> {
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by_key(|&i| rows[i].len());
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut real = 0usize;
        for i in order {
            let len = rows[i].len();
            // Sorted ascending: this row is the longest of the group it joins.
            let fits = groups.last().is_some_and(|g| {
                let padded = (g.len() + 1) * len;
                padded as f64 <= MAX_PADDING * (real + len) as f64
            });
            match groups.last_mut() {
                Some(g) if fits => {
                    g.push(i);
                    real += len;
                }
                _ => {
                    groups.push(vec![i]);
                    real = len;
                }
            }
        }
        groups
            .into_iter()
            .map(|members| {
                let batch = self.pad_rows(rows, &members);
                (members, batch)
            })
            .collect()
    }
}

/// Largest padded size of a length group, relative to its real tokens (see
/// [`HfTokenizer::pad_grouped`]). Measured on BERT-base with Davidson tweets in batches of 32:
/// docs/performance.md.
pub const MAX_PADDING: f64 = 1.25;

/// The tokenizer a manifest names.
#[derive(Debug, Clone)]
pub enum TextTokenizer {
    /// Keras word index.
    WordIndex(WordIndex),
    /// Hugging Face tokenizer.
    Huggingface(Box<HfTokenizer>),
}

impl TextTokenizer {
    /// Loads the tokenizer described by `manifest`.
    pub fn load(manifest: &Manifest) -> Result<Self, ClassifierError> {
        let path = manifest.tokenizer_path();
        Ok(match manifest.tokenizer.kind {
            TokenizerKind::WordIndex => {
                Self::WordIndex(WordIndex::from_file(&path, manifest.max_length)?)
            }
            TokenizerKind::Huggingface => Self::Huggingface(Box::new(HfTokenizer::from_file(
                &path,
                manifest.max_length,
            )?)),
        })
    }

    /// The word-index vocabulary, for normalisation rules that need one (`None` for sub-word
    /// tokenizers, which cover unknown words themselves).
    pub fn word_index(&self) -> Option<&WordIndex> {
        match self {
            Self::WordIndex(w) => Some(w),
            Self::Huggingface(_) => None,
        }
    }

    /// Non-padding ids of one text.
    pub fn tokenize(&self, text: &str) -> Result<Vec<i64>, ClassifierError> {
        match self {
            Self::WordIndex(w) => Ok(w.tokenize(text)),
            Self::Huggingface(h) => h.tokenize(text),
        }
    }

    /// A padded batch.
    pub fn encode_batch(&self, texts: &[String]) -> Result<EncodedBatch, ClassifierError> {
        match self {
            Self::WordIndex(w) => Ok(w.encode_batch(texts)),
            Self::Huggingface(h) => h.encode_batch(texts),
        }
    }

    /// Rows of ids (from [`TextTokenizer::tokenize`]) as inference calls: one fixed-width batch
    /// for `word-index` models, groups of similar length for transformers
    /// ([`HfTokenizer::pad_grouped`]); each with the input positions of its rows.
    pub fn pad_groups(&self, rows: &[Vec<i64>]) -> Vec<(Vec<usize>, EncodedBatch)> {
        match self {
            Self::WordIndex(w) => vec![((0..rows.len()).collect(), w.pad(rows))],
            Self::Huggingface(h) => h.pad_grouped(rows),
        }
    }
}
