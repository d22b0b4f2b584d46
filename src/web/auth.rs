//! Login with Discord: OAuth2 authorization code with `state` and PKCE (S256), scopes
//! `identify guilds`. With `discord.api_base` set, the authorize page, token and user calls go
//! there (tests run against a fake Discord).

use super::session::{
    cookie, random_token, same_secret, set_cookie, PendingLogin, Session, SessionGuild,
    LOGIN_COOKIE, LOGIN_TTL, SESSION_COOKIE,
};
use super::{guard::Viewer, PageError, WebState};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

/// Percent-encodes a query value.
pub fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A local path to return to after login: only `/...` on this site, never `//host` or a
/// scheme, so `next=` cannot send anyone elsewhere.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.contains(['\r', '\n', '\\'])
                && n.len() < 512 =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

fn discord_base(state: &WebState) -> String {
    let cfg = state.service().cfg();
    cfg.api_base()
        .map(|b| b.trim_end_matches('/').to_string())
        .unwrap_or_else(|| "https://discord.com".to_string())
}

fn redirect_uri(state: &WebState) -> String {
    format!(
        "{}/auth/callback",
        state
            .service()
            .cfg()
            .web
            .public_url
            .trim()
            .trim_end_matches('/')
    )
}

/// `GET /login?next=/path`: starts a login (rate-limited per address).
pub async fn login(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let cfg = state.service().cfg();
    let allowed = state
        .sessions()
        .login_allowed(&peer.ip().to_string(), cfg.web.logins_per_minute)
        .await?;
    if !allowed {
        return Err(PageError::TooMany(
            "Too many login attempts from your address; wait a minute and try again.".into(),
        ));
    }
    let Some(client_id) = state.service().application_id() else {
        return Err(PageError::Internal(
            "the application id is not known yet (the gateway has not connected); set discord.application_id".into(),
        ));
    };
    let login_state = random_token(24);
    let verifier = random_token(48);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let next = safe_next(q.get("next").map(String::as_str));
    state
        .sessions()
        .put_login(&login_state, &PendingLogin { verifier, next })
        .await?;
    let url = format!(
        "{}/oauth2/authorize?response_type=code&client_id={client_id}&scope={}&state={}&redirect_uri={}&code_challenge={challenge}&code_challenge_method=S256",
        discord_base(&state),
        encode("identify guilds"),
        encode(&login_state),
        encode(&redirect_uri(&state)),
    );
    let mut resp = Redirect::to(&url).into_response();
    if let Ok(v) = set_cookie(LOGIN_COOKIE, &login_state, LOGIN_TTL, state.secure()).parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: String,
}

#[derive(Deserialize)]
struct UserReply {
    id: String,
    username: String,
    #[serde(default)]
    global_name: Option<String>,
}

#[derive(Deserialize)]
struct GuildReply {
    id: String,
    name: String,
}

