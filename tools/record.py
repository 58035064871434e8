#!/usr/bin/env python3
"""Record any VE.Direct battery monitor (BMV-70x, BMV-712, SmartShunt, this shunt) as a replay trace.

    .venv/bin/python tools/record.py --serial /dev/ttyUSB0 --out week.csv        # a VE.Direct-USB cable
    .venv/bin/python tools/record.py --serial /dev/pts/5 --out sim.csv           # the simulator's --out pty
    .venv/bin/python tools/record.py --file capture.bin --out capture.csv        # a captured byte stream

It reads the text protocol only and never writes to the port. Each block whose checksum is valid is used; a bad
block is counted and skipped whole (tools/vetext.py). Every block with `V` and `I` becomes a trace row
`t_ms,voltage_mv,current_ma` (plus `aux` when the device sends `VS`, `VM` or `T`: mV, or 0.01 °C), the format
tools/replay.py and tools/whatif.py read. The device's own values go beside it in `<out>.device.csv`: SOC (‰),
CE (mAh), TTG (min), H9 (s since the last full charge), H10 (automatic syncs) and the wall time of the block.

Time is the host's clock at the block's arrival, made strictly increasing (`--time-scale` multiplies it, for the
simulator at `--speed` > 1). From a file there is no clock: a device sends one block with `V` a second, so each
is 1000 ms after the previous one. A pause in the data (cable unplugged, device off) is written as a gap in
`t_ms`, which the replay treats as the board treats a gap in its samples (battery-monitor.md §2: at most 5 s is
integrated, the rest is an outage). Rows are appended as they arrive and flushed every second, so a crash or
Ctrl-C loses at most the last second; recording again onto an existing file continues it (its time continues from
the wall time of its last row). `--rotate-daily` starts a new pair of files at local midnight, each replayable
on its own (t_ms from 0).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent))

from vetext import BlockReader  # noqa: E402

TRACE_HEADER = "t_ms,voltage_mv,current_ma"
DEVICE_HEADER = "t_ms,soc_permille,ce_mah,ttg_min,h9_s,h10,unix_ms"
GAP_MS = 2000              # two missing blocks: the recording has a gap
_FILE_PERIOD_MS = 1000     # one block with V per second (VE.Direct text mode)


class RecordError(Exception):
    pass


def _num(text: str | None) -> int | None:
    """A VE.Direct integer field, or None for absent / not available (`---`)."""
    if text is None:
        return None
    t = text.strip()
    body = t[1:] if t[:1] == "-" else t
    return int(t) if body.isdigit() else None


def aux_of(block: dict[str, str]) -> int | None:
    """The aux input in the replay trace's unit: VS or VM in mV, T (°C) in 0.01 °C; None if not sent/available."""
    for label in ("VS", "VM"):
        v = _num(block.get(label))
        if v is not None:
            return v
    t = _num(block.get("T"))
    return None if t is None else 100 * t


def _has_aux(block: dict[str, str]) -> bool:
    return aux_of(block) is not None


class TraceWriter:
    """The pair of CSV files, appended to as rows arrive; knows where an existing recording left off."""

    def __init__(self, path: Path):
        self.path = path
        self.device_path = path.with_name(path.stem + ".device.csv")
        self.aux: bool | None = None        # decided by the first row of a new file
        self.last_t_ms: int | None = None
        self.last_unix_ms: int | None = None
        self._f = self._d = None
        if path.exists() and path.stat().st_size > 0:
            self._resume()

    def _resume(self) -> None:
        head, last = _first_and_last_line(self.path)
        cols = head.split(",")
        if cols[:3] != TRACE_HEADER.split(","):
            raise RecordError(f"{self.path}: exists and is not a recording (header {head!r})")
        self.aux = cols[3:4] == ["aux"]
        if last != head:
            self.last_t_ms = int(last.split(",")[0])
        if self.device_path.exists():
            _, dlast = _first_and_last_line(self.device_path)
            u = dlast.split(",")[-1]
            if u.isdigit():
                self.last_unix_ms = int(u)

    def open(self, aux: bool) -> None:
        new = self.aux is None
        if new:
            self.aux = aux
        try:
            self._f = self.path.open("a", encoding="utf-8", newline="")
            self._d = self.device_path.open("a", encoding="utf-8", newline="")
        except OSError as e:
            raise RecordError(f"cannot write {self.path}: {e.strerror}") from None
        if new:
            self._f.write(TRACE_HEADER + (",aux" if aux else "") + "\n")
            self._d.write(DEVICE_HEADER + "\n")

    def row(self, t_ms: int, block: dict[str, str], device: dict[str, int | None], unix_ms: int) -> None:
        v, i = _num(block.get("V")), _num(block.get("I"))
        line = f"{t_ms},{v},{i}"
        if self.aux:
            a = aux_of(block)
            line += "," + ("" if a is None else str(a))
        self._f.write(line + "\n")
        d = device
        self._d.write(",".join("" if x is None else str(x) for x in
                               (t_ms, d["SOC"], d["CE"], d["TTG"], d["H9"], d["H10"], unix_ms)) + "\n")
        self.last_t_ms = t_ms
        self.last_unix_ms = unix_ms

    def flush(self) -> None:
        if self._f is not None:
            self._f.flush()
            self._d.flush()

    def close(self) -> None:
        for f in (self._f, self._d):
            if f is not None:
                f.close()
        self._f = self._d = None


