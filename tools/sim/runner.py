"""Drive the real firmware (tools/fw_sim.py, CPython or MicroPython) with the true battery, chargers and loads.

The physics steps once per second in this process; the firmware runs in a child process fed over the pipe
protocol (T/W/N/C/X/Q lines, tools/fw_sim.py). With a speed (a live port: pty or serial) the firmware runs on the
wall clock: W lines every TICK_S carry the wall clock's simulated time, so text goes out every 1000/speed ms
whatever the battery does, and HEX from the port is answered at once. A power cut ends the child (Q, no extra save) and starts a new one on the same
--state directory, with its own time axis from 0, while the battery carries on.
"""
from __future__ import annotations

import csv
import math
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .battery import Battery
from .charger import Charger
from .loads import Load
from .scenario import Scenario
from fw_log import LOG_COLUMNS

ROOT = Path(__file__).resolve().parents[2]
TICK_S = 0.02           # live mode: the firmware's clock advances every 20 ms of wall time (the board's port task),
TICK_MIN_S = 0.005      # or every period/20 at higher speeds, at least 5 ms apart
FW_SIM = "tools/fw_sim.py"
FW_COLUMNS = LOG_COLUMNS      # the firmware's per-second log (tools/fw_log.py owns the columns)
SYNC_KINDS = {1: "auto", 2: "manual"}


class SimError(RuntimeError):
    """The run could not complete (firmware process died, bad reply, ...): one line for the user."""


def runtime_cmd(runtime: str) -> list[str]:
    if runtime == "cpython":
        py = ROOT / ".venv" / "bin" / "python"
        return [str(py) if py.exists() else sys.executable]
    if runtime == "micropython":
        mp = ROOT / ".venv" / "bin" / "micropython"
        if not mp.exists():
            raise SimError("micropython runtime: %s not found" % mp)
        return [str(mp), "-X", "heapsize=2M"]
    raise SimError("runtime %r: must be cpython or micropython" % runtime)


class Sink:
    """Where the VE.Direct byte stream goes. write() must never block the simulation for long."""

    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


class FileSink(Sink):
    def __init__(self, f, close: bool):
        self.f, self._close = f, close

    def write(self, data: bytes) -> None:
        self.f.write(data)
        self.f.flush()

    def close(self) -> None:
        if self._close:
            self.f.close()


class LineSink(Sink):
    """A live line (pty, serial port): the simulation hands over whole units (a text cycle, the pending HEX
    replies) and never waits; every unit is completed, however many partial writes the port takes, so a reader
    never sees a cut block. A unit goes out at once when the port takes it (`_try_write`, non-blocking); the rest,
    and whatever comes while a unit is still going out, is finished by a writer thread. A port nobody reads fills
    up: then the oldest units not yet started are dropped whole (at most `queue_max` bytes wait), as bytes sent
    to an unplugged UART are lost. Subclasses implement `_write_some(data) -> int` (may wait a little, returns
    the bytes taken) and may implement `_try_write(data) -> int` (never waits)."""

    def __init__(self, queue_max: int = 16384):
        import collections
        self._q: collections.deque = collections.deque()
        self._queued = 0
        self._cur = None                  # the unit being written (started: never dropped)
        self.queue_max = queue_max
        self.dropped_bytes = 0
        self._cv = threading.Condition()
        self._closing = False
        self._t = threading.Thread(target=self._writer, daemon=True)
        self._t.start()

    def write(self, data: bytes) -> None:
        with self._cv:
            if self._cur is None and not self._q:
                n = self._try_write(data)
                if n >= len(data):
                    return
                self._cur = memoryview(bytes(data))[n:]
                self._cv.notify()
                return
            self._q.append(bytes(data))
            self._queued += len(data)
            while self._queued > self.queue_max and len(self._q) > 1:
                old = self._q.popleft()
                self._queued -= len(old)
                self.dropped_bytes += len(old)
            self._cv.notify()

    def _writer(self) -> None:
        while True:
            with self._cv:
                while self._cur is None and not self._q and not self._closing:
                    self._cv.wait()
                if self._cur is None:
                    if not self._q:
                        return
                    data = self._q.popleft()
                    self._queued -= len(data)
                    self._cur = memoryview(data)
                mv = self._cur
            while mv:
                try:
                    n = self._write_some(mv)
                except OSError:
                    n = 0
                    if self._closing:
                        return
                    time.sleep(0.05)
                mv = mv[n:]
                if self._closing and n == 0:
                    return
            with self._cv:
                self._cur = None

    def _try_write(self, data) -> int:
        return 0

    def _write_some(self, data) -> int:
        return len(data)

    def close(self) -> None:
        with self._cv:
            self._closing = True
            self._cv.notify()
        self._t.join(timeout=2)


