#!/usr/bin/env python3
"""CPU time per request of the benchmarked pages, in process: a noise-robust measure.

Usage (the project's venv python):
  .venv/bin/python bench/cpu.py TARGET.json [-n 200] [--member] [--profile PAGE] [--keep-page-cache]

wrk's req/s on a shared 2-core machine swings with whatever else runs
(``--batches 5`` measures five batches and keeps the quickest);
``time.process_time()`` of this process over N requests through one
``django.test.Client`` (page cache off, DEBUG off, the target's environment)
barely does. It is what to compare before and after a change. ``--member``
adds the logged-in rows (the bench member of seed_bench reading the big
thread); ``--profile PAGE`` prints a cProfile of that page's N requests
(sorted by cumulative time). The PostgreSQL server's own CPU is not counted:
the query count beside each row stands for it.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time

import djangoenv


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("target")
    ap.add_argument("-n", type=int, default=200, help="Requests per page (default %(default)s).")
    ap.add_argument("--member", action="store_true", help="Also measure the logged-in bench member's thread pages.")
    ap.add_argument("--profile", help="Page name to profile with cProfile.")
    ap.add_argument(
        "--batches",
        type=int,
        default=1,
        help="Measure each page in this many batches of -n and print the quickest batch (default %(default)s).",
    )
    ap.add_argument("--keep-page-cache", action="store_true", help="Leave PAGE_CACHE_SECONDS as the target sets it.")
    args = ap.parse_args()

    target = djangoenv.setup(args.target, page_cache=args.keep_page_cache)
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    anonymous = Client(HTTP_HOST="127.0.0.1")
    rows = [(name, path, anonymous) for name, path in target["pages"].items()]
    if args.member:
        member = Client(HTTP_HOST="127.0.0.1")
        member.cookies.load(target["member"]["cookie"])
        rows += [(f"member_{name}", path, member) for name, path in target["member"]["pages"].items()]

    print(f"{'page':<20} {'status':>6} {'queries':>7} {'bytes':>7} {'cpu ms/req':>10} {'wall ms/req':>11}")
    for name, path, client in rows:
        for _ in range(5):  # warm: template loader, connection, caches
            fetch(client, path, anonymous=client is anonymous)
        with CaptureQueriesContext(connection) as ctx:
            response = fetch(client, path, anonymous=client is anonymous)
        queries = len(ctx.captured_queries)  # now: the next request's signal empties the log
        profiler = cProfile.Profile(time.process_time) if args.profile == name else None
        batches = []  # (cpu, wall) ms per request; the quickest batch is what the other processes disturbed least
        for _ in range(args.batches):
            cpu0, wall0 = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            for _ in range(args.n):
                fetch(client, path, anonymous=client is anonymous)
            if profiler:
                profiler.disable()
            batches.append(
                ((time.process_time() - cpu0) / args.n * 1000, (time.perf_counter() - wall0) / args.n * 1000)
            )
        cpu, wall = min(batches)
        print(
            f"{name:<20} {response.status_code:>6} {queries:>7} {len(response.content):>7} {cpu:>10.2f} {wall:>11.2f}"
        )
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)


def fetch(client, path: str, *, anonymous: bool):
    if anonymous:
        client.cookies.clear()  # cookie-less, like wrk
    return client.get(path)


if __name__ == "__main__":
    main()
