# Benchmarks (not tests): per-sample step cost and allocation, text block cost, replay and simulator speed,
# and the board app's heap after one simulated hour in the test's heap (tools/app_heap.py). Figures go into the README.
#   .venv/bin/python tools/bench.py            (runs itself under the MicroPython unix port too)
# Under MicroPython this file prints the micro-benchmarks as "name value" lines for the CPython side.
import os
import sys

MICRO = sys.implementation.name == "micropython"
import hostpath  # noqa: E402,F401  (firmware/ on sys.path, and the const stand-in under CPython)

from shunt.settings import Settings   # noqa: E402
from shunt.monitor import Monitor     # noqa: E402
from proto.vedirect import TextBuilder  # noqa: E402

if MICRO:
    import gc
    import time

    def now_us():
        return time.ticks_us()

    def diff_us(a, b):
        return time.ticks_diff(a, b)
else:
    import gc
    import time

    def now_us():
        return time.perf_counter_ns() // 1000

    def diff_us(a, b):
        return a - b


def _monitor():
    s = Settings()
    s.set("alarm_low_voltage_set", "11.5")
    s.set("alarm_low_soc_set", "20.0")
    m = Monitor(s)
    m.sample(12800, 0, 0)
    return m


def _loop_const(m, n):
    for k in range(n):
        m.sample(12800, -20000, 141)


def _loop_vary(m, n):
    i = -30000
    for k in range(n):
        m.sample(12800 + (k & 15), i, 141)
        i += 7
        if i > 30000:
            i = -30000


def _monitor_life():
    """A monitor restored at the lifetime maxima (issue 13): H6 and throughput past 2^30 mAh, CE at its floor, the
    counters at 2^30 - 1. On a 32-bit build any value of the step outside ±2^30 would show as heap bytes."""
    m = _monitor()
    d = m.get_state()
    for name in ("tp_mah", "h6_mah"):
        d[name] = (1 << 30) * 10 ** 9 - 1
    for name in ("h4", "h5", "h10", "h11", "h12", "op_time_s", "e_dis_cwh", "e_chg_cwh"):
        d[name] = (1 << 30) - 1
    d["ce_mah"] = d["h1"] = d["h2"] = d["cycle_min"] = -(1 << 31)
    d["e_dis_rem"] = d["e_chg_rem"] = 36 * 10 ** 12 - 1
    m.set_state(d)
    m.sample(12800, 0, 0)
    return m


# Each timing is the best of _RUNS runs over its share of the steps: on a shared machine the fastest run is the
# one least disturbed by other processes. Heap bytes are summed over every run.
_RUNS = 5


def _timed(fn, arg, n):
    best = None
    alloc = 0
    k = n // _RUNS
    for _ in range(_RUNS):
        gc.collect()
        if MICRO:
            gc.disable()
            a0 = gc.mem_alloc()
        t0 = now_us()
        fn(arg, k)
        t1 = now_us()
        if MICRO:
            alloc += gc.mem_alloc() - a0
            gc.enable()
        t = diff_us(t1, t0)
        if best is None or t < best:
            best = t
    return best / k if not MICRO else best * 1000 // k, alloc * 1000 // (k * _RUNS)


def step_cost(loop, n, make=_monitor):
    m = make()
    loop(m, 200)
    return _timed(lambda k, count: loop(m, count), 0, n)


def _cycles(b, m, n):
    for _ in range(n):
        b.build_cycle_from(m)


def block_cost(n):
    m = _monitor()
    b = TextBuilder()
    _cycles(b, m, 20)
    return _timed(lambda k, count: _cycles(b, m, count), 0, n)


def micro_results():
    r = {}
    r["step_const_us"], r["step_const_alloc_b"] = step_cost(_loop_const, 20000)
    r["step_vary_us"], r["step_vary_alloc_b"] = step_cost(_loop_vary, 20000)
    r["step_life_us"], r["step_life_alloc_b"] = step_cost(_loop_vary, 20000, _monitor_life)
    r["cycle_us"], r["cycle_alloc_b"] = block_cost(2000)
    return r


def _mp_main():
    r = micro_results()
    for k in sorted(r):
        # MicroPython figures are in thousandths (no float in the measurement path)
        print(k, r[k])