class Firmware:
    """One firmware process (one power-on period)."""

    def __init__(self, cmd: list[str], state_dir: str, log_path: str, sets: dict[str, str], sink: Sink,
                 seed: int = 1, extra: list[str] | None = None):
        args = cmd + [FW_SIM, "--state", state_dir, "--log", log_path, "--seed", str(seed)] + (extra or [])
        if type(sink) is Sink:
            # no VE.Direct consumer: the firmware skips building text cycles (HEX still answered)
            args += ["--text-every", "0"]
        for k, v in sets.items():
            args += ["--set", "%s=%s" % (k, v)]
        self.log_path = log_path
        self.sink = sink
        try:
            # no VE.Direct consumer: the stream goes straight to /dev/null instead of through a reader thread
            out = subprocess.PIPE if type(sink) is not Sink else subprocess.DEVNULL
            self.p = subprocess.Popen(args, cwd=str(ROOT), stdin=subprocess.PIPE, stdout=out,
                                      stderr=subprocess.PIPE, bufsize=0)
        except OSError as e:
            raise SimError("cannot start the firmware (%s): %s" % (" ".join(args[:2]), e)) from None
        self._lock = threading.Lock()
        self._buf: list[str] = []
        self.replies: queue.Queue = queue.Queue()
        self.stderr_tail: list[str] = []
        self._t_out = threading.Thread(target=self._pump_stdout, daemon=True)
        self._t_err = threading.Thread(target=self._pump_stderr, daemon=True)
        self._t_out.start()
        self._t_err.start()

    def _pump_stdout(self) -> None:
        if self.p.stdout is None:
            return
        fd = self.p.stdout.fileno()
        while True:
            data = os.read(fd, 65536)
            if not data:
                return
            self.sink.write(data)

    def _pump_stderr(self) -> None:
        cur: list[str] = []
        for raw in self.p.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.stderr_tail = (self.stderr_tail + [line])[-40:]
            if line.startswith("console on 127.0.0.1:"):
                print(line, file=sys.stderr, flush=True)     # the port fw_sim bound (--console-port 0)
                continue
            cur.append(line)
            if line.startswith("OK") or line.startswith("ERR"):
                self.replies.put(cur)
                cur = []
        self.replies.put(None)

    # -- pipe protocol ----------------------------------------------------------------------------------------
    def line(self, text: str) -> None:
        self._buf.append(text)
        if len(self._buf) >= 2000:
            self.flush()

    def flush(self) -> None:
        if not self._buf:
            return
        data = ("\n".join(self._buf) + "\n").encode()
        self._buf = []
        with self._lock:
            try:
                self.p.stdin.write(data)
                self.p.stdin.flush()
            except (BrokenPipeError, OSError):
                raise SimError("the firmware process stopped: %s" % self.last_error()) from None

    def send_now(self, text: str) -> None:
        self.line(text)
        self.flush()

    def command(self, text: str, timeout: float = 120.0) -> list[str]:
        """Run a console command at the current simulated time; the reply lines, the last one OK... or ERR..."""
        self.send_now("C " + text)
        try:
            r = self.replies.get(timeout=timeout)
        except queue.Empty:
            raise SimError("no reply from the firmware to %r within %.0f s" % (text, timeout)) from None
        if r is None:
            raise SimError("the firmware process stopped before replying to %r: %s" % (text, self.last_error()))
        return r

    def last_error(self) -> str:
        lines = [x for x in self.stderr_tail if x.strip()]
        return lines[-1].strip() if lines else "exit status %s" % self.p.poll()

    def stop(self) -> None:
        """Power cut: Q, end of input, wait for the process."""
        try:
            self.send_now("Q")
            self.p.stdin.close()
        except (SimError, OSError):
            pass
        try:
            rc = self.p.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.p.kill()
            raise SimError("the firmware process did not stop after Q") from None
        self._t_out.join(timeout=10)
        self._t_err.join(timeout=10)
        if rc != 0:
            raise SimError("the firmware process failed (status %d): %s" % (rc, self.last_error()))

    def kill(self) -> None:
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()

    def read_log(self) -> list[list[int]]:
        rows = []
        try:
            with open(self.log_path, newline="") as f:
                r = csv.reader(f)
                head = next(r, None)
                if head is None:
                    return rows
                idx = [head.index(c) for c in FW_COLUMNS]
                for row in r:
                    if row:
                        rows.append([int(row[j]) if row[j] != "" else None for j in idx])
        except (OSError, ValueError) as e:
            raise SimError("firmware log %s unreadable: %s" % (self.log_path, e)) from None
        return rows


