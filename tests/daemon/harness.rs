//! Runs the real `usmca-bot` binary against the fake Discord, a fresh Postgres database and a
//! fresh Redis key prefix.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use usmca_bot::behaviour::snowflake_at;
use usmca_bot::domain::GuildSettings;
use usmca_bot::storage::Storage;

use crate::db::TestDb;
use crate::fake_discord::events::{self, Author};
use crate::fake_discord::{FakeConfig, FakeDiscord, GuildSpec, OAuthUser, RecordedRequest};
use crate::redis_support::TestRedis;

/// The guild every test moderates.
pub const GUILD: u64 = 1_000_000_000_000_000_001;
/// Its general channel.
pub const GENERAL: u64 = GUILD + 1;
/// Its mod-log channel.
pub const MOD_LOG: u64 = GUILD + 2;
/// Its appeal-review channel.
pub const APPEALS: u64 = GUILD + 3;
/// A role with Manage Messages.
pub const MOD_ROLE: u64 = GUILD + 10;
/// Discord's Manage Messages bit.
pub const MANAGE_MESSAGES: u64 = 0x2000;
/// Administrator.
pub const ADMINISTRATOR: u64 = 0x8;
/// How long tests wait for the daemon to do something.
pub const WAIT: Duration = Duration::from_secs(20);

/// A running daemon and everything around it.
pub struct Daemon {
    /// The fake Discord it talks to (shared by every process of a multi-process test).
    pub fake: Arc<FakeDiscord>,
    /// Its database.
    pub db: Arc<TestDb>,
    /// Its Redis server and key prefix (kept alive, and its keys deleted, with the daemon).
    _redis: Arc<TestRedis>,
    /// `127.0.0.1:PORT` of its HTTP listener.
    pub http_addr: String,
    child: Option<Child>,
    logs: Arc<Mutex<Vec<String>>>,
    /// The daemon's journal directory (its own, like a volume per process).
    journal: Arc<tempfile::TempDir>,
    next_message: std::sync::atomic::AtomicU64,
    /// `127.0.0.1:PORT` of the web dashboard, when started with [`Options::web`].
    web_addr: Option<String>,
}

/// How to start one.
pub struct Options {
    /// Guild settings stored before the daemon starts.
    pub settings: GuildSettings,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Guilds the fake serves.
    pub guilds: Vec<GuildSpec>,
    /// `discord.shards`.
    pub shards: String,
    /// Recommended shard count of the fake.
    pub recommended_shards: u64,
    /// Turns the web dashboard on: a free loopback port, its public URL, and the fake's OAuth2
    /// client secret (the client id comes from READY). See [`Daemon::web_url`].
    pub web: bool,
    /// Who can log in through the fake's OAuth2 (the dashboard's "Log in with Discord").
    pub oauth_users: Vec<OAuthUser>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            settings: GuildSettings {
                mod_log_channel: Some(MOD_LOG),
                appeal_channel: Some(APPEALS),
                ..GuildSettings::default()
            },
            env: vec![("USMCA_ENFORCEMENT__COOLDOWN".into(), "1s".into())],
            guilds: vec![guild()],
            shards: "auto".into(),
            recommended_shards: 1,
            web: false,
            oauth_users: Vec::new(),
        }
    }
}

/// The test guild: general, mod-log and appeals channels, a moderator role.
pub fn guild() -> GuildSpec {
    GuildSpec::new(GUILD, "Test Server")
        .channel(MOD_LOG, "mod-log")
        .channel(APPEALS, "appeals")
        .role(MOD_ROLE, "moderators", MANAGE_MESSAGES, 1)
}

/// A free loopback port (released again before the daemon binds it).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A user id whose snowflake says the account was created `age` ago.
pub fn account_aged(age: Duration, seq: u64) -> u64 {
    let now = chrono::Utc::now().timestamp_millis();
    snowflake_at(now - age.as_millis() as i64, seq)
}

impl Daemon {
    /// Starts the fake, a database and the daemon; returns once its shards are connected and
    /// its slash commands installed in every guild.
    pub async fn start(opts: Options) -> Self {
        crate::no_proxy();
        let fake = Self::fake(&opts).await;
        let db = Arc::new(TestDb::new().await);
        for g in &opts.guilds {
            db.storage
                .set_guild_settings(g.id, &opts.settings, &crate::base_config(), None)
                .await
                .expect("guild settings stored");
        }
        let daemon = Self::spawn(fake, db, Arc::new(TestRedis::new()), &opts);
        daemon.until_ready(opts.guilds.len()).await;
        if opts.web {
            daemon.until_web().await;
        }
        daemon
    }

