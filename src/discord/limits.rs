//! Discord's hard limits as constants, and pure helpers that make text fit them.
//!
//! Discord rejects (400) a message, embed or header that exceeds a limit, and a rejected
//! moderation notice is a lost one, so everything the bot sends goes through these helpers.
//! Lengths are counted in Unicode scalar values (`char`s), as Discord counts them.

use std::time::Duration;

/// Most characters in a message's `content`.
pub const MESSAGE_CONTENT_MAX: usize = 2_000;
/// Most characters in an embed title.
pub const EMBED_TITLE_MAX: usize = 256;
/// Most characters in an embed description.
pub const EMBED_DESCRIPTION_MAX: usize = 4_096;
/// Most fields in one embed.
pub const EMBED_FIELDS_MAX: usize = 25;
/// Most characters in an embed field name.
pub const EMBED_FIELD_NAME_MAX: usize = 256;
/// Most characters in an embed field value.
pub const EMBED_FIELD_VALUE_MAX: usize = 1_024;
/// Most characters in an embed footer.
pub const EMBED_FOOTER_MAX: usize = 2_048;
/// Most characters in an embed author name.
pub const EMBED_AUTHOR_MAX: usize = 256;
/// Most characters across title, description, field names and values, footer and author.
pub const EMBED_TOTAL_MAX: usize = 6_000;
/// Most characters in an `X-Audit-Log-Reason` header (before percent-encoding).
pub const AUDIT_REASON_MAX: usize = 512;
/// Most characters in a component `custom_id`.
pub const CUSTOM_ID_MAX: usize = 100;
/// Most characters in a button label.
pub const BUTTON_LABEL_MAX: usize = 80;
/// Longest communication timeout Discord accepts.
pub const TIMEOUT_MAX: Duration = Duration::from_secs(28 * 24 * 60 * 60);
/// Most message history a ban may delete.
pub const BAN_DELETE_MESSAGES_MAX: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Longest channel slow-mode, in seconds (6 hours).
pub const SLOWMODE_MAX_SECS: u64 = 21_600;
/// Most buttons in one action row.
pub const BUTTONS_PER_ROW: usize = 5;
/// Most action rows in one message.
pub const ACTION_ROWS_MAX: usize = 5;

/// Marks text that was cut short.
pub const ELLIPSIS: char = '…';

/// Number of characters in `text`, as Discord counts them.
pub fn char_len(text: &str) -> usize {
    text.chars().count()
}

/// Cuts `text` to at most `max` characters, ending with an ellipsis when anything was removed.
/// Always cuts on a character boundary; `max == 0` gives an empty string.
pub fn truncate(text: &str, max: usize) -> String {
    if max == 0 {
        return String::new();
    }
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some(_) => {
            // Keep max-1 characters and the ellipsis; the cut is on a char boundary by construction.
            let end = text
                .char_indices()
                .nth(max - 1)
                .map_or(text.len(), |(i, _)| i);
            let mut out = String::with_capacity(end + ELLIPSIS.len_utf8());
            out.push_str(text[..end].trim_end());
            out.push(ELLIPSIS);
            out
        }
    }
}

/// [`truncate`] to [`MESSAGE_CONTENT_MAX`].
pub fn truncate_message(text: &str) -> String {
    truncate(text, MESSAGE_CONTENT_MAX)
}

/// Splits `text` into messages of at most `max` characters each (`max` ≥ 1), preferring to cut at
/// a line break, then at whitespace, and only inside a word when a single word is longer than
/// `max`. The separator at a cut is dropped; no part is empty or whitespace-only.
pub fn split_message(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut parts = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        // Byte index just past the first `max` characters, if the rest is longer than that.
        let Some((limit, _)) = rest.char_indices().nth(max) else {
            parts.push(rest.to_owned());
            break;
        };
        let window = &rest[..limit];
        // A cut at a separator that is itself the first char would make an empty part.
        let cut = window
            .rfind('\n')
            .filter(|&i| i > 0)
            .or_else(|| window.rfind(char::is_whitespace).filter(|&i| i > 0));
        let (head, tail) = match cut {
            Some(i) => {
                let sep_len = window[i..].chars().next().map_or(1, char::len_utf8);
                (&rest[..i], &rest[i + sep_len..])
            }
            None => (window, &rest[limit..]),
        };
        let head = head.trim_end();
        if !head.is_empty() {
            parts.push(head.to_owned());
        }
        rest = tail.trim_start();
    }
    parts
}

