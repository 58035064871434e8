#!/usr/bin/env python3
"""Replay a measured trace through the real firmware and print the VE.Direct byte stream it would send.

    .venv/bin/python tools/replay.py TRACE.csv [--set NAME=VALUE]... [--runtime cpython|micropython]
                                     [--state DIR] [--frame-every SECONDS]

TRACE.csv has the header t_ms,voltage_mv,current_ma, optionally followed by aux (further columns are ignored); one
row per measurement, t_ms strictly increasing. aux is what the aux input reads (aux_input: mV at the aux input for
starter or midpoint, 0.01 degC for temperature); an empty cell or --- means no value (the sensor gave none). The current of row k applies from row k-1 to row k (battery-monitor.md §0.4). After the
first row whose t_ms >= 1000·s the firmware sends block A then block B for second s (only for s divisible by
--frame-every). --state DIR is the board's flash: restored at start, saved by the normal rules, and the end of
the trace is a power cut. A bad trace or setting exits with status 2 and one line on stderr, and nothing on stdout.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "firmware"))
sys.path.insert(0, str(ROOT / "tools"))

from shunt import settings as st  # noqa: E402

HEADER = ["t_ms", "voltage_mv", "current_ma"]
AUX_COLUMN = "aux"
AUX_LIMIT = 819175       # the widest the aux input can read: 40.96 V at the pin through a 20.000 divider, in mV


class TraceError(ValueError):
    pass


def _int(text: str, what: str, lineno: int) -> int:
    t = text.strip()
    body = t[1:] if t[:1] == "-" else t
    if not body.isdigit() or not body.isascii():
        raise TraceError(f"line {lineno}: {what} {t!r} is not an integer")
    return int(t)


def check_trace(path: Path) -> int:
    """Validate the whole trace before anything runs; returns the number of rows."""
    try:
        f = path.open(encoding="utf-8", newline="")
    except OSError as e:
        raise TraceError(f"cannot read {path}: {e.strerror}")
    with f:
        try:
            header = f.readline()
        except UnicodeDecodeError:
            raise TraceError("line 1: not UTF-8 text")
        cols = [c.strip() for c in header.strip().split(",")]
        if cols[:3] != HEADER:
            raise TraceError(f"line 1: header must start with t_ms,voltage_mv,current_ma (got {header.strip()!r})")
        has_aux = len(cols) > 3 and cols[3] == AUX_COLUMN
        prev = None
        rows = 0
        lineno = 1
        try:
            for line in f:
                lineno += 1
                if not line.strip():
                    continue
                parts = line.strip().split(",")
                if len(parts) < 3:
                    raise TraceError(f"line {lineno}: needs 3 columns t_ms,voltage_mv,current_ma")
                t = _int(parts[0], "t_ms", lineno)
                v = _int(parts[1], "voltage_mv", lineno)
                i = _int(parts[2], "current_ma", lineno)
                if t < 0:
                    raise TraceError(f"line {lineno}: t_ms {t} is negative")
                if prev is not None and t <= prev:
                    raise TraceError(f"line {lineno}: t_ms {t} is not after the previous row's {prev}")
                if not 0 <= v <= 819175 or not -82411758 <= i <= 82411758:
                    raise TraceError(f"line {lineno}: value out of the measurable range "
                                     "(voltage 0..819175 mV, current ±82411758 mA)")
                if prev is not None and t - prev >= 1 << 29:
                    raise TraceError(f"line {lineno}: gap of {t - prev} ms is longer than ticks_diff allows (2^29)")
                if has_aux and len(parts) > 3 and parts[3].strip() not in ("", "---"):
                    x = _int(parts[3], "aux", lineno)
                    if not -AUX_LIMIT <= x <= AUX_LIMIT:
                        raise TraceError(f"line {lineno}: aux {x} out of the measurable range (±{AUX_LIMIT})")
                prev = t
                rows += 1
        except UnicodeDecodeError:
            raise TraceError(f"line {lineno + 1}: not UTF-8 text")
    if rows == 0:
        raise TraceError("the trace has no rows")
    return rows


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
    ap.add_argument("--state", type=Path, help="directory used as the board's flash")
    ap.add_argument("--frame-every", type=int, default=1, metavar="SECONDS",
                    help="send the block pair only for seconds divisible by this")
    a = ap.parse_args(argv)
    try:
        if a.frame_every < 1:
            raise ValueError(f"--frame-every {a.frame_every}: must be 1 or more")
        sets = parse_sets(a.set)
        check_trace(a.trace)
        if a.state is not None:
            a.state.mkdir(parents=True, exist_ok=True)
    except (TraceError, ValueError) as e:
        print(f"replay: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"replay: {e}", file=sys.stderr)
        return 2
    out = sys.stdout.buffer
    if a.runtime == "cpython":
        import fw_replay
        fw_replay.replay(str(a.trace), sets, str(a.state) if a.state else None, a.frame_every, out,
                         lambda s: print(s, file=sys.stderr))
        out.flush()
        return 0
    mp = Path(sys.executable).parent / "micropython"
    cmd = [str(mp), "-X", "heapsize=4M", str(ROOT / "tools" / "fw_replay.py"), str(a.trace.resolve()),
           "--frame-every", str(a.frame_every)]
    if a.state is not None:
        cmd += ["--state", str(a.state.resolve())]
    for name, value in sets:
        cmd += ["--set", f"{name}={value}"]
    try:
        r = subprocess.run(cmd, stdout=out)
    except OSError as e:
        print(f"replay: cannot run MicroPython ({e}): run the README's set-up command", file=sys.stderr)
        return 2
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
