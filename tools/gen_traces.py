#!/usr/bin/env python3
"""Solve the physical world of PyBaMM scenarios once and store the traces the simulator and tests replay.

    .venv/bin/python tools/gen_traces.py                    # every scenario with battery.model = "pybamm"
    .venv/bin/python tools/gen_traces.py lfp_careful        # one scenario

Writes tools/scenarios/traces/<scenario>.csv.gz (format: tools/sim/traces.py) for the scenario's full duration.
The key in each file is a hash of the scenario's physics and the PyBaMM version: the simulator replays a trace
only while both match, and solves again (caching under out/traces/) otherwise.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sim import scenario, traces   # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenarios", nargs="*", help="scenario names (default: every PyBaMM scenario)")
    a = ap.parse_args(argv)
    names = a.scenarios or [n for n in scenario.names() if scenario.load(n).battery.model == "pybamm"]
    for name in names:
        sc = scenario.load(name)
        if sc.battery.model != "pybamm":
            print("gen_traces: %s: battery.model is %r, not pybamm: nothing to solve" % (name, sc.battery.model),
                  file=sys.stderr)
            return 2
        n = int(round(sc.duration_s)) + 1
        t0 = time.monotonic()
        tr = traces.solve(sc, n)
        el = time.monotonic() - t0
        path = traces.COMMITTED / (name + ".csv.gz")
        traces.write(path, sc, tr, "by tools/gen_traces.py %s in %.0f s (%.1f s per simulated hour)" % (
            name, el, el * 3600.0 / n))
        print("%s: %d s simulated in %.0f s -> %s (%d bytes)" % (name, n, el, path.relative_to(traces.ROOT),
                                                                  path.stat().st_size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
