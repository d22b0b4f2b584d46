//! The executor's Discord edge: typed moderation requests over serenity's [`Http`], with one
//! failure policy for all of them.
//!
//! - 429: with serenity's rate limiter (direct to Discord) it waits inside serenity; behind a
//!   proxy the 429 reaches us and we wait `retry_after` (header or JSON body), bounded.
//! - 5xx and transport errors: retried with exponential backoff and jitter, bounded attempts.
//! - 403 (missing permission, role hierarchy): permanent, never retried.
//! - Every 401/403/429 is counted by an [`InvalidRequestGuard`]; once its budget is spent no
//!   request is sent until the window moves on.
//!
//! Requests are built with serenity's own [`Request`]/[`Route`] and sent through its rate
//! limiter or (proxy mode) the same route substitution serenity uses, so the raw status,
//! headers and body stay visible here.

mod inspect;
mod message;
mod ops;

pub use message::{
    appeal_custom_id, parse_appeal_custom_id, AppealRef, Button, ButtonStyle, OutgoingMessage,
    APPEAL_CUSTOM_ID_PREFIX,
};
pub use ops::Delivery;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use rand::Rng;
use reqwest::header::{HeaderMap, HeaderValue};
use serde::Deserialize;
use serenity::http::{Http, LightMethod, Request, Route};

use super::guard::{counts_as_invalid, InvalidRequestGuard, INVALID_REQUEST_WINDOW};
use super::limits::audit_reason;

/// Discord's JSON error code for "Cannot send messages to this user" (DMs closed).
pub const CANNOT_DM_USER: i64 = 50_007;

/// Why a Discord REST call failed.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    /// 403: the bot lacks a permission or the target is above it in the role hierarchy.
    /// Permanent; fix the bot's role or permissions.
    #[error("Discord refused the action (403, code {code}): {message}; give the bot's role the needed permission and move it above the members it moderates")]
    Forbidden {
        /// Discord's JSON error code (0 when absent).
        code: i64,
        /// Discord's message.
        message: String,
    },
    /// The member does not accept DMs from the bot (403 / 50007); mention them in a channel instead.
    #[error("the member does not accept direct messages from the bot")]
    DmClosed,
    /// 401: the token is wrong or was reset.
    #[error("Discord rejected the bot token (401); set DISCORD_TOKEN to the current token")]
    Unauthorized,
    /// 404: the message, member or channel no longer exists.
    #[error("not found on Discord (404, code {code}): {message}")]
    NotFound {
        /// Discord's JSON error code.
        code: i64,
        /// Discord's message.
        message: String,
    },
    /// Any other 4xx: the request itself is wrong.
    #[error("Discord rejected the request ({status}, code {code}): {message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// Discord's JSON error code.
        code: i64,
        /// Discord's message.
        message: String,
    },
    /// Still rate limited after the allowed waits, or asked to wait longer than the bound.
    #[error("rate limited by Discord (retry after {retry_after:?}); giving up on this request")]
    RateLimited {
        /// The last wait Discord asked for.
        retry_after: Duration,
    },
    /// 5xx on every attempt.
    #[error("Discord kept failing ({status}) after {attempts} attempts")]
    Server {
        /// Last HTTP status.
        status: u16,
        /// Attempts made.
        attempts: u32,
    },
    /// The request could not be sent or the response not read, on every attempt.
    #[error("could not reach Discord after {attempts} attempts: {detail}")]
    Transport {
        /// Attempts made.
        attempts: u32,
        /// What went wrong last.
        detail: String,
    },
    /// Too many 401/403/429 responses in the sliding window; sending more risks an IP ban.
    #[error("stopped sending: {budget} invalid Discord responses (401/403/429) within 10 minutes; fix permissions or the token")]
    InvalidRequestBudget {
        /// The budget that was spent.
        budget: usize,
    },
    /// A successful response whose body was not what Discord documents.
    #[error("unexpected response body from Discord: {0}")]
    Decode(String),
    /// The request could not be built (e.g. a custom_id over 100 characters).
    #[error("invalid request: {0}")]
    Invalid(String),
}

