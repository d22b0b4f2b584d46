//! Evasion-defeating text normalisation, applied before tokenising.
//!
//! Each rule is a flag so its effect can be measured on its own (see docs/model.md,
//! "Normalisation"); [`Rules::DEFAULT`] enables the rules that measurably help.

use unicode_normalization::UnicodeNormalization;

/// Which normalisation rules run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Delete zero-width and other invisible format characters (ZWSP, ZWJ, soft hyphen, BOM ...).
    pub invisible: bool,
    /// Unicode NFKC: full-width letters, ligatures, circled and styled letters become plain ones.
    pub nfkc: bool,
    /// Cyrillic/Greek look-alike letters become Latin inside words that also contain Latin letters.
    pub homoglyphs: bool,
    /// Single letters joined by one repeated separator ("f.u.c.k", "i d i o t") become one word.
    pub separators: bool,
    /// Digits and symbols used as letters ("1d10t", "sh!t", "a$$") become letters inside words.
    pub leet: bool,
    /// Runs of three or more identical letters ("stuuuupid") shrink to one.
    pub repeats: bool,
    /// When spaced-out letters join into a word the vocabulary does not know ("y o u a r e d u m b"
    /// → "youaredumb"), split it into known words ("you are dumb"). Needs a [`Lexicon`]
    /// (word-index models); without one it does nothing.
    pub segment: bool,
}

impl Rules {
    /// No normalisation: the model sees the raw text (parity tests, debugging).
    pub const NONE: Rules = Rules {
        invisible: false,
        nfkc: false,
        homoglyphs: false,
        separators: false,
        leet: false,
        repeats: false,
        segment: false,
    };
    /// Every rule.
    pub const ALL: Rules = Rules {
        invisible: true,
        nfkc: true,
        homoglyphs: true,
        separators: true,
        leet: true,
        repeats: true,
        segment: true,
    };
    /// The rules the production path uses (chosen by measurement, docs/model.md).
    pub const DEFAULT: Rules = Rules::ALL;
}

impl Default for Rules {
    fn default() -> Self {
        Rules::DEFAULT
    }
}

/// A model vocabulary: the frequency rank of a known lowercase word, `None` when unknown.
pub type Lexicon<'a> = &'a dyn Fn(&str) -> Option<i64>;

/// Applies `rules` to `text` (without a vocabulary, so `segment` does nothing).
pub fn normalize(text: &str, rules: &Rules) -> String {
    normalize_with(text, rules, None)
}

/// Applies `rules` to `text`; `lexicon` lets `segment` split joined words into known ones.
pub fn normalize_with(text: &str, rules: &Rules, lexicon: Option<Lexicon<'_>>) -> String {
    // ASCII has no invisible characters, is its own NFKC form and holds no homoglyphs: most chat
    // skips the three Unicode passes (the costliest part of normalising).
    let unicode = !text.is_ascii();
    let mut s: String = if rules.invisible && unicode {
        text.chars().filter(|&c| !is_invisible(c)).collect()
    } else {
        text.to_string()
    };
    if rules.nfkc && unicode {
        s = s.nfkc().collect();
    }
    if rules.homoglyphs && unicode {
        s = map_words(&s, fold_homoglyphs);
    }
    if rules.separators {
        s = join_spaced_letters(&s, lexicon.filter(|_| rules.segment));
    }
    if rules.leet {
        s = map_words(&s, unleet);
    }
    if rules.repeats {
        s = squeeze_repeats(&s);
    }
    s
}

/// Invisible characters used to split words without changing how they look.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
            | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}' | '\u{FFA0}'
    )
}

