//! The batching worker: correct results through the queue, back-pressure, health, and an async
//! runtime that keeps serving other tasks while a large batch is classified.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use usmca_bot::classifier::Classifier;
use usmca_bot::config::ModelConfig;

fn texts(n: usize) -> Vec<String> {
    let base = [
        "you are a stupid idiot",
        "thank you for your help",
        "i will kill you",
        "what a lovely dog",
    ];
    (0..n)
        .map(|i| format!("{} {i}", base[i % base.len()]))
        .collect()
}

#[test]
fn current_thread_runtime_keeps_ticking_during_a_large_batch() {
    let clf = crate::load("models/toxblock-lstm");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let ticks = Arc::new(AtomicU64::new(0));
    let (scores, elapsed, ticks_seen) = rt.block_on(async {
        let t = ticks.clone();
        let ticker = tokio::spawn(async move {
            let mut iv = tokio::time::interval(Duration::from_millis(5));
            loop {
                iv.tick().await;
                t.fetch_add(1, Ordering::Relaxed);
            }
        });
        let start = Instant::now();
        let scores = clf.classify_batch(texts(2000)).await;
        let elapsed = start.elapsed();
        ticker.abort();
        (scores, elapsed, ticks.load(Ordering::Relaxed))
    });
    let scores = scores.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scores.len(), 2000);
    // Results come back in order: every 4th text is the insult.
    assert!(scores
        .iter()
        .step_by(4)
        .all(|s| s.get("insult").unwrap_or(0.0) > 0.5));
    assert!(scores
        .iter()
        .skip(1)
        .step_by(4)
        .all(|s| s.get("toxic").unwrap_or(1.0) < 0.5));
    // If inference ran on the runtime thread the ticker could not run at all until the end.
    let expected = elapsed.as_millis() as u64 / 5;
    assert!(
        ticks_seen >= expected / 2 && ticks_seen >= 3,
        "only {ticks_seen} ticks in {elapsed:?} (expected about {expected})"
    );
    let h = clf.health();
    assert!(h.loaded && h.last_success.is_some());
    assert_eq!(h.messages, 2000);
    assert!(h.batches >= 2000 / 32, "{h:?}");
    assert_eq!(h.queue_depth, 0);
    assert_eq!(h.errors, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_single_messages_are_micro_batched() {
    let mut cfg = crate::model_config("models/toxblock-lstm");
    cfg.max_wait = usmca_bot::config::DurationSpec::parse("20ms");
    let clf = usmca_bot::classifier::Classifier::load(&cfg).unwrap_or_else(|e| panic!("{e}"));
    let expected = clf
        .classify_blocking(&texts(64))
        .unwrap_or_else(|e| panic!("{e}"));
    let before = clf.health();
    let handles: Vec<_> = texts(64)
        .into_iter()
        .map(|t| {
            let c = clf.clone();
            tokio::spawn(async move { c.classify(&t).await })
        })
        .collect();
    for (h, want) in handles.into_iter().zip(&expected) {
        let got = h
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("{e}"));
        for (a, b) in got.values().iter().zip(want.values()) {
            assert!((a - b).abs() < 1e-5);
        }
    }
    let after = clf.health();
    let batches = after.batches - before.batches;
    assert_eq!(after.messages - before.messages, 64);
    assert!(
        batches < 64,
        "64 concurrent messages took {batches} inference calls"
    );
}

#[tokio::test]
async fn small_queue_applies_back_pressure_without_losing_messages() {
    let mut cfg = crate::model_config("models/toxblock-lstm");
    cfg.queue_capacity = 4;
    cfg.max_batch = 4;
    let clf = usmca_bot::classifier::Classifier::load(&cfg).unwrap_or_else(|e| panic!("{e}"));
    let a = clf.classify_batch(texts(50));
    let b = clf.classify_batch(texts(50));
    let (a, b) = tokio::join!(a, b);
    let (a, b) = (
        a.unwrap_or_else(|e| panic!("{e}")),
        b.unwrap_or_else(|e| panic!("{e}")),
    );
    assert_eq!((a.len(), b.len()), (50, 50));
    assert_eq!(a, b);
    assert_eq!(clf.health().queue_depth, 0);
}

#[test]
fn load_errors_say_what_to_fix() {
    let mut cfg = crate::model_config("models/does-not-exist");
    let err = usmca_bot::classifier::Classifier::load(&cfg)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("model.dir"), "{err}");
    cfg = crate::model_config("models/toxblock-lstm");
    cfg.queue_capacity = 0;
    let err = usmca_bot::classifier::Classifier::load(&cfg)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("queue_capacity"), "{err}");
}

#[test]
fn cuda_device_without_a_gpu_build_falls_back_to_cpu() {
    let mut cfg = crate::model_config("models/toxblock-lstm");
    cfg.device = "cuda".into();
    let clf = usmca_bot::classifier::Classifier::load(&cfg)
        .unwrap_or_else(|e| panic!("device = cuda must not fail: {e}"));
    let s = clf
        .classify_blocking(&["i will kill you".to_string()])
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(s[0].get("threat").unwrap_or(0.0) > 0.9);
}

#[test]
fn classifier_is_shareable_across_tasks() {
    fn assert_traits<T: Clone + Send + Sync + 'static>() {}
    assert_traits::<usmca_bot::classifier::Classifier>();
    let clf = crate::load("models/toxblock-lstm");
    let clone = clf.clone();
    let handle = std::thread::spawn(move || {
        clone
            .classify_blocking(&["hello".to_string()])
            .map(|s| s.len())
    });
    assert_eq!(handle.join().ok().and_then(|r| r.ok()), Some(1));
    // Clones share one worker and one set of counters.
    assert_eq!(clf.health().messages, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_workers_give_the_same_scores_in_the_same_order() {
    let texts: Vec<String> = (0..300)
        .map(|i| match i % 3 {
            0 => format!("you are a stupid idiot number {i}"),
            1 => format!("have a lovely day, friend {i}"),
            _ => format!("what a dumb take {i}, honestly"),
        })
        .collect();
    let one = crate::load("models/toxblock-lstm");
    let two = match Classifier::load(&ModelConfig {
        workers: 2,
        ..crate::model_config("models/toxblock-lstm")
    }) {
        Ok(c) => c,
        Err(e) => panic!("cannot load with 2 workers: {e}"),
    };
    assert_eq!((one.workers(), two.workers()), (1, 2));
    let expected = one.classify_blocking(&texts).expect("one worker");
    // The blocking path splits the chunks across both sessions ...
    let blocking = two
        .classify_blocking(&texts)
        .expect("two workers, blocking");
    // ... and the queue's micro-batches go to whichever worker is free.
    let queued = futures::future::join_all(texts.chunks(7).map(|c| two.classify_batch(c.to_vec())))
        .await
        .into_iter()
        .flat_map(|r| r.expect("two workers, queued"))
        .collect::<Vec<_>>();
    for got in [&blocking, &queued] {
        assert_eq!(got.len(), expected.len());
        for (a, b) in got.iter().zip(&expected) {
            assert!((a.max().1 - b.max().1).abs() < 1e-5, "{a:?} vs {b:?}");
        }
    }
    assert!(two.health().loaded);
}
