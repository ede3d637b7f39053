from django.apps import AppConfig


class BenchConfig(AppConfig):
    """Benchmark tools (``seed_bench``, ``bench_digests``): installed only with BENCH_TOOLS=1 (bench/run.sh sets it)."""

    name = "bench"
