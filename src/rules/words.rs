//! Word lists compiled into one Aho-Corasick automaton: terms, phrases and `*` patterns matched
//! on the normalised text, whole words unless a `*` says otherwise; allowlisted phrases beat hits.

use crate::classifier::{normalize, Rules};
use aho_corasick::{AhoCorasick, MatchKind};

/// The normalisation both terms and messages go through: invisible characters out, NFKC,
/// homoglyphs, spaced-out letters joined, leetspeak read as letters, then lowercase. Repeated
/// letters are kept (squeezing them would turn a term like `xxx` into `x`).
const MATCH_RULES: Rules = Rules {
    invisible: true,
    nfkc: true,
    homoglyphs: true,
    separators: true,
    leet: true,
    repeats: false,
    segment: false,
};

/// Normalises a message or a term for matching.
pub fn normalize_for_match(text: &str) -> String {
    normalize(text, &MATCH_RULES).to_lowercase()
}

/// Where a term comes from and what a hit on it does.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// The rule's name in reasons: `preset:es`, `list:slurs`, `terms`.
    pub rule: String,
    /// Label a hit feeds.
    pub label: String,
    /// Score a hit gives that label.
    pub severity: f64,
    /// Applies only to messages detected in this language (`None`: always).
    pub only_lang: Option<String>,
}

#[derive(Debug, Clone)]
struct Pattern {
    /// Index into `sources`, or `None` for an allowlisted phrase.
    source: Option<usize>,
    /// The term as written (for reasons).
    term: String,
    left_boundary: bool,
    right_boundary: bool,
}

/// One hit on a word list.
#[derive(Debug, Clone, PartialEq)]
pub struct WordHit<'a> {
    /// The list.
    pub source: &'a Source,
    /// The term as written in the list.
    pub term: &'a str,
}

/// Why a term cannot be compiled.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct TermError(pub String);

/// Checks one term: not empty after normalising, `*` only at its ends.
pub fn check_term(term: &str) -> Result<(), TermError> {
    let core = term.trim().trim_start_matches('*').trim_end_matches('*');
    if core.contains('*') {
        return Err(TermError(format!(
            "`{term}`: a * goes at the start or the end of a term (\"scam*\", \"*coin\"), not inside"
        )));
    }
    if normalize_for_match(core).trim().is_empty() {
        return Err(TermError(format!(
            "`{term}` is empty once normalised; give a word or phrase"
        )));
    }
    Ok(())
}

/// Compiled word lists and allowlist. Built once per settings change; matching is one pass.
#[derive(Debug, Clone, Default)]
pub struct WordMatcher {
    ac: Option<AhoCorasick>,
    patterns: Vec<Pattern>,
    sources: Vec<Source>,
}

