//! The fake's OAuth2 authorization-code flow with PKCE, driven over HTTP as a web dashboard's
//! login would: authorize, token (and its failures), then the user's own routes with the
//! bearer token, while the bot's token keeps answering for the bot.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::{Client, Response, StatusCode};
use serde_json::Value;

use crate::fake_discord::{
    events, s256_challenge, FakeConfig, FakeDiscord, GuildSpec, OAuthUser, TOKEN_LIFETIME_SECS,
};

const GUILD: u64 = 1_000_000_000_000_000_101;
const OTHER: u64 = 1_000_000_000_000_000_201;
const MODS: u64 = 555;
const ALICE: u64 = 42;
const OWNER: u64 = 7;
const MANAGE_GUILD: u64 = 1 << 5;
const REDIRECT: &str = "http://127.0.0.1:9/auth/callback?from=login";
const VERIFIER: &str = "a-verifier-of-at-least-43-characters-0123456789abcdef";
/// Needs encoding in a query: a space, `&` and `=`.
const STATE: &str = "s t&a=te";

fn guild() -> GuildSpec {
    GuildSpec::new(GUILD, "Mods' guild")
        .owner(OWNER)
        .role(MODS, "mods", MANAGE_GUILD, 1)
        .with_member_roles(ALICE, vec![MODS])
}

async fn start() -> FakeDiscord {
    let g = guild();
    FakeDiscord::start(FakeConfig {
        oauth_users: vec![
            OAuthUser::new(ALICE, "alice")
                .member_of(&g)
                .guild(OTHER, "other", 0),
            OAuthUser::new(OWNER, "owner").owned_guild(GUILD, "Mods' guild"),
        ],
        guilds: vec![g],
        ..FakeConfig::default()
    })
    .await
}

/// No proxy, and redirects handed back rather than followed.
fn client() -> Client {
    crate::no_proxy();
    Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("reqwest client")
}