def _host_main():
    import argparse
    import subprocess
    import tempfile
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description="Benchmarks of the core, replay and simulator (figures for README)")
    ap.add_argument("--skip-sim", action="store_true", help="skip the 3-day simulator run")
    ap.add_argument("--micropy32", metavar="BINARY", default=os.environ.get("MICROPY32") or None,
                    help="a 32-bit MicroPython unix port (31-bit small ints, as on the ESP32; README 'Tests' says "
                         "how to build it): per-step figures and the board app's heap on it too "
                         "(default: $MICROPY32)")
    args = ap.parse_args()
    mp = str(Path(sys.executable).parent / "micropython")
    mps = [("MicroPython", mp)] + ([("MicroPython 32-bit", args.micropy32)] if args.micropy32 else [])

    cp = micro_results()
    res = []
    for _, binary in mps:
        out = subprocess.run([binary, "-X", "heapsize=4M", __file__], capture_output=True, text=True,
                             check=True).stdout
        res.append({k: int(v) / 1000 for k, v in (line.split() for line in out.split("\n") if line.strip())})
    print("per-sample step (Monitor.sample), 20 000 steps, µs per step / heap bytes per step:")
    for key, what in (("step_const", "constant current (rates cached)"),
                      ("step_vary", "current changes every sample"),
                      ("step_life", "changing, at the lifetime maxima"),
                      ("cycle", "VE.Direct A+B cycle (build)")):
        line = "  %-34s CPython %7.2f" % (what, cp[key + "_us"])
        for (name, _), r in zip(mps, res):
            line += "   %s %7.2f µs, %g B" % (name, r[key + "_us"], r[key + "_alloc_b"])
        print(line)

    # replay throughput: a 100 000-row trace (141 ms rows, currents changing)
    with tempfile.TemporaryDirectory() as d:
        trace = Path(d) / "t.csv"
        with trace.open("w") as f:
            f.write("t_ms,voltage_mv,current_ma\n")
            i = -30000
            for k in range(100000):
                f.write("%d,%d,%d\n" % (k * 141, 12000 + (k % 1500), i))
                i = i + 13 if i < 30000 else -30000
        for rt in ("cpython", "micropython"):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, str(root / "tools" / "replay.py"), str(trace), "--runtime", rt],
                           stdout=subprocess.DEVNULL, check=True)
            dt = time.perf_counter() - t0
            print("replay, 100 000 rows (%s): %.2f s = %d samples/s (with process start-up)" % (rt, dt, 100000 / dt))

        # the board app for one simulated hour, in the heap host_tests/test_app_heap.py gives it (tools/app_heap.py)
        import app_heap
        mpy = Path(d) / "mpy"
        app_heap.mpy_tree(mpy)
        tool = app_heap.TOOL
        code = app_heap.code_bytes(mp, mpy)
        r = app_heap.run_hour(mp, mpy, code)
        budget_kib = (app_heap.APP_BUDGET + app_heap.HOST_FRAGMENTATION) // 1024
        if r.returncode == 0:
            _, in_use, peak, samples, text_bytes, saves = r.stdout.split()
            print("board app, 1 simulated hour (%s samples, %s saves), heap = code %d B + %d KiB: live app data "
                  "after gc %d B (peak %d B)" % (samples, saves, code, budget_kib, int(in_use) - code,
                                                 int(peak) - code))
        else:
            print("board app heap run failed: %s" % (r.stderr.strip().splitlines()[-1:] or r.stdout[-200:]))
        if args.micropy32:
            _heap32(args.micropy32, tool, mpy, Path(d))

    if not args.skip_sim:
        try:
            sys.path.insert(0, str(root / "tools"))
            from sim.bench_sim import bench_simulator
            secs = bench_simulator()
            print("simulator, healthy 3-day scenario at ~1 sample/s: %.1f s" % secs)
        except ImportError as e:
            print("simulator benchmark unavailable: %s" % e)


def _heap32(mp32, tool, mpy, tmp):
    """The board app's heap on the 32-bit build (the ESP32's word size): live data after an hour with the code
    loaded from .mpy, then with the code in place from a ROMFS image (the nearest the unix port comes to frozen
    code: it still interns the qstrs in RAM), and the smallest heap, to 1 KiB, in which that hour runs."""
    import subprocess
    from mpremote.romfs import VfsRomWriter, copy_recursively

    def hour(src, heap):
        r = subprocess.run([mp32, "-X", "heapsize=%d" % heap, tool, str(src), "run", "3600"], capture_output=True,
                           text=True)
        return r.stdout.split() if r.returncode == 0 and r.stdout.startswith("ok") else None

    code = int(subprocess.run([mp32, "-X", "heapsize=2M", tool, str(mpy), "imports"], capture_output=True,
                              text=True, check=True).stdout)
    r = hour(mpy, 2 * 1024 * 1024)
    print("32-bit, code loaded from .mpy: code %d B; live app data after the hour %d B (peak %d B)"
          % (code, int(r[1]) - code, int(r[2]) - code))
    import contextlib
    import io
    w = VfsRomWriter()
    with contextlib.redirect_stdout(io.StringIO()):          # it prints the tree
        copy_recursively(w, str(mpy) + "/", "", False)
    img = tmp / "fw.romfs"
    img.write_bytes(w.finalise())
    out = subprocess.run([mp32, "-X", "heapsize=2M", tool, str(img), "imports"], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    qstr = [int(x.split("n_total_bytes=")[1]) for x in out if "n_total_bytes=" in x]
    created = int(out[-2] if not out[-1].strip() else out[-1])
    base = len(img.read_bytes()) + 4096      # the image block and the interpreter's own start-up objects
    lo, hi = 16, 256                         # KiB beyond `base`
    if hour(img, base + hi * 1024) is None:
        print("32-bit ROMFS hour failed in image + %d KiB" % hi)
        return
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if hour(img, base + mid * 1024) is None:
            lo = mid
        else:
            hi = mid
    r = hour(img, base + hi * 1024)
    print("32-bit, code in place (ROMFS): created at import %d B (of which qstrs %d B); live after the hour %d B; "
          "the hour runs in image + 4 KiB + %d KiB of heap" % (created, qstr[-1] - qstr[0], int(r[1]) - created, hi))


if __name__ == "__main__":
    if MICRO:
        _mp_main()
    else:
        _host_main()