def parse_reply(lines: list[str]) -> dict[str, str]:
    """key=value lines of a console reply (sync_status, warnings) as a dict of strings."""
    d = {}
    for ln in lines:
        if "=" in ln and not ln.startswith(("OK", "ERR")):
            k, _, v = ln.partition("=")
            d[k.strip()] = v.strip()
    return d


def reply_int(d: dict[str, str], key: str) -> int | None:
    """The leading integer of a value ("14400 mV" -> 14400; "---" -> None)."""
    v = d.get(key, "").split(" ")[0]
    try:
        return int(v)
    except ValueError:
        try:
            return round(float(v))
        except ValueError:
            return None


@dataclass
class RunResult:
    scenario: Scenario
    runtime: str
    # one entry per simulated second (index = t_s); firmware columns are None while it is off
    t: list[int] = field(default_factory=list)
    true_soc: list[float] = field(default_factory=list)
    true_v: list[float] = field(default_factory=list)
    true_aux: list = field(default_factory=list)        # the aux input's true value (mV or 0.01 degC), or None
    battery_a: list[float] = field(default_factory=list)
    shunt_a: list[float] = field(default_factory=list)
    fw: list = field(default_factory=list)             # firmware row (FW_COLUMNS, t_s made global) or None
    syncs: list[tuple[int, str]] = field(default_factory=list)
    power_cuts: list[tuple[int, int]] = field(default_factory=list)   # (cut at t_s, back at t_s)
    commands: list[tuple[int, str, list[str]]] = field(default_factory=list)
    segments: list[tuple[int, int, int]] = field(default_factory=list)  # per firmware process: (start t_s,
    #                                                     first and last op_time_s in its log; -1 if none)
    final_sync_status: dict[str, str] = field(default_factory=dict)
    final_warnings: dict[str, str] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def col(self, name: str) -> list:
        j = FW_COLUMNS.index(name)
        return [None if r is None else r[j] for r in self.fw]


