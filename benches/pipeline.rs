//! Overhead of the full per-message path over raw ONNX Runtime inference, on the same batches of
//! 32 Davidson messages with the bundled model.
//!
//! * `per_message_path/full/32`: messages through `Pipeline::on_message` (normalise, tokenise,
//!   micro-batch of up to 32 in the worker, infer, scores, behaviour score and decision with the
//!   Redis window updates) and the batched Postgres `MessageWriter` (flushing every 1 ms), 64 in
//!   flight as in the daemon under load; the clock stops only when every row of the sample is
//!   committed. Time per 32 messages.
//! * `per_message_path/raw_ort/32`: the same 32 messages, pre-tokenised, through a bare session.
//!
//! Needs the ONNX Runtime library, Postgres at `DATABASE_URL` and Redis at `REDIS_URL` (a fresh
//! database and key prefix, removed afterwards). Run: `cargo bench --bench pipeline`.

mod common;
#[path = "../tests/support/db.rs"]
mod db;
#[path = "../tests/support/redis.rs"]
mod redis_support;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use futures::StreamExt;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use usmca_bot::classifier::Classifier;
use usmca_bot::pipeline::Pipeline;
use usmca_bot::state::RedisState;
use usmca_bot::storage::MessageWriter;

/// Distinct messages (Davidson has 24,783): few enough repeats that the stream is ordinary
/// traffic, not a copy-paste flood (which opens duplicate-message incidents in every guild).
const MESSAGES: usize = 16_384;
/// Messages in flight in `full`: two micro-batches, one being inferred while the other's
/// results are stored.
const IN_FLIGHT: usize = 64;
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // Everything is set up on first use, so listing the benchmarks touches no server.
    let cell = std::cell::OnceCell::new();
    let setup = || {
        cell.get_or_init(|| {
            let clf = Classifier::load(&common::model_config(&common::bundled_dir(), "2ms"))
                .expect("bundled model");
            let test_redis = redis_support::TestRedis::new();
            let store = Arc::new(
                rt.block_on(RedisState::connect(&test_redis.config()))
                    .expect("Redis reachable at REDIS_URL"),
            );
            let db = rt.block_on(db::TestDb::new());
            let writer = {
                let _guard = rt.enter();
                MessageWriter::spawn(db.storage.clone(), common::bench_writer_options())
            };
            let pipeline = Arc::new(Pipeline::new(clf, store, common::default_policy()));
            (pipeline, writer, db, test_redis)
        })
    };
    let msgs = common::messages(MESSAGES);
    let chunks: Vec<Vec<String>> = msgs.chunks(32).map(<[String]>::to_vec).collect();
    let msgs = &msgs;

    let mut group = c.benchmark_group("per_message_path");
    // Few, long samples: the wait for the last commit is paid once per sample.
    group.sample_size(10);
    group.throughput(Throughput::Elements(32));
    let mut next = 0u64;
    group.bench_function(BenchmarkId::new("full", 32), |b| {
        let (pipeline, writer, _, _) = setup();
        b.iter_custom(|iters| {
            rt.block_on(async {
                let before = writer.stats().written;
                let total = iters * 32;
                let first = next;
                next += total;
                let start = Instant::now();
                // As in the daemon: messages keep flowing (IN_FLIGHT at a time), so one
                // micro-batch's Redis updates and Postgres rows overlap the next one's inference.
                futures::stream::iter(first..first + total)
                    .map(|i| {
                        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
                        let ev = common::message_event(i, id, &msgs[i as usize % msgs.len()]);
                        let pipeline = pipeline.clone();
                        async move {
                            let outcome = pipeline.on_message(ev.clone()).await.expect("decided");
                            writer
                                .submit(common::message_record(&ev, &outcome))
                                .await
                                .expect("queued");
                        }
                    })
                    .buffer_unordered(IN_FLIGHT)
                    .collect::<()>()
                    .await;
                // The batched writes are part of the path: wait for the last commit.
                let want = before + total;
                while writer.stats().written < want {
                    tokio::time::sleep(Duration::from_micros(200)).await;
                }
                start.elapsed()
            })
        })
    });
    let raw_cell = std::cell::OnceCell::new();
    let mut i = 0usize;
    group.bench_function(BenchmarkId::new("raw_ort", 32), |b| {
        let (raw, encoded) = raw_cell.get_or_init(|| {
            let raw = common::Raw::open(&common::bundled_dir()).expect("raw session");
            let encoded: Vec<_> = chunks.iter().map(|t| raw.encode(t)).collect();
            (std::cell::RefCell::new(raw), encoded)
        });
        b.iter(|| {
            i = (i + 1) % encoded.len();
            black_box(raw.borrow_mut().run(&encoded[i]))
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