def _first_and_last_line(path: Path) -> tuple[str, str]:
    with path.open("rb") as f:
        head = f.readline().decode("utf-8", "replace").strip()
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - 512))
        tail = f.read().decode("utf-8", "replace").strip().splitlines()
    return head, tail[-1] if tail else head


class Recorder:
    """Blocks in, rows out: keeps the device's latest values, the time base, and the counters of the status."""

    def __init__(self, out: Path, rotate_daily: bool = False, time_scale: float = 1.0,
                 wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000):
        self.out = out
        self.rotate_daily = rotate_daily
        self.time_scale = time_scale
        self.wall_ms = wall_ms
        self.reader = BlockReader()
        self.rows = 0
        self.gaps = 0
        self.device: dict[str, int | None] = {k: None for k in ("SOC", "CE", "TTG", "H9", "H10")}
        self._writer: TraceWriter | None = None
        self._day: str | None = None
        self._t0: float | None = None       # the source clock (ms) at t_ms = _base
        self._base = 0
        self._last_flush = 0.0

    @property
    def bad_blocks(self) -> int:
        return self.reader.bad_blocks

    def _path_for(self, day: str) -> Path:
        if not self.rotate_daily:
            return self.out
        return self.out.with_name(f"{self.out.stem}-{day}{self.out.suffix}")

    def feed(self, data: bytes, clock_ms: float) -> None:
        """Bytes that arrived at `clock_ms` (the source's monotonic clock, in ms)."""
        for block in self.reader.feed(data):
            for k in self.device:
                if k in block:
                    self.device[k] = _num(block[k])
            if "V" in block and "I" in block and _num(block["V"]) is not None and _num(block["I"]) is not None:
                self._row(block, clock_ms)
        if clock_ms - self._last_flush >= 1000:
            self._last_flush = clock_ms
            if self._writer is not None:
                self._writer.flush()

    def _row(self, block: dict[str, str], clock_ms: float) -> None:
        unix_ms = self.wall_ms()
        day = datetime.fromtimestamp(unix_ms / 1000).strftime("%Y%m%d")
        if self._writer is None or (self.rotate_daily and day != self._day):
            self._open(day, block, clock_ms, unix_ms)
        w = self._writer
        t = self._base + int((clock_ms - self._t0) * self.time_scale)
        if w.last_t_ms is not None:
            if t - w.last_t_ms > GAP_MS:         # in the device's time (t is already scaled)
                self.gaps += 1
            if t <= w.last_t_ms:
                t = w.last_t_ms + 1          # strictly increasing, as replay requires
        w.row(t, block, self.device, unix_ms)
        self.rows += 1

    def _open(self, day: str, block: dict[str, str], clock_ms: float, unix_ms: int) -> None:
        if self._writer is not None:
            self._writer.close()
        self._day = day
        w = TraceWriter(self._path_for(day))
        w.open(_has_aux(block))
        self._t0 = clock_ms
        self._base = 0
        if w.last_t_ms is not None:
            # continuing an earlier recording: the wall time since its last row is a gap (or the next second)
            since = unix_ms - w.last_unix_ms if w.last_unix_ms is not None else _FILE_PERIOD_MS
            self._base = w.last_t_ms + max(1, int(since * self.time_scale))   # _row counts it as a gap
        self._writer = w

    def status(self) -> str:
        soc = self.device["SOC"]
        soc_s = "---" if soc is None else f"{soc / 10:.1f} %"
        return f"rows {self.rows}  gaps {self.gaps}  bad blocks {self.bad_blocks}  SOC {soc_s}"

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def file_chunks(path: Path) -> Iterator[tuple[bytes, float]]:
    """A capture file as arrivals one block apart: a block with V starts a new second."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise RecordError(f"cannot read {path}: {e.strerror}") from None
    # split after each checksum byte so each block arrives on its own; the clock advances per V-block
    t = 0.0
    start = 0
    seen_v = False
    i = data.find(b"Checksum\t")
    while i >= 0 and i + 9 < len(data):
        end = i + 10
        chunk = data[start:end]
        has_v = b"\nV\t" in chunk
        if has_v and seen_v:
            t += _FILE_PERIOD_MS
        seen_v = seen_v or has_v
        yield chunk, t
        start = end
        i = data.find(b"Checksum\t", end)
    if start < len(data):
        yield data[start:], t


def serial_chunks(port: str, stop_after_s: float | None, retry_s: float = 1.0) -> Iterator[tuple[bytes, float]]:
    """A serial port (or the simulator's pty) at 19 200 8N1, read only: this tool never writes to it. A port
    that goes away (cable unplugged, simulator stopped) is opened again every `retry_s` until it is back: the
    time without data becomes a gap in the recording."""
    import serial
    t_end = None if stop_after_s is None else time.monotonic() + stop_after_s
    s = None
    opened = False
    try:
        while t_end is None or time.monotonic() < t_end:
            if s is None:
                try:
                    s = serial.Serial(port, 19200, timeout=0.1)
                except (serial.SerialException, ValueError) as e:
                    if not opened:          # never opened: a wrong name or no permission, not a gap
                        raise RecordError(f"serial port {port}: {e}") from None
                    time.sleep(retry_s)
                    continue
                opened = True
            try:
                data = s.read(max(1, s.in_waiting))
            except (serial.SerialException, OSError):
                s.close()               # unplugged or closed at the other end: try again, as a gap
                s = None
                time.sleep(retry_s)
                continue
            if data:
                yield data, time.monotonic_ns() / 1e6
    finally:
        if s is not None:
            s.close()


def record(chunks: Iterator[tuple[bytes, float]], rec: Recorder, status: BinaryIO | None = None) -> None:
    last_status = -1e9
    try:
        for data, clock_ms in chunks:
            rec.feed(data, clock_ms)
            if status is not None and clock_ms - last_status >= 1000:
                last_status = clock_ms
                status.write(("\r" + rec.status() + "  ").encode())
                status.flush()
    finally:
        rec.close()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Record a VE.Direct battery monitor as a replay trace (read only).")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--serial", metavar="PORT", help="serial port or pty, e.g. /dev/ttyUSB0 (19 200 8N1)")
    src.add_argument("--file", type=Path, metavar="CAPTURE", help="a captured VE.Direct byte stream")
    p.add_argument("--out", type=Path, required=True, help="trace CSV (the device's values go to OUT.device.csv)")
    p.add_argument("--rotate-daily", action="store_true", help="a new file pair each local day: OUT-YYYYMMDD.csv")
    p.add_argument("--time-scale", type=float, default=1.0,
                   help="multiply the host clock (the simulator's --speed when recording it faster than real time)")
    p.add_argument("--seconds", type=float, help="stop after this many seconds of wall time (default: Ctrl-C)")
    return p


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    if a.time_scale <= 0:
        print("record: --time-scale must be positive", file=sys.stderr)
        return 2
    try:
        rec = Recorder(a.out, a.rotate_daily, a.time_scale)
        if a.file is not None:
            record(file_chunks(a.file), rec)
        else:
            tty = sys.stderr.buffer if sys.stderr.isatty() else None
            record(serial_chunks(a.serial, a.seconds), rec, tty)
    except RecordError as e:
        print(f"record: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    print(f"\nrecord: {rec.status()} -> {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
