#!/usr/bin/env python3
"""Requests of one page in process, for counting instructions under valgrind: a measure no other process moves.

Usage (the project's venv python, a target written by ``manage.py seed_bench``):
  valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
    .venv/bin/python bench/instructions.py TARGET.json PAGE N

``bench/cpu.py``'s CPU time swings by a fifth on a shared machine; the
instructions a request executes do not. Run it with N and with 0 requests
(the same warm-up either way) and divide the difference of the two
"Collected" totals by N: instructions per request. PAGE is a page of the
target (``category``…) or ``member_`` and one of the member's pages. Set
PYTHONHASHSEED=0 so that two runs hash alike.
"""

from __future__ import annotations

import argparse

import djangoenv


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("target")
    ap.add_argument("page")
    ap.add_argument("n", type=int)
    args = ap.parse_args()

    target = djangoenv.setup(args.target)
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    if args.page.startswith("member_"):
        client.cookies.load(target["member"]["cookie"])
        path = target["member"]["pages"][args.page.removeprefix("member_")]
    else:
        path = target["pages"][args.page]
    for _ in range(6 + args.n):  # warm: template loader, connection, caches
        if not args.page.startswith("member_"):
            client.cookies.clear()  # cookie-less, like wrk
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)


if __name__ == "__main__":
    main()
