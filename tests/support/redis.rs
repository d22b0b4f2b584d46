//! Redis for tests: a unique key prefix on the shared server (keys deleted afterwards), and
//! throwaway `redis-server` processes for outage tests.

#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use usmca_bot::config::{RedisConfig, SecretUrl};

/// The server tests use: `REDIS_URL` or a local default.
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_string())
}

/// A unique key prefix on the shared server; every key under it is deleted on drop.
pub struct TestRedis {
    /// Server URL.
    pub url: String,
    /// Key prefix, unique to this test.
    pub prefix: String,
}

impl TestRedis {
    /// A fresh prefix on `REDIS_URL`.
    pub fn new() -> Self {
        Self {
            url: redis_url(),
            prefix: format!("usmca-test:{:016x}:", rand::random::<u64>()),
        }
    }

    /// Configuration pointing the bot at this prefix.
    pub fn config(&self) -> RedisConfig {
        RedisConfig {
            url: SecretUrl::new(self.url.clone()),
            key_prefix: self.prefix.clone(),
        }
    }

    /// A plain synchronous connection for assertions.
    pub fn conn(&self) -> redis::Connection {
        redis::Client::open(self.url.as_str())
            .expect("REDIS_URL is valid")
            .get_connection()
            .expect("Redis reachable at REDIS_URL")
    }

    /// Every key under the prefix.
    pub fn keys(&self) -> Vec<String> {
        let mut conn = self.conn();
        let mut keys = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{}*", self.prefix))
                .arg("COUNT")
                .arg(1000)
                .query(&mut conn)
                .expect("SCAN");
            keys.extend(batch);
            if next == 0 {
                return keys;
            }
            cursor = next;
        }
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let keys = self.keys();
        if !keys.is_empty() {
            let mut conn = self.conn();
            let _: Result<i64, _> = redis::cmd("DEL").arg(&keys).query(&mut conn);
        }
    }
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A private `redis-server` (no persistence) that a test may stop and start again.
pub struct RedisServer {
    /// Port it listens on.
    pub port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server on a free port.
    pub fn start() -> Self {
        let mut s = Self {
            port: free_port(),
            child: None,
        };
        s.restart();
        s
    }

    /// URL of the server.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// (Re)starts the server on the same port and waits until it answers.
    pub fn restart(&mut self) {
        self.stop();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        self.child = Some(child);
        let client = redis::Client::open(self.url()).expect("valid url");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(mut c) = client.get_connection() {
                if redis::cmd("PING").query::<String>(&mut c).is_ok() {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server on port {} did not start", self.port);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
