//! `usmca-bot run`: the Discord daemon.
//!
//! Start-up, in order: Postgres (migrations), Redis (or in-process windows), the model, the
//! batched writers, the HTTP listener, then the gateway. Shutdown on SIGTERM/SIGINT: stop
//! accepting events, finish the decisions in flight, drain the writers, close the shards, all
//! within `shutdown.deadline`.
//!
//! - [`bot`]: shared state and the flow of one event.
//! - [`handler`]: serenity events → pipeline events.
//! - [`guilds`]: per-guild settings and policies.
//! - [`probes`]: readiness checks and gauges.
//! - [`heartbeat`]: shard heartbeats shared through Redis.

pub mod bot;
pub mod guilds;
pub mod handler;
pub mod heartbeat;
pub mod probes;

pub use bot::Bot;

use crate::classifier::Classifier;
use crate::config::{LiveConfig, ShardSpec};
use crate::decision::Policy;
use crate::discord::http::{http_from_config, HttpSetupError};
use crate::discord::rest::{RestClient, RestError};
use crate::enforcement::Executor;
use crate::http::{HttpError, HttpState};
use crate::pipeline::Pipeline;
use crate::state::ResilientState;
use crate::storage::{MessageWriter, PgStandingStore, Storage, StorageError, WriterOptions};
use crate::telemetry::Metrics;
use serenity::all::GatewayIntents;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Why the daemon could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// Discord settings are unusable (missing token, bad API base).
    #[error(transparent)]
    Discord(#[from] HttpSetupError),
    /// The REST client could not be built.
    #[error(transparent)]
    Rest(#[from] RestError),
    /// Postgres is unreachable or the migrations failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The model could not be loaded.
    #[error(transparent)]
    Model(#[from] crate::classifier::ClassifierError),
    /// The decision policy could not be built from the configuration.
    #[error(transparent)]
    Policy(#[from] crate::decision::PolicyError),
    /// The HTTP listener could not start.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// `http.addr` is not a socket address.
    #[error("http.addr `{0}` is not an address like 0.0.0.0:8080; fix USMCA_HTTP__ADDR")]
    HttpAddr(String),
    /// `discord.shards` is not valid.
    #[error("discord.shards: {0}")]
    Shards(String),
    /// The gateway client failed.
    #[error("Discord gateway: {0}; check DISCORD_TOKEN and that the bot's privileged intents (Server Members, Message Content) are enabled in the developer portal")]
    Gateway(#[from] serenity::Error),
    /// Signal handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
}

/// The intents the bot needs: guilds, members (joins), guild messages with their content, DMs.
pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MEMBERS
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT
        | GatewayIntents::DIRECT_MESSAGES
}

/// Runs the daemon until SIGTERM/SIGINT (or the gateway fails).
pub async fn serve(live: Arc<LiveConfig>) -> Result<(), DaemonError> {
    let cfg = live.get();
    // The gateway client first: its `Http` (and rate limiter) is shared with the executor.
    let handler = handler::Handler::default();
    let mut client =
        serenity::client::ClientBuilder::new_with_http(http_from_config(&cfg)?, intents())
            .event_handler(handler.clone())
            .await?;
    let http = client.http.clone();
    let shards = ShardSpec::parse(&cfg.discord.shards).map_err(DaemonError::Shards)?;
    let addr: SocketAddr = cfg
        .http
        .addr
        .parse()
        .map_err(|_| DaemonError::HttpAddr(cfg.http.addr.clone()))?;
    let metrics = Arc::new(Metrics::new());
    let shutdown = CancellationToken::new();

    let storage = Storage::open(&cfg.database).await?;
    let state = Arc::new(ResilientState::connect(&cfg.redis).await);
    let model_cfg = cfg.model.clone();
    let classifier = tokio::task::spawn_blocking(move || Classifier::load(&model_cfg))
        .await
        .map_err(|e| {
            DaemonError::Model(crate::classifier::ClassifierError::Runtime(format!(
                "model loading panicked: {e}"
            )))
        })??;
    tracing::info!(model = classifier.model_name(), "model loaded");
    {
        let m = metrics.clone();
        classifier.set_batch_observer(Box::new(move |size, took| {
            m.batch_size.observe(size as f64);
            m.classification_latency.observe(took.as_secs_f64());
        }));
    }

    let standings = Arc::new(PgStandingStore::new(storage.clone()));
    let pipeline = Arc::new(
        Pipeline::new(
            classifier.clone(),
            state.clone(),
            Policy::from_config(&cfg)?,
        )
        .with_standing_store(standings.clone()),
    );
    let writer = MessageWriter::spawn(storage.clone(), WriterOptions::from_config(&cfg.storage));
    let rest = RestClient::new(http.clone())?.with_metrics(metrics.clone());
    let executor = Executor::new(
        rest,
        storage.clone(),
        state.clone(),
        metrics.clone(),
        cfg.limits.actions_per_minute,
        cfg.enforcement.ban_delete_messages.value(),
    );
    let shard_label = cfg.discord.shards.clone();
    let bot = Arc::new(Bot::new(
        live.clone(),
        pipeline.clone(),
        classifier,
        storage.clone(),
        state,
        writer,
        executor,
        metrics.clone(),
        shard_label,
    ));

    // Background work, all stopped by `shutdown`.
    let http_state = HttpState::new(metrics.clone(), probes::all(&bot));
    let http_task = {
        let token = shutdown.clone();
        tokio::spawn(async move {
            crate::http::serve(addr, http_state, token, |a| {
                tracing::info!(addr = %a, "health and metrics listening");
            })
            .await
        })
    };
    let standings_task =
        standings.spawn_flusher(cfg.storage.writer_flush.value(), shutdown.clone());
    let retention_task = crate::storage::spawn_retention_task(
        storage.clone(),
        cfg.storage.content_retention.value(),
        cfg.storage.purge_interval.value(),
        shutdown.clone(),
    );
    let tick_task = spawn_incident_ticker(bot.clone(), shutdown.clone());
    let gauges_task = probes::spawn_gauges(bot.clone(), shutdown.clone());
    let settings_task = spawn_config_watch(bot.clone(), shutdown.clone());
    #[cfg(unix)]
    let sighup_task = crate::config::spawn_sighup_reloader(live.clone(), shutdown.clone())
        .map_err(DaemonError::Signals)?;

    // The gateway: events flow from here on.
    handler.attach(bot.clone());
    let _ = bot.shards.set(client.shard_manager.clone());
    let heartbeat_task = heartbeat::spawn(bot.clone(), shutdown.clone());
    let gateway = tokio::spawn(async move {
        match shards {
            ShardSpec::Auto => client.start_autosharded().await,
            ShardSpec::Range { first, last, total } => {
                client.start_shard_range(first..last + 1, total).await
            }
        }
    });
    let gateway_abort = gateway.abort_handle();

    let signal = wait_for_signal();
    let deadline = cfg.shutdown.deadline.value();
    let stop = Instant::now();
    let mut gateway = gateway;
    let reason = tokio::select! {
        s = signal => s.map(|name| format!("received {name}")).map_err(DaemonError::Signals)?,
        r = &mut gateway => {
            // The gateway ended on its own: report why, then shut down the rest cleanly.
            let why = match r {
                Ok(Ok(())) => "gateway closed".to_string(),
                Ok(Err(e)) => format!("gateway failed: {e}"),
                Err(e) => format!("gateway task ended: {e}"),
            };
            tracing::error!(reason = %why, "gateway stopped");
            why
        }
    };
    tracing::info!(%reason, deadline = ?deadline, "shutting down");
    let finished = tokio::time::timeout(deadline, async {
        // 1. No new events.
        bot.closing.store(true, Ordering::Release);
        // 2. Decisions in flight.
        bot.tracker.close();
        bot.tracker.wait().await;
        // 3. Writers.
        let writer = bot.writer.write().await.take();
        if let Some(w) = writer {
            match w.shutdown().await {
                Ok(s) => tracing::info!(
                    written = s.written,
                    accepted = s.accepted,
                    "message writer drained"
                ),
                Err(e) => tracing::error!(error = %e, "message writer lost rows at shutdown"),
            }
        }
        shutdown.cancel();
        let _ = standings_task.await;
        // 4. Shards.
        if let Some(sm) = bot.shards.get() {
            sm.shutdown_all().await;
        }
    })
    .await;
    if finished.is_err() {
        tracing::error!(deadline = ?deadline, "shutdown deadline passed; exiting with work unfinished");
    }
    shutdown.cancel();
    gateway_abort.abort();
    for t in [
        retention_task,
        tick_task,
        gauges_task,
        settings_task,
        heartbeat_task,
    ] {
        t.abort();
    }
    #[cfg(unix)]
    sighup_task.abort();
    let _ = tokio::time::timeout(Duration::from_secs(2), http_task).await;
    storage.close().await;
    tracing::info!(
        accepted = bot.accepted.load(Ordering::Relaxed),
        processed = bot.processed.load(Ordering::Relaxed),
        took_ms = stop.elapsed().as_millis() as u64,
        "shutdown complete"
    );
    Ok(())
}

/// Waits for SIGTERM or SIGINT; returns its name.
async fn wait_for_signal() -> std::io::Result<&'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        tokio::select! {
            _ = term.recv() => Ok("SIGTERM"),
            _ = int.recv() => Ok("SIGINT"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await?;
        Ok("Ctrl-C")
    }
}

/// Closes quiet incidents every few seconds.
fn spawn_incident_ticker(
    bot: Arc<Bot>,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            match bot.pipeline.tick(chrono::Utc::now()).await {
                Ok(updates) if !updates.is_empty() => bot.handle_incidents(&updates, None).await,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "incident tick failed"),
            }
        }
    })
}

/// Applies reloaded configuration (SIGHUP) to the decision policies, and re-reads guild
/// settings every 30 s so a change made through another process's `/mod config set` arrives.
fn spawn_config_watch(bot: Arc<Bot>, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut rx = bot.config.subscribe();
        let mut refresh = tokio::time::interval(Duration::from_secs(30));
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                changed = rx.changed() => {
                    if changed.is_err() { break; }
                    let cfg = rx.borrow_and_update().clone();
                    match Policy::from_config(&cfg) {
                        Ok(p) => {
                            bot.pipeline.set_policy(p);
                            bot.guilds.reapply(&bot.pipeline, &cfg);
                            tracing::info!("decision policy updated from the reloaded configuration");
                        }
                        Err(e) => tracing::error!(error = %e, "reloaded configuration not applied to decisions"),
                    }
                }
                _ = refresh.tick() => {
                    let cfg = bot.cfg();
                    for id in bot.guilds.ids() {
                        if let Err(e) = bot.guilds.load(&bot.storage, &bot.pipeline, &cfg, id, None).await {
                            tracing::debug!(guild = id, error = %e, "guild settings refresh failed");
                        }
                    }
                }
            }
        }
    })
}
