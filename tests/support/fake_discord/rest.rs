//! The fake REST API: every request is recorded; moderation, messaging, command and
//! interaction routes answer with bodies serenity deserialises. Moderation routes change the
//! fake's state (see `state.rs`), which the `GET` routes answer from. The OAuth2 routes, and
//! every request with a bearer token, are answered by `oauth.rs`; everything else needs the
//! `/api/v10` prefix (404 without it).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use super::state::member_json;
use super::{events, lock, oauth, Fault, RecordedRequest, Shared};

pub(super) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let app = Router::new().fallback(handle).with_state(shared);
    // Ends only when the test drops the fake (the task is aborted).
    let _ = axum::serve(listener, app).await;
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let headers: HashMap<String, String> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = parse_body(&headers, &body);
    let mut request = RecordedRequest {
        method: method.as_str().to_owned(),
        path,
        query: uri.query().map(str::to_owned),
        headers,
        body,
        status: 0,
        at: Instant::now(),
        wall: chrono::Utc::now(),
    };
    let fault = shared.take_fault(method.as_str(), &request.path);
    let reply = match &fault {
        Some(fault) => Reply::from(fault_reply(fault)),
        None => oauth::route(&shared, &method, &request)
            .unwrap_or_else(|| Reply::from(route(&shared, &method, &request))),
    };
    request.status = reply.status.as_u16();
    let delay = shared.take_delay(method.as_str(), &request.path);
    // Recorded and applied before a delayed answer: a client that dies meanwhile leaves the
    // effect in place, as with the real Discord.
    shared.record(request);
    let mut resp = reply.into_response();
    // Discord mirrors the body's retry_after in the Retry-After header.
    if let Some(Fault::RateLimited { retry_after }) = fault {
        if let Ok(v) = retry_after.to_string().parse() {
            resp.headers_mut().insert("retry-after", v);
        }
    }
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    resp
}

/// The body as recorded: JSON when it parses as JSON, else for a form-encoded body an object
/// of its fields (strings; the last of a repeated name wins).
fn parse_body(headers: &HashMap<String, String>, body: &[u8]) -> Option<Value> {
    serde_json::from_slice(body).ok().or_else(|| {
        let form = headers
            .get("content-type")
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
        (form && !body.is_empty()).then(|| {
            Value::Object(
                url::form_urlencoded::parse(body)
                    .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                    .collect(),
            )
        })
    })
}

/// What the fake answers: a status, a body and, for redirects, a `Location`.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    body: ReplyBody,
    location: Option<String>,
}

enum ReplyBody {
    Empty,
    Json(Value),
    Text(String),
}

impl Reply {
    /// A JSON answer.
    pub(crate) fn json(status: StatusCode, v: Value) -> Self {
        Self {
            status,
            body: ReplyBody::Json(v),
            location: None,
        }
    }

    /// A plain-text answer.
    pub(crate) fn text(status: StatusCode, text: &str) -> Self {
        Self {
            status,
            body: ReplyBody::Text(text.to_owned()),
            location: None,
        }
    }

    /// 302 Found to `location`.
    pub(crate) fn redirect(location: &str) -> Self {
        Self {
            status: StatusCode::FOUND,
            body: ReplyBody::Empty,
            location: Some(location.to_owned()),
        }
    }

    fn into_response(self) -> Response {
        let mut resp = match self.body {
            ReplyBody::Json(v) => (self.status, axum::Json(v)).into_response(),
            ReplyBody::Text(t) => (self.status, t).into_response(),
            ReplyBody::Empty => self.status.into_response(),
        };
        if let Some(v) = self.location.and_then(|l| l.parse().ok()) {
            resp.headers_mut().insert(header::LOCATION, v);
        }
        resp
    }
}

impl From<(StatusCode, Option<Value>)> for Reply {
    fn from((status, body): (StatusCode, Option<Value>)) -> Self {
        Self {
            status,
            body: body.map_or(ReplyBody::Empty, ReplyBody::Json),
            location: None,
        }
    }
}

/// Status and JSON body (None → empty body) for an injected fault.
fn fault_reply(fault: &Fault) -> (StatusCode, Option<Value>) {
    match fault {
        Fault::RateLimited { retry_after } => (
            StatusCode::TOO_MANY_REQUESTS,
            Some(
                json!({"message": "You are being rate limited.", "retry_after": retry_after,
                        "global": false, "code": 0}),
            ),
        ),
        Fault::ServerError => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Some(json!({"message": "500: Internal Server Error", "code": 0})),
        ),
        Fault::Forbidden { code, message } => (
            StatusCode::FORBIDDEN,
            Some(json!({"message": message, "code": code})),
        ),
    }
}

