#!/usr/bin/env python3
"""Python baselines for docs/performance.md (issue 7), on the same Davidson messages as the Rust
benches (`benches/classifier.rs`), one thread each, in one run.

    python3 -m venv .bench-venv && .bench-venv/bin/pip install -r scripts/requirements-bench.txt
    .bench-venv/bin/python scripts/make-bench-bert.py            # random BERT-base, once
    .bench-venv/bin/python scripts/bench-python.py --out target/bench-python.json

Baselines (messages/s at batch 1 and at batch 32):
  keras        the bundled model in its original form: tox-block 0.1.2 `make_predictions` (Keras
               predict on TensorFlow 2.15, its own tokenisation), rescale off
  keras_model  the same Keras model's `predict` on pre-tokenised input (no pandas/tokeniser)
  ort_bundled  the bundled model.onnx in Python onnxruntime, tokenised in Python as the model
               README specifies
  detoxify     Detoxify's own pipeline (`Detoxify.predict`, torch CPU) on the random BERT-base
  ort_bert_fp32 / ort_bert_int8   the same BERT-base ONNX files in Python onnxruntime with the
               Python `tokenizers` package
Batch 1 runs the first --single messages one at a time; batch 32 runs the first --batched in
chunks of 32 (BERT-base: --bert-single / --bert-batched, matching the Rust bench's sets).
"""
import argparse
import csv
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared")
DAVIDSON = os.path.join(SHARED, "datasets", "davidson", "labeled_data.csv")
BUNDLED = os.path.join(ROOT, "models", "toxblock-lstm")


def messages(n):
    with open(DAVIDSON, newline="", encoding="utf-8") as f:
        return [row["tweet"] for _, row in zip(range(n), csv.DictReader(f))]


def rate(fn, batches, min_seconds):
    """Messages/s of fn over the batches, repeated until min_seconds have passed (after one warm-up call)."""
    fn(batches[0])
    done, start = 0, time.perf_counter()
    while True:
        for b in batches:
            fn(b)
            done += len(b)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return done / elapsed, done


def measure(name, fn, texts_single, texts_batched, min_seconds, results):
    for batch, texts in ((1, texts_single), (32, texts_batched)):
        batches = [texts[i : i + batch] for i in range(0, len(texts), batch)]
        per_s, n = rate(fn, batches, min_seconds)
        results[f"{name}/{batch}"] = {"messages_per_s": per_s, "messages": n}
        print(f"{name:14} batch {batch:2}: {per_s:9.1f} messages/s  ({1000 / per_s:8.3f} ms/message, {n} messages)", flush=True)


def keras_tokenizer(vocab_path):
    vocab = json.load(open(vocab_path, encoding="utf-8"))
    filters = set(vocab.get("filters", "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n"))
    index = vocab["word_index"]
    limit = vocab.get("num_words") or 1 << 62
    table = {ord(c): " " for c in filters}

    def encode(text):
        words = text.lower().translate(table).split(" ")
        ids = [i for i in (index.get(w) for w in words if w) if i is not None and 0 < i < limit]
        return ids[-100:]

    return encode


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="write the results as JSON here")
    ap.add_argument("--single", type=int, default=256)
    ap.add_argument("--batched", type=int, default=1024)
    ap.add_argument("--bert-single", type=int, default=64)
    ap.add_argument("--bert-batched", type=int, default=128)
    ap.add_argument("--min-seconds", type=float, default=5.0)
    ap.add_argument("--models", default=os.path.join(ROOT, ".bench-models"))
    ap.add_argument("--only", default="keras,keras_model,ort_bundled,detoxify,ort_bert_fp32,ort_bert_int8")
    args = ap.parse_args()
    only = set(args.only.split(","))
    # One thread everywhere, like the Rust benches (model.intra_threads = 1).
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ[var] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import onnxruntime as ort

    results = {"threads": 1}
    texts = messages(max(args.single, args.batched))
    single, batched = texts[: args.single], texts[: args.batched]

    def ort_session(path):
        o = ort.SessionOptions()
        o.intra_op_num_threads = 1
        o.inter_op_num_threads = 1
        return ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])

    if "keras" in only or "keras_model" in only:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        import logging

        logging.getLogger("tox_block").setLevel(logging.WARNING)
        from tox_block import prediction

        if "keras" in only:
            measure("keras", lambda b: prediction.make_predictions(b, rescale=False), single, batched, args.min_seconds, results)
        if "keras_model" in only:
            encode = keras_tokenizer(os.path.join(BUNDLED, "vocab.json"))

            def pad(b):
                x = np.zeros((len(b), 100), np.int32)
                for r, t in enumerate(b):
                    ids = encode(t)
                    if ids:
                        x[r, 100 - len(ids) :] = ids
                return x

            model = prediction._model
            measure("keras_model", lambda b: model.predict(pad(b), verbose=0), single, batched, args.min_seconds, results)

    if "ort_bundled" in only:
        encode = keras_tokenizer(os.path.join(BUNDLED, "vocab.json"))
        sess = ort_session(os.path.join(BUNDLED, "model.onnx"))

        def run(b):
            x = np.zeros((len(b), 100), np.int32)
            for r, t in enumerate(b):
                ids = encode(t)
                if ids:
                    x[r, 100 - len(ids) :] = ids
            return sess.run(["probs"], {"input_ids": x})[0]

        measure("ort_bundled", run, single, batched, args.min_seconds, results)

    bert_single, bert_batched = texts[: args.bert_single], texts[: args.bert_batched]
    if "detoxify" in only:
        ckpt = os.path.join(args.models, "detoxify", "checkpoint.ckpt")
        if not os.path.exists(ckpt):
            print(f"skipping detoxify: {ckpt} missing (run scripts/make-bench-bert.py)", file=sys.stderr)
        else:
            import torch
            from detoxify import Detoxify

            torch.set_num_threads(1)
            torch.set_num_interop_threads(1)
            det = Detoxify("original", checkpoint=ckpt, device="cpu", huggingface_config_path=os.path.join(args.models, "detoxify", "hf"))
            measure("detoxify", det.predict, bert_single, bert_batched, args.min_seconds, results)

    for variant in ("fp32", "int8"):
        name = f"ort_bert_{variant}"
        d = os.path.join(args.models, f"bert-base-{variant}")
        if name not in only:
            continue
        if not os.path.exists(os.path.join(d, "model.onnx")):
            print(f"skipping {name}: {d} missing (run scripts/make-bench-bert.py)", file=sys.stderr)
            continue
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
        tok.enable_truncation(256)
        tok.enable_padding(pad_id=0, pad_token="[PAD]")
        sess = ort_session(os.path.join(d, "model.onnx"))

        def run(b, tok=tok, sess=sess):
            encs = tok.encode_batch(b)
            feed = {
                "input_ids": np.array([e.ids for e in encs], np.int64),
                "attention_mask": np.array([e.attention_mask for e in encs], np.int64),
                "token_type_ids": np.array([e.type_ids for e in encs], np.int64),
            }
            return 1 / (1 + np.exp(-sess.run(["logits"], feed)[0]))

        measure(name, run, bert_single, bert_batched, args.min_seconds, results)

    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