fn authorize_url(fake: &FakeDiscord, overrides: &[(&str, &str)]) -> String {
    let client_id = fake.config().application_id.to_string();
    let challenge = s256_challenge(VERIFIER);
    let mut params = vec![
        ("client_id", client_id.as_str()),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("scope", "identify guilds"),
        ("state", STATE),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in overrides {
        params.retain(|(p, _)| p != k);
        if !v.is_empty() {
            params.push((k, v));
        }
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("{}/oauth2/authorize?{query}", fake.api_base())
}

/// Runs the authorize page; the code from its redirect.
async fn code(fake: &FakeDiscord, http: &Client) -> String {
    let resp = http
        .get(authorize_url(fake, &[]))
        .send()
        .await
        .expect("authorize");
    assert_eq!(resp.status(), StatusCode::FOUND);
    let location = resp.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    url::Url::parse(&location)
        .expect("location")
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code")
}

/// `POST /oauth2/token` with these form fields (and HTTP Basic credentials when given).
async fn token(
    fake: &FakeDiscord,
    http: &Client,
    form: &[(&str, String)],
    basic: Option<&str>,
) -> (StatusCode, Value) {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut req = http
        .post(format!("{}/api/v10/oauth2/token", fake.api_base()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(credentials) = basic {
        req = req.header(
            "authorization",
            format!("Basic {}", STANDARD.encode(credentials)),
        );
    }
    json(req.send().await.expect("token")).await
}

async fn json(resp: Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The client credentials as form fields.
fn client_fields(fake: &FakeDiscord) -> Vec<(&'static str, String)> {
    vec![
        ("client_id", fake.config().application_id.to_string()),
        ("client_secret", fake.config().oauth_client_secret.clone()),
    ]
}

/// The form of a code trade, the client credentials last.
fn trade(fake: &FakeDiscord, code: &str, verifier: &str) -> Vec<(&'static str, String)> {
    let mut form = vec![
        ("grant_type", "authorization_code".to_owned()),
        ("code", code.to_owned()),
        ("redirect_uri", REDIRECT.to_owned()),
        ("code_verifier", verifier.to_owned()),
    ];
    form.extend(client_fields(fake));
    form
}

async fn get(fake: &FakeDiscord, http: &Client, path: &str, auth: &str) -> (StatusCode, Value) {
    let resp = http
        .get(format!("{}/api/v10{path}", fake.api_base()))
        .header("authorization", auth)
        .send()
        .await
        .expect("get");
    json(resp).await
}

#[test]
fn s256_challenge_matches_rfc_7636() {
    // RFC 7636, appendix B.
    assert_eq!(
        s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
}

#[tokio::test]
async fn authorize_checks_its_parameters_and_redirects_with_code_and_state() {
    let fake = start().await;
    let http = client();

    // Nobody logged in yet.
    let resp = http
        .get(authorize_url(&fake, &[]))
        .send()
        .await
        .expect("authorize");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.text().await.expect("text").contains("set_oauth_user"));

    fake.set_oauth_user(ALICE);
    for (param, value, why) in [
        ("client_id", "", "missing client_id"),
        ("client_id", "1", "unknown client_id"),
        ("redirect_uri", "", "missing redirect_uri"),
        ("response_type", "token", "response_type must be code"),
        ("scope", "guilds", "scope must include identify"),
        ("state", "", "missing state"),
        ("code_challenge", "", "missing code_challenge"),
        (
            "code_challenge_method",
            "plain",
            "code_challenge_method must be S256",
        ),
    ] {
        let resp = http
            .get(authorize_url(&fake, &[(param, value)]))
            .send()
            .await
            .expect("authorize");
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{param}={value}");
        let text = resp.text().await.expect("text");
        assert!(text.contains(why), "{param}={value}: {text}");
    }
    assert_eq!(fake.oauth_codes_issued(), 0);

    let resp = http
        .get(authorize_url(&fake, &[]))
        .send()
        .await
        .expect("authorize");
    assert_eq!(resp.status(), StatusCode::FOUND);
    let location = resp.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    // Appended to the redirect URI's own query, each value encoded.
    assert!(
        location.starts_with("http://127.0.0.1:9/auth/callback?from=login&code="),
        "{location}"
    );
    let url = url::Url::parse(&location).expect("location");
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert_eq!(pairs.len(), 3, "{location}");
    assert_eq!(pairs[0], ("from".into(), "login".into()));
    assert_eq!(pairs[1].0, "code");
    assert!(pairs[1].1.len() >= 20, "{location}");
    assert_eq!(pairs[2], ("state".into(), STATE.into()));
    assert_eq!(fake.oauth_codes_issued(), 1);
    assert_eq!(fake.requests_to("GET", "/oauth2/authorize").len(), 10);
}

#[tokio::test]
async fn token_trades_a_code_once_with_the_right_verifier_and_secret() {
    let fake = start().await;
    let http = client();
    fake.set_oauth_user(ALICE);

    let c = code(&fake, &http).await;
    let (status, body) = token(&fake, &http, &trade(&fake, &c, VERIFIER), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], TOKEN_LIFETIME_SECS);
    assert_eq!(body["scope"], "identify guilds");
    let access = body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();
    let refresh = body["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_owned();
    assert!(access.len() >= 20 && refresh.len() >= 20 && access != refresh);
    // The form is recorded as a JSON object of its fields.
    let recorded = &fake.requests_to("POST", "/oauth2/token")[0];
    assert_eq!(
        recorded.body_field("grant_type"),
        Some("authorization_code")
    );
    assert_eq!(recorded.body_field("code"), Some(c.as_str()));
    assert_eq!(recorded.body_field("code_verifier"), Some(VERIFIER));
    assert_eq!(recorded.status, 200);

    // A code works once.
    let (status, body) = token(&fake, &http, &trade(&fake, &c, VERIFIER), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert!(body["error_description"].is_string(), "{body}");

    // PKCE mismatch, another redirect_uri, a code never issued.
    let c = code(&fake, &http).await;
    let wrong = "another-verifier-of-at-least-43-characters-0123456789";
    let (status, body) = token(&fake, &http, &trade(&fake, &c, wrong), None).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &"invalid_grant".into())
    );
    let mut form = trade(&fake, &c, VERIFIER);
    form[2].1 = "http://127.0.0.1:9/auth/callback".to_owned();
    let (status, body) = token(&fake, &http, &form, None).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &"invalid_grant".into())
    );
    let (status, body) = token(&fake, &http, &trade(&fake, "nope", VERIFIER), None).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &"invalid_grant".into())
    );

    // A wrong secret, in the form or as HTTP Basic: 401, and the code is still good.
    let mut form = trade(&fake, &c, VERIFIER);
    form[5].1 = "wrong".to_owned();
    let (status, body) = token(&fake, &http, &form, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    let app = fake.config().application_id;
    let (status, body) = token(
        &fake,
        &http,
        &trade(&fake, &c, VERIFIER)[..4],
        Some(&format!("{app}:wrong")),
    )
    .await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::UNAUTHORIZED, &"invalid_client".into())
    );
    let (status, body) = token(
        &fake,
        &http,
        &trade(&fake, &c, VERIFIER)[..4],
        Some(&format!("{app}:fake-client-secret")),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "HTTP Basic client credentials: {body}"
    );

    // An expired code.
    let c = code(&fake, &http).await;
    fake.expire_oauth_codes();
    let (status, body) = token(&fake, &http, &trade(&fake, &c, VERIFIER), None).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &"invalid_grant".into())
    );
    assert_eq!(fake.oauth_codes_issued(), 3);

    // The refresh token rotates.
    let mut refresh_form = vec![
        ("grant_type", "refresh_token".to_owned()),
        ("refresh_token", refresh),
    ];
    refresh_form.extend(client_fields(&fake));
    let (status, body) = token(&fake, &http, &refresh_form, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_ne!(body["access_token"].as_str(), Some(access.as_str()));
    let (status, body) = token(&fake, &http, &refresh_form, None).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &"invalid_grant".into())
    );
}