class Runner:
    def __init__(self, sc: Scenario, runtime: str = "cpython", sink: Sink | None = None,
                 progress: Callable[[float], None] | None = None, speed: float = 0.0,
                 hex_source: Callable[[], bytes] | None = None, fw_args: list[str] | None = None):
        self.sc = sc
        self.fw_args = fw_args or []      # passed to tools/fw_sim.py, e.g. the TCP console
        self.runtime = runtime
        self.cmd = runtime_cmd(runtime)
        self.sink = sink or Sink()
        self.progress = progress
        self.speed = speed                # > 0: a live device at speed x real time (pty/serial): the firmware
        #                                   runs on the wall clock (W lines every 5-20 ms), text every 1000/speed ms
        self.hex_source = hex_source      # bytes from a GX for the firmware's VE.Direct RX
        self.trace = None                 # a solved trace replaces the physics (battery.model = "pybamm")
        self.log = None                   # where a note about a long solve goes (simulate.py: stderr)
        if sc.battery.model == "fast":
            self._init_world(sc)

    def _init_world(self, sc: Scenario) -> None:
        t0 = sc.start_tod_s
        k = sc.battery.nominal_voltage / 12.0
        if sc.battery.model == "pybamm":
            from .pybamm_battery import PybammBattery
            self.battery = PybammBattery(sc.battery)
        else:
            self.battery = Battery(sc.battery)
        self.aux_world = None
        if sc.aux is not None:
            # issue 18: the aux input's physical side; a mid-point needs the bank as two series halves
            from .aux import AuxWorld, SeriesBank
            if sc.aux.mode == "midpoint":
                self.battery = SeriesBank(sc.battery, sc.aux, t0)
            self.aux_world = AuxWorld(sc.aux, t0, self.battery if sc.aux.mode == "midpoint" else None)
        self.chargers = [Charger(c, sc.seed * 1000 + n, t0) for n, c in enumerate(sc.chargers)]
        self.loads = [Load(p, sc.seed * 1000 + 500 + n, t0, k) for n, p in enumerate(sc.loads)]
        self._guess = 0.0
        self.system_off = False

    def _use_trace(self, n_total: int) -> None:
        from . import traces
        try:
            self.trace = traces.load_or_solve(self.sc, n_total + 1, self.progress, self.log)
        except Exception as e:
            if isinstance(e, SimError):
                raise
            raise SimError("PyBaMM battery: %s" % e) from None
        self.battery = self.trace
        self.chargers, self.loads = [], []
        self.system_off = False

    # -- physics ------------------------------------------------------------------------------------------------
    def step(self, t: float, dt: float) -> tuple[float, float, float]:
        """One step of the physical world: (terminal V, battery current, shunt current)."""
        if self.trace is not None:
            return self.trace.at(int(t))
        b = self.battery
        if hasattr(b, "fade"):
            b.fade(t)
        v0 = b.v
        load_a = 0.0
        bypass_load = 0.0
        for ld in self.loads:
            a = 0.0 if self.system_off else ld.current_a(t, v0)
            load_a += a
            if ld.p.bypass:
                bypass_load += a
        avail = [0.0 if self.system_off else c.available_a(t, v0, dt) for c in self.chargers]
        total = sum(avail)
        if total > 0.0:
            # Chargers in parallel regulate to the highest set-point among those delivering (an approximation).
            v_set = max(c.setpoint_v() for c, a in zip(self.chargers, avail) if a > 0.0)
            i = total - load_a
            v, _, _ = b.terminal(i, dt)
            if v > v_set:
                lo = -load_a
                vlo, _, _ = b.terminal(lo, dt)
                i = lo if vlo >= v_set else b.current_for_voltage(v_set, dt, lo, i, self._guess)
            supplied = i + load_a
        else:
            i = -load_a
            supplied = 0.0
        self._guess = i
        v = b.commit(i, dt)
        bypass_chg = 0.0
        for c, a in zip(self.chargers, avail):
            out = supplied * a / total if total > 0.0 else 0.0
            if c.p.bypass:
                bypass_chg += out
            c.update(a, v, out, dt)
        return v, i, i - bypass_chg + bypass_load

    # -- run --------------------------------------------------------------------------------------------------
    def run(self) -> RunResult:
        sc = self.sc
        res = RunResult(sc, self.runtime)
        start = time.monotonic()
        n_total = int(round(sc.duration_s))
        if sc.battery.model == "pybamm" and self.trace is None:
            self._use_trace(n_total)
            start = time.monotonic()
        events = list(sc.events)
        with tempfile.TemporaryDirectory(prefix="shunt-sim-") as tmp:
            state = os.path.join(tmp, "state")
            os.makedirs(state)
            seg = 0
            fw = None
            base = 0                       # global second at which the current firmware process started
            noise = (sc.noise_uv, sc.offset_uv)
            last_sent = None
            rows_of: list[tuple[int, Firmware]] = []
            last_aux = None
            hex_stop = threading.Event()
            try:
                t = 0
                while t <= n_total:
                    if fw is None:
                        log = os.path.join(tmp, "fw%d.csv" % seg)
                        fw = Firmware(self.cmd, state, log, sc.settings if seg == 0 else {}, self.sink,
                                      seed=sc.seed * 100 + seg, extra=self.fw_args + self._live_args())
                        seg += 1
                        base = t
                        rows_of.append((base, fw))
                        fw.line("N %d %d" % (round(noise[0]), round(noise[1])))
                        last_sent = None
                        if self.hex_source is not None:
                            self._start_hex(fw, hex_stop)
                    if self.speed > 0.0 and t > base:
                        # live: the firmware's clock follows the wall clock up to this second, with the values of
                        # the last one; this second's events and values arrive when it starts
                        self._tick_until(fw, start, base, t)
                    cut = None
                    while events and events[0].at_s <= t:
                        ev = events.pop(0)
                        if ev.kind == "command":
                            if last_sent is None or last_sent[0] != t:
                                self._advance(fw, t - base, res)
                                last_sent = (t,)
                            res.commands.append((t, ev.command, fw.command(ev.command)))
                        elif ev.kind == "power_cut":
                            cut = ev
                            break
                        elif ev.kind == "charger" and self.trace is None:
                            next(c for c in self.chargers if c.p.name == ev.target).p.enabled = ev.enabled
                        elif ev.kind == "load" and self.trace is None:
                            next(x for x in self.loads if x.p.name == ev.target).p.enabled = ev.enabled
                        elif ev.kind in ("charger", "load"):
                            pass                  # already in the solved trace
                        else:
                            noise = (ev.noise_uv, ev.offset_uv)
                            fw.line("N %d %d" % (round(noise[0]), round(noise[1])))
                    if cut is not None or t == n_total:
                        # advance the firmware to t (values of the last interval hold until t)
                        self._advance(fw, t - base, res)
                        if t == n_total and cut is None:
                            res.final_sync_status = parse_reply(fw.command("sync_status"))
                            res.final_warnings = parse_reply(fw.command("warnings"))
                        fw.stop()
                        fw = None
                        if t == n_total:
                            break
                        off = int(round(cut.off_s))
                        res.power_cuts.append((t, t + off))
                        self.system_off = cut.system_off
                        for _ in range(off):
                            if t >= n_total:
                                break
                            self._record(res, t, *self.step(float(t), 1.0))
                            t += 1
                            if self.speed > 0.0:
                                self._sleep_until(start, t)
                        self.system_off = False
                        continue
                    v, i, ish = self.step(float(t), 1.0)
                    self._record(res, t, v, i, ish)
                    aux_x = None
                    aux_world = getattr(self, "aux_world", None)     # a trace replay (sim.traces) has none
                    if aux_world is not None:
                        x = aux_world.value(float(t))
                        res.true_aux[-1] = x
                        if last_aux is None or x != last_aux[1] or last_aux[0] is not fw:
                            aux_x = x
                            last_aux = (fw, x)
                    key = (round(v * 1000), round(ish * 1000))
                    if last_sent is None or key != last_sent[1:] or aux_x is not None:
                        # T advances the firmware to t first: a new aux value must not reach earlier seconds
                        fw.line("T %d %d %d" % ((t - base) * 1000, key[0], key[1]))
                        last_sent = (t,) + key
                    if aux_x is not None:
                        fw.line("A %d" % aux_x)
                    if self.speed > 0.0 and (aux_x is not None or last_sent[0] == t):
                        fw.flush()
                    t += 1
                    if self.progress is not None and t % 600 == 0:
                        self.progress(t / max(1, n_total))
            except BaseException:
                hex_stop.set()
                if fw is not None:
                    fw.kill()
                raise
            hex_stop.set()
            self._merge(res, rows_of, n_total)
        res.elapsed_s = time.monotonic() - start
        if self.progress is not None:
            self.progress(1.0)
        return res

    def _live_args(self) -> list[str]:
        if self.speed <= 0.0:
            return []
        # the 1 s text pause after HEX is wall time: 1000 x speed simulated ms
        return ["--live", "--hold-ms", str(max(1, round(1000 * self.speed)))]

    def _sleep_until(self, start: float, t: int) -> None:
        ahead = t / self.speed - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)

    def _tick_until(self, fw: Firmware, start: float, base: int, t: int) -> None:
        """Live mode: W lines with the wall clock's simulated time, every TICK_S, until second t starts. A late
        tick carries the true time, so the firmware never drifts behind, and the port's schedule sends no burst
        to catch up (VD §3.7)."""
        end_ms = (t - base) * 1000
        while True:
            now_ms = int((time.monotonic() - start) * self.speed * 1000) - base * 1000
            if now_ms >= end_ms:
                fw.send_now("W %d" % end_ms)
                return
            fw.send_now("W %d" % now_ms)
            tick = max(TICK_MIN_S, min(TICK_S, 0.05 / self.speed))
            time.sleep(min(tick, (end_ms - now_ms) / 1000.0 / self.speed))

    @staticmethod
    def _advance(fw: Firmware, t_rel: int, res: RunResult) -> None:
        """Bring the firmware clock to t_rel with the values of the last interval (they hold until then)."""
        if res.shunt_a and t_rel > 0:
            fw.line("T %d %d %d" % (t_rel * 1000, round(res.true_v[-1] * 1000), round(res.shunt_a[-1] * 1000)))

    def _start_hex(self, fw: Firmware, stop: threading.Event) -> None:
        def pump():
            while not stop.is_set() and fw.p.poll() is None:
                data = self.hex_source()
                if data:
                    try:
                        with fw._lock:
                            fw.p.stdin.write(b"X " + data.hex().encode() + b"\n")
                            fw.p.stdin.flush()
                    except (OSError, ValueError):
                        return
        threading.Thread(target=pump, daemon=True).start()

    def _record(self, res: RunResult, t: int, v: float, i: float, ish: float) -> None:
        res.t.append(t)
        res.true_soc.append(self.battery.soc * 100.0)
        res.true_v.append(v)
        res.true_aux.append(None)
        res.battery_a.append(i)
        res.shunt_a.append(ish)

    def _merge(self, res: RunResult, rows_of, n_total: int) -> None:
        res.fw = [None] * len(res.t)
        for base, fw in rows_of:
            prev_count = 0
            rows = fw.read_log()
            # The log's t_s is the firmware's op_time at the end of each second; it continues from the restored
            # value after a power cut, so the first row of each process marks the end of its first second.
            op0 = rows[0][0] if rows else 0
            res.segments.append((base, op0 if rows else -1, rows[-1][0] if rows else -1))
            for row in rows:
                g = base + row[0] - op0
                if 0 <= g < len(res.fw):
                    row = list(row)
                    row[0] = g
                    res.fw[g] = row
                    if row[9] > prev_count:
                        res.syncs.append((g, SYNC_KINDS.get(row[10], "?")))
                    prev_count = row[9]
