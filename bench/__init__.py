"""Benchmarks of DESIGN.md §7, run by ``make bench`` (``python -m bench``).

Each benchmark is a module here with ``run(ctx: Context) -> list[Result]``, listed in
``bench.__main__.BENCHMARKS``; ``bench.common`` holds the shared pieces (the table,
the machine description, the cached central store, child processes).
"""
