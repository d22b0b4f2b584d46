#!/usr/bin/env python3
"""Builds the tiny random-weight BERT test model and its onnxruntime reference outputs.

The graph has the architecture of Hugging Face's BertForSequenceClassification (word + position +
token-type embeddings, post-LayerNorm encoder layers with masked multi-head self-attention and an
erf-GELU feed-forward block, tanh pooler on [CLS], linear head with 6 labels), vocabulary 30522 so
it pairs with the real Detoxify tokenizer, and a hidden size small enough that the file stays tiny.
It is built directly with the `onnx` package (no torch needed). The weights are random (seeded):
the model is useful only to check that the Rust pipeline feeds a transformer exactly like Python.

    python3 -m pip install onnx onnxruntime==1.31.1 tokenizers numpy
    python3 scripts/make-test-bert.py            # writes tests/fixtures/tiny-bert/

Outputs: model.onnx, model.toml, reference.jsonl (text, input_ids, logits, probs), computed by
Python onnxruntime one text at a time (no padding), so the Rust side's padded batches also test
that the attention mask is fed correctly.
"""
import hashlib
import json
import math
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "tiny-bert")
TOKENIZER = os.path.join(ROOT, "tests", "fixtures", "detoxify-tokenizer", "tokenizer.json")
VOCAB, HIDDEN, HEADS, LAYERS, FFN, MAX_POS, LABELS_N, MAX_LEN = 30522, 32, 2, 2, 64, 128, 6, 64
LABELS = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]

TEXTS = [
    "", "   ", "hello", "You are a stupid idiot!", "thank you for your help, have a nice day",
    "i will kill you", "what a lovely picture of your dog", "HELLO THERE FRIEND",
    "émoji 😀 and ünïcödé text", "Ｆｕｌｌｗｉｄｔｈ letters", "ZeRo\u200bWidth", "naïve café résumé",
    "日本語のテキスト and some english", "tabs\tand\nnewlines\r\nmixed", "<@123456789> check https://example.com/x?y=1",
    "!!!???...", "a", "don't won't can't shouldn't", "#hashtag @mention $money 100%",
    "unbelievably antidisestablishmentarianism", "f.u.c.k you", "i d i o t",
    "The quick brown fox jumps over the lazy dog. " * 3,
    "word " * 80,  # longer than max_length: exercises truncation
    "this is a much longer sentence that goes on and on, " * 6,
    "Привет, как дела?", "مرحبا بالعالم", "🔥🔥🔥", "x" * 300, "UPPER lower MiXeD",
    "@user you are trash lol", "go back to where you came from", "I love this community so much",
    "stop spamming the channel please", "nobody likes you, leave", "12345 67890",
    "a\u00adb soft hyphen", "ends with space ", " starts with space", "emoji👍inside",
]


def lin(rng, name, fan_in, fan_out, inits, std=0.2):
    inits.append(numpy_helper.from_array((rng.standard_normal((fan_in, fan_out)) * std).astype(np.float32), name + ".w"))
    inits.append(numpy_helper.from_array((rng.standard_normal(fan_out) * 0.05).astype(np.float32), name + ".b"))
    return name + ".w", name + ".b"


def layer_norm(nodes, inits, x, name):
    inits.append(numpy_helper.from_array(np.ones(HIDDEN, np.float32), name + ".g"))
    inits.append(numpy_helper.from_array(np.zeros(HIDDEN, np.float32), name + ".beta"))
    nodes.append(helper.make_node("LayerNormalization", [x, name + ".g", name + ".beta"], [name + ".out"], axis=-1, epsilon=1e-12))
    return name + ".out"


def dense(nodes, x, w, b, out):
    nodes.append(helper.make_node("MatMul", [x, w], [out + ".mm"]))
    nodes.append(helper.make_node("Add", [out + ".mm", b], [out]))
    return out


