"""The simulator's live line (tools/sim/runner.LineSink, under --out pty/serial; issue 15): partial writes are
completed, never cut; a port nobody reads never blocks the simulation and loses whole units only."""
import random
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

from sim.runner import LineSink  # noqa: E402


class _Port(LineSink):
    """A port that takes a random part of each write, sometimes nothing, and stalls while `stalled` is set."""

    def __init__(self, queue_max):
        self.got = bytearray()
        self.rng = random.Random(5)
        self.stalled = threading.Event()
        super().__init__(queue_max)

    def _try_write(self, data):
        # the fast path (the caller's thread, never waits) takes a random part too
        if self.stalled.is_set() or self.rng.random() < 0.5:
            return 0
        n = self.rng.randint(1, len(data))
        self.got += bytes(data[:n])
        return n

    def _write_some(self, data):
        if self.stalled.is_set() or self.rng.random() < 0.2:
            time.sleep(0.001)
            return 0
        n = self.rng.randint(1, len(data))
        self.got += bytes(data[:n])
        return n


def _unit(k):
    body = b"\r\nPID\t0xA389\r\nN\t%d\r\nChecksum\t" % k
    return body + bytes(((-sum(body)) & 0xFF,))


def _units(data):
    out, start = [], 0
    while start < len(data):
        k = data.index(b"Checksum\t", start) + 10
        out.append(data[start:k])
        start = k
    return out


def test_partial_writes_are_completed_and_a_stalled_port_drops_whole_units_only():
    sink = _Port(queue_max=8000)
    for k in range(100):
        sink.write(_unit(k))
    first = sum(len(_unit(k)) for k in range(100))
    deadline = time.monotonic() + 5
    while len(sink.got) < first and time.monotonic() < deadline:
        time.sleep(0.01)
    sink.write(_unit(100))
    sink.stalled.set()                       # the reader stops reading (the unit now being written waits)
    t0 = time.monotonic()
    for k in range(101, 1100):
        sink.write(_unit(k))                 # the simulation goes on: write() never waits for the port
    assert time.monotonic() - t0 < 1.0
    assert sink._queued <= 8000
    sink.stalled.clear()                     # the reader comes back
    total = sum(len(_unit(k)) for k in range(1100))
    deadline = time.monotonic() + 5
    while len(sink.got) + sink.dropped_bytes < total and time.monotonic() < deadline:
        time.sleep(0.01)
    sink.close()
    units = _units(bytes(sink.got))
    for u in units:
        assert sum(u) % 256 == 0             # every unit whole: none cut by a partial write
    ks = [int(u.split(b"\r\nN\t")[1].split(b"\r\n")[0]) for u in units]
    assert ks == sorted(ks) and ks[:100] == list(range(100))
    assert ks[-1] == 1099 and sink.dropped_bytes > 0      # the newest kept, the oldest waiting ones dropped
    assert len(sink.got) + sink.dropped_bytes == total
