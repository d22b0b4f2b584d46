//! Every environment variable the code reads, and every variable docker-compose.yml substitutes,
//! is documented in .env.example; the generated files match config/default.toml.

use crate::{assert_success, read, root, which};
use regex::Regex;
use std::collections::BTreeSet;
use std::path::Path;

/// Names the source reads: `env::var("X")`, `env::var_os("X")`, clap's `env = "X"` and figment's
/// `Env::raw().only(&["X", ...])`; plus the prefixes of `Env::prefixed("P")` and the names their
/// `.ignore(&[...])` leaves out (prefix + name). Names built at run time are not seen.
#[derive(Debug, Default, PartialEq)]
struct SourceEnv {
    names: BTreeSet<String>,
    prefixes: BTreeSet<String>,
    ignored: BTreeSet<String>,
}

fn quoted(list: &str) -> impl Iterator<Item = String> + '_ {
    let q = Regex::new(r#""([^"]+)""#).expect("static regex");
    q.captures_iter(list)
        .map(|c| c[1].to_string())
        .collect::<Vec<_>>()
        .into_iter()
}

fn scan_source(text: &str, out: &mut SourceEnv) {
    let var = Regex::new(r#"env::var(?:_os)?\(\s*"([A-Za-z_][A-Za-z0-9_]*)""#).expect("static");
    let clap = Regex::new(r#"\benv\s*=\s*"([A-Z_][A-Z0-9_]*)""#).expect("static");
    let raw = Regex::new(r"Env::raw\(\)\s*\.only\(\s*&\[([^\]]*)\]").expect("static");
    let prefixed = Regex::new(r#"Env::prefixed\(\s*"([A-Za-z_][A-Za-z0-9_]*)"\s*\)((?:\s*\.ignore\(\s*&\[[^\]]*\]\s*\))?)"#)
        .expect("static");
    for c in var.captures_iter(text).chain(clap.captures_iter(text)) {
        out.names.insert(c[1].to_string());
    }
    for c in raw.captures_iter(text) {
        out.names.extend(quoted(&c[1]));
    }
    for c in prefixed.captures_iter(text) {
        let prefix = c[1].to_string();
        for name in quoted(&c[2]) {
            out.ignored.insert(format!("{prefix}{name}"));
        }
        out.prefixes.insert(prefix);
    }
}

fn scan_dir(dir: &Path, out: &mut SourceEnv) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            scan_dir(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            scan_source(&text, out);
        }
    }
}

/// `USMCA_<SECTION>__<KEY>` for every key of config/default.toml.
fn config_vars(prefix: &str) -> BTreeSet<String> {
    let table: toml::Table = read("config/default.toml")
        .parse()
        .unwrap_or_else(|e| panic!("config/default.toml: {e}"));
    let mut out = BTreeSet::new();
    for (section, value) in &table {
        let keys = value.as_table().unwrap_or_else(|| {
            panic!("config/default.toml: top-level `{section}` is not a section")
        });
        for key in keys.keys() {
            out.insert(format!(
                "{prefix}{}__{}",
                section.to_uppercase(),
                key.to_uppercase()
            ));
        }
    }
    out
}

/// Whether `name` occurs in `text` as a whole word.
fn mentioned(text: &str, name: &str) -> bool {
    let word = Regex::new(&format!(
        r"(^|[^A-Za-z0-9_]){}($|[^A-Za-z0-9_])",
        regex::escape(name)
    ))
    .expect("escaped name");
    word.is_match(text)
}

#[test]
fn scanner_finds_every_form_of_env_access() {
    let mut found = SourceEnv::default();
    scan_source(
        r#"let a = std::env::var("ALPHA"); let b = env::var_os( "BETA" );
           #[arg(long, env = "GAMMA")] x: u8,
           .merge(Env::raw()
               .only(&["DELTA", "EPSILON"]).map(|_| "x.y".into()))
           .merge(Env::prefixed("PFX_").ignore(&["CONFIG"]).split("__"));
           let not_an_env = std::env::var(name);"#,
        &mut found,
    );
    let names: Vec<&str> = found.names.iter().map(String::as_str).collect();
    assert_eq!(names, ["ALPHA", "BETA", "DELTA", "EPSILON", "GAMMA"]);
    assert_eq!(found.prefixes.iter().collect::<Vec<_>>(), ["PFX_"]);
    assert_eq!(found.ignored.iter().collect::<Vec<_>>(), ["PFX_CONFIG"]);
    assert!(mentioned("# PFX_A=1\n", "PFX_A"));
    assert!(!mentioned("# PFX_AB=1\n", "PFX_A"));
}

#[test]
fn every_variable_the_code_reads_is_in_env_example() {
    let mut found = SourceEnv::default();
    scan_dir(&root().join("src"), &mut found);
    // The figment layering in src/config must have been seen, or this test checks nothing.
    assert!(
        found.prefixes.contains("USMCA_") && found.names.contains("DISCORD_TOKEN"),
        "the scanner no longer recognises how src/config reads the environment: {found:?}"
    );
    let mut wanted = found.names.clone();
    for prefix in &found.prefixes {
        wanted.extend(config_vars(prefix));
    }
    let example = read(".env.example");
    let missing: Vec<&String> = wanted.iter().filter(|n| !mentioned(&example, n)).collect();
    assert!(
        missing.is_empty(),
        ".env.example does not mention {missing:?}; add them to scripts/gen-config-docs.py \
         (PROCESS_ENV, or config/default.toml) and run it"
    );
}

#[test]
fn every_compose_variable_is_in_env_example_and_not_taken_for_config() {
    let compose = read("docker-compose.yml");
    let example = read(".env.example");
    let var = Regex::new(r"\$\{([A-Za-z_][A-Za-z0-9_]*)").expect("static");
    let names: BTreeSet<String> = var
        .captures_iter(&compose)
        .map(|c| c[1].to_string())
        .collect();
    assert!(!names.is_empty(), "docker-compose.yml substitutes nothing?");
    let config = config_vars("USMCA_");
    for name in &names {
        assert!(
            mentioned(&example, name),
            ".env.example does not document {name}"
        );
        // The bot gets .env too (env_file) and rejects unknown USMCA_ sections.
        assert!(
            !name.starts_with("USMCA_") || config.contains(name),
            "{name}: compose-only variables must not start with USMCA_"
        );
    }
}

#[test]
fn generated_configuration_docs_are_up_to_date() {
    let python = which("python3").expect("python3 is needed to run scripts/gen-config-docs.py");
    let out = crate::run(&python, &["scripts/gen-config-docs.py", "--check"], root());
    assert_success(
        "docs/configuration.md and .env.example are stale (python3 scripts/gen-config-docs.py)",
        &out,
    );
}
