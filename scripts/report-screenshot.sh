#!/usr/bin/env bash
# Renders the HTML scan report of examples/server-export and screenshots it with headless
# Chromium (Debian: apt-get install -y chromium) into docs/images/scan-report.png.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${BIN:-target/debug/usmca-bot}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
"$BIN" scan examples/server-export --state memory --format html --output "$TMP/report.html"
chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$TMP/profile" \
    --window-size=1100,2900 --virtual-time-budget=5000 \
    --screenshot="$TMP/shot.png" "file://$TMP/report.html" >/dev/null 2>&1
cp "$TMP/shot.png" docs/images/scan-report.png
echo "wrote docs/images/scan-report.png"