/// [`split_message`] at [`MESSAGE_CONTENT_MAX`].
pub fn split_long_message(text: &str) -> Vec<String> {
    split_message(text, MESSAGE_CONTENT_MAX)
}

/// Makes `reason` safe for the `X-Audit-Log-Reason` header: control characters (newlines
/// included) become spaces, runs of whitespace collapse, and the result is cut to
/// [`AUDIT_REASON_MAX`]. `None` when nothing printable is left (Discord wants 1–512 chars).
///
/// serenity percent-encodes the header value itself, so any remaining Unicode is fine.
pub fn audit_reason(reason: &str) -> Option<String> {
    let cleaned: String = reason
        .split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!cleaned.is_empty()).then(|| truncate(&cleaned, AUDIT_REASON_MAX))
}

/// Caps a timeout at [`TIMEOUT_MAX`].
pub fn clamp_timeout(duration: Duration) -> Duration {
    duration.min(TIMEOUT_MAX)
}

/// Caps a ban's message-deletion window at [`BAN_DELETE_MESSAGES_MAX`], in whole seconds.
pub fn clamp_ban_delete_seconds(duration: Duration) -> u32 {
    let secs = duration.min(BAN_DELETE_MESSAGES_MAX).as_secs();
    u32::try_from(secs).unwrap_or(u32::MAX)
}

/// The text parts of an embed, before they become a serenity `CreateEmbed`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmbedText {
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Fields as (name, value, inline).
    pub fields: Vec<(String, String, bool)>,
    /// Footer text.
    pub footer: Option<String>,
    /// Author name.
    pub author: Option<String>,
}

impl EmbedText {
    /// Characters that count towards [`EMBED_TOTAL_MAX`].
    pub fn total_chars(&self) -> usize {
        let opt = |s: &Option<String>| s.as_deref().map_or(0, char_len);
        opt(&self.title)
            + opt(&self.description)
            + opt(&self.footer)
            + opt(&self.author)
            + self
                .fields
                .iter()
                .map(|(n, v, _)| char_len(n) + char_len(v))
                .sum::<usize>()
    }

    /// Whether every per-part and total limit holds.
    pub fn within_limits(&self) -> bool {
        let ok = |s: &Option<String>, max| s.as_deref().is_none_or(|s| char_len(s) <= max);
        ok(&self.title, EMBED_TITLE_MAX)
            && ok(&self.description, EMBED_DESCRIPTION_MAX)
            && ok(&self.footer, EMBED_FOOTER_MAX)
            && ok(&self.author, EMBED_AUTHOR_MAX)
            && self.fields.len() <= EMBED_FIELDS_MAX
            && self.fields.iter().all(|(n, v, _)| {
                char_len(n) <= EMBED_FIELD_NAME_MAX && char_len(v) <= EMBED_FIELD_VALUE_MAX
            })
            && self.total_chars() <= EMBED_TOTAL_MAX
    }

