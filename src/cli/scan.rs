//! `usmca-bot scan FILE`: classify every message of a chat export and report, offline. The
//! scan itself is [`crate::scan::scan_file`]; this chooses the output format and the exit code.

use crate::scan::{scan_file, Row, ScanError, ScanObserver, ScanOptions, StateMode};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufWriter, StdoutLock, Write};
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
}

/// Arguments of `scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// DiscordChatExporter JSON export, or JSON lines with id, author_id, channel_id, timestamp, content.
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ScanFormat::Table)]
    pub format: ScanFormat,
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

/// Streams rows for `jsonl`, keeps them for `json`, and drives the progress bar.
struct Output<'a> {
    format: ScanFormat,
    out: BufWriter<StdoutLock<'a>>,
    rows: Vec<Row>,
    progress: ProgressBar,
}

impl ScanObserver for Output<'_> {
    fn state(&mut self, note: &str) {
        eprintln!("{note}");
    }

    fn started(&mut self, total: usize) {
        self.progress.set_length(total as u64);
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
            ScanFormat::Table => Ok(()),
        }
    }

    fn advanced(&mut self, n: usize) {
        self.progress.inc(n as u64);
    }

    fn abandoned(&mut self) {
        self.progress.abandon();
    }

    fn warning(&mut self, text: &str) {
        eprintln!("warning: {text}");
    }
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
    let progress = ProgressBar::new(0);
    progress.set_style(
        ProgressStyle::with_template(
            "{spinner} scanning [{bar:30}] {pos}/{len} messages, {per_sec}, eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let stdout = std::io::stdout();
    let mut output = Output {
        format: args.format,
        out: BufWriter::new(stdout.lock()),
        rows: Vec::new(),
        progress,
    };
    let opts = ScanOptions {
        flag_at: args.flag_at,
        top: args.top,
        state: match args.state {
            StateArg::Auto => StateMode::Auto,
            StateArg::Memory => StateMode::Memory,
        },
    };
    let mut report = match scan_file(&config, &args.file, opts, &mut output) {
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
    let source = args.file.display().to_string();
    let summary = &mut report.summary;
    let mut out = output.out;
    let result = match args.format {
        ScanFormat::Table => summary.print_table(&mut out, &source),
        ScanFormat::Jsonl => Ok(()),
        ScanFormat::Json => {
            let json = serde_json::json!({
                "source": source,
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
