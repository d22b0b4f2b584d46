//! The web dashboard and appeal portal, served by the daemon on `web.addr` (axum).
//!
//! Server-rendered pages (maud templates, escaped by default) with htmx for partial updates;
//! every asset is embedded (`assets.rs`) and served under a strict Content-Security-Policy.
//! Login is Discord OAuth2 with `state` and PKCE (`auth.rs`); sessions live in Redis
//! (`session.rs`). Every guild page checks the user's rights through the moderation service
//! (`guard.rs`): a guild the user may not see answers 404, as if it did not exist. Every POST
//! carries the session's CSRF token. Pages are thin: they parse, call `Moderation`, render.

mod assets;
mod auth;
mod guard;
mod layout;
mod pages;
mod portal;
mod session;

pub use assets::CSP;
pub use session::{Session, SessionGuild, SESSION_COOKIE};

use crate::moderation::{Moderation, ServiceError};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Why the dashboard could not run.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The address is taken or not ours.
    #[error("cannot listen on {addr}: {source}; change web.addr (USMCA_WEB__ADDR)")]
    Bind {
        /// Address.
        addr: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Sessions need Redis.
    #[error("the dashboard keeps its sessions in Redis, which did not answer: {0}; check redis.url (REDIS_URL)")]
    Sessions(#[from] session::SessionError),
    /// The server stopped with an error.
    #[error("dashboard server: {0}")]
    Serve(std::io::Error),
}

/// What a page answers when it cannot show what was asked.
#[derive(Debug)]
pub enum PageError {
    /// Not logged in: to the login page, then back to `next`.
    Login(String),
    /// Unknown, or not the user's to see (the same answer, so nothing leaks).
    NotFound,
    /// Missing or wrong CSRF token, or a right the user lacks on a guild they may see.
    Forbidden(String),
    /// The request is wrong; the text says what to fix.
    BadRequest(String),
    /// Too many attempts.
    TooMany(String),
    /// Something failed on our side.
    Internal(String),
}

impl From<ServiceError> for PageError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound(_) => PageError::NotFound,
            ServiceError::Forbidden(m) => PageError::Forbidden(m),
            ServiceError::Invalid(m) | ServiceError::Conflict(m) => PageError::BadRequest(m),
            other => PageError::Internal(other.to_string()),
        }
    }
}

impl From<session::SessionError> for PageError {
    fn from(e: session::SessionError) -> Self {
        PageError::Internal(e.to_string())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, text) = match self {
            PageError::Login(next) => {
                return Redirect::to(&format!("/login?next={}", auth::encode(&next)))
                    .into_response()
            }
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing here, or it is not yours to see.".to_string(),
            ),
            PageError::Forbidden(m) => (StatusCode::FORBIDDEN, "Not allowed", m),
            PageError::BadRequest(m) => (StatusCode::BAD_REQUEST, "Please check", m),
            PageError::TooMany(m) => (StatusCode::TOO_MANY_REQUESTS, "Slow down", m),
            PageError::Internal(m) => {
                tracing::warn!(error = %m, "dashboard request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something failed",
                    "The bot could not complete this; try again in a moment. The operator's log says why."
                        .to_string(),
                )
            }
        };
        (status, layout::error_page(title, &text)).into_response()
    }
}

/// Shared state of the dashboard.
#[derive(Clone)]
pub struct WebState {
    inner: Arc<Inner>,
}

struct Inner {
    service: Arc<Moderation>,
    sessions: session::Sessions,
    http: reqwest::Client,
}

impl WebState {
    fn service(&self) -> &Arc<Moderation> {
        &self.inner.service
    }

    fn sessions(&self) -> &session::Sessions {
        &self.inner.sessions
    }

    /// Whether cookies get `Secure` (the public URL is https).
    fn secure(&self) -> bool {
        self.service()
            .cfg()
            .web
            .public_url
            .trim()
            .starts_with("https://")
    }
}

/// The routes.
pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/", get(pages::home::home))
        .route("/login", get(auth::login))
        .route("/auth/callback", get(auth::callback))
        .route("/logout", post(auth::logout))
        .route("/assets/{name}", get(assets::asset))
        .route("/me", get(portal::my_cases))
        .route("/me/cases/{case_id}", get(portal::my_case))
        .route("/me/cases/{case_id}/appeal", post(portal::file_appeal))
        .merge(pages::routes())
        .fallback(|| async { PageError::NotFound })
        .layer(axum::middleware::from_fn(assets::security_headers))
        .with_state(state)
}

/// Runs the dashboard on `web.addr` until `shutdown` is cancelled, when a client secret is
/// configured; otherwise says how to turn it on and returns.
pub async fn serve(
    service: Arc<Moderation>,
    shutdown: CancellationToken,
    on_bound: impl FnOnce(SocketAddr),
) -> Result<(), WebError> {
    let cfg = service.cfg();
    if !cfg.web.enabled() {
        tracing::info!("web dashboard off: set DISCORD_CLIENT_SECRET (and web.public_url) to turn it on; see docs/dashboard.md");
        return Ok(());
    }
    let sessions = session::Sessions::connect(
        cfg.redis.url.expose(),
        &cfg.redis.key_prefix,
        cfg.web.session_ttl.value(),
    )
    .await?;
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| WebError::Serve(std::io::Error::other(e)))?;
    let state = WebState {
        inner: Arc::new(Inner {
            service,
            sessions,
            http,
        }),
    };
    let listener = tokio::net::TcpListener::bind(cfg.web.addr.as_str())
        .await
        .map_err(|source| WebError::Bind {
            addr: cfg.web.addr.clone(),
            source,
        })?;
    if let Ok(a) = listener.local_addr() {
        on_bound(a);
    }
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
        .map_err(WebError::Serve)
}
