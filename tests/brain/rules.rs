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

/// One letter of an allowlisted phrase as someone dodging the allowlist (or just typing) might
/// write it: as is, capital, followed by a zero-width space, full-width, leetspeak, or a
/// Cyrillic look-alike. Each is undone by the normalisation the word lists use.
fn disguise(c: char, how: u8) -> String {
    let leet = match c {
        'a' => Some('4'),
        'b' => Some('8'),
        'e' => Some('3'),
        _ => None,
    };
    let homoglyph = match c {
        'a' => Some('а'),
        'b' => Some('в'),
        'c' => Some('с'),
        'd' => Some('ԁ'),
        'e' => Some('е'),
        _ => None,
    };
    match how {
        1 => c.to_ascii_uppercase().to_string(),
        2 => format!("{c}\u{200b}"),
        3 => char::from_u32(c as u32 - 'a' as u32 + 0xFF41)
            .unwrap_or(c)
            .to_string(),
        4 => leet.unwrap_or(c).to_string(),
        5 => homoglyph.unwrap_or(c).to_string(),
        _ => c.to_string(),
    }
}

/// The phrase with every letter but each word's first disguised by `hows` (in turn).
fn disguised(words: &[String], hows: &[u8]) -> String {
    let mut how = hows.iter().copied().cycle();
    words
        .iter()
        .map(|w| {
            w.chars()
                .enumerate()
                .map(|(i, c)| {
                    let h = how.next().unwrap_or(0);
                    if i == 0 {
                        c.to_string()
                    } else {
                        disguise(c, h)
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// The model reads a message without its allowlisted phrase, however disguised, and reads
    /// all the rest: words around it (here from letters the phrase never uses) are kept, in
    /// order.
    #[test]
    fn the_model_reads_everything_but_the_allowlisted_phrase(
        phrase in prop::collection::vec("[a-e]{3,6}", 1..4),
        hows in prop::collection::vec(0u8..6, 1..12),
        before in prop::collection::vec("[p-t]{3,6}", 0..4),
        after in prop::collection::vec("[p-t]{3,6}", 0..4),
    ) {
        let r = rules(vec![], vec![phrase.join(" ")]);
        let text = before
            .iter()
            .cloned()
            .chain([disguised(&phrase, &hows)])
            .chain(after.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ");
        let rest = before.iter().chain(&after).cloned().collect::<Vec<_>>().join(" ");
        prop_assert_eq!(r.model_text(&text), Some(rest), "{}", text);
    }

    /// Without an allowlisted phrase in it, the model reads a message exactly as sent.
    #[test]
    fn a_message_without_allowlisted_phrases_reaches_the_model_as_sent(
        phrase in prop::collection::vec("[a-e]{3,6}", 1..4),
        text in "\\PC{0,60}",
        words in prop::collection::vec("[p-t]{1,6}", 0..8),
    ) {
        // No allowlist: nothing to cut, whatever the text.
        prop_assert_eq!(rules(vec![], vec![]).model_text(&text), None);
        // An allowlist whose phrase is not there.
        let r = rules(vec![], vec![phrase.join(" ")]);
        prop_assert_eq!(r.model_text(&words.join(" ")), None);
    }

    /// What the model reads holds no allowlisted phrase, even once normalised again: a cut
    /// never brings the words around it together into one.
    #[test]
    fn no_allowlisted_phrase_is_left_for_the_model(
        allow in prop::collection::vec("[a-c]{1,3}( [a-c]{1,3})?", 1..3),
        text in "[a-c 1!.]{0,40}",
    ) {
        let r = rules(vec![], allow.clone());
        if let Some(rest) = r.model_text(&text) {
            prop_assert_eq!(r.model_text(&rest), None, "{:?} left {:?}", text, rest);
        }
    }

    /// A word-list term beside an allowlisted phrase is still a hit, and still reaches the
    /// model.
    #[test]
    fn a_term_beside_an_allowlisted_phrase_still_counts(
        phrase in prop::collection::vec("[a-e]{3,6}", 1..3),
        term in "[p-t]{3,8}",
    ) {
        let r = rules(vec![term.clone()], vec![phrase.join(" ")]);
        let text = format!("{} {term}", phrase.join(" "));
        prop_assert_eq!(hits(&r, &text), 1);
        prop_assert_eq!(r.model_text(&text), Some(term));
    }
}
