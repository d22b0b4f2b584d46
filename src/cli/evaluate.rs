//! `usmca-bot evaluate`: the model's figures on a labelled CSV.

use crate::classifier::Classifier;
use crate::evaluate::{load_dataset, DatasetSpec, Evaluation};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// CSV file with a text column and a label column.
    #[arg(long, value_name = "FILE.csv")]
    pub dataset: PathBuf,
    /// Column holding the text.
    #[arg(long, value_name = "C")]
    pub text_column: String,
    /// Column holding the label.
    #[arg(long, value_name = "L")]
    pub label_column: String,
    /// Label value that counts as toxic; repeat for several (default: 1 and true).
    #[arg(long = "positive", value_name = "V")]
    pub positive: Vec<String>,
    /// Label value whose rows are left out (e.g. -1 for "not scored"); repeatable.
    #[arg(long = "skip", value_name = "V", allow_hyphen_values = true)]
    pub skip: Vec<String>,
    /// Second CSV holding the labels, joined on --id-column.
    #[arg(long, value_name = "FILE.csv")]
    pub labels: Option<PathBuf>,
    /// Join column when --labels is given.
    #[arg(long, default_value = "id")]
    pub id_column: String,
    /// Which model output to evaluate: "max" (highest label) or a label name such as "toxic".
    #[arg(long, default_value = "max")]
    pub score: String,
    /// Evaluate only the first N rows.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Print the figures as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Runs `evaluate`.
pub fn run(args: EvaluateArgs, config_path: Option<&std::path::Path>) -> ExitCode {
    let config = match super::load_config(config_path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let ds = match load_dataset(&DatasetSpec {
        path: args.dataset.clone(),
        text_column: args.text_column,
        label_column: args.label_column,
        positive: args.positive,
        skip: args.skip,
        labels_file: args.labels,
        id_column: args.id_column,
        limit: args.limit,
    }) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(super::EXIT_CONFIG);
        }
    };
    let classifier = match Classifier::load(&config.model) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let label_index = match args.score.as_str() {
        "max" => None,
        label => match classifier.labels().iter().position(|l| l == label) {
            Some(i) => Some(i),
            None => {
                eprintln!(
                    "error: --score {label:?} is not a label of model {}; use \"max\" or one of: {}",
                    classifier.model_name(),
                    classifier.labels().join(", ")
                );
                return ExitCode::from(super::EXIT_CONFIG);
            }
        },
    };

    let progress = ProgressBar::new(ds.texts.len() as u64);
    progress.set_style(
        ProgressStyle::with_template(
            "{spinner} classifying [{bar:30}] {pos}/{len} rows, eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut scores = Vec::with_capacity(ds.texts.len());
    let started = std::time::Instant::now();
    for chunk in ds.texts.chunks(256) {
        match classifier.classify_blocking(chunk) {
            Ok(batch) => scores.extend(batch.iter().map(|s| {
                let v = match label_index {
                    Some(i) => s.values()[i],
                    None => s.max().1,
                };
                f64::from(v)
            })),
            Err(e) => {
                progress.abandon();
                eprintln!("error: classification failed: {e}");
                return ExitCode::FAILURE;
            }
        }
        progress.inc(chunk.len() as u64);
    }
    progress.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();

    let t = &config.thresholds;
    let thresholds = vec![
        ("p >= 0.5".to_string(), 0.5),
        ("thresholds.warn".to_string(), t.warn),
        ("thresholds.timeout".to_string(), t.timeout),
        ("thresholds.kick".to_string(), t.kick),
        ("thresholds.ban".to_string(), t.ban),
    ];
    let eval = Evaluation::compute(
        classifier.model_name(),
        &args.score,
        &ds,
        &scores,
        &thresholds,
    )
    .with_timing(seconds);
    if args.json {
        match serde_json::to_string_pretty(&eval) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", eval.to_table());
    }
    ExitCode::SUCCESS
}
