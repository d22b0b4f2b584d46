//! Properties of the pure parts: normalisation and word-index tokenisation.

use proptest::prelude::*;
use usmca_bot::classifier::{normalize, Rules, WordIndex};

/// Loaded once: parsing the 20,000-word vocabulary per case would dominate the run time.
fn word_index() -> &'static WordIndex {
    static WI: std::sync::OnceLock<WordIndex> = std::sync::OnceLock::new();
    WI.get_or_init(|| {
        WordIndex::from_file(&crate::repo_path("models/toxblock-lstm/vocab.json"), 100)
            .unwrap_or_else(|e| panic!("{e}"))
    })
}

proptest! {
    #[test]
    fn no_rules_means_no_change(s in any::<String>()) {
        prop_assert_eq!(normalize(&s, &Rules::NONE), s);
    }

    #[test]
    fn normalised_text_has_no_invisible_characters(s in any::<String>()) {
        let out = normalize(&s, &Rules::DEFAULT);
        let invisible = |c: char| matches!(c, '\u{200B}'..='\u{200F}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}');
        prop_assert!(!out.chars().any(invisible), "invisible character left in {:?}", out);
    }

    #[test]
    fn plain_sentences_pass_through(words in prop::collection::vec("[a-z]{2,8}", 1..12)) {
        // Lowercase words without tripled letters are what ordinary messages look like.
        let text = words.iter().filter(|w| !w.as_bytes().windows(3).any(|t| t[0] == t[1] && t[1] == t[2])).cloned().collect::<Vec<_>>().join(" ");
        prop_assert_eq!(normalize(&text, &Rules::DEFAULT), text);
    }

    #[test]
    fn word_index_ids_are_bounded_and_truncated(s in any::<String>(), repeat in 1usize..300) {
        let wi = word_index();
        let text = format!("{s} ").repeat(repeat.min(5)) + &"you ".repeat(repeat);
        let ids = wi.tokenize(&text);
        prop_assert!(ids.len() <= 100);
        prop_assert!(ids.iter().all(|&i| (1..20000).contains(&i)));
        // Truncation keeps the end: the text ends with "you" (id 6) repeated.
        prop_assert_eq!(ids.last().copied(), Some(6));
        let batch = wi.encode_batch(&[text]);
        prop_assert_eq!(batch.ids.len(), 100);
        prop_assert_eq!(&batch.ids[100 - ids.len()..], &ids[..]);
    }
}
