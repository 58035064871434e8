"""The simulator feeds a VE.Direct reader through a pseudo-terminal, as it would a GX through a serial port
(issue 6): the reader opens the printed /dev/pts path with pyserial and gets whole, checksummed blocks."""
import re
import subprocess
import sys
import time
from pathlib import Path

import serial

ROOT = Path(__file__).resolve().parent.parent


def test_pty_output_is_a_valid_vedirect_stream():
    p = subprocess.Popen([sys.executable, str(ROOT / "tools" / "simulate.py"), "healthy_3day", "--days", "0.01",
                          "--out", "pty", "--speed", "100", "--no-plot", "--quiet"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = p.stdout.readline()
        m = re.search(r"(/dev/pts/\d+)", line)
        assert m, line
        port = serial.Serial(m.group(1), 19200, timeout=0.2)
        data = bytearray()
        deadline = time.monotonic() + 20
        while data.count(b"\r\nPID\t") < 8 and time.monotonic() < deadline:
            data += port.read(4096)
        port.close()
    finally:
        p.kill()
        p.wait()
    start = data.find(b"\r\nPID\t")
    blocks = []
    while True:
        k = data.find(b"Checksum\t", start)
        if k < 0 or k + 10 > len(data):
            break
        blocks.append(bytes(data[start:k + 10]))
        start = k + 10
    assert len(blocks) >= 8
    for b in blocks:
        assert sum(b) % 256 == 0                    # byte-exact through the terminal layer: no CR/LF rewriting
    assert blocks[0].startswith(b"\r\nPID\t0xA389") and blocks[1].startswith(b"\r\nH1\t")
