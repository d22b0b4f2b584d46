//! Overhead of the full per-message path over raw ONNX Runtime inference, the way the daemon runs
//! it: messages flow continuously (a fixed number in flight), so one micro-batch's Redis updates
//! and Postgres rows overlap the next one's inference. Reports wall time and this process's CPU
//! time for each mode; run it under `valgrind --tool=callgrind` for instruction counts.
//!
//! * `raw`: the messages, pre-tokenised outside the timing, in batches of 32 through a bare
//!   session (one intra-op thread).
//! * `full`: the same messages through `Pipeline::on_message` (normalise, tokenise, worker
//!   micro-batch, infer, scores, behaviour and brigade state in Redis, decision) and the batched
//!   Postgres `MessageWriter`; the clock stops when the last row is committed.
//!
//! ```text
//! cargo run --release --example path_overhead -- --mode both --messages 4096 --in-flight 64
//! ```
//! Needs the ONNX Runtime library, Postgres at `DATABASE_URL` and Redis at `REDIS_URL` (a fresh
//! database and key prefix, removed afterwards) for `full`.

#[path = "../benches/common/mod.rs"]
mod common;
#[path = "../tests/support/db.rs"]
mod db;
#[path = "../tests/support/redis.rs"]
mod redis_support;

use futures::StreamExt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use usmca_bot::classifier::Classifier;
use usmca_bot::pipeline::Pipeline;
use usmca_bot::state::{RedisState, RedisTimeouts};
use usmca_bot::storage::MessageWriter;

struct Args {
    mode: String,
    messages: usize,
    in_flight: usize,
    max_wait: String,
    warm: usize,
    distinct: Option<usize>,
    redis_timeout: Duration,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        mode: "both".into(),
        messages: 4096,
        in_flight: 64,
        max_wait: "2ms".into(),
        warm: 1000,
        distinct: None,
        redis_timeout: RedisTimeouts::default().response,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--mode" => a.mode = value()?,
            "--messages" => {
                a.messages = value()?.parse().map_err(|e| format!("--messages: {e}"))?
            }
            "--in-flight" => {
                a.in_flight = value()?.parse().map_err(|e| format!("--in-flight: {e}"))?
            }
            "--max-wait" => a.max_wait = value()?,
            // Repeat the first N texts: a copy-paste flood (duplicate-message incidents).
            "--distinct" => {
                a.distinct = Some(value()?.parse().map_err(|e| format!("--distinct: {e}"))?)
            }
            "--warm" => a.warm = value()?.parse().map_err(|e| format!("--warm: {e}"))?,
            // Under valgrind everything runs ~50x slower: the daemon's 250 ms reply timeout
            // would fire.
            "--redis-timeout-ms" => {
                a.redis_timeout = Duration::from_millis(
                    value()?
                        .parse()
                        .map_err(|e| format!("--redis-timeout-ms: {e}"))?,
                )
            }
            "-h" | "--help" => {
                return Err(
                    "usage: path_overhead [--mode raw|full|both] [--messages N] [--in-flight K] \
                     [--max-wait 2ms] [--warm 1000] [--distinct N] [--redis-timeout-ms 250]"
                        .into(),
                )
            }
            other => return Err(format!("unknown argument {other} (see --help)")),
        }
    }
    if !matches!(a.mode.as_str(), "raw" | "full" | "both") {
        return Err(format!("--mode must be raw, full or both, not {}", a.mode));
    }
    if a.messages == 0 || a.in_flight == 0 {
        return Err("--messages and --in-flight must be at least 1".into());
    }
    Ok(a)
}

/// CPU time so far of each thread of this process, by thread name (summed over same names).
fn thread_cpu() -> std::collections::BTreeMap<String, Duration> {
    let mut out = std::collections::BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ... utime stime ...": fields after the closing parenthesis.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_string();
        let rest: Vec<&str> = stat[close + 2..].split(' ').collect();
        let ticks = |i: usize| rest.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        // utime and stime are fields 14 and 15 (indices 11 and 12 after the state), in 1/100 s.
        let cpu = Duration::from_millis((ticks(11) + ticks(12)) * 10);
        *out.entry(name).or_default() += cpu;
    }
    out
}

/// User + system CPU time of this process (all its threads) so far.
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes into the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn report(mode: &str, n: usize, wall: Duration, cpu: Duration) {
    println!(
        "{mode:>4}: {n} messages in {:.3} s = {:.1} messages/s; CPU {:.3} s ({:.1} µs a message)",
        wall.as_secs_f64(),
        n as f64 / wall.as_secs_f64(),
        cpu.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / n as f64,
    );
}