#[tokio::test]
async fn bearer_tokens_answer_for_the_user_and_the_bot_token_for_the_bot() {
    let fake = start().await;
    let http = client();
    fake.set_oauth_user(ALICE);
    let c = code(&fake, &http).await;
    let (_, body) = token(&fake, &http, &trade(&fake, &c, VERIFIER), None).await;
    let bearer = format!("Bearer {}", body["access_token"].as_str().expect("token"));

    let (status, me) = get(&fake, &http, "/users/@me", &bearer).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["id"], ALICE.to_string());
    assert_eq!(me["username"], "alice");
    assert_eq!(me["global_name"], "alice");
    assert_eq!(me["discriminator"], "0");
    assert!(me["avatar"].is_null());

    let (status, guilds) = get(&fake, &http, "/users/@me/guilds", &bearer).await;
    assert_eq!(status, StatusCode::OK);
    let guilds = guilds.as_array().expect("array").clone();
    assert_eq!(guilds.len(), 2);
    assert_eq!(guilds[0]["id"], GUILD.to_string());
    assert_eq!(guilds[0]["name"], "Mods' guild");
    assert_eq!(guilds[0]["owner"], false);
    assert!(guilds[0]["icon"].is_null());
    let perms: u64 = guilds[0]["permissions"]
        .as_str()
        .expect("a decimal string")
        .parse()
        .expect("decimal");
    assert_eq!(perms, events::EVERYONE_PERMISSIONS | MANAGE_GUILD);
    assert_eq!(guilds[1]["permissions"], "0");

    // Unknown bearer, or a bearer on a bot-only route: Discord's 401.
    let unauthorized = serde_json::json!({"message": "401: Unauthorized", "code": 0});
    let (status, body) = get(&fake, &http, "/users/@me", "Bearer nope").await;
    assert_eq!((status, &body), (StatusCode::UNAUTHORIZED, &unauthorized));
    let (status, body) = get(&fake, &http, &format!("/guilds/{GUILD}"), &bearer).await;
    assert_eq!((status, &body), (StatusCode::UNAUTHORIZED, &unauthorized));

    // Without the guilds scope, /users/@me works and /users/@me/guilds does not.
    let resp = http
        .get(authorize_url(&fake, &[("scope", "identify")]))
        .send()
        .await
        .expect("authorize");
    let location = resp.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let c = url::Url::parse(&location)
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    let (_, body) = token(&fake, &http, &trade(&fake, &c, VERIFIER), None).await;
    assert_eq!(body["scope"], "identify");
    let narrow = format!("Bearer {}", body["access_token"].as_str().expect("token"));
    assert_eq!(
        get(&fake, &http, "/users/@me", &narrow).await.0,
        StatusCode::OK
    );
    let (status, body) = get(&fake, &http, "/users/@me/guilds", &narrow).await;
    assert_eq!((status, &body), (StatusCode::UNAUTHORIZED, &unauthorized));

    // The bot's token: the bot user and the bot's guilds, as before.
    let bot = "Bot test-token";
    let (status, me) = get(&fake, &http, "/users/@me", bot).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["id"], fake.config().bot_user_id.to_string());
    assert_eq!(me["bot"], true);
    let (_, guilds) = get(&fake, &http, "/users/@me/guilds", bot).await;
    assert_eq!(guilds.as_array().map(Vec::len), Some(1));

    // What a dashboard computes rights from: the guild's owner and roles, the member's roles.
    let (status, g) = get(&fake, &http, &format!("/guilds/{GUILD}"), bot).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(g["owner_id"], OWNER.to_string());
    let roles = g["roles"].as_array().expect("roles");
    assert_eq!(roles[0]["id"], GUILD.to_string(), "@everyone first");
    assert_eq!(
        roles[0]["permissions"],
        events::EVERYONE_PERMISSIONS.to_string()
    );
    assert_eq!(roles[1]["id"], MODS.to_string());
    assert_eq!(roles[1]["name"], "mods");
    assert_eq!(roles[1]["permissions"], MANAGE_GUILD.to_string());
    assert_eq!(roles[1]["position"], 1);
    let (status, m) = get(
        &fake,
        &http,
        &format!("/guilds/{GUILD}/members/{ALICE}"),
        bot,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(m["roles"], serde_json::json!([MODS.to_string()]));
    assert_eq!(guild().permissions_of(OWNER), events::ALL_PERMISSIONS);
    assert_eq!(
        guild().permissions_of(ALICE),
        events::EVERYONE_PERMISSIONS | MANAGE_GUILD
    );

    // The owner logs in: owner, every permission.
    fake.set_oauth_user(OWNER);
    let c = code(&fake, &http).await;
    let (_, body) = token(&fake, &http, &trade(&fake, &c, VERIFIER), None).await;
    let owner = format!("Bearer {}", body["access_token"].as_str().expect("token"));
    let (_, guilds) = get(&fake, &http, "/users/@me/guilds", &owner).await;
    assert_eq!(guilds[0]["owner"], true);
    assert_eq!(
        guilds[0]["permissions"],
        events::ALL_PERMISSIONS.to_string()
    );
}
