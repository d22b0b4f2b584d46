//! Start-up only: [`build`] assembles the daemon from the configuration (Postgres and its
//! migrations, Redis or in-process windows, the model, the writers, the moderation service, the
//! gateway client), and [`Daemon::run`] serves until the shutdown future the caller passes
//! resolves (the binary passes [`wait_for_signal`]; a test or another front end its own).
//!
//! Shutdown: stop accepting events, finish the decisions in flight, drain the writers, close
//! the shards, all within `shutdown.deadline`.
//!
//! - [`tasks`]: the background work (incident ticker, settings follower, gauges, heartbeats).
//! - [`probes`]: the readiness checks `/readyz` runs.

mod probes;
mod tasks;

use crate::classifier::Classifier;
use crate::config::{LiveConfig, ShardSpec};
use crate::decision::Policy;
use crate::discord::client::{http_from_config, HttpSetupError};
use crate::discord::rest::{RestClient, RestError};
use crate::enforcement::Executor;
use crate::gateway::Handler;
use crate::http::{HttpError, HttpState};
use crate::journal::{JournalError, JournalFile, Records};
use crate::moderation::{Moderation, Parts};
use crate::pipeline::Pipeline;
use crate::state::ResilientState;
use crate::storage::{
    MessageWriter, PgHealth, PgStandingStore, Storage, StorageError, WriterOptions,
};
use crate::telemetry::Metrics;
use serenity::all::GatewayIntents;
use serenity::Client;
use std::future::Future;
use std::net::SocketAddr;
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
    /// The journal could not be opened.
    #[error(transparent)]
    Journal(#[from] JournalError),
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

/// The intents the bot needs: guilds, members (joins), moderation (audit-log entries), guild
/// messages with their content, DMs.
pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MEMBERS
        | GatewayIntents::GUILD_MODERATION
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT
        | GatewayIntents::DIRECT_MESSAGES
}

/// A daemon ready to run: everything built and connected, no event handled yet.
pub struct Daemon {
    live: Arc<LiveConfig>,
    service: Arc<Moderation>,
    client: Client,
    handler: Handler,
    standings: Arc<PgStandingStore>,
    storage: Storage,
    metrics: Arc<Metrics>,
    shards: ShardSpec,
    addr: SocketAddr,
}

/// Builds the daemon from the live configuration: connects Postgres (applying migrations when
/// configured) and Redis, loads the model, starts the writers and builds the gateway client.
pub async fn build(live: Arc<LiveConfig>) -> Result<Daemon, DaemonError> {
    let cfg = live.get();
    // The gateway client first: its `Http` (and rate limiter) is shared with the executor.
    let handler = Handler::default();
    let client = serenity::client::ClientBuilder::new_with_http(http_from_config(&cfg)?, intents())
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

    let health = Arc::new(PgHealth::default());
    let journal = match cfg.storage.journal_dir.trim() {
        "" => {
            tracing::warn!("storage.journal_dir is empty: actions cannot be recorded while Postgres is down, so none are taken then");
            None
        }
        dir => Some(JournalFile::open(std::path::Path::new(dir))?),
    };
    let records = Arc::new(Records::new(
        storage.clone(),
        journal,
        health.clone(),
        metrics.clone(),
    ));
    let standings = Arc::new(PgStandingStore::new(storage.clone()).with_health(health.clone()));
    let pipeline = Arc::new(
        Pipeline::new(
            classifier.clone(),
            state.clone(),
            Policy::from_config(&cfg)?,
        )
        .with_standing_store(standings.clone()),
    );
    let writer = MessageWriter::spawn(storage.clone(), WriterOptions::from_config(&cfg.storage));
    let rest = RestClient::new(http)?.with_metrics(metrics.clone());
    let executor = Executor::new(
        rest,
        storage.clone(),
        records.clone(),
        crate::telemetry::process_name(),
        state.clone(),
        metrics.clone(),
        cfg.limits.actions_per_minute,
        cfg.enforcement.ban_delete_messages.value(),
    );
    let service = Arc::new(Moderation::new(Parts {
        config: live.clone(),
        pipeline,
        classifier,
        storage: storage.clone(),
        state,
        writer,
        executor,
        records,
        metrics: metrics.clone(),
        shard_label: cfg.discord.shards.clone(),
    }));
    Ok(Daemon {
        live,
        service,
        client,
        handler,
        standings,
        storage,
        metrics,
        shards,
        addr,
    })
}

impl Daemon {
    /// The moderation service, for front ends started beside the gateway.
    pub fn service(&self) -> &Arc<Moderation> {
        &self.service
    }

