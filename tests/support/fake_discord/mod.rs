//! A fake Discord for tests: REST and gateway on random loopback ports, recording every request.
//!
//! Point serenity at it with `discord.api_base = fake.api_base()` (see `src/discord/http.rs`);
//! `GET /api/v10/gateway` hands out the fake gateway's `ws://` URL. Guild events are routed to
//! the shard `(guild_id >> 22) % total` that IDENTIFYed for them, as Discord does.
//!
//! Only Discord is faked; everything else in the tests is real.
//!
//! ```ignore
//! let fake = FakeDiscord::start(FakeConfig { guilds: vec![GuildSpec::new(G, "g")], ..Default::default() }).await;
//! // config: discord.api_base = fake.api_base(); run the bot; then
//! assert!(fake.wait_for_shards(1, Duration::from_secs(10)).await);
//! fake.dispatch("MESSAGE_CREATE", events::message_create(G, G + 1, 1, &Author::new(42, "a"), "text"));
//! let kick = fake.wait_for(|r| r.is("DELETE", "/guilds/*/members/42"), Duration::from_secs(5)).await;
//! fake.fail_next("PUT", "/guilds/*/bans/*", 1, Fault::missing_permissions());
//! fake.fail_for("PATCH", "/guilds/*/members/*", Duration::from_secs(2), Fault::ServerError);
//! fake.delay_next("PUT", "/guilds/*/bans/*", 1, Duration::from_secs(3)); // applied now, answered later
//! assert!(fake.is_banned(G, 42) && !fake.is_member(G, 42));
//! ```
//!
//! The fake keeps Discord's moderation state: timeouts (`PATCH .../members/{u}`), kicks, bans
//! and deleted messages, readable back through `GET /guilds/{g}/members/{u}`,
//! `GET /guilds/{g}/bans/{u}` and `GET /channels/{c}/messages/{m}` (404 with Discord's error
//! codes 10007, 10026 and 10008 when gone) and through [`FakeDiscord::timed_out_until`],
//! [`FakeDiscord::is_banned`] and [`FakeDiscord::is_member`]. Members never seen are present
//! and not timed out.
//!
//! A web dashboard's "Log in with Discord" runs against it too: OAuth2's authorization-code
//! grant with PKCE (S256) for the users of [`FakeConfig::oauth_users`]. The authorize page
//! (`{api_base}/oauth2/authorize`, outside `/api/v10`) logs in as the user chosen with
//! [`FakeDiscord::set_oauth_user`] and redirects straight back (no consent page);
//! `POST /api/v10/oauth2/token` (form-encoded; client id = `application_id`, secret =
//! [`FakeConfig::oauth_client_secret`], in the form or as HTTP Basic) trades the one-time code
//! (10 minutes; only a successful trade uses it up) for a bearer token; `GET /users/@me` and
//! `/users/@me/guilds` with `Authorization: Bearer ...` answer for that user (the guilds need
//! the `guilds` scope), and with the bot's token for the bot as before. Errors are Discord's:
//! 400 `invalid_grant` (unknown, used or expired code, other `redirect_uri`, PKCE mismatch),
//! 401 `invalid_client`, 401 `{"message": "401: Unauthorized", "code": 0}` for a bad bearer.
//!
//! ```ignore
//! let guild = GuildSpec::new(G, "g").role(R, "mods", 1 << 5, 1).with_member_roles(42, vec![R]);
//! let fake = FakeDiscord::start(FakeConfig {
//!     // /users/@me/guilds: G with permissions = @everyone's | R's, as a decimal string
//!     oauth_users: vec![OAuthUser::new(42, "alice").member_of(&guild)],
//!     guilds: vec![guild],
//!     ..Default::default()
//! }).await;
//! fake.set_oauth_user(42);
//! // GET {api_base}/oauth2/authorize?client_id={application_id}&redirect_uri=...&response_type=code
//! //     &scope=identify+guilds&state=...&code_challenge={s256_challenge(verifier)}&code_challenge_method=S256
//! //   → 302 Location: {redirect_uri}?code=...&state=...
//! // POST {api_base}/api/v10/oauth2/token  grant_type=authorization_code&code=...&redirect_uri=...
//! //     &code_verifier=...&client_id=...&client_secret=fake-client-secret
//! //   → {"access_token": ..., "token_type": "Bearer", "expires_in": 604800, "refresh_token": ..., "scope": ...}
//! assert_eq!(fake.oauth_codes_issued(), 1);
//! let form = &fake.requests_to("POST", "/oauth2/token")[0]; // the form, as a JSON object
//! assert_eq!(form.body_field("grant_type"), Some("authorization_code"));
//! ```
#![allow(dead_code, unused_imports)] // Each test binary uses a different part of this support module.

