#!/usr/bin/env bash
# Re-vendors the word-list presets from the npm package `naughty-words` (the "List of Dirty,
# Naughty, Obscene and Otherwise Bad Words", CC-BY-4.0) into data/wordlists/: one JSON array
# per language, the licence, and a README with the attribution and the version fetched.
# The binary embeds these files (src/rules/presets.rs); rebuild after running this.
#
# Usage: scripts/update-wordlists.sh [VERSION]   (default: the latest published version)
set -euo pipefail
cd "$(dirname "$0")/.."

command -v npm >/dev/null || { echo "update-wordlists.sh: needs npm" >&2; exit 1; }
spec="naughty-words${1:+@$1}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$spec" >/dev/null && tar xzf naughty-words-*.tgz)
pkg="$tmp/package"
version="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$pkg/package.json")"

out=data/wordlists
rm -f "$out"/*.json
for f in "$pkg"/*.json; do
    name="$(basename "$f" .json)"
    case "$name" in package|package-lock|bower) continue ;; esac
    # Discord-style short codes: fr-CA-u-sd-caqc (Québec French) becomes fr-ca.
    code="$(echo "${name%%-u-*}" | tr 'A-Z' 'a-z')"
    # One term per line inside a JSON array, sorted and deduplicated: diffs stay readable.
    python3 - "$f" "$out/$code.json" <<'PY'
import json, sys
terms = sorted({t.strip() for t in json.load(open(sys.argv[1], encoding="utf-8")) if t.strip()})
with open(sys.argv[2], "w", encoding="utf-8") as out:
    out.write("[\n" + ",\n".join(json.dumps(t, ensure_ascii=False) for t in terms) + "\n]\n")
PY
done
cp "$pkg/LICENSE" "$out/LICENSE"
codes="$(ls "$out"/*.json | xargs -n1 basename | sed 's/\.json$//' | tr '\n' ' ')"
cat > "$out/README.md" <<MD
# Word-list presets

These lists are the "List of Dirty, Naughty, Obscene and Otherwise Bad Words"
(https://github.com/LDNOOBW/List-of-Dirty-Naughty-Obscene-and-Otherwise-Bad-Words), © its
contributors, licensed under the Creative Commons Attribution 4.0 International licence
(CC-BY-4.0, see LICENSE in this folder), as packaged on npm as \`naughty-words\` version $version.

Changes: each file is sorted, trimmed and deduplicated; \`fr-CA-u-sd-caqc\` is renamed \`fr-ca\`.
Nothing else is changed. Regenerate with \`scripts/update-wordlists.sh [VERSION]\`.

Languages: $codes
MD
echo "vendored naughty-words $version into $out: $codes"
