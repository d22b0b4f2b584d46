//! Language identification per message (the `whatlang` trigram detector: pure Rust, 70 languages,
//! no model files). Codes are ISO 639-1 where one exists, as the word-list presets use them.

/// Confidence below which a detection is not used (whatlang's own reliability test is stricter).
const MIN_CONFIDENCE: f64 = 0.1;

/// The detected language of `text`, `None` when the detector is not confident (short messages,
/// emoji, links).
pub fn detect(text: &str) -> Option<&'static str> {
    let info = whatlang::detect(text)?;
    // `is_reliable` refuses most chat-length texts; a confidence floor keeps the useful ones.
    if !info.is_reliable() && info.confidence() < MIN_CONFIDENCE {
        return None;
    }
    Some(code(info.lang()))
}

/// ISO 639-1 code of a detected language (ISO 639-3 where there is none).
pub fn code(lang: whatlang::Lang) -> &'static str {
    use whatlang::Lang::*;
    match lang {
        Eng => "en",
        Spa => "es",
        Ita => "it",
        Tur => "tr",
        Por => "pt",
        Fra => "fr",
        Deu => "de",
        Nld => "nl",
        Pol => "pl",
        Rus => "ru",
        Ukr => "uk",
        Ara => "ar",
        Ces => "cs",
        Dan => "da",
        Epo => "eo",
        Pes => "fa",
        Fin => "fi",
        Tgl => "fil",
        Hin => "hi",
        Hun => "hu",
        Jpn => "ja",
        Kor => "ko",
        Nob => "no",
        Swe => "sv",
        Tha => "th",
        Cmn => "zh",
        Ell => "el",
        Heb => "he",
        Ind => "id",
        Ron => "ro",
        Vie => "vi",
        other => other.code(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn common_languages_are_told_apart() {
        assert_eq!(
            super::detect(
                "Este usuario ni siquiera llega al rango de hereje, por lo tanto debería irse"
            ),
            Some("es")
        );
        assert_eq!(
            super::detect("Il testo di questa voce pare esser scopiazzato direttamente da qui"),
            Some("it")
        );
        assert_eq!(
            super::detect("Bu madde tamamen kaynaksız ve tarafsızlıktan uzak yazılmış bir metin"),
            Some("tr")
        );
        assert_eq!(super::detect("sei uno stupido"), Some("it"));
        assert_eq!(super::detect(":)"), None);
    }
}
