//! `usmca-bot classify [--json] [TEXT...]`: score texts with the configured model, and show the
//! two halves of the decision with the configured thresholds: whether the message is deleted
//! (its severity against `enforcement.delete_at`, whoever writes it) and the sanction by behaviour
//! for a member without history and for one warned the day before.
//!
//! Without TEXT arguments, every stdin line is one input (a trailing `\r` is dropped). Empty lines
//! are classified like any other text, so output lines stay aligned with input lines. Input is
//! processed in batches as it streams in: when a line is not valid UTF-8, the results of every line
//! before it have already been printed; the command then names the bad line on stderr, classifies
//! nothing after it and exits with status 2.

use crate::classifier::{Classifier, Scores};
use crate::decision::{preview, Policy, Preview, Sanction};
use crate::pipeline::merge_scores;
use crate::rules::{lang, RuleInput, RuleReport, RuleSet};
use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;

/// Lines classified per inference call when reading stdin with one worker; with several, each
/// gets this many calls' worth of lines per round so that they all stay busy.
const CHUNK: usize = 32;

/// Loads the model and classifies the arguments, or stdin when there are none.
pub fn run(config: Option<&Path>, json: bool, texts: Vec<String>) -> ExitCode {
    let config = match super::load_config(config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let policy = match Policy::from_config(&config) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(super::EXIT_CONFIG);
        }
    };
    let classifier = match Classifier::load_for_tool(&config.model) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(super::EXIT_CONFIG);
        }
    };
    let rules = match RuleSet::compile(&config.rules, "", &[], &[]) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(super::EXIT_CONFIG);
        }
    };
    let ctx = Context {
        classifier: &classifier,
        policy: &policy,
        rules: &rules,
        json,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = if texts.is_empty() {
        classify_stream(&ctx, std::io::stdin().lock(), &mut out)
    } else {
        classify_chunk(&ctx, &texts, &mut out)
    };
    let flushed = out.flush();
    match result.and_then(|()| flushed.map_err(Failure::Output)) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`| head`): not an error worth reporting.
        Err(Failure::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(Failure::Input(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(super::EXIT_CONFIG)
        }
        Err(Failure::Output(e)) => {
            eprintln!("error: cannot write output: {e}");
            ExitCode::FAILURE
        }
        Err(Failure::Classify(e)) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The model, the decision settings and the output format.
struct Context<'a> {
    classifier: &'a Classifier,
    policy: &'a Policy,
    rules: &'a RuleSet,
    json: bool,
}

enum Failure {
    Input(String),
    Output(std::io::Error),
    Classify(crate::classifier::ClassifierError),
}

fn classify_stream(
    ctx: &Context<'_>,
    mut input: impl BufRead,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    loop {
        buf.clear();
        let n = input
            .read_until(b'\n', &mut buf)
            .map_err(|e| Failure::Input(format!("cannot read standard input: {e}")))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        }
        match String::from_utf8(std::mem::take(&mut buf)) {
            Ok(line) => chunk.push(line),
            Err(e) => {
                classify_chunk(ctx, &chunk, out)?;
                return Err(Failure::Input(format!(
                    "line {line_no} of standard input is not valid UTF-8 (invalid byte at column {}); \
                     results for the {} lines before it were printed, nothing after it was classified",
                    e.utf8_error().valid_up_to() + 1,
                    line_no - 1
                )));
            }
        }
        if chunk.len() >= chunk_size(ctx.classifier) {
            classify_chunk(ctx, &chunk, out)?;
            chunk.clear();
        }
    }
    classify_chunk(ctx, &chunk, out)
}

/// Lines gathered before classifying them.
fn chunk_size(classifier: &Classifier) -> usize {
    match classifier.workers() {
        1 => CHUNK,
        n => n * CHUNK * 16,
    }
}

