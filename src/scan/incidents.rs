//! Folding the pipeline's incident updates into the incident list `scan` reports.

use crate::brigade::IncidentUpdate;
use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;
use std::collections::BTreeSet;

/// One incident as reported by `scan`.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentReport {
    /// Incident id.
    pub id: String,
    /// Kind (`join_surge`, `coordinated_toxicity`, `targeted_harassment`, `duplicate_flood`).
    pub kind: String,
    /// Guild.
    pub guild_id: u64,
    /// Channel, when the incident is tied to one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<u64>,
    /// Targeted member, for harassment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_id: Option<u64>,
    /// Start (RFC 3339).
    pub started_at: String,
    /// End after the quiet period (RFC 3339), when it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Participating members.
    pub participants: Vec<u64>,
    /// Members the response times out.
    pub timeouts: Vec<u64>,
    /// Response, in words.
    pub response: String,
    /// Recorded only: the guild is in dry-run.
    pub dry_run: bool,
}

/// Incidents seen so far, in the order they opened.
#[derive(Debug, Default)]
pub struct IncidentLog {
    incidents: Vec<(IncidentReport, BTreeSet<u64>, BTreeSet<u64>)>,
}

fn rfc3339(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t: DateTime<Utc>| t.to_rfc3339())
        .unwrap_or_else(|| ms.to_string())
}

impl IncidentLog {
    /// Applies updates from the pipeline.
    pub fn apply(&mut self, updates: &[IncidentUpdate]) {
        for u in updates {
            match u {
                IncidentUpdate::Opened {
                    incident_id,
                    guild_id,
                    kind,
                    started_at_ms,
                    channel_id,
                    target_id,
                    participants,
                    response,
                } => {
                    let mut words = Vec::new();
                    if response.alert_moderators {
                        words.push("alert moderators".to_string());
                    }
                    if let Some((channel, secs)) = response.slowmode {
                        words.push(format!("slow-mode {secs}s in channel {channel}"));
                    }
                    if !response.timeout_users.is_empty() {
                        words.push(format!(
                            "time out new accounts for {}s",
                            response.timeout_secs
                        ));
                    }
                    if response.raise_scores {
                        words.push("raise participants' scores".into());
                    }
                    let kind = kind.as_str().to_string();
                    self.incidents.push((
                        IncidentReport {
                            id: incident_id.clone(),
                            kind,
                            guild_id: *guild_id,
                            channel_id: *channel_id,
                            target_id: *target_id,
                            started_at: rfc3339(*started_at_ms),
                            ended_at: None,
                            participants: Vec::new(),
                            timeouts: Vec::new(),
                            response: words.join(", "),
                            dry_run: response.dry_run,
                        },
                        participants.iter().copied().collect(),
                        response.timeout_users.iter().copied().collect(),
                    ));
                }
                IncidentUpdate::ParticipantAdded {
                    incident_id,
                    user_id,
                    timeout_secs,
                    ..
                } => {
                    if let Some(entry) = self.find(incident_id) {
                        entry.1.insert(*user_id);
                        if timeout_secs.is_some() {
                            entry.2.insert(*user_id);
                        }
                    }
                }
                IncidentUpdate::Closed {
                    incident_id,
                    ended_at_ms,
                    ..
                } => {
                    if let Some(entry) = self.find(incident_id) {
                        entry.0.ended_at = Some(rfc3339(*ended_at_ms));
                    }
                }
            }
        }
    }

    fn find(&mut self, id: &str) -> Option<&mut (IncidentReport, BTreeSet<u64>, BTreeSet<u64>)> {
        self.incidents.iter_mut().rev().find(|(r, _, _)| r.id == id)
    }

    /// The incidents with their final participant lists.
    pub fn reports(&self) -> Vec<IncidentReport> {
        self.incidents
            .iter()
            .map(|(r, participants, timeouts)| IncidentReport {
                participants: participants.iter().copied().collect(),
                timeouts: timeouts.iter().copied().collect(),
                ..r.clone()
            })
            .collect()
    }
}
