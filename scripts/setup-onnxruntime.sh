#!/usr/bin/env bash
# Installs the ONNX Runtime shared library into the project-local .onnxruntime/ directory.
#
# The library is taken from the official `onnxruntime` wheel on PyPI (no build script downloads,
# no unzip needed: python's zipfile extracts it). usmca-bot finds .onnxruntime/ on its own.
#
#   scripts/setup-onnxruntime.sh          # CPU build
#   scripts/setup-onnxruntime.sh --gpu    # onnxruntime-gpu, plus its CUDA provider libraries
#   scripts/setup-onnxruntime.sh --prefix "$HOME/.local"   # into PREFIX/lib/usmca-bot, found by PREFIX/bin/usmca-bot
#                                         # (for `cargo install --path . --root PREFIX`)
#   ORT_VERSION=1.31.1 DEST=/usr/local/lib/usmca-bot scripts/setup-onnxruntime.sh
#
# Idempotent: does nothing when the requested version is already installed.
set -euo pipefail

ORT_VERSION="${ORT_VERSION:-1.31.1}"
PACKAGE="onnxruntime"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --gpu) PACKAGE="onnxruntime-gpu" ;;
    --prefix)
      [[ $# -ge 2 ]] || { echo "--prefix needs a directory" >&2; exit 2; }
      DEST="$2/lib/usmca-bot"; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (use --gpu and/or --prefix DIR)" >&2; exit 2 ;;
  esac
  shift
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${DEST:-$ROOT/.onnxruntime}"
STAMP="$DEST/.installed"
WANT="$PACKAGE==$ORT_VERSION"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" && -f "$DEST/libonnxruntime.so" ]]; then
  echo "ONNX Runtime $WANT already installed in $DEST"
  exit 0
fi

command -v python3 >/dev/null || { echo "python3 is required (it downloads and unpacks the wheel)" >&2; exit 1; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
echo "Downloading $WANT wheel from PyPI ..."
python3 -m pip download --quiet --no-deps --only-binary=:all: "$WANT" -d "$TMP"

mkdir -p "$DEST"
python3 - "$TMP" "$DEST" "$ORT_VERSION" <<'PY'
import glob, os, sys, zipfile
tmp, dest, version = sys.argv[1], sys.argv[2], sys.argv[3]
wheels = glob.glob(os.path.join(tmp, "*.whl"))
if not wheels:
    sys.exit("pip downloaded no wheel; is this platform supported by onnxruntime?")
z = zipfile.ZipFile(wheels[0])
copied = []
for name in z.namelist():
    base = os.path.basename(name)
    if not name.startswith("onnxruntime/capi/"):
        continue
    if base == f"libonnxruntime.so.{version}":
        target = "libonnxruntime.so"
    elif base.startswith("libonnxruntime_providers_") and base.endswith(".so"):
        target = base  # CUDA / TensorRT / shared providers (GPU wheel)
    else:
        continue
    with open(os.path.join(dest, target), "wb") as out:
        out.write(z.read(name))
    copied.append(target)
if "libonnxruntime.so" not in copied:
    sys.exit(f"libonnxruntime.so.{version} not found in {os.path.basename(wheels[0])}")
print("installed:", ", ".join(sorted(copied)))
PY

echo "$WANT" > "$STAMP"
echo "ONNX Runtime $WANT installed in $DEST"
