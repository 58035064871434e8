#!/usr/bin/env python3
"""Mutation check: flip each key constant or condition of the firmware and show that at least one test fails.

    .venv/bin/python tools/mutate.py            # every mutant (about 2 minutes on 2 cores)
    .venv/bin/python tools/mutate.py sync       # only the mutants whose name contains "sync"

The repository is copied once to a temporary directory; each mutant edits one line there (the text must occur
exactly once), runs only the test modules that own that rule (pytest under CPython), and restores the line. A
mutant that no test notices ("survived") makes the exit status 1. The unmutated copy must pass the same modules
first, so a survivor is never an artefact of a broken baseline.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = "host_tests/core/"

# (name, file, text, mutated text, test modules)
MUTANTS = (
    ("temperature coefficient applied above 20 C too (issue 18, 0xEEF4)", "firmware/shunt/monitor.py",
     "if k and t is not None and t < _REF_CC:", "if k and t is not None:", [CORE + "test_temp_coefficient.py"]),
    ("temperature-compensated SOC against the set capacity", "firmware/shunt/monitor.py",
     "        d = self.cap_eff_mah\n        qp = q[_QP]", "        d = self._cap_mah\n        qp = q[_QP]",
     [CORE + "test_temp_coefficient.py"]),
    ("fault text cycles 3 -> 0 (VD 3.7)", "firmware/app.py",
     "_FAULT_CYCLES = const(3)", "_FAULT_CYCLES = const(0)", [CORE + "test_app.py"]),
    ("fault text cycles 3 -> 4", "firmware/app.py",
     "_FAULT_CYCLES = const(3)", "_FAULT_CYCLES = const(4)", [CORE + "test_app.py"]),
    ("W13 clears after 10 good samples -> 11 (BM 13.2)", "firmware/drivers/ina226.py",
     "_CLEAR_GOOD = const(10)", "_CLEAR_GOOD = const(11)", [CORE + "test_app.py", CORE + "test_ina226.py"]),
    ("W13 mirrors the sensor: never cleared", "firmware/drivers/sensor.py",
     "            warn.clear(13)", "            pass", [CORE + "test_app.py"]),
    ("sync voltage term V > Vch -> V >= Vch (BM 4.1)", "firmware/shunt/sync.py",
     "V_OK if v_mv > mon.vch_mv else 0", "V_OK if v_mv >= mon.vch_mv else 0", [CORE + "test_monitor.py"]),
    ("sync current term I < tail -> I <= tail", "firmware/shunt/sync.py",
     "if i_int_ma < mon.i_tail_ma and", "if i_int_ma <= mon.i_tail_ma and", [CORE + "test_monitor.py"]),
    ("sync current term: strict mode accepts a discharge", "firmware/shunt/sync.py",
     "(not mon.strict or i_int_ma >= 0)", "(not mon.strict or i_int_ma >= -1000)", [CORE + "test_monitor.py"]),
    ("sync accepted-charge term A >= 0.1 % -> A > 0.1 %", "firmware/shunt/sync.py",
     "if a_mah >= mon.capacity_ah:", "if a_mah > mon.capacity_ah:", [CORE + "test_monitor.py"]),
    ("sync timer T >= detection time -> T > detection time", "firmware/shunt/sync.py",
     "return 1 if t >= mon.detect_ms else 0", "return 1 if t > mon.detect_ms else 0", [CORE + "test_monitor.py"]),
    ("sync timer keeps running through an outage sample", "firmware/shunt/sync.py",
     "if v_ok and ia_ok and not mon.outage:", "if v_ok and ia_ok:", [CORE + "test_monitor.py"]),
    ("CEF not applied on charge (BM 3.2)", "firmware/shunt/monitor.py",
     "rate_cu(self._r_ce, i_int, self.cef)", "rate_cu(self._r_ce, i_int, 100)", [CORE + "test_monitor.py"]),
    ("current threshold |I| < thr -> |I| <= thr (BM 3.4)", "firmware/shunt/monitor.py",
     "if (i_ma if i_ma >= 0 else -i_ma) < self.thr_ma:", "if (i_ma if i_ma >= 0 else -i_ma) <= self.thr_ma:",
     [CORE + "test_monitor.py"]),
    ("outage dt > 5000 ms -> dt >= 5000 ms (BM 0.2)", "firmware/shunt/monitor.py",
     "if dt > _OUTAGE_MS:", "if dt >= _OUTAGE_MS:", [CORE + "test_monitor.py"]),
    ("TTG floor: 0 at the floor -> -1 (BM 5)", "firmware/shunt/ttg.py",
     "    if r <= 0:\n        return 0", "    if r <= 0:\n        return -1", [CORE + "test_monitor.py"]),
    ("TTG floor ignored", "firmware/shunt/ttg.py",
     "r = (c_pu - qp_pu) - c_pu * floor_pm // 1000", "r = c_pu - qp_pu", [CORE + "test_monitor.py"]),
    ("alarm set delay > 10 s -> >= 10 s (BM 10)", "firmware/shunt/alarms.py",
     "elif self.ms > self._set_ms:", "elif self.ms >= self._set_ms:", [CORE + "test_alarms.py", CORE + "test_relay.py"]),
    ("save rate limit 60 s -> 59 s (BM 14.2)", "firmware/shunt/saver.py",
     "RATE_S = const(60)", "RATE_S = const(59)", [CORE + "test_saver.py"]),
    ("periodic save 600 s -> 601 s", "firmware/shunt/saver.py",
     "PERIODIC_S = const(600)", "PERIODIC_S = const(601)", [CORE + "test_saver.py"]),
    ("W01 set after 120 qualifying minutes -> 119 (BM 13.2)", "firmware/shunt/warnings.py",
     "_W01_SET_MIN = const(120)", "_W01_SET_MIN = const(119)", [CORE + "test_warnings.py"]),
    ("a failed HEX save is answered OK", "firmware/proto/vehex.py",
     "            except (ValueError, OSError):\n                return F_PARAM, 0\n            for j",
     "            except ValueError:\n                return F_PARAM, 0\n            except OSError:\n"
     "                pass\n            for j", [CORE + "test_app.py"]),
    ("a failed settings save is not rolled back", "firmware/proto/device.py",
     "            self.settings.load_dict(before)\n", "", [CORE + "test_console.py"]),
)


def _copy(dst: Path) -> None:
    ignore = shutil.ignore_patterns(".git", ".venv", "__pycache__", "out", "web", ".pytest_cache", "*.png")
    for name in ("firmware", "host_tests", "tools", "docs", "board"):
        shutil.copytree(ROOT / name, dst / name, ignore=ignore)
    for f in ROOT.glob("*.md"):
        shutil.copy(f, dst / f.name)
    (dst / ".venv").symlink_to(ROOT / ".venv")


def _pytest(tree: Path, modules: list[str]) -> bool:
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-p", "no:xdist"]
                       + [str(tree / m) for m in modules], cwd=tree, capture_output=True, text=True, timeout=900)
    return r.returncode == 0


def main() -> int:
    ap = argparse.ArgumentParser(description="Flip key firmware constants and conditions; each must fail a test.")
    ap.add_argument("only", nargs="?", default="", help="run only the mutants whose name contains this text")
    args = ap.parse_args()
    chosen = [m for m in MUTANTS if args.only.lower() in m[0].lower()]
    if not chosen:
        print("mutate: no mutant matches %r" % args.only, file=sys.stderr)
        return 2
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mutate-") as tmp:
        tree = Path(tmp)
        _copy(tree)
        modules = sorted({m for c in chosen for m in c[4]})
        if not _pytest(tree, modules):
            print("mutate: the unmutated tree fails %s: fix that first" % " ".join(modules), file=sys.stderr)
            return 2
        survivors = 0
        for name, rel, old, new, tests in chosen:
            path = tree / rel
            src = path.read_text()
            if src.count(old) != 1:
                print("mutate: %r occurs %d times in %s (must be once): update the mutant" % (old, src.count(old), rel),
                      file=sys.stderr)
                return 2
            path.write_text(src.replace(old, new))
            try:
                killed = not _pytest(tree, tests)
            finally:
                path.write_text(src)
            survivors += not killed
            print("%-8s %s  (%s)" % ("killed" if killed else "SURVIVED", name, ", ".join(Path(t).name for t in tests)),
                  flush=True)
    print("%d mutants, %d killed, %d survived in %.0f s" % (len(chosen), len(chosen) - survivors, survivors,
                                                            time.monotonic() - t0))
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
