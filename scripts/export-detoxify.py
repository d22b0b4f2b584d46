#!/usr/bin/env python3
"""Exports a Detoxify checkpoint to a usmca-bot model directory (ONNX + tokenizer.json + model.toml).

Run once on a machine with internet access; copy the resulting directory to the bot and point
model.dir (USMCA_MODEL__DIR) at it.

    python3 -m pip install detoxify torch transformers onnx onnxruntime
    python3 scripts/export-detoxify.py --variant original --out models/detoxify-original --quantize

Variants (Detoxify names): original (BERT-base), original-small (ALBERT), unbiased (RoBERTa),
unbiased-small (ALBERT), multilingual (XLM-RoBERTa). --quantize applies onnxruntime's int8 dynamic
quantization (about 4x smaller, typically 2-3x faster on CPU, small accuracy change: evaluate it).
The script prints the sha256 of the weights and writes it into model.toml, so the bot refuses a
corrupted or substituted file.
"""
import argparse
import hashlib
import json
import os
import sys

# Fast (Rust) tokenizer each Detoxify variant is based on; its tokenizer.json is what the bot loads.
BASE_TOKENIZER = {
    "original": "bert-base-uncased",
    "original-small": "albert-base-v2",
    "unbiased": "roberta-base",
    "unbiased-small": "albert-base-v2",
    "multilingual": "xlm-roberta-base",
}
# RoBERTa-family graphs take no token_type_ids.
NO_TOKEN_TYPES = {"unbiased", "multilingual"}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", default="original", choices=sorted(BASE_TOKENIZER))
    ap.add_argument("--out", required=True, help="output model directory")
    ap.add_argument("--max-length", type=int, default=256, help="longest token sequence fed to the model (<= 512)")
    ap.add_argument("--quantize", action="store_true", help="int8 dynamic quantization (onnxruntime.quantization)")
    ap.add_argument("--opset", type=int, default=17)
    args = ap.parse_args()

    try:
        import numpy as np
        import onnxruntime
        import torch
        import transformers
        from detoxify import Detoxify
    except ImportError as e:
        sys.exit(f"missing package ({e}); run: python3 -m pip install detoxify torch transformers onnx onnxruntime")

    os.makedirs(args.out, exist_ok=True)
    detox = Detoxify(args.variant, device="cpu")
    model = detox.model.eval()
    labels = list(detox.class_names)
    tokenizer = transformers.AutoTokenizer.from_pretrained(BASE_TOKENIZER[args.variant], use_fast=True)
    tokenizer.backend_tokenizer.save(os.path.join(args.out, "tokenizer.json"))

    with_types = args.variant not in NO_TOKEN_TYPES
    # Rows of different lengths: with equal lengths transformers' SDPA attention drops the all-ones
    # mask while tracing, and the exported graph would ignore attention_mask on padded batches.
    sample = tokenizer(["you are a stupid idiot", "thank you so much for your help with the server roles today"],
                       padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if with_types else [])
    inputs = tuple(sample[n] for n in names)

    class Logits(torch.nn.Module):
        """Returns the logits tensor only (HF models return a ModelOutput)."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *xs):
            return self.inner(**dict(zip(names, xs))).logits

    fp32 = os.path.join(args.out, "model-fp32.onnx" if args.quantize else "model.onnx")
    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    axes["logits"] = {0: "batch"}
    with torch.no_grad():
        torch.onnx.export(Logits(model).eval(), inputs, fp32, input_names=names, output_names=["logits"],
                          dynamic_axes=axes, opset_version=args.opset, do_constant_folding=True)
    model.eval()  # export restores the wrapper's (training) mode; the check below needs eval
    weights = fp32
    if args.quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        weights = os.path.join(args.out, "model.onnx")
        quantize_dynamic(fp32, weights, weight_type=QuantType.QInt8)
        os.remove(fp32)

    # Check the export against PyTorch before declaring success.
    sess = onnxruntime.InferenceSession(weights, providers=["CPUExecutionProvider"])
    got = sess.run(["logits"], {n: sample[n].numpy().astype(np.int64) for n in names})[0]
    with torch.no_grad():
        want = model(**{n: sample[n] for n in names}).logits.numpy()
    diff = float(np.abs(1 / (1 + np.exp(-got)) - 1 / (1 + np.exp(-want))).max())
    print(f"max probability difference ONNX vs PyTorch: {diff:.2e}{' (int8 quantized)' if args.quantize else ''}")

    digest = sha256(weights)
    toml = f"""# Detoxify "{args.variant}" exported by scripts/export-detoxify.py{' (int8 dynamic quantization)' if args.quantize else ''}.
name = "detoxify-{args.variant}{'-int8' if args.quantize else ''}"
description = "Detoxify {args.variant} (unitaryai/detoxify, Apache-2.0), ONNX opset {args.opset}"
weights = "model.onnx"
sha256 = "{digest}"
labels = {json.dumps(labels)}
max_length = {args.max_length}

[tokenizer]
kind = "huggingface"
file = "tokenizer.json"

[io]
input_ids = "input_ids"
attention_mask = "attention_mask"
{'token_type_ids = "token_type_ids"' if with_types else '# no token_type_ids: this architecture does not take them'}
id_type = "int64"
output = "logits"
output_kind = "logits"
"""
    with open(os.path.join(args.out, "model.toml"), "w") as f:
        f.write(toml)
    print(f"wrote {args.out}: model.onnx ({os.path.getsize(weights)} bytes), tokenizer.json, model.toml")
    print(f"sha256 {digest}")


if __name__ == "__main__":
    main()