fn classify_chunk(
    ctx: &Context<'_>,
    texts: &[String],
    out: &mut impl Write,
) -> Result<(), Failure> {
    if texts.is_empty() {
        return Ok(());
    }
    let scores = ctx
        .classifier
        .classify_blocking(texts)
        .map_err(Failure::Classify)?;
    let now = chrono::Utc::now().timestamp_millis();
    for (text, s) in texts.iter().zip(&scores) {
        let report = ctx.rules.check(&RuleInput {
            text,
            ..RuleInput::default()
        });
        let lang = report
            .lang
            .clone()
            .or_else(|| lang::detect(text).map(String::from));
        let s = &merge_scores(s, &report.scores());
        let p = preview(ctx.policy, s.iter(), now);
        let line = if ctx.json {
            json_line(text, s, &p, lang.as_deref(), &report)
        } else {
            // Language and rule hits go before the text, which stays the last field.
            let l = text_line(text, s, &p, ctx.policy.delete_at);
            let mut extra = format!("lang={}", lang.as_deref().unwrap_or("?"));
            if !report.hits.is_empty() {
                extra.push_str(&format!("\t{}", report.describe()));
            }
            match l.rsplit_once('\t') {
                Some((head, text)) => format!("{head}\t{extra}\t{text}"),
                None => format!("{l}\t{extra}"),
            }
        };
        writeln!(out, "{line}").map_err(Failure::Output)?;
    }
    Ok(())
}

/// The sanction for one kind of member.
#[derive(serde::Serialize)]
struct SanctionLine {
    /// Behaviour score.
    behaviour: f64,
    /// `none`, `warn`, `timeout 10m`, `kick`, `ban`.
    sanction: String,
}

impl SanctionLine {
    fn of(s: &Sanction) -> Self {
        Self {
            behaviour: round4(s.behaviour),
            sanction: s.decision.sanction(),
        }
    }
}

fn round4(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}

/// One `--json` output line; a struct (not `json!`) so labels keep the model's order.
#[derive(serde::Serialize)]
struct JsonLine<'a> {
    text: &'a str,
    scores: &'a Scores,
    max_label: &'a str,
    max_score: f32,
    /// Weighted label maximum, compared with `enforcement.delete_at`.
    severity: f64,
    /// The label behind it.
    severity_label: &'a str,
    /// Deleted for what it says, whoever writes it.
    delete: bool,
    /// Sanction by behaviour for a member without history ...
    first_offence: SanctionLine,
    /// ... and for one warned the day before.
    repeat_offence: SanctionLine,
    /// Detected language (ISO 639-1), null when not confident.
    lang: Option<&'a str>,
    /// Rules of the configured `[rules]` the text broke.
    rules: &'a [crate::rules::RuleHit],
}

fn json_line(
    text: &str,
    s: &Scores,
    p: &Preview,
    lang: Option<&str>,
    report: &RuleReport,
) -> String {
    let (max_label, max_score) = s.max();
    let line = JsonLine {
        text,
        scores: s,
        max_label,
        max_score,
        severity: round4(p.severity),
        severity_label: &p.label,
        delete: p.delete,
        first_offence: SanctionLine::of(&p.first_offence),
        repeat_offence: SanctionLine::of(&p.repeat_offence),
        lang,
        rules: &report.hits,
    };
    // Serialising strings and floats cannot fail; fall back to an empty object rather than panic.
    serde_json::to_string(&line).unwrap_or_else(|_| "{}".into())
}

/// `max_label=max_score  delete|keep (severity)  sanctions  label=score ...  text`, the text
/// shortened to one readable line.
fn text_line(text: &str, s: &Scores, p: &Preview, delete_at: f64) -> String {
    let (max_label, max_score) = s.max();
    let scores: Vec<String> = s.iter().map(|(l, v)| format!("{l}={v:.4}")).collect();
    let mut preview: String = text
        .chars()
        .take(80)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > 80 {
        preview.push('…');
    }
    let content = format!(
        "{} (severity {:.4} {} delete_at {delete_at})",
        if p.delete { "delete" } else { "keep" },
        p.severity,
        if p.delete { ">=" } else { "<" },
    );
    let sanctions = format!(
        "first offence: {} · repeat offence: {}",
        p.first_offence.decision.sanction(),
        p.repeat_offence.decision.sanction()
    );
    format!(
        "{max_label}={max_score:.4}\t{content}\t{sanctions}\t{}\t{preview}",
        scores.join(" ")
    )
}
