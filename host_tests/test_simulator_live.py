"""The simulator is a live device on a real line (issue 15): with `--out pty` the firmware runs on the wall clock.

Two simulators run side by side for 20 s of wall time, one at --speed 1 and one at --speed 10, while a second
console client floods the TCP console and never reads its replies. A reader on each pty checks: a block pair
every 1000/speed ms (no gap above 1.5x that, the 1 s text pause after our HEX GET aside), every block's
checksum, a HEX GET answered within 100 ms of wall time, and the PyPI parsers decode what arrived."""
import os
import re
import select
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import serial

from test_vedirect_clients import _jmfife, _m8, _m8_feed

ROOT = Path(__file__).resolve().parent.parent
SECRET = "0123456789abcdef" * 4
READ_S = 20.0
GET_SOC = b":7FF0F0040\n"


def _start(speed):
    env = dict(os.environ, SHUNT_SECRET=SECRET)
    env.pop("PYTHONUNBUFFERED", None)     # as a user runs it: the firmware's stdout is a buffered pipe
    p = subprocess.Popen([sys.executable, str(ROOT / "tools" / "simulate.py"), "healthy_3day", "--days", "1",
                          "--out", "pty", "--speed", str(speed), "--no-plot", "--quiet", "--console-port", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    path = re.search(r"(/dev/pts/\d+)", p.stdout.readline()).group(1)
    return p, path


def _console_port(p, deadline):
    # fw_sim prints the port it bound on stderr (the simulator passes --console-port 0 through)
    while time.monotonic() < deadline:
        line = p.stderr.readline()
        m = re.search(r"console on 127\.0\.0\.1:(\d+)$", line.strip())
        if m and m.group(1) != "0":
            return int(m.group(1))
    raise AssertionError("no console port")


def _stuck_client(port):
    """A console client that sends requests and never reads: it keeps going until its own send would block,
    i.e. the firmware has stopped reading it (its replies are pending) and every buffer between is full."""
    c = socket.create_connection(("127.0.0.1", port))
    c.setblocking(False)
    sent = 0
    t_end = time.monotonic() + 8
    while time.monotonic() < t_end:
        try:
            sent += c.send(b"list\n" * 200)
        except BlockingIOError:
            return c, sent, True
        time.sleep(0.001)
    return c, sent, False


def _read(path, speed, out):
    port = serial.Serial(path, 19200, timeout=0)
    data = bytearray()
    arrivals = []          # (wall time, offset) of each block-pair start
    get_at = get_ans = None
    t0 = time.monotonic()
    while time.monotonic() - t0 < READ_S:
        select.select([port.fileno()], [], [], 0.05)     # wake when bytes arrive, not on a polling timer
        d = port.read(4096)
        now = time.monotonic()
        if d:
            start = max(0, len(data) - 5)
            data += d
            k = data.find(b"\r\nPID\t", start)
            while k >= 0:
                arrivals.append((now, k))
                k = data.find(b"\r\nPID\t", k + 1)
            if get_at is not None and get_ans is None and b":7FF0F00" in data[get_off:]:
                get_ans = now
        if get_at is None and now - t0 > READ_S / 2:
            get_off = len(data)
            port.write(GET_SOC)
            get_at = time.monotonic()
    port.close()
    out[speed] = (bytes(data), arrivals, get_at, get_ans)


def _blocks(data):
    start = data.find(b"\r\nPID\t")
    blocks = []
    while True:
        k = data.find(b"Checksum\t", start)
        if k < 0 or k + 10 > len(data):
            return blocks
        blk = data[start:k + 10]
        if blk.startswith(b":"):           # a HEX reply sits on the boundary before this block (VD §5.1)
            blk = blk[blk.index(b"\n") + 1:]
        blocks.append(blk)
        start = k + 10


def test_live_pty_at_speed_1_and_10_with_a_stuck_console_client():
    procs = {s: _start(s) for s in (1, 10)}
    try:
        deadline = time.monotonic() + 30
        cport = _console_port(procs[1][0], deadline)
        out = {}
        readers = [threading.Thread(target=_read, args=(procs[s][1], s, out)) for s in (1, 10)]
        for r in readers:
            r.start()
        stuck, sent, blocked = _stuck_client(cport)
        for r in readers:
            r.join()
        # the stuck client really held the console: the firmware stopped reading it long before the end
        assert blocked, "the console kept reading a client that never reads (%d bytes sent)" % sent
        stuck.close()
    finally:
        for p, _ in procs.values():
            p.kill()
            p.wait()
    for speed in (1, 10):
        data, arrivals, get_at, get_ans = out[speed]
        period = 1.0 / speed
        # the GET was answered within 100 ms of wall time
        assert get_ans is not None and get_ans - get_at < 0.100, (speed, get_at, get_ans)
        # every block pair on time: no gap above 1.5 periods, except the text pause after our GET (1 s wall)
        gaps = [(b[0] - a[0], a[0]) for a, b in zip(arrivals, arrivals[1:])]
        late = [g for g, t in gaps if g > 1.5 * period and not (get_at - period <= t <= get_at + 1.0 + period)]
        assert not late, (speed, late)
        assert len(arrivals) >= 0.9 * (READ_S - 1.0) / period, (speed, len(arrivals))
        print("speed %d: %d block pairs in %.0f s, gaps %.0f..%.0f ms outside the HEX pause, GET answered in %.1f ms"
              % (speed, len(arrivals), READ_S, 1000 * min(g for g, _ in gaps[1:]),
                 1000 * max(g for g, t in gaps if not (get_at - period <= t <= get_at + 1.0 + period)),
                 1000 * (get_ans - get_at)))
        # the pause after HEX is 1 s of wall time at any speed
        pause = max(g for g, t in gaps if get_at - period <= t <= get_at + period)
        assert 0.9 <= pause <= 1.0 + 1.5 * period, (speed, pause)
        blocks = _blocks(data)
        assert len(blocks) >= 2 * len(arrivals) - 2
        for b in blocks:
            assert sum(b) % 256 == 0, (speed, b)
        # the PyPI parsers decode the live stream: jmfife all of it (HEX reply included), m8 the text-only part
        mod = _jmfife()
        j = mod.VEDirect.__new__(mod.VEDirect)
        j.header1, j.header2, j.hexmarker, j.delimiter = b"\r", b"\n", b":", b"\t"
        j.key, j.value, j.bytes_sum, j.state, j.dict = b"", b"", 0, mod.VEDirect.WAIT_HEADER1, {}
        first = data.find(b"\r\nPID\t")
        live = data[first:data.rfind(b"Checksum\t") + 10]
        got = [r for r in (j._input(live[i:i + 1]) for i in range(len(live))) if r is not None]
        assert len(got) == len(_blocks(live)) and got[0]["PID"] == "0xA389" and "H18" in got[1]
        text_only = live[:live.index(b":7FF0F00")]
        got8 = _m8_feed(_m8(), text_only)
        assert len(got8) == len(_blocks(text_only)) >= 10 and got8[0]["BMV"] == "SmartShunt 500A/50mV"
