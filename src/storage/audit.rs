//! Append-only audit log, one hash chain per guild (guild 0 holds events tied to no guild).
//!
//! Each row stores `content_digest = sha256(payload)` and
//! `row_hash = sha256(canonical(seq, guild, kind, actor, target, created_at, content_digest, prev_hash))`.
//! The chain covers the digest rather than the payload, so redacting a payload (privacy requests)
//! leaves the chain verifiable while any edit, deletion or reordering of rows is detected.

use super::{db_id, from_db_id, Storage, StorageError};
use chrono::{DateTime, SubsecRound, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use std::fmt;

/// `prev_hash` of the first row of every chain.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Something to record in the audit log.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AuditEvent {
    /// Guild whose chain receives the row (0: not tied to a guild).
    pub guild_id: u64,
    /// What happened, e.g. `case.created`.
    pub kind: String,
    /// Who did it (`None`: the bot).
    pub actor_id: Option<u64>,
    /// Whom it concerns; privacy requests redact rows by this id.
    pub target_id: Option<u64>,
    /// Details.
    pub payload: serde_json::Value,
}

/// One stored audit row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRow {
    /// Insertion order (BIGSERIAL).
    pub id: i64,
    /// Chain (guild) id, bit-cast.
    pub guild_id: i64,
    /// Position in the chain, from 1.
    pub seq: i64,
    /// Event kind.
    pub kind: String,
    /// Actor id, bit-cast.
    pub actor_id: Option<i64>,
    /// Target id, bit-cast.
    pub target_id: Option<i64>,
    /// When it was recorded (microsecond precision).
    pub created_at: DateTime<Utc>,
    /// JSON details; `None` once redacted.
    pub payload: Option<String>,
    /// sha256 of the payload, hex.
    pub content_digest: String,
    /// `row_hash` of the previous row, hex.
    pub prev_hash: String,
    /// sha256 of this row's canonical form, hex.
    pub row_hash: String,
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn canonical_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The hash a row must carry. The canonical form is a JSON array in a fixed order, so no field
/// can bleed into another.
pub fn row_hash(row: &AuditRow) -> String {
    let canonical = serde_json::json!([
        "usmca-audit-v1",
        row.seq,
        row.guild_id,
        row.kind,
        row.actor_id,
        row.target_id,
        canonical_time(&row.created_at),
        row.content_digest,
        row.prev_hash,
    ]);
    sha256_hex(canonical.to_string().as_bytes())
}

/// Appends `event` to its guild's chain inside the caller's transaction, so the event and the
/// change it describes commit together. Returns the row's sequence number.
pub(crate) async fn append(
    conn: &mut PgConnection,
    event: &AuditEvent,
) -> Result<i64, StorageError> {
    append_at(conn, event, None).await
}

