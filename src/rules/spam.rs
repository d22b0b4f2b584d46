//! Spam measures of one message: shouting, emoji, zalgo (stacked combining marks).

/// Share of uppercase among cased letters, and the number of cased letters.
pub fn caps(text: &str) -> (f64, u32) {
    let (mut upper, mut letters) = (0u32, 0u32);
    for c in text.chars() {
        if c.is_uppercase() {
            upper += 1;
            letters += 1;
        } else if c.is_lowercase() {
            letters += 1;
        }
    }
    if letters == 0 {
        (0.0, 0)
    } else {
        (f64::from(upper) / f64::from(letters), letters)
    }
}

fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF)
}

/// Emoji in a message: pictographs and Discord custom emoji (`<:name:id>`, `<a:name:id>`).
pub fn emoji(text: &str) -> u32 {
    let unicode = text.chars().filter(|c| is_emoji(*c)).count();
    let custom = text.matches("<:").count() + text.matches("<a:").count();
    u32::try_from(unicode + custom).unwrap_or(u32::MAX)
}

fn is_combining(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x0483..=0x0489 | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

/// The longest run of combining marks on one character.
pub fn combining_run(text: &str) -> u32 {
    let (mut best, mut run) = (0u32, 0u32);
    for c in text.chars() {
        if is_combining(c) {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures() {
        assert_eq!(caps("HELLO there"), (0.5, 10));
        assert_eq!(emoji("hi 😀😀 <:pog:123> <a:x:1>"), 4);
        assert_eq!(combining_run("z\u{0301}\u{0302}\u{0303}a\u{0301}"), 3);
        assert_eq!(combining_run("café"), 0);
    }
}