/// Scripts written without spaces between words: terms in them match anywhere.
fn unspaced(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0E7F      // Thai
        | 0x3040..=0x30FF    // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK
        | 0xF900..=0xFAFF)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl WordMatcher {
    /// Compiles `lists` (each a source and its terms) and the `allow` phrases.
    pub fn compile(lists: Vec<(Source, Vec<String>)>, allow: &[String]) -> Result<Self, TermError> {
        let mut patterns = Vec::new();
        let mut needles = Vec::new();
        let mut sources = Vec::new();
        let mut add = |source: Option<usize>, term: &str| -> Result<(), TermError> {
            check_term(term)?;
            let t = term.trim();
            let left_wild = t.starts_with('*');
            let right_wild = t.ends_with('*');
            let core = normalize_for_match(t.trim_start_matches('*').trim_end_matches('*'));
            let core = core.trim().to_string();
            let first = core.chars().next().unwrap_or(' ');
            let last = core.chars().next_back().unwrap_or(' ');
            patterns.push(Pattern {
                source,
                term: t.to_string(),
                left_boundary: !left_wild && !unspaced(first),
                right_boundary: !right_wild && !unspaced(last),
            });
            needles.push(core);
            Ok(())
        };
        for (source, terms) in lists {
            let i = sources.len();
            sources.push(source);
            for t in &terms {
                add(Some(i), t)?;
            }
        }
        for t in allow {
            add(None, t)?;
        }
        let ac = if needles.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .build(&needles)
                    .map_err(|e| TermError(format!("the word lists could not be compiled: {e}")))?,
            )
        };
        Ok(Self {
            ac,
            patterns,
            sources,
        })
    }

    /// Number of compiled terms (lists and allowlist).
    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    /// Whether nothing is compiled.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether any list applies only to one detected language (then detection is worth running).
    pub fn wants_language(&self) -> bool {
        self.sources.iter().any(|s| s.only_lang.is_some())
    }

    /// Hits in `normalized` (from [`normalize_for_match`]) from the lists that apply to a
    /// message in `lang`, allowlisted spans removed. At most one hit per list and term.
    pub fn find(&self, normalized: &str, lang: Option<&str>) -> Vec<WordHit<'_>> {
        let known = lang.map(String::from);
        self.find_lazy(normalized, known.is_some(), || known.clone())
            .0
    }

    /// Like [`find`](Self::find), but the language is detected (by `detect`) only when a term
    /// of a language-specific list matched: language identification costs far more than the
    /// matching. `known` says `detect` returns a language already known (no detection cost).
    /// Returns the hits and the language, when it was asked for.
    pub fn find_lazy(
        &self,
        normalized: &str,
        known: bool,
        detect: impl FnOnce() -> Option<String>,
    ) -> (Vec<WordHit<'_>>, Option<String>) {
        let Some(ac) = &self.ac else {
            return (Vec::new(), if known { detect() } else { None });
        };
        let mut detect = Some(detect);
        let mut lang: Option<String> = None;
        let mut asked = false;
        let mut hits: Vec<(usize, usize, usize)> = Vec::new();
        let mut allowed: Vec<(usize, usize)> = Vec::new();
        for m in ac.find_overlapping_iter(normalized) {
            let p = &self.patterns[m.pattern().as_usize()];
            let (s, e) = (m.start(), m.end());
            if p.left_boundary
                && normalized[..s]
                    .chars()
                    .next_back()
                    .is_some_and(is_word_char)
            {
                continue;
            }
            if p.right_boundary && normalized[e..].chars().next().is_some_and(is_word_char) {
                continue;
            }
            match p.source {
                None => allowed.push((s, e)),
                Some(i) => {
                    let src = &self.sources[i];
                    if let Some(only) = src.only_lang.as_deref() {
                        if !asked {
                            asked = true;
                            lang = detect.take().and_then(|d| d());
                        }
                        if lang.as_deref() != Some(only) {
                            continue;
                        }
                    }
                    hits.push((s, e, m.pattern().as_usize()));
                }
            }
        }
        let mut out: Vec<WordHit<'_>> = Vec::new();
        for (s, e, pi) in hits {
            if allowed.iter().any(|(a, b)| *a <= s && e <= *b) {
                continue;
            }
            let p = &self.patterns[pi];
            let Some(src) = p.source.map(|i| &self.sources[i]) else {
                continue;
            };
            let hit = WordHit {
                source: src,
                term: &p.term,
            };
            if !out.contains(&hit) {
                out.push(hit);
            }
        }
        if known && !asked {
            lang = detect.take().and_then(|d| d());
        }
        (out, lang)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(rule: &str) -> Source {
        Source {
            rule: rule.into(),
            label: "toxic".into(),
            severity: 0.99,
            only_lang: None,
        }
    }

    fn terms(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn whole_words_wildcards_and_allowlist() {
        let m = WordMatcher::compile(
            vec![(
                src("list:test"),
                terms(&["cunt", "ass", "scam*", "*coin", "bad phrase"]),
            )],
            &terms(&["bad phrase is fine"]),
        )
        .unwrap_or_default();
        let hit = |t: &str| {
            m.find(&normalize_for_match(t), None)
                .iter()
                .map(|h| h.term.to_string())
                .collect::<Vec<_>>()
        };
        assert!(hit("Scunthorpe United").is_empty());
        assert!(hit("an assassin").is_empty());
        assert_eq!(hit("you ass!"), vec!["ass"]);
        assert_eq!(hit("free scammers here"), vec!["scam*"]);
        assert_eq!(hit("buy shitcoin"), vec!["*coin"]);
        assert_eq!(hit("a bad phrase"), vec!["bad phrase"]);
        assert!(hit("this bad phrase is fine").is_empty());
        // Zero-width characters and full-width letters are read through.
        assert_eq!(hit("a\u{200b}s\u{200b}s"), vec!["ass"]);
        assert_eq!(hit("ＡＳＳ"), vec!["ass"]);
    }

    #[test]
    fn bad_terms_say_what_to_write() {
        let e = check_term("sc*am").unwrap_err();
        assert!(e.0.contains("start or the end"), "{e}");
        assert!(check_term("\u{200b}").is_err());
    }
}
