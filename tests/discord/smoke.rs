//! A real serenity `Client`, built through `discord::http`, against the fake gateway.

use std::time::Duration;

use serenity::all::{Context, EventHandler, GatewayIntents, Guild, Message, Ready, ResumedEvent};
use serenity::async_trait;
use serenity::Client;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use usmca_bot::config::Secret;
use usmca_bot::discord::client::{build_http, ApiRoute};

use crate::fake_discord::events::{self, Author};
use crate::fake_discord::{FakeConfig, FakeDiscord, GuildSpec};

const GUILD: u64 = 1_000_000_000_000_000_001;
const CHANNEL: u64 = GUILD + 1;
const WAIT: Duration = Duration::from_secs(15);

#[derive(Debug, PartialEq)]
enum Seen {
    Ready(String),
    Guild(u64),
    Message(String),
    Resumed,
}

struct Handler(UnboundedSender<Seen>);

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _: Context, r: Ready) {
        let _ = self.0.send(Seen::Ready(r.session_id));
    }
    async fn guild_create(&self, _: Context, g: Guild, _: Option<bool>) {
        let _ = self.0.send(Seen::Guild(g.id.get()));
    }
    async fn message(&self, _: Context, m: Message) {
        let _ = self.0.send(Seen::Message(m.content));
    }
    async fn resume(&self, _: Context, _: ResumedEvent) {
        let _ = self.0.send(Seen::Resumed);
    }
}

/// Next event matching `pred`, skipping others.
async fn next(rx: &mut UnboundedReceiver<Seen>, pred: impl Fn(&Seen) -> bool) -> Seen {
    tokio::time::timeout(WAIT, async {
        loop {
            match rx.recv().await {
                Some(s) if pred(&s) => return s,
                Some(_) => {}
                None => panic!("client stopped"),
            }
        }
    })
    .await
    .expect("event within timeout")
}

async fn start_client(fake: &FakeDiscord) -> (Client, UnboundedReceiver<Seen>) {
    crate::no_proxy();
    let route = ApiRoute::parse(&fake.api_base()).expect("url");
    let http = build_http(&Secret::new("test-token"), &route).expect("http");
    let intents = GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MEMBERS
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT
        | GatewayIntents::DIRECT_MESSAGES;
    let (tx, rx) = unbounded_channel();
    let client = serenity::client::ClientBuilder::new_with_http(http, intents)
        .event_handler(Handler(tx))
        .await
        .expect("client builds");
    (client, rx)
}

