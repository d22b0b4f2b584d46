#!/usr/bin/env bash
# The side-by-side comparison of docs/performance.md in one run: Python baselines, then the Rust
# criterion benches on the same messages, then the table (ratios first).
#
#   python3 -m venv .bench-venv && .bench-venv/bin/pip install -r scripts/requirements-bench.txt
#   .bench-venv/bin/python scripts/make-bench-bert.py      # random BERT-base models, once (~1 GB, ignored)
#   scripts/bench-compare.sh                                 # ~10 minutes on 2 cores
#   scripts/bench-compare.sh --rounds 3                      # Python and Rust alternately, 3 times
#
# --rounds N measures the Python baselines and the classifier benches N times, alternating which
# side goes first, and reports each ratio as the median of the rounds with their range: on a shared
# machine the speed drifts between the two halves of a single round. The pipeline bench runs once.
# Needs Postgres and Redis (DATABASE_URL / REDIS_URL, local defaults) for the pipeline bench.
# Other arguments go to criterion (e.g. --measurement-time 5). Never run by CI.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.bench-venv/bin/python}"
TARGET="${CARGO_TARGET_DIR:-target}"
ROUNDS=1
if [[ "${1:-}" == "--rounds" ]]; then
  [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || { echo "--rounds needs a positive whole number, got '${2:-}'" >&2; exit 2; }
  ROUNDS="$2"
  shift 2
fi
OUT="$TARGET/bench-rounds"
rm -rf "$OUT"
python_side() { "$PY" scripts/bench-python.py --out "$OUT/$1/python.json"; }
rust_side() {
  cargo bench --bench classifier -- "${@:2}" 'bundled/|bert-base'
  mkdir -p "$OUT/$1/criterion"
  for group in bundled bert-base-fp32 bert-base-int8; do
    [[ -d "$TARGET/criterion/$group" ]] && cp -r "$TARGET/criterion/$group" "$OUT/$1/criterion/"
  done
}
pythons=() criterions=()
for ((r = 1; r <= ROUNDS; r++)); do
  mkdir -p "$OUT/$r"
  echo "== round $r of $ROUNDS" >&2
  if ((r % 2)); then python_side "$r"; rust_side "$r" "$@"; else rust_side "$r" "$@"; python_side "$r"; fi
  pythons+=("$OUT/$r/python.json") criterions+=("$OUT/$r/criterion")
done
cargo bench --bench pipeline -- "$@"
python3 scripts/bench-table.py --python "${pythons[@]}" --criterion "${criterions[@]}" --pipeline "$TARGET/criterion"
