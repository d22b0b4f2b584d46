//! Load generator: runs the real `usmca-bot run` binary against the fake Discord (REST + gateway
//! on 127.0.0.1 only), a fresh Postgres database and a fresh Redis key prefix, and sends
//! MESSAGE_CREATE events at fixed open-loop rates. Driven by `scripts/bench-load.sh`.
//!
//! For each rate it reports: the daemon's receipt → decision latency (p50/p99, from its own
//! `usmca_receipt_to_decision_seconds` histogram, interpolated within buckets), dispatch →
//! action-request latency measured here (gateway send → the fake receiving the first request
//! about that message: its DELETE, or the warning to its author, each toxic message coming from
//! an author of its own), the backlog (messages sent but not yet decided) at the end of
//! the sending window, whether the rate was sustained (every message of the window decided
//! within 1 s of its end: the queue did not grow without bound), and the daemon's peak RSS
//! (`VmHWM` in /proc). Bounded: at most `--seconds` per rate and 20,000 messages per rate.
//!
//! ```text
//! cargo run --release --example bench_load -- --bin target/release/usmca-bot --rates 250,500,1000
//! ```

#[path = "../tests/support/db.rs"]
mod db;
#[path = "../tests/support/fake_discord/mod.rs"]
mod fake_discord;
#[path = "../tests/support/redis.rs"]
mod redis_support;

use fake_discord::events::{self, GuildSpec};
use fake_discord::{FakeConfig, FakeDiscord};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use usmca_bot::behaviour::snowflake_at;

const GUILD: u64 = 1_000_000_000_000_000_001;
const CHANNELS: u64 = 8;
const MAX_PER_RATE: usize = 20_000;

struct Args {
    bin: String,
    model_dir: String,
    rates: Vec<u32>,
    seconds: f64,
    toxic_every: usize,
    out: Option<String>,
    log: String,
}

fn parse_args() -> Result<Args, String> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut a = Args {
        bin: format!("{root}/target/release/usmca-bot"),
        model_dir: format!("{root}/models/toxblock-lstm"),
        rates: vec![250, 500, 1000, 1500, 2000],
        seconds: 10.0,
        toxic_every: 50,
        out: None,
        log: std::env::temp_dir()
            .join("usmca-bench-load.log")
            .display()
            .to_string(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().ok_or(format!("{k} needs a value"));
        match k.as_str() {
            "--bin" => a.bin = v()?,
            "--model-dir" => a.model_dir = v()?,
            "--rates" => {
                a.rates = v()?
                    .split(',')
                    .map(|r| r.trim().parse().map_err(|e| format!("--rates: {e}")))
                    .collect::<Result<_, _>>()?
            }
            "--seconds" => a.seconds = v()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--toxic-every" => {
                a.toxic_every = v()?.parse().map_err(|e| format!("--toxic-every: {e}"))?
            }
            "--out" => a.out = Some(v()?),
            "--log" => a.log = v()?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.seconds <= 0.0 || a.seconds > 60.0 || a.toxic_every == 0 {
        return Err("--seconds must be in (0, 60] and --toxic-every at least 1".into());
    }
    Ok(a)
}

/// Davidson tweets: (clean ones, offensive or hateful ones).
fn corpus() -> (Vec<String>, Vec<String>) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/datasets/davidson/labeled_data.csv"
    );
    let (mut clean, mut toxic) = (Vec::new(), Vec::new());
    if let Ok(mut rdr) = csv::Reader::from_path(path) {
        let headers = rdr.headers().cloned().unwrap_or_default();
        let col = |n: &str| headers.iter().position(|h| h == n);
        if let (Some(t), Some(c)) = (col("tweet"), col("class")) {
            for rec in rdr.records().map_while(Result::ok) {
                let text = rec.get(t).unwrap_or_default().to_string();
                match rec.get(c) {
                    Some("2") => clean.push(text),
                    Some(_) => toxic.push(text),
                    None => {}
                }
            }
        }
    }
    if clean.is_empty() || toxic.is_empty() {
        eprintln!("note: {path} not readable; using built-in messages");
        clean = vec!["thanks for the help, see you at the meeting tonight".into()];
        toxic = vec!["i will kill you, you stupid bitch".into()];
    }
    (clean, toxic)
}

