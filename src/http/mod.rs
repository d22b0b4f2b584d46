//! The operator's HTTP listener: `/healthz` (alive), `/readyz` (every dependency answers) and
//! `/metrics` (Prometheus text).

use crate::telemetry::Metrics;
use async_trait::async_trait;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How long one readiness probe may take before it counts as failing.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// One dependency `/readyz` checks: the gateway, the model, Postgres, Redis.
#[async_trait]
pub trait Probe: Send + Sync {
    /// Short name shown in the readiness report, e.g. `postgres`.
    fn name(&self) -> &str;
    /// `Ok(None)` when ready; `Ok(Some(why))` when the bot works around it (degraded:
    /// moderating, but e.g. not recording in Postgres); `Err(why)` when it is not ready.
    async fn check(&self) -> Result<Option<String>, String>;
}

/// Shared state of the listener.
#[derive(Clone)]
pub struct HttpState {
    metrics: Arc<Metrics>,
    probes: Arc<Vec<Arc<dyn Probe>>>,
    started: Instant,
}

impl HttpState {
    /// State serving `metrics` and checking `probes` for readiness.
    pub fn new(metrics: Arc<Metrics>, probes: Vec<Arc<dyn Probe>>) -> Self {
        Self {
            metrics,
            probes: Arc::new(probes),
            started: Instant::now(),
        }
    }
}

/// Why the listener could not run.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The address is taken or not ours.
    #[error("cannot listen on {addr}: {source}; change http.addr (USMCA_HTTP__ADDR)")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// The server stopped with an error.
    #[error("http server: {0}")]
    Serve(std::io::Error),
}

/// The routes.
pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Binds `addr` and serves until `shutdown` is cancelled. Returns the bound address through
/// `on_bound` (useful with port 0).
pub async fn serve(
    addr: SocketAddr,
    state: HttpState,
    shutdown: CancellationToken,
    on_bound: impl FnOnce(SocketAddr),
) -> Result<(), HttpError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| HttpError::Bind { addr, source })?;
    let bound = listener.local_addr().map_err(HttpError::Serve)?;
    on_bound(bound);
    tracing::info!(%bound, "http listener ready (/healthz, /readyz, /metrics)");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
        .map_err(HttpError::Serve)
}

async fn healthz(State(s): State<HttpState>) -> impl IntoResponse {
    Json(serde_json::json!({ "status": "alive", "uptime_seconds": s.started.elapsed().as_secs() }))
}

async fn readyz(State(s): State<HttpState>) -> Response {
    let checks = s.probes.iter().map(|p| {
        let p = p.clone();
        async move {
            let result: Result<Option<String>, String> =
                match tokio::time::timeout(PROBE_TIMEOUT, p.check()).await {
                    Ok(r) => r,
                    Err(_) => Err(format!("no answer within {}s", PROBE_TIMEOUT.as_secs())),
                };
            (p.name().to_string(), result)
        }
    });
    let results = futures::future::join_all(checks).await;
    let failing: Vec<serde_json::Value> = results
        .iter()
        .filter_map(|(name, r)| {
            r.as_ref()
                .err()
                .map(|e| serde_json::json!({ "component": name, "error": e }))
        })
        .collect();
    let degraded: Vec<serde_json::Value> = results
        .iter()
        .filter_map(|(name, r)| match r {
            Ok(Some(why)) => Some(serde_json::json!({ "component": name, "reason": why })),
            _ => None,
        })
        .collect();
    let components: serde_json::Map<String, serde_json::Value> = results
        .iter()
        .map(|(name, r)| {
            let state = match r {
                Ok(None) => "ok",
                Ok(Some(_)) => "degraded",
                Err(_) => "failing",
            };
            (name.clone(), serde_json::Value::from(state))
        })
        .collect();
    let ready = failing.is_empty();
    // Degraded is still ready: the bot moderates (and says what it works around).
    let status = match (ready, degraded.is_empty()) {
        (false, _) => "not ready",
        (true, true) => "ready",
        (true, false) => "degraded",
    };
    let body = serde_json::json!({
        "status": status,
        "components": components,
        "failing": failing,
        "degraded": degraded,
    });
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}

async fn metrics(State(s): State<HttpState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// A probe whose answer the test sets: up (true/false) and degraded.
    struct Flag(&'static str, AtomicBool, AtomicBool);

    #[async_trait]
    impl Probe for Flag {
        fn name(&self) -> &str {
            self.0
        }
        async fn check(&self) -> Result<Option<String>, String> {
            if !self.1.load(Ordering::SeqCst) {
                Err(format!("{} is down", self.0))
            } else if self.2.load(Ordering::SeqCst) {
                Ok(Some(format!("{} worked around", self.0)))
            } else {
                Ok(None)
            }
        }
    }

    async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
        let mut buf = String::new();
        s.read_to_string(&mut buf).await.unwrap();
        let code = buf[9..12].parse().unwrap();
        let body = buf.split("\r\n\r\n").nth(1).unwrap_or_default().to_string();
        (code, body)
    }

    #[tokio::test]
    async fn readiness_names_failing_components_and_recovers() {
        let redis = Arc::new(Flag(
            "redis",
            AtomicBool::new(false),
            AtomicBool::new(false),
        ));
        let model = Arc::new(Flag("model", AtomicBool::new(true), AtomicBool::new(false)));
        let metrics = Arc::new(Metrics::new());
        metrics.messages_received.inc();
        let state = HttpState::new(metrics, vec![model.clone(), redis.clone()]);
        let token = CancellationToken::new();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let server = tokio::spawn(serve(
            "127.0.0.1:0".parse().unwrap(),
            state,
            token.clone(),
            move |a| {
                let _ = tx.send(a);
            },
        ));
        let addr = rx.await.unwrap();

        assert_eq!(get(addr, "/healthz").await.0, 200);
        let (code, body) = get(addr, "/readyz").await;
        assert_eq!(code, 503);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["failing"][0]["component"], "redis");
        assert_eq!(v["components"]["model"], "ok");

        redis.1.store(true, Ordering::SeqCst);
        let (code, body) = get(addr, "/readyz").await;
        assert_eq!(code, 200);
        assert!(body.contains("\"status\":\"ready\""), "{body}");

        // Degraded: still ready (200), and it says what is worked around.
        model.2.store(true, Ordering::SeqCst);
        let (code, body) = get(addr, "/readyz").await;
        assert_eq!(code, 200);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["status"], "degraded");
        assert_eq!(v["components"]["model"], "degraded");
        assert_eq!(v["degraded"][0]["reason"], "model worked around");

        let (code, text) = get(addr, "/metrics").await;
        assert_eq!(code, 200);
        assert!(text.contains("usmca_messages_received_total 1"), "{text}");

        token.cancel();
        server.await.unwrap().unwrap();
    }
}
