//! Aggregating scan results and printing them as a table, JSON lines or one JSON report.

use super::input::{Malformed, ScanMessage};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};

/// Per-label probabilities in the model's label order.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelScores(pub Vec<(String, f32)>);

impl LabelScores {
    /// The highest-scoring label and its probability.
    pub fn max(&self) -> (&str, f32) {
        self.0.iter().fold(("", f32::NEG_INFINITY), |best, (l, v)| {
            if *v > best.1 {
                (l, *v)
            } else {
                best
            }
        })
    }
}

impl Serialize for LabelScores {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (label, value) in &self.0 {
            // Rounded so reports stay readable; 6 decimals is far below any threshold's precision.
            map.serialize_entry(label, &((f64::from(*value) * 1e6).round() / 1e6))?;
        }
        map.end()
    }
}

/// One scanned message as printed by `--format jsonl` (and inside `--format json`).
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Message id.
    pub id: String,
    /// Author id.
    pub author_id: String,
    /// Channel id.
    pub channel_id: String,
    /// Timestamp as written in the input.
    pub timestamp: String,
    /// Per-label probabilities.
    pub scores: LabelScores,
    /// Highest label.
    pub max_label: String,
    /// Its probability.
    pub max_score: f64,
    /// Decided action (`none`, `warn`, `delete`, `timeout`, `kick`, `ban`), when decisions were made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Why, with the scores: the sanction by behaviour, the deletion by content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Behaviour score in [0, 1], when decisions were made; the sanction comes from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub behaviour: Option<f64>,
    /// The sanction by behaviour (`none`, `warn`, `timeout`, `kick`, `ban`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sanction: Option<String>,
    /// The message's severity (weighted label maximum); deletion comes from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<f64>,
    /// The message is deleted (its severity reached `enforcement.delete_at`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete: Option<bool>,
    /// Detected language (ISO 639-1), when the detector was confident.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// Rules the message broke: `rule list:NAME "term"`, `rule invite "discord.gg/x"`, ...
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
}

impl Row {
    /// Builds the row for `msg` with its scores (no decision yet).
    pub fn new(msg: &ScanMessage, scores: LabelScores) -> Self {
        let (label, value) = scores.max();
        Row {
            id: msg.id.clone(),
            author_id: msg.author_id.clone(),
            channel_id: msg.channel_id.clone(),
            timestamp: msg.timestamp_raw.clone(),
            max_label: label.to_string(),
            max_score: (f64::from(value) * 1e6).round() / 1e6,
            scores,
            action: None,
            reason: None,
            behaviour: None,
            sanction: None,
            severity: None,
            delete: None,
            lang: crate::rules::lang::detect(&msg.content).map(String::from),
            rules: Vec::new(),
        }
    }
}

/// How many messages a scan deleted and sanctioned, and by what rule.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Split {
    /// `enforcement.delete_at`, compared with each message's severity.
    pub delete_at: f64,
    /// The behaviour thresholds, as "warn 0.60 / timeout 0.75 / kick 0.92 / ban 0.97".
    pub thresholds: String,
    /// Messages deleted for what they say.
    pub deleted: u64,
    /// Messages per sanction, with how many of them were also deleted.
    pub sanctions: BTreeMap<String, SanctionCount>,
}

/// Messages of one sanction.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct SanctionCount {
    /// Messages with this sanction.
    pub messages: u64,
    /// Of these, deleted for their content.
    pub deleted: u64,
}

#[derive(Debug, Default, Clone, Serialize)]
struct AuthorStats {
    name: Option<String>,
    messages: u64,
    flagged: u64,
    max_score: f64,
    actions: u64,
}

/// Running totals over a scan.
#[derive(Debug)]
pub struct Summary {
    flag_at: f64,
    top_n: usize,
    labels: Vec<String>,
    total: u64,
    flagged_any: u64,
    flagged: Vec<u64>,
    authors: HashMap<String, AuthorStats>,
    top: Vec<(f64, String, String, String)>,
    actions: BTreeMap<String, u64>,
    split: Option<Split>,
    /// Incidents, as JSON objects (filled in by the decision stage).
    pub incidents: Vec<serde_json::Value>,
    /// Messages that could not be read.
    pub malformed: Vec<Malformed>,
}

impl Summary {
    /// A summary for a model with `labels`, flagging probabilities at or above `flag_at`.
    pub fn new(labels: Vec<String>, flag_at: f64, top_n: usize) -> Self {
        Summary {
            flag_at,
            top_n,
            flagged: vec![0; labels.len()],
            labels,
            total: 0,
            flagged_any: 0,
            authors: HashMap::new(),
            top: Vec::new(),
            actions: BTreeMap::new(),
            split: None,
            incidents: Vec::new(),
            malformed: Vec::new(),
        }
    }

