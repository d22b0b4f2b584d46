//! The scan itself: read the export, choose where history lives, classify in chunks, decide
//! each message with the pipeline (a dry run: nothing the daemon reads is written), fold the
//! incidents, and close those still open when the export ends. The caller renders.

use super::page::PageData;
use super::{read_export, to_event, IncidentLog, InputError, LabelScores, Row, Summary};
use crate::classifier::{Classifier, ClassifierError, Scores};
use crate::config::{Config, RedisConfig};
use crate::decision::{Action, Policy, PolicyError};
use crate::pipeline::{Pipeline, PipelineError};
use crate::rules::RuleSet;
use crate::state::{MemoryState, RedisState, WindowStore};
use crate::storage::{PgStandingStore, Storage};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Messages classified per round, per inference worker; the next round is classified while the
/// messages of this one are decided.
const CHUNK: usize = 512;
/// How long `auto` waits for Redis and Postgres before scanning in-process.
const CONNECT_WAIT: Duration = Duration::from_secs(2);

/// Where `scan` keeps its sliding windows and reads standings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateMode {
    /// Redis and Postgres when they answer, in-process otherwise.
    Auto,
    /// In-process only.
    Memory,
}

/// How to scan.
#[derive(Debug, Clone, Copy)]
pub struct ScanOptions {
    /// Probability at or above which a label counts as flagged in the summary.
    pub flag_at: f64,
    /// How many offenders and messages the summary lists.
    pub top: usize,
    /// Where history lives.
    pub state: StateMode,
}

/// Why a scan stopped.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The export could not be read.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The configuration gives no usable decision policy.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The `[rules]` do not compile.
    #[error("rules: {0}")]
    Rules(String),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// The model could not be loaded.
    #[error(transparent)]
    Model(ClassifierError),
    /// Classifying a chunk failed.
    #[error("classification failed: {0}")]
    Classify(ClassifierError),
    /// Deciding on a message failed.
    #[error("deciding on message {message}: {source}")]
    Decide {
        /// The message's id.
        message: String,
        /// What failed.
        source: PipelineError,
    },
    /// The observer could not take a row (its output failed).
    #[error("writing output: {0}")]
    Output(#[source] std::io::Error),
}

/// What the caller sees while the scan runs.
pub trait ScanObserver {
    /// Which state the scan uses, in words (before the first message).
    fn state(&mut self, _note: &str) {}
    /// File `index` of `total` is being read.
    fn reading(&mut self, _index: usize, _total: usize, _path: &Path) {}
    /// The scan starts on `total` messages.
    fn started(&mut self, _total: usize) {}
    /// One message's row, in time order.
    fn row(&mut self, row: &Row) -> std::io::Result<()>;
    /// `n` more messages are done.
    fn advanced(&mut self, _n: usize) {}
    /// The scan stopped early.
    fn abandoned(&mut self) {}
    /// Something went wrong that does not stop the scan.
    fn warning(&mut self, _text: &str) {}
}

/// What a finished scan found.
pub struct ScanReport {
    /// Flagged labels, offenders, actions, incidents and malformed messages.
    pub summary: Summary,
    /// The model's name.
    pub model: String,
    /// The files scanned, in the order read.
    pub sources: Vec<PathBuf>,
    /// Channel names by channel id, from the exports that name them.
    pub channels: BTreeMap<String, String>,
    /// Guild names seen in the exports.
    pub guilds: Vec<String>,
    /// What the HTML report draws: score histograms, actions per member, the timeline.
    pub page: PageData,
    /// Inference workers used.
    pub workers: usize,
}

/// Scans the export at `path` with `config`'s model and thresholds.
pub fn scan_file(
    config: &Config,
    path: &Path,
    opts: ScanOptions,
    observer: &mut dyn ScanObserver,
) -> Result<ScanReport, ScanError> {
    scan_files(config, &[path.to_path_buf()], opts, observer)
}

