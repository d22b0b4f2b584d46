//! Brigade and raid incidents: opened on detection, extended while activity continues, closed
//! after the quiet period with the response taken. The detector's updates are persisted here
//! too ([`Storage::apply_incident_update`]), one row per detector id.

use super::audit::{append, AuditEvent};
use super::{db_id, from_db_id, Storage, StorageError};
use crate::brigade::IncidentUpdate;
use chrono::{DateTime, TimeZone, Utc};
use sqlx::Row;

/// An incident to open.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIncident {
    /// Guild id.
    pub guild_id: u64,
    /// Channel, when the incident is tied to one.
    pub channel_id: Option<u64>,
    /// Detector, e.g. `join_surge`, `coordinated`, `harassment`, `duplicate`.
    pub kind: String,
    /// First event.
    pub window_start: DateTime<Utc>,
    /// Latest event.
    pub window_end: DateTime<Utc>,
    /// User ids involved.
    pub participants: Vec<u64>,
    /// What was done so far (slow-mode, timeouts ...).
    pub response: serde_json::Value,
}

/// A stored incident.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    /// Id.
    pub incident_id: i64,
    /// Guild id.
    pub guild_id: u64,
    /// Channel.
    pub channel_id: Option<u64>,
    /// Detector.
    pub kind: String,
    /// First event.
    pub window_start: DateTime<Utc>,
    /// Latest event.
    pub window_end: DateTime<Utc>,
    /// Participants, without duplicates.
    pub participants: Vec<u64>,
    /// Response.
    pub response: serde_json::Value,
    /// When it was closed; `None` while ongoing.
    pub closed_at: Option<DateTime<Utc>>,
}

const INCIDENT_COLUMNS: &str =
    "incident_id, guild_id, channel_id, kind, window_start, window_end, participants, response, closed_at";

fn incident_from_row(r: &sqlx::postgres::PgRow) -> Result<Incident, StorageError> {
    let participants: Vec<i64> = r.try_get("participants")?;
    Ok(Incident {
        incident_id: r.try_get("incident_id")?,
        guild_id: from_db_id(r.try_get("guild_id")?),
        channel_id: r.try_get::<Option<i64>, _>("channel_id")?.map(from_db_id),
        kind: r.try_get("kind")?,
        window_start: r.try_get("window_start")?,
        window_end: r.try_get("window_end")?,
        participants: participants.into_iter().map(from_db_id).collect(),
        response: r.try_get("response")?,
        closed_at: r.try_get("closed_at")?,
    })
}

impl Storage {
    /// Incident `incident_id` if it belongs to `guild_id`, with its detector id (which the raid
    /// controls address it by).
    pub async fn incident_in_guild(
        &self,
        guild_id: u64,
        incident_id: i64,
    ) -> Result<Option<(Incident, Option<String>)>, StorageError> {
        let row = sqlx::query(&format!(
            "SELECT {INCIDENT_COLUMNS}, detector_id FROM brigade_incidents
             WHERE guild_id = $1 AND incident_id = $2"
        ))
        .bind(db_id(guild_id))
        .bind(incident_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((incident_from_row(&r)?, r.try_get("detector_id")?)))
            .transpose()
    }