/// A MESSAGE_CREATE from a member who joined a year ago (not a newcomer).
fn message(channel: u64, id: u64, author: u64, content: &str) -> Value {
    let joined = (chrono::Utc::now() - chrono::Duration::days(365)).to_rfc3339();
    let now = chrono::Utc::now().to_rfc3339();
    json!({
        "id": id.to_string(), "channel_id": channel.to_string(), "guild_id": GUILD.to_string(),
        "author": events::user(author, &format!("member{}", author % 100_000), false),
        "member": {"roles": [], "joined_at": joined, "deaf": false, "mute": false, "flags": 0},
        "content": content, "timestamp": now, "edited_timestamp": null, "tts": false,
        "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [],
        "embeds": [], "pinned": false, "type": 0, "components": [],
    })
}

/// `usmca_*` counters and the receipt → decision histogram from /metrics.
#[derive(Debug, Clone, Default)]
struct Metrics {
    received: f64,
    classified: f64,
    buckets: Vec<(f64, f64)>,
}

async fn scrape(addr: &str) -> Option<Metrics> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).await.ok()?;
    let mut m = Metrics::default();
    for line in buf.lines() {
        let mut parts = line.rsplitn(2, ' ');
        let (Some(value), Some(name)) = (parts.next(), parts.next()) else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        if name == "usmca_messages_received_total" {
            m.received = value;
        } else if name == "usmca_messages_classified_total" {
            m.classified = value;
        } else if let Some(le) = name
            .strip_prefix("usmca_receipt_to_decision_seconds_bucket{le=\"")
            .and_then(|r| r.strip_suffix("\"}"))
        {
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            m.buckets.push((le, value));
        }
    }
    Some(m)
}

/// The q-quantile of the observations between two histogram snapshots, interpolated linearly
/// within the bucket (seconds).
fn quantile(before: &Metrics, after: &Metrics, q: f64) -> Option<f64> {
    let counts: Vec<(f64, f64)> = after
        .buckets
        .iter()
        .map(|&(le, c)| {
            let b = before
                .buckets
                .iter()
                .find(|(l, _)| *l == le)
                .map_or(0.0, |x| x.1);
            (le, c - b)
        })
        .collect();
    let total = counts.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let target = q * total;
    let mut prev = (0.0, 0.0);
    for &(le, c) in &counts {
        if c >= target {
            if le.is_infinite() {
                return Some(prev.0);
            }
            let frac = if c > prev.1 {
                (target - prev.1) / (c - prev.1)
            } else {
                1.0
            };
            return Some(prev.0 + frac * (le - prev.0));
        }
        prev = (le, c);
    }
    None
}

fn exact_quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let idx = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    Some(sorted[idx])
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

