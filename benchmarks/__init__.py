"""jupyter_lease's performance benchmarks: ``python -m benchmarks [--quick] [--only KEY,...]``.

Run from the repository root (they reuse ``tests.support.kernel_helpers``). How each figure is
measured, and the latest results, are in ``benchmarks/README.md``.
"""