    /// Opens an incident (audited) and returns its id.
    pub async fn insert_incident(&self, inc: &NewIncident) -> Result<i64, StorageError> {
        let participants: Vec<i64> = inc.participants.iter().copied().map(db_id).collect();
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO brigade_incidents (guild_id, channel_id, kind, window_start, window_end, participants, response)
             VALUES ($1, $2, $3, $4, $5, ARRAY(SELECT DISTINCT unnest($6::bigint[])), $7) RETURNING incident_id",
        )
        .bind(db_id(inc.guild_id))
        .bind(inc.channel_id.map(db_id))
        .bind(&inc.kind)
        .bind(inc.window_start)
        .bind(inc.window_end)
        .bind(&participants)
        .bind(&inc.response)
        .fetch_one(&mut *tx)
        .await?;
        append(
            &mut tx,
            &AuditEvent {
                guild_id: inc.guild_id,
                kind: "incident.opened".into(),
                actor_id: None,
                target_id: None,
                payload: serde_json::json!({
                    "incident_id": id, "kind": inc.kind, "channel_id": inc.channel_id,
                    "participants": inc.participants, "response": inc.response,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Extends an open incident: moves its window end forward, adds participants and replaces
    /// the response when one is given.
    pub async fn update_incident(
        &self,
        incident_id: i64,
        window_end: DateTime<Utc>,
        new_participants: &[u64],
        response: Option<&serde_json::Value>,
    ) -> Result<Incident, StorageError> {
        let extra: Vec<i64> = new_participants.iter().copied().map(db_id).collect();
        let row = sqlx::query(&format!(
            "UPDATE brigade_incidents SET
               window_end = GREATEST(window_end, $2),
               participants = ARRAY(SELECT DISTINCT unnest(participants || $3::bigint[])),
               response = COALESCE($4, response)
             WHERE incident_id = $1 AND closed_at IS NULL RETURNING {INCIDENT_COLUMNS}"
        ))
        .bind(incident_id)
        .bind(window_end)
        .bind(&extra)
        .bind(response)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => incident_from_row(&r),
            None => Err(StorageError::NotFound(format!(
                "open incident {incident_id}"
            ))),
        }
    }

    /// Closes an incident (audited). `response` is merged into what was recorded, so what was
    /// done stays visible after a moderator ends it.
    pub async fn close_incident(
        &self,
        incident_id: i64,
        response: &serde_json::Value,
    ) -> Result<Incident, StorageError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "UPDATE brigade_incidents SET closed_at = now(), response = response || $2
             WHERE incident_id = $1 AND closed_at IS NULL RETURNING {INCIDENT_COLUMNS}"
        ))
        .bind(incident_id)
        .bind(response)
        .fetch_optional(&mut *tx)
        .await?;
        let inc = match row {
            Some(r) => incident_from_row(&r)?,
            None => {
                return Err(StorageError::NotFound(format!(
                    "open incident {incident_id}"
                )))
            }
        };
        append(
            &mut tx,
            &AuditEvent {
                guild_id: inc.guild_id,
                kind: "incident.closed".into(),
                actor_id: None,
                target_id: None,
                payload: serde_json::json!({
                    "incident_id": incident_id, "participants": inc.participants.len(), "response": response,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(inc)
    }

    /// A guild's incidents that overlap `[from, to]`, newest first.
    pub async fn incidents_between(
        &self,
        guild_id: u64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Incident>, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {INCIDENT_COLUMNS} FROM brigade_incidents
             WHERE guild_id = $1 AND window_start <= $3 AND window_end >= $2 ORDER BY window_start DESC"
        ))
        .bind(db_id(guild_id))
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(incident_from_row).collect()
    }

    /// A guild's incidents that are still open, newest first.
    pub async fn open_incidents(&self, guild_id: u64) -> Result<Vec<Incident>, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {INCIDENT_COLUMNS} FROM brigade_incidents
             WHERE guild_id = $1 AND closed_at IS NULL ORDER BY window_start DESC"
        ))
        .bind(db_id(guild_id))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(incident_from_row).collect()
    }
}

