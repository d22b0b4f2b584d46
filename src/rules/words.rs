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
    /// A `*` at the start: the match may begin inside a word.
    left_wild: bool,
    /// A `*` at the end: the match may end inside a word.
    right_wild: bool,
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
    /// Allowlisted phrases among the patterns.
    allowlisted: usize,
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
                left_wild,
                right_wild,
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
            allowlisted: allow.len(),
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

    /// Whether any allowlisted phrase is compiled.
    pub fn has_allowlist(&self) -> bool {
        self.allowlisted > 0
    }

    /// Every match in `normalized` that stands where its pattern may (whole words unless a `*`
    /// says otherwise), as (start, end, pattern index).
    fn matches<'a>(
        &'a self,
        ac: &'a AhoCorasick,
        normalized: &'a str,
    ) -> impl Iterator<Item = (usize, usize, usize)> + 'a {
        ac.find_overlapping_iter(normalized).filter_map(move |m| {
            let i = m.pattern().as_usize();
            let p = self.patterns.get(i)?;
            let (s, e) = (m.start(), m.end());
            if p.left_boundary
                && normalized[..s]
                    .chars()
                    .next_back()
                    .is_some_and(is_word_char)
            {
                return None;
            }
            if p.right_boundary && normalized[e..].chars().next().is_some_and(is_word_char) {
                return None;
            }
            Some((s, e, i))
        })
    }

    /// The stretches of `normalized` (from [`normalize_for_match`]) that allowlisted phrases
    /// cover, as sorted, merged byte ranges. A `*` side of a pattern reaches to the end of its
    /// word: `gg*` covers all of `ggwp`.
    pub fn allowed_spans(&self, normalized: &str) -> Vec<(usize, usize)> {
        let Some(ac) = self.ac.as_ref().filter(|_| self.has_allowlist()) else {
            return Vec::new();
        };
        let mut spans: Vec<(usize, usize)> = self
            .matches(ac, normalized)
            .filter_map(|(s, e, i)| {
                let p = self.patterns.get(i).filter(|p| p.source.is_none())?;
                let mut s = s;
                let mut e = e;
                if p.left_wild {
                    while let Some(c) = normalized[..s]
                        .chars()
                        .next_back()
                        .filter(|c| is_word_char(*c))
                    {
                        s -= c.len_utf8();
                    }
                }
                if p.right_wild {
                    while let Some(c) = normalized[e..].chars().next().filter(|c| is_word_char(*c))
                    {
                        e += c.len_utf8();
                    }
                }
                Some((s, e))
            })
            .collect();
        spans.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
        for (s, e) in spans {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        merged
    }

    /// `normalized` (from [`normalize_for_match`]) with every allowlisted phrase cut out, for
    /// the model to read: `None` when no allowlisted phrase is in it. Each cut leaves a space
    /// (the words on either side stay apart) and whitespace is collapsed; the rest is cut
    /// again until no allowlisted phrase is left, so no cut brings one together. Empty when
    /// nothing but allowlisted phrases was there.
    pub fn without_allowed(&self, normalized: &str) -> Option<String> {
        let spans = self.allowed_spans(normalized);
        if spans.is_empty() {
            return None;
        }
        let mut text = cut(normalized, &spans);
        loop {
            // Each round removes at least one character that is not whitespace: it ends.
            let spans = self.allowed_spans(&text);
            if spans.is_empty() {
                return Some(text);
            }
            text = cut(&text, &spans);
        }
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
        for (s, e, pi) in self.matches(ac, normalized) {
            // Allowlisted phrases are read below, once there is a hit they could cover.
            let Some(src) = self
                .patterns
                .get(pi)
                .and_then(|p| p.source)
                .and_then(|i| self.sources.get(i))
            else {
                continue;
            };
            if let Some(only) = src.only_lang.as_deref() {
                if !asked {
                    asked = true;
                    lang = detect.take().and_then(|d| d());
                }
                if lang.as_deref() != Some(only) {
                    continue;
                }
            }
            hits.push((s, e, pi));
        }
        let allowed = if hits.is_empty() {
            Vec::new()
        } else {
            self.allowed_spans(normalized)
        };
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

/// `text` with each of `spans` (sorted, apart) replaced by one space, whitespace collapsed.
fn cut(text: &str, spans: &[(usize, usize)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for &(s, e) in spans {
        out.push_str(text.get(at..s).unwrap_or_default());
        out.push(' ');
        at = e;
    }
    out.push_str(text.get(at..).unwrap_or_default());
    out.split_whitespace().collect::<Vec<_>>().join(" ")
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
    fn the_model_reads_a_message_without_its_allowlisted_phrases() {
        let m = WordMatcher::compile(
            vec![(src("list:test"), terms(&["idiot"]))],
            &terms(&["kill the boss", "gg*"]),
        )
        .unwrap_or_default();
        let rest = |t: &str| m.without_allowed(&normalize_for_match(t));
        assert_eq!(rest("nothing allowlisted here"), None);
        assert_eq!(rest("Kill the boss!"), Some("!".into()));
        assert_eq!(rest("kill the boss"), Some(String::new()));
        // Evasions of the allowlist are read through, as for the lists.
        assert_eq!(rest("k1ll th3 b0ss"), Some(String::new()));
        assert_eq!(rest("k i l l the boss"), Some(String::new()));
        assert_eq!(rest("kill the b\u{200b}oss"), Some(String::new()));
        assert_eq!(rest("кill the boss"), Some(String::new()));
        // The rest is still read; a `*` covers the whole word.
        assert_eq!(rest("kill the boss, you idiot"), Some(", you idiot".into()));
        assert_eq!(rest("ggwp idiot"), Some("idiot".into()));
        // Whole words only: a longer word is not the phrase.
        assert_eq!(rest("kill the bosses"), None);
        // A cut that brings the phrase together is cut again.
        assert_eq!(rest("kill the kill the boss boss"), Some(String::new()));
        // A list's hit inside a word a `*` allowlists is not a hit.
        let m = WordMatcher::compile(
            vec![(src("list:test"), terms(&["scam*", "scamper*"]))],
            &terms(&["scamp*"]),
        )
        .unwrap_or_default();
        assert!(m
            .find(&normalize_for_match("what a scampering dog"), None)
            .is_empty());
        assert_eq!(m.find(&normalize_for_match("a scammer"), None).len(), 1);
        assert!(!WordMatcher::default().has_allowlist());
    }

    #[test]
    fn bad_terms_say_what_to_write() {
        let e = check_term("sc*am").unwrap_err();
        assert!(e.0.contains("start or the end"), "{e}");
        assert!(check_term("\u{200b}").is_err());
    }
}
