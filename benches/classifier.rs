//! Classifier speed: per-message latency at batch 1 and throughput at batch 32, for the bundled
//! model and for a BERT-base `huggingface` model (fp32 and int8), each through our classifier
//! (normalise + tokenise + inference + scores) and through a bare ONNX Runtime session on the same
//! pre-tokenised batches; plus the async worker queue on the bundled model.
//!
//! Messages: the Davidson tweets `scripts/bench-python.py` uses, in file order. One intra-op thread
//! everywhere. The BERT-base models are generated (about 1 GB, never committed) by
//! `scripts/make-bench-bert.py` into `.bench-models/`; without them those groups are skipped.
//!
//! ```text
//! cargo bench --bench classifier
//! ```

mod common;

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;
use usmca_bot::classifier::{Classifier, Rules};

/// Messages the bundled model's batch-1 runs cycle through (and batch 32, in chunks).
const BUNDLED_MESSAGES: usize = 1024;
/// BERT-base: batch 1 cycles through the first 64 messages, batch 32 through the first 128.
const BERT_SINGLE: usize = 64;
const BERT_BATCHED: usize = 128;

fn load(dir: &Path) -> Classifier {
    match Classifier::load(&common::model_config(dir, "1ms")) {
        Ok(c) => c,
        Err(e) => panic!("cannot load {}: {e}", dir.display()),
    }
}

/// `name/classify/{1,32}` and `name/raw_ort/{1,32}` over `single` and `batched` messages.
fn compare(c: &mut Criterion, name: &str, dir: &Path, single: usize, batched: usize, slow: bool) {
    let clf = load(dir);
    let mut raw = match common::Raw::open(dir) {
        Ok(r) => r,
        Err(e) => panic!("raw session on {}: {e}", dir.display()),
    };
    let msgs = common::messages(single.max(batched));
    let ones: Vec<Vec<String>> = msgs[..single].iter().map(|m| vec![m.clone()]).collect();
    let chunks: Vec<Vec<String>> = msgs[..batched].chunks(32).map(<[String]>::to_vec).collect();
    let mut group = c.benchmark_group(name);
    // One iteration is a whole pass over the set, as on the Python side: messages differ in
    // length, so iterations over single messages would weigh whichever ones a sample happened to
    // cover.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    if slow {
        group.warm_up_time(Duration::from_secs(1));
    }
    for (batch, inputs) in [(1usize, &ones), (32, &chunks)] {
        let messages: usize = inputs.iter().map(Vec::len).sum();
        group.throughput(Throughput::Elements(messages as u64));
        group.bench_with_input(BenchmarkId::new("classify", batch), inputs, |b, inputs| {
            b.iter(|| {
                let scored: usize = inputs
                    .iter()
                    .map(|t| clf.classify_blocking(t).map_or(0, |s| s.len()))
                    .sum();
                black_box(scored)
            })
        });
        // Normalisation + tokenisation alone (what `classify` adds before inference).
        group.bench_with_input(BenchmarkId::new("prepare", batch), inputs, |b, inputs| {
            b.iter(|| {
                let n: usize = inputs
                    .iter()
                    .flatten()
                    .map(|t| clf.tokenize(t, &Rules::DEFAULT).map_or(0, |v| v.len()))
                    .sum();
                black_box(n)
            })
        });
        let encoded: Vec<_> = inputs.iter().map(|t| raw.encode(t)).collect();
        group.bench_with_input(
            BenchmarkId::new("raw_ort", batch),
            &encoded,
            |b, encoded| {
                b.iter(|| {
                    for e in encoded {
                        black_box(raw.run(e));
                    }
                })
            },
        );
    }
    group.finish();
}

fn bundled(c: &mut Criterion) {
    compare(
        c,
        "bundled",
        &common::bundled_dir(),
        BUNDLED_MESSAGES,
        BUNDLED_MESSAGES,
        false,
    );
}

fn bert(c: &mut Criterion) {
    for name in ["bert-base-fp32", "bert-base-int8"] {
        if let Some(dir) = common::generated_dir(name) {
            compare(c, name, &dir, BERT_SINGLE, BERT_BATCHED, true);
        }
    }
}

fn worker_queue(c: &mut Criterion) {
    let clf = load(&common::bundled_dir());
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("tokio runtime: {e}"),
    };
    let msgs = common::messages(256);
    let mut group = c.benchmark_group("classify_async");
    group.throughput(Throughput::Elements(1));
    group.bench_function("single_message", |b| {
        b.iter(|| rt.block_on(async { black_box(clf.classify(&msgs[0]).await.is_ok()) }))
    });
    group.throughput(Throughput::Elements(256));
    group.bench_function("256_concurrent_messages", |b| {
        b.iter(|| {
            rt.block_on(async {
                let futs = msgs.iter().map(|t| clf.classify(t));
                black_box(futures::future::join_all(futs).await.len())
            })
        })
    });
    group.finish();
}

criterion_group!(benches, bundled, bert, worker_queue);
criterion_main!(benches);
