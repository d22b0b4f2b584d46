//! Redis-backed windows and buckets: each update is one Lua script, one atomic round trip.
//! Also carries shard heartbeats and the settings-change announcements (pub/sub) that let every
//! process apply a guild's new settings at once. Every key lives under `redis.key_prefix` and has
//! a TTL.

use super::{StateError, WindowSnapshot, WindowStore};
use crate::config::RedisConfig;
use async_trait::async_trait;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, Pipeline, RedisFuture, Script, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

static TOUCH: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/window_touch.lua")));
static PEEK: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/window_peek.lua")));
static BUCKET: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/token_bucket.lua")));
static CLAIM: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/claim.lua")));
static ADD_NEW: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/window_add_new.lua")));

/// Extra lifetime of a window key beyond its window, so a key never expires while in use.
const WINDOW_TTL_SLACK_MS: i64 = 1_000;

/// How long Redis may take before an operation counts as failed.
#[derive(Debug, Clone, Copy)]
pub struct RedisTimeouts {
    /// Establishing a connection.
    pub connect: Duration,
    /// One command's reply.
    pub response: Duration,
}

impl Default for RedisTimeouts {
    fn default() -> Self {
        // Short: the moderation path falls back to in-process state rather than wait.
        Self {
            connect: Duration::from_millis(500),
            response: Duration::from_millis(250),
        }
    }
}

/// A connection that counts round trips (one per command or pipeline sent).
#[derive(Clone)]
struct Counted {
    inner: ConnectionManager,
    trips: Arc<AtomicU64>,
}

impl ConnectionLike for Counted {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        self.trips.fetch_add(1, Ordering::Relaxed);
        self.inner.req_packed_command(cmd)
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        self.trips.fetch_add(1, Ordering::Relaxed);
        self.inner.req_packed_commands(cmd, offset, count)
    }

    fn get_db(&self) -> i64 {
        self.inner.get_db()
    }
}

/// Windows, buckets, heartbeats and settings announcements in Redis. Cheap to clone; reconnects by itself.
#[derive(Clone)]
pub struct RedisState {
    conn: Counted,
    prefix: String,
    // Pub/sub needs a connection of its own; the manager's is for commands.
    client: redis::Client,
    timeouts: RedisTimeouts,
}

fn err(e: redis::RedisError) -> StateError {
    StateError::Redis(e.to_string())
}

impl RedisState {
    /// Connects to `redis.url` with the default (short) timeouts.
    pub async fn connect(cfg: &RedisConfig) -> Result<Self, StateError> {
        Self::connect_with(cfg, RedisTimeouts::default()).await
    }

    /// Connects with explicit timeouts and preloads the scripts.
    pub async fn connect_with(
        cfg: &RedisConfig,
        timeouts: RedisTimeouts,
    ) -> Result<Self, StateError> {
        // The URL may hold a password: never echo it.
        let client = redis::Client::open(cfg.url.expose())
            .map_err(|e| StateError::Redis(format!("redis.url is not usable ({:?})", e.kind())))?;
        let manager_cfg = ConnectionManagerConfig::new()
            .set_connection_timeout(timeouts.connect)
            .set_response_timeout(timeouts.response)
            .set_number_of_retries(1)
            .set_max_delay(200);
        let inner = ConnectionManager::new_with_config(client.clone(), manager_cfg)
            .await
            .map_err(err)?;
        let mut conn = Counted {
            inner,
            trips: Arc::new(AtomicU64::new(0)),
        };
        for script in [&*TOUCH, &*PEEK, &*BUCKET, &*CLAIM, &*ADD_NEW] {
            script
                .prepare_invoke()
                .load_async(&mut conn)
                .await
                .map_err(err)?;
        }
        conn.trips.store(0, Ordering::Relaxed);
        Ok(Self {
            conn,
            prefix: cfg.key_prefix.clone(),
            client,
            timeouts,
        })
    }

    /// Round trips made since connecting (scripts count as one each; a reload after a Redis
    /// restart adds one).
    pub fn round_trips(&self) -> u64 {
        self.conn.trips.load(Ordering::Relaxed)
    }