/// `GET /auth/callback?code&state`: checks `state` against the browser's login cookie and the
/// stored login (used once), exchanges the code with the PKCE verifier, reads the user and
/// their guilds, and starts a session.
pub async fn callback(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    if let Some(err) = q.get("error") {
        return Err(PageError::BadRequest(format!(
            "Discord did not log you in ({err}). Start again from the login page."
        )));
    }
    let (Some(code), Some(got_state)) = (q.get("code"), q.get("state")) else {
        return Err(PageError::BadRequest(
            "The login link is incomplete; start again from the login page.".into(),
        ));
    };
    let browser_state = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if !same_secret(&browser_state, got_state) {
        return Err(PageError::BadRequest(
            "This login was not started in this browser (state mismatch); start again from the login page."
                .into(),
        ));
    }
    let Some(pending) = state.sessions().take_login(got_state).await? else {
        return Err(PageError::BadRequest(
            "This login link was already used or has expired; start again from the login page."
                .into(),
        ));
    };
    let client_id = state
        .service()
        .application_id()
        .ok_or_else(|| PageError::Internal("application id unknown".into()))?;
    let base = discord_base(&state);
    let form = [
        ("grant_type", "authorization_code".to_string()),
        ("code", code.clone()),
        ("redirect_uri", redirect_uri(&state)),
        ("code_verifier", pending.verifier.clone()),
        ("client_id", client_id.to_string()),
        // The secret the dashboard started with: changing it takes a restart, like turning
        // the dashboard on.
        (
            "client_secret",
            state
                .service()
                .live_config()
                .started()
                .web
                .client_secret
                .expose()
                .to_string(),
        ),
    ];
    let http = &state.inner.http;
    let reply = http
        .post(format!("{base}/api/v10/oauth2/token"))
        .form(&form)
        .send()
        .await
        .map_err(|e| PageError::Internal(format!("token request: {e}")))?;
    if !reply.status().is_success() {
        let status = reply.status();
        tracing::info!(%status, "dashboard login refused by Discord");
        return Err(PageError::BadRequest(
            "Discord refused this login (the code was already used or has expired); start again from the login page."
                .into(),
        ));
    }
    let token: TokenReply = json(reply).await?;
    let bearer = format!("Bearer {}", token.access_token);
    let user: UserReply = json(
        http.get(format!("{base}/api/v10/users/@me"))
            .header(header::AUTHORIZATION, &bearer)
            .send()
            .await
            .map_err(|e| PageError::Internal(format!("user request: {e}")))?,
    )
    .await?;
    let guilds: Vec<GuildReply> = json(
        http.get(format!("{base}/api/v10/users/@me/guilds"))
            .header(header::AUTHORIZATION, &bearer)
            .send()
            .await
            .map_err(|e| PageError::Internal(format!("guilds request: {e}")))?,
    )
    .await?;
    let user_id: u64 = user
        .id
        .parse()
        .map_err(|_| PageError::Internal("Discord sent a user without an id".into()))?;
    let session = Session {
        user_id,
        username: user
            .global_name
            .filter(|n| !n.is_empty())
            .unwrap_or(user.username),
        guilds: guilds
            .into_iter()
            .filter_map(|g| {
                Some(SessionGuild {
                    id: g.id.parse().ok()?,
                    name: g.name,
                })
            })
            .collect(),
        csrf: random_token(32),
    };
    let sid = state.sessions().create(&session).await?;
    tracing::info!(user = user_id, "dashboard login");
    let mut resp = Redirect::to(&safe_next(Some(&pending.next))).into_response();
    let secure = state.secure();
    let h = resp.headers_mut();
    if let Ok(v) = set_cookie(SESSION_COOKIE, &sid, state.sessions().ttl(), secure).parse() {
        h.append(header::SET_COOKIE, v);
    }
    if let Ok(v) = set_cookie(LOGIN_COOKIE, "", Duration::ZERO, secure).parse() {
        h.append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

async fn json<T: serde::de::DeserializeOwned>(r: reqwest::Response) -> Result<T, PageError> {
    if !r.status().is_success() {
        return Err(PageError::Internal(format!(
            "Discord answered {} to {}",
            r.status(),
            r.url().path()
        )));
    }
    let bytes = r
        .bytes()
        .await
        .map_err(|e| PageError::Internal(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| PageError::Internal(format!("Discord's reply: {e}")))
}

/// The CSRF field of a form.
#[derive(Deserialize)]
pub struct CsrfForm {
    /// The token.
    #[serde(default)]
    pub csrf: String,
}

/// `POST /logout`: deletes the session on the server and the cookie.
pub async fn logout(
    State(state): State<WebState>,
    viewer: Viewer,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&f.csrf)?;
    state.sessions().delete(&viewer.sid).await?;
    let mut resp = Redirect::to("/").into_response();
    if let Ok(v) = set_cookie(SESSION_COOKIE, "", Duration::ZERO, state.secure()).parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/g/1/cases?x=1")), "/g/1/cases?x=1");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "evil",
            "/a\r\nLocation: x",
            "javascript:alert(1)",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
