#!/usr/bin/env python3
"""Generates the configuration reference (docs/configuration.md) and .env.example from
config/default.toml, so the three never disagree. Run after changing config/default.toml:

    python3 scripts/gen-config-docs.py           # rewrite both files
    python3 scripts/gen-config-docs.py --check   # exit 1 and print a diff when either is stale
"""
import argparse
import difflib
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
UNPREFIXED = {"discord.token": "DISCORD_TOKEN", "database.url": "DATABASE_URL", "redis.url": "REDIS_URL", "web.client_secret": "DISCORD_CLIENT_SECRET"}

# Environment variables the binary reads that are not configuration keys: (name, example, meaning).
PROCESS_ENV = [
    ("USMCA_CONFIG", "/etc/usmca-bot/config.toml",
     "Extra TOML configuration file layered over config/default.toml (same as --config)."),
    ("RUST_LOG", "info,usmca_bot=debug", "Log filter; overrides log.filter when set."),
    ("ORT_DYLIB_PATH", "/usr/local/lib/usmca-bot/libonnxruntime.so",
     "ONNX Runtime library (or its directory), searched after model.runtime_path."),
    ("HOSTNAME", "bot-1",
     "Names this process in shard heartbeats (/mod status across processes); containers set it already."),
    ("LD_LIBRARY_PATH", "/opt/onnxruntime/lib",
     "Its directories are searched for libonnxruntime.so after the places beside the executable."),
    ("XDG_DATA_HOME", "/home/bot/.local/share",
     "A relative model.dir is also searched in XDG_DATA_HOME/usmca-bot (default ~/.local/share)."),
    ("XDG_CACHE_HOME", "/home/bot/.cache",
     "Where the model embedded in the binary is written when no model directory is found (default ~/.cache)."),
    ("HOME", "/home/bot", "Default base of the two directories above."),
]

# Variables docker-compose.yml substitutes; the bot itself does not read them. Names must not start
# with USMCA_: the bot would take them for configuration keys and reject them.
COMPOSE_ENV = [
    ("POSTGRES_PASSWORD", "usmca",
     "Password of the bundled Postgres, also put into the bot's DATABASE_URL (URL-safe characters only). "
     "Postgres takes it only when it creates its data volume: set it before the first start."),
    ("BOT_MODEL", "toxblock-lstm",
     "Model baked into the image at build time: toxblock-lstm (bundled) or detoxify (exported while building)."),
    ("BOT_IMAGE_TAG", "latest", "Tag of the usmca-bot image compose builds and runs."),
    ("BOT_HTTP_PUBLISH", "127.0.0.1:8080",
     "Host address for /healthz, /readyz and /metrics; /metrics is unauthenticated, keep it private."),
    ("BOT_WEB_PUBLISH", "127.0.0.1:8081",
     "Host address of the web dashboard; publish it on 0.0.0.0:8081 only behind a TLS reverse proxy (docs/dashboard.md)."),
    ("GRAFANA_ADMIN_PASSWORD", "admin", "Grafana admin password (monitoring profile)."),
    ("PROMETHEUS_RETENTION", "15d", "How long Prometheus keeps samples (monitoring profile)."),
]


def entries():
    section, comment = None, []
    for line in (ROOT / "config/default.toml").read_text().splitlines():
        s = line.strip()
        if not s:
            comment = []
        elif s.startswith("#"):
            comment.append(s.lstrip("# ").rstrip())
        elif s.startswith("[") and s.endswith("]"):
            section, comment = s[1:-1], []
        elif "=" in s and section:
            key, value = (p.strip() for p in s.split("=", 1))
            yield section, key, value, " ".join(comment)
            comment = []


def render():
    """Returns {relative path: generated text} for every generated file."""
    rows, env = [], []
    env.append("# usmca-bot environment. Copy to .env and fill in DISCORD_TOKEN; everything else has a default.")
    env.append("# Generated from config/default.toml by scripts/gen-config-docs.py.")
    env.append("# Nested keys: USMCA_<SECTION>__<KEY>. Lists use TOML syntax, e.g. USMCA_EXEMPTIONS__ROLES=[123,456].\n")
    current = None
    for section, key, value, doc in entries():
        dotted = f"{section}.{key}"
        var = f"USMCA_{section.upper()}__{key.upper()}"
        names = f"`{var}`" + (f", `{UNPREFIXED[dotted]}`" if dotted in UNPREFIXED else "")
        rows.append(f"| `{dotted}` | {names} | `{value}` | {doc} |")
        if section != current:
            env.append(f"\n# --- [{section}]")
            current = section
        if doc:
            env.append(f"# {doc}")
        if dotted in UNPREFIXED:
            env.append(f"# Also read as {var} (that name wins when both are set).")
        name = UNPREFIXED.get(dotted, var)
        if dotted == "discord.token":
            env.append(f"{name}=")
        else:
            env.append(f"# {name}={value.strip(chr(34))}")
    doc = ["# Configuration reference", "",
           "Generated from `config/default.toml` by `scripts/gen-config-docs.py`; do not edit by hand.", "",
           "Layers, later wins: built-in defaults → `config/default.toml` → the file given with `--config` / "
           "`USMCA_CONFIG` → environment variables. Durations accept `30s`, `10m`, `1h 30m`, `7d` or a number "
           "of seconds. `usmca-bot config check` prints the effective configuration with secrets redacted, or "
           "every problem at once (exit code 2).", "",
           "| key | environment | default | meaning |", "| --- | --- | --- | --- |", *rows, ""]

    env.append("\n# --- process (read by usmca-bot, not configuration keys)")
    doc += ["## Other environment variables", "",
            "Read by the binary besides the configuration keys above:", "",
            "| variable | example | meaning |", "| --- | --- | --- |"]
    for name, example, meaning in PROCESS_ENV:
        env += [f"# {meaning}", f"# {name}={example}"]
        doc.append(f"| `{name}` | `{example}` | {meaning} |")
    env.append("\n# --- docker compose (substituted into docker-compose.yml; the bot does not read them)")
    doc += ["", "Substituted into `docker-compose.yml` (compose reads them from `.env`); the bot ignores them:", "",
            "| variable | default | meaning |", "| --- | --- | --- |"]
    for name, default, meaning in COMPOSE_ENV:
        env += [f"# {meaning}", f"# {name}={default}"]
        doc.append(f"| `{name}` | `{default}` | {meaning} |")
    doc.append("")
    return {"docs/configuration.md": "\n".join(doc), ".env.example": "\n".join(env) + "\n"}


def main() -> None:
    ap = argparse.ArgumentParser(description="Generate docs/configuration.md and .env.example.")
    ap.add_argument("--check", action="store_true",
                    help="write nothing; exit 1 with a diff when a generated file is out of date")
    args = ap.parse_args()
    stale = False
    for rel, text in render().items():
        path = ROOT / rel
        current = path.read_text() if path.is_file() else ""
        if args.check:
            if current != text:
                stale = True
                sys.stdout.writelines(difflib.unified_diff(
                    current.splitlines(keepends=True), text.splitlines(keepends=True),
                    fromfile=f"{rel} (committed)", tofile=f"{rel} (generated)"))
        elif current != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {rel}")
    if stale:
        print("\nstale generated files: run python3 scripts/gen-config-docs.py and commit the result",
              file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
