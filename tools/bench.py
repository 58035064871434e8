# Benchmarks (not tests): per-sample step cost and allocation, text block cost, replay and simulator speed,
# and the board app's heap after one simulated hour in a 64 KiB heap. Figures go into the README.
#   .venv/bin/python tools/bench.py            (runs itself under the MicroPython unix port too)
# Under MicroPython this file prints the micro-benchmarks as "name value" lines for the CPython side.
import sys

MICRO = sys.implementation.name == "micropython"
_HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
sys.path.insert(0, _HERE + "/../firmware")

from shunt.settings import Settings   # noqa: E402
from shunt.monitor import Monitor     # noqa: E402
from shunt.vedirect import TextBuilder  # noqa: E402

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
    import os
    import subprocess
    import tempfile
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description="Benchmarks of the core, replay and simulator (figures for README)")
    ap.add_argument("--skip-sim", action="store_true", help="skip the 3-day simulator run")
    ap.parse_args()
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

        # the board app under a 64 KiB heap for one simulated hour (fake INA226 at its standard 141 ms)
        inp = Path(d) / "hour.txt"
        with inp.open("w") as f:
            f.write("N 50 0\n")
            for s in range(3601):
                f.write("T %d 12800 %d\n" % (s * 1000, -20000 if (s // 600) % 2 else 15000))
            f.write("C heap\nQ\n")
        probe = Path(d) / "probe.py"
        probe.write_text(HEAP_PROBE % {"root": str(root)})
        r = subprocess.run([mp, "-X", "heapsize=64k", str(probe), str(inp)], capture_output=True, text=True)
        print("board app, 1 simulated hour at 141 ms samples, -X heapsize=64k: %s" % (r.stdout.strip() or r.stderr))

    if not getattr(ap.parse_args(), "skip_sim", False):
        try:
            sys.path.insert(0, str(root / "tools"))
            from sim.bench_sim import bench_simulator
            secs = bench_simulator()
            print("simulator, healthy 3-day scenario at ~1 sample/s: %.1f s" % secs)
        except ImportError as e:
            print("simulator benchmark unavailable: %s" % e)


# Runs the real App with the fake INA226 at the standard timing for an hour, in a 64 KiB heap; prints the heap
# in use after gc.collect() at the end.
HEAP_PROBE = '''
import sys, gc
sys.path.insert(0, "%(root)s/firmware")
sys.path.insert(0, "%(root)s/tools")
from app import App
from fakes.fake_ina226 import FakeI2C, FakeINA226
class NullUART:
    n = 0
    def write(self, b):
        self.n += len(b)
        return len(b)
    def readinto(self, b):
        return None
class MemStore:
    w10 = False
    def path(self, n): return "/x/" + n
    def load_state(self): return None, []
    def save_state(self, v): return True, []
    def load_json(self, n): return None, []
    def save_json(self, n, o): return True, []
    def mark_bad(self, n, r): pass
chip = FakeINA226(); i2c = FakeI2C(chip); uart = NullUART()
app = App(i2c, uart, store=MemStore(), log=lambda s: None)
app.start(0)
peak = 0
t = 0
for line in open(sys.argv[1]):
    f = line.split()
    if f[0] == "T":
        end = int(f[1])
        chip.set_current_ma(int(f[3]), 500, 50)
        chip.set_battery_mv(int(f[2]))
        while t < end:
            t += 20
            chip.set_time_ms(t)
            app.poll_sensor(t)
            app.poll_port(t)
        gc.collect()
        used = gc.mem_alloc()
        if used > peak:
            peak = used
gc.collect()
print("%%d bytes in use after gc (peak %%d of %%d), %%d samples, %%d bytes of VE.Direct" %% (
    gc.mem_alloc(), peak, gc.mem_alloc() + gc.mem_free(), app.ina.samples, uart.n))
'''

if __name__ == "__main__":
    if MICRO:
        _mp_main()
    else:
        _host_main()