/// [`append`] with the row's time given (`None`: now). A journal replayed after an outage is
/// written with the times things happened; the chain is ordered by `seq` either way.
pub(crate) async fn append_at(
    conn: &mut PgConnection,
    event: &AuditEvent,
    at: Option<DateTime<Utc>>,
) -> Result<i64, StorageError> {
    let guild = db_id(event.guild_id);
    sqlx::query(
        "INSERT INTO audit_heads (guild_id, last_seq, last_hash) VALUES ($1, 0, $2)
         ON CONFLICT (guild_id) DO NOTHING",
    )
    .bind(guild)
    .bind(GENESIS_HASH)
    .execute(&mut *conn)
    .await?;
    // The row lock serialises appends per chain until the transaction ends: no forks.
    let (last_seq, last_hash): (i64, String) = sqlx::query_as(
        "SELECT last_seq, last_hash FROM audit_heads WHERE guild_id = $1 FOR UPDATE",
    )
    .bind(guild)
    .fetch_one(&mut *conn)
    .await?;

    let payload = event.payload.to_string();
    let mut row = AuditRow {
        id: 0,
        guild_id: guild,
        seq: last_seq + 1,
        kind: event.kind.clone(),
        actor_id: event.actor_id.map(db_id),
        target_id: event.target_id.map(db_id),
        // Postgres keeps microseconds; truncate so the hash survives the round trip.
        created_at: at.unwrap_or_else(Utc::now).trunc_subsecs(6),
        content_digest: sha256_hex(payload.as_bytes()),
        payload: Some(payload),
        prev_hash: last_hash,
        row_hash: String::new(),
    };
    row.row_hash = row_hash(&row);
    sqlx::query(
        "INSERT INTO audit_log (guild_id, seq, kind, actor_id, target_id, created_at, payload,
                                content_digest, prev_hash, row_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(row.guild_id)
    .bind(row.seq)
    .bind(&row.kind)
    .bind(row.actor_id)
    .bind(row.target_id)
    .bind(row.created_at)
    .bind(&row.payload)
    .bind(&row.content_digest)
    .bind(&row.prev_hash)
    .bind(&row.row_hash)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE audit_heads SET last_seq = $2, last_hash = $3 WHERE guild_id = $1")
        .bind(guild)
        .bind(row.seq)
        .bind(&row.row_hash)
        .execute(&mut *conn)
        .await?;
    Ok(row.seq)
}

/// What is wrong with a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// The payload no longer matches its stored digest (the payload was edited).
    ContentMismatch,
    /// The stored row hash does not match the row's fields (a hashed field was edited).
    HashMismatch,
    /// The row does not point at the previous row's hash.
    PrevHashMismatch,
    /// Rows are missing before this one (sequence `expected` was not found).
    Gap {
        /// The sequence number that should have come next.
        expected: i64,
    },
    /// Rows are stored in a different order than they were appended. `follows_seq`: the row
    /// this one was chained after, when it is still present.
    Order {
        /// Sequence number of the row whose hash this row points at.
        follows_seq: Option<i64>,
    },
    /// The chain ends before the recorded head (rows at the end were deleted).
    MissingTail {
        /// Last sequence number the head records.
        head_seq: i64,
    },
}

/// The first bad row of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainFault {
    /// Chain (guild) id.
    pub guild_id: u64,
    /// Sequence number of the bad row (for a missing tail: the last row present, 0 if none).
    pub seq: i64,
    /// Row id of the bad row (0 when the row is missing).
    pub id: i64,
    /// What is wrong.
    pub kind: FaultKind,
}

impl fmt::Display for ChainFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (g, s, id) = (self.guild_id, self.seq, self.id);
        match &self.kind {
            FaultKind::ContentMismatch => write!(f, "guild {g}: row seq {s} (id {id}): content hash mismatch: payload was modified"),
            FaultKind::HashMismatch => write!(f, "guild {g}: row seq {s} (id {id}): row hash mismatch: a hashed field was modified"),
            FaultKind::PrevHashMismatch => write!(f, "guild {g}: row seq {s} (id {id}): prev-hash mismatch: the row before it was changed or removed"),
            FaultKind::Gap { expected } => write!(f, "guild {g}: row seq {s} (id {id}): gap: row seq {expected} is missing"),
            FaultKind::Order { follows_seq: Some(p) } => write!(f, "guild {g}: row seq {s} (id {id}): order: rows were reordered (this row was chained after seq {p})"),
            FaultKind::Order { follows_seq: None } => write!(f, "guild {g}: row seq {s} (id {id}): order: rows were reordered (ids no longer follow the chain)"),
            FaultKind::MissingTail { head_seq } => write!(f, "guild {g}: missing row: chain ends at seq {s} but its head records seq {head_seq}"),
        }
    }
}

impl std::error::Error for ChainFault {}

