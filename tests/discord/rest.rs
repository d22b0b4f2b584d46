//! The REST edge against the fake: routes, reason headers, and the failure policy.

use std::sync::Arc;
use std::time::Duration;

use serenity::model::id::{ChannelId, GuildId, MessageId, UserId};
use usmca_bot::config::Secret;
use usmca_bot::discord::client::{build_http, ApiRoute};
use usmca_bot::discord::limits::EmbedText;
use usmca_bot::discord::rest::{
    AppealRef, Button, ButtonStyle, Delivery, OutgoingMessage, RestClient, RestError, RestPolicy,
};

use crate::fake_discord::{FakeConfig, FakeDiscord, Fault};

const G: GuildId = GuildId::new(1_000_000_000_000_000_001);
const U: UserId = UserId::new(42);
const C: ChannelId = ChannelId::new(1_000_000_000_000_000_002);

fn fast_policy() -> RestPolicy {
    RestPolicy {
        base_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        max_retry_after: Duration::from_secs(2),
        ..RestPolicy::default()
    }
}

async fn setup(policy: RestPolicy) -> (FakeDiscord, RestClient) {
    crate::no_proxy();
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let route = ApiRoute::parse(&fake.api_base()).expect("fake api base is a URL");
    let http = build_http(&Secret::new("test-token"), &route).expect("http");
    let rest = RestClient::with_policy(Arc::new(http), policy).expect("rest client");
    (fake, rest)
}

#[tokio::test]
async fn moderation_calls_hit_their_routes_with_reason() {
    let (fake, rest) = setup(fast_policy()).await;
    rest.delete_message(C, MessageId::new(7), "toxic message\n(score 0.97)")
        .await
        .expect("delete");
    let until = rest
        .timeout_member(G, U, Duration::from_secs(40 * 86_400), "timeout: spam")
        .await
        .expect("timeout");
    rest.remove_timeout(G, U, "appeal granted")
        .await
        .expect("untimeout");
    rest.kick(G, U, "kick: repeated").await.expect("kick");
    rest.ban(G, U, Duration::from_secs(86_400), "ban: raid")
        .await
        .expect("ban");
    rest.unban(G, U, "unban: appeal").await.expect("unban");
    rest.set_slowmode(C, 100_000, "brigade detected")
        .await
        .expect("slowmode");

    let reqs = fake.requests();
    let expect = [
        (
            "DELETE",
            "/channels/*/messages/7",
            "toxic message (score 0.97)",
        ),
        ("PATCH", "/guilds/*/members/42", "timeout: spam"),
        ("PATCH", "/guilds/*/members/42", "appeal granted"),
        ("DELETE", "/guilds/*/members/42", "kick: repeated"),
        ("PUT", "/guilds/*/bans/42", "ban: raid"),
        ("DELETE", "/guilds/*/bans/42", "unban: appeal"),
        ("PATCH", &format!("/channels/{C}"), "brigade detected"),
    ];
    assert_eq!(reqs.len(), expect.len(), "{reqs:#?}");
    for (r, (method, pattern, reason)) in reqs.iter().zip(expect) {
        assert!(
            r.is(method, pattern),
            "expected {method} {pattern}, got {} {}",
            r.method,
            r.path
        );
        assert_eq!(r.audit_reason().as_deref(), Some(reason));
        assert_eq!(r.header("authorization"), Some("Bot test-token"));
        assert!(r.status < 300);
    }
    // Timeout capped at 28 days, sent as an ISO timestamp; removal sends null.
    let sent = reqs[1]
        .body
        .as_ref()
        .and_then(|b| b["communication_disabled_until"].as_str())
        .unwrap_or_default();
    let sent = chrono::DateTime::parse_from_rfc3339(sent).expect("timestamp");
    assert_eq!(sent.timestamp(), until.timestamp());
    let ahead = until - chrono::Utc::now();
    assert!(ahead <= chrono::Duration::days(28) && ahead > chrono::Duration::days(27));
    assert_eq!(
        reqs[2]
            .body
            .as_ref()
            .map(|b| b["communication_disabled_until"].is_null()),
        Some(true)
    );
    assert_eq!(
        reqs[4].query.as_deref(),
        Some("&delete_message_seconds=86400")
    );
    assert_eq!(
        reqs[6]
            .body
            .as_ref()
            .map(|b| b["rate_limit_per_user"].clone()),
        Some(21_600.into())
    );
}