fn say(fake: &FakeDiscord, id: u64, text: &str) -> usize {
    let alice = Author::new(42, "alice").with_roles(&[77]);
    fake.dispatch(
        "MESSAGE_CREATE",
        events::message_create(GUILD, CHANNEL, id, &alice, text),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serenity_client_receives_events_and_survives_reconnects() {
    let cfg = FakeConfig {
        guilds: vec![GuildSpec::new(GUILD, "Test Guild").role(77, "regular", 0x800, 1)],
        heartbeat_interval: Duration::from_millis(300),
        ..FakeConfig::default()
    };
    let fake = FakeDiscord::start(cfg).await;
    let (mut client, mut rx) = start_client(&fake).await;
    let shards = client.shard_manager.clone();
    let run = tokio::spawn(async move { client.start().await });

    assert!(matches!(
        next(&mut rx, |s| matches!(s, Seen::Ready(_))).await,
        Seen::Ready(_)
    ));
    assert_eq!(
        next(&mut rx, |s| matches!(s, Seen::Guild(_))).await,
        Seen::Guild(GUILD)
    );
    let identify = fake.gateway_commands_with(2);
    assert_eq!(identify.len(), 1);
    assert_eq!(identify[0].d["shard"], serde_json::json!([0, 1]));
    assert_eq!(
        identify[0].d["intents"].as_u64().map(|i| i & (1 << 15)),
        Some(1 << 15),
        "message content intent"
    );
    assert!(fake
        .wait_for(|r| r.is("GET", "/gateway"), WAIT)
        .await
        .is_some());

    assert_eq!(say(&fake, 500, "first message"), 1);
    assert_eq!(
        next(&mut rx, |s| matches!(s, Seen::Message(_))).await,
        Seen::Message("first message".into())
    );

    // Heartbeats are acknowledged, so the shard keeps its one connection.
    let beat = fake.wait_for_command(|c| c.op == 1, WAIT).await;
    assert!(beat.is_some(), "shard heartbeats");
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(
        fake.gateway_commands_with(2).len() + fake.gateway_commands_with(6).len(),
        1,
        "no reconnect while acked"
    );

    // op 7: serenity resumes on a new connection and keeps receiving.
    assert_eq!(fake.reconnect_shard(0), 1);
    next(&mut rx, |s| matches!(s, Seen::Resumed | Seen::Ready(_))).await;
    assert!(
        !fake.gateway_commands_with(6).is_empty(),
        "resumed with op 6"
    );
    say(&fake, 501, "after reconnect");
    assert_eq!(
        next(&mut rx, |s| matches!(s, Seen::Message(_))).await,
        Seen::Message("after reconnect".into())
    );

    // op 9 (not resumable): serenity identifies afresh and gets READY + GUILD_CREATE again.
    assert_eq!(fake.invalidate_session(0, false), 1);
    next(&mut rx, |s| matches!(s, Seen::Ready(_))).await;
    assert_eq!(fake.gateway_commands_with(2).len(), 2);
    assert!(fake.wait_for_shards(1, WAIT).await);
    say(&fake, 502, "after new session");
    assert_eq!(
        next(&mut rx, |s| matches!(s, Seen::Message(_))).await,
        Seen::Message("after new session".into())
    );

    shards.shutdown_all().await;
    let _ = tokio::time::timeout(WAIT, run).await;
}

/// Two clients, each running one shard of two (as two daemon processes would), each see only
/// their own guild's events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_split_guilds_by_shard() {
    let even = (10u64 << 22) + 1; // shard 0 of 2
    let odd = (11u64 << 22) + 1; // shard 1 of 2
    let cfg = FakeConfig {
        guilds: vec![GuildSpec::new(even, "even"), GuildSpec::new(odd, "odd")],
        ..FakeConfig::default()
    };
    let fake = FakeDiscord::start(cfg).await;
    let (mut a, mut rx_a) = start_client(&fake).await;
    let (mut b, mut rx_b) = start_client(&fake).await;
    let managers = [a.shard_manager.clone(), b.shard_manager.clone()];
    let run_a = tokio::spawn(async move { a.start_shard(0, 2).await });
    let run_b = tokio::spawn(async move { b.start_shard(1, 2).await });

    assert_eq!(
        next(&mut rx_a, |s| matches!(s, Seen::Guild(_))).await,
        Seen::Guild(even)
    );
    assert_eq!(
        next(&mut rx_b, |s| matches!(s, Seen::Guild(_))).await,
        Seen::Guild(odd)
    );
    assert_eq!(fake.connected_shards(), vec![(0, 2), (1, 2)]);

    let alice = Author::new(42, "alice");
    fake.dispatch(
        "MESSAGE_CREATE",
        events::message_create(odd, odd + 1, 1, &alice, "to odd"),
    );
    fake.dispatch(
        "MESSAGE_CREATE",
        events::message_create(even, even + 1, 2, &alice, "to even"),
    );
    assert_eq!(
        next(&mut rx_a, |s| matches!(s, Seen::Message(_))).await,
        Seen::Message("to even".into())
    );
    assert_eq!(
        next(&mut rx_b, |s| matches!(s, Seen::Message(_))).await,
        Seen::Message("to odd".into())
    );

    for m in managers {
        m.shutdown_all().await;
    }
    let _ = tokio::time::timeout(WAIT, run_a).await;
    let _ = tokio::time::timeout(WAIT, run_b).await;
}
