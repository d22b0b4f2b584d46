#!/usr/bin/env python3
"""Builds the random-weight BERT-base models the performance comparison needs (issue 7).

Weights cannot be downloaded where the benchmarks run, so Detoxify "original" (BERT-base uncased,
12 layers, hidden 768, 6 labels) is built from one seeded random initialisation and written in
every form the comparison uses. The compute per message is that of the real model; the scores
are meaningless.

    .bench-venv/bin/python scripts/make-bench-bert.py          # writes .bench-models/ (ignored)

Writes, under --out (default .bench-models/, about 1 GB, never committed):
  detoxify/checkpoint.ckpt + detoxify/hf/   Detoxify's own checkpoint format, for `Detoxify(checkpoint=...)`
  bert-base-fp32/   model.onnx (fp32), tokenizer.json, model.toml   -> our `huggingface` path
  bert-base-int8/   model.onnx (onnxruntime quantize_dynamic, QInt8 weights), tokenizer.json, model.toml
  quantization.json  agreement of int8 with fp32 on Davidson messages (see docs/performance.md)

The tokenizer and label config come from ../shared/models/detoxify-original-tokenizer (the real
Detoxify tokenizer). Needs the packages of scripts/requirements-bench.txt.
"""
import argparse
import csv
import hashlib
import json
import os
import shutil

import numpy as np
import onnxruntime as ort
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from transformers import BertConfig, BertForSequenceClassification

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared")
TOKENIZER_DIR = os.path.join(SHARED, "models", "detoxify-original-tokenizer")
DAVIDSON = os.path.join(SHARED, "datasets", "davidson", "labeled_data.csv")
LABELS = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
NAMES = ["input_ids", "attention_mask", "token_type_ids"]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def manifest(name, desc, digest, max_length):
    return f"""# Random-weight BERT-base (Detoxify "original" architecture) for benchmarks only: scores are meaningless.
name = "{name}"
description = "{desc}"
weights = "model.onnx"
sha256 = "{digest}"
labels = {json.dumps(LABELS)}
max_length = {max_length}

[tokenizer]
kind = "huggingface"
file = "tokenizer.json"

[io]
input_ids = "input_ids"
attention_mask = "attention_mask"
token_type_ids = "token_type_ids"
id_type = "int64"
output = "logits"
output_kind = "logits"
"""


