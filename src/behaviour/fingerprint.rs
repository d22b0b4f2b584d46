//! Normalised text fingerprints: the same message with different case, spacing, punctuation,
//! zero-width characters, full-width letters or stretched letters ("heyyyy") gets one fingerprint.

use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

/// The normalised form of `text`: NFKC, lower case, letters and digits only, runs of one
/// character collapsed to one ("trasssh" and "trash" both become "trash").
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last: Option<char> = None;
    for c in text.nfkc().flat_map(char::to_lowercase) {
        // Zero-width and punctuation characters are not alphanumeric, so they vanish here.
        if !c.is_alphanumeric() || Some(c) == last {
            continue;
        }
        last = Some(c);
        out.push(c);
    }
    out
}

/// A 64-bit fingerprint of the normalised text, or `None` when nothing is left after
/// normalisation (emoji-only or punctuation-only messages never count as duplicates).
pub fn fingerprint(text: &str) -> Option<u64> {
    let n = normalise(text);
    if n.is_empty() {
        return None;
    }
    let digest = Sha256::digest(n.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    Some(u64::from_be_bytes(first))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evasions_share_a_fingerprint() {
        let base = fingerprint("you are trash");
        assert!(base.is_some());
        assert_eq!(base, fingerprint("YOU  ARE\u{200b} TRASH!!!"));
        assert_eq!(base, fingerprint("ｙｏｕ are trash"));
        assert_eq!(base, fingerprint("you are trasssssh"));
        assert_ne!(base, fingerprint("you are great"));
        assert_eq!(fingerprint("!!! ???"), None);
    }
}
