//! The incident list `scan` reports, folded with the same [`IncidentRecord`] mapping the
//! daemon's records follow.

use crate::brigade::{IncidentRecord, IncidentUpdate};
use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;

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
    incidents: Vec<IncidentRecord>,
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
            match IncidentRecord::opened(u) {
                Some(record) => self.incidents.push(record),
                None => {
                    // The newest incident with that id: ids are per guild and start time.
                    if let Some(r) = self
                        .incidents
                        .iter_mut()
                        .rev()
                        .find(|r| r.id == u.incident_id())
                    {
                        r.apply(u);
                    }
                }
            }
        }
    }

    /// The incidents with their final participant lists.
    pub fn reports(&self) -> Vec<IncidentReport> {
        self.incidents
            .iter()
            .map(|r| IncidentReport {
                id: r.id.clone(),
                kind: r.kind.as_str().to_string(),
                guild_id: r.guild_id,
                channel_id: r.channel_id,
                target_id: r.target_id,
                started_at: rfc3339(r.started_at_ms),
                ended_at: r.ended_at_ms.map(rfc3339),
                participants: r.participants.iter().copied().collect(),
                timeouts: r.timeouts.iter().copied().collect(),
                response: r.response.describe(),
                dry_run: r.response.dry_run,
            })
            .collect()
    }
}