def davidson(n):
    with open(DAVIDSON, newline="", encoding="utf-8") as f:
        return [row["tweet"] for _, row in zip(range(n), csv.DictReader(f))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, ".bench-models"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--check-messages", type=int, default=512, help="Davidson messages for the int8 agreement check")
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    config = BertConfig.from_json_file(os.path.join(TOKENIZER_DIR, "config.json"))
    model = BertForSequenceClassification(config).eval()  # Hugging Face's own random initialisation

    # Detoxify's checkpoint format (detoxify.detoxify.load_checkpoint reads these keys).
    det = os.path.join(args.out, "detoxify")
    hf = os.path.join(det, "hf")
    os.makedirs(hf, exist_ok=True)
    for f in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(TOKENIZER_DIR, f), hf)
    # Detoxify "original" uses transformers' (Python) BertTokenizer, which reads vocab.txt: the
    # same WordPiece vocabulary as tokenizer.json, one token a line in id order.
    vocab = json.load(open(os.path.join(TOKENIZER_DIR, "tokenizer.json"), encoding="utf-8"))["model"]["vocab"]
    with open(os.path.join(hf, "vocab.txt"), "w", encoding="utf-8") as f:
        f.writelines(t + "\n" for t, _ in sorted(vocab.items(), key=lambda kv: kv[1]))
    torch.save(
        {
            "config": {
                # model_type is where Detoxify loads the config from: the local copy, not the hub.
                "arch": {"args": {"model_type": os.path.abspath(hf), "model_name": "BertForSequenceClassification",
                                  "tokenizer_name": "BertTokenizer", "num_classes": 6}},
                "dataset": {"args": {"classes": LABELS}},
            },
            "state_dict": model.state_dict(),
        },
        os.path.join(det, "checkpoint.ckpt"),
    )

    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(os.path.join(TOKENIZER_DIR, "tokenizer.json"))
    tok.enable_truncation(args.max_length)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")

    def encode(texts):
        encs = tok.encode_batch(texts)
        return {
            "input_ids": np.array([e.ids for e in encs], np.int64),
            "attention_mask": np.array([e.attention_mask for e in encs], np.int64),
            "token_type_ids": np.array([e.type_ids for e in encs], np.int64),
        }

    class Logits(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).logits

    fp32_dir = os.path.join(args.out, "bert-base-fp32")
    int8_dir = os.path.join(args.out, "bert-base-int8")
    for d in (fp32_dir, int8_dir):
        os.makedirs(d, exist_ok=True)
        shutil.copy(os.path.join(TOKENIZER_DIR, "tokenizer.json"), d)
    fp32 = os.path.join(fp32_dir, "model.onnx")
    # Rows of different lengths, so the traced graph takes the padded-attention-mask path (with
    # equal lengths transformers' SDPA attention drops the all-ones mask and the export ignores it).
    sample = encode(["you are a stupid idiot", "thank you so much for your help with the server roles today"])
    axes = {n: {0: "batch", 1: "sequence"} for n in NAMES}
    axes["logits"] = {0: "batch"}
    with torch.no_grad():
        torch.onnx.export(Logits(model).eval(), tuple(torch.from_numpy(sample[n]) for n in NAMES), fp32,
                          input_names=NAMES, output_names=["logits"], dynamic_axes=axes,
                          opset_version=17, do_constant_folding=True)
    model.eval()  # (export restores the wrapper's mode; keep the check deterministic)
    int8 = os.path.join(int8_dir, "model.onnx")
    quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8)
    for d, name, desc in (
        (fp32_dir, "bench-bert-base-fp32", "random BERT-base, fp32 ONNX (scripts/make-bench-bert.py)"),
        (int8_dir, "bench-bert-base-int8", "random BERT-base, int8 dynamic quantization (scripts/make-bench-bert.py)"),
    ):
        with open(os.path.join(d, "model.toml"), "w") as f:
            f.write(manifest(name, desc, sha256(os.path.join(d, "model.onnx")), args.max_length))

    # Export check and int8 agreement on the same Davidson messages, 32 at a time.
    texts = davidson(args.check_messages)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    s32 = ort.InferenceSession(fp32, opts, providers=["CPUExecutionProvider"])
    s8 = ort.InferenceSession(int8, opts, providers=["CPUExecutionProvider"])
    torch_l, l32, l8 = [], [], []
    for i in range(0, len(texts), 32):
        feed = encode(texts[i : i + 32])
        l32.append(s32.run(["logits"], feed)[0])
        l8.append(s8.run(["logits"], feed)[0])
        if i < 64:
            with torch.no_grad():
                torch_l.append(model(**{n: torch.from_numpy(feed[n]) for n in NAMES}).logits.numpy())
    l32, l8 = np.concatenate(l32), np.concatenate(l8)
    sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    p32, p8 = sig(l32), sig(l8)
    torch_diff = float(np.abs(sig(np.concatenate(torch_l)) - p32[: sum(len(t) for t in torch_l)]).max())
    report = {
        "messages": len(texts),
        "onnx_fp32_vs_torch_max_prob_diff": torch_diff,
        "int8_vs_fp32_max_abs_prob_diff": float(np.abs(p8 - p32).max()),
        "int8_vs_fp32_mean_abs_prob_diff": float(np.abs(p8 - p32).mean()),
        "int8_vs_fp32_logit_pearson": float(np.corrcoef(l8.ravel(), l32.ravel())[0, 1]),
        "int8_vs_fp32_top_label_agreement": float((p8.argmax(1) == p32.argmax(1)).mean()),
        "fp32_prob_spread": [float(p32.min()), float(p32.max())],
        "fp32_bytes": os.path.getsize(fp32),
        "int8_bytes": os.path.getsize(int8),
    }
    with open(os.path.join(args.out, "quantization.json"), "w") as f:
        json.dump(report, f, indent=2)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
