//! What the HTML report of a scan shows, gathered while the scan runs, and the page itself
//! (drawn by the shared chart code in [`crate::report`]).

use super::input::ScanMessage;
use super::report::{truncate, Row};
use super::ScanReport;
use crate::config::Config;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Histogram bins over [0, 1].
const BINS: usize = 50;
/// Most points the timeline keeps (the most severe flagged messages beyond that are kept).
const TIMELINE_MAX: usize = 5000;
/// Rows of the "most toxic messages" table.
const TOP_MAX: usize = 25;

/// One flagged message on the timeline.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    /// Milliseconds since the Unix epoch.
    pub t: i64,
    /// Severity (or the highest label's probability when no decision was made).
    pub s: f64,
    /// Decided action.
    pub a: String,
    /// Author id.
    pub u: String,
    /// Channel id.
    pub c: String,
}

/// One member's actions.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MemberActions {
    /// Author id.
    pub id: String,
    /// Display name, when the export has one.
    pub name: Option<String>,
    /// Messages scanned.
    pub messages: u64,
    /// Count per action (`warn`, `delete`, `timeout`, `kick`, `ban`).
    pub actions: BTreeMap<String, u64>,
}

/// One of the most toxic messages.
#[derive(Debug, Clone, Serialize)]
pub struct TopMessage {
    /// Severity.
    pub score: f64,
    /// Highest label.
    pub label: String,
    /// Decided action.
    pub action: String,
    /// Author id.
    pub author: String,
    /// Channel id.
    pub channel: String,
    /// Timestamp as written in the export.
    pub timestamp: String,
    /// The text, shortened.
    pub content: String,
}

/// Running totals for the HTML report.
#[derive(Debug, Clone)]
pub struct PageData {
    flag_at: f64,
    severity: Vec<u64>,
    behaviour: Vec<u64>,
    members: HashMap<String, MemberActions>,
    timeline: Vec<Point>,
    top: Vec<TopMessage>,
    total: u64,
}

fn bin(v: f64) -> usize {
    ((v.clamp(0.0, 1.0) * BINS as f64) as usize).min(BINS - 1)
}

impl PageData {
    /// Empty totals; messages at or above `flag_at` (or acted on) go on the timeline.
    pub fn new(flag_at: f64) -> Self {
        PageData {
            flag_at,
            severity: vec![0; BINS],
            behaviour: vec![0; BINS],
            members: HashMap::new(),
            timeline: Vec::new(),
            top: Vec::new(),
            total: 0,
        }
    }

    /// Adds one decided message.
    pub fn add(&mut self, msg: &ScanMessage, row: &Row) {
        self.total += 1;
        let severity = row.severity.unwrap_or(row.max_score);
        self.severity[bin(severity)] += 1;
        if let Some(b) = row.behaviour {
            self.behaviour[bin(b)] += 1;
        }
        let action = row.action.clone().unwrap_or_else(|| "none".into());
        let m = self
            .members
            .entry(msg.author_id.clone())
            .or_insert_with(|| MemberActions {
                id: msg.author_id.clone(),
                ..MemberActions::default()
            });
        if m.name.is_none() {
            m.name.clone_from(&msg.author_name);
        }
        m.messages += 1;
        if action != "none" {
            *m.actions.entry(action.clone()).or_default() += 1;
        }
        if action != "none" || row.max_score >= self.flag_at {
            self.timeline.push(Point {
                t: msg.timestamp.timestamp_millis(),
                s: (severity * 1e4).round() / 1e4,
                a: action.clone(),
                u: msg.author_id.clone(),
                c: msg.channel_id.clone(),
            });
            if self.timeline.len() >= TIMELINE_MAX * 2 {
                self.trim_timeline();
            }
        }
        let floor = self.top.last().map_or(f64::NEG_INFINITY, |t| t.score);
        if self.top.len() < TOP_MAX || severity > floor {
            self.top.push(TopMessage {
                score: (severity * 1e4).round() / 1e4,
                label: row.max_label.clone(),
                action,
                author: msg.author_id.clone(),
                channel: msg.channel_id.clone(),
                timestamp: msg.timestamp_raw.clone(),
                content: truncate(&msg.content, 300),
            });
            self.top.sort_by(|a, b| b.score.total_cmp(&a.score));
            self.top.truncate(TOP_MAX);
        }
    }

    fn trim_timeline(&mut self) {
        self.timeline.sort_by(|a, b| b.s.total_cmp(&a.s));
        self.timeline.truncate(TIMELINE_MAX);
        self.timeline.sort_by_key(|p| p.t);
    }
}

impl ScanReport {
    /// Messages scanned (decided), for the closing line of the HTML output.
    pub fn page_total(&self) -> u64 {
        self.page.total
    }
}

/// Renders a finished scan as one self-contained HTML page (no network requests).
pub fn render_html(report: &ScanReport, config: &Config) -> String {
    let mut page = report.page.clone();
    page.trim_timeline();
    let mut members: Vec<&MemberActions> = page
        .members
        .values()
        .filter(|m| !m.actions.is_empty())
        .collect();
    members.sort_by(|a, b| {
        let total = |m: &MemberActions| m.actions.values().sum::<u64>();
        total(b).cmp(&total(a)).then_with(|| a.id.cmp(&b.id))
    });
    members.truncate(30);
    let names: BTreeMap<&str, &str> = page
        .members
        .values()
        .filter_map(|m| Some((m.id.as_str(), m.name.as_deref()?)))
        .collect();
    let t = &config.thresholds;
    let summary = &report.summary;
    let data = serde_json::json!({
        "model": report.model,
        "sources": report.sources.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "guilds": report.guilds,
        "channels": report.channels,
        "names": names,
        "total": page.total,
        "flag_at": page.flag_at,
        "delete_at": config.enforcement.delete_at,
        "thresholds": {"warn": t.warn, "timeout": t.timeout, "kick": t.kick, "ban": t.ban},
        "histograms": {"severity": page.severity, "behaviour": page.behaviour},
        "actions": summary.actions(),
        "split": summary.split(),
        "members": members,
        "timeline": page.timeline,
        "incidents": summary.incidents,
        "top": page.top,
        "malformed": summary.malformed.len(),
    });
    let title = match report.guilds.as_slice() {
        [one] => format!("usmca-bot scan: {one}"),
        _ => "usmca-bot scan report".to_string(),
    };
    crate::report::page(&title, &data, crate::report::SCAN_REPORT_JS)
}
