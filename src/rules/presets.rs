//! The bundled word-list presets: the "List of Dirty, Naughty, Obscene and Otherwise Bad Words"
//! (CC-BY-4.0, attribution in `data/wordlists/README.md`), one list per language, embedded at
//! build time. `scripts/update-wordlists.sh` re-vendors them; a new language also needs a line here.

macro_rules! presets {
    ($($code:literal),* $(,)?) => {
        /// `(language code, JSON array of terms)` for every bundled preset.
        pub const PRESETS: &[(&str, &str)] = &[
            $(($code, include_str!(concat!("../../data/wordlists/", $code, ".json")))),*
        ];
    };
}

presets!(
    "ar", "cs", "da", "de", "en", "eo", "es", "fa", "fi", "fil", "fr", "fr-ca", "hi", "hu", "it",
    "ja", "kab", "ko", "nl", "no", "pl", "pt", "ru", "sv", "th", "tlh", "tr", "zh",
);

/// The terms of one preset, `None` for a language without one.
pub fn terms(code: &str) -> Option<Vec<String>> {
    let code = code.trim().to_ascii_lowercase();
    PRESETS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, json)| serde_json::from_str(json).unwrap_or_default())
}

/// The bundled preset codes, comma-separated (for error messages).
pub fn codes() -> String {
    PRESETS
        .iter()
        .map(|(c, _)| *c)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The preset for a Discord locale (`es-ES` → `es`, `pt-BR` → `pt`, `zh-CN` → `zh`), if bundled.
pub fn for_locale(locale: &str) -> Option<&'static str> {
    let lower = locale.trim().to_ascii_lowercase();
    if lower == "fr-ca" {
        return Some("fr-ca");
    }
    let lang = lower.split(['-', '_']).next().unwrap_or_default();
    PRESETS.iter().map(|(c, _)| *c).find(|c| *c == lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vendored_file_is_embedded_and_parses() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/wordlists");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_suffix(".json")
                    .map(String::from)
            })
            .collect();
        files.sort();
        let embedded: Vec<String> = PRESETS.iter().map(|(c, _)| c.to_string()).collect();
        assert_eq!(
            files, embedded,
            "add new languages to presets! in presets.rs"
        );
        for (code, json) in PRESETS {
            let t: Vec<String> = serde_json::from_str(json).unwrap_or_default();
            assert!(!t.is_empty(), "{code} has no terms");
        }
        assert_eq!(for_locale("es-ES"), Some("es"));
        assert_eq!(for_locale("pt-BR"), Some("pt"));
        assert_eq!(for_locale("en-US"), Some("en"));
        assert_eq!(for_locale("el"), None);
    }
}
