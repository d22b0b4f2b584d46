//! The fake itself: serenity's own `Http` accepts every REST answer, and the gateway routes
//! guild events to the right shard with sequence numbers, heartbeat acks and resumes.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use serenity::all::{
    ChannelId, CommandType, CreateCommand, CreateInteractionResponse,
    CreateInteractionResponseFollowup, CreateInteractionResponseMessage, EditChannel,
    EditInteractionResponse, GuildId, InteractionId, MessageId, UserId,
};
use serenity::http::Http;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use usmca_bot::config::Secret;
use usmca_bot::discord::client::{build_http, ApiRoute};

use crate::fake_discord::events::{self, Author};
use crate::fake_discord::{FakeConfig, FakeDiscord, Fault, GuildSpec};

const WAIT: Duration = Duration::from_secs(5);
/// Guild ids whose shard (`(id >> 22) % 2`) is 0 and 1.
const EVEN: u64 = (10 << 22) + 1;
const ODD: u64 = (11 << 22) + 1;

async fn serenity_http(fake: &FakeDiscord) -> Http {
    crate::no_proxy();
    let route = ApiRoute::parse(&fake.api_base()).expect("url");
    build_http(&Secret::new("test-token"), &route).expect("http")
}

#[tokio::test]
async fn serenity_http_accepts_every_rest_answer() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let http = serenity_http(&fake).await;
    http.set_application_id(fake.config().application_id.into());
    let (g, u, c) = (
        GuildId::new(EVEN),
        UserId::new(42),
        ChannelId::new(EVEN + 1),
    );

    let gw = http.get_gateway().await.expect("gateway");
    assert_eq!(gw.url, fake.gateway_url());
    let bot = http.get_bot_gateway().await.expect("gateway/bot");
    assert_eq!(
        (bot.shards, bot.session_start_limit.max_concurrency),
        (1, 1)
    );

    let until = json!({"communication_disabled_until": "2030-01-01T00:00:00+00:00"});
    let m = http
        .edit_member(g, u, &until, Some("why"))
        .await
        .expect("edit member");
    assert!(m.communication_disabled_until.is_some());
    http.kick_member(g, u, Some("kick")).await.expect("kick");
    http.ban_user(g, u, 1, Some("ban")).await.expect("ban");
    http.remove_ban(g, u, Some("unban")).await.expect("unban");
    http.delete_message(c, MessageId::new(5), Some("del"))
        .await
        .expect("delete");
    let dm = http
        .create_private_channel(&json!({"recipient_id": "42"}))
        .await
        .expect("dm channel");
    assert_eq!(dm.recipient.id, u);
    let sent = dm.id.say(&http, "hello").await.expect("send");
    assert_eq!(sent.content, "hello");
    let ch = c
        .edit(&http, EditChannel::new().rate_limit_per_user(30))
        .await
        .expect("slowmode");
    assert_eq!(ch.rate_limit_per_user, Some(30));

    let cmds = vec![
        CreateCommand::new("mod").description("Moderation"),
        CreateCommand::new("Report message").kind(CommandType::Message),
    ];
    let made = g
        .set_commands(&http, cmds.clone())
        .await
        .expect("guild commands");
    assert_eq!(made.len(), 2);
    assert_eq!(made[1].kind, CommandType::Message);
    let global = serenity::all::Command::set_global_commands(&http, cmds)
        .await
        .expect("global");
    assert_eq!(global.len(), 2);

    let reply =
        CreateInteractionResponse::Message(CreateInteractionResponseMessage::new().content("ok"));
    http.create_interaction_response(InteractionId::new(9), "tok", &reply, vec![])
        .await
        .expect("callback");
    let edit = EditInteractionResponse::new().content("done");
    http.edit_original_interaction_response("tok", &edit, vec![])
        .await
        .expect("edit original");
    let follow = CreateInteractionResponseFollowup::new().content("more");
    http.create_followup_message("tok", &follow, vec![])
        .await
        .expect("follow-up");

    let app = fake.config().application_id;
    for (method, path) in [
        ("PUT", format!("/applications/{app}/guilds/{EVEN}/commands")),
        ("PUT", format!("/applications/{app}/commands")),
        ("POST", "/interactions/9/tok/callback".to_owned()),
        ("PATCH", format!("/webhooks/{app}/tok/messages/@original")),
        ("POST", format!("/webhooks/{app}/tok")),
    ] {
        assert_eq!(fake.requests_to(method, &path).len(), 1, "{method} {path}");
    }
    let ban = fake.requests_to("PUT", "/guilds/*/bans/42");
    assert_eq!(
        ban[0].query_param("delete_message_seconds").as_deref(),
        Some("86400")
    );
    assert_eq!(ban[0].audit_reason().as_deref(), Some("ban"));
}

