"""Benchmark for tools/bench.py: wall time of the healthy 3-day scenario at one sample per second."""
from __future__ import annotations

import time

from . import scenario
from .runner import Runner


def bench_simulator(runtime: str = "cpython") -> float:
    """Seconds to simulate the 3-day healthy scenario end to end (physics, firmware process, merge; no plot).
    Target: under 30 s."""
    sc = scenario.load("healthy_3day")
    t0 = time.monotonic()
    res = Runner(sc, runtime).run()
    el = time.monotonic() - t0
    if not res.syncs:
        raise RuntimeError("bench_simulator: the healthy scenario did not sync; the result is not valid")
    return el


if __name__ == "__main__":
    print("healthy_3day: %.1f s" % bench_simulator())
