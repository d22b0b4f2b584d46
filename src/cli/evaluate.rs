//! `usmca-bot evaluate`: the model's figures on a labelled CSV.

use crate::behaviour::BehaviourParams;
use crate::classifier::Classifier;
use crate::evaluate::{load_dataset, DatasetSpec, Evaluation};
use crate::pipeline::merge_scores;
use crate::rules::{RuleInput, RuleSet};
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
    /// Which score to evaluate: "max" (highest label probability), "severity" (the weighted
    /// label maximum that `enforcement.delete_at` is compared with, using
    /// `behaviour.label_weights`) or a label name such as "toxic".
    #[arg(long, default_value = "max")]
    pub score: String,
    /// Also report precision / recall / F1 at this value; repeatable (try thresholds).
    #[arg(long = "at", value_name = "V")]
    pub at: Vec<f64>,
    /// Evaluate only the first N rows.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Print the figures as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Combine the model with the configured `[rules]` word lists, as the daemon does: each
    /// label's score is the higher of the model's and the rules'.
    #[arg(long)]
    pub rules: bool,
    /// Word-list presets to enable (comma-separated language codes, e.g. es,it,tr,en), instead
    /// of `rules.presets`; implies --rules.
    #[arg(long, value_name = "CODES")]
    pub presets: Option<String>,
}

/// The score `--score` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Measure {
    /// The highest label probability.
    Max,
    /// The weighted label maximum (`BehaviourParams::severity`).
    Severity,
    /// One label, by index.
    Label(usize),
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
    let classifier = match Classifier::load_for_tool(&config.model) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let weights = BehaviourParams::from_config(&config);
    let rules = if args.rules || args.presets.is_some() {
        let mut rc = config.rules.clone();
        if let Some(p) = &args.presets {
            rc.presets = p
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
        }
        match RuleSet::compile(&rc, "", &[], &[]) {
            Ok(r) => Some(r),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(super::EXIT_CONFIG);
            }
        }
    } else {
        None
    };
    let measure = match args.score.as_str() {
        "max" => Measure::Max,
        "severity" => Measure::Severity,
        label => match classifier.labels().iter().position(|l| l == label) {
            Some(i) => Measure::Label(i),
            None => {
                eprintln!(
                    "error: --score {label:?} is not a label of model {}; use \"max\", \"severity\" or one of: {}",
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
    for chunk in ds.texts.chunks(2048) {
        match classifier.classify_blocking(chunk) {
            Ok(batch) => scores.extend(batch.iter().zip(chunk).map(|(s, text)| {
                let merged;
                let s = match &rules {
                    Some(r) => {
                        let report = r.check(&RuleInput {
                            text,
                            ..RuleInput::default()
                        });
                        merged = merge_scores(s, &report.scores());
                        &merged
                    }
                    None => s,
                };
                match measure {
                    Measure::Label(i) => s.values().get(i).copied().map_or(0.0, f64::from),
                    Measure::Max => f64::from(s.max().1),
                    Measure::Severity => weights.severity(s.iter()).0,
                }
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
    let mut thresholds = vec![
        ("p >= 0.5".to_string(), 0.5),
        ("thresholds.warn".to_string(), t.warn),
        ("thresholds.timeout".to_string(), t.timeout),
        ("thresholds.kick".to_string(), t.kick),
        ("thresholds.ban".to_string(), t.ban),
    ];
    if measure == Measure::Severity {
        // Deletion compares the message's severity with delete_at.
        thresholds.push((
            "enforcement.delete_at".to_string(),
            config.enforcement.delete_at,
        ));
    }
    thresholds.extend(args.at.iter().map(|v| ("--at".to_string(), *v)));
    let name = if rules.is_some() {
        format!("{} + rules", classifier.model_name())
    } else {
        classifier.model_name().to_string()
    };
    let eval =
        Evaluation::compute(&name, &args.score, &ds, &scores, &thresholds).with_timing(seconds);
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
