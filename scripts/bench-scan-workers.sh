#!/usr/bin/env bash
# Whole-process benchmark of `scan` with 1 and 2 inference workers (model.workers).
#
#   scripts/bench-scan-workers.sh DAVIDSON_CSV [MESSAGES] [ROUNDS]
#
# Builds the release binary, writes MESSAGES (default 50,000) JSON lines from the tweets of the
# Davidson et al. CSV (labeled_data.csv) with scripts/make-large-export.py,
# then runs `usmca-bot scan FILE --format jsonl --state memory > /dev/null` alternately with
# USMCA_MODEL__WORKERS=1 and =2, ROUNDS times each (default 3), and prints wall and CPU seconds
# of each run and the median speed-up.
set -euo pipefail
cd "$(dirname "$0")/.."
CSV="${1:?usage: $0 DAVIDSON_CSV [MESSAGES] [ROUNDS]}"
N="${2:-50000}"
ROUNDS="${3:-3}"
cargo build --release --quiet --bin usmca-bot
BIN=target/release/usmca-bot
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
python3 scripts/make-large-export.py "$CSV" "$N" > "$TMP/messages.jsonl"
echo "$N messages, $(nproc) cores, $ROUNDS rounds"
run() { # workers -> "wall cpu"
    local out
    out="$( { TIMEFORMAT='%R %U %S'; time USMCA_MODEL__WORKERS="$1" USMCA_LOG__FILTER=warn \
        "$BIN" scan "$TMP/messages.jsonl" --format jsonl --state memory >/dev/null 2>"$TMP/err"; } 2>&1 )"
    awk '{printf "%.2f %.2f\n", $1, $2 + $3}' <<<"$out"
}
declare -a W1 W2
for r in $(seq 1 "$ROUNDS"); do
    la="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')"
    if (( r % 2 )); then a="$(run 1)"; b="$(run 2)"; else b="$(run 2)"; a="$(run 1)"; fi
    W1+=("${a%% *}"); W2+=("${b%% *}")
    echo "round $r (load average before: $la): workers=1 wall ${a%% *} s cpu ${a##* } s | workers=2 wall ${b%% *} s cpu ${b##* } s | speed-up $(awk -v x="${a%% *}" -v y="${b%% *}" 'BEGIN{printf "%.2f", x/y}')x"
done
med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
m1="$(med "${W1[@]}")"; m2="$(med "${W2[@]}")"
echo "median wall: workers=1 ${m1} s, workers=2 ${m2} s, speed-up $(awk -v x="$m1" -v y="$m2" 'BEGIN{printf "%.2f", x/y}')x"
