#!/usr/bin/env bash
# The side-by-side comparison of docs/performance.md in one run: Python baselines, then the Rust
# criterion benches on the same messages, then the table (ratios first).
#
#   python3 -m venv .bench-venv && .bench-venv/bin/pip install -r scripts/requirements-bench.txt
#   .bench-venv/bin/python scripts/make-bench-bert.py      # random BERT-base models, once (~1 GB, ignored)
#   scripts/bench-compare.sh                                 # ~15 minutes on 2 cores
#
# Needs Postgres and Redis (DATABASE_URL / REDIS_URL, local defaults) for the pipeline bench.
# Extra arguments go to criterion (e.g. --measurement-time 5). Never run by CI.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.bench-venv/bin/python}"
TARGET="${CARGO_TARGET_DIR:-target}"
mkdir -p "$TARGET"
"$PY" scripts/bench-python.py --out "$TARGET/bench-python.json"
cargo bench --bench classifier -- "$@" 'bundled/|bert-base' 
cargo bench --bench pipeline -- "$@"
python3 scripts/bench-table.py --python "$TARGET/bench-python.json" --criterion "$TARGET/criterion"
