//! How the process is doing: the `/mod status` summary, the readiness checks behind `/readyz`,
//! the gauges refreshed each second, and the shard heartbeats shared through Redis so every
//! process can list the shards of all of them.

use super::Moderation;
use serenity::gateway::ConnectionStage;
use std::time::{Duration, Instant, SystemTime};

/// How often heartbeats are written.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
/// How long a heartbeat stays visible without being renewed.
pub const HEARTBEAT_TTL: Duration = Duration::from_secs(20);

/// One shard of this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardLine {
    /// Shard id.
    pub id: u32,
    /// Connection stage, in words.
    pub stage: String,
    /// Gateway latency, when measured.
    pub latency: Option<Duration>,
}

/// The model's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelLine {
    /// Model name.
    pub name: String,
    /// Loaded and its worker running.
    pub loaded: bool,
    /// Texts waiting.
    pub queue_depth: usize,
    /// Texts classified since start.
    pub messages: u64,
    /// Time since the last successful inference.
    pub since_last: Option<Duration>,
}

/// What `/mod status` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSummary {
    /// Time since the process started.
    pub uptime: Duration,
    /// This process's shard range (`discord.shards`).
    pub shard_label: String,
    /// Its shards.
    pub shards: Vec<ShardLine>,
    /// One line per shard of the other processes sharing this Redis.
    pub other_processes: Vec<String>,
    /// The model.
    pub model: ModelLine,
    /// Postgres: round-trip time, or what failed.
    pub postgres: Result<Duration, String>,
    /// Redis answers (false: in-process windows).
    pub redis_ok: bool,
    /// Message rows written and still queued.
    pub writer: (u64, u64),
    /// The guild is in dry-run.
    pub dry_run: bool,
    /// Configuration keys changed by a reload that only a restart applies.
    pub restart_pending: Vec<String>,
}

use crate::telemetry::process_name;

impl Moderation {
    async fn shard_lines(&self) -> Vec<ShardLine> {
        let Some(sm) = self.shards.get() else {
            return Vec::new();
        };
        let runners = sm.runners.lock().await;
        let mut lines: Vec<ShardLine> = runners
            .iter()
            .map(|(id, info)| ShardLine {
                id: id.0,
                stage: info.stage.to_string(),
                latency: info.latency,
            })
            .collect();
        lines.sort_by_key(|l| l.id);
        lines
    }

    /// The status summary as seen from `guild_id`.
    pub async fn status(&self, guild_id: u64) -> StatusSummary {
        let h = self.classifier.health();
        let t = Instant::now();
        let postgres = self
            .storage
            .ping()
            .await
            .map(|_| t.elapsed())
            .map_err(|e| e.to_string());
        let w = self.writer_stats().await;
        StatusSummary {
            uptime: self.started.elapsed(),
            shard_label: self.shard_label.clone(),
            shards: self.shard_lines().await,
            other_processes: self.other_processes().await,
            model: ModelLine {
                name: self.classifier.model_name().to_string(),
                loaded: h.loaded,
                queue_depth: h.queue_depth,
                messages: h.messages,
                since_last: h
                    .last_success
                    .and_then(|t| SystemTime::now().duration_since(t).ok()),
            },
            postgres,
            redis_ok: !self.state.is_degraded(),
            writer: (w.written, w.pending as u64),
            dry_run: self.is_dry_run(guild_id),
            restart_pending: self.config.restart_pending(),
        }
    }

    /// Readiness of the gateway: every shard connected.
    pub async fn check_gateway(&self) -> Result<(), String> {
        let Some(sm) = self.shards.get() else {
            return Err("gateway client not started".into());
        };
        let runners = sm.runners.lock().await;
        let down: Vec<String> = runners
            .iter()
            .filter(|(_, r)| r.stage != ConnectionStage::Connected)
            .map(|(id, r)| format!("shard {}: {}", id.0, r.stage))
            .collect();
        if runners.is_empty() {
            Err("no shard connected yet".into())
        } else if down.is_empty() {
            Ok(())
        } else {
            Err(down.join(", "))
        }
    }

    /// Readiness of the model.
    pub fn check_model(&self) -> Result<(), String> {
        if self.classifier.health().loaded {
            Ok(())
        } else {
            Err("inference worker not running".into())
        }
    }

    /// Readiness of Postgres: degraded (`Ok(Some)`) while it is unreachable but the journal
    /// records in its place; not ready when neither can record.
    pub async fn check_postgres(&self) -> Result<Option<String>, String> {
        if self.records.is_degraded() {
            if self.records.journal_failing() {
                return Err("unreachable, and the journal cannot record (storage.journal_dir unset or failing): no action is taken until one of them records".into());
            }
            return Ok(Some(format!(
                "unreachable or catching up: moderating and recording to the local journal ({} entries to replay)",
                self.records.journal_depth()
            )));
        }
        self.storage
            .ping()
            .await
            .map(|_| None)
            .map_err(|e| e.to_string())
    }