/// Checks the rows of one chain, given in `seq` order, against the recorded head. Pure; returns
/// the number of rows checked or the first fault.
pub fn verify_rows(
    guild_id: u64,
    rows: &[AuditRow],
    head: Option<(i64, &str)>,
) -> Result<u64, ChainFault> {
    let mut expected_seq = 1i64;
    let mut prev_hash = GENESIS_HASH;
    let mut prev_id = i64::MIN;
    let mut checked = 0u64;
    for row in rows {
        let fault = |kind| ChainFault {
            guild_id,
            seq: row.seq,
            id: row.id,
            kind,
        };
        if row.id <= prev_id {
            return Err(fault(FaultKind::Order { follows_seq: None }));
        }
        if row.seq != expected_seq {
            return Err(fault(FaultKind::Gap {
                expected: expected_seq,
            }));
        }
        if let Some(payload) = &row.payload {
            if sha256_hex(payload.as_bytes()) != row.content_digest {
                return Err(fault(FaultKind::ContentMismatch));
            }
        }
        if row.prev_hash != prev_hash {
            // Pointing at another row that is still present means rows were swapped, not edited.
            let follows = rows
                .iter()
                .find(|r| r.row_hash == row.prev_hash)
                .map(|r| r.seq);
            return Err(fault(match follows {
                Some(p) => FaultKind::Order {
                    follows_seq: Some(p),
                },
                None => FaultKind::PrevHashMismatch,
            }));
        }
        if row_hash(row) != row.row_hash {
            return Err(fault(FaultKind::HashMismatch));
        }
        prev_id = row.id;
        prev_hash = &row.row_hash;
        expected_seq += 1;
        checked += 1;
    }
    if let Some((head_seq, head_hash)) = head {
        let last = expected_seq - 1;
        if head_seq != last || head_hash != prev_hash {
            return Err(ChainFault {
                guild_id,
                seq: last,
                id: 0,
                kind: FaultKind::MissingTail { head_seq },
            });
        }
    }
    Ok(checked)
}

/// Result of a successful verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VerifyReport {
    /// Chains (guilds) walked.
    pub chains: u64,
    /// Rows checked in total.
    pub rows: u64,
}

/// Why verification did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The chain was tampered with.
    #[error("audit chain broken: {0}")]
    Fault(ChainFault),
    /// The rows could not be read.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl Storage {
    /// Appends one event in its own transaction (for events with no other row to commit with).
    pub async fn audit(&self, event: &AuditEvent) -> Result<i64, StorageError> {
        self.audit_at(event, None).await
    }

    /// [`Storage::audit`] with the row's time given (journal replay).
    pub async fn audit_at(
        &self,
        event: &AuditEvent,
        at: Option<DateTime<Utc>>,
    ) -> Result<i64, StorageError> {
        let mut tx = self.pool.begin().await?;
        let seq = append_at(&mut tx, event, at).await?;
        tx.commit().await?;
        Ok(seq)
    }

    /// Walks one guild's chain (or every chain when `guild` is `None`).
    pub async fn verify_audit(&self, guild: Option<u64>) -> Result<VerifyReport, VerifyError> {
        let guilds: Vec<i64> = match guild {
            Some(g) => vec![db_id(g)],
            None => sqlx::query_scalar(
                "SELECT guild_id FROM audit_heads UNION SELECT DISTINCT guild_id FROM audit_log ORDER BY 1",
            )
            .fetch_all(&self.pool)
            .await
            .map_err(StorageError::from)?,
        };
        let mut report = VerifyReport::default();
        for g in guilds {
            let head: Option<(i64, String)> =
                sqlx::query_as("SELECT last_seq, last_hash FROM audit_heads WHERE guild_id = $1")
                    .bind(g)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(StorageError::from)?;
            let rows: Vec<AuditRow> = sqlx::query_as(
                "SELECT id, guild_id, seq, kind, actor_id, target_id, created_at, payload,
                        content_digest, prev_hash, row_hash
                 FROM audit_log WHERE guild_id = $1 ORDER BY seq",
            )
            .bind(g)
            .fetch_all(&self.pool)
            .await
            .map_err(StorageError::from)?;
            let head_ref = head.as_ref().map(|(s, h)| (*s, h.as_str()));
            let checked =
                verify_rows(from_db_id(g), &rows, head_ref).map_err(VerifyError::Fault)?;
            report.chains += 1;
            report.rows += checked;
        }
        Ok(report)
    }
}

#[cfg(test)]
#[path = "audit_tests.rs"]
mod tests;
