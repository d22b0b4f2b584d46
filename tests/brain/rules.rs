//! Property tests of the word lists: whole-word matching never hits inside a longer word; a
//! term standing alone is always found; an allowlisted phrase always beats the list.

use proptest::prelude::*;
use usmca_bot::config::{load_from, ConfigSource};
use usmca_bot::rules::{RuleInput, RuleSet};

fn rules(terms: Vec<String>, allow: Vec<String>) -> RuleSet {
    let mut cfg = load_from(&ConfigSource::default())
        .expect("default configuration")
        .rules;
    cfg.presets = Vec::new();
    cfg.terms = terms;
    cfg.allow = allow;
    RuleSet::compile(&cfg, "", &[], &[]).expect("rules compile")
}

fn hits(r: &RuleSet, text: &str) -> usize {
    r.check(&RuleInput {
        text,
        ..RuleInput::default()
    })
    .hits
    .len()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn a_term_never_matches_inside_a_longer_word(
        term in "[a-z]{3,8}",
        before in "[a-z0-9]{0,4}",
        after in "[a-z0-9]{0,4}",
        // Not `!` or `$`: leetspeak reads them as letters inside a word ("sh!t").
        left in "[ ,.?]{1,2}",
        right in "[ ,.?]{1,2}",
    ) {
        prop_assume!(!before.is_empty() || !after.is_empty());
        let r = rules(vec![term.clone()], vec![]);
        let word = format!("{before}{term}{after}");
        // The longer word alone, and inside a sentence: no hit.
        let text = format!("hello{left}{word}{right}there");
        prop_assert_eq!(hits(&r, &word), 0, "{} in {}", term, word);
        prop_assert_eq!(hits(&r, &text), 0, "{} in {}", term, text);
        // The term as a word of its own: a hit.
        let alone = format!("hello{left}{term}{right}there");
        prop_assert_eq!(hits(&r, &alone), 1, "{} in {}", term, alone);
    }

    #[test]
    fn an_allowlisted_phrase_beats_the_list(term in "[a-z]{3,8}", tail in "[a-z]{3,8}") {
        let r = rules(vec![term.clone()], vec![format!("{term} {tail}")]);
        let allowed = format!("we say {term} {tail} here");
        prop_assert_eq!(hits(&r, &allowed), 0);
    }
}