fn not_found() -> (StatusCode, Option<Value>) {
    (
        StatusCode::NOT_FOUND,
        Some(json!({"message": "404: Not Found", "code": 0})),
    )
}

/// 404 with a Discord error code (10007 Unknown Member, 10008 Unknown Message, 10026 Unknown
/// Ban).
fn unknown(code: i64, message: &str) -> (StatusCode, Option<Value>) {
    (
        StatusCode::NOT_FOUND,
        Some(json!({"message": message, "code": code})),
    )
}

fn id(segment: &str) -> u64 {
    segment.parse().unwrap_or(0)
}

fn route(
    shared: &Shared,
    method: &Method,
    request: &RecordedRequest,
) -> (StatusCode, Option<Value>) {
    let body = request.body.as_ref();
    let Some(rest) = request.path.strip_prefix("/api/v10/") else {
        return not_found();
    };
    let seg: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let field = |k: &str| body.and_then(|b| b.get(k)).cloned().unwrap_or(Value::Null);
    let ok = |v: Value| (StatusCode::OK, Some(v));
    let no_content = (StatusCode::NO_CONTENT, None);
    let bot = events::Author {
        id: shared.cfg.bot_user_id,
        name: "usmca-bot".into(),
        roles: Vec::new(),
        bot: true,
    };
    let posted = |channel: &str| {
        let channel_id = channel.parse::<u64>().unwrap_or(0);
        let content = field("content");
        let mut m = events::dm_message(
            channel_id,
            shared.snowflake(),
            &bot,
            content.as_str().unwrap_or_default(),
        );
        m["embeds"] = body
            .and_then(|b| b.get("embeds"))
            .cloned()
            .unwrap_or(json!([]));
        m["components"] = body
            .and_then(|b| b.get("components"))
            .cloned()
            .unwrap_or(json!([]));
        m
    };
    match (method.as_str(), seg.as_slice()) {
        ("GET", ["gateway"]) => ok(json!({"url": shared.gateway_url})),
        ("GET", ["gateway", "bot"]) => ok(json!({
            "url": shared.gateway_url, "shards": shared.cfg.recommended_shards,
            "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1},
        })),
        ("GET", ["users", "@me"]) => ok(events::user(shared.cfg.bot_user_id, "usmca-bot", true)),
        ("GET", ["oauth2", "applications", "@me"]) => ok(json!({
            "id": shared.cfg.application_id.to_string(), "name": "usmca-bot", "icon": null,
            "description": "", "bot_public": true, "bot_require_code_grant": false,
            "verify_key": "", "flags": shared.cfg.application_flags,
            "bot": events::user(shared.cfg.bot_user_id, "usmca-bot", true),
        })),
        ("GET", ["users", "@me", "guilds"]) => ok(json!(shared
            .cfg
            .guilds
            .iter()
            .map(
                |g| json!({"id": g.id.to_string(), "name": g.name, "icon": null,
                            "owner": false, "permissions": "0", "features": []})
            )
            .collect::<Vec<_>>())),
        ("GET", ["guilds", g]) => match shared.cfg.guilds.iter().find(|s| s.id == id(g)) {
            Some(spec) => ok(events::guild_rest(spec)),
            None => unknown(10_004, "Unknown Guild"),
        },
        ("GET", ["guilds", g, "channels"]) => {
            match shared.cfg.guilds.iter().find(|s| s.id == id(g)) {
                Some(spec) => ok(json!(events::channels(spec))),
                None => unknown(10_004, "Unknown Guild"),
            }
        }
        ("GET", ["guilds", g, "members"]) => {
            let g = id(g);
            let state = lock(&shared.state);
            let members: Vec<Value> = shared
                .cfg
                .guilds
                .iter()
                .filter(|s| s.id == g)
                .flat_map(|s| &s.members)
                .filter(|m| state.member(g, m.id).present)
                .map(|m| member_json(&shared.cfg.guilds, g, m.id, &state.member(g, m.id)))
                .collect();
            ok(json!(members))
        }
        ("PATCH", ["guilds", g, "members", u]) => {
            let (g, u) = (id(g), id(u));
            let mut state = lock(&shared.state);
            if let Some(until) = body.and_then(|b| b.get("communication_disabled_until")) {
                state.set_timeout(g, u, until.as_str().map(str::to_owned));
            }
            ok(member_json(&shared.cfg.guilds, g, u, &state.member(g, u)))
        }
        ("GET", ["guilds", g, "members", u]) => {
            let (g, u) = (id(g), id(u));
            let member = lock(&shared.state).member(g, u);
            if member.present {
                ok(member_json(&shared.cfg.guilds, g, u, &member))
            } else {
                unknown(10_007, "Unknown Member")
            }
        }
        ("DELETE", ["guilds", g, "members", u]) => {
            lock(&shared.state).kick(id(g), id(u));
            no_content
        }
        ("PUT", ["guilds", g, "bans", u]) => {
            lock(&shared.state).ban(id(g), id(u), request.audit_reason());
            no_content
        }
        ("DELETE", ["guilds", g, "bans", u]) => {
            if lock(&shared.state).unban(id(g), id(u)) {
                no_content
            } else {
                unknown(10_026, "Unknown Ban")
            }
        }
        ("GET", ["guilds", g, "bans", u]) => match lock(&shared.state).ban_of(id(g), id(u)) {
            Some(reason) => {
                ok(json!({"reason": reason, "user": events::user(id(u), "member", false)}))
            }
            None => unknown(10_026, "Unknown Ban"),
        },
        ("DELETE", ["channels", c, "messages", m]) => {
            if lock(&shared.state).delete_message(id(c), id(m)) {
                no_content
            } else {
                unknown(10_008, "Unknown Message")
            }
        }
        ("GET", ["channels", c, "messages", m]) => {
            let state = lock(&shared.state);
            if state.is_deleted(id(c), id(m)) {
                unknown(10_008, "Unknown Message")
            } else {
                ok(state.message(id(c), id(m)))
            }
        }
        ("POST", ["interactions", _, _, "callback"]) => no_content,
        ("POST", ["users", "@me", "channels"]) => {
            let recipient = field("recipient_id");
            let rid = events::snowflake_of(&recipient).unwrap_or(0);
            ok(
                json!({"id": shared.snowflake().to_string(), "type": 1, "last_message_id": null,
                      "recipients": [events::user(rid, "member", false)]}),
            )
        }
        ("POST", ["channels", c, "messages"]) => {
            let m = posted(c);
            lock(&shared.state).remember_message(&m);
            ok(m)
        }
        ("PATCH", ["channels", c]) => {
            let mut state = lock(&shared.state);
            if let Some(secs) = field("rate_limit_per_user").as_u64() {
                state.set_slowmode(id(c), secs);
            }
            let mut v = state.channel(id(c));
            v["rate_limit_per_user"] = field("rate_limit_per_user");
            ok(v)
        }
        ("GET", ["channels", c]) => ok(lock(&shared.state).channel(id(c))),
        ("PUT", ["channels", c, "permissions", t]) => {
            let bits = |k: &str| {
                field(k)
                    .as_str()
                    .and_then(|v| v.parse::<u64>().ok())
                    .or_else(|| field(k).as_u64())
                    .unwrap_or(0)
            };
            let kind = field("type").as_u64().unwrap_or(0) as u8;
            lock(&shared.state).set_overwrite(id(c), id(t), kind, bits("allow"), bits("deny"));
            no_content
        }
        ("DELETE", ["channels", c, "permissions", t]) => {
            lock(&shared.state).delete_overwrite(id(c), id(t));
            no_content
        }
        ("PUT", ["applications", app, "commands"]) => ok(commands(shared, app, None, body)),
        ("PUT", ["applications", app, "guilds", g, "commands"]) => {
            ok(commands(shared, app, Some(g), body))
        }
        ("POST", ["webhooks", _, _]) | ("PATCH", ["webhooks", _, _, "messages", _]) => {
            ok(posted(&shared.snowflake().to_string()))
        }
        _ => not_found(),
    }
}

/// Echoes a bulk command registration with ids, as Discord does.
fn commands(shared: &Shared, app: &str, guild: Option<&str>, body: Option<&Value>) -> Value {
    let list = body.and_then(Value::as_array).cloned().unwrap_or_default();
    let out: Vec<Value> = list
        .into_iter()
        .map(|mut c| {
            c["id"] = json!(shared.snowflake().to_string());
            c["application_id"] = json!(app);
            c["version"] = json!(shared.snowflake().to_string());
            if c.get("type").is_none_or(Value::is_null) {
                c["type"] = json!(1);
            }
            if c.get("description").is_none_or(Value::is_null) {
                c["description"] = json!("");
            }
            if let Some(g) = guild {
                c["guild_id"] = json!(g);
            }
            c
        })
        .collect();
    json!(out)
}