/// Applies `f` to every whitespace-delimited word, keeping the whitespace as it was.
fn map_words(s: &str, f: fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = None;
    for (i, c) in s.char_indices() {
        if c.is_whitespace() {
            if let Some(st) = start.take() {
                push_mapped(&mut out, &s[st..i], f);
            }
            out.push(c);
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(st) = start {
        push_mapped(&mut out, &s[st..], f);
    }
    out
}

fn push_mapped(out: &mut String, word: &str, f: fn(&str) -> Option<String>) {
    match f(word) {
        Some(w) => out.push_str(&w),
        None => out.push_str(word),
    }
}

fn homoglyph(c: char) -> Option<char> {
    Some(match c {
        'а' | 'α' => 'a',
        'в' | 'β' => 'b',
        'с' | 'ϲ' => 'c',
        'ԁ' => 'd',
        'е' | 'ё' | 'ε' => 'e',
        'һ' => 'h',
        'і' | 'ї' | 'ι' => 'i',
        'ј' => 'j',
        'к' | 'κ' => 'k',
        'м' => 'm',
        'н' | 'η' => 'n',
        'о' | 'ο' | 'σ' => 'o',
        'р' | 'ρ' => 'p',
        'ԛ' => 'q',
        'г' => 'r',
        'ѕ' => 's',
        'т' | 'τ' => 't',
        'υ' | 'ս' => 'u',
        'ν' | 'ѵ' => 'v',
        'ш' | 'ω' => 'w',
        'х' | 'χ' => 'x',
        'у' | 'γ' => 'y',
        'А' | 'Α' => 'A',
        'В' | 'Β' => 'B',
        'С' => 'C',
        'Е' | 'Ε' => 'E',
        'Н' | 'Η' => 'H',
        'І' | 'Ι' => 'I',
        'Ј' => 'J',
        'К' | 'Κ' => 'K',
        'М' | 'Μ' => 'M',
        'О' | 'Ο' => 'O',
        'Р' | 'Ρ' => 'P',
        'Ѕ' => 'S',
        'Т' | 'Τ' => 'T',
        'Х' | 'Χ' => 'X',
        'У' | 'Υ' => 'Y',
        'Ζ' => 'Z',
        _ => return None,
    })
}

/// Folds look-alikes only in mixed-script words, so genuine Cyrillic or Greek text is left alone.
fn fold_homoglyphs(word: &str) -> Option<String> {
    if !word.chars().any(|c| c.is_ascii_alphabetic())
        || !word.chars().any(|c| homoglyph(c).is_some())
    {
        return None;
    }
    Some(word.chars().map(|c| homoglyph(c).unwrap_or(c)).collect())
}

fn leet(c: char) -> Option<char> {
    Some(match c {
        '0' => 'o',
        '1' | '!' | '|' => 'i',
        '3' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '7' => 't',
        '8' => 'b',
        _ => return None,
    })
}

/// Maps leet characters inside words of three or more characters that contain an ASCII letter:
/// "1d10t" → "idiot", "sh!t" → "shit", "a$$" → "ass". Symbols (`!`, `@`, `|`) only between two
/// letters, so "wow!!!" and "@user" keep them; ordinals ("1st", "22nd") and words without letters
/// ("2024") are left alone.
fn unleet(word: &str) -> Option<String> {
    let chars: Vec<char> = word.chars().collect();
    if chars.len() < 3
        || !chars.iter().any(|c| c.is_ascii_alphabetic())
        || !chars.iter().any(|&c| leet(c).is_some())
        || is_ordinal(word)
    {
        return None;
    }
    let letter = |i: usize| chars.get(i).is_some_and(|c| c.is_ascii_alphabetic());
    let letterish = |i: usize| {
        chars
            .get(i)
            .is_some_and(|c| c.is_ascii_alphabetic() || leet(*c).is_some())
    };
    let mut out = String::with_capacity(word.len());
    let mut changed = false;
    for (i, &c) in chars.iter().enumerate() {
        let mapped = leet(c).filter(|_| {
            if matches!(c, '!' | '@' | '|') {
                i > 0 && letter(i - 1) && letter(i + 1)
            } else {
                (i > 0 && letterish(i - 1)) || letterish(i + 1)
            }
        });
        match mapped {
            Some(m) => {
                out.push(m);
                changed = true;
            }
            None => out.push(c),
        }
    }
    changed.then_some(out)
}

/// "1st", "22nd", "3rd", "4th" (optionally followed by punctuation).
fn is_ordinal(word: &str) -> bool {
    let w = word
        .trim_end_matches(|c: char| c.is_ascii_punctuation())
        .to_ascii_lowercase();
    let digits = w.chars().take_while(char::is_ascii_digit).count();
    digits > 0 && matches!(&w[digits..], "st" | "nd" | "rd" | "th")
}

/// Separators people put between the letters of a word.
fn is_separator(c: char) -> bool {
    matches!(
        c,
        '.' | '-' | '_' | '*' | ' ' | ',' | '|' | '/' | '~' | '+' | '\'' | '`'
    )
}

/// Joins runs of ≥ 3 single alphanumeric characters separated by one repeated separator. A run
/// spaced with ' ' may span several words, so with a lexicon an unknown result is re-split.
fn join_spaced_letters(s: &str, lexicon: Option<Lexicon<'_>>) -> String {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    let alnum = |i: usize| i < n && chars[i].is_alphanumeric();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < n {
        // A run starts at a single alnum char that does not continue a word.
        if alnum(i)
            && (i == 0 || !chars[i - 1].is_alphanumeric())
            && i + 1 < n
            && is_separator(chars[i + 1])
        {
            let sep = chars[i + 1];
            let mut letters = vec![chars[i]];
            let mut j = i + 1; // position of a separator
            while j + 1 < n && chars[j] == sep && alnum(j + 1) && !alnum(j + 2) {
                letters.push(chars[j + 1]);
                j += 2;
            }
            if letters.len() >= 3 {
                let joined: String = letters.into_iter().collect();
                let lower = joined.to_lowercase();
                match lexicon
                    .filter(|_| sep == ' ')
                    .and_then(|lex| super::segment::segment(&lower, lex))
                {
                    Some(pieces) => out.push_str(&pieces.join(" ")),
                    None => out.push_str(&joined),
                }
                i = j;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// Shrinks runs of three or more identical letters to one letter.
fn squeeze_repeats(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut j = i;
        while j < chars.len() && chars[j] == c {
            j += 1;
        }
        if c.is_alphabetic() && j - i >= 3 {
            out.push(c);
        } else {
            out.extend(&chars[i..j]);
        }
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        normalize(s, &Rules::ALL)
    }

    #[test]
    fn ascii_needs_none_of_the_unicode_passes() {
        // The fast path in `normalize_with` skips them for ASCII text; this is why that is exact.
        for b in 0u8..128 {
            let c = char::from(b);
            assert!(!is_invisible(c), "{c:?} is invisible");
            assert_eq!(homoglyph(c), None, "{c:?} has a homoglyph mapping");
            let one = c.to_string();
            assert_eq!(
                one.nfkc().collect::<String>(),
                one,
                "{c:?} changes under NFKC"
            );
        }
    }

    #[test]
    fn defeats_common_evasions() {
        assert_eq!(n("ＦＵＣＫ you"), "FUCK you");
        assert_eq!(n("id\u{200B}i\u{200D}ot"), "idiot");
        assert_eq!(n("you f.u.c.k"), "you fuck");
        assert_eq!(n("you are an i d i o t"), "you are an idiot");
        assert_eq!(n("1d10t"), "idiot");
        assert_eq!(n("sh!t and a$$"), "shit and ass");
        assert_eq!(n("stuuuupid"), "stupid");
        assert_eq!(n("b!tch"), "bitch");
        assert_eq!(n("іdіоt"), "idiot");
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        for s in [
            "see you at 10 on 2024-05-01",
            "@user wow!",
            "I am a cat",
            "good book",
            "Привет мир",
            "",
        ] {
            assert_eq!(n(s), s);
        }
        assert_eq!(normalize("ａ\u{200B}b", &Rules::NONE), "ａ\u{200B}b");
    }
}