pub mod events;
mod gateway;
mod oauth;
mod record;
mod rest;
mod state;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

pub use events::{Author, ChannelSpec, GuildSpec, RoleSpec};
pub use oauth::{s256_challenge, OAuthGuild, OAuthUser, CODE_LIFETIME, TOKEN_LIFETIME_SECS};
pub use record::{path_matches, Fault, GatewayCommand, RecordedRequest};

/// Application flag: Server Members intent enabled (unverified bot).
pub const APP_FLAG_MEMBERS_LIMITED: u64 = 1 << 15;
/// Application flag: Message Content intent enabled (unverified bot).
pub const APP_FLAG_MESSAGE_CONTENT_LIMITED: u64 = 1 << 19;

/// What the fake serves.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// Guilds sent as GUILD_CREATE after READY (each to its own shard).
    pub guilds: Vec<GuildSpec>,
    /// The bot's user id (READY `user.id`, author of messages it posts).
    pub bot_user_id: u64,
    /// The application id (READY `application.id`).
    pub application_id: u64,
    /// Shard count `/gateway/bot` recommends.
    pub recommended_shards: u64,
    /// Heartbeat interval sent in HELLO.
    pub heartbeat_interval: Duration,
    /// `flags` of `GET /oauth2/applications/@me`: which privileged intents are enabled
    /// (default: Server Members and Message Content, the "limited" bits of an unverified bot).
    pub application_flags: u64,
    /// Who can log in through OAuth2 (see the module docs); none by default.
    pub oauth_users: Vec<OAuthUser>,
    /// The OAuth2 client secret the token endpoint accepts (the client id is `application_id`).
    pub oauth_client_secret: String,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            guilds: Vec::new(),
            bot_user_id: 900_000_000_000_000_001,
            application_id: 900_000_000_000_000_002,
            recommended_shards: 1,
            heartbeat_interval: Duration::from_secs(5),
            application_flags: APP_FLAG_MEMBERS_LIMITED | APP_FLAG_MESSAGE_CONTENT_LIMITED,
            oauth_users: Vec::new(),
            oauth_client_secret: "fake-client-secret".into(),
        }
    }
}

/// How long a fault or delay rule lasts.
#[derive(Debug)]
enum Budget {
    /// For this many more matching requests.
    Times(usize),
    /// For every matching request until then.
    Until(Instant),
}

impl Budget {
    /// Uses one request's worth; false when the rule is spent.
    fn take(&mut self) -> bool {
        match self {
            Budget::Times(0) => false,
            Budget::Times(n) => {
                *n -= 1;
                true
            }
            Budget::Until(t) => Instant::now() < *t,
        }
    }
}

#[derive(Debug)]
struct FaultRule {
    method: String,
    pattern: String,
    budget: Budget,
    fault: Fault,
}

#[derive(Debug)]
struct DelayRule {
    method: String,
    pattern: String,
    remaining: usize,
    delay: Duration,
}

pub(crate) enum Outbound {
    Dispatch { t: String, d: Value },
    Raw(Value),
}

pub(crate) struct ShardConn {
    pub(crate) shard: (u64, u64),
    pub(crate) session_id: String,
    pub(crate) tx: UnboundedSender<Outbound>,
}

/// A gateway session: its (shard id, total) and last sequence number sent.
pub(crate) type Session = ((u64, u64), u64);

