#!/usr/bin/env python3
"""Prints the comparison table of docs/performance.md (Markdown, ratios first) from the Python
baselines (JSON written by scripts/bench-python.py) and criterion's estimates of
`cargo bench --bench classifier` and `--bench pipeline`. Standard library only.

    python3 scripts/bench-table.py --python target/bench-python.json --criterion target/criterion

With several rounds (scripts/bench-compare.sh --rounds N: Python and Rust measured alternately),
give one --python and one --criterion per round, in the same order: each ratio is then the median
of the per-round ratios, with their range, and the rates are medians.
"""
import argparse
import json
import os
import statistics


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
    ap.add_argument("--python", required=True, nargs="+", help="bench-python.py JSON, one per round")
    ap.add_argument("--criterion", required=True, nargs="+", help="criterion directory, one per round")
    ap.add_argument("--pipeline", help="criterion directory holding per_message_path (default: the last --criterion)")
    args = ap.parse_args()
    if len(args.python) != len(args.criterion):
        ap.error(f"{len(args.python)} --python files but {len(args.criterion)} --criterion directories: give one of each per round")
    rounds = [
        (json.load(open(py)) if os.path.exists(py) else {}, c) for py, c in zip(args.python, args.criterion)
    ]

    def p(key):
        return lambda py, c: (py.get(key) or {}).get("messages_per_s")

    def ours(key, b):
        return lambda py, c: crit(c, key, b)

    rows = []

    def row(what, ours_fn, ours_name, base_fn, base_name, target=""):
        pairs = [(ours_fn(py, c), base_fn(py, c)) for py, c in rounds]
        pairs = [(o, b) for o, b in pairs if o and b]
        fmt = lambda v: f"{v:,.1f}" if v else "–"  # noqa: E731
        if not pairs:
            rows.append(f"| {what} | – | – ({ours_name}) | – ({base_name}) | {target} |")
            return
        ratios = [o / b for o, b in pairs]
        ratio = f"**{statistics.median(ratios):.2f}×**"
        if len(ratios) > 1:
            ratio += f" ({min(ratios):.2f}–{max(ratios):.2f}, {len(ratios)} rounds)"
        o = statistics.median(o for o, _ in pairs)
        b = statistics.median(b for _, b in pairs)
        rows.append(f"| {what} | {ratio} | {fmt(o)} ({ours_name}) | {fmt(b)} ({base_name}) | {target} |")

    for b in (1, 32):
        mine = ours(f"bundled/classify/{b}", b)
        row(f"bundled model, batch {b}: ours vs tox-block Keras `make_predictions`", mine, f"bundled/classify/{b}", p(f"keras/{b}"), f"keras/{b}", "≥ 10×")
        row(f"bundled model, batch {b}: ours vs Keras `model.predict` on pre-tokenised ids", mine, f"bundled/classify/{b}", p(f"keras_model/{b}"), f"keras_model/{b}", "")
        row(f"bundled model, batch {b}: ours vs Python onnxruntime + Python tokenising", mine, f"bundled/classify/{b}", p(f"ort_bundled/{b}"), f"ort_bundled/{b}", "≥ 1×")
    for b in (1, 32):
        fp32, int8 = ours(f"bert-base-fp32/classify/{b}", b), ours(f"bert-base-int8/classify/{b}", b)
        row(f"BERT-base fp32, batch {b}: ours vs Detoxify (torch)", fp32, f"bert-base-fp32/classify/{b}", p(f"detoxify/{b}"), f"detoxify/{b}", "≥ 2×")
        row(f"BERT-base int8, batch {b}: ours vs Detoxify (torch fp32)", int8, f"bert-base-int8/classify/{b}", p(f"detoxify/{b}"), f"detoxify/{b}", "> fp32 ratio")
        row(f"BERT-base fp32, batch {b}: ours vs Python onnxruntime (fp32)", fp32, f"bert-base-fp32/classify/{b}", p(f"ort_bert_fp32/{b}"), f"ort_bert_fp32/{b}", "")
        row(f"BERT-base int8, batch {b}: ours vs Python onnxruntime (int8)", int8, f"bert-base-int8/classify/{b}", p(f"ort_bert_int8/{b}"), f"ort_bert_int8/{b}", "")
    c = args.pipeline or args.criterion[-1]
    full = crit(c, "per_message_path/full/32", 32)
    raw = crit(c, "per_message_path/raw_ort/32", 32)
    over = f"**{(raw / full - 1) * 100:+.1f} %**" if full and raw else "–"
    print("| comparison (messages/s; same messages, one thread each) | ratio | ours | baseline | target |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"| full per-message path vs raw ONNX Runtime, bundled, batches of 32 | {over} time | {full and f'{full:,.1f}'} (per_message_path/full/32) | {raw and f'{raw:,.1f}'} (per_message_path/raw_ort/32) | ≤ +15 % |")


if __name__ == "__main__":
    main()