#[tokio::test]
async fn faults_answer_with_discord_error_bodies() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let http = serenity_http(&fake).await;
    fake.fail_next(
        "DELETE",
        "/guilds/*/members/*",
        1,
        Fault::missing_permissions(),
    );
    let err = http
        .kick_member(GuildId::new(1), UserId::new(2), None)
        .await;
    let text = format!("{err:?}");
    assert!(
        text.contains("50013") && text.contains("Missing Permissions"),
        "{text}"
    );
    // The rule is used up; the next call succeeds.
    http.kick_member(GuildId::new(1), UserId::new(2), None)
        .await
        .expect("kick");
    fake.fail_next(
        "DELETE",
        "/guilds/*/members/*",
        1,
        Fault::RateLimited { retry_after: 1.5 },
    );
    let _ = http
        .kick_member(GuildId::new(1), UserId::new(2), None)
        .await;
    let last = fake.requests().pop().expect("recorded");
    assert_eq!(
        (last.status, last.header("authorization")),
        (429, Some("Bot test-token"))
    );
    let unknown = http.get_guild(GuildId::new(1)).await;
    assert!(unknown.is_err(), "unrouted paths answer 404");
    assert_eq!(fake.requests().pop().map(|r| r.status), Some(404));
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn recv(ws: &mut Ws) -> Value {
    loop {
        let frame = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("frame in time");
        match frame {
            Some(Ok(WsMessage::Text(t))) => return serde_json::from_str(&t).expect("json frame"),
            Some(Ok(_)) => {}
            other => panic!("socket ended: {other:?}"),
        }
    }
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(WsMessage::Text(v.to_string())).await.expect("send");
}

async fn identify(fake: &FakeDiscord, shard: u64, total: u64) -> (Ws, Value, Vec<Value>) {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{}/?v=10", fake.gateway_url()))
        .await
        .expect("connect");
    let hello = recv(&mut ws).await;
    assert_eq!(hello["op"], 10);
    send(&mut ws, json!({"op": 2, "d": {"token": "t", "intents": 0, "properties": {}, "shard": [shard, total]}})).await;
    let ready = recv(&mut ws).await;
    assert_eq!(
        (ready["t"].as_str(), ready["s"].as_u64()),
        (Some("READY"), Some(1))
    );
    let mut guilds = Vec::new();
    for _ in 0..ready["d"]["guilds"].as_array().map_or(0, Vec::len) {
        guilds.push(recv(&mut ws).await);
    }
    (ws, ready, guilds)
}