/// Scans several exports (one per channel, as DiscordChatExporter writes them) as one server:
/// their messages are merged in time order before they are decided, so history and brigade
/// windows run across channels as they would in the daemon.
pub fn scan_files(
    config: &Config,
    paths: &[PathBuf],
    opts: ScanOptions,
    observer: &mut dyn ScanObserver,
) -> Result<ScanReport, ScanError> {
    let mut messages = Vec::new();
    let mut malformed = Vec::new();
    let mut channels = BTreeMap::new();
    let mut guilds: Vec<String> = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        observer.reading(i, paths.len(), path);
        let export = read_export(path)?;
        if let Some(name) = &export.channel_name {
            for m in &export.messages {
                channels
                    .entry(m.channel_id.clone())
                    .or_insert_with(|| name.clone());
            }
        }
        if let Some(g) = export.guild_name.filter(|g| !guilds.contains(g)) {
            guilds.push(g);
        }
        let prefix = (paths.len() > 1).then(|| path.display().to_string());
        malformed.extend(export.malformed.into_iter().map(|mut m| {
            if let Some(p) = &prefix {
                m.location = format!("{p}: {}", m.location);
            }
            m
        }));
        messages.extend(export.messages);
    }
    let policy = Policy::from_config(config)?;
    let quiet_period = config.brigade.quiet_period.value();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ScanError::Runtime)?;
    let (windows, standings, note) = runtime.block_on(scan_state(config, opts.state));
    observer.state(&note);
    let mut pipeline = Pipeline::without_classifier(windows, policy);
    // The rules of `[rules]` (the --config file's too), as the daemon applies them.
    let file_domains = match config.rules.deny_domains_file.trim() {
        "" => Vec::new(),
        path => match std::fs::read_to_string(path) {
            Ok(t) => crate::rules::links::parse_domain_list(&t),
            Err(e) => {
                observer.warning(&format!("rules.deny_domains_file {path}: {e}"));
                Vec::new()
            }
        },
    };
    match crate::rules::RuleSet::compile(&config.rules, "", &[], &file_domains) {
        Ok(r) => pipeline.set_rules(Arc::new(r)),
        Err(e) => return Err(ScanError::Rules(e.0)),
    }
    if let Some(s) = standings {
        pipeline = pipeline.with_standing_store(s);
    }
    let mut incidents = IncidentLog::default();
    // Decisions depend on order (history, windows); exports are chronological, JSON lines may
    // not be, and several channels interleave. The sort is stable: ties keep file order.
    messages.sort_by_key(|m| m.timestamp);
    let classifier = Classifier::load_for_tool(&config.model).map_err(ScanError::Model)?;
    let rules = pipeline.rules_for(0);

    observer.started(messages.len());
    let mut summary = Summary::new(classifier.labels().to_vec(), opts.flag_at, opts.top);
    let t = &config.thresholds;
    summary.split_by(
        config.enforcement.delete_at,
        format!(
            "warn {:.2} / timeout {:.2} / kick {:.2} / ban {:.2}",
            t.warn, t.timeout, t.kick, t.ban
        ),
    );
    summary.malformed = malformed;
    let mut page = PageData::new(opts.flag_at);
    let abandon = |observer: &mut dyn ScanObserver, e: ScanError| {
        observer.abandoned();
        e
    };
    // With one worker everything runs on this thread, round by round. With several,
    // classification runs one round ahead on its own thread (each round spread over the
    // workers) while this thread decides the previous round in order.
    let round = CHUNK * classifier.workers();
    let decided = if classifier.workers() == 1 {
        let mut result = Ok(());
        for chunk in messages.chunks(round) {
            let scores = match classify_round(&classifier, &rules, chunk) {
                Ok(s) => s,
                Err(e) => {
                    result = Err(abandon(observer, ScanError::Classify(e)));
                    break;
                }
            };
            if let Err(e) = decide_round(
                chunk,
                scores,
                &runtime,
                &mut pipeline,
                &mut incidents,
                &mut summary,
                &mut page,
                observer,
            ) {
                result = Err(abandon(observer, e));
                break;
            }
            observer.advanced(chunk.len());
        }
        result
    } else {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        std::thread::scope(|scope| -> Result<(), ScanError> {
            // Owned here, so an early return drops it and the classifying thread stops sending.
            let rx = rx;
            let classifier = &classifier;
            let messages = &messages;
            let rules = &rules;
            scope.spawn(move || {
                for chunk in messages.chunks(round) {
                    let result = classify_round(classifier, rules, chunk);
                    let failed = result.is_err();
                    if tx.send(result).is_err() || failed {
                        return;
                    }
                }
            });
            for chunk in messages.chunks(round) {
                let scores = match rx.recv() {
                    Ok(Ok(scores)) => scores,
                    Ok(Err(e)) => return Err(abandon(observer, ScanError::Classify(e))),
                    Err(_) => {
                        return Err(abandon(
                            observer,
                            ScanError::Classify(ClassifierError::WorkerStopped),
                        ))
                    }
                };
                decide_round(
                    chunk,
                    scores,
                    &runtime,
                    &mut pipeline,
                    &mut incidents,
                    &mut summary,
                    &mut page,
                    observer,
                )
                .map_err(|e| abandon(observer, e))?;
                observer.advanced(chunk.len());
            }
            Ok(())
        })
    };
    decided?;
    // The export ends here: incidents still open close once their quiet period would have passed.
    if let Some(last) = messages.last() {
        let end = last.timestamp + chrono::Duration::from_std(quiet_period).unwrap_or_default();
        match runtime.block_on(pipeline.tick(end)) {
            Ok(updates) => incidents.apply(&updates),
            Err(e) => observer.warning(&format!("closing incidents: {e}")),
        }
    }
    summary.incidents = incidents
        .reports()
        .iter()
        .filter_map(|r| serde_json::to_value(r).ok())
        .collect();
    Ok(ScanReport {
        summary,
        model: classifier.model_name().to_string(),
        sources: paths.to_vec(),
        channels,
        guilds,
        page,
        workers: classifier.workers(),
    })
}

