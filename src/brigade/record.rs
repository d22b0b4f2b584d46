//! One incident as its updates build it up: the single mapping from the detector's updates to
//! an incident's record, used by `scan`'s report and mirrored row by row in Postgres
//! (`storage/incidents.rs`).

use super::{IncidentKind, IncidentUpdate, Response};
use std::collections::BTreeSet;

/// An incident folded from its updates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRecord {
    /// The detector's id.
    pub id: String,
    /// Guild.
    pub guild_id: u64,
    /// Trigger.
    pub kind: IncidentKind,
    /// Channel involved, if any.
    pub channel_id: Option<u64>,
    /// Harassed member, for targeted harassment.
    pub target_id: Option<u64>,
    /// Start, ms since the epoch.
    pub started_at_ms: i64,
    /// End after the quiet period, once closed.
    pub ended_at_ms: Option<i64>,
    /// Participating members.
    pub participants: BTreeSet<u64>,
    /// Members the response times out.
    pub timeouts: BTreeSet<u64>,
    /// The response decided at the start.
    pub response: Response,
}

impl IncidentRecord {
    /// The record an `Opened` update starts; `None` for other updates.
    pub fn opened(update: &IncidentUpdate) -> Option<Self> {
        match update {
            IncidentUpdate::Opened {
                incident_id,
                guild_id,
                kind,
                started_at_ms,
                channel_id,
                target_id,
                participants,
                response,
            } => Some(Self {
                id: incident_id.clone(),
                guild_id: *guild_id,
                kind: *kind,
                channel_id: *channel_id,
                target_id: *target_id,
                started_at_ms: *started_at_ms,
                ended_at_ms: None,
                participants: participants.iter().copied().collect(),
                timeouts: update.timeouts().into_iter().map(|(u, _)| u).collect(),
                response: response.clone(),
            }),
            _ => None,
        }
    }

    /// Applies a later update of this incident (one for another incident is ignored).
    pub fn apply(&mut self, update: &IncidentUpdate) {
        if update.incident_id() != self.id {
            return;
        }
        match update {
            IncidentUpdate::Opened { .. } => {}
            IncidentUpdate::ParticipantAdded { .. } => {
                self.participants.extend(update.participants());
                self.timeouts
                    .extend(update.timeouts().into_iter().map(|(u, _)| u));
            }
            IncidentUpdate::Closed { ended_at_ms, .. } => self.ended_at_ms = Some(*ended_at_ms),
        }
    }
}

impl Response {
    /// The response in words, e.g. "alert moderators, slow-mode 30s in channel 5".
    pub fn describe(&self) -> String {
        let mut words = Vec::new();
        if self.alert_moderators {
            words.push("alert moderators".to_string());
        }
        if let Some((channel, secs)) = self.slowmode {
            words.push(format!("slow-mode {secs}s in channel {channel}"));
        }
        if !self.timeout_users.is_empty() {
            words.push(format!("time out new accounts for {}s", self.timeout_secs));
        }
        if self.raise_scores {
            words.push("raise participants' scores".into());
        }
        words.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response() -> Response {
        Response {
            alert_moderators: true,
            slowmode: Some((5, 30)),
            timeout_users: vec![2],
            timeout_secs: 600,
            raise_scores: false,
            dry_run: false,
        }
    }

    #[test]
    fn updates_fold_into_one_record() {
        let open = IncidentUpdate::Opened {
            incident_id: "1-100".into(),
            guild_id: 1,
            kind: IncidentKind::JoinSurge,
            started_at_ms: 100,
            channel_id: None,
            target_id: None,
            participants: vec![2, 3],
            response: response(),
        };
        let mut r = IncidentRecord::opened(&open).expect("an opening");
        assert_eq!(r.timeouts, BTreeSet::from([2]));
        r.apply(&IncidentUpdate::ParticipantAdded {
            incident_id: "1-100".into(),
            guild_id: 1,
            user_id: 4,
            at_ms: 150,
            timeout_secs: Some(600),
            dry_run: false,
        });
        // Another incident's update changes nothing.
        r.apply(&IncidentUpdate::ParticipantAdded {
            incident_id: "1-999".into(),
            guild_id: 1,
            user_id: 9,
            at_ms: 150,
            timeout_secs: None,
            dry_run: false,
        });
        r.apply(&IncidentUpdate::Closed {
            incident_id: "1-100".into(),
            guild_id: 1,
            ended_at_ms: 400,
        });
        assert_eq!(r.participants, BTreeSet::from([2, 3, 4]));
        assert_eq!(r.timeouts, BTreeSet::from([2, 4]));
        assert_eq!(r.ended_at_ms, Some(400));
        assert_eq!(
            r.response.describe(),
            "alert moderators, slow-mode 30s in channel 5, time out new accounts for 600s"
        );
        assert!(IncidentRecord::opened(&IncidentUpdate::Closed {
            incident_id: "x".into(),
            guild_id: 1,
            ended_at_ms: 1
        })
        .is_none());
    }
}