#[tokio::test]
async fn gateway_routes_guilds_to_their_shard() {
    let cfg = FakeConfig {
        guilds: vec![GuildSpec::new(EVEN, "even"), GuildSpec::new(ODD, "odd")],
        ..FakeConfig::default()
    };
    let fake = FakeDiscord::start(cfg).await;
    let (mut s0, ready0, g0) = identify(&fake, 0, 2).await;
    let (mut s1, _, g1) = identify(&fake, 1, 2).await;
    assert_eq!(fake.connected_shards(), vec![(0, 2), (1, 2)]);
    assert_eq!(ready0["d"]["shard"], json!([0, 2]));
    let ids = |gs: &[Value]| {
        gs.iter()
            .map(|g| (g["t"].clone(), g["d"]["id"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&g0),
        vec![(json!("GUILD_CREATE"), json!(EVEN.to_string()))]
    );
    assert_eq!(
        ids(&g1),
        vec![(json!("GUILD_CREATE"), json!(ODD.to_string()))]
    );

    let alice = Author::new(42, "alice");
    assert_eq!(
        fake.dispatch(
            "MESSAGE_CREATE",
            events::message_create(ODD, ODD + 1, 7, &alice, "odd")
        ),
        1
    );
    let got = recv(&mut s1).await;
    assert_eq!(
        (
            got["t"].as_str(),
            got["s"].as_u64(),
            got["d"]["content"].as_str()
        ),
        (Some("MESSAGE_CREATE"), Some(3), Some("odd"))
    );
    // Events without a guild go to every shard.
    assert_eq!(
        fake.dispatch("USER_UPDATE", events::user(42, "alice", false)),
        2
    );
    assert_eq!(
        recv(&mut s0).await["t"],
        "USER_UPDATE",
        "shard 0 got no guild event before it"
    );
    assert_eq!(recv(&mut s1).await["s"], 4);

    send(&mut s0, json!({"op": 1, "d": 3})).await;
    assert_eq!(recv(&mut s0).await["op"], 11);

    // Resume on a new connection keeps the session and its sequence.
    let session = ready0["d"]["session_id"].clone();
    drop(s0);
    let (mut r, _) = tokio_tungstenite::connect_async(format!("{}/", fake.gateway_url()))
        .await
        .expect("connect");
    assert_eq!(recv(&mut r).await["op"], 10);
    send(
        &mut r,
        json!({"op": 6, "d": {"token": "t", "session_id": session, "seq": 3}}),
    )
    .await;
    let resumed = recv(&mut r).await;
    assert_eq!(
        (resumed["t"].as_str(), resumed["s"].as_u64()),
        (Some("RESUMED"), Some(4))
    );
    assert!(fake.wait_for_command(|c| c.op == 6, WAIT).await.is_some());

    let (mut bad, _) = tokio_tungstenite::connect_async(format!("{}/", fake.gateway_url()))
        .await
        .expect("connect");
    recv(&mut bad).await;
    send(
        &mut bad,
        json!({"op": 6, "d": {"token": "t", "session_id": "nope", "seq": 1}}),
    )
    .await;
    assert_eq!(recv(&mut bad).await, json!({"op": 9, "d": false}));

    assert_eq!(fake.reconnect_shard(1), 1);
    assert_eq!(recv(&mut s1).await, json!({"op": 7, "d": null}));
}

/// A plain HTTP client for the fake (no proxy).
fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("reqwest client")
}

#[tokio::test]
async fn moderation_state_reads_back_through_get_routes() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let http = serenity_http(&fake).await;
    let g = GuildId::new(EVEN);
    let (alice, bob) = (UserId::new(42), UserId::new(43));

    // Members never seen are present and not timed out.
    let m = http.get_member(g, bob).await.expect("unknown member");
    assert_eq!(
        (m.user.id, m.communication_disabled_until),
        (bob, None::<serenity::all::Timestamp>)
    );
    assert!(fake.is_member(EVEN, 43) && fake.timed_out_until(EVEN, 43).is_none());

    let until = "2030-01-01T00:00:00+00:00";
    let body = json!({ "communication_disabled_until": until });
    http.edit_member(g, alice, &body, Some("timeout"))
        .await
        .expect("timeout");
    assert_eq!(fake.timed_out_until(EVEN, 42).as_deref(), Some(until));
    let m = http.get_member(g, alice).await.expect("member");
    assert_eq!(
        m.communication_disabled_until.map(|t| t.unix_timestamp()),
        Some(1_893_456_000)
    );
    let clear = json!({ "communication_disabled_until": null });
    http.edit_member(g, alice, &clear, None)
        .await
        .expect("lift timeout");
    assert_eq!(fake.timed_out_until(EVEN, 42), None);
    let m = http.get_member(g, alice).await.expect("member");
    assert!(m.communication_disabled_until.is_none());

    // Ban: GET ban 200 with the reason, the member is gone; unban: 404 / 10026 afterwards.
    http.ban_user(g, alice, 0, Some("spam")).await.expect("ban");
    assert!(fake.is_banned(EVEN, 42) && !fake.is_member(EVEN, 42));
    let ban = http
        .get_ban(g, alice)
        .await
        .expect("get ban")
        .expect("banned");
    assert_eq!((ban.reason.as_deref(), ban.user.id), (Some("spam"), alice));
    let gone = format!("{:?}", http.get_member(g, alice).await);
    assert!(gone.contains("10007"), "{gone}");
    http.remove_ban(g, alice, None).await.expect("unban");
    assert!(!fake.is_banned(EVEN, 42));
    assert!(http.get_ban(g, alice).await.expect("get ban").is_none());
    assert_eq!(fake.requests().pop().map(|r| r.status), Some(404));
    let again = format!("{:?}", http.remove_ban(g, alice, None).await);
    assert!(again.contains("10026"), "{again}");

    // Kick: the member is gone.
    http.kick_member(g, bob, None).await.expect("kick");
    assert!(!fake.is_member(EVEN, 43));
    let kicked = format!("{:?}", http.get_member(g, bob).await);
    assert!(kicked.contains("10007"), "{kicked}");
    // ... until they join again.
    fake.dispatch(
        "GUILD_MEMBER_ADD",
        events::guild_member_add(EVEN, &Author::new(43, "bob")),
    );
    assert!(fake.is_member(EVEN, 43));
}

