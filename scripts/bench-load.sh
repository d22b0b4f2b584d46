#!/usr/bin/env bash
# Whole-system load test: the release daemon against the fake Discord (loopback only) at fixed
# open-loop message rates; reports receipt -> decision and dispatch -> action-request latency
# percentiles, the highest rate sustained without the backlog growing, and the daemon's peak RSS.
#
#   scripts/bench-load.sh                          # rates 250,500,1000,1500,2000 msg/s, 10 s each
#   scripts/bench-load.sh --rates 500 --seconds 20 # any of examples/bench_load.rs's options
#
# Needs Postgres and Redis (DATABASE_URL / REDIS_URL, local defaults; a fresh database and key
# prefix are used and removed) and the ONNX Runtime library (scripts/setup-onnxruntime.sh).
# Bounded: at most 60 s and 20,000 messages per rate. Never run by CI.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET="${CARGO_TARGET_DIR:-target}"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
export NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost"
cargo build --release --bin usmca-bot --example bench_load
mkdir -p "$TARGET/bench-load"
"$TARGET/release/examples/bench_load" --bin "$TARGET/release/usmca-bot" \
    --log "$TARGET/bench-load/daemon.log" --out "$TARGET/bench-load/report.json" "$@"
