//! Evaluating the classifier on a labelled CSV: ROC-AUC, average precision, and precision /
//! recall / F1 at the configured thresholds.

pub mod metrics;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Which CSV columns hold what, and which label values count as positive.
#[derive(Debug, Clone)]
pub struct DatasetSpec {
    /// CSV with the texts (and the labels unless `labels_file` is given).
    pub path: PathBuf,
    /// Column holding the text.
    pub text_column: String,
    /// Column holding the label.
    pub label_column: String,
    /// Label values that count as positive (toxic). Empty: "1" and "true".
    pub positive: Vec<String>,
    /// Label values whose rows are left out (e.g. Jigsaw's -1, "not scored").
    pub skip: Vec<String>,
    /// Optional second CSV holding the labels, joined on `id_column`.
    pub labels_file: Option<PathBuf>,
    /// Join column for `labels_file`.
    pub id_column: String,
    /// Evaluate at most this many rows (in file order).
    pub limit: Option<usize>,
}

/// Texts with binary labels.
#[derive(Debug, Default)]
pub struct Dataset {
    /// Texts.
    pub texts: Vec<String>,
    /// True where the row is positive.
    pub labels: Vec<bool>,
    /// Rows left out because of `skip` or a missing label.
    pub skipped: usize,
}

/// Why a dataset could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// Unreadable or malformed CSV.
    #[error("{path}: {message}")]
    Csv {
        /// File.
        path: PathBuf,
        /// What is wrong, with the record number where known.
        message: String,
    },
    /// A named column does not exist.
    #[error("{path} has no column {column:?}; its columns are: {available}")]
    MissingColumn {
        /// File.
        path: PathBuf,
        /// Requested column.
        column: String,
        /// Header of the file.
        available: String,
    },
    /// Nothing to evaluate.
    #[error("{0}")]
    Empty(String),
}

fn csv_err(path: &Path, e: csv::Error) -> EvalError {
    let at = e
        .position()
        .map(|p| format!(" (record {}, line {})", p.record(), p.line()))
        .unwrap_or_default();
    EvalError::Csv {
        path: path.to_path_buf(),
        message: format!("{e}{at}"),
    }
}

fn column(path: &Path, headers: &csv::StringRecord, name: &str) -> Result<usize, EvalError> {
    headers
        .iter()
        .position(|h| h == name)
        .ok_or_else(|| EvalError::MissingColumn {
            path: path.to_path_buf(),
            column: name.to_string(),
            available: headers.iter().collect::<Vec<_>>().join(", "),
        })
}

