//! `usmca-bot scan PATH...`: classify every message of one or more chat exports and report,
//! offline. The scan itself is [`crate::scan::scan_files`]; this chooses the output format,
//! where it goes, and the exit code.

use crate::scan::{
    collect_inputs, scan_files, Row, ScanError, ScanObserver, ScanOptions, StateMode,
};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanFormat {
    /// Summary tables for people.
    Table,
    /// One JSON object per message.
    Jsonl,
    /// One JSON report object: messages, actions, incidents.
    Json,
    /// One CSV row per message (spreadsheets).
    Csv,
    /// One self-contained HTML page with charts (works offline); use with --output.
    Html,
}

/// Arguments of `scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// DiscordChatExporter JSON exports (one per channel) or JSON lines files with id, author_id,
    /// channel_id, timestamp, content; folders are searched recursively for .json and .jsonl files.
    /// Messages of all files are merged in time order.
    #[arg(required = true, value_name = "PATH")]
    pub inputs: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ScanFormat::Table)]
    pub format: ScanFormat,
    /// Write the report to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Probability at or above which a label counts as flagged in the summary.
    #[arg(long, default_value_t = 0.5, value_name = "P")]
    pub flag_at: f64,
    /// How many offenders and messages the table lists.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub top: usize,
    /// Where history lives: `auto` uses the configured Redis (windows, under a scan-only key
    /// prefix) and Postgres (members' stored standings, read only) when they answer, and
    /// in-process state otherwise; `memory` never connects.
    #[arg(long, value_enum, default_value_t = StateArg::Auto)]
    pub state: StateArg,
}

/// `--state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StateArg {
    /// Redis and Postgres when they answer, in-process otherwise.
    Auto,
    /// In-process only.
    Memory,
}

/// Streams rows for `jsonl` and `csv`, keeps them for `json`, and drives the progress bar.
struct Output {
    format: ScanFormat,
    out: BufWriter<Box<dyn Write>>,
    csv_header: bool,
    rows: Vec<Row>,
    progress: ProgressBar,
    files: usize,
}

impl ScanObserver for Output {
    fn state(&mut self, note: &str) {
        self.progress.suspend(|| eprintln!("{note}"));
    }

    fn reading(&mut self, index: usize, total: usize, path: &std::path::Path) {
        self.files = total;
        self.progress.set_message(format!(
            "reading file {}/{total}: {}",
            index + 1,
            path.display()
        ));
    }

    fn started(&mut self, total: usize) {
        self.progress.set_length(total as u64);
        self.progress.set_message(format!(
            "{} file{}",
            self.files,
            if self.files == 1 { "" } else { "s" }
        ));
    }

    fn row(&mut self, row: &Row) -> std::io::Result<()> {
        match self.format {
            ScanFormat::Jsonl => {
                serde_json::to_writer(&mut self.out, row)?;
                writeln!(self.out)
            }
            ScanFormat::Json => {
                self.rows.push(row.clone());
                Ok(())
            }
            ScanFormat::Csv => write_csv_row(self, row),
            ScanFormat::Table | ScanFormat::Html => Ok(()),
        }
    }

    fn advanced(&mut self, n: usize) {
        self.progress.inc(n as u64);
    }

    fn abandoned(&mut self) {
        self.progress.abandon();
    }

    fn warning(&mut self, text: &str) {
        self.progress.suspend(|| eprintln!("warning: {text}"));
    }
}

/// The CSV columns before the per-label scores.
const CSV_COLUMNS: [&str; 12] = [
    "id",
    "timestamp",
    "channel_id",
    "author_id",
    "max_label",
    "max_score",
    "severity",
    "delete",
    "behaviour",
    "sanction",
    "action",
    "reason",
];

fn write_csv_row(o: &mut Output, row: &Row) -> std::io::Result<()> {
    if !o.csv_header {
        o.csv_header = true;
        let header: Vec<String> = CSV_COLUMNS
            .iter()
            .map(|c| c.to_string())
            .chain(row.scores.0.iter().map(|(l, _)| l.clone()))
            .collect();
        write_record(&mut o.out, &header)?;
    }
    let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let mut record = vec![
        row.id.clone(),
        row.timestamp.clone(),
        row.channel_id.clone(),
        row.author_id.clone(),
        row.max_label.clone(),
        row.max_score.to_string(),
        opt(row.severity),
        row.delete.map(|d| d.to_string()).unwrap_or_default(),
        opt(row.behaviour),
        row.sanction.clone().unwrap_or_default(),
        row.action.clone().unwrap_or_default(),
        row.reason.clone().unwrap_or_default(),
    ];
    record.extend(
        row.scores
            .0
            .iter()
            .map(|(_, v)| ((f64::from(*v) * 1e6).round() / 1e6).to_string()),
    );
    write_record(&mut o.out, &record)
}

