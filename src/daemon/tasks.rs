//! The daemon's background work, each task stopped by the shutdown token: closing quiet
//! incidents, following configuration reloads and other processes' settings changes, the
//! gauges, and the shard heartbeats.

use crate::moderation::{Moderation, HEARTBEAT_INTERVAL};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How often quiet incidents are looked for.
const INCIDENT_TICK: Duration = Duration::from_secs(5);
/// How often gauges are refreshed.
const GAUGES_TICK: Duration = Duration::from_secs(1);
/// How often cases left pending by processes no longer alive are looked for.
const RECONCILE_TICK: Duration = Duration::from_secs(10);
/// How often Postgres is probed while it is down (and the journal replayed once it is back).
const RECOVERY_TICK: Duration = Duration::from_secs(1);

/// Runs `step` every `every` until `stop`.
fn every<F, Fut>(every: Duration, stop: &CancellationToken, mut step: F) -> JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let stop = stop.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => step().await,
            }
        }
    })
}

/// Starts the incident ticker, the gauges, the configuration-reload follower, the settings
/// follower and the journal recovery.
pub(super) fn spawn_all(
    service: &Arc<Moderation>,
    stop: &CancellationToken,
) -> Vec<JoinHandle<()>> {
    let incidents = {
        let s = service.clone();
        every(INCIDENT_TICK, stop, move || {
            let s = s.clone();
            async move { s.close_quiet_incidents().await }
        })
    };
    let gauges = {
        let s = service.clone();
        every(GAUGES_TICK, stop, move || {
            let s = s.clone();
            async move { s.refresh_gauges().await }
        })
    };
    let reloads = {
        let s = service.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut rx = s.live_config().subscribe();
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    changed = rx.changed() => {
                        if changed.is_err() { break; }
                        let cfg = rx.borrow_and_update().clone();
                        s.apply_reloaded_config(&cfg);
                    }
                }
            }
        })
    };
    let settings = {
        let s = service.clone();
        let stop = stop.clone();
        tokio::spawn(async move { s.follow_settings_changes(stop).await })
    };
    let recovery = {
        let s = service.clone();
        every(RECOVERY_TICK, stop, move || {
            let s = s.clone();
            async move { s.recover_records().await }
        })
    };
    // What earlier runs (or crashed siblings) left unfinished: at start, then now and again.
    let reconcile = {
        let s = service.clone();
        every(RECONCILE_TICK, stop, move || {
            let s = s.clone();
            async move { s.reconcile_pending().await }
        })
    };
    vec![incidents, gauges, reloads, settings, recovery, reconcile]
}

/// Starts the shard heartbeats (once the gateway's shards are attached).
pub(super) fn spawn_heartbeats(
    service: &Arc<Moderation>,
    stop: &CancellationToken,
) -> JoinHandle<()> {
    let s = service.clone();
    every(HEARTBEAT_INTERVAL, stop, move || {
        let s = s.clone();
        async move { s.write_heartbeats().await }
    })
}
