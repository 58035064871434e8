#!/usr/bin/env python3
"""Replay a measured trace through the real firmware and print the VE.Direct byte stream it would send.

    .venv/bin/python tools/replay.py TRACE.csv [--set NAME=VALUE]... [--runtime cpython|micropython]
                                     [--micropython BINARY] [--state DIR] [--frame-every SECONDS]
                                     [--log FILE] [--start-soc PERCENT]

TRACE.csv has the header t_ms,voltage_mv,current_ma, optionally followed by aux (further columns are ignored); one
row per measurement, t_ms strictly increasing. aux is what the aux input reads (aux_input: mV at the aux input for
starter or midpoint, 0.01 degC for temperature); an empty cell or --- means no value (the sensor gave none). The current of row k applies from row k-1 to row k (battery-monitor.md §0.4). After the
first row whose t_ms >= 1000·s the firmware sends block A then block B for second s (only for s divisible by
--frame-every). --state DIR is the board's flash: restored at start, saved by the normal rules, and the end of
the trace is a power cut. --set values are in force from the start, as if stored before the power-up (after the
stored ones). Every diagnostic the board prints at boot goes to stderr. A bad trace or setting exits with status 2
and one line on stderr, and nothing on stdout; an output that cannot be written (closed, disk full) exits 1 with
one line. Lines end with LF or CR LF; the three columns are ASCII integers. --log FILE writes the firmware's
per-second log (tools/fw_log.py: SOC, sync terms, warnings), which tools/whatif.py reads. --start-soc sets the
SOC before the first row, as set_soc would (e.g. to start where the recording device was).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import hostpath  # noqa: E402,F401  (firmware/ on sys.path, and the const stand-in)

from shunt import settings as st  # noqa: E402
from shunt.convert import V_MAX_MV, I_MAX_MA  # noqa: E402
import fw_replay  # noqa: E402
from fw_replay import TraceError  # noqa: E402

HEADER = ["t_ms", "voltage_mv", "current_ma"]
AUX_LIMIT = 819175       # the widest the aux input can read: 40.96 V at the pin through a 20.000 divider, in mV


def check_trace(path: Path) -> int:
    """Validate the whole trace before anything runs; returns the number of rows. Every line is read with the
    firmware runner's own parser (fw_replay.parse_row), so whatever passes here reads identically under both
    runtimes; the rows must be UTF-8, t_ms strictly increasing, no gap (the first row's from 0) of 2^29 ms or
    more, values within the INA226's reach."""
    try:
        f = path.open("rb")
    except OSError as e:
        raise TraceError(f"cannot read {path}: {e.strerror}")
    with f:
        lineno = 1
        try:
            header = f.readline()
            _utf8(header, 1)
            has_aux = fw_replay.parse_header(header)
            prev = 0            # the first row's gap counts from t = 0 (issue 14: a first t_ms of 10^13)
            rows = 0
            for raw in f:
                lineno += 1
                _utf8(raw, lineno)
                row = fw_replay.parse_row(raw, has_aux)
                if row is None:
                    continue
                t, v, i = row[:3]
                if has_aux and row[3] is not None and not -AUX_LIMIT <= row[3] <= AUX_LIMIT:
                    raise TraceError(f"aux {row[3]} out of the measurable range (±{AUX_LIMIT})")
                if t < 0:
                    raise TraceError(f"t_ms {t} is negative")
                if rows and t <= prev:
                    raise TraceError(f"t_ms {t} is not after the previous row's {prev}")
                if not 0 <= v <= V_MAX_MV or not -I_MAX_MA <= i <= I_MAX_MA:
                    raise TraceError(f"value out of the measurable range (voltage 0..{V_MAX_MV} mV, "
                                     f"current ±{I_MAX_MA} mA)")
                if t - prev >= 1 << 29:
                    since = "since t = 0 " if not rows else ""
                    raise TraceError(f"gap of {t - prev} ms {since}is longer than ticks_diff allows (2^29)")
                prev = t
                rows += 1
        except TraceError as e:
            raise TraceError(f"line {lineno}: {e}")
    if rows == 0:
        raise TraceError("the trace has no rows")
    return rows


def _utf8(raw: bytes, lineno: int) -> None:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise TraceError("not UTF-8 text")


def parse_sets(items: list[str]) -> list[tuple[str, str]]:
    out = []
    for kv in items:
        name, sep, value = kv.partition("=")
        if not sep:
            raise ValueError(f"--set {kv!r}: must be NAME=VALUE")
        st.parse(name.strip(), value)            # validation only; raises ValueError naming the setting
        out.append((name.strip(), value))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="replay.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("trace", type=Path, help="CSV with header t_ms,voltage_mv,current_ma[,aux]")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="a setting by its spec name, e.g. capacity=100 (repeatable)")
    ap.add_argument("--runtime", choices=("cpython", "micropython"), default="cpython",
                    help="run the firmware under CPython or the MicroPython unix port (same bytes)")
    ap.add_argument("--micropython", type=Path, metavar="BINARY",
                    help="the MicroPython binary for --runtime micropython (default: the venv's), e.g. a 32-bit "
                         "build whose 31-bit small ints are the ESP32's")
    ap.add_argument("--state", type=Path, help="directory used as the board's flash")
    ap.add_argument("--frame-every", type=int, default=1, metavar="SECONDS",
                    help="send the block pair only for seconds divisible by this")
    ap.add_argument("--log", type=Path, metavar="FILE", help="write the firmware's per-second log (CSV)")
    ap.add_argument("--start-soc", metavar="PERCENT", help="set_soc before the first row (0.00..100.00)")
    a = ap.parse_args(argv)
    try:
        if a.frame_every < 1:
            raise ValueError(f"--frame-every {a.frame_every}: must be 1 or more")
        sets = parse_sets(a.set)
        start_soc = parse_soc(a.start_soc) if a.start_soc is not None else None
        check_trace(a.trace)
        if a.state is not None:
            a.state.mkdir(parents=True, exist_ok=True)
        if a.micropython is not None and (a.runtime != "micropython" or not a.micropython.is_file()):
            raise ValueError(f"--micropython {a.micropython}: needs --runtime micropython and an existing binary")
    except (TraceError, ValueError) as e:
        print(f"replay: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"replay: {e}", file=sys.stderr)
        return 2
    if sys.stdout is None:             # started with stdout closed (>&-): Python has no stream for it
        print("replay: cannot write the output: stdout is closed", file=sys.stderr)
        return 1
    return run(a.trace, sets, a.runtime, sys.stdout.buffer, a.state, a.frame_every, a.log, start_soc=start_soc,
               micropython=a.micropython)


def parse_soc(text: str) -> int:
    """A SOC in % with at most two decimals -> 0.01 % (the console's set_soc rule: the firmware's parser)."""
    cpct = st.parse_fixed(text.strip(), 2)
    if cpct is None or not 0 <= cpct <= 10000:
        raise ValueError(f"--start-soc {text!r}: must be 0.00..100.00")
    return cpct


def run(trace: Path, sets: list[tuple[str, str]], runtime: str, out, state: Path | None = None,
        frame_every: int = 1, log: Path | None = None, events: Path | None = None,
        start_soc: int | None = None, micropython: Path | None = None) -> int:
    """The firmware over a checked trace (check_trace, parse_sets): the byte stream to `out`, the per-second log
    and the warning events (tools/fw_log.py) to their files. Returns the exit status."""
    if runtime == "cpython":
        files = [p.open("w") if p else None for p in (log, events)]
        try:
            fw_replay.replay(str(trace), sets, str(state) if state else None, frame_every, out,
                             lambda s: print(s, file=sys.stderr), files[0], files[1], start_soc)
            out.flush()
        except OSError as e:
            # a closed stdout or a full disk: one line, and no second complaint when Python flushes at exit
            _quiet_stdout()
            print(f"replay: cannot write the output: {e.strerror or e}", file=sys.stderr)
            return 1
        finally:
            for f in files:
                if f is not None:
                    f.close()
        return 0
    mp = micropython.resolve() if micropython is not None else Path(sys.executable).parent / "micropython"
    cmd = [str(mp), "-X", "heapsize=4M", str(ROOT / "tools" / "fw_replay.py"), str(trace.resolve()),
           "--frame-every", str(frame_every)]
    if state is not None:
        cmd += ["--state", str(state.resolve())]
    if log is not None:
        cmd += ["--log", str(log.resolve())]
    if events is not None:
        cmd += ["--events", str(events.resolve())]
    if start_soc is not None:
        cmd += ["--start-soc", str(start_soc)]
    for name, value in sets:
        cmd += ["--set", f"{name}={value}"]
    try:
        r = subprocess.run(cmd, stdout=out)
    except OSError as e:
        print(f"replay: cannot run MicroPython ({e}): run the README's set-up command", file=sys.stderr)
        return 2
    if r.returncode < 0:
        # killed by a signal: SIGPIPE when the reader of stdout went away
        print(f"replay: the MicroPython run ended by signal {-r.returncode}"
              f"{' (output closed)' if -r.returncode == 13 else ''}", file=sys.stderr)
        return 1
    return r.returncode


def _quiet_stdout() -> None:
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
