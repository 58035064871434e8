"""Solved traces of the physical world for slow battery models (PyBaMM): solve once, replay fast.

The physical world (battery, chargers, loads and the events that switch them) does not depend on the firmware,
so a scenario's per-second trace (terminal voltage, battery and shunt current, true SOC) can be solved once and
replayed through any firmware settings. A trace is keyed by a hash of everything physical in the scenario plus
the model's version; its duration is not in the key, so a shorter run replays a prefix.

Where traces live: `tools/scenarios/traces/<scenario>.csv.gz` (committed, made by `tools/gen_traces.py`), else
`out/traces/<scenario>-<key>.csv.gz` (written by the simulator when it had to solve).

File: gzip'd text. `#` header lines (what made it, the key, the duration), then one line per simulated second
(t = 0, 1, ...): v_mv, battery_ma, shunt_ma, soc_ppm, each the difference from the previous line (the first line
absolute). Integers, so a replay sends the firmware exactly the values of the solve.
"""
from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "tools" / "scenarios" / "traces"
CACHE = ROOT / "out" / "traces"
FORMAT = 1
# The solve holds the loads' and chargers' currents for STEP_S seconds (one model step with a result every
# second): a load that switches mid-step switches at the next step. 10 s keeps a simulated day near a minute.
STEP_S = 10


class Trace:
    """A solved trace, used by the runner in place of the battery: `at(t)` -> (v, battery_a, shunt_a) and the
    true SOC (0..1) in `soc`."""

    def __init__(self, v_mv, bat_ma, sh_ma, soc_ppm, key: str, note: str = ""):
        self.v_mv, self.bat_ma, self.sh_ma, self.soc_ppm = v_mv, bat_ma, sh_ma, soc_ppm
        self.key = key
        self.note = note
        self.soc = soc_ppm[0] / 1e6 if soc_ppm else 0.0
        self.v = v_mv[0] / 1000.0 if v_mv else 0.0

    def __len__(self) -> int:
        return len(self.v_mv)

    def at(self, t: int) -> tuple[float, float, float]:
        self.soc = self.soc_ppm[t] / 1e6
        self.v = self.v_mv[t] / 1000.0
        return self.v, self.bat_ma[t] / 1000.0, self.sh_ma[t] / 1000.0


def model_id() -> str:
    from . import pybamm_battery
    try:
        from importlib.metadata import version
        ver = version("pybamm")
    except Exception:         # not installed: the key cannot match a solved trace
        ver = "absent"
    return "pybamm %s %s %s" % (ver, pybamm_battery.MODEL, pybamm_battery.PARAMETER_SET)


def key_of(sc) -> str:
    """Hash of everything physical in the scenario (not the firmware settings, commands or duration)."""
    phys = {
        "format": FORMAT, "step_s": STEP_S, "model": model_id(), "start": sc.start_tod_s, "seed": sc.seed,
        "battery": dataclasses.asdict(sc.battery),
        "chargers": [dataclasses.asdict(c) for c in sc.chargers],
        "loads": [dataclasses.asdict(x) for x in sc.loads],
        "events": [[e.at_s, e.kind, e.target, e.enabled, e.off_s, e.system_off] for e in sc.events
                   if e.kind in ("charger", "load") or (e.kind == "power_cut" and e.system_off)],
    }
    return hashlib.sha256(json.dumps(phys, sort_keys=True).encode()).hexdigest()[:16]


def paths(sc) -> list[Path]:
    return [COMMITTED / (sc.name + ".csv.gz"), CACHE / ("%s-%s.csv.gz" % (sc.name, key_of(sc)))]


def read(path: Path) -> tuple[dict, Trace]:
    head = {}
    cols = ([], [], [], [])
    with gzip.open(path, "rt") as f:
        prev = [0, 0, 0, 0]
        for line in f:
            if line.startswith("#"):
                k, _, v = line[1:].strip().partition(" ")
                head[k] = v
                continue
            if line.startswith("v_mv"):
                continue
            d = line.split(",")
            for j in range(4):
                prev[j] += int(d[j])
                cols[j].append(prev[j])
    return head, Trace(*cols, key=head.get("key", ""), note=head.get("made", ""))


def write(path: Path, sc, trace: Trace, made: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with gzip.open(tmp, "wt", compresslevel=9) as f:
        f.write("# trace of the physical world of scenario %s, replayed by tools/sim (see tools/sim/traces.py)\n"
                % sc.name)
        f.write("# key %s\n# model %s\n# seconds %d\n# made %s\n" % (trace.key, model_id(), len(trace), made))
        f.write("v_mv,battery_ma,shunt_ma,soc_ppm (differences from the line before)\n")
        prev = [0, 0, 0, 0]
        cols = (trace.v_mv, trace.bat_ma, trace.sh_ma, trace.soc_ppm)
        for n in range(len(trace)):
            row = [c[n] for c in cols]
            f.write("%d,%d,%d,%d\n" % tuple(row[j] - prev[j] for j in range(4)))
            prev = row
    tmp.replace(path)


def find(sc, seconds: int) -> Trace | None:
    """A stored trace for this scenario's physics covering `seconds`, or None."""
    key = key_of(sc)
    for p in paths(sc):
        if p.is_file():
            head, tr = read(p)
            if head.get("key") == key and len(tr) >= seconds:
                return tr
    return None


def solve(sc, seconds: int, progress=None) -> Trace:
    """Step the physical world (no firmware) for `seconds` seconds."""
    from .runner import Runner
    r = Runner.__new__(Runner)
    r.trace = None
    Runner._init_world(r, sc)
    events = sorted((e for e in sc.events if e.kind in ("charger", "load", "power_cut")), key=lambda e: e.at_s)
    v_mv, bat, sh, soc = [], [], [], []
    off_until = -1
    for t in range(0, seconds, STEP_S):
        while events and events[0].at_s <= t:
            ev = events.pop(0)
            if ev.kind == "charger":
                next(c for c in r.chargers if c.p.name == ev.target).p.enabled = ev.enabled
            elif ev.kind == "load":
                next(x for x in r.loads if x.p.name == ev.target).p.enabled = ev.enabled
            elif ev.system_off:
                off_until = t + int(round(ev.off_s))
        r.system_off = t < off_until
        _, i, ish = r.step(float(t), float(STEP_S))
        for v, s in r.battery.seconds:
            v_mv.append(round(v * 1000))
            bat.append(round(i * 1000))
            sh.append(round(ish * 1000))
            soc.append(round(s * 1e6))
        if progress is not None and t % 600 == 0:
            progress(t / seconds)
    del v_mv[seconds:], bat[seconds:], sh[seconds:], soc[seconds:]
    return Trace(v_mv, bat, sh, soc, key=key_of(sc))


def load_or_solve(sc, seconds: int, progress=None, log=None) -> Trace:
    tr = find(sc, seconds)
    if tr is not None:
        return tr
    if log is not None:
        log("%s: no solved trace for this physics; solving it with %s (about 1.5 min per simulated day), "
            "cached in %s" % (sc.name, model_id(), CACHE.relative_to(ROOT)))
    t0 = time.monotonic()
    tr = solve(sc, seconds, progress)
    write(paths(sc)[1], sc, tr, "by the simulator in %.0f s" % (time.monotonic() - t0))
    return tr
