//! Decision cost per message, excluding the model: `Pipeline::score_message` with precomputed
//! scores over the in-process `MemoryState`, plus the pure scorer and decision on their own.

mod common;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::sync::Arc;
use usmca_bot::behaviour::{score, snowflake_at, MemberStanding, MessageFacts, RecentMessage};
use usmca_bot::classifier::Scores;
use usmca_bot::decision::{decide, DecisionInput};
use usmca_bot::pipeline::{MessageEvent, Pipeline};
use usmca_bot::state::MemoryState;

const T0: i64 = 1_767_225_600_000;
const LABELS: [&str; 6] = [
    "toxic",
    "severe_toxic",
    "obscene",
    "threat",
    "insult",
    "identity_hate",
];

/// A mix like a busy server: most messages clean, one in eight toxic.
fn scores_for(i: u64, labels: &Arc<[String]>) -> Scores {
    let v = if i.is_multiple_of(8) {
        vec![0.97, 0.2, 0.9, 0.02, 0.85, 0.05]
    } else {
        vec![0.03, 0.0, 0.01, 0.0, 0.01, 0.0]
    };
    Scores::new(labels.clone(), v)
}

fn event(i: u64) -> MessageEvent {
    let author = snowflake_at(T0 - 400 * 86_400_000, i % 1_000);
    let at = T0 + i as i64 * 10;
    MessageEvent {
        guild_id: 1 + i % 4,
        channel_id: 10 + i % 16,
        message_id: i,
        author_id: author,
        author_roles: vec![5, 6],
        author_is_moderator: false,
        author_joined_at: chrono::DateTime::from_timestamp_millis(T0 - 100 * 86_400_000),
        author_default_avatar: false,
        // Mostly distinct texts; every 50th message is a common one ("gg", "lol").
        content: if i.is_multiple_of(50) {
            format!("common reply {}", i % 3)
        } else {
            format!("message {i} about the game tonight")
        },
        created_at: chrono::DateTime::from_timestamp_millis(at).unwrap_or_default(),
        edited: false,
        reply_to_author: i
            .is_multiple_of(5)
            .then_some(snowflake_at(T0 - 500 * 86_400_000, 7)),
        mentions: vec![],
        role_mentions: vec![],
        attachments: 0,
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let labels: Arc<[String]> = LABELS.iter().map(|s| s.to_string()).collect();
    let mut g = c.benchmark_group("decision");
    g.throughput(Throughput::Elements(1));

    let state = Arc::new(MemoryState::new());
    let pipeline = Pipeline::without_classifier(state.clone(), common::default_policy());
    let mut i = 0u64;
    g.bench_function("score_message (pipeline, MemoryState)", |b| {
        b.iter(|| {
            i += 1;
            // The owner of a MemoryState prunes it now and then; that cost is part of the figure.
            if i.is_multiple_of(10_000) {
                state.prune(T0 + i as i64 * 10, 3_600_000);
            }
            let out = rt.block_on(pipeline.score_message(event(i), scores_for(i, &labels)));
            black_box(out.map(|o| o.decision.action).ok())
        })
    });

    let p = common::default_policy();
    // A member with a full recent-message window, as after a busy day.
    let mut standing = MemberStanding::default();
    for k in 0..40 {
        let m = RecentMessage {
            at_ms: T0 - (40 - k) * 30_000,
            severity: 0.05,
            fingerprint: Some(k as u64 % 7),
        };
        standing.push_message(m, 0.0, 1_800_000);
    }
    g.bench_function("score + decide (pure)", |b| {
        b.iter(|| {
            let s = scores_for(8, &labels);
            let (severity, top_label) = p.behaviour.severity(s.iter());
            let facts = MessageFacts {
                severity,
                top_label,
                at_ms: T0,
                account_created_ms: T0 - 400 * 86_400_000,
                joined_ms: Some(T0 - 86_400_000),
                fingerprint: Some(42),
                incident_participant: false,
            };
            let b = score(&p.behaviour, &facts, &standing);
            let d = decide(
                &p,
                &DecisionInput {
                    guild_id: 1,
                    channel_id: 2,
                    message_id: 3,
                    author_id: 4,
                    author_roles: &[],
                    author_is_moderator: false,
                    behaviour: &b,
                    standing: &standing,
                    now_ms: T0,
                },
            );
            black_box(d.action)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
