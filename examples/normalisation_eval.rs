//! Measures what each normalisation rule buys on the Davidson et al. (2017) hate/offensive tweets.
//!
//! ```text
//! cargo run --release --example normalisation_eval -- path/to/davidson/labeled_data.csv [every_nth]
//! ```
//!
//! Takes every n-th tweet (default 8), treats `class` 0/1 (hate/offensive) as toxic and 2 as clean,
//! builds "evaded" copies of the toxic tweets (zero-width characters, full-width letters, dots or
//! spaces between letters (in every long word, or only in the longest word), leetspeak, stretched vowels, Cyrillic look-alikes), and prints a Markdown
//! table: clean ROC-AUC and recall@0.5 of the `toxic` label on every evaded copy, per rule set.

use std::process::ExitCode;
use usmca_bot::classifier::{Classifier, Rules};
use usmca_bot::config::{DurationSpec, ModelConfig};

type Evasion = (&'static str, fn(&str) -> String);

const EVASIONS: [Evasion; 9] = [
    ("zero-width", |w| interleave(w, "\u{200B}", 2)),
    ("full-width", |w| {
        w.chars()
            .map(|c| match c {
                '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
                _ => c,
            })
            .collect()
    }),
    ("dots", |w| interleave(w, ".", 1)),
    ("spaced", |w| interleave(w, " ", 1)),
    ("dots, 1 word", |w| interleave(w, ".", 1)),
    ("spaced, 1 word", |w| interleave(w, " ", 1)),
    ("leet", |w| {
        w.chars()
            .map(|c| match c {
                'a' => '4',
                'e' => '3',
                'i' => '1',
                'o' => '0',
                's' => '$',
                _ => c,
            })
            .collect()
    }),
    ("stretched", |w| {
        let mut done = false;
        w.chars()
            .flat_map(|c| {
                let n = if !done && "aeiou".contains(c) {
                    done = true;
                    4
                } else {
                    1
                };
                std::iter::repeat_n(c, n)
            })
            .collect()
    }),
    ("homoglyph", |w| {
        w.chars()
            .map(|c| match c {
                'a' => 'а',
                'e' => 'е',
                'o' => 'о',
                'c' => 'с',
                'p' => 'р',
                _ => c,
            })
            .collect()
    }),
];

/// Inserts `sep` after every `every` characters (between letters, never at the ends).
fn interleave(w: &str, sep: &str, every: usize) -> String {
    let chars: Vec<char> = w.chars().collect();
    let mut out = String::new();
    for (i, c) in chars.iter().enumerate() {
        if i > 0 && i % every == 0 {
            out.push_str(sep);
        }
        out.push(*c);
    }
    out
}

/// Evades every alphabetic word of four or more letters (mentions, URLs and entities untouched),
/// or, for the "1 word" variants, only the longest such word.
fn evade(text: &str, name: &str, f: fn(&str) -> String) -> String {
    let eligible = |w: &str| w.chars().count() >= 4 && w.chars().all(|c| c.is_ascii_alphabetic());
    let longest = text
        .split(' ')
        .filter(|w| eligible(w))
        .max_by_key(|w| w.len())
        .unwrap_or("");
    let one = name.ends_with("1 word");
    text.split(' ')
        .map(|w| {
            if eligible(w) && (!one || w == longest) {
                f(&w.to_lowercase())
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// ROC-AUC by the rank-sum formula (ties count half).
fn auc(pos: &[f32], neg: &[f32]) -> f64 {
    let mut all: Vec<(f32, bool)> = pos
        .iter()
        .map(|&s| (s, true))
        .chain(neg.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut rank_sum, mut i) = (0f64, 0usize);
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        let avg = (i + j + 1) as f64 / 2.0;
        rank_sum += avg * all[i..j].iter().filter(|x| x.1).count() as f64;
        i = j;
    }
    let (p, n) = (pos.len() as f64, neg.len() as f64);
    (rank_sum - p * (p + 1.0) / 2.0) / (p * n)
}

fn recall(scores: &[f32]) -> f64 {
    scores.iter().filter(|&&s| s >= 0.5).count() as f64 / scores.len().max(1) as f64
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).ok_or_else(|| {
        anyhow::anyhow!("usage: normalisation_eval <labeled_data.csv> [every_nth]")
    })?;
    let every: usize = args.get(2).map_or(Ok(8), |s| s.parse())?;
    let mut reader = csv::Reader::from_path(path)?;
    let (mut toxic, mut clean) = (Vec::new(), Vec::new());
    for (i, rec) in reader.records().enumerate() {
        let rec = rec?;
        if i % every != 0 {
            continue;
        }
        let (class, tweet) = (
            rec.get(5).unwrap_or("2"),
            rec.get(6).unwrap_or("").to_string(),
        );
        if class == "2" {
            clean.push(tweet);
        } else {
            toxic.push(tweet);
        }
    }
    let clf = Classifier::load(&ModelConfig {
        dir: "models/toxblock-lstm".into(),
        runtime_path: String::new(),
        device: "cpu".into(),
        intra_threads: 1,
        workers: 1,
        max_batch: 64,
        max_wait: DurationSpec::parse("1ms"),
        queue_capacity: 1024,
    })?;
    println!(
        "Davidson every {every}th tweet: {} toxic, {} clean; score = `toxic` probability\n",
        toxic.len(),
        clean.len()
    );
    let evaded: Vec<Vec<String>> = EVASIONS
        .iter()
        .map(|(n, f)| toxic.iter().map(|t| evade(t, n, *f)).collect())
        .collect();
    let only = |f: fn(&mut Rules)| {
        let mut r = Rules::NONE;
        f(&mut r);
        r
    };
    let without = |f: fn(&mut Rules)| {
        let mut r = Rules::DEFAULT;
        f(&mut r);
        r
    };
    let configs: Vec<(&str, Rules)> = vec![
        ("none (raw)", Rules::NONE),
        ("invisible only", only(|r| r.invisible = true)),
        ("nfkc only", only(|r| r.nfkc = true)),
        ("homoglyphs only", only(|r| r.homoglyphs = true)),
        ("separators only", only(|r| r.separators = true)),
        ("leet only", only(|r| r.leet = true)),
        ("repeats only", only(|r| r.repeats = true)),
        ("segment only", only(|r| r.segment = true)),
        ("**default**", Rules::DEFAULT),
        ("default − invisible", without(|r| r.invisible = false)),
        ("default − nfkc", without(|r| r.nfkc = false)),
        ("default − homoglyphs", without(|r| r.homoglyphs = false)),
        ("default − separators", without(|r| r.separators = false)),
        ("default − leet", without(|r| r.leet = false)),
        ("default − repeats", without(|r| r.repeats = false)),
        ("default − segment", without(|r| r.segment = false)),
    ];
    let names: Vec<&str> = EVASIONS.iter().map(|e| e.0).collect();
    println!(
        "| rules | clean AUC | clean recall | clean FPR | {} |",
        names.join(" | ")
    );
    println!("|---|---|---|---|{}", "---|".repeat(names.len()));
    let score = |texts: &[String], rules: &Rules| -> anyhow::Result<Vec<f32>> {
        Ok(clf
            .classify_blocking_with(texts, rules)?
            .iter()
            .map(|s| s.get("toxic").unwrap_or(0.0))
            .collect())
    };
    for (name, rules) in &configs {
        let pos = score(&toxic, rules)?;
        let neg = score(&clean, rules)?;
        let mut cells = vec![
            format!("{:.4}", auc(&pos, &neg)),
            format!("{:.3}", recall(&pos)),
            format!("{:.3}", recall(&neg)),
        ];
        for texts in &evaded {
            cells.push(format!("{:.3}", recall(&score(texts, rules)?)));
        }
        println!("| {name} | {} |", cells.join(" | "));
    }
    Ok(())
}
