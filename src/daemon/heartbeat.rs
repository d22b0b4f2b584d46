//! Shard heartbeats in Redis: each process writes one entry per shard every few seconds, so
//! `/mod status` in any process lists the shards of all of them.

use super::bot::Bot;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often heartbeats are written.
pub const INTERVAL: Duration = Duration::from_secs(5);
/// How long a heartbeat stays visible without being renewed.
pub const TTL: Duration = Duration::from_secs(20);

/// This process's name in heartbeats: host name and pid.
pub fn process_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
    format!("{host}:{}", std::process::id())
}

/// Writes this process's shard heartbeats until `shutdown`.
pub fn spawn(bot: Arc<Bot>, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let me = process_name();
        let mut tick = tokio::time::interval(INTERVAL);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            let Some(sm) = bot.shards.get() else { continue };
            let entries: Vec<(String, String, Option<u128>)> = {
                let runners = sm.runners.lock().await;
                runners
                    .iter()
                    .map(|(id, info)| {
                        (
                            id.0.to_string(),
                            info.stage.to_string(),
                            info.latency.map(|l| l.as_millis()),
                        )
                    })
                    .collect()
            };
            for (id, stage, latency) in entries {
                if let Some(ms) = latency {
                    bot.metrics
                        .gateway_latency_ms
                        .with_label_values(&[&id])
                        .set(i64::try_from(ms).unwrap_or(i64::MAX));
                }
                let Some(redis) = bot.state.redis() else {
                    continue;
                };
                let body = serde_json::json!({
                    "process": me, "stage": stage, "latency_ms": latency,
                    "shards": bot.shard_label,
                })
                .to_string();
                if let Err(e) = redis
                    .shard_heartbeat(&format!("{id}@{me}"), &body, TTL)
                    .await
                {
                    tracing::debug!(error = %e, "shard heartbeat not written");
                }
            }
        }
    })
}

/// One line per shard of the other processes sharing this Redis.
pub async fn other_processes(bot: &Bot) -> Vec<String> {
    let Some(redis) = bot.state.redis() else {
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