/// One RFC 4180 record: fields with a comma, quote or line break are quoted, quotes doubled.
fn write_record(out: &mut impl Write, fields: &[String]) -> std::io::Result<()> {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        if f.contains([',', '"', '\n', '\r']) {
            write!(out, "\"{}\"", f.replace('"', "\"\""))?;
        } else {
            out.write_all(f.as_bytes())?;
        }
    }
    out.write_all(b"\r\n")
}

/// Runs `scan`.
pub fn run(args: ScanArgs, config_path: Option<&std::path::Path>) -> ExitCode {
    if !(0.0..=1.0).contains(&args.flag_at) {
        eprintln!(
            "error: --flag-at must be between 0 and 1, got {}",
            args.flag_at
        );
        return ExitCode::from(super::EXIT_CONFIG);
    }
    let config = match super::load_config(config_path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let inputs = match collect_inputs(&args.inputs) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(super::EXIT_CONFIG);
        }
    };
    let sink: Box<dyn Write> = match &args.output {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!(
                    "error: cannot create {}: {e}; choose a writable path for --output",
                    path.display()
                );
                return ExitCode::from(super::EXIT_CONFIG);
            }
        },
        None => Box::new(std::io::stdout()),
    };
    let progress = ProgressBar::new(0);
    progress.set_style(
        ProgressStyle::with_template(
            "{spinner} scanning [{bar:30}] {pos}/{len} messages ({msg}), {per_sec}, eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut output = Output {
        format: args.format,
        out: BufWriter::new(sink),
        csv_header: false,
        rows: Vec::new(),
        progress,
        files: inputs.len(),
    };
    let opts = ScanOptions {
        flag_at: args.flag_at,
        top: args.top,
        state: match args.state {
            StateArg::Auto => StateMode::Auto,
            StateArg::Memory => StateMode::Memory,
        },
    };
    let mut report = match scan_files(&config, &inputs, opts, &mut output) {
        Ok(r) => r,
        Err(ScanError::Output(e)) => return broken_pipe_or_fail(e),
        Err(e @ (ScanError::Input(_) | ScanError::Policy(_))) => {
            eprintln!("error: {e}");
            return ExitCode::from(super::EXIT_CONFIG);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    output.progress.finish_and_clear();
    let source = match inputs.as_slice() {
        [one] => one.display().to_string(),
        many => format!("{} files", many.len()),
    };
    if args.format == ScanFormat::Html {
        let html = crate::scan::page::render_html(&report, &config);
        let mut out = output.out;
        if let Err(e) = out.write_all(html.as_bytes()).and_then(|_| out.flush()) {
            return broken_pipe_or_fail(e);
        }
        if let Some(path) = &args.output {
            eprintln!(
                "wrote {} ({} messages from {source}, {} worker{})",
                path.display(),
                report.page_total(),
                report.workers,
                if report.workers == 1 { "" } else { "s" }
            );
        }
        return ExitCode::SUCCESS;
    }
    let summary = &mut report.summary;
    let mut out = output.out;
    let result = match args.format {
        ScanFormat::Table => summary.print_table(&mut out, &source),
        ScanFormat::Jsonl | ScanFormat::Csv | ScanFormat::Html => Ok(()),
        ScanFormat::Json => {
            let json = serde_json::json!({
                "source": source,
                "sources": inputs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
                "channels": report.channels,
                "model": report.model,
                "messages": output.rows,
                "actions": summary.actions(),
                "deletions_and_sanctions": summary.split(),
                "incidents": summary.incidents,
                "malformed": summary.malformed.iter().map(|m| serde_json::json!({"location": m.location, "reason": m.reason})).collect::<Vec<_>>(),
            });
            serde_json::to_writer_pretty(&mut out, &json)
                .map_err(std::io::Error::from)
                .and_then(|_| writeln!(out))
        }
    };
    if let Err(e) = result.and_then(|_| out.flush()) {
        return broken_pipe_or_fail(e);
    }
    if !summary.malformed.is_empty() && args.format != ScanFormat::Table {
        eprintln!(
            "warning: {} malformed message(s) skipped; first at {}: {}",
            summary.malformed.len(),
            summary.malformed[0].location,
            summary.malformed[0].reason
        );
    }
    ExitCode::SUCCESS
}

/// `scan ... | head` closes stdout early: that is not an error worth a message.
fn broken_pipe_or_fail(e: std::io::Error) -> ExitCode {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        ExitCode::SUCCESS
    } else {
        eprintln!("error: writing output: {e}");
        ExitCode::FAILURE
    }
}
