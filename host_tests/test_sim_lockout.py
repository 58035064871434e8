"""The simulator's TCP console: a person is on the other end, so its lockout runs on wall time, not on the
simulated clock (issue 14, item 12: a 30 s lockout lasted 1.8 s)."""
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECRET = "0123456789abcdef" * 4


def _ask(sock, f, line):
    sock.sendall(line.encode() + b"\n")
    while True:
        r = f.readline().decode()
        if r.startswith("OK") or r.startswith("ERR"):
            return r


def test_simulator_console_lockout_runs_on_wall_time():
    fw = subprocess.Popen([sys.executable, str(ROOT / "tools" / "fw_sim.py"), "--console-port", "0", "--secret",
                           SECRET, "--text-every", "0"], cwd=str(ROOT), stdin=subprocess.PIPE,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        port = int(fw.stderr.readline().decode().rsplit(":", 1)[1])
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        f = s.makefile("rb")
        for _ in range(5):
            _ask(s, f, "auth")
            r = _ask(s, f, "auth " + "00" * 32)
        assert "LOCKED" in r, r
        # ten simulated minutes go by in a moment
        fw.stdin.write(b"".join(b"T %d 12600 0\n" % (t * 1000) for t in range(600)))
        fw.stdin.flush()
        _ask(s, f, "status")
        r = _ask(s, f, "auth")
        assert r.startswith("ERR LOCKED"), r
        s.close()
    finally:
        fw.stdin.write(b"Q\n")
        fw.stdin.close()
        fw.wait(timeout=30)
        fw.stderr.close()