    /// A fake Discord serving `opts.guilds`.
    pub async fn fake(opts: &Options) -> Arc<FakeDiscord> {
        crate::no_proxy();
        Arc::new(
            FakeDiscord::start(FakeConfig {
                guilds: opts.guilds.clone(),
                recommended_shards: opts.recommended_shards,
                heartbeat_interval: Duration::from_millis(500),
                oauth_users: opts.oauth_users.clone(),
                ..FakeConfig::default()
            })
            .await,
        )
    }

    /// Waits until commands were installed `guilds` times (every shard connected, every guild
    /// bootstrapped), counting installs already recorded before this process started.
    pub async fn until_ready(&self, guilds: usize) {
        self.eventually("shards connected and commands installed", || async {
            (self
                .fake
                .requests_to("PUT", "/applications/*/guilds/*/commands")
                .len()
                >= guilds)
                .then_some(())
        })
        .await;
    }

    /// Spawns the binary for an existing fake, database and Redis prefix.
    pub fn spawn(
        fake: Arc<FakeDiscord>,
        db: Arc<TestDb>,
        redis: Arc<TestRedis>,
        opts: &Options,
    ) -> Self {
        let journal = Arc::new(tempfile::tempdir().expect("journal directory"));
        Self::spawn_with_journal(fake, db, redis, opts, journal)
    }