    /// Checks that Redis answers.
    pub async fn ping(&self) -> Result<(), StateError> {
        let mut c = self.conn.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut c)
            .await
            .map_err(err)?;
        Ok(())
    }

    /// The full key for a window.
    pub fn window_key(&self, key: &str) -> String {
        format!("{}w:{key}", self.prefix)
    }

    /// The full key for a token bucket.
    pub fn bucket_key(&self, key: &str) -> String {
        format!("{}b:{key}", self.prefix)
    }

    fn settings_channel(&self) -> String {
        format!("{}settings-changed", self.prefix)
    }

    /// Announces that a guild's settings changed to `version`, so every process sharing this
    /// Redis reloads them at once. Returns how many subscribers heard it.
    pub async fn publish_settings_change(
        &self,
        guild_id: u64,
        version: i64,
    ) -> Result<u64, StateError> {
        let mut c = self.conn.clone();
        redis::cmd("PUBLISH")
            .arg(self.settings_channel())
            .arg(format!("{guild_id}:{version}"))
            .query_async(&mut c)
            .await
            .map_err(err)
    }

    /// Subscribes to settings-change announcements: a stream of `(guild id, settings version)`
    /// that ends when the subscription's connection drops (subscribe again then).
    pub async fn settings_changes(
        &self,
    ) -> Result<impl futures::Stream<Item = (u64, i64)> + Send + Unpin + 'static, StateError> {
        use futures::StreamExt;
        let connect = async {
            let mut pubsub = self.client.get_async_pubsub().await?;
            pubsub.subscribe(self.settings_channel()).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        let pubsub = tokio::time::timeout(self.timeouts.connect, connect)
            .await
            .map_err(|_| StateError::Redis("timed out subscribing to settings changes".into()))?
            .map_err(err)?;
        Ok(pubsub.into_on_message().filter_map(|msg| {
            let change = msg
                .get_payload::<String>()
                .ok()
                .and_then(|body| parse_settings_change(&body));
            futures::future::ready(change)
        }))
    }

    fn heartbeat_key(&self, shard: &str) -> String {
        format!("{}shard:{shard}", self.prefix)
    }

    /// Records a shard's heartbeat (`shard` like "0/2", `body` a JSON status) for `ttl`, so every
    /// process can list the shards of all processes sharing this Redis.
    pub async fn shard_heartbeat(
        &self,
        shard: &str,
        body: &str,
        ttl: Duration,
    ) -> Result<(), StateError> {
        let mut c = self.conn.clone();
        redis::cmd("SET")
            .arg(self.heartbeat_key(shard))
            .arg(body)
            .arg("PX")
            .arg(ttl.as_millis().max(1) as u64)
            .query_async::<()>(&mut c)
            .await
            .map_err(err)
    }

    /// Every live shard heartbeat: (shard, body), sorted by shard.
    pub async fn shard_heartbeats(&self) -> Result<Vec<(String, String)>, StateError> {
        let mut c = self.conn.clone();
        let pattern = format!("{}*", self.heartbeat_key(""));
        let mut keys: Vec<String> = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(200)
                .query_async(&mut c)
                .await
                .map_err(err)?;
            keys.extend(batch);
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        keys.sort();
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            let body: Option<String> = redis::cmd("GET")
                .arg(&k)
                .query_async(&mut c)
                .await
                .map_err(err)?;
            if let Some(b) = body {
                let shard = k
                    .trim_start_matches(&pattern[..pattern.len() - 1])
                    .to_string();
                out.push((shard, b));
            }
        }
        Ok(out)
    }
}

/// Reads a settings-change announcement, `GUILD:VERSION`.
fn parse_settings_change(body: &str) -> Option<(u64, i64)> {
    let (guild, version) = body.split_once(':')?;
    Some((guild.parse().ok()?, version.parse().ok()?))
}

fn snapshot(reply: (u64, Vec<String>)) -> WindowSnapshot {
    WindowSnapshot {
        count: reply.0,
        members: reply.1,
    }
}

#[async_trait]
impl WindowStore for RedisState {
    async fn touch(
        &self,
        key: &str,
        member: &str,
        at_ms: i64,
        window_ms: i64,
        with_members: bool,
    ) -> Result<WindowSnapshot, StateError> {
        let mut c = self.conn.clone();
        let reply: (u64, Vec<String>) = TOUCH
            .key(self.window_key(key))
            .arg(member)
            .arg(at_ms)
            .arg(window_ms)
            .arg(if with_members { "1" } else { "0" })
            .arg(window_ms.max(1) + WINDOW_TTL_SLACK_MS)
            .invoke_async(&mut c)
            .await
            .map_err(err)?;
        Ok(snapshot(reply))
    }

    async fn peek(
        &self,
        key: &str,
        at_ms: i64,
        window_ms: i64,
    ) -> Result<WindowSnapshot, StateError> {
        let mut c = self.conn.clone();
        let reply: (u64, Vec<String>) = PEEK
            .key(self.window_key(key))
            .arg(at_ms)
            .arg(window_ms)
            .invoke_async(&mut c)
            .await
            .map_err(err)?;
        Ok(snapshot(reply))
    }

    async fn add_new(
        &self,
        key: &str,
        members: &[String],
        at_ms: i64,
        window_ms: i64,
    ) -> Result<Vec<String>, StateError> {
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let mut c = self.conn.clone();
        ADD_NEW
            .key(self.window_key(key))
            .arg(at_ms)
            .arg(window_ms)
            .arg(window_ms.max(1) + WINDOW_TTL_SLACK_MS)
            .arg(members)
            .invoke_async(&mut c)
            .await
            .map_err(err)
    }

    async fn claim(
        &self,
        key: &str,
        value: &str,
        _at_ms: i64,
        ttl_ms: i64,
    ) -> Result<String, StateError> {
        let mut c = self.conn.clone();
        CLAIM
            .key(format!("{}c:{key}", self.prefix))
            .arg(value)
            .arg(ttl_ms.max(1))
            .invoke_async(&mut c)
            .await
            .map_err(err)
    }

    async fn take_token(
        &self,
        key: &str,
        capacity: u32,
        per_minute: u32,
        at_ms: i64,
    ) -> Result<bool, StateError> {
        let mut c = self.conn.clone();
        let taken: i64 = BUCKET
            .key(self.bucket_key(key))
            .arg(capacity)
            .arg(per_minute)
            .arg(at_ms)
            .invoke_async(&mut c)
            .await
            .map_err(err)?;
        Ok(taken == 1)
    }
}