#[tokio::test]
async fn deleted_messages_answer_unknown_message() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let http = serenity_http(&fake).await;
    let c = ChannelId::new(EVEN + 1);
    let alice = Author::new(42, "alice");
    // Dispatched messages are what GET answers; unknown ones get a stand-in.
    fake.dispatch(
        "MESSAGE_CREATE",
        events::message_create(EVEN, EVEN + 1, 7, &alice, "hello"),
    );
    let m = http
        .get_message(c, MessageId::new(7))
        .await
        .expect("message");
    assert_eq!((m.author.id.get(), m.content.as_str()), (42, "hello"));
    http.get_message(c, MessageId::new(8))
        .await
        .expect("unknown message still exists");

    http.delete_message(c, MessageId::new(7), None)
        .await
        .expect("delete");
    assert!(fake.is_message_deleted(EVEN + 1, 7));
    for err in [
        format!("{:?}", http.get_message(c, MessageId::new(7)).await),
        format!(
            "{:?}",
            http.delete_message(c, MessageId::new(7), None).await
        ),
    ] {
        assert!(err.contains("10008"), "{err}");
    }
    assert!(!fake.is_message_deleted(EVEN + 1, 8));
}

#[tokio::test]
async fn fail_for_fails_every_call_until_the_duration_passes() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let client = plain_client();
    let url = format!("{}/api/v10/guilds/{EVEN}/members/42", fake.api_base());
    fake.fail_for(
        "GET",
        "/guilds/*/members/*",
        Duration::from_millis(500),
        Fault::ServerError,
    );
    for _ in 0..3 {
        let r = client.get(&url).send().await.expect("answer");
        assert_eq!(r.status().as_u16(), 500);
    }
    // Other routes are unaffected.
    let ban = format!("{}/api/v10/guilds/{EVEN}/bans/42", fake.api_base());
    let r = client.get(&ban).send().await.expect("answer");
    assert_eq!(r.status().as_u16(), 404);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let r = client.get(&url).send().await.expect("answer");
    assert_eq!(r.status().as_u16(), 200, "recovered after the duration");
    let statuses: Vec<u16> = fake
        .requests_to("GET", "/guilds/*/members/*")
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![500, 500, 500, 200]);
}

#[tokio::test]
async fn delay_next_applies_the_call_before_answering() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let client = plain_client();
    let ban = format!("{}/api/v10/guilds/{EVEN}/bans/42", fake.api_base());
    fake.delay_next("PUT", "/guilds/*/bans/*", 1, Duration::from_secs(60));
    let call = tokio::spawn(
        client
            .put(&ban)
            .header("x-audit-log-reason", "raid")
            .body("{}")
            .send(),
    );
    // The ban is in place and recorded while the answer is still held back...
    let recorded = fake
        .wait_for(|r| r.is("PUT", "/guilds/*/bans/42"), WAIT)
        .await
        .expect("recorded on arrival");
    assert_eq!(recorded.status, 204);
    assert!(fake.is_banned(EVEN, 42));
    assert!(!call.is_finished(), "the answer is delayed");
    // ... and stays when the client dies with the call in flight.
    call.abort();
    assert!(fake.is_banned(EVEN, 42));

    // A short delay: the caller gets the answer after it, with the state already applied.
    fake.delay_next(
        "PATCH",
        "/guilds/*/members/*",
        1,
        Duration::from_millis(300),
    );
    let member = format!("{}/api/v10/guilds/{EVEN}/members/43", fake.api_base());
    let body = json!({ "communication_disabled_until": "2030-01-01T00:00:00+00:00" });
    let started = std::time::Instant::now();
    let r = client
        .patch(&member)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status().as_u16(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    // The rule is used up: the next call answers at once.
    let started = std::time::Instant::now();
    let r = client.get(&member).send().await.expect("answer");
    let got: Value = serde_json::from_str(&r.text().await.expect("body")).expect("json");
    assert_eq!(
        got["communication_disabled_until"],
        "2030-01-01T00:00:00+00:00"
    );
    assert!(started.elapsed() < Duration::from_millis(300));
}