    /// Adds one message and its row.
    pub fn add(&mut self, msg: &ScanMessage, row: &Row) {
        self.total += 1;
        let mut any = false;
        for (i, (_, v)) in row.scores.0.iter().enumerate() {
            if f64::from(*v) >= self.flag_at {
                any = true;
                if let Some(c) = self.flagged.get_mut(i) {
                    *c += 1;
                }
            }
        }
        let a = self.authors.entry(msg.author_id.clone()).or_default();
        if a.name.is_none() {
            a.name.clone_from(&msg.author_name);
        }
        a.messages += 1;
        a.max_score = a.max_score.max(row.max_score);
        if any {
            self.flagged_any += 1;
            a.flagged += 1;
        }
        if let Some(action) = &row.action {
            *self.actions.entry(action.clone()).or_default() += 1;
            if action != "none" {
                a.actions += 1;
            }
        }
        if let (Some(split), Some(sanction)) = (self.split.as_mut(), &row.sanction) {
            let deleted = row.delete == Some(true);
            let c = split.sanctions.entry(sanction.clone()).or_default();
            c.messages += 1;
            if deleted {
                c.deleted += 1;
                split.deleted += 1;
            }
        }
        if self.top_n > 0 {
            self.top.push((
                row.max_score,
                row.max_label.clone(),
                msg.author_id.clone(),
                msg.content.clone(),
            ));
            // Keep memory bounded on huge exports: trim to the best N now and then.
            if self.top.len() >= self.top_n * 8 {
                self.trim_top();
            }
        }
    }

    fn trim_top(&mut self) {
        self.top.sort_by(|a, b| b.0.total_cmp(&a.0));
        self.top.truncate(self.top_n);
    }

    /// Counts of each decided action.
    pub fn actions(&self) -> &BTreeMap<String, u64> {
        &self.actions
    }

    /// Counts deletions (by content, against `delete_at`) and sanctions (by behaviour, against
    /// `thresholds`) from now on.
    pub fn split_by(&mut self, delete_at: f64, thresholds: String) {
        self.split = Some(Split {
            delete_at,
            thresholds,
            ..Split::default()
        });
    }

    /// Deletions and sanctions, when decisions were made.
    pub fn split(&self) -> Option<&Split> {
        self.split.as_ref()
    }

    /// Prints the human-readable report.
    pub fn print_table(&mut self, out: &mut impl Write, source: &str) -> io::Result<()> {
        self.trim_top();
        writeln!(out, "Scanned {} message(s) from {source}", self.total)?;
        if !self.malformed.is_empty() {
            writeln!(
                out,
                "Skipped {} malformed message(s):",
                self.malformed.len()
            )?;
            for m in self.malformed.iter().take(10) {
                writeln!(out, "  {}: {}", m.location, truncate(&m.reason, 120))?;
            }
            if self.malformed.len() > 10 {
                writeln!(out, "  ... and {} more", self.malformed.len() - 10)?;
            }
        }
        writeln!(
            out,
            "Flagged (any label >= {:.2}): {} ({:.1}%)",
            self.flag_at,
            self.flagged_any,
            pct(self.flagged_any, self.total)
        )?;
        writeln!(out, "\n{:<16} {:>8} {:>7}", "label", "flagged", "share")?;
        for (label, n) in self.labels.iter().zip(&self.flagged) {
            writeln!(out, "{label:<16} {n:>8} {:>6.1}%", pct(*n, self.total))?;
        }
        if let Some(split) = &self.split {
            writeln!(
                out,
                "\nDeleted for what they say (severity >= enforcement.delete_at {}): {} ({:.1}%)",
                split.delete_at,
                split.deleted,
                pct(split.deleted, self.total)
            )?;
            writeln!(
                out,
                "Sanctioned for how the member behaves (behaviour score >= thresholds {}):",
                split.thresholds
            )?;
            writeln!(out, "{:<16} {:>8} {:>8}", "sanction", "messages", "deleted")?;
            for sanction in ["none", "warn", "timeout", "kick", "ban"] {
                if let Some(c) = split.sanctions.get(sanction) {
                    writeln!(out, "{sanction:<16} {:>8} {:>8}", c.messages, c.deleted)?;
                }
            }
        } else if !self.actions.is_empty() {
            writeln!(out, "\n{:<16} {:>8}", "action", "messages")?;
            for action in ["none", "warn", "delete", "timeout", "kick", "ban"] {
                if let Some(n) = self.actions.get(action) {
                    writeln!(out, "{action:<16} {n:>8}")?;
                }
            }
        }
        let mut authors: Vec<(&String, &AuthorStats)> =
            self.authors.iter().filter(|(_, a)| a.flagged > 0).collect();
        authors.sort_by(|a, b| {
            b.1.flagged
                .cmp(&a.1.flagged)
                .then(b.1.max_score.total_cmp(&a.1.max_score))
        });
        writeln!(out, "\nTop offending users")?;
        if authors.is_empty() {
            writeln!(out, "  (none)")?;
        } else {
            writeln!(
                out,
                "{:<22} {:<16} {:>8} {:>8} {:>6} {:>8}",
                "user id", "name", "messages", "flagged", "max", "actions"
            )?;
            for (id, a) in authors.iter().take(self.top_n.max(1)) {
                writeln!(
                    out,
                    "{:<22} {:<16} {:>8} {:>8} {:>6.3} {:>8}",
                    id,
                    truncate(a.name.as_deref().unwrap_or("-"), 16),
                    a.messages,
                    a.flagged,
                    a.max_score,
                    a.actions
                )?;
            }
        }
        writeln!(out, "\nMost toxic messages")?;
        for (score, label, author, content) in &self.top {
            let name = self
                .authors
                .get(author)
                .and_then(|a| a.name.as_deref())
                .unwrap_or(author);
            writeln!(
                out,
                "  {score:.3} {label:<14} {:<16} {}",
                truncate(name, 16),
                truncate(&one_line(content), 90)
            )?;
        }
        if !self.incidents.is_empty() {
            writeln!(out, "\nIncidents")?;
            for inc in &self.incidents {
                writeln!(out, "  {}", incident_line(inc))?;
            }
        }
        Ok(())
    }
}