    /// Spawns the binary with a given journal directory (a restart keeps its journal).
    pub fn spawn_with_journal(
        fake: Arc<FakeDiscord>,
        db: Arc<TestDb>,
        redis: Arc<TestRedis>,
        opts: &Options,
        journal: Arc<tempfile::TempDir>,
    ) -> Self {
        let port = free_port();
        let http_addr = format!("127.0.0.1:{port}");
        let root = env!("CARGO_MANIFEST_DIR");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_usmca-bot"));
        cmd.arg("run")
            .current_dir(root)
            .env_remove("USMCA_CONFIG")
            .env("DISCORD_TOKEN", "test-token")
            .env("USMCA_DISCORD__API_BASE", fake.api_base())
            .env("USMCA_DISCORD__SHARDS", &opts.shards)
            .env("DATABASE_URL", &db.url)
            .env("REDIS_URL", &redis.url)
            .env("USMCA_REDIS__KEY_PREFIX", &redis.prefix)
            .env("USMCA_HTTP__ADDR", &http_addr)
            .env("USMCA_STORAGE__JOURNAL_DIR", journal.path())
            .env("USMCA_MODEL__DIR", format!("{root}/models/toxblock-lstm"))
            .env(
                "USMCA_LOG__FILTER",
                "info,usmca_bot=debug,serenity=warn,ort=warn",
            )
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            // The dashboard runs only where a test asks for it (Options::web).
            .env_remove("DISCORD_CLIENT_SECRET")
            .env_remove("USMCA_WEB__CLIENT_SECRET")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let web_addr = opts.web.then(|| {
            let addr = format!("127.0.0.1:{}", free_port());
            cmd.env("USMCA_WEB__ADDR", &addr)
                .env("USMCA_WEB__PUBLIC_URL", format!("http://{addr}"))
                .env("DISCORD_CLIENT_SECRET", &fake.config().oauth_client_secret);
            addr
        });
        for (k, v) in &opts.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn usmca-bot");
        let logs = Arc::new(Mutex::new(Vec::new()));
        for out in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let logs = logs.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    logs.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                }
            });
        }
        Self {
            fake,
            db,
            _redis: redis,
            http_addr,
            child: Some(child),
            logs,
            journal,
            next_message: std::sync::atomic::AtomicU64::new(0),
            web_addr,
        }
    }

    /// `http://127.0.0.1:PORT` of the web dashboard (its `web.public_url`). Panics unless the
    /// daemon was started with [`Options::web`].
    pub fn web_url(&self) -> String {
        let addr = self
            .web_addr
            .as_deref()
            .expect("the dashboard is off: start the daemon with Options { web: true, .. }");
        format!("http://{addr}")
    }

    /// Waits until the web dashboard accepts connections.
    pub async fn until_web(&self) {
        let addr = self.web_url().trim_start_matches("http://").to_string();
        self.eventually("web dashboard listening", || async {
            tokio::net::TcpStream::connect(&addr).await.ok().map(|_| ())
        })
        .await;
    }

    /// Everything the daemon printed so far.
    pub fn logs(&self) -> String {
        self.logs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .join("\n")
    }

    /// A fresh message id near now.
    pub fn message_id(&self) -> u64 {
        let seq = self
            .next_message
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        account_aged(Duration::ZERO, seq % 4096)
    }

    /// Sends a MESSAGE_CREATE in `channel` by `author`; returns the message id.
    pub fn say(&self, channel: u64, author: &Author, text: &str) -> u64 {
        let id = self.message_id();
        let sent = self.fake.dispatch(
            "MESSAGE_CREATE",
            events::message_create(GUILD, channel, id, author, text),
        );
        assert_eq!(sent, 1, "the message reached no shard");
        id
    }

    /// Asserts that nothing was enforced on Discord: no message deleted, no member timed out.
    pub fn assert_no_enforcement(&self) {
        let deletes = self.fake.requests_to("DELETE", "/channels/*/messages/*");
        let timeouts = self.fake.requests_to("PATCH", "/guilds/*/members/*");
        assert!(
            deletes.is_empty() && timeouts.is_empty(),
            "{} deletes, {} member edits:\n{}",
            deletes.len(),
            timeouts.len(),
            self.logs()
        );
    }

    /// The daemon's journal directory (pass it to [`Daemon::spawn_with_journal`] to restart
    /// the same process).
    pub fn journal(&self) -> Arc<tempfile::TempDir> {
        self.journal.clone()
    }

    /// The storage of the daemon's database.
    pub fn storage(&self) -> &Storage {
        &self.db.storage
    }

    /// Waits for a request `method pattern` satisfying `pred`.
    pub async fn request(
        &self,
        method: &str,
        pattern: &str,
        pred: impl Fn(&RecordedRequest) -> bool,
    ) -> RecordedRequest {
        match self
            .fake
            .wait_for(|r| r.is(method, pattern) && pred(r), WAIT)
            .await
        {
            Some(r) => r,
            None => panic!(
                "no {method} {pattern} within {WAIT:?}; requests: {:#?}\nlogs:\n{}",
                self.fake
                    .requests()
                    .iter()
                    .map(|r| format!("{} {}", r.method, r.path))
                    .collect::<Vec<_>>(),
                self.logs()
            ),
        }
    }

    /// Polls `check` (a database query, say) until it yields, or panics with the logs.
    pub async fn eventually<T, F, Fut>(&self, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(v) = check().await {
                return v;
            }
            if Instant::now() > deadline {
                panic!("{what}: not within {WAIT:?}\nlogs:\n{}", self.logs());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// GETs a path of the HTTP listener: (status, body).
    pub async fn http_get(&self, path: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = match tokio::net::TcpStream::connect(&self.http_addr).await {
            Ok(s) => s,
            Err(e) => return (0, e.to_string()),
        };
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        if s.write_all(req.as_bytes()).await.is_err() {
            return (0, String::new());
        }
        let mut buf = String::new();
        let _ = s.read_to_string(&mut buf).await;
        let code = buf.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
        let body = buf.split("\r\n\r\n").nth(1).unwrap_or_default().to_string();
        (code, body)
    }

    /// Sends a signal to the daemon.
    pub fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().map(Child::id).expect("daemon running");
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &pid.to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -{sig} {pid}");
    }

    /// Waits for the daemon to exit; returns its exit code.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        let child = self.child.as_mut()?;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                // Let the log readers catch up with the last lines.
                tokio::time::sleep(Duration::from_millis(200)).await;
                return status.code();
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Cases of the test guild, oldest first, as JSON-ish tuples (case_no, user, action, status, dry_run).
    pub async fn cases(&self) -> Vec<(i64, u64, String, String, bool)> {
        sqlx::query_as::<_, (i64, i64, String, String, bool)>(
            "SELECT case_no, user_id, action, status, dry_run FROM moderation_cases ORDER BY case_no",
        )
        .fetch_all(self.storage().pool())
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|(n, u, a, s, d)| (n, u as u64, a, s, d))
        .collect()
    }

    /// The decision stored with message `id`, once its (batched) row is written.
    pub async fn decision_of(&self, id: u64) -> String {
        self.eventually("message row", || async {
            sqlx::query_scalar("SELECT decision FROM messages WHERE message_id = $1")
                .bind(id as i64)
                .fetch_optional(self.storage().pool())
                .await
                .ok()
                .flatten()
        })
        .await
    }

    /// Stored message rows.
    pub async fn message_rows(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM messages")
            .fetch_one(self.storage().pool())
            .await
            .unwrap_or(-1)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The JSON body of a recorded request.
pub fn body(r: &RecordedRequest) -> Value {
    r.body.clone().unwrap_or(Value::Null)
}

/// The JSON `data` of an interaction callback.
pub fn callback_data(r: &RecordedRequest) -> Value {
    body(r)["data"].clone()
}

/// Sends `/mod` with `options` as `who` (with permission bits `perms`) in the test guild and
/// waits for its answer.
pub async fn slash(d: &Daemon, who: &Author, perms: u64, options: Value) -> RecordedRequest {
    let before = d
        .fake
        .requests_to("POST", "/interactions/*/*/callback")
        .len();
    let sent = d.fake.dispatch(
        "INTERACTION_CREATE",
        events::slash_command(GUILD, GENERAL, who, perms, "mod", options),
    );
    assert_eq!(sent, 1);
    d.eventually("interaction answered", || async {
        d.fake
            .requests_to("POST", "/interactions/*/*/callback")
            .get(before)
            .cloned()
    })
    .await
}
