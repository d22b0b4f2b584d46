//! Dashboard sessions in Redis: a random id in an `HttpOnly` cookie, the user and their CSRF
//! token on the server (TTL `web.session_ttl`; logout deletes them), the pending logins'
//! `state` and PKCE verifiers, and the per-address login rate limit.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use redis::aio::ConnectionManager;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "usmca_session";
/// The cookie that ties a login's `state` to the browser that started it.
pub const LOGIN_COOKIE: &str = "usmca_login";
/// How long a started login may take.
pub const LOGIN_TTL: Duration = Duration::from_secs(600);

/// A guild from the user's OAuth guild list (their claim at login; rights are re-checked).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SessionGuild {
    /// Guild id.
    pub id: u64,
    /// Name.
    pub name: String,
}

/// A logged-in user.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Session {
    /// Discord user id.
    pub user_id: u64,
    /// Display name.
    pub username: String,
    /// Guilds from `/users/@me/guilds`.
    pub guilds: Vec<SessionGuild>,
    /// CSRF token every state-changing request must carry.
    pub csrf: String,
}

/// A login in progress: the PKCE verifier and where to go afterwards.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PendingLogin {
    /// PKCE code verifier.
    pub verifier: String,
    /// Local path to return to.
    pub next: String,
}

/// Why the session store failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Redis failed.
    #[error("session store (Redis): {0}")]
    Redis(#[from] redis::RedisError),
    /// A stored value could not be read back.
    #[error("session store: unreadable value: {0}")]
    Decode(#[from] serde_json::Error),
}

/// `n` random bytes, base64url without padding.
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The session store.
#[derive(Clone)]
pub struct Sessions {
    conn: ConnectionManager,
    prefix: String,
    ttl: Duration,
}

impl Sessions {
    /// Connects to Redis at `url`; every key starts with `prefix` + `web:`.
    pub async fn connect(url: &str, prefix: &str, ttl: Duration) -> Result<Self, SessionError> {
        let client = redis::Client::open(url)?;
        let conn = ConnectionManager::new(client).await?;
        Ok(Self {
            conn,
            prefix: format!("{prefix}web:"),
            ttl,
        })
    }

    /// How long a session lasts.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}:{id}", self.prefix)
    }

    /// Stores a new session; returns its id.
    pub async fn create(&self, s: &Session) -> Result<String, SessionError> {
        let id = random_token(32);
        let mut c = self.conn.clone();
        let _: () = c
            .set_ex(
                self.key("session", &id),
                serde_json::to_string(s)?,
                self.ttl.as_secs(),
            )
            .await?;
        Ok(id)
    }

    /// The session with this id, if it exists and has not expired.
    pub async fn get(&self, id: &str) -> Result<Option<Session>, SessionError> {
        if id.is_empty() || id.len() > 64 {
            return Ok(None);
        }
        let mut c = self.conn.clone();
        let raw: Option<String> = c.get(self.key("session", id)).await?;
        Ok(raw.map(|r| serde_json::from_str(&r)).transpose()?)
    }

    /// Deletes a session (logout).
    pub async fn delete(&self, id: &str) -> Result<(), SessionError> {
        let mut c = self.conn.clone();
        let _: () = c.del(self.key("session", id)).await?;
        Ok(())
    }

    /// Remembers a started login under its `state`.
    pub async fn put_login(&self, state: &str, p: &PendingLogin) -> Result<(), SessionError> {
        let mut c = self.conn.clone();
        let _: () = c
            .set_ex(
                self.key("login", state),
                serde_json::to_string(p)?,
                LOGIN_TTL.as_secs(),
            )
            .await?;
        Ok(())
    }

    /// Takes a started login (once: a replayed callback finds nothing).
    pub async fn take_login(&self, state: &str) -> Result<Option<PendingLogin>, SessionError> {
        if state.is_empty() || state.len() > 128 {
            return Ok(None);
        }
        let mut c = self.conn.clone();
        let raw: Option<String> = redis::cmd("GETDEL")
            .arg(self.key("login", state))
            .query_async(&mut c)
            .await?;
        Ok(raw.map(|r| serde_json::from_str(&r)).transpose()?)
    }

    /// Counts one login attempt from `who` in the current minute; false above `per_minute`.
    pub async fn login_allowed(&self, who: &str, per_minute: u32) -> Result<bool, SessionError> {
        let minute = chrono::Utc::now().timestamp() / 60;
        let key = self.key("login-rate", &format!("{who}:{minute}"));
        let mut c = self.conn.clone();
        let n: u64 = c.incr(&key, 1).await?;
        if n == 1 {
            let _: () = c.expire(&key, 120).await?;
        }
        Ok(n <= u64::from(per_minute))
    }
}

/// The value of cookie `name` in a request's `Cookie` headers.
pub fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Lax`, `Path=/`, `Secure` when `secure`.
pub fn set_cookie(name: &str, value: &str, max_age: Duration, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{}",
        max_age.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let a = random_token(32);
        let b = random_token(32);
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
        assert!(!same_secret("", "a"));
    }

    #[test]
    fn cookies_are_read_and_flagged() {
        let mut h = axum::http::HeaderMap::new();
        h.insert(
            axum::http::header::COOKIE,
            "a=1; usmca_session=xyz; b=2".parse().expect("header"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("xyz"));
        assert_eq!(cookie(&h, "missing"), None);
        let c = set_cookie(SESSION_COOKIE, "v", Duration::from_secs(60), true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.ends_with("Secure"));
        assert!(!set_cookie("n", "v", Duration::from_secs(1), false).contains("Secure"));
    }
}
