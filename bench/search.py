#!/usr/bin/env python3
"""Search on 100,000 posts: latency of /search/?q= for one- and two-word queries, single client.

Usage (the project's venv python; bench/run.sh runs it on PostgreSQL):
  .venv/bin/python bench/search.py TARGET.json [-n 200] [--out bench/last-search.md]

TARGET is the file ``manage.py seed_bench --copies 5`` wrote (the harness
dataset loaded five times: 10,000 threads, 100,000 posts). One anonymous
``django.test.Client`` in this process, page cache off, search rate limit
raised out of the way (its Redis check still runs): each query is fetched a
few times to warm up, then N times, timed end to end (view, SQL, template).
The words come from the dataset's vocabulary, so every one-word query matches
about a quarter of the posts: the worst case for ranking. Target: p95 ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from urllib.parse import urlencode

import djangoenv

QUERIES = [
    {"q": "practice"},
    {"q": "handover"},
    {"q": "cohort"},
    {"q": "peer feedback"},
    {"q": "circuit design"},
    {"q": "honest lesson"},
    {"q": "practice", "kind": "replies"},
    {"q": "peer feedback", "kind": "threads"},
]
WARMUP = 3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("target")
    ap.add_argument("-n", type=int, default=200, help="Timed requests per query (default %(default)s).")
    ap.add_argument("--out", help="Also write the Markdown here.")
    args = ap.parse_args()

    target = djangoenv.setup(
        args.target, extra_env={"SEARCH_RATE_LIMIT": "1000000/60", "SEARCH_IP_RATE_LIMIT": "1000000/60"}
    )
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from discussions.models import Post, Thread

    seed = target.get("seed", {})
    lines = [
        f"# Search: {Post.objects.count():,} posts, {Thread.objects.count():,} threads ({connection.vendor})",
        "",
        f"Seeded in {seed.get('seed_s', '?')} s ({', '.join(f'{k} {v}' for k, v in seed.get('phases', {}).items())}). "
        f"Single anonymous client in process, page cache off, {args.n} timed requests per query after {WARMUP} "
        "warm-up requests; ms = whole request (view, SQL, template).",
        "",
        "| query | results shown | queries | p50 ms | p95 ms | max ms |",
        "|---|---|---|---|---|---|",
    ]
    client = Client(HTTP_HOST="127.0.0.1")
    worst_p95 = 0.0
    for params in QUERIES:
        url = "/search/?" + urlencode(params)
        for _ in range(WARMUP):
            client.get(url)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        queries = len(ctx.captured_queries)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        shown = response.content.decode().count('class="search-hit"')
        times = []
        for _ in range(args.n):
            t = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        p95 = times[int(len(times) * 0.95) - 1]
        worst_p95 = max(worst_p95, p95)
        label = params["q"] + (f" (kind={params['kind']})" if "kind" in params else "")
        lines.append(
            f"| `{label}` | {shown} | {queries} | {statistics.median(times):.1f} | {p95:.1f} | {times[-1]:.1f} |"
        )
    lines += ["", f"Worst p95: {worst_p95:.1f} ms (target ≤ 50 ms)."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
