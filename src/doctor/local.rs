//! The checks that need no Discord: Postgres, Redis, the model, the HTTP listener.

use super::Check;
use crate::classifier::Classifier;
use crate::config::Config;
use crate::state::RedisState;
use crate::storage::Storage;
use std::time::Duration;

/// How long each connection may take.
const WAIT: Duration = Duration::from_secs(5);

/// Postgres answers and its schema is current; returns the connection for the channel checks.
pub async fn postgres(config: &Config, checks: &mut Vec<Check>) -> Option<Storage> {
    let storage = match tokio::time::timeout(WAIT, Storage::connect(&config.database)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            let text = e.to_string();
            let fix = if text.contains("password authentication failed")
                || text.contains("authentication")
            {
                "the user or password in DATABASE_URL is wrong: use the ones Postgres was created with (with docker compose: POSTGRES_PASSWORD in .env, set before the first start; see docs/troubleshooting.md)"
            } else if text.contains("does not exist") {
                "create the database named in DATABASE_URL (createdb), or fix its name"
            } else {
                "start Postgres or fix DATABASE_URL (host, port, user, password, database)"
            };
            checks.push(Check::fail(
                format!("Postgres at {}: {text}", config.database.url),
                fix,
            ));
            return None;
        }
        Err(_) => {
            checks.push(Check::fail(
                format!(
                    "Postgres at {}: no answer within {}s",
                    config.database.url,
                    WAIT.as_secs()
                ),
                "start Postgres or fix the host and port in DATABASE_URL",
            ));
            return None;
        }
    };
    match storage.migration_status().await {
        Ok(m) if m.applied >= m.known => checks.push(Check::pass(format!(
            "Postgres reachable and migrated ({} of {} migrations)",
            m.applied, m.known
        ))),
        Ok(m) if config.database.migrate_on_start => checks.push(Check::warn(
            format!(
                "Postgres reachable, {} of {} migrations applied",
                m.applied, m.known
            ),
            "nothing to do: the daemon applies them at start (database.migrate_on_start), or run usmca-bot migrate now",
        )),
        Ok(m) => checks.push(Check::fail(
            format!(
                "Postgres reachable, {} of {} migrations applied and database.migrate_on_start is off",
                m.applied, m.known
            ),
            "run usmca-bot migrate",
        )),
        Err(e) => checks.push(Check::fail(
            format!("Postgres: cannot read the migrations table: {e}"),
            "give the database user read access to _sqlx_migrations, or run usmca-bot migrate",
        )),
    }
    Some(storage)
}

/// Redis answers a PING.
pub async fn redis(config: &Config, checks: &mut Vec<Check>) {
    let result = tokio::time::timeout(WAIT, async {
        let r = RedisState::connect(&config.redis).await?;
        r.ping().await
    })
    .await;
    match result {
        Ok(Ok(())) => checks.push(Check::pass(format!(
            "Redis reachable at {}",
            config.redis.url
        ))),
        Ok(Err(e)) => checks.push(Check::fail(
            format!("Redis at {}: {e}", config.redis.url),
            "start Redis or fix REDIS_URL (the bot keeps moderating without it, with in-process windows only)",
        )),
        Err(_) => checks.push(Check::fail(
            format!(
                "Redis at {}: no answer within {}s",
                config.redis.url,
                WAIT.as_secs()
            ),
            "start Redis or fix the host and port in REDIS_URL",
        )),
    }
}

/// The model and the ONNX Runtime library load and classify.
pub async fn model(config: &Config) -> Check {
    let cfg = crate::config::ModelConfig {
        workers: 1,
        ..config.model.clone()
    };
    let loaded = tokio::task::spawn_blocking(move || {
        let c = Classifier::load(&cfg)?;
        let scores = c.classify_blocking(&["you idiot".to_string()])?;
        Ok::<_, crate::classifier::ClassifierError>((c.model_name().to_string(), scores))
    })
    .await;
    match loaded {
        Ok(Ok((name, _))) => Check::pass(format!("model {name} loads and classifies")),
        Ok(Err(e)) => Check::fail(
            format!("model: {e}"),
            "run scripts/setup-onnxruntime.sh (or set model.runtime_path), and check model.dir; docs/troubleshooting.md lists where the binary looks",
        ),
        Err(e) => Check::fail(
            format!("model: loading panicked: {e}"),
            "reinstall ONNX Runtime with scripts/setup-onnxruntime.sh",
        ),
    }
}

/// `http.addr` can be bound (or is already served, by a running daemon).
pub async fn http_listener(config: &Config) -> Check {
    let addr = &config.http.addr;
    match tokio::net::TcpListener::bind(addr.as_str()).await {
        Ok(_) => Check::pass(format!("HTTP listener address {addr} is free")),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Check::warn(
            format!("HTTP listener address {addr} is in use"),
            "fine if the bot is already running there; otherwise set http.addr (USMCA_HTTP__ADDR) to a free port",
        ),
        Err(e) => Check::fail(
            format!("HTTP listener address {addr}: {e}"),
            "set http.addr (USMCA_HTTP__ADDR) to an address of this host, e.g. 0.0.0.0:8080",
        ),
    }
}
