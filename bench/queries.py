#!/usr/bin/env python3
"""Every SQL query of each benchmarked page, for finding what to optimise.

Usage (the project's venv python, from anywhere):
  .venv/bin/python bench/queries.py TARGET.json [--keep-page-cache] [--out FILE]

Takes the pages and the environment from the target file written by
``manage.py seed_bench``. By default the whole-page cache is switched off
(PAGE_CACHE_SECONDS=0) so the queries are those of rendering the page; the
harness's own lib/querycount.py measures what the server really serves
(cache included). Like querycount.py: anonymous, cookie-less
django.test.Client, each page fetched 3 times, the last (warm) request's
queries listed. Prints Markdown. Read-only apart from what the pages write.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import sys
import time
from pathlib import Path

REPEAT = 3
TABLE_RE = re.compile(r'\b(?:FROM|UPDATE|INTO)\s+"?([A-Za-z0-9_]+)"?', re.I)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("target")
    ap.add_argument("--keep-page-cache", action="store_true", help="Leave PAGE_CACHE_SECONDS as the target sets it.")
    ap.add_argument("--out", help="Also write the Markdown here.")
    ap.add_argument("--width", type=int, default=400, help="Characters of each SQL statement shown.")
    args = ap.parse_args()

    target = json.loads(Path(args.target).read_text())
    os.environ.update(target.get("env") or {})
    if not args.keep_page_cache:
        os.environ["PAGE_CACHE_SECONDS"] = "0"
    cwd = target.get("cwd") or str(Path(__file__).resolve().parent.parent)
    os.chdir(cwd)
    sys.path.insert(0, cwd)

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    lines = [
        f"# SQL per page: {target['name']}",
        "",
        f"PAGE_CACHE_SECONDS={getattr(settings, 'PAGE_CACHE_SECONDS', 'n/a')}, "
        f"POSTS_PER_PAGE={settings.POSTS_PER_PAGE}, THREADS_PER_PAGE={settings.THREADS_PER_PAGE}; "
        "anonymous cookie-less client (one handler, cookies cleared before each request), "
        f"request {REPEAT} of {REPEAT} (warm) shown; ms = one in-process request, not the server's.",
        "",
        "| page | url | status | bytes | queries (cold → warm) | tables | ms in SQL (warm) | ms total (warm) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    details = []
    client = Client(HTTP_HOST="127.0.0.1")
    for name, path in target["pages"].items():
        counts, resp, elapsed = [], None, 0.0
        for _ in range(REPEAT):
            # Cookie-less like a new client, but one handler: a new Client per
            # request would reload the middleware (WhiteNoise rescans the static
            # files, ~90 ms) and swamp the timing.
            client.cookies.clear()
            with CaptureQueriesContext(connection) as ctx:
                t = time.perf_counter()
                resp = client.get(path)
                body = b"".join(resp) if resp.streaming else resp.content
                elapsed = time.perf_counter() - t
            counts.append(len(ctx.captured_queries))
        tables = collections.Counter()
        sql_ms = 0.0
        for q in ctx.captured_queries:
            m = TABLE_RE.search(q["sql"])
            tables[m.group(1) if m else q["sql"][:20]] += 1
            sql_ms += float(q.get("time") or 0) * 1000
        lines.append(
            f"| {name} | `{path}` | {resp.status_code} | {len(body)} | {counts[0]} → {counts[-1]} | "
            + ", ".join(f"{t} {n}" for t, n in tables.most_common())
            + f" | {sql_ms:.1f} | {elapsed * 1000:.1f} |"
        )
        details += ["", f"## {name} `{path}`: {counts[-1]} queries", ""]
        for i, q in enumerate(ctx.captured_queries, 1):
            sql = " ".join(q["sql"].split())
            if len(sql) > args.width:
                sql = sql[: args.width] + " …"
            details.append(f"{i}. ({float(q.get('time') or 0) * 1000:.2f} ms) `{sql}`")
    text = "\n".join(lines + details) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
