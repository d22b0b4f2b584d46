#!/usr/bin/env python3
"""Generates the configuration reference (docs/configuration.md) and .env.example from
config/default.toml, so the three never disagree. Run after changing config/default.toml:

    python3 scripts/gen-config-docs.py
"""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
UNPREFIXED = {"discord.token": "DISCORD_TOKEN", "database.url": "DATABASE_URL", "redis.url": "REDIS_URL"}


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


def main() -> None:
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
    (ROOT / "docs").mkdir(exist_ok=True)
    (ROOT / "docs/configuration.md").write_text("\n".join(doc))
    (ROOT / ".env.example").write_text("\n".join(env) + "\n")


if __name__ == "__main__":
    main()