    /// Truncates every part to its limit, drops fields past the 25th, then shortens the
    /// description (and, if still needed, drops trailing fields) until the total fits.
    pub fn fit(mut self) -> Self {
        let cut = |s: &mut Option<String>, max| {
            if let Some(v) = s.as_mut() {
                *v = truncate(v, max);
            }
        };
        cut(&mut self.title, EMBED_TITLE_MAX);
        cut(&mut self.description, EMBED_DESCRIPTION_MAX);
        cut(&mut self.footer, EMBED_FOOTER_MAX);
        cut(&mut self.author, EMBED_AUTHOR_MAX);
        self.fields.truncate(EMBED_FIELDS_MAX);
        for (name, value, _) in &mut self.fields {
            *name = truncate(name, EMBED_FIELD_NAME_MAX);
            *value = truncate(value, EMBED_FIELD_VALUE_MAX);
        }
        let total = self.total_chars();
        if total > EMBED_TOTAL_MAX {
            // The description is the least structured part, so it gives way first.
            let excess = total - EMBED_TOTAL_MAX;
            if let Some(d) = self.description.as_mut() {
                let keep = char_len(d).saturating_sub(excess);
                *d = truncate(d, keep);
            }
        }
        while self.total_chars() > EMBED_TOTAL_MAX && self.fields.pop().is_some() {}
        if self.total_chars() > EMBED_TOTAL_MAX {
            // Only reachable with title+footer+author near their maxima and a description left.
            self.description = None;
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn truncate_keeps_short_text_and_marks_cuts() {
        assert_eq!(truncate("hello", 5), "hello");
        assert_eq!(truncate("hello!", 5), "hell…");
        assert_eq!(truncate("héllo wörld", 3), "hé…");
        assert_eq!(truncate("abc", 0), "");
        assert_eq!(truncate("abc", 1), "…");
        assert_eq!(char_len(&truncate_message(&"x".repeat(2_500))), 2_000);
    }

    #[test]
    fn split_prefers_lines_then_words() {
        assert_eq!(split_message("aaa\nbbb ccc", 8), vec!["aaa", "bbb ccc"]);
        assert_eq!(split_message("aaa bbb ccc", 8), vec!["aaa bbb", "ccc"]);
        assert_eq!(split_message("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert!(split_message("   \n ", 10).is_empty());
    }

    #[test]
    fn audit_reason_is_a_valid_single_line_header_value() {
        assert_eq!(
            audit_reason(" spam\r\nand\tmore\u{7} "),
            Some("spam and more".into())
        );
        assert_eq!(audit_reason("\n\t "), None);
        let long = audit_reason(&"é".repeat(600)).unwrap_or_default();
        assert_eq!(char_len(&long), AUDIT_REASON_MAX);
    }

    #[test]
    fn timeouts_and_ban_windows_are_capped() {
        let day = Duration::from_secs(86_400);
        assert_eq!(clamp_timeout(day * 40), TIMEOUT_MAX);
        assert_eq!(clamp_timeout(day), day);
        assert_eq!(clamp_ban_delete_seconds(day * 30), 604_800);
        assert_eq!(clamp_ban_delete_seconds(day), 86_400);
    }

    #[test]
    fn fit_respects_total_with_everything_at_max() {
        let big = |n| "w".repeat(n);
        let e = EmbedText {
            title: Some(big(300)),
            description: Some(big(5_000)),
            fields: (0..30).map(|_| (big(300), big(2_000), false)).collect(),
            footer: Some(big(3_000)),
            author: Some(big(300)),
        }
        .fit();
        assert!(e.within_limits(), "total {}", e.total_chars());
        assert!(!e.fields.is_empty());
    }

    fn text() -> impl Strategy<Value = String> {
        // Mixed ASCII, multibyte letters, emoji and whitespace/newlines.
        proptest::collection::vec(
            prop_oneof![
                Just('a'),
                Just('é'),
                Just('漢'),
                Just('🦀'),
                Just(' '),
                Just('\n'),
                Just('\t'),
                Just('z')
            ],
            0..600,
        )
        .prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        // Debug-build proptest is slow on a shared machine; 96 cases still cover every char class.
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn truncate_never_exceeds(s in text(), max in 0usize..300) {
            let t = truncate(&s, max);
            prop_assert!(char_len(&t) <= max);
            if char_len(&s) <= max { prop_assert_eq!(t, s); }
        }

        #[test]
        fn split_never_exceeds_and_keeps_every_word(s in text(), max in 1usize..120) {
            let parts = split_message(&s, max);
            for p in &parts {
                prop_assert!(char_len(p) <= max);
                prop_assert!(!p.trim().is_empty());
            }
            let squash = |x: &str| x.chars().filter(|c| !c.is_whitespace()).collect::<String>();
            prop_assert_eq!(squash(&parts.concat()), squash(&s));
        }

        #[test]
        fn audit_reason_fits_and_has_no_controls(s in text()) {
            if let Some(r) = audit_reason(&s) {
                prop_assert!(char_len(&r) <= AUDIT_REASON_MAX);
                prop_assert!(!r.chars().any(char::is_control));
                prop_assert!(!r.is_empty());
            }
        }

        #[test]
        fn fit_always_within_limits(
            title in text(), desc in text(), footer in text(),
            nfields in 0usize..40, fname in text(), fval in text(), rep in 1usize..12,
        ) {
            let e = EmbedText {
                title: Some(title.repeat(rep)),
                description: Some(desc.repeat(rep * 4)),
                fields: (0..nfields).map(|_| (fname.clone(), fval.repeat(rep), true)).collect(),
                footer: Some(footer.repeat(rep)),
                author: None,
            }.fit();
            prop_assert!(e.within_limits());
        }
    }
}