pub(crate) struct Shared {
    pub(crate) cfg: FakeConfig,
    pub(crate) gateway_url: String,
    requests: Mutex<Vec<RecordedRequest>>,
    faults: Mutex<Vec<FaultRule>>,
    delays: Mutex<Vec<DelayRule>>,
    pub(crate) state: Mutex<state::DiscordState>,
    /// OAuth2: the logged-in user, codes and tokens.
    pub(crate) oauth: Mutex<oauth::OAuthState>,
    pub(crate) conns: Mutex<HashMap<u64, ShardConn>>,
    /// session id → (shard, last sequence number).
    pub(crate) sessions: Mutex<HashMap<String, Session>>,
    commands: Mutex<Vec<GatewayCommand>>,
    next_id: AtomicU64,
    pub(crate) next_conn: AtomicU64,
}

/// Locks, ignoring poisoning: a panicking test task must not hide the real failure.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// A fresh snowflake for objects the fake creates.
    pub(crate) fn snowflake(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn take_fault(&self, method: &str, path: &str) -> Option<Fault> {
        lock(&self.faults)
            .iter_mut()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && path_matches(&r.pattern, path))
            .find_map(|r| r.budget.take().then(|| r.fault.clone()))
    }

    /// How long to hold back the answer to this request, when a delay rule matches it.
    pub(crate) fn take_delay(&self, method: &str, path: &str) -> Option<Duration> {
        let mut delays = lock(&self.delays);
        let rule = delays.iter_mut().find(|r| {
            r.remaining > 0
                && r.method.eq_ignore_ascii_case(method)
                && path_matches(&r.pattern, path)
        })?;
        rule.remaining -= 1;
        Some(rule.delay)
    }

    pub(crate) fn record(&self, r: RecordedRequest) {
        lock(&self.requests).push(r);
    }

    pub(crate) fn record_command(&self, c: GatewayCommand) {
        lock(&self.commands).push(c);
    }

    /// Next sequence number for `session`.
    pub(crate) fn next_seq(&self, session: &str) -> u64 {
        let mut s = lock(&self.sessions);
        match s.get_mut(session) {
            Some((_, seq)) => {
                *seq += 1;
                *seq
            }
            None => 1,
        }
    }
}

/// A running fake Discord; stops when dropped.
pub struct FakeDiscord {
    shared: Arc<Shared>,
    api_base: String,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Polls `check` every 10 ms until it yields or `timeout` passes.
async fn poll<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

impl FakeDiscord {
    /// Starts REST and gateway listeners on 127.0.0.1 with random ports.
    /// Panics if a loopback port cannot be bound (a broken test machine).
    pub async fn start(cfg: FakeConfig) -> Self {
        let rest_listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind REST port");
        let gw_listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind gateway port");
        let api_base = format!("http://{}", rest_listener.local_addr().expect("REST addr"));
        let gateway_url = format!("ws://{}", gw_listener.local_addr().expect("gateway addr"));
        let shared = Arc::new(Shared {
            cfg,
            gateway_url,
            requests: Mutex::default(),
            faults: Mutex::default(),
            delays: Mutex::default(),
            state: Mutex::default(),
            oauth: Mutex::default(),
            conns: Mutex::default(),
            sessions: Mutex::default(),
            commands: Mutex::default(),
            next_id: AtomicU64::new(1_100_000_000_000_000_000),
            next_conn: AtomicU64::new(1),
        });
        let tasks = vec![
            tokio::spawn(rest::serve(rest_listener, shared.clone())),
            tokio::spawn(gateway::serve(gw_listener, shared.clone())),
        ];
        Self {
            shared,
            api_base,
            tasks,
        }
    }

    /// `http://127.0.0.1:PORT`: the value for `discord.api_base`.
    pub fn api_base(&self) -> String {
        self.api_base.clone()
    }

    /// `ws://127.0.0.1:PORT`: what `/gateway` answers.
    pub fn gateway_url(&self) -> String {
        self.shared.gateway_url.clone()
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &FakeConfig {
        &self.shared.cfg
    }

    /// Every REST request so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// REST requests that are `method` on `pattern` (see [`RecordedRequest::is`]).
    pub fn requests_to(&self, method: &str, pattern: &str) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.is(method, pattern))
            .collect()
    }

