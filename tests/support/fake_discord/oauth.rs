//! Discord's OAuth2 authorization-code grant with PKCE, for logging a web dashboard in:
//! `GET /oauth2/authorize` (outside `/api/v10`, as on discord.com) logs in as the user chosen
//! with [`super::FakeDiscord::set_oauth_user`] and redirects straight back with a one-time
//! code (the real Discord shows a consent page first); `POST /api/v10/oauth2/token` trades
//! the code (or a refresh token) for a bearer token; `GET /api/v10/users/@me` and
//! `/users/@me/guilds` with `Authorization: Bearer ...` answer for that user. A bearer token
//! on any other route is refused with 401, as Discord refuses it on bot-only routes.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::distr::{Alphanumeric, SampleString};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::events::{self, GuildSpec, ALL_PERMISSIONS};
use super::rest::Reply;
use super::{lock, RecordedRequest, Shared};

/// How long an authorization code can be traded for a token.
pub const CODE_LIFETIME: Duration = Duration::from_secs(600);
/// `expires_in` of the access tokens (seconds; a week, as Discord's).
pub const TOKEN_LIFETIME_SECS: u64 = 604_800;

/// A Discord user who can log in through the fake's OAuth2 flow.
#[derive(Debug, Clone)]
pub struct OAuthUser {
    /// User id.
    pub id: u64,
    /// Username (also the `global_name`).
    pub username: String,
    /// What `GET /users/@me/guilds` answers for them.
    pub guilds: Vec<OAuthGuild>,
}

/// A guild in an OAuth user's `GET /users/@me/guilds` (a partial guild).
#[derive(Debug, Clone)]
pub struct OAuthGuild {
    /// Guild id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Whether the user owns it.
    pub owner: bool,
    /// The user's permission bits in it (answered as a decimal string).
    pub permissions: u64,
}

impl OAuthUser {
    /// A user in no guild.
    pub fn new(id: u64, username: &str) -> Self {
        Self {
            id,
            username: username.to_owned(),
            guilds: Vec::new(),
        }
    }

    /// In guild `id`, not as its owner, with these permission bits.
    pub fn guild(mut self, id: u64, name: &str, permissions: u64) -> Self {
        self.guilds.push(OAuthGuild {
            id,
            name: name.to_owned(),
            owner: false,
            permissions,
        });
        self
    }

    /// Owner of guild `id` (every permission bit).
    pub fn owned_guild(mut self, id: u64, name: &str) -> Self {
        self.guilds.push(OAuthGuild {
            id,
            name: name.to_owned(),
            owner: true,
            permissions: ALL_PERMISSIONS,
        });
        self
    }

    /// In the guild of `spec`, with the ownership and permissions that spec gives this user
    /// ([`GuildSpec::permissions_of`]), so `/users/@me/guilds` agrees with the bot's view.
    pub fn member_of(mut self, spec: &GuildSpec) -> Self {
        self.guilds.push(OAuthGuild {
            id: spec.id,
            name: spec.name.clone(),
            owner: spec.owner_id == self.id,
            permissions: spec.permissions_of(self.id),
        });
        self
    }
}

/// An issued authorization code and what it is bound to.
#[derive(Debug)]
struct Grant {
    user: u64,
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    scope: String,
    issued: Instant,
    used: bool,
    expired: bool,
}

/// Whose a bearer or refresh token is, and its scopes.
#[derive(Debug, Clone)]
struct Token {
    user: u64,
    scope: String,
}

/// The flow's state: the user the authorize page logs in as, codes and tokens.
#[derive(Debug, Default)]
pub(crate) struct OAuthState {
    /// Set by `FakeDiscord::set_oauth_user`.
    pub(crate) user: Option<u64>,
    codes: HashMap<String, Grant>,
    access: HashMap<String, Token>,
    refresh: HashMap<String, Token>,
}

impl OAuthState {
    /// How many authorization codes the authorize page has handed out.
    pub(crate) fn codes_issued(&self) -> usize {
        self.codes.len()
    }

    /// Makes every code issued so far expired, as if ten minutes had passed.
    pub(crate) fn expire_codes(&mut self) {
        for g in self.codes.values_mut() {
            g.expired = true;
        }
    }

    /// Issues an access and a refresh token for `token`'s user and scopes: the token response.
    fn issue(&mut self, token: Token) -> Value {
        let access = random_token();
        let refresh = random_token();
        let scope = token.scope.clone();
        self.access.insert(access.clone(), token.clone());
        self.refresh.insert(refresh.clone(), token);
        json!({"access_token": access, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME_SECS,
               "refresh_token": refresh, "scope": scope})
    }
}

