"""Run calls at the same instant in threads, each with its own database connection."""

from __future__ import annotations

import threading

from django.db import close_old_connections, connection


def run_together(*calls) -> list:
    """Run the calls in parallel threads released by one barrier; collect results or exceptions."""
    barrier = threading.Barrier(len(calls), timeout=30)
    results: list = [None] * len(calls)

    def worker(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a writer is still running (deadlock?)"
    close_old_connections()
    return results