    /// Waits until a recorded request satisfies `pred`; returns the first that does.
    pub async fn wait_for(
        &self,
        pred: impl Fn(&RecordedRequest) -> bool,
        timeout: Duration,
    ) -> Option<RecordedRequest> {
        poll(timeout, || {
            lock(&self.shared.requests)
                .iter()
                .find(|r| pred(r))
                .cloned()
        })
        .await
    }

    /// Forgets the requests recorded so far.
    pub fn clear_requests(&self) {
        lock(&self.shared.requests).clear();
    }

    /// Makes the next `times` requests that are `method` on `pattern` answer with `fault`.
    pub fn fail_next(&self, method: &str, pattern: &str, times: usize, fault: Fault) {
        lock(&self.shared.faults).push(FaultRule {
            method: method.to_owned(),
            pattern: pattern.to_owned(),
            budget: Budget::Times(times),
            fault,
        });
    }

    /// Makes every request that is `method` on `pattern` answer with `fault` until `duration`
    /// has passed (from now). Failed requests are recorded but change no state.
    pub fn fail_for(&self, method: &str, pattern: &str, duration: Duration, fault: Fault) {
        lock(&self.shared.faults).push(FaultRule {
            method: method.to_owned(),
            pattern: pattern.to_owned(),
            budget: Budget::Until(Instant::now() + duration),
            fault,
        });
    }

    /// Holds back the answer to the next `times` requests that are `method` on `pattern` for
    /// `delay`. They are recorded and applied to the state on arrival, as Discord applies a
    /// call whose client then dies before the answer comes.
    pub fn delay_next(&self, method: &str, pattern: &str, times: usize, delay: Duration) {
        lock(&self.shared.delays).push(DelayRule {
            method: method.to_owned(),
            pattern: pattern.to_owned(),
            remaining: times,
            delay,
        });
    }

    /// The `communication_disabled_until` (ISO 8601) of `user` in `guild`, when timed out
    /// (as set, even when already in the past).
    pub fn timed_out_until(&self, guild: u64, user: u64) -> Option<String> {
        lock(&self.shared.state).member(guild, user).timed_out_until
    }

    /// Sets a permission overwrite on a channel, as a server admin would have.
    pub fn set_overwrite(&self, channel: u64, target: u64, kind: u8, allow: u64, deny: u64) {
        lock(&self.shared.state).set_overwrite(channel, target, kind, allow, deny);
    }

    /// Sets a channel's slow-mode, as a server admin would have.
    pub fn set_slowmode(&self, channel: u64, seconds: u64) {
        lock(&self.shared.state).set_slowmode(channel, seconds);
    }

    /// A channel's permission overwrites as (target, type, allow, deny), sorted by target.
    pub fn overwrites(&self, channel: u64) -> Vec<(u64, u8, u64, u64)> {
        lock(&self.shared.state).overwrites(channel)
    }

    /// Whether `user` is banned from `guild`.
    pub fn is_banned(&self, guild: u64, user: u64) -> bool {
        lock(&self.shared.state).ban_of(guild, user).is_some()
    }

    /// Whether `user` is in `guild`: true unless kicked or banned (and not back through a
    /// GUILD_MEMBER_ADD dispatch).
    pub fn is_member(&self, guild: u64, user: u64) -> bool {
        lock(&self.shared.state).member(guild, user).present
    }

    /// Whether message `message` in `channel` was deleted through the REST API.
    pub fn is_message_deleted(&self, channel: u64, message: u64) -> bool {
        lock(&self.shared.state).is_deleted(channel, message)
    }

    /// Chooses who the OAuth2 authorize page logs in as (the user signed in to Discord in the
    /// browser). Panics when `user_id` is not in [`FakeConfig::oauth_users`].
    pub fn set_oauth_user(&self, user_id: u64) {
        assert!(
            self.shared.cfg.oauth_users.iter().any(|u| u.id == user_id),
            "user {user_id} is not in FakeConfig::oauth_users"
        );
        lock(&self.shared.oauth).user = Some(user_id);
    }

    /// How many authorization codes the authorize page has issued.
    pub fn oauth_codes_issued(&self) -> usize {
        lock(&self.shared.oauth).codes_issued()
    }