fn raw(msgs: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let mut raw = common::Raw::open(&common::bundled_dir())?;
    let batches: Vec<_> = msgs.chunks(32).map(|c| raw.encode(c)).collect();
    raw.run(&batches[0]); // first call allocates; not part of the figure
    let (start, cpu) = (Instant::now(), cpu_time());
    for b in &batches {
        std::hint::black_box(raw.run(b));
    }
    report("raw", msgs.len(), start.elapsed(), cpu_time() - cpu);
    Ok(())
}

async fn full(msgs: &[String], args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let clf = Classifier::load(&common::model_config(
        &common::bundled_dir(),
        &args.max_wait,
    ))?;
    let test_redis = redis_support::TestRedis::new();
    let timeouts = RedisTimeouts {
        connect: args.redis_timeout.max(Duration::from_millis(500)),
        response: args.redis_timeout,
    };
    let store = Arc::new(RedisState::connect_with(&test_redis.config(), timeouts).await?);
    let db = db::TestDb::new().await;
    let writer = MessageWriter::spawn(db.storage.clone(), common::bench_writer_options());
    // Micro-batches the worker formed and the time it spent in them (tokenising + inference).
    let batches = Arc::new(std::sync::Mutex::new((0u64, 0u64, Duration::ZERO)));
    let seen = batches.clone();
    clf.set_batch_observer(Box::new(move |n, took| {
        if let Ok(mut b) = seen.lock() {
            b.0 += 1;
            b.1 += n as u64;
            b.2 += took;
        }
    }));
    let pipeline = Arc::new(Pipeline::new(clf, store, common::default_policy()));
    let run = |offset: u64, texts: Vec<String>| {
        let pipeline = pipeline.clone();
        let writer = &writer;
        async move {
            futures::stream::iter(texts.into_iter().enumerate())
                .map(|(k, text)| {
                    let pipeline = pipeline.clone();
                    async move {
                        let i = offset + k as u64;
                        let ev = common::message_event(i, 1 + i, &text);
                        let outcome = pipeline.on_message(ev.clone()).await?;
                        writer.submit(common::message_record(&ev, &outcome)).await?;
                        Ok::<_, Box<dyn std::error::Error>>(())
                    }
                })
                .buffer_unordered(args.in_flight)
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .collect::<Result<Vec<()>, _>>()
        }
    };
    // Warm-up: every member's standing loaded once, as in a daemon that has been running.
    let warm: Vec<String> = msgs.iter().cycle().take(args.warm).cloned().collect();
    let warm_n = warm.len() as u64;
    if !warm.is_empty() {
        run(10_000_000, warm).await?;
    }
    while writer.stats().written < warm_n {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let before = batches.lock().map(|b| *b).unwrap_or_default();
    let threads = thread_cpu();
    let (start, cpu) = (Instant::now(), cpu_time());
    run(0, msgs.to_vec()).await?;
    let want = warm_n + msgs.len() as u64;
    while writer.stats().written < want {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    let wall = start.elapsed();
    report("full", msgs.len(), wall, cpu_time() - cpu);
    let after = batches.lock().map(|b| *b).unwrap_or_default();
    let (n, m, busy) = (after.0 - before.0, after.1 - before.1, after.2 - before.2);
    println!(
        "      worker: {n} micro-batches, mean {:.1} messages; busy {:.3} s ({:.0} % of the wall time)",
        m as f64 / n.max(1) as f64,
        busy.as_secs_f64(),
        100.0 * busy.as_secs_f64() / wall.as_secs_f64()
    );
    for (name, t) in thread_cpu() {
        let spent = t.saturating_sub(threads.get(&name).copied().unwrap_or_default());
        if spent >= Duration::from_millis(10) {
            println!("      thread {name}: CPU {:.2} s", spent.as_secs_f64());
        }
    }
    writer.shutdown().await?;
    drop(db);
    Ok(())
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let msgs: Vec<String> = common::messages(args.distinct.unwrap_or(args.messages).min(20_000))
        .into_iter()
        .cycle()
        .take(args.messages)
        .collect();
    let result = (|| -> Result<(), Box<dyn std::error::Error>> {
        if args.mode != "full" {
            raw(&msgs)?;
        }
        if args.mode != "raw" {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            rt.block_on(full(&msgs, &args))?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        eprintln!("path_overhead: {e}");
        std::process::exit(1);
    }
}
