//! Layered loading with figment.

use super::validate::{validate, ConfigError, Problem};
use super::Config;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use std::path::{Path, PathBuf};

/// The defaults compiled into the binary (the same text as `config/default.toml`).
const BUILT_IN: &str = include_str!("../../config/default.toml");

/// Where configuration comes from, besides the built-in defaults and the environment.
#[derive(Debug, Clone, Default)]
pub struct ConfigSource {
    /// `config/default.toml` to layer over the built-in defaults; `None` to look in the working directory.
    pub defaults_file: Option<PathBuf>,
    /// The operator's file (`--config` / `USMCA_CONFIG`).
    pub file: Option<PathBuf>,
    /// Read environment variables (tests turn this off for isolation).
    pub use_env: bool,
}

/// Loads and validates the configuration from defaults, `config/default.toml`, `file` and the environment.
pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
    load_from(&ConfigSource {
        defaults_file: None,
        file: file.map(Path::to_path_buf),
        use_env: true,
    })
}

/// Loads and validates the configuration from an explicit set of sources.
pub fn load_from(source: &ConfigSource) -> Result<Config, ConfigError> {
    let mut fig = Figment::from(Toml::string(BUILT_IN));
    let defaults = source
        .defaults_file
        .clone()
        .unwrap_or_else(|| PathBuf::from("config/default.toml"));
    if defaults.is_file() {
        fig = fig.merge(Toml::file(&defaults));
    }
    if let Some(path) = &source.file {
        if !path.is_file() {
            return Err(ConfigError::Invalid(vec![Problem::new(
                "--config",
                format!("file {} does not exist or is not a file", path.display()),
            )]));
        }
        fig = fig.merge(Toml::file(path));
    }
    if source.use_env {
        fig = fig
            .merge(
                Env::raw()
                    .only(&["DISCORD_TOKEN"])
                    .map(|_| "discord.token".into()),
            )
            .merge(
                Env::raw()
                    .only(&["DATABASE_URL"])
                    .map(|_| "database.url".into()),
            )
            .merge(Env::raw().only(&["REDIS_URL"]).map(|_| "redis.url".into()))
            .merge(
                Env::raw()
                    .only(&["DISCORD_CLIENT_SECRET"])
                    .map(|_| "web.client_secret".into()),
            )
            .merge(Env::prefixed("USMCA_").ignore(&["CONFIG"]).split("__"));
    }
    extract_all(&fig)
}

/// Extracts section by section so that a type error in one section does not hide the others,
/// then runs the semantic checks.
fn extract_all(fig: &Figment) -> Result<Config, ConfigError> {
    let mut problems = Vec::new();

    // Unknown top-level sections (typos such as USMCA_THRESHOLD__WARN) are errors, not silently ignored.
    const SECTIONS: [&str; 16] = [
        "discord",
        "database",
        "redis",
        "model",
        "thresholds",
        "enforcement",
        "behaviour",
        "brigade",
        "exemptions",
        "rules",
        "storage",
        "limits",
        "http",
        "web",
        "log",
        "shutdown",
    ];
    if let Ok(dict) = fig.extract::<figment::value::Dict>() {
        for key in dict.keys() {
            if !SECTIONS.contains(&key.as_str()) {
                problems.push(Problem::new(
                    key,
                    format!("unknown section; expected one of: {}", SECTIONS.join(", ")),
                ));
            }
        }
    }

    // A field that fails to parse is reported and replaced by its built-in default, so that the
    // rest of its section and the semantic checks still run: the operator sees every problem at once.
    let builtin = Figment::from(Toml::string(BUILT_IN));
    macro_rules! section {
        ($name:literal) => {
            extract_section(fig, &builtin, $name, &mut problems)
        };
    }
    let config = Config {
        discord: section!("discord"),
        database: section!("database"),
        redis: section!("redis"),
        model: section!("model"),
        thresholds: section!("thresholds"),
        enforcement: section!("enforcement"),
        behaviour: section!("behaviour"),
        brigade: section!("brigade"),
        exemptions: section!("exemptions"),
        rules: section!("rules"),
        storage: section!("storage"),
        limits: section!("limits"),
        http: section!("http"),
        web: section!("web"),
        log: section!("log"),
        shutdown: section!("shutdown"),
    };
    problems.extend(validate(&config));
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError::Invalid(problems))
    }
}

fn extract_section<T: serde::de::DeserializeOwned>(
    fig: &Figment,
    builtin: &Figment,
    section: &str,
    problems: &mut Vec<Problem>,
) -> T {
    let mut local = fig.clone();
    // Each round fixes at least one field; a section has far fewer than 64.
    for _ in 0..64 {
        match local.extract_inner::<T>(section) {
            Ok(v) => return v,
            Err(errors) => {
                let mut patched = false;
                for err in errors {
                    let problem = figment_problem(section, &err);
                    if let Ok(default) = builtin.find_value(&problem.key) {
                        local = local.merge(Serialized::default(&problem.key, default));
                        patched = true;
                    }
                    if !problems.contains(&problem) {
                        problems.push(problem);
                    }
                }
                if !patched {
                    break;
                }
            }
        }
    }
    builtin
        .extract_inner(section)
        .expect("built-in defaults parse (checked by a unit test)")
}

/// Turns a figment error into a problem naming the full key and where the value came from.
fn figment_problem(section: &str, err: &figment::Error) -> Problem {
    // figment appends the section to the path; rebuild it as section.field.
    let rest: Vec<&str> = err
        .path
        .iter()
        .map(String::as_str)
        .filter(|p| *p != section)
        .collect();
    let key = if rest.is_empty() {
        section.to_string()
    } else {
        format!("{section}.{}", rest.join("."))
    };
    let origin = err
        .metadata
        .as_ref()
        .map(|m| format!(" (from {})", m.name))
        .unwrap_or_default();
    Problem::new(key, format!("{}{origin}", err.kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_defaults_parse_and_validate() {
        let c = load_from(&ConfigSource::default()).expect("defaults are valid");
        assert!(c.thresholds.warn < c.thresholds.ban);
    }
}