struct Guard(Child);
impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn ms(d: Option<f64>) -> String {
    d.map_or("-".into(), |s| format!("{:.1}", s * 1000.0))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bench_load: {e}");
            std::process::exit(2);
        }
    };
    std::env::set_var("NO_PROXY", "127.0.0.1,localhost");
    std::env::set_var("no_proxy", "127.0.0.1,localhost");
    let (clean, toxic) = corpus();

    let mut guild = GuildSpec::new(GUILD, "Load Test");
    for c in 2..=CHANNELS {
        guild = guild.channel(GUILD + c, &format!("chat-{c}"));
    }
    let fake = Arc::new(
        FakeDiscord::start(FakeConfig {
            guilds: vec![guild],
            heartbeat_interval: Duration::from_secs(5),
            ..FakeConfig::default()
        })
        .await,
    );
    let db = db::TestDb::new().await;
    let redis = redis_support::TestRedis::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(18_080);
    let http = format!("127.0.0.1:{port}");
    let log = match std::fs::File::create(&args.log) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("bench_load: cannot create {}: {e}", args.log);
            std::process::exit(2);
        }
    };
    let child = Command::new(&args.bin)
        .arg("run")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("USMCA_CONFIG")
        .env("DISCORD_TOKEN", "load-test-token")
        .env("USMCA_DISCORD__API_BASE", fake.api_base())
        .env("DATABASE_URL", &db.url)
        .env("REDIS_URL", &redis.url)
        .env("USMCA_REDIS__KEY_PREFIX", &redis.prefix)
        .env("USMCA_HTTP__ADDR", &http)
        .env("USMCA_MODEL__DIR", &args.model_dir)
        // Measure throughput, not the per-guild brake on automatic actions.
        .env("USMCA_LIMITS__ACTIONS_PER_MINUTE", "1000000")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .stdout(log.try_clone().map_or(Stdio::null(), Stdio::from))
        .stderr(Stdio::from(log))
        .spawn();
    let child = match child {
        Ok(c) => Guard(c),
        Err(e) => {
            eprintln!(
                "bench_load: cannot start {}: {e} (build it with cargo build --release)",
                args.bin
            );
            std::process::exit(2);
        }
    };
    let pid = child.0.id();
    let ready = fake
        .wait_for(
            |r| r.is("PUT", "/applications/*/guilds/*/commands"),
            Duration::from_secs(60),
        )
        .await;
    if ready.is_none() {
        eprintln!(
            "bench_load: the daemon did not become ready; see {}",
            args.log
        );
        std::process::exit(1);
    }
    let idle_rss = peak_rss_kib(pid);
    eprintln!(
        "daemon ready (pid {pid}, peak RSS so far {} MiB); log: {}",
        idle_rss.map_or("-".into(), |k| format!("{:.1}", k as f64 / 1024.0)),
        args.log
    );

    let mut rows = Vec::new();
    let mut seq: u64 = 0;
    let mut next_toxic_author: u64 = 0;
    for &rate in &args.rates {
        let count = ((f64::from(rate) * args.seconds) as usize).min(MAX_PER_RATE);
        let before = scrape(&http).await.unwrap_or_default();
        fake.clear_requests();
        // Plan the messages (content, author) before the clock starts.
        let plan: Vec<(u64, u64, u64, String, bool)> = (0..count)
            .map(|k| {
                seq += 1;
                let is_toxic = k % args.toxic_every == args.toxic_every - 1;
                let author = if is_toxic {
                    next_toxic_author += 1;
                    snowflake_at(1_600_000_000_000 + next_toxic_author as i64, 1)
                } else {
                    snowflake_at(1_500_000_000_000 + (seq % 20_000) as i64 * 1000, 2)
                };
                let text = if is_toxic {
                    toxic[seq as usize % toxic.len()].clone()
                } else {
                    clean[seq as usize % clean.len()].clone()
                };
                let id = snowflake_at(chrono::Utc::now().timestamp_millis(), 0) + seq;
                (GUILD + 1 + seq % CHANNELS, id, author, text, is_toxic)
            })
            .collect();
        // Open loop on a plain thread: message k goes at start + k / rate, whatever the daemon does.
        let sender_fake = fake.clone();
        let period = Duration::from_secs_f64(1.0 / f64::from(rate));
        let sender = std::thread::spawn(move || {
            let start = Instant::now();
            let mut sent_at = HashMap::new();
            let mut max_lag = Duration::ZERO;
            for (k, (channel, id, author, text, is_toxic)) in plan.into_iter().enumerate() {
                let due = start + period * k as u32;
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                } else {
                    max_lag = max_lag.max(now - due);
                }
                let payload = message(channel, id, author, &text);
                let at = Instant::now();
                sender_fake.dispatch("MESSAGE_CREATE", payload);
                if is_toxic {
                    // Toxic authors are unique, so a request naming the author (a warning's DM
                    // or mention) is about this message too.
                    sent_at.insert(id, (id, at));
                    sent_at.insert(author, (id, at));
                }
            }
            (sent_at, max_lag, start.elapsed())
        });
        let (sent_at, max_lag, took) =
            match tokio::task::spawn_blocking(move || sender.join()).await {
                Ok(Ok(r)) => r,
                _ => {
                    eprintln!("bench_load: the sender thread failed");
                    std::process::exit(1);
                }
            };
        let at_end = scrape(&http).await.unwrap_or_default();
        let want = before.classified + count as f64;
        let backlog_end = (want - at_end.classified).max(0.0);
        let mut drained = None;
        let drain_start = Instant::now();
        let mut last = at_end.clone();
        while drain_start.elapsed() < Duration::from_secs(30) {
            if let Some(m) = scrape(&http).await {
                if m.classified >= want {
                    drained = Some(drain_start.elapsed());
                    last = m;
                    break;
                }
                last = m;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Let the last actions reach the fake.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = scrape(&http).await.unwrap_or(last);
        // The first request about each toxic message: its DELETE, or the warning that
        // references it (the message id in the path or the JSON body).
        let mut first: HashMap<u64, (Instant, Instant)> = HashMap::new();
        for r in fake.requests().iter().filter(|r| r.method != "GET") {
            let body = r.body.as_ref().map(Value::to_string).unwrap_or_default();
            let ids = r
                .path
                .split('/')
                .filter_map(|p| p.parse::<u64>().ok())
                .chain(
                    body.split(|c: char| !c.is_ascii_digit())
                        .filter_map(|p| p.parse().ok()),
                );
            for id in ids {
                if let Some(&(msg, sent)) = sent_at.get(&id) {
                    let e = first.entry(msg).or_insert((sent, r.at));
                    e.1 = e.1.min(r.at);
                }
            }
        }
        let mut action_lat: Vec<f64> = first
            .values()
            .filter_map(|(sent, at)| Some(at.checked_duration_since(*sent)?.as_secs_f64()))
            .collect();
        action_lat.sort_by(f64::total_cmp);
        let sustained = drained.is_some_and(|d| d <= Duration::from_secs(1));
        let row = json!({
            "rate": rate,
            "messages": count,
            "send_seconds": took.as_secs_f64(),
            "sender_max_lag_ms": max_lag.as_secs_f64() * 1000.0,
            "decision_p50_ms": quantile(&before, &after, 0.5).map(|s| s * 1000.0),
            "decision_p99_ms": quantile(&before, &after, 0.99).map(|s| s * 1000.0),
            "action_requests": action_lat.len(),
            "toxic_sent": sent_at.len() / 2,
            "action_p50_ms": exact_quantile(&action_lat, 0.5).map(|s| s * 1000.0),
            "action_p99_ms": exact_quantile(&action_lat, 0.99).map(|s| s * 1000.0),
            "backlog_at_end": backlog_end,
            "drain_seconds": drained.map(|d| d.as_secs_f64()),
            "sustained": sustained,
            "peak_rss_mib": peak_rss_kib(pid).map(|k| k as f64 / 1024.0),
        });
        eprintln!(
            "rate {rate:5}/s: {count} msgs in {:.2}s, decision p50 {} ms p99 {} ms, action p50 {} ms p99 {} ms ({} of {} toxic), backlog at end {backlog_end}, drained in {}, sustained {sustained}, peak RSS {} MiB",
            took.as_secs_f64(),
            ms(quantile(&before, &after, 0.5)),
            ms(quantile(&before, &after, 0.99)),
            ms(exact_quantile(&action_lat, 0.5)),
            ms(exact_quantile(&action_lat, 0.99)),
            action_lat.len(),
            sent_at.len() / 2,
            drained.map_or("> 30 s".into(), |d| format!("{:.2}s", d.as_secs_f64())),
            row["peak_rss_mib"].as_f64().map_or("-".into(), |v| format!("{v:.1}")),
        );
        rows.push(row);
        if drained.is_none() {
            eprintln!("backlog did not drain within 30 s; stopping here");
            break;
        }
    }
    let best = rows
        .iter()
        .filter(|r| r["sustained"].as_bool() == Some(true))
        .filter_map(|r| r["rate"].as_u64())
        .max();
    let report = json!({
        "rates": rows,
        "highest_sustained_rate": best,
        "peak_rss_mib": peak_rss_kib(pid).map(|k| k as f64 / 1024.0),
        "model_dir": args.model_dir,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    );
    if let Some(out) = &args.out {
        match std::fs::File::create(out) {
            Ok(mut f) => {
                let _ = writeln!(f, "{report:#}");
            }
            Err(e) => eprintln!("bench_load: cannot write {out}: {e}"),
        }
    }
    drop(child);
    drop(db);
}