fn random_token() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 30)
}

/// base64url without padding of SHA-256(`verifier`): the S256 code challenge.
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The OAuth2 routes, and any request carrying a bearer token; `None` for everything else
/// (bot routes, answered by `rest::route`).
pub(super) fn route(shared: &Shared, method: &Method, request: &RecordedRequest) -> Option<Reply> {
    match (method.as_str(), request.path.trim_end_matches('/')) {
        ("GET", "/oauth2/authorize") => Some(authorize(shared, request)),
        ("POST", "/api/v10/oauth2/token") => Some(token(shared, request)),
        (m, path) => {
            let bearer = request
                .header("authorization")
                .and_then(|a| scheme_value(a, "Bearer"))?;
            Some(bearer_route(shared, m, path, bearer))
        }
    }
}

/// The credentials after `scheme ` in an Authorization header (scheme case-insensitive).
fn scheme_value<'a>(header: &'a str, scheme: &str) -> Option<&'a str> {
    let (s, v) = header.trim().split_once(' ')?;
    s.eq_ignore_ascii_case(scheme).then(|| v.trim())
}

fn unauthorized() -> Reply {
    Reply::json(
        StatusCode::UNAUTHORIZED,
        json!({"message": "401: Unauthorized", "code": 0}),
    )
}

/// `/users/@me` and `/users/@me/guilds` for the token's user; 401 for an unknown token, a
/// missing `guilds` scope, or any other route.
fn bearer_route(shared: &Shared, method: &str, path: &str, bearer: &str) -> Reply {
    let Some(token) = lock(&shared.oauth).access.get(bearer).cloned() else {
        return unauthorized();
    };
    let Some(user) = shared.cfg.oauth_users.iter().find(|u| u.id == token.user) else {
        return unauthorized();
    };
    let has = |scope: &str| token.scope.split_whitespace().any(|s| s == scope);
    match (method, path) {
        ("GET", "/api/v10/users/@me") if has("identify") => {
            let mut v = events::user(user.id, &user.username, false);
            if let Some(o) = v.as_object_mut() {
                o.remove("bot");
                for (k, val) in [
                    ("banner", Value::Null),
                    ("accent_color", Value::Null),
                    ("public_flags", json!(0)),
                    ("flags", json!(0)),
                    ("locale", json!("en-US")),
                    ("mfa_enabled", json!(false)),
                    ("premium_type", json!(0)),
                ] {
                    o.insert(k.to_owned(), val);
                }
            }
            Reply::json(StatusCode::OK, v)
        }
        ("GET", "/api/v10/users/@me/guilds") if has("guilds") => {
            let guilds: Vec<Value> = user
                .guilds
                .iter()
                .map(|g| {
                    json!({"id": g.id.to_string(), "name": g.name, "icon": null, "banner": null,
                           "owner": g.owner, "permissions": g.permissions.to_string(),
                           "features": []})
                })
                .collect();
            Reply::json(StatusCode::OK, json!(guilds))
        }
        _ => unauthorized(),
    }
}