/// Reads the dataset described by `spec`.
pub fn load_dataset(spec: &DatasetSpec) -> Result<Dataset, EvalError> {
    let positive: Vec<String> = if spec.positive.is_empty() {
        vec!["1".into(), "true".into()]
    } else {
        spec.positive.clone()
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(&spec.path)
        .map_err(|e| csv_err(&spec.path, e))?;
    let headers = reader
        .headers()
        .map_err(|e| csv_err(&spec.path, e))?
        .clone();
    let text_col = column(&spec.path, &headers, &spec.text_column)?;

    // Labels come from the same file, or from a second one joined on an id column.
    let (label_col, joined) = match &spec.labels_file {
        None => (
            Some(column(&spec.path, &headers, &spec.label_column)?),
            None,
        ),
        Some(lpath) => {
            let mut lr = csv::Reader::from_path(lpath).map_err(|e| csv_err(lpath, e))?;
            let lh = lr.headers().map_err(|e| csv_err(lpath, e))?.clone();
            let (id_i, label_i) = (
                column(lpath, &lh, &spec.id_column)?,
                column(lpath, &lh, &spec.label_column)?,
            );
            let mut map = HashMap::new();
            for rec in lr.records() {
                let rec = rec.map_err(|e| csv_err(lpath, e))?;
                map.insert(rec[id_i].to_string(), rec[label_i].trim().to_string());
            }
            (
                None,
                Some((column(&spec.path, &headers, &spec.id_column)?, map)),
            )
        }
    };

    let mut ds = Dataset::default();
    for rec in reader.records() {
        if spec.limit.is_some_and(|l| ds.texts.len() >= l) {
            break;
        }
        let rec = rec.map_err(|e| csv_err(&spec.path, e))?;
        let label = match (&label_col, &joined) {
            (Some(i), _) => Some(rec[*i].trim().to_string()),
            (None, Some((id_i, map))) => map.get(&rec[*id_i]).cloned(),
            (None, None) => None,
        };
        match label {
            Some(l) if !spec.skip.contains(&l) => {
                ds.labels
                    .push(positive.iter().any(|p| p.eq_ignore_ascii_case(&l)));
                ds.texts.push(rec[text_col].to_string());
            }
            _ => ds.skipped += 1,
        }
    }
    if ds.texts.is_empty() {
        return Err(EvalError::Empty(format!(
            "{}: no labelled rows to evaluate ({} skipped)",
            spec.path.display(),
            ds.skipped
        )));
    }
    Ok(ds)
}

/// Everything `evaluate` reports.
#[derive(Debug, serde::Serialize)]
pub struct Evaluation {
    /// Model name.
    pub model: String,
    /// Which score was evaluated ("max" over labels, or one label).
    pub score: String,
    /// Rows evaluated.
    pub rows: usize,
    /// Positive rows.
    pub positives: usize,
    /// Rows left out.
    pub skipped: usize,
    /// ROC-AUC (absent with a single class).
    pub roc_auc: Option<f64>,
    /// Average precision.
    pub average_precision: Option<f64>,
    /// Precision / recall / F1 at each threshold, with the threshold's name.
    pub thresholds: Vec<(String, metrics::AtThreshold)>,
    /// Seconds spent classifying (normalise, tokenise, infer), when measured.
    pub classify_seconds: Option<f64>,
    /// Rows classified a second (`rows / classify_seconds`), when measured.
    pub messages_per_second: Option<f64>,
}

impl Evaluation {
    /// Computes every metric for `scores` against `ds`, at the named thresholds.
    pub fn compute(
        model: &str,
        score: &str,
        ds: &Dataset,
        scores: &[f64],
        thresholds: &[(String, f64)],
    ) -> Self {
        Evaluation {
            model: model.to_string(),
            score: score.to_string(),
            rows: ds.labels.len(),
            positives: ds.labels.iter().filter(|&&l| l).count(),
            skipped: ds.skipped,
            roc_auc: metrics::roc_auc(scores, &ds.labels),
            average_precision: metrics::average_precision(scores, &ds.labels),
            thresholds: thresholds
                .iter()
                .map(|(name, t)| (name.clone(), metrics::at_threshold(scores, &ds.labels, *t)))
                .collect(),
            classify_seconds: None,
            messages_per_second: None,
        }
    }

    /// Records how long classifying the rows took.
    pub fn with_timing(mut self, seconds: f64) -> Self {
        self.classify_seconds = Some(seconds);
        self.messages_per_second = (seconds > 0.0).then(|| self.rows as f64 / seconds);
        self
    }

    /// Human-readable report.
    pub fn to_table(&self) -> String {
        let f = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "n/a".into());
        let mut s = format!(
            "model {}  score {}\nrows {}  positives {}  skipped {}\nROC-AUC {}  average precision {}\n\n{:<21} {:>9} {:>9} {:>9} {:>9} {:>9}\n",
            self.model,
            self.score,
            self.rows,
            self.positives,
            self.skipped,
            f(self.roc_auc),
            f(self.average_precision),
            "threshold",
            "value",
            "precision",
            "recall",
            "F1",
            "flagged"
        );
        for (name, m) in &self.thresholds {
            s.push_str(&format!(
                "{:<21} {:>9} {:>9.4} {:>9.4} {:>9.4} {:>9}\n",
                name,
                threshold_value(m.threshold),
                m.precision,
                m.recall,
                m.f1,
                m.predicted_positive
            ));
        }
        if let (Some(secs), Some(rate)) = (self.classify_seconds, self.messages_per_second) {
            s.push_str(&format!(
                "\nclassified {} rows in {secs:.2} s: {rate:.1} messages/s (model.max_batch at a time)\n",
                self.rows
            ));
        }
        s
    }
}

/// A threshold with two decimals, or three when the third is not zero (0.50, 0.985).
fn threshold_value(t: f64) -> String {
    let three = format!("{t:.3}");
    match three.strip_suffix('0') {
        Some(two) => two.to_string(),
        None => three,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn thresholds_print_with_the_decimals_they_have() {
        assert_eq!(threshold_value(0.5), "0.50");
        assert_eq!(threshold_value(0.985), "0.985");
        assert_eq!(threshold_value(0.97), "0.97");
    }

    #[test]
    fn joins_labels_and_skips_unscored_rows() {
        let dir = tempfile::tempdir().unwrap();
        let texts = dir.path().join("t.csv");
        let labels = dir.path().join("l.csv");
        std::fs::File::create(&texts)
            .unwrap()
            .write_all(b"id,comment_text\na,\"hello, there\"\nb,you idiot\nc,unscored\n")
            .unwrap();
        std::fs::File::create(&labels)
            .unwrap()
            .write_all(b"id,toxic\na,0\nb,1\nc,-1\n")
            .unwrap();
        let ds = load_dataset(&DatasetSpec {
            path: texts,
            text_column: "comment_text".into(),
            label_column: "toxic".into(),
            positive: vec![],
            skip: vec!["-1".into()],
            labels_file: Some(labels),
            id_column: "id".into(),
            limit: None,
        })
        .unwrap();
        assert_eq!(
            ds.texts,
            vec!["hello, there".to_string(), "you idiot".to_string()]
        );
        assert_eq!(ds.labels, vec![false, true]);
        assert_eq!(ds.skipped, 1);
    }

    #[test]
    fn missing_column_lists_the_real_ones() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.csv");
        std::fs::write(&p, "tweet,class\nhi,2\n").unwrap();
        let err = load_dataset(&DatasetSpec {
            path: p,
            text_column: "text".into(),
            label_column: "class".into(),
            positive: vec!["0".into()],
            skip: vec![],
            labels_file: None,
            id_column: "id".into(),
            limit: None,
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("no column \"text\"") && err.contains("tweet, class"),
            "{err}"
        );
    }
}
