//! What the fake records (REST requests, gateway commands) and the faults it can inject.

use std::collections::HashMap;
use std::time::Instant;

use serde_json::Value;

/// One REST request as the fake received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path, e.g. `/api/v10/guilds/1/members/2`.
    pub path: String,
    /// Raw query string without `?` (serenity sends e.g. `&delete_message_seconds=0`).
    pub query: Option<String>,
    /// Headers, names lower-cased.
    pub headers: HashMap<String, String>,
    /// The body: parsed JSON, or for an `application/x-www-form-urlencoded` body (the OAuth2
    /// token endpoint's) a JSON object of its fields as strings; `None` when empty or neither.
    pub body: Option<Value>,
    /// Status the fake answered with.
    pub status: u16,
    /// When it arrived.
    pub at: Instant,
    /// When it arrived, on the wall clock (to compare with database timestamps).
    pub wall: chrono::DateTime<chrono::Utc>,
}

impl RecordedRequest {
    /// A header by (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The `X-Audit-Log-Reason` header, percent-decoded.
    pub fn audit_reason(&self) -> Option<String> {
        self.header("x-audit-log-reason").map(|v| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
    }

    /// Whether this is `method` on a path matching `pattern` (`*` matches one segment; the
    /// `/api/v10` prefix may be left out).
    pub fn is(&self, method: &str, pattern: &str) -> bool {
        self.method.eq_ignore_ascii_case(method) && path_matches(pattern, &self.path)
    }

    /// A string field of the body (a form field, or a JSON string).
    pub fn body_field(&self, name: &str) -> Option<&str> {
        self.body.as_ref()?.get(name)?.as_str()
    }

    /// A query parameter's value.
    pub fn query_param(&self, name: &str) -> Option<String> {
        let q = self.query.as_deref()?;
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
    }
}

/// `*` matches one path segment; a pattern without the `/api/v10` prefix gets it, except for
/// paths outside the API (`/oauth2/authorize`), which it is compared with as written.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let pattern = if pattern.starts_with("/api/") || !path.starts_with("/api/") {
        pattern.to_owned()
    } else {
        format!("/api/v10{pattern}")
    };
    let p: Vec<&str> = pattern.trim_end_matches('/').split('/').collect();
    let s: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    p.len() == s.len() && p.iter().zip(&s).all(|(a, b)| *a == "*" || a == b)
}

/// A canned failure for the next requests matching a route.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// 429 with `retry_after` (seconds) in the body and `Retry-After` header.
    RateLimited {
        /// Seconds to wait.
        retry_after: f64,
    },
    /// 500 with a JSON error body.
    ServerError,
    /// 403 with `{message, code}` (50013 missing permissions, 50007 cannot DM, ...).
    Forbidden {
        /// Discord error code.
        code: i64,
        /// Message.
        message: String,
    },
}

impl Fault {
    /// 403 / 50013 "Missing Permissions".
    pub fn missing_permissions() -> Self {
        Self::Forbidden {
            code: 50_013,
            message: "Missing Permissions".into(),
        }
    }

    /// 403 / 50007 "Cannot send messages to this user".
    pub fn cannot_dm() -> Self {
        Self::Forbidden {
            code: 50_007,
            message: "Cannot send messages to this user".into(),
        }
    }
}

/// A gateway payload a shard sent to the fake.
#[derive(Debug, Clone)]
pub struct GatewayCommand {
    /// Connection number (each websocket connection gets a new one).
    pub connection: u64,
    /// Opcode.
    pub op: u64,
    /// `d`.
    pub d: Value,
    /// When it arrived.
    pub at: Instant,
}