    /// Serves until `shutdown` resolves (its output names the reason, e.g. "received SIGTERM")
    /// or the gateway stops, then shuts down within `shutdown.deadline`.
    pub async fn run<S>(self, shutdown: S) -> Result<(), DaemonError>
    where
        S: Future<Output = String>,
    {
        let Daemon {
            live,
            service,
            mut client,
            handler,
            standings,
            storage,
            metrics,
            shards,
            addr,
        } = self;
        let cfg = live.get();
        let stop_tasks = CancellationToken::new();

        // Background work, all stopped by `stop_tasks`.
        let http_state = HttpState::new(metrics.clone(), probes::all(&service));
        let http_task = {
            let token = stop_tasks.clone();
            tokio::spawn(async move {
                crate::http::serve(addr, http_state, token, |a| {
                    tracing::info!(addr = %a, "health and metrics listening");
                })
                .await
            })
        };
        let web_task = {
            let (service, token) = (service.clone(), stop_tasks.clone());
            tokio::spawn(async move {
                if let Err(e) = crate::web::serve(service, token, |a| {
                    tracing::info!(addr = %a, "web dashboard listening");
                })
                .await
                {
                    tracing::error!(error = %e, "web dashboard stopped");
                }
            })
        };
        let standings_task =
            standings.spawn_flusher(cfg.storage.writer_flush.value(), stop_tasks.clone());
        let retention_task = crate::storage::spawn_retention_task(
            storage.clone(),
            cfg.storage.content_retention.value(),
            cfg.storage.purge_interval.value(),
            stop_tasks.clone(),
        );
        let mut background = tasks::spawn_all(&service, &stop_tasks);
        #[cfg(unix)]
        let sighup_task = crate::config::spawn_sighup_reloader(live.clone(), stop_tasks.clone())
            .map_err(DaemonError::Signals)?;

        // The same Discord checks as `usmca-bot doctor`, as warnings; they block nothing.
        let startup_checks = {
            let (http, cfg, storage, token) = (
                client.http.clone(),
                cfg.clone(),
                storage.clone(),
                stop_tasks.clone(),
            );
            tokio::spawn(async move {
                tokio::select! {
                    () = token.cancelled() => {}
                    () = crate::doctor::discord::startup(http, cfg, storage) => {}
                }
            })
        };

        // The gateway: events flow from here on.
        handler.attach(service.clone());
        service.attach_shards(client.shard_manager.clone());
        background.push(tasks::spawn_heartbeats(&service, &stop_tasks));
        let mut gateway = tokio::spawn(async move {
            match shards {
                ShardSpec::Auto => client.start_autosharded().await,
                ShardSpec::Range { first, last, total } => {
                    client.start_shard_range(first..last + 1, total).await
                }
            }
        });
        let gateway_abort = gateway.abort_handle();

        let deadline = cfg.shutdown.deadline.value();
        let reason = tokio::select! {
            why = shutdown => why,
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
        let stop = Instant::now();
        tracing::info!(%reason, deadline = ?deadline, "shutting down");
        let finished = tokio::time::timeout(deadline, async {
            // 1. No new events, 2. decisions in flight, 3. writers.
            service.drain().await;
            stop_tasks.cancel();
            let _ = standings_task.await;
            // 4. Shards.
            service.close_shards().await;
        })
        .await;
        if finished.is_err() {
            tracing::error!(deadline = ?deadline, "shutdown deadline passed; exiting with work unfinished");
        }
        stop_tasks.cancel();
        gateway_abort.abort();
        retention_task.abort();
        startup_checks.abort();
        for t in background {
            t.abort();
        }
        #[cfg(unix)]
        sighup_task.abort();
        let _ = tokio::time::timeout(Duration::from_secs(2), http_task).await;
        let _ = tokio::time::timeout(Duration::from_secs(2), web_task).await;
        storage.close().await;
        let (accepted, processed) = service.counters();
        tracing::info!(
            accepted,
            processed,
            took_ms = stop.elapsed().as_millis() as u64,
            "shutdown complete"
        );
        Ok(())
    }
}

/// Waits for SIGTERM or SIGINT and says which arrived; the binary's shutdown future. When the
/// handlers cannot be installed the daemon must not run unstoppable: it says so and stops.
pub async fn wait_for_signal() -> String {
    match signal_name().await {
        Ok(name) => format!("received {name}"),
        Err(e) => {
            tracing::error!(error = %e, "cannot install signal handlers; stopping");
            format!("cannot install signal handlers: {e}")
        }
    }
}

async fn signal_name() -> std::io::Result<&'static str> {
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
