//! What `/readyz` checks: the gateway, the model, Postgres and Redis; and the gauges refreshed
//! from them each second.

use super::bot::Bot;
use crate::http::Probe;
use async_trait::async_trait;
use serenity::gateway::ConnectionStage;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// One readiness check over the bot's state.
pub struct BotProbe {
    bot: Arc<Bot>,
    kind: Kind,
}

#[derive(Clone, Copy)]
enum Kind {
    Gateway,
    Model,
    Postgres,
    Redis,
}

/// The four probes `/readyz` runs.
pub fn all(bot: &Arc<Bot>) -> Vec<Arc<dyn Probe>> {
    [Kind::Gateway, Kind::Model, Kind::Postgres, Kind::Redis]
        .into_iter()
        .map(|kind| {
            Arc::new(BotProbe {
                bot: bot.clone(),
                kind,
            }) as Arc<dyn Probe>
        })
        .collect()
}

#[async_trait]
impl Probe for BotProbe {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Gateway => "gateway",
            Kind::Model => "model",
            Kind::Postgres => "postgres",
            Kind::Redis => "redis",
        }
    }

    async fn check(&self) -> Result<(), String> {
        match self.kind {
            Kind::Gateway => {
                let Some(sm) = self.bot.shards.get() else {
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
            Kind::Model => {
                let h = self.bot.classifier.health();
                if h.loaded {
                    Ok(())
                } else {
                    Err("inference worker not running".into())
                }
            }
            Kind::Postgres => sqlx::query("SELECT 1")
                .execute(self.bot.storage.pool())
                .await
                .map(drop)
                .map_err(|e| format!("{e}")),
            Kind::Redis => {
                if self.bot.state.is_degraded() {
                    return Err("unreachable; moderating with in-process windows".into());
                }
                match self.bot.state.redis() {
                    Some(r) => r.ping().await.map_err(|e| e.to_string()),
                    None => Err("not connected".into()),
                }
            }
        }
    }
}

/// Refreshes queue and health gauges every second until `shutdown`.
pub fn spawn_gauges(bot: Arc<Bot>, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            let m = &bot.metrics;
            let h = bot.classifier.health();
            m.queue_depth
                .set(i64::try_from(h.queue_depth).unwrap_or(i64::MAX));
            let w = bot.writer_stats().await;
            m.writer_queue
                .set(i64::try_from(w.pending).unwrap_or(i64::MAX));
            m.redis_degraded.set(i64::from(bot.state.is_degraded()));
            // Operations served in-process because Redis failed: each one is a Redis error.
            let fallbacks = bot.state.fallbacks();
            m.redis_errors
                .inc_by(fallbacks.saturating_sub(m.redis_errors.get()));
            m.writer_lag_ms
                .set(i64::try_from(w.last_lag_ms).unwrap_or(i64::MAX));
            m.discord_invalid_requests
                .set(i64::try_from(bot.executor.rest().invalid_requests()).unwrap_or(i64::MAX));
        }
    })
}