/// Retry and safety bounds for [`RestClient`].
#[derive(Debug, Clone)]
pub struct RestPolicy {
    /// Most attempts per call (the first try included) for 5xx, transport errors and 429s.
    pub max_attempts: u32,
    /// First backoff after a 5xx; doubles each attempt.
    pub base_backoff: Duration,
    /// Longest backoff between attempts.
    pub max_backoff: Duration,
    /// Longest `retry_after` honoured; a longer one fails the call with [`RestError::RateLimited`].
    pub max_retry_after: Duration,
    /// Invalid (401/403/429) responses allowed per window.
    pub invalid_request_budget: usize,
    /// Window for the invalid-request budget.
    pub invalid_request_window: Duration,
}

impl Default for RestPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
            invalid_request_budget: super::guard::DEFAULT_INVALID_REQUEST_BUDGET,
            invalid_request_window: INVALID_REQUEST_WINDOW,
        }
    }
}

impl RestPolicy {
    /// Backoff before attempt `attempt + 1` (attempt ≥ 1): exponential, capped, with jitter in
    /// [d/2, d] so retrying shards do not stampede together.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        let d = self
            .base_backoff
            .saturating_mul(factor)
            .min(self.max_backoff);
        let half = d / 2;
        let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        half + Duration::from_millis(rand::rng().random_range(0..=jitter_ms))
    }
}

/// One request, kept as parts so it can be rebuilt for each attempt.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) method: LightMethod,
    pub(crate) route: Route<'static>,
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) params: Option<Vec<(&'static str, String)>>,
    pub(crate) reason: Option<String>,
}

impl Call {
    pub(crate) fn new(method: LightMethod, route: Route<'static>) -> Self {
        Self {
            method,
            route,
            body: None,
            params: None,
            reason: None,
        }
    }

    pub(crate) fn json(mut self, body: &serde_json::Value) -> Self {
        self.body = Some(body.to_string().into_bytes());
        self
    }

    pub(crate) fn reason(mut self, reason: &str) -> Self {
        self.reason = audit_reason(reason);
        self
    }

    fn request(&self) -> Result<Request<'static>, RestError> {
        let headers = match &self.reason {
            Some(r) => {
                // Same encoding serenity applies: any UTF-8 becomes a valid header value.
                let encoded = utf8_percent_encode(r, NON_ALPHANUMERIC).to_string();
                let value = HeaderValue::try_from(encoded)
                    .map_err(|e| RestError::Invalid(format!("audit-log reason: {e}")))?;
                let mut h = HeaderMap::new();
                h.insert("X-Audit-Log-Reason", value);
                Some(h)
            }
            None => None,
        };
        Ok(Request::new(self.route, self.method)
            .body(self.body.clone())
            .params(self.params.clone())
            .headers(headers))
    }
}

/// Discord's error body; every field optional because proxies and 5xx pages vary.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
    #[serde(default)]
    retry_after: Option<f64>,
}

/// Typed moderation requests against Discord; cheap to clone (shared guard and clients).
#[derive(Debug, Clone)]
pub struct RestClient {
    http: Arc<Http>,
    client: reqwest::Client,
    policy: RestPolicy,
    guard: Arc<Mutex<InvalidRequestGuard>>,
    metrics: Option<Arc<crate::telemetry::Metrics>>,
}

impl RestClient {
    /// A client over `http` with the default [`RestPolicy`].
    pub fn new(http: Arc<Http>) -> Result<Self, RestError> {
        Self::with_policy(http, RestPolicy::default())
    }

    /// A client over `http` with `policy`.
    pub fn with_policy(http: Arc<Http>, policy: RestPolicy) -> Result<Self, RestError> {
        let client = reqwest::Client::builder()
            .build()
            .map_err(|e| RestError::Transport {
                attempts: 0,
                detail: format!("building the HTTP client: {e}"),
            })?;
        let guard =
            InvalidRequestGuard::new(policy.invalid_request_budget, policy.invalid_request_window);
        Ok(Self {
            http,
            client,
            policy,
            guard: Arc::new(Mutex::new(guard)),
            metrics: None,
        })
    }