def build():
    rng = np.random.default_rng(20240601)
    nodes, inits = [], []
    c = lambda name, arr: inits.append(numpy_helper.from_array(np.asarray(arr), name)) or name  # noqa: E731
    inits.append(numpy_helper.from_array((rng.standard_normal((VOCAB, HIDDEN)) * 0.5).astype(np.float32), "emb.word"))
    inits.append(numpy_helper.from_array((rng.standard_normal((MAX_POS, HIDDEN)) * 0.1).astype(np.float32), "emb.pos"))
    inits.append(numpy_helper.from_array((rng.standard_normal((2, HIDDEN)) * 0.1).astype(np.float32), "emb.type"))
    c("i0", np.array([0], np.int64)); c("i1", np.array([1], np.int64)); c("i2", np.array([2], np.int64))
    c("one", np.array(1.0, np.float32)); c("neg", np.array(-10000.0, np.float32))
    c("scale", np.array(1.0 / math.sqrt(HIDDEN // HEADS), np.float32))
    c("half", np.array(0.5, np.float32)); c("rsqrt2", np.array(1.0 / math.sqrt(2.0), np.float32))
    c("split_heads", np.array([0, 0, HEADS, HIDDEN // HEADS], np.int64)); c("merge_heads", np.array([0, 0, HIDDEN], np.int64))

    # Embeddings: word + position[0:S] + token type, then LayerNorm.
    nodes += [
        helper.make_node("Gather", ["emb.word", "input_ids"], ["we"]),
        helper.make_node("Gather", ["emb.type", "token_type_ids"], ["te"]),
        helper.make_node("Shape", ["input_ids"], ["shape"]),
        helper.make_node("Slice", ["shape", "i1", "i2"], ["seq_len"]),
        helper.make_node("Slice", ["emb.pos", "i0", "seq_len", "i0"], ["pe"]),
        helper.make_node("Add", ["we", "te"], ["wte"]),
        helper.make_node("Add", ["wte", "pe"], ["emb"]),
    ]
    x = layer_norm(nodes, inits, "emb", "emb.ln")
    # Additive mask [B,1,1,S]: 0 for tokens, -10000 for padding.
    nodes += [
        helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("Sub", ["one", "mask_f"], ["inv_mask"]),
        helper.make_node("Mul", ["inv_mask", "neg"], ["add_mask2"]),
        helper.make_node("Unsqueeze", ["add_mask2", "i1"], ["add_mask3"]),
        helper.make_node("Unsqueeze", ["add_mask3", "i1"], ["add_mask"]),
    ]
    for l in range(LAYERS):
        p = f"l{l}"
        q = dense(nodes, x, *lin(rng, p + ".q", HIDDEN, HIDDEN, inits), p + ".qo")
        k = dense(nodes, x, *lin(rng, p + ".k", HIDDEN, HIDDEN, inits), p + ".ko")
        v = dense(nodes, x, *lin(rng, p + ".v", HIDDEN, HIDDEN, inits), p + ".vo")
        nodes += [
            helper.make_node("Reshape", [q, "split_heads"], [p + ".qh"]),
            helper.make_node("Transpose", [p + ".qh"], [p + ".qt"], perm=[0, 2, 1, 3]),
            helper.make_node("Reshape", [k, "split_heads"], [p + ".kh"]),
            helper.make_node("Transpose", [p + ".kh"], [p + ".kt"], perm=[0, 2, 3, 1]),
            helper.make_node("Reshape", [v, "split_heads"], [p + ".vh"]),
            helper.make_node("Transpose", [p + ".vh"], [p + ".vt"], perm=[0, 2, 1, 3]),
            helper.make_node("MatMul", [p + ".qt", p + ".kt"], [p + ".att_raw"]),
            helper.make_node("Mul", [p + ".att_raw", "scale"], [p + ".att_scaled"]),
            helper.make_node("Add", [p + ".att_scaled", "add_mask"], [p + ".att_masked"]),
            helper.make_node("Softmax", [p + ".att_masked"], [p + ".att"], axis=-1),
            helper.make_node("MatMul", [p + ".att", p + ".vt"], [p + ".ctx"]),
            helper.make_node("Transpose", [p + ".ctx"], [p + ".ctx_t"], perm=[0, 2, 1, 3]),
            helper.make_node("Reshape", [p + ".ctx_t", "merge_heads"], [p + ".ctx_m"]),
        ]
        o = dense(nodes, p + ".ctx_m", *lin(rng, p + ".o", HIDDEN, HIDDEN, inits), p + ".oo")
        nodes.append(helper.make_node("Add", [o, x], [p + ".res1"]))
        x1 = layer_norm(nodes, inits, p + ".res1", p + ".ln1")
        h = dense(nodes, x1, *lin(rng, p + ".ffn1", HIDDEN, FFN, inits), p + ".h")
        nodes += [  # exact GELU: 0.5 * h * (1 + erf(h / sqrt(2)))
            helper.make_node("Mul", [h, "rsqrt2"], [p + ".hs"]),
            helper.make_node("Erf", [p + ".hs"], [p + ".erf"]),
            helper.make_node("Add", [p + ".erf", "one"], [p + ".erf1"]),
            helper.make_node("Mul", [h, p + ".erf1"], [p + ".g0"]),
            helper.make_node("Mul", [p + ".g0", "half"], [p + ".gelu"]),
        ]
        f = dense(nodes, p + ".gelu", *lin(rng, p + ".ffn2", FFN, HIDDEN, inits), p + ".f")
        nodes.append(helper.make_node("Add", [f, x1], [p + ".res2"]))
        x = layer_norm(nodes, inits, p + ".res2", p + ".ln2")
    # Pooler on [CLS] and the classification head.
    nodes.append(helper.make_node("Gather", [x, "i0"], ["cls3"], axis=1))
    nodes.append(helper.make_node("Squeeze", ["cls3", "i1"], ["cls"]))
    pooled = dense(nodes, "cls", *lin(rng, "pooler", HIDDEN, HIDDEN, inits), "pooled_lin")
    nodes.append(helper.make_node("Tanh", [pooled], ["pooled"]))
    dense(nodes, "pooled", *lin(rng, "classifier", HIDDEN, LABELS_N, inits, std=0.3), "logits")

    ids = lambda n: helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"])  # noqa: E731
    graph = helper.make_graph(
        nodes, "tiny-bert", [ids("input_ids"), ids("attention_mask"), ids("token_type_ids")],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", LABELS_N])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="usmca-bot make-test-bert.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "model.onnx")
    onnx.save(build(), path)
    sha = hashlib.sha256(open(path, "rb").read()).hexdigest()
    with open(os.path.join(OUT, "model.toml"), "w") as f:
        f.write(f"""# Tiny random-weight BertForSequenceClassification for tests (scripts/make-test-bert.py). Not a real model.
name = "tiny-bert-test"
description = "random weights, BERT architecture, hidden {HIDDEN}, {LAYERS} layers; pairs with the Detoxify tokenizer"
weights = "model.onnx"
sha256 = "{sha}"
labels = {json.dumps(LABELS)}
max_length = {MAX_LEN}

[tokenizer]
kind = "huggingface"
file = "../detoxify-tokenizer/tokenizer.json"

[io]
input_ids = "input_ids"
attention_mask = "attention_mask"
token_type_ids = "token_type_ids"
id_type = "int64"
output = "logits"
output_kind = "logits"
""")
    tok = Tokenizer.from_file(TOKENIZER)
    tok.enable_truncation(MAX_LEN)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    rows = []
    for text in TEXTS:
        enc = tok.encode(text)
        feed = {n: np.array([v], np.int64) for n, v in
                (("input_ids", enc.ids), ("attention_mask", enc.attention_mask), ("token_type_ids", enc.type_ids))}
        logits = sess.run(["logits"], feed)[0][0].astype(np.float64)
        probs = 1.0 / (1.0 + np.exp(-logits))
        rows.append({"text": text, "input_ids": enc.ids, "logits": logits.tolist(),
                     "probs": dict(zip(LABELS, probs.tolist()))})
    # Sanity: a padded batch gives the same outputs (the mask works in the graph itself).
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    batch = tok.encode_batch(TEXTS)
    feed = {"input_ids": np.array([e.ids for e in batch], np.int64),
            "attention_mask": np.array([e.attention_mask for e in batch], np.int64),
            "token_type_ids": np.array([e.type_ids for e in batch], np.int64)}
    batched = sess.run(["logits"], feed)[0]
    worst = max(abs(batched[i] - np.array(r["logits"])).max() for i, r in enumerate(rows))
    assert worst < 1e-4, f"padded batch differs from single runs by {worst}"
    with open(os.path.join(OUT, "reference.jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    spread = np.array([list(r["probs"].values()) for r in rows])
    print(f"wrote {path} ({os.path.getsize(path)} bytes, sha256 {sha}), {len(rows)} reference rows; "
          f"batch-vs-single max diff {worst:.2e}; prob range {spread.min():.3f}..{spread.max():.3f}")


if __name__ == "__main__":
    main()