    /// Expires every authorization code issued so far, as if ten minutes had passed.
    pub fn expire_oauth_codes(&self) {
        lock(&self.shared.oauth).expire_codes();
    }

    /// Gateway payloads shards have sent (IDENTIFY, RESUME, heartbeats, ...).
    pub fn gateway_commands(&self) -> Vec<GatewayCommand> {
        lock(&self.shared.commands).clone()
    }

    /// Gateway payloads with opcode `op`.
    pub fn gateway_commands_with(&self, op: u64) -> Vec<GatewayCommand> {
        self.gateway_commands()
            .into_iter()
            .filter(|c| c.op == op)
            .collect()
    }

    /// Connections that have IDENTIFYed or RESUMEd and are still open.
    pub fn shard_count_connected(&self) -> usize {
        lock(&self.shared.conns).len()
    }

    /// The (shard id, total) pairs of the open sessions, sorted.
    pub fn connected_shards(&self) -> Vec<(u64, u64)> {
        let mut v: Vec<_> = lock(&self.shared.conns).values().map(|c| c.shard).collect();
        v.sort_unstable();
        v
    }

    /// Waits until at least `n` shard sessions are open.
    pub async fn wait_for_shards(&self, n: usize, timeout: Duration) -> bool {
        poll(timeout, || {
            (self.shard_count_connected() >= n).then_some(())
        })
        .await
        .is_some()
    }

    /// Waits until a gateway payload satisfies `pred`.
    pub async fn wait_for_command(
        &self,
        pred: impl Fn(&GatewayCommand) -> bool,
        timeout: Duration,
    ) -> Option<GatewayCommand> {
        poll(timeout, || {
            lock(&self.shared.commands)
                .iter()
                .find(|c| pred(c))
                .cloned()
        })
        .await
    }

    fn send_where(&self, pick: impl Fn(&ShardConn) -> bool, make: impl Fn() -> Outbound) -> usize {
        lock(&self.shared.conns)
            .values()
            .filter(|c| pick(c))
            .filter(|c| c.tx.send(make()).is_ok())
            .count()
    }

    /// Pushes a dispatch to the shard owning the payload's `guild_id`, or to every connected
    /// shard when it has none. Returns how many connections it was sent to. The state notes it
    /// too: MESSAGE_CREATE/UPDATE messages are what `GET` answers for them, GUILD_MEMBER_ADD
    /// brings a kicked member back.
    pub fn dispatch(&self, event: &str, payload: Value) -> usize {
        lock(&self.shared.state).observe_dispatch(event, &payload);
        let guild = payload.get("guild_id").and_then(events::snowflake_of);
        self.send_where(
            |c| guild.is_none_or(|g| (g >> 22) % c.shard.1.max(1) == c.shard.0),
            || Outbound::Dispatch {
                t: event.to_owned(),
                d: payload.clone(),
            },
        )
    }

    /// Pushes a dispatch to shard `shard_id` only.
    pub fn dispatch_to_shard(&self, shard_id: u64, event: &str, payload: Value) -> usize {
        lock(&self.shared.state).observe_dispatch(event, &payload);
        self.send_where(
            |c| c.shard.0 == shard_id,
            || Outbound::Dispatch {
                t: event.to_owned(),
                d: payload.clone(),
            },
        )
    }

    /// Sends op 7 RECONNECT to shard `shard_id`.
    pub fn reconnect_shard(&self, shard_id: u64) -> usize {
        self.send_where(
            |c| c.shard.0 == shard_id,
            || Outbound::Raw(serde_json::json!({"op": 7, "d": null})),
        )
    }

    /// Sends op 9 INVALID SESSION (`d` = `resumable`) to shard `shard_id`.
    pub fn invalidate_session(&self, shard_id: u64, resumable: bool) -> usize {
        if !resumable {
            let mut sessions = lock(&self.shared.sessions);
            for c in lock(&self.shared.conns)
                .values()
                .filter(|c| c.shard.0 == shard_id)
            {
                sessions.remove(&c.session_id);
            }
        }
        self.send_where(
            |c| c.shard.0 == shard_id,
            || Outbound::Raw(serde_json::json!({"op": 9, "d": resumable})),
        )
    }
}