#[tokio::test]
async fn dm_with_appeal_button_and_channel_post_with_embed() {
    let (fake, rest) = setup(fast_policy()).await;
    let id = rest
        .dm_member(
            U,
            "You were timed out for 1 hour.",
            Some(AppealRef::Case(17)),
        )
        .await
        .expect("dm");
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    assert!(reqs[0].is("POST", "/users/@me/channels"));
    assert_eq!(
        reqs[0].body.as_ref().map(|b| b["recipient_id"].clone()),
        Some("42".into())
    );
    assert!(reqs[1].is("POST", "/channels/*/messages"));
    let body = reqs[1].body.clone().unwrap_or_default();
    assert_eq!(
        body["components"][0]["components"][0]["custom_id"],
        "appeal:17"
    );
    assert_eq!(body["content"], "You were timed out for 1 hour.");
    assert!(id.get() > 0);

    let msg = OutgoingMessage {
        content: "case 17".into(),
        embed: Some(EmbedText {
            title: Some("t".repeat(300)),
            description: Some("d".into()),
            ..EmbedText::default()
        }),
        embed_color: Some(0xff0000),
        buttons: vec![Button {
            label: "Unban".into(),
            custom_id: "case:17:unban".into(),
            style: ButtonStyle::Danger,
        }],
        mention_users: vec![U],
        mention_roles: Vec::new(),
    };
    rest.post_message(C, &msg).await.expect("post");
    let post = fake
        .requests()
        .pop()
        .and_then(|r| r.body)
        .unwrap_or_default();
    assert_eq!(
        post["embeds"][0]["title"]
            .as_str()
            .map(|t| t.chars().count()),
        Some(256)
    );
    assert_eq!(post["allowed_mentions"]["users"][0], "42");
}

#[tokio::test]
async fn dm_closed_is_reported_for_fallback() {
    let (fake, rest) = setup(fast_policy()).await;
    fake.fail_next("POST", "/channels/*/messages", 1, Fault::cannot_dm());
    let err = rest.dm_member(U, "hi", None).await;
    assert!(matches!(err, Err(RestError::DmClosed)), "{err:?}");
    assert_eq!(
        fake.requests_to("POST", "/channels/*/messages").len(),
        1,
        "never retried"
    );
}

#[tokio::test]
async fn notice_falls_back_to_a_channel_mention_when_dms_are_closed() {
    let (fake, rest) = setup(fast_policy()).await;
    let sent = rest
        .notify_member(U, C, "You were warned.", Some(AppealRef::Case(3)))
        .await
        .expect("dm");
    assert!(matches!(sent, Delivery::Dm(_)));
    assert_eq!(fake.requests().len(), 2);

    fake.clear_requests();
    fake.fail_next("POST", "/channels/*/messages", 1, Fault::cannot_dm());
    let sent = rest
        .notify_member(U, C, "You were warned.", Some(AppealRef::Case(3)))
        .await
        .expect("fallback");
    assert!(matches!(sent, Delivery::ChannelMention(_)), "{sent:?}");
    let posts = fake.requests_to("POST", "/channels/*/messages");
    assert_eq!(
        posts.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![403, 200]
    );
    assert!(
        posts[1].is("POST", &format!("/channels/{C}/messages")),
        "{}",
        posts[1].path
    );
    let body = posts[1].body.clone().unwrap_or_default();
    assert_eq!(body["content"], "<@42> You were warned.");
    assert_eq!(
        body["allowed_mentions"],
        serde_json::json!({"parse": [], "users": ["42"]})
    );
    assert_eq!(
        body["components"][0]["components"][0]["custom_id"],
        "appeal:3"
    );
}