fn incident_line(inc: &serde_json::Value) -> String {
    let get = |k: &str| {
        inc.get(k).map(|v| {
            v.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string())
        })
    };
    let participants = inc
        .get("participants")
        .and_then(|p| p.as_array())
        .map(Vec::len)
        .unwrap_or(0);
    format!(
        "{} in channel {} from {} to {}: {} participant(s); response: {}",
        get("kind").unwrap_or_default(),
        get("channel_id").unwrap_or_else(|| "-".into()),
        get("started_at").unwrap_or_default(),
        get("ended_at").unwrap_or_else(|| "(ongoing)".into()),
        participants,
        get("response").unwrap_or_default()
    )
}

fn pct(n: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        n as f64 * 100.0 / total as f64
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Truncates to `max` characters on a char boundary, marking the cut with an ellipsis.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: &str, author: &str) -> ScanMessage {
        ScanMessage {
            id: id.into(),
            author_id: author.into(),
            author_name: Some(format!("user{author}")),
            author_is_bot: false,
            author_roles: vec![],
            author_is_moderator: false,
            author_joined_at: None,
            channel_id: "c".into(),
            guild_id: None,
            timestamp: chrono::Utc::now(),
            timestamp_raw: "2026-01-01T00:00:00Z".into(),
            edited: false,
            content: format!("message {id}"),
            reply_to: None,
            mentions: vec![],
            attachments: 0,
        }
    }

    fn scores(toxic: f32, insult: f32) -> LabelScores {
        LabelScores(vec![("toxic".into(), toxic), ("insult".into(), insult)])
    }

    #[test]
    fn row_serialises_in_label_order_with_max() {
        let r = Row::new(&msg("1", "a"), scores(0.2, 0.9));
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.starts_with(r#"{"id":"1","author_id":"a","channel_id":"c","timestamp":"2026-01-01T00:00:00Z","scores":{"toxic":0.2,"insult":0.9},"max_label":"insult","max_score":0.9"#), "{json}");
        assert!(!json.contains("action"));
    }

    #[test]
    fn summary_counts_flags_and_ranks_offenders() {
        let mut s = Summary::new(vec!["toxic".into(), "insult".into()], 0.5, 2);
        for (id, author, t, i) in [
            ("1", "a", 0.9, 0.1),
            ("2", "a", 0.8, 0.7),
            ("3", "b", 0.1, 0.6),
            ("4", "c", 0.1, 0.1),
        ] {
            let m = msg(id, author);
            s.add(&m, &Row::new(&m, scores(t, i)));
        }
        let mut out = Vec::new();
        s.print_table(&mut out, "test").unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("Scanned 4 message(s)"), "{text}");
        assert!(
            text.contains("Flagged (any label >= 0.50): 3 (75.0%)"),
            "{text}"
        );
        let a = text.find("usera").unwrap();
        let b = text.find("userb").unwrap();
        assert!(
            a < b,
            "the author with more flagged messages ranks first:\n{text}"
        );
        // Only the top 2 messages are listed.
        let listed = text
            .split("Most toxic messages")
            .nth(1)
            .unwrap()
            .lines()
            .filter(|l| !l.is_empty());
        assert_eq!(listed.count(), 2, "{text}");
    }
}
