#!/bin/sh
# Creates an empty source file for every build target Cargo.toml declares or implies
# (src/main.rs, src/lib.rs, each [[bin]], [[bench]], [[example]], [[test]]), so that
# `cargo build --locked` can compile only the dependencies in a cached Docker layer before the
# real sources are copied in. Cargo refuses a manifest whose declared targets have no file, so
# a new [[bench]] entry would otherwise break the image build.
#
#   deploy/docker/stub-targets.sh [PROJECT_DIR]     (default: the current directory)
#
# Existing files are never overwritten.
set -eu

dir="${1:-.}"
manifest="$dir/Cargo.toml"
[ -f "$manifest" ] || { echo "stub-targets: no Cargo.toml in $dir" >&2; exit 1; }

stub() { # stub KIND PATH
  case "$2" in /* | *..*) echo "stub-targets: refusing path outside the project: $2" >&2; exit 1 ;; esac
  [ -e "$dir/$2" ] && return 0
  mkdir -p "$(dirname "$dir/$2")"
  if [ "$1" = lib ]; then : >"$dir/$2"; else echo 'fn main() {}' >"$dir/$2"; fi
}

# The package's own library and binary, which cargo discovers by convention.
stub lib src/lib.rs
stub bin src/main.rs

# One line per declared target: "KIND NAME PATH" (PATH "-" when not given).
awk '
  function flush() { if (kind != "") print kind, (name == "" ? "-" : name), (path == "" ? "-" : path); kind = ""; name = ""; path = "" }
  /^[[:space:]]*\[\[(bin|bench|example|test)\]\][[:space:]]*(#.*)?$/ {
    flush(); kind = $0; gsub(/[^a-z]/, "", kind); next
  }
  /^[[:space:]]*\[lib\][[:space:]]*(#.*)?$/ { flush(); kind = "lib"; next }
  /^[[:space:]]*\[/ { flush(); next }
  kind != "" && /^[[:space:]]*name[[:space:]]*=/ { v = $0; sub(/^[^=]*=[[:space:]]*"/, "", v); sub(/".*$/, "", v); name = v }
  kind != "" && /^[[:space:]]*path[[:space:]]*=/ { v = $0; sub(/^[^=]*=[[:space:]]*"/, "", v); sub(/".*$/, "", v); path = v }
  END { flush() }
' "$manifest" | while read -r kind name path; do
  if [ "$path" = - ]; then
    case "$kind" in
      lib) path=src/lib.rs ;;
      bin) path="src/bin/$name.rs" ;;
      bench) path="benches/$name.rs" ;;
      example) path="examples/$name.rs" ;;
      test) path="tests/$name.rs" ;;
    esac
  fi
  stub "$kind" "$path"
done