/// Detector updates, keyed by the detector's own id so that every process reporting one
/// incident updates one row.
impl Storage {
    /// Persists one incident update from the brigade detector; returns the incident's row id.
    /// Idempotent per detector id: a second process reporting the same incident extends the row.
    pub async fn apply_incident_update(&self, u: &IncidentUpdate) -> Result<i64, StorageError> {
        match u {
            IncidentUpdate::Opened {
                incident_id,
                guild_id,
                kind,
                started_at_ms,
                channel_id,
                participants,
                response,
                ..
            } => {
                let response = serde_json::to_value(response)
                    .map_err(|e| StorageError::Corrupt(format!("incident response: {e}")))?;
                let kind = kind.as_str().to_string();
                // One row per detector id, created atomically (a concurrent participant update
                // may have created it already).
                let id = self
                    .placeholder_incident(incident_id, *guild_id, *started_at_ms)
                    .await?;
                sqlx::query(
                    "UPDATE brigade_incidents SET kind = $2, channel_id = COALESCE(channel_id, $3),
                       window_start = LEAST(window_start, $4) WHERE incident_id = $1",
                )
                .bind(id)
                .bind(&kind)
                .bind(channel_id.map(db_id))
                .bind(ms_time(*started_at_ms))
                .execute(&self.pool)
                .await?;
                self.update_incident(id, ms_time(*started_at_ms), participants, Some(&response))
                    .await?;
                self.audit(&AuditEvent {
                    guild_id: *guild_id,
                    kind: "incident.opened".into(),
                    actor_id: None,
                    target_id: None,
                    payload: serde_json::json!({
                        "incident_id": id, "detector_id": incident_id, "kind": kind,
                        "channel_id": channel_id, "participants": participants, "response": response,
                    }),
                })
                .await?;
                Ok(id)
            }
            IncidentUpdate::ParticipantAdded {
                incident_id,
                guild_id,
                user_id,
                at_ms,
                ..
            } => {
                let id = match self.incident_row_id(incident_id).await? {
                    Some(id) => id,
                    // The opening update of a concurrent detector is not stored yet.
                    None => {
                        self.placeholder_incident(incident_id, *guild_id, *at_ms)
                            .await?
                    }
                };
                self.update_incident(id, ms_time(*at_ms), &[*user_id], None)
                    .await?;
                Ok(id)
            }
            IncidentUpdate::Closed {
                incident_id,
                ended_at_ms,
                ..
            } => {
                let id = self.require_incident(incident_id).await?;
                let current: serde_json::Value = sqlx::query_scalar(
                    "SELECT response FROM brigade_incidents WHERE incident_id = $1",
                )
                .bind(id)
                .fetch_one(&self.pool)
                .await?;
                sqlx::query(
                    "UPDATE brigade_incidents SET window_end = GREATEST(window_end, $2) WHERE incident_id = $1",
                )
                .bind(id)
                .bind(ms_time(*ended_at_ms))
                .execute(&self.pool)
                .await?;
                match self.close_incident(id, &current).await {
                    // Another process closed it first.
                    Ok(_) | Err(StorageError::NotFound(_)) => Ok(id),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// An incident by the detector's id (what alert buttons carry).
    pub async fn incident_by_detector_id(
        &self,
        detector_id: &str,
    ) -> Result<Option<Incident>, StorageError> {
        let row = sqlx::query(&format!(
            "SELECT {INCIDENT_COLUMNS} FROM brigade_incidents WHERE detector_id = $1"
        ))
        .bind(detector_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(incident_from_row).transpose()
    }

    async fn incident_row_id(&self, detector_id: &str) -> Result<Option<i64>, StorageError> {
        Ok(
            sqlx::query_scalar("SELECT incident_id FROM brigade_incidents WHERE detector_id = $1")
                .bind(detector_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn placeholder_incident(
        &self,
        detector_id: &str,
        guild_id: u64,
        at_ms: i64,
    ) -> Result<i64, StorageError> {
        sqlx::query(
            "INSERT INTO brigade_incidents (guild_id, kind, window_start, window_end, detector_id)
             VALUES ($1, 'opening', $2, $2, $3) ON CONFLICT (detector_id) WHERE detector_id IS NOT NULL DO NOTHING",
        )
        .bind(db_id(guild_id))
        .bind(ms_time(at_ms))
        .bind(detector_id)
        .execute(&self.pool)
        .await?;
        self.require_incident(detector_id).await
    }

    async fn require_incident(&self, detector_id: &str) -> Result<i64, StorageError> {
        self.incident_row_id(detector_id)
            .await?
            .ok_or_else(|| StorageError::NotFound(format!("incident {detector_id}")))
    }
}

fn ms_time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or_else(Utc::now)
}
