#!/usr/bin/env bash
# Builds usmca-bot, fetches the ONNX Runtime library if it is absent, and scans the bundled sample export
# on the built-in defaults. Extra arguments go to `scan` (e.g. --format jsonl).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-onnxruntime.sh
cargo build --release --locked --bin usmca-bot
exec ./target/release/usmca-bot scan examples/davidson-conversation.json "$@"
