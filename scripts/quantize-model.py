#!/usr/bin/env python3
"""Writes an int8 copy of a model directory: onnxruntime's dynamic quantization of the weights
(QInt8), the tokenizer files copied, and model.toml with the new weights' sha256 and "-int8" added
to the name. The source directory is not modified.

    python3 -m pip install onnx onnxruntime
    python3 scripts/quantize-model.py --in models/toxblock-lstm --out target/toxblock-lstm-int8

Measure what it costs before using it (docs/model.md, "Quantization"):

    usmca-bot evaluate --dataset ../shared/datasets/davidson/labeled_data.csv ... (once per directory)
"""
import argparse
import hashlib
import os
import re
import shutil
import sys
import tomllib


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--in", dest="src", required=True, help="model directory with model.toml")
    ap.add_argument("--out", required=True, help="directory to write (must not exist or be empty)")
    args = ap.parse_args()

    manifest_path = os.path.join(args.src, "model.toml")
    try:
        with open(manifest_path, "rb") as f:
            manifest = tomllib.load(f)
    except FileNotFoundError:
        sys.exit(f"{manifest_path} not found: --in must be a model directory (with model.toml)")
    except tomllib.TOMLDecodeError as e:
        sys.exit(f"{manifest_path} is not valid TOML: {e}")
    weights = manifest.get("weights")
    if not weights:
        sys.exit(f"{manifest_path} names no weights file")
    if os.path.isdir(args.out) and os.listdir(args.out):
        sys.exit(f"{args.out} is not empty; choose a new directory")
    if os.path.abspath(args.out) == os.path.abspath(args.src):
        sys.exit("--out must differ from --in")

    from onnxruntime.quantization import QuantType, quantize_dynamic

    os.makedirs(args.out, exist_ok=True)
    skip = {weights, "model.toml", "SHA256SUMS"}
    for name in os.listdir(args.src):
        src = os.path.join(args.src, name)
        if name not in skip and os.path.isfile(src):
            shutil.copy2(src, os.path.join(args.out, name))
    out_weights = os.path.join(args.out, weights)
    quantize_dynamic(os.path.join(args.src, weights), out_weights, weight_type=QuantType.QInt8)
    with open(out_weights, "rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()

    with open(manifest_path, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r'(?m)^sha256\s*=.*$', f'sha256 = "{digest}"', text, count=1)
    if "sha256" not in manifest:
        text = re.sub(r"(?m)^(weights\s*=.*)$", rf'\1\nsha256 = "{digest}"', text, count=1)
    text = re.sub(r'(?m)^name\s*=\s*"([^"]*)"', lambda m: f'name = "{m.group(1)}-int8"', text, count=1)
    header = f"# int8 dynamic quantization of {os.path.basename(os.path.normpath(args.src))} (scripts/quantize-model.py).\n"
    with open(os.path.join(args.out, "model.toml"), "w", encoding="utf-8") as f:
        f.write(header + text)
    before, after = os.path.getsize(os.path.join(args.src, weights)), os.path.getsize(out_weights)
    print(f"{out_weights}: {after:,} bytes (was {before:,}), sha256 {digest}")


if __name__ == "__main__":
    main()
