#!/usr/bin/env python3
# ruff: noqa: S603, S310 - runs wrk from a fixed argument list; fetches loopback URLs only (local_only)
"""The copsite-only rows: a logged-in member reading the big thread and their home, beside Spirit's anonymous pages.

Usage (any python3; run by bench/run.sh after the harness):
  python3 bench/member.py COPSITE_TARGET.json SPIRIT_TARGET.json --out bench/last-member.md [--logdir DIR]

The harness's targets can't send a cookie, so these rows are measured here, with
the harness's own helpers (``shared/perf/lib/bench.py``: starting and stopping
servers, parsing wrk) and the same wrk settings. The member is the one
``manage.py seed_bench`` made: a session cookie in the target file, helpful
marks on some of the thread's posts, reply forms and "helpful" buttons on every
post, and a member of all five communities. Each member page is compared with
the Spirit page that plays its part for a visitor (``PAGES``): the big thread's
page 1 and last page with Spirit's, the member home (``/``: Latest / Unread /
New across their communities, answered questions, events) with Spirit's
anonymous index. Interleaved like the harness: Spirit's anonymous page, then
copsite's member page, ROUNDS times. Writes Markdown.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The member's page (target["member"]["pages"]) → the Spirit page it is compared with.
PAGES = {"topic_first": "topic_first", "topic_last": "topic_last", "home": "index"}


def harness_lib(perf_dir: Path):
    spec = importlib.util.spec_from_file_location("perf_bench", perf_dir / "lib" / "bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def wrk(lib, url: str, cookie: str | None, args) -> dict:
    """One wrk run (the harness's settings), with the member's cookie when given."""
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.conns}", f"-d{args.duration}s", "--timeout", "10s", "--latency"]
    if cookie:
        cmd += ["-H", f"Cookie: {cookie}"]
    cmd.append(lib.local_only(url))
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.duration + 60).stdout
    result = lib.parse_wrk(out)
    result["loadavg_after"] = os.getloadavg()[0]
    return result


def logged_in(url: str, cookie: str) -> bool:
    """The cookie really logs the member in (the page offers to log out), and the page answers 200."""
    request = urllib.request.Request(url, headers={"Cookie": cookie, "User-Agent": "perf-member"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status == 200 and b"Log out" in response.read()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("copsite")
    ap.add_argument("spirit")
    ap.add_argument("--out", default=str(HERE / "last-member.md"))
    ap.add_argument("--logdir", default=".", help="Where the servers' logs go.")
    ap.add_argument("--perf-dir", default=str(HERE.parent.parent / "shared" / "perf"))
    ap.add_argument("--duration", type=int, default=int(os.environ.get("DURATION", 15)))
    ap.add_argument("--threads", type=int, default=int(os.environ.get("THREADS", 2)))
    ap.add_argument("--conns", type=int, default=int(os.environ.get("CONNS", 8)))
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("ROUNDS", 2)))
    ap.add_argument("--warmup", type=int, default=int(os.environ.get("WARMUP", 3)))
    args = ap.parse_args()

    lib = harness_lib(Path(args.perf_dir))
    copsite = json.loads(Path(args.copsite).read_text())
    spirit = json.loads(Path(args.spirit).read_text())
    member = copsite["member"]
    cookie = member["cookie"]
    rows = []
    pages = {page: beside for page, beside in PAGES.items() if page in member["pages"]}
    for page, beside in pages.items():
        rows.append(("spirit (anonymous)", beside, spirit["base_url"] + spirit["pages"][beside], None))
        who = f"copsite ({member['username']}, logged in)"
        rows.append((who, page, copsite["base_url"] + member["pages"][page], cookie))

    servers = []
    try:
        for target in (spirit, copsite):
            servers.append((target["name"], lib.start_target(target, args.logdir)))
        for target in (spirit, copsite):
            lib.wait_ready(target["base_url"] + target["pages"]["topic_first"])
        for page in pages:
            if not logged_in(copsite["base_url"] + member["pages"][page], cookie):
                sys.exit(f"the member's cookie does not log in on {page}: reseed (manage.py seed_bench)")
        results: dict[tuple[str, str], list[dict]] = {}
        for _, _, url, row_cookie in rows:
            wrk(lib, url, row_cookie, argparse.Namespace(**{**vars(args), "duration": args.warmup}))
        for _ in range(args.rounds):
            for who, page, url, row_cookie in rows:
                lib.log(f"member row: {who} {page}")
                results.setdefault((who, page), []).append(wrk(lib, url, row_cookie, args))
    finally:
        for name, process in reversed(servers):
            lib.stop_target(name, process)

    lines = [
        f"wrk -t{args.threads} -c{args.conns} -d{args.duration}s --latency, {args.rounds} round(s), interleaved; "
        f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')}; copsite rows send the member's session cookie.",
        "",
        "| target | page | req/s (each round) | p50 ms | p99 ms | non-2xx | loadavg after | × Spirit anonymous |",
        "|---|---|---|---|---|---|---|---|",
    ]
    spirit_rps = {}
    for who, page, _, _ in rows:
        runs = results[(who, page)]
        rps = statistics.median(r["rps"] or 0 for r in runs)
        if who.startswith("spirit"):
            spirit_rps[page] = rps
        beside = pages.get(page, page) if not who.startswith("spirit") else page
        ratio = f"{rps / spirit_rps[beside]:.2f}x" if spirit_rps.get(beside) else "-"
        cells = [
            " / ".join(f"{r['rps'] or 0:.1f}" for r in runs),
            " / ".join(str(r.get("p50_ms")) for r in runs),
            " / ".join(str(r.get("p99_ms")) for r in runs),
            str(sum(r["non_2xx"] + r["socket_errors"] for r in runs)),
            " / ".join(f"{r['loadavg_after']:.1f}" for r in runs),
            ratio,
        ]
        lines.append(f"| {who} | {page} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
