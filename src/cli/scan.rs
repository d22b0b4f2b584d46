//! `usmca-bot scan FILE`: classify every message of a chat export and report, offline.

use crate::classifier::Classifier;
use crate::decision::Policy;
use crate::pipeline::Pipeline;
use crate::scan::{read_export, to_event, IncidentLog, LabelScores, Row, Summary};
use crate::state::MemoryState;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

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
    #[arg(long, value_enum, default_value_t = StateMode::Auto)]
    pub state: StateMode,
}

/// Where `scan` keeps its sliding windows and reads standings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StateMode {
    /// Redis and Postgres when they answer, in-process otherwise.
    Auto,
    /// In-process only.
    Memory,
}

/// The windows and standings `scan` uses, and a line saying which.
async fn scan_state(
    config: &crate::config::Config,
    mode: StateMode,
) -> (
    Arc<dyn crate::state::WindowStore>,
    Option<Arc<crate::storage::PgStandingStore>>,
    String,
) {
    let memory: Arc<dyn crate::state::WindowStore> = Arc::new(MemoryState::new());
    if mode == StateMode::Memory {
        return (memory, None, "state: in-process".into());
    }
    let wait = std::time::Duration::from_secs(2);
    // A scan is a dry run: its windows live under their own prefix, never the daemon's.
    let redis_cfg = crate::config::RedisConfig {
        key_prefix: format!("{}scan:{}:", config.redis.key_prefix, std::process::id()),
        ..config.redis.clone()
    };
    let (windows, redis_note): (Arc<dyn crate::state::WindowStore>, &str) =
        match tokio::time::timeout(wait, crate::state::RedisState::connect(&redis_cfg)).await {
            Ok(Ok(r)) => (Arc::new(r), "Redis windows"),
            _ => (memory, "in-process windows (Redis not reachable)"),
        };
    let storage = match tokio::time::timeout(
        wait,
        crate::storage::Storage::connect(&config.database),
    )
    .await
    {
        Ok(Ok(s)) => Some(s),
        _ => None,
    };
    let has_schema = match &storage {
        Some(s) => {
            sqlx::query_scalar::<_, bool>("SELECT to_regclass('member_standing') IS NOT NULL")
                .fetch_one(s.pool())
                .await
                .unwrap_or(false)
        }
        None => false,
    };
    let (standings, pg_note) = match storage {
        Some(s) if has_schema => (
            Some(Arc::new(crate::storage::PgStandingStore::read_only(s))),
            "stored standings from Postgres (read only)",
        ),
        Some(_) => (
            None,
            "no stored standings (the database has no usmca-bot tables; run usmca-bot migrate)",
        ),
        None => (None, "no stored standings (Postgres not reachable)"),
    };
    (
        windows,
        standings,
        format!("state: {redis_note}, {pg_note}"),
    )
}

/// Messages classified per request to the inference worker.
const CHUNK: usize = 256;

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
    let export = match read_export(&args.file) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(super::EXIT_CONFIG);
        }
    };
    let policy = match Policy::from_config(&config) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(super::EXIT_CONFIG);
        }
    };
    let quiet_period = config.brigade.quiet_period.value();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // scan is a dry run over history: it writes nothing the daemon reads.
    let (windows, standings, note) = runtime.block_on(scan_state(&config, args.state));
    eprintln!("{note}");
    let mut pipeline = Pipeline::without_classifier(windows, policy);
    if let Some(s) = standings {
        pipeline = pipeline.with_standing_store(s);
    }
    let mut incidents = IncidentLog::default();
    let mut messages = export.messages;
    // Decisions depend on order (history, windows); exports are chronological, JSON lines may not be.
    messages.sort_by_key(|m| m.timestamp);

    let classifier = match Classifier::load(&config.model) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };

    let progress = ProgressBar::new(messages.len() as u64);
    progress.set_style(
        ProgressStyle::with_template(
            "{spinner} scanning [{bar:30}] {pos}/{len} messages, {per_sec}, eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut summary = Summary::new(classifier.labels().to_vec(), args.flag_at, args.top);
    summary.malformed = export.malformed.clone();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut rows = Vec::new();

    for chunk in messages.chunks(CHUNK) {
        let texts: Vec<String> = chunk.iter().map(|m| m.content.clone()).collect();
        let scores = match classifier.classify_blocking(&texts) {
            Ok(s) => s,
            Err(e) => {
                progress.abandon();
                eprintln!("error: classification failed: {e}");
                return ExitCode::FAILURE;
            }
        };
        for (msg, s) in chunk.iter().zip(scores) {
            let label_scores = LabelScores(s.iter().map(|(l, v)| (l.to_string(), v)).collect());
            let mut row = Row::new(msg, label_scores);
            if msg.author_is_bot {
                row.action = Some("none".into());
                row.reason = Some("bots are not moderated".into());
            } else {
                match runtime.block_on(pipeline.score_message(to_event(msg), s)) {
                    Ok(outcome) => {
                        incidents.apply(&outcome.incidents);
                        row.action = Some(outcome.decision.action.as_str().to_string());
                        row.reason = Some(outcome.decision.moderator_reason);
                        row.behaviour = Some((outcome.behaviour.score * 1e4).round() / 1e4);
                    }
                    Err(e) => {
                        progress.abandon();
                        eprintln!("error: deciding on message {}: {e}", msg.id);
                        return ExitCode::FAILURE;
                    }
                }
            }
            summary.add(msg, &row);
            match args.format {
                ScanFormat::Jsonl => {
                    if let Err(e) = serde_json::to_writer(&mut out, &row)
                        .map_err(std::io::Error::from)
                        .and_then(|_| writeln!(out))
                    {
                        return broken_pipe_or_fail(e);
                    }
                }
                ScanFormat::Json => rows.push(row),
                ScanFormat::Table => {}
            }
        }
        progress.inc(chunk.len() as u64);
    }
    progress.finish_and_clear();
    // The export ends here: incidents still open close once their quiet period would have passed.
    if let Some(last) = messages.last() {
        let end = last.timestamp + chrono::Duration::from_std(quiet_period).unwrap_or_default();
        match runtime.block_on(pipeline.tick(end)) {
            Ok(updates) => incidents.apply(&updates),
            Err(e) => eprintln!("warning: closing incidents: {e}"),
        }
    }
    summary.incidents = incidents
        .reports()
        .iter()
        .filter_map(|r| serde_json::to_value(r).ok())
        .collect();

    let result = match args.format {
        ScanFormat::Table => summary.print_table(&mut out, &args.file.display().to_string()),
        ScanFormat::Jsonl => Ok(()),
        ScanFormat::Json => {
            let report = serde_json::json!({
                "source": args.file.display().to_string(),
                "model": classifier.model_name(),
                "messages": rows,
                "actions": summary.actions(),
                "incidents": summary.incidents,
                "malformed": summary.malformed.iter().map(|m| serde_json::json!({"location": m.location, "reason": m.reason})).collect::<Vec<_>>(),
            });
            serde_json::to_writer_pretty(&mut out, &report)
                .map_err(std::io::Error::from)
                .and_then(|_| writeln!(out))
        }
    };
    if let Err(e) = result.and_then(|_| out.flush()) {
        return broken_pipe_or_fail(e);
    }
    if !export.malformed.is_empty() && args.format != ScanFormat::Table {
        eprintln!(
            "warning: {} malformed message(s) skipped; first at {}: {}",
            export.malformed.len(),
            export.malformed[0].location,
            export.malformed[0].reason
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
