#!/usr/bin/env bash
# Builds usmca-bot, fetches the ONNX Runtime library if it is absent, and scans the bundled sample export
# on the built-in defaults. Extra arguments go to `scan` (e.g. --format jsonl).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-onnxruntime.sh
# `cargo run` finds the binary wherever the target directory is (CARGO_TARGET_DIR, .cargo/config).
exec cargo run --release --locked --quiet --bin usmca-bot -- scan examples/davidson-conversation.json "$@"
