#!/usr/bin/env python3
"""Writes a large JSON-lines chat export built from the Davidson et al. (2017) tweets (MIT), for
load-testing `usmca-bot scan`. Tweets are reused round-robin, 200 synthetic authors in 5 channels,
one message every 0.5-3 s. Deterministic.

Usage: scripts/make-large-export.py PATH/TO/labeled_data.csv N > export.jsonl
"""
import csv
import datetime as dt
import json
import random
import sys


def main() -> None:
    path, n = sys.argv[1], int(sys.argv[2])
    with open(path, newline="", encoding="utf-8") as f:
        tweets = [row["tweet"] for row in csv.DictReader(f)]
    rng = random.Random(7)
    t = dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc)
    out = sys.stdout
    for i in range(n):
        t += dt.timedelta(milliseconds=rng.randint(500, 3000))
        out.write(json.dumps({
            "id": str(1180000000001000000 + i),
            "author_id": str(1100000000000000000 + rng.randrange(200)),
            "channel_id": str(1180000000000000100 + rng.randrange(5)),
            "guild_id": "1180000000000000001",
            "timestamp": t.isoformat(timespec="milliseconds"),
            "content": tweets[i % len(tweets)],
        }, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
