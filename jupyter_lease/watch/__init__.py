"""Keeping a reading fresh: the watcher thread, the process's runtime, the machine-wide cache.

Provider-neutral shells around a lease source: they read it on a schedule, share what they read
between processes (one upstream call per poll interval, whatever the number of kernels), and
tell listeners about stages and thresholds. Nothing here is imported by ``%load_ext``.
"""