/// `GET /oauth2/authorize`: checks the request, then redirects back with a code and the state.
fn authorize(shared: &Shared, request: &RecordedRequest) -> Reply {
    let q: HashMap<String, String> =
        url::form_urlencoded::parse(request.query.as_deref().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let get = |k: &str| q.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let bad = |why: &str| Reply::text(StatusCode::BAD_REQUEST, why);
    let Some(client_id) = get("client_id") else {
        return bad("missing client_id");
    };
    if client_id != shared.cfg.application_id.to_string() {
        return bad("unknown client_id (the fake's application_id is the only client)");
    }
    let Some(redirect_uri) = get("redirect_uri") else {
        return bad("missing redirect_uri");
    };
    let Ok(mut location) = url::Url::parse(redirect_uri) else {
        return bad("redirect_uri is not an absolute URL");
    };
    match get("response_type") {
        Some("code") => {}
        Some(_) => return bad("response_type must be code"),
        None => return bad("missing response_type"),
    }
    let Some(scope) = get("scope") else {
        return bad("missing scope");
    };
    if !scope.split_whitespace().any(|s| s == "identify") {
        return bad("scope must include identify");
    }
    let Some(state) = get("state") else {
        return bad("missing state");
    };
    let Some(challenge) = get("code_challenge") else {
        return bad("missing code_challenge");
    };
    match get("code_challenge_method") {
        Some("S256") => {}
        Some(_) => return bad("code_challenge_method must be S256"),
        None => return bad("missing code_challenge_method"),
    }
    let mut oauth = lock(&shared.oauth);
    let Some(user) = oauth.user else {
        return bad("no user is logged in (FakeDiscord::set_oauth_user)");
    };
    let code = random_token();
    oauth.codes.insert(
        code.clone(),
        Grant {
            user,
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            code_challenge: challenge.to_owned(),
            scope: scope.split_whitespace().collect::<Vec<_>>().join(" "),
            issued: Instant::now(),
            used: false,
            expired: false,
        },
    );
    location
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", state);
    Reply::redirect(location.as_str())
}

fn invalid_grant(description: &str) -> Reply {
    Reply::json(
        StatusCode::BAD_REQUEST,
        json!({"error": "invalid_grant", "error_description": description}),
    )
}

fn invalid_request(description: &str) -> Reply {
    Reply::json(
        StatusCode::BAD_REQUEST,
        json!({"error": "invalid_request", "error_description": description}),
    )
}

/// `client_id:client_secret` of an HTTP Basic Authorization header (each form-urlencoded, as
/// RFC 6749 asks); `Some(None)` when the header is there but malformed.
fn basic_credentials(request: &RecordedRequest) -> Option<Option<(String, String)>> {
    let encoded = request
        .header("authorization")
        .and_then(|a| scheme_value(a, "Basic"))?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some(
        STANDARD
            .decode(encoded)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| {
                let (id, secret) = s.split_once(':')?;
                Some((decode(id), decode(secret)))
            }),
    )
}

/// `POST /api/v10/oauth2/token`: the authorization-code and refresh-token grants.
fn token(shared: &Shared, request: &RecordedRequest) -> Reply {
    let is_form = request
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return invalid_request("the body must be application/x-www-form-urlencoded");
    }
    let field = |k: &str| request.body_field(k).filter(|v| !v.is_empty());
    let client = match basic_credentials(request) {
        Some(basic) => basic,
        None => field("client_id")
            .zip(field("client_secret"))
            .map(|(id, secret)| (id.to_owned(), secret.to_owned())),
    };
    let client_ok = client.as_ref().is_some_and(|(id, secret)| {
        *id == shared.cfg.application_id.to_string() && *secret == shared.cfg.oauth_client_secret
    });
    if !client_ok {
        return Reply::json(StatusCode::UNAUTHORIZED, json!({"error": "invalid_client"}));
    }
    let client_id = client.map(|(id, _)| id).unwrap_or_default();
    let mut oauth = lock(&shared.oauth);
    match field("grant_type") {
        Some("authorization_code") => {
            let Some(code) = field("code") else {
                return invalid_request("missing code");
            };
            let Some(grant) = oauth.codes.get_mut(code) else {
                return invalid_grant("Invalid \"code\" in request.");
            };
            if grant.used {
                return invalid_grant("Invalid \"code\" in request. (already used)");
            }
            if grant.expired || grant.issued.elapsed() >= CODE_LIFETIME {
                return invalid_grant("Invalid \"code\" in request. (expired)");
            }
            if grant.client_id != client_id {
                return invalid_grant("Invalid \"code\" in request. (another client's)");
            }
            if field("redirect_uri") != Some(grant.redirect_uri.as_str()) {
                return invalid_grant("Invalid \"redirect_uri\" in request.");
            }
            let verifier = field("code_verifier").unwrap_or_default();
            if s256_challenge(verifier) != grant.code_challenge {
                return invalid_grant("Invalid \"code_verifier\" in request.");
            }
            grant.used = true;
            let token = Token {
                user: grant.user,
                scope: grant.scope.clone(),
            };
            Reply::json(StatusCode::OK, oauth.issue(token))
        }
        Some("refresh_token") => {
            // Refresh tokens rotate: the one traded in stops working.
            let Some(token) = field("refresh_token").and_then(|t| oauth.refresh.remove(t)) else {
                return invalid_grant("Invalid \"refresh_token\" in request.");
            };
            Reply::json(StatusCode::OK, oauth.issue(token))
        }
        Some(_) => Reply::json(
            StatusCode::BAD_REQUEST,
            json!({"error": "unsupported_grant_type"}),
        ),
        None => invalid_request("missing grant_type"),
    }
}