    /// Counts every response in `metrics` (`discord_requests_total{route,status}`, 429s).
    pub fn with_metrics(mut self, metrics: Arc<crate::telemetry::Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    fn count(&self, call: &Call, status: u16) {
        if let Some(m) = &self.metrics {
            // "GuildMember { guild_id: .., user_id: .. }" → "GuildMember": a bounded label set.
            let route = format!("{:?}", call.route);
            let name = route.split([' ', '{', '(']).next().unwrap_or("unknown");
            let label = format!("{} {name}", call.method.reqwest_method());
            m.discord_requests
                .with_label_values(&[label.as_str(), &status.to_string()])
                .inc();
            if status == 429 {
                m.discord_rate_limited.inc();
            }
        }
    }

    /// The serenity client underneath.
    pub fn http(&self) -> &Arc<Http> {
        &self.http
    }

    /// Invalid (401/403/429) responses counted in the current window.
    pub fn invalid_request_budget(&self) -> usize {
        self.policy.invalid_request_budget
    }

    /// Invalid (401/403/429) answers counted in the current window.
    pub fn invalid_requests(&self) -> usize {
        self.with_guard(|g| g.count(Instant::now()))
    }

    fn with_guard<T>(&self, f: impl FnOnce(&mut InvalidRequestGuard) -> T) -> T {
        // A poisoned lock only means another task panicked mid-update of a counter; keep going.
        let mut g = self.guard.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut g)
    }

    async fn execute_once(&self, call: &Call) -> Result<reqwest::Response, String> {
        let req = call.request().map_err(|e| e.to_string())?;
        match &self.http.ratelimiter {
            Some(rl) => rl.perform(req).await.map_err(|e| e.to_string()),
            None => {
                let builder = req
                    .build(&self.client, self.http.token(), self.http.proxy.as_deref())
                    .map_err(|e| e.to_string())?;
                let built = builder.build().map_err(|e| e.to_string())?;
                self.client.execute(built).await.map_err(|e| e.to_string())
            }
        }
    }

    /// Sends `call` under the failure policy; returns the body of the successful response.
    pub(crate) async fn send(&self, call: Call) -> Result<Vec<u8>, RestError> {
        let max = self.policy.max_attempts.max(1);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let budget = self.policy.invalid_request_budget;
            if !self.with_guard(|g| g.allows(Instant::now())) {
                return Err(RestError::InvalidRequestBudget { budget });
            }
            let resp = match self.execute_once(&call).await {
                Ok(r) => r,
                Err(detail) if attempt >= max => {
                    return Err(RestError::Transport {
                        attempts: attempt,
                        detail,
                    })
                }
                Err(detail) => {
                    tracing::warn!(attempt, %detail, "Discord request failed; retrying");
                    tokio::time::sleep(self.policy.backoff(attempt)).await;
                    continue;
                }
            };
            let status = resp.status().as_u16();
            self.count(&call, status);
            if counts_as_invalid(status) {
                self.with_guard(|g| g.record(Instant::now()));
            }
            let header_retry = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok());
            let body = match resp.bytes().await {
                Ok(b) => b.to_vec(),
                Err(e) if (200..300).contains(&status) => {
                    return Err(RestError::Decode(format!("reading body: {e}")))
                }
                Err(_) => Vec::new(),
            };
            if (200..300).contains(&status) {
                return Ok(body);
            }
            let err: ErrorBody = serde_json::from_slice(&body).unwrap_or_default();
            match status {
                429 => {
                    let secs = err.retry_after.or(header_retry).unwrap_or(1.0);
                    let wait = Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or(Duration::MAX);
                    if attempt >= max || wait > self.policy.max_retry_after {
                        return Err(RestError::RateLimited { retry_after: wait });
                    }
                    tracing::warn!(?wait, "rate limited by Discord; waiting");
                    tokio::time::sleep(wait).await;
                }
                500..=599 if attempt < max => {
                    tracing::warn!(status, attempt, "Discord server error; retrying");
                    tokio::time::sleep(self.policy.backoff(attempt)).await;
                }
                500..=599 => {
                    return Err(RestError::Server {
                        status,
                        attempts: attempt,
                    })
                }
                401 => return Err(RestError::Unauthorized),
                403 if err.code == CANNOT_DM_USER => return Err(RestError::DmClosed),
                403 => {
                    return Err(RestError::Forbidden {
                        code: err.code,
                        message: err.message,
                    })
                }
                404 => {
                    return Err(RestError::NotFound {
                        code: err.code,
                        message: err.message,
                    })
                }
                _ => {
                    return Err(RestError::Rejected {
                        status,
                        code: err.code,
                        message: err.message,
                    })
                }
            }
        }
    }
}
