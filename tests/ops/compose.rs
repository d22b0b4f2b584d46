//! docker-compose.yml: the services, health gating and profiles the deployment guide describes,
//! and `docker-compose config` / `docker compose config` when one of them is installed.

use crate::{assert_success, read, root, which, yaml};
use serde_yaml::Value;

fn services() -> serde_yaml::Mapping {
    yaml("docker-compose.yml")["services"]
        .as_mapping()
        .expect("services")
        .clone()
}

fn service(name: &str) -> Value {
    services()
        .get(name)
        .unwrap_or_else(|| panic!("no service {name}"))
        .clone()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .map(|s| {
            s.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn stores_are_persistent_and_health_checked() {
    let pg = service("postgres");
    assert!(pg["image"]
        .as_str()
        .is_some_and(|i| i.starts_with("postgres:16")));
    assert!(strings(&pg["volumes"])
        .iter()
        .any(|v| v.ends_with(":/var/lib/postgresql/data")));
    assert!(
        pg["healthcheck"]["test"].is_sequence(),
        "postgres healthcheck"
    );

    let redis = service("redis");
    assert!(redis["image"]
        .as_str()
        .is_some_and(|i| i.starts_with("redis:7")));
    let cmd = strings(&redis["command"]).join(" ");
    assert!(cmd.contains("--appendonly yes"), "redis AOF: {cmd}");
    assert!(strings(&redis["volumes"])
        .iter()
        .any(|v| v.ends_with(":/data")));
    assert!(
        redis["healthcheck"]["test"].is_sequence(),
        "redis healthcheck"
    );
}

#[test]
fn bot_waits_for_healthy_stores_and_restarts() {
    let bot = service("bot");
    assert_eq!(bot["env_file"].as_str(), Some(".env"));
    assert!(
        bot["build"].is_mapping() || bot["build"].is_string(),
        "bot is built here"
    );
    for dep in ["postgres", "redis"] {
        assert_eq!(
            bot["depends_on"][dep]["condition"].as_str(),
            Some("service_healthy"),
            "bot must wait for a healthy {dep}"
        );
    }
    assert_eq!(bot["restart"].as_str(), Some("unless-stopped"));
    let env = &bot["environment"];
    assert!(env["DATABASE_URL"]
        .as_str()
        .is_some_and(|u| u.contains("@postgres:5432/")));
    assert!(env["REDIS_URL"]
        .as_str()
        .is_some_and(|u| u.starts_with("redis://redis:6379")));
    // Graceful shutdown (shutdown.deadline, 20 s by default) must fit in the grace period.
    assert_eq!(bot["stop_grace_period"].as_str(), Some("30s"));
}

#[test]
fn monitoring_services_are_only_in_the_monitoring_profile() {
    for (name, svc) in services() {
        let name = name.as_str().unwrap_or_default().to_string();
        let profiles = strings(&svc["profiles"]);
        let monitoring = ["prometheus", "grafana", "blackbox"].contains(&name.as_str());
        if monitoring {
            assert_eq!(profiles, ["monitoring"], "{name}");
        } else {
            assert!(profiles.is_empty(), "{name} must start without a profile");
        }
        // Bind mounts must point at files in the repository.
        for volume in strings(&svc["volumes"]) {
            if let Some(rel) = volume.strip_prefix("./") {
                let source = rel.split(':').next().unwrap_or_default();
                assert!(
                    root().join(source).exists(),
                    "{name}: {volume} has no source"
                );
            }
        }
    }
}

/// `config -q` in a scratch copy, with `.env` made from `.env.example` (compose needs the file).
fn compose_config(program: &std::path::Path, prefix: &[&str]) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("docker-compose.yml"),
        read("docker-compose.yml"),
    )
    .expect("write compose file");
    std::fs::write(dir.path().join(".env"), read(".env.example")).expect("write .env");
    for profile in [None, Some("monitoring")] {
        let mut args: Vec<&str> = prefix.to_vec();
        if let Some(p) = profile {
            args.extend(["--profile", p]);
        }
        args.extend(["config", "-q"]);
        let out = crate::run(program, &args, dir.path());
        assert_success(&format!("{} {}", program.display(), args.join(" ")), &out);
    }
}

#[test]
fn compose_accepts_the_file_with_and_without_the_monitoring_profile() {
    let mut ran = false;
    if let Some(v1) = which("docker-compose") {
        compose_config(&v1, &[]);
        ran = true;
    }
    if let Some(docker) = which("docker") {
        let v2 = crate::run(&docker, &["compose", "version"], root());
        if v2.status.success() {
            compose_config(&docker, &["compose"]);
            ran = true;
        }
    }
    if !ran {
        eprintln!(
            "neither docker-compose nor docker compose installed: only structural checks ran"
        );
    }
}
