//! Per-message cost of the rules with 10,000 terms across lists (plus the auto presets):
//! compiled once, matched per message.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use usmca_bot::config::{load_from, ConfigSource, WordListSpec};
use usmca_bot::rules::{RuleInput, RuleSet};

fn bench(c: &mut Criterion) {
    let mut cfg = load_from(&ConfigSource::default())
        .expect("default configuration")
        .rules;
    cfg.lists = (0..10)
        .map(|l| WordListSpec {
            name: format!("list{l}"),
            label: "toxic".into(),
            severity: 0.99,
            terms: (0..1000).map(|i| format!("term{l}x{i}")).collect(),
        })
        .collect();
    let rules = RuleSet::compile(&cfg, "es-ES", &[], &[]).expect("compiles");
    let text = "hey everyone, did you see the match yesterday? that last goal was unreal, \
                check https://example.com/highlights if you missed it";
    c.bench_function("rules/check 10k terms, 130-char message", |b| {
        b.iter(|| {
            black_box(rules.check(&RuleInput {
                text: black_box(text),
                mentions: 0,
                attachments: 0,
            }))
        })
    });
    c.bench_function(
        "rules/check 10k terms, 130-char message, language given",
        |b| {
            b.iter(|| {
                black_box(rules.check_in(
                    &RuleInput {
                        text: black_box(text),
                        mentions: 0,
                        attachments: 0,
                    },
                    Some("en"),
                ))
            })
        },
    );
    // A term of a preset for another language matched: language identification runs.
    let foreign = "ma che dici, sei proprio uno stronzo e lo sanno tutti qui nel canale";
    c.bench_function(
        "rules/check 10k terms, foreign-preset term (language id runs)",
        |b| {
            b.iter(|| {
                black_box(rules.check(&RuleInput {
                    text: black_box(foreign),
                    mentions: 0,
                    attachments: 0,
                }))
            })
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
