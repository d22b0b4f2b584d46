#!/usr/bin/env python3
"""Prints the comparison table of docs/performance.md (Markdown, ratios first) from the Python
baselines (JSON written by scripts/bench-python.py) and criterion's estimates of
`cargo bench --bench classifier` and `--bench pipeline`. Standard library only.

    python3 scripts/bench-table.py --python target/bench-python.json --criterion target/criterion
"""
import argparse
import json
import os


def crit(root, path, batch):
    """Messages/s from criterion's mean time per iteration; an iteration processes the messages its
    declared throughput names (a whole pass over the set), or `batch` when it declares none."""
    d = os.path.join(root, *path.split("/"), "new")
    f = os.path.join(d, "estimates.json")
    if not os.path.exists(f):
        return None
    ns = json.load(open(f))["mean"]["point_estimate"]
    meta = os.path.join(d, "benchmark.json")
    if os.path.exists(meta):
        batch = (json.load(open(meta)).get("throughput") or {}).get("Elements", batch)
    return batch * 1e9 / ns


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", required=True)
    ap.add_argument("--criterion", required=True)
    args = ap.parse_args()
    py = json.load(open(args.python)) if os.path.exists(args.python) else {}
    c = args.criterion

    def p(key):
        return (py.get(key) or {}).get("messages_per_s")

    rows = []

    def row(what, ours, ours_name, base, base_name, target=""):
        ratio = f"**{ours / base:.2f}×**" if ours and base else "–"
        fmt = lambda v: f"{v:,.1f}" if v else "–"  # noqa: E731
        rows.append(f"| {what} | {ratio} | {fmt(ours)} ({ours_name}) | {fmt(base)} ({base_name}) | {target} |")

    for b in (1, 32):
        ours = crit(c, f"bundled/classify/{b}", b)
        row(f"bundled model, batch {b}: ours vs tox-block Keras `make_predictions`", ours, f"bundled/classify/{b}", p(f"keras/{b}"), f"keras/{b}", "≥ 10×")
        row(f"bundled model, batch {b}: ours vs Keras `model.predict` on pre-tokenised ids", ours, f"bundled/classify/{b}", p(f"keras_model/{b}"), f"keras_model/{b}", "")
        row(f"bundled model, batch {b}: ours vs Python onnxruntime + Python tokenising", ours, f"bundled/classify/{b}", p(f"ort_bundled/{b}"), f"ort_bundled/{b}", "≥ 1×")
    for b in (1, 32):
        row(f"BERT-base fp32, batch {b}: ours vs Detoxify (torch)", crit(c, f"bert-base-fp32/classify/{b}", b), f"bert-base-fp32/classify/{b}", p(f"detoxify/{b}"), f"detoxify/{b}", "≥ 2×")
        row(f"BERT-base int8, batch {b}: ours vs Detoxify (torch fp32)", crit(c, f"bert-base-int8/classify/{b}", b), f"bert-base-int8/classify/{b}", p(f"detoxify/{b}"), f"detoxify/{b}", "> fp32 ratio")
        row(f"BERT-base fp32, batch {b}: ours vs Python onnxruntime (fp32)", crit(c, f"bert-base-fp32/classify/{b}", b), f"bert-base-fp32/classify/{b}", p(f"ort_bert_fp32/{b}"), f"ort_bert_fp32/{b}", "")
        row(f"BERT-base int8, batch {b}: ours vs Python onnxruntime (int8)", crit(c, f"bert-base-int8/classify/{b}", b), f"bert-base-int8/classify/{b}", p(f"ort_bert_int8/{b}"), f"ort_bert_int8/{b}", "")
    full = crit(c, "per_message_path/full/32", 32)
    raw = crit(c, "per_message_path/raw_ort/32", 32)
    over = f"**{(raw / full - 1) * 100:+.1f} %**" if full and raw else "–"
    print("| comparison (messages/s; same messages, one thread each) | ratio | ours | baseline | target |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"| full per-message path vs raw ONNX Runtime, bundled, batches of 32 | {over} time | {full and f'{full:,.1f}'} (per_message_path/full/32) | {raw and f'{raw:,.1f}'} (per_message_path/raw_ort/32) | ≤ +15 % |")


if __name__ == "__main__":
    main()
