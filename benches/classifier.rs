//! Classifier speed on the bundled model: per-message latency at batch 1 and throughput at
//! batch 32, through the blocking path (tokenise + normalise + inference) and through the async
//! worker queue. Needs the ONNX Runtime library (scripts/setup-onnxruntime.sh).
//!
//! ```text
//! cargo bench --bench classifier
//! ```

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use usmca_bot::classifier::Classifier;
use usmca_bot::config::{DurationSpec, ModelConfig};

const SAMPLES: [&str; 8] = [
    "you are a stupid idiot and i hate you",
    "thank you for your help, have a nice day",
    "i will kill you",
    "what a lovely picture of your dog",
    "lol that match last night was insane, gg everyone",
    "can someone help me set up the server roles?",
    "shut up nobody asked for your opinion you absolute clown",
    "meeting moved to 5pm, see the pinned message for the link",
];

fn texts(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| SAMPLES[i % SAMPLES.len()].to_string())
        .collect()
}

fn load() -> Classifier {
    let cfg = ModelConfig {
        dir: concat!(env!("CARGO_MANIFEST_DIR"), "/models/toxblock-lstm").into(),
        runtime_path: String::new(),
        device: "cpu".into(),
        intra_threads: 1,
        max_batch: 32,
        max_wait: DurationSpec::parse("1ms"),
        queue_capacity: 2048,
    };
    match Classifier::load(&cfg) {
        Ok(c) => c,
        Err(e) => panic!("cannot load the bundled model: {e}"),
    }
}

fn bench(c: &mut Criterion) {
    let clf = load();
    let mut group = c.benchmark_group("classify_blocking");
    for batch in [1usize, 32] {
        let input = texts(batch);
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_with_input(BenchmarkId::new("batch", batch), &input, |b, input| {
            b.iter(|| black_box(clf.classify_blocking(input).map(|s| s.len()).unwrap_or(0)))
        });
    }
    group.finish();

    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("tokio runtime: {e}"),
    };
    let mut group = c.benchmark_group("classify_async");
    group.throughput(Throughput::Elements(1));
    group.bench_function("single_message", |b| {
        b.iter(|| rt.block_on(async { black_box(clf.classify(SAMPLES[0]).await.is_ok()) }))
    });
    let input = texts(256);
    group.throughput(Throughput::Elements(256));
    group.bench_function("256_concurrent_messages", |b| {
        b.iter(|| {
            rt.block_on(async {
                let futs = input.iter().map(|t| clf.classify(t));
                black_box(futures::future::join_all(futs).await.len())
            })
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