#[tokio::test]
async fn rate_limit_is_waited_out_then_succeeds() {
    let (fake, rest) = setup(fast_policy()).await;
    fake.fail_next(
        "DELETE",
        "/guilds/*/members/*",
        1,
        Fault::RateLimited { retry_after: 0.3 },
    );
    rest.kick(G, U, "kick").await.expect("kick after 429");
    let reqs = fake.requests_to("DELETE", "/guilds/*/members/42");
    assert_eq!(
        reqs.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![429, 204]
    );
    assert!(
        reqs[1].at.duration_since(reqs[0].at) >= Duration::from_millis(300),
        "waited retry_after"
    );
    assert_eq!(
        rest.invalid_requests(),
        1,
        "429 counts towards the invalid-request budget"
    );
}

#[tokio::test]
async fn rate_limit_longer_than_bound_gives_up_at_once() {
    let (fake, rest) = setup(fast_policy()).await;
    fake.fail_next(
        "DELETE",
        "/guilds/*/members/*",
        1,
        Fault::RateLimited { retry_after: 60.0 },
    );
    let err = rest.kick(G, U, "kick").await;
    assert!(
        matches!(err, Err(RestError::RateLimited { retry_after }) if retry_after == Duration::from_secs(60)),
        "{err:?}"
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let (fake, rest) = setup(fast_policy()).await;
    fake.fail_next("PUT", "/guilds/*/bans/*", 2, Fault::ServerError);
    rest.ban(G, U, Duration::ZERO, "ban")
        .await
        .expect("ban after two 500s");
    let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![500, 500, 204]);

    fake.fail_next("PUT", "/guilds/*/bans/*", 10, Fault::ServerError);
    let err = rest.ban(G, U, Duration::ZERO, "ban").await;
    assert!(
        matches!(
            err,
            Err(RestError::Server {
                status: 500,
                attempts: 4
            })
        ),
        "{err:?}"
    );
    assert_eq!(fake.requests().len(), 3 + 4, "bounded at max_attempts");
}

#[tokio::test]
async fn forbidden_is_permanent_after_one_request() {
    let (fake, rest) = setup(fast_policy()).await;
    fake.fail_next(
        "DELETE",
        "/guilds/*/members/*",
        5,
        Fault::missing_permissions(),
    );
    let err = rest.kick(G, U, "kick").await;
    assert!(
        matches!(&err, Err(RestError::Forbidden { code: 50_013, .. })),
        "{err:?}"
    );
    assert_eq!(fake.requests().len(), 1, "403 is never retried");
    let text = err.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(text.contains("permission"), "says what to fix: {text}");
}

#[tokio::test]
async fn invalid_request_guard_stops_sending() {
    let policy = RestPolicy {
        invalid_request_budget: 3,
        ..fast_policy()
    };
    let (fake, rest) = setup(policy).await;
    fake.fail_next("PUT", "/guilds/*/bans/*", 100, Fault::missing_permissions());
    for _ in 0..3 {
        let err = rest.ban(G, U, Duration::ZERO, "ban").await;
        assert!(matches!(err, Err(RestError::Forbidden { .. })), "{err:?}");
    }
    let err = rest.ban(G, U, Duration::ZERO, "ban").await;
    assert!(
        matches!(err, Err(RestError::InvalidRequestBudget { budget: 3 })),
        "{err:?}"
    );
    // Any route is refused once the budget is spent, and nothing more reaches Discord.
    let err = rest.kick(G, U, "kick").await;
    assert!(
        matches!(err, Err(RestError::InvalidRequestBudget { .. })),
        "{err:?}"
    );
    assert_eq!(fake.requests().len(), 3);
    assert_eq!(rest.invalid_requests(), 3);
}

#[tokio::test]
async fn unreachable_api_is_a_bounded_transport_error() {
    crate::no_proxy();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let route = ApiRoute::parse(&format!("http://127.0.0.1:{port}")).expect("url");
    let http = build_http(&Secret::new("t"), &route).expect("http");
    let policy = RestPolicy {
        max_attempts: 2,
        ..fast_policy()
    };
    let rest = RestClient::with_policy(Arc::new(http), policy).expect("client");
    let err = rest.kick(G, U, "kick").await;
    assert!(
        matches!(err, Err(RestError::Transport { attempts: 2, .. })),
        "{err:?}"
    );
}