/// Classifies a round as the daemon does: the model reads each message without its
/// allowlisted phrases (`[rules] allow`), and is not asked about a message that holds nothing
/// else (all its scores are 0).
fn classify_round(
    classifier: &Classifier,
    rules: &RuleSet,
    chunk: &[super::ScanMessage],
) -> Result<Vec<Scores>, ClassifierError> {
    let inputs: Vec<Option<String>> = chunk
        .iter()
        .map(|m| match rules.model_text(&m.content) {
            None => Some(m.content.clone()),
            Some(rest) if rest.is_empty() => None,
            Some(rest) => Some(rest),
        })
        .collect();
    let texts: Vec<String> = inputs.iter().flatten().cloned().collect();
    let mut scored = classifier.classify_blocking(&texts)?.into_iter();
    let labels: Arc<[String]> = classifier.labels().to_vec().into();
    let nothing = || Scores::new(labels.clone(), vec![0.0; labels.len()]);
    Ok(inputs
        .iter()
        .map(|input| match input {
            Some(_) => scored.next().unwrap_or_else(nothing),
            None => nothing(),
        })
        .collect())
}

/// Decides one round of classified messages, in order.
#[allow(clippy::too_many_arguments)]
fn decide_round(
    chunk: &[super::ScanMessage],
    scores: Vec<crate::classifier::Scores>,
    runtime: &tokio::runtime::Runtime,
    pipeline: &mut Pipeline,
    incidents: &mut IncidentLog,
    summary: &mut Summary,
    page: &mut PageData,
    observer: &mut dyn ScanObserver,
) -> Result<(), ScanError> {
    {
        for (msg, s) in chunk.iter().zip(scores) {
            let label_scores = LabelScores(s.iter().map(|(l, v)| (l.to_string(), v)).collect());
            let mut row = Row::new(msg, label_scores);
            if msg.author_is_bot {
                row.action = Some("none".into());
                row.reason = Some("bots are not moderated".into());
                row.sanction = Some("none".into());
                row.delete = Some(false);
            } else {
                let outcome = runtime
                    .block_on(pipeline.score_message(to_event(msg), s))
                    .map_err(|source| ScanError::Decide {
                        message: msg.id.to_string(),
                        source,
                    })?;
                incidents.apply(&outcome.incidents);
                let d = &outcome.decision;
                row.action = Some(d.action.as_str().to_string());
                row.sanction = Some(match d.action {
                    Action::Delete => Action::None.as_str().to_string(),
                    a => a.as_str().to_string(),
                });
                row.delete = Some(d.delete_message);
                row.severity = Some((outcome.behaviour.severity * 1e6).round() / 1e6);
                row.behaviour = Some((outcome.behaviour.score * 1e4).round() / 1e4);
                row.reason = Some(outcome.decision.moderator_reason);
                if outcome.rules.lang.is_some() {
                    row.lang = outcome.rules.lang.clone();
                }
                row.rules = outcome
                    .rules
                    .hits
                    .iter()
                    .map(|h| format!("rule {} \"{}\"", h.rule, h.term))
                    .collect();
            }
            summary.add(msg, &row);
            page.add(msg, &row);
            observer.row(&row).map_err(ScanError::Output)?;
        }
    }
    Ok(())
}

/// The windows and standings `scan` uses, and a line saying which.
async fn scan_state(
    config: &Config,
    mode: StateMode,
) -> (Arc<dyn WindowStore>, Option<Arc<PgStandingStore>>, String) {
    let memory: Arc<dyn WindowStore> = Arc::new(MemoryState::new());
    if mode == StateMode::Memory {
        return (memory, None, "state: in-process".into());
    }
    // A scan is a dry run: its windows live under their own prefix, never the daemon's.
    let redis_cfg = RedisConfig {
        key_prefix: format!("{}scan:{}:", config.redis.key_prefix, std::process::id()),
        ..config.redis.clone()
    };
    let (windows, redis_note): (Arc<dyn WindowStore>, &str) =
        match tokio::time::timeout(CONNECT_WAIT, RedisState::connect(&redis_cfg)).await {
            Ok(Ok(r)) => (Arc::new(r), "Redis windows"),
            _ => (memory, "in-process windows (Redis not reachable)"),
        };
    let storage = match tokio::time::timeout(CONNECT_WAIT, Storage::connect(&config.database)).await
    {
        Ok(Ok(s)) => Some(s),
        _ => None,
    };
    let has_schema = match &storage {
        Some(s) => s.has_table("member_standing").await,
        None => false,
    };
    let (standings, pg_note) = match storage {
        Some(s) if has_schema => (
            Some(Arc::new(PgStandingStore::read_only(s))),
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