    /// Readiness of Redis.
    pub async fn check_redis(&self) -> Result<(), String> {
        if self.state.is_degraded() {
            return Err("unreachable; moderating with in-process windows".into());
        }
        match self.state.redis() {
            Some(r) => r.ping().await.map_err(|e| e.to_string()),
            None => Err("not connected".into()),
        }
    }

    /// Refreshes the queue and health gauges (the daemon calls it every second).
    pub async fn refresh_gauges(&self) {
        let m = &self.metrics;
        let h = self.classifier.health();
        m.queue_depth
            .set(i64::try_from(h.queue_depth).unwrap_or(i64::MAX));
        let w = self.writer_stats().await;
        m.writer_queue
            .set(i64::try_from(w.pending).unwrap_or(i64::MAX));
        m.redis_degraded.set(i64::from(self.state.is_degraded()));
        // Operations served in-process because Redis failed: each one is a Redis error.
        let fallbacks = self.state.fallbacks();
        m.redis_errors
            .inc_by(fallbacks.saturating_sub(m.redis_errors.get()));
        m.writer_lag_ms
            .set(i64::try_from(w.last_lag_ms).unwrap_or(i64::MAX));
        let rest = self.executor.rest();
        m.discord_invalid_requests
            .set(i64::try_from(rest.invalid_requests()).unwrap_or(i64::MAX));
        m.discord_invalid_request_budget
            .set(i64::try_from(rest.invalid_request_budget()).unwrap_or(i64::MAX));
    }

    /// Writes this process's shard heartbeats (and latency gauges); the daemon calls it every
    /// [`HEARTBEAT_INTERVAL`].
    pub async fn write_heartbeats(&self) {
        let me = process_name();
        for shard in self.shard_lines().await {
            let id = shard.id.to_string();
            let latency = shard.latency.map(|l| l.as_millis());
            if let Some(ms) = latency {
                self.metrics
                    .gateway_latency_ms
                    .with_label_values(&[&id])
                    .set(i64::try_from(ms).unwrap_or(i64::MAX));
            }
            let Some(redis) = self.state.redis() else {
                continue;
            };
            let body = serde_json::json!({
                "process": me, "stage": shard.stage, "latency_ms": latency,
                "shards": self.shard_label, "at_ms": chrono::Utc::now().timestamp_millis(),
            })
            .to_string();
            if let Err(e) = redis
                .shard_heartbeat(&format!("{id}@{me}"), &body, HEARTBEAT_TTL)
                .await
            {
                tracing::debug!(error = %e, "shard heartbeat not written");
            }
        }
    }

    /// Names of the processes alive now: this one, and those whose shard heartbeat in Redis
    /// is recent (two intervals; a killed process's last one lingers until its TTL).
    pub(super) async fn live_processes(&self) -> Vec<String> {
        let mut live = vec![process_name()];
        let fresh_after = chrono::Utc::now().timestamp_millis()
            - i64::try_from(2 * HEARTBEAT_INTERVAL.as_millis()).unwrap_or(i64::MAX);
        if let Some(redis) = self.state.redis() {
            if let Ok(entries) = redis.shard_heartbeats().await {
                live.extend(entries.into_iter().filter_map(|(_, body)| {
                    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
                    // Heartbeats of an older build carry no time: count them as alive.
                    let fresh = v["at_ms"].as_i64().is_none_or(|t| t >= fresh_after);
                    fresh.then(|| v["process"].as_str().map(str::to_owned))?
                }));
            }
        }
        live.sort();
        live.dedup();
        live
    }

    /// One line per shard of the other processes sharing this Redis.
    async fn other_processes(&self) -> Vec<String> {
        let Some(redis) = self.state.redis() else {
            return vec!["other processes: unknown while Redis is unreachable".into()];
        };
        let me = process_name();
        let Ok(entries) = redis.shard_heartbeats().await else {
            return Vec::new();
        };
        entries
            .into_iter()
            .filter_map(|(key, body)| {
                let v: serde_json::Value = serde_json::from_str(&body).ok()?;
                let process = v["process"].as_str().unwrap_or_default();
                if process == me {
                    return None;
                }
                let shard = key.split('@').next().unwrap_or_default();
                Some(format!(
                    "shard {shard} in {process} ({}): {} (latency {})",
                    v["shards"].as_str().unwrap_or("?"),
                    v["stage"].as_str().unwrap_or("?"),
                    v["latency_ms"]
                        .as_u64()
                        .map_or_else(|| "n/a".to_string(), |l| format!("{l} ms"))
                ))
            })
            .collect()
    }
}
