"""End to end (issue 7): shuntctl sets `capacity` on a running simulator over TCP, with authentication, and both
the VE.Direct output and `status` reflect it."""
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
SECRET = "0123456789abcdef" * 4


def shuntctl(port, *args, secret=SECRET):
    env = dict(os.environ)
    env.pop("SHUNT_SECRET", None)
    cmd = [PY, str(ROOT / "tools" / "shuntctl.py"), "--tcp", "127.0.0.1:%d" % port]
    if secret:
        cmd += ["--secret", secret]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=60, env=env)


def soc_fields(stream):
    return [int(b.split(b"\r\n")[0]) for b in stream.split(b"\r\nSOC\t")[1:]]


def test_shuntctl_sets_capacity_on_a_running_simulator(tmp_path):
    fw = subprocess.Popen([PY, str(ROOT / "tools" / "fw_sim.py"), "--state", str(tmp_path), "--console-port", "0",
                           "--secret", SECRET], cwd=str(ROOT), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
    port = int(fw.stderr.readline().decode().rsplit(":", 1)[1])
    out = bytearray()
    reader = threading.Thread(target=lambda: out.extend(fw.stdout.read()), daemon=True)
    reader.start()
    stop = threading.Event()
    t = [0]

    def feed():
        # the battery at rest while the test talks to the console; 1 simulated second per line
        fw.stdin.write(b"N 0 0\nC set_soc 50.00\n")
        while not stop.is_set():
            fw.stdin.write(b"T %d 12600 0\n" % (t[0] * 1000))
            fw.stdin.flush()
            t[0] += 1
            time.sleep(0.002)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        time.sleep(0.5)
        r = shuntctl(port, "get", "capacity")
        assert r.returncode == 0 and "200" in r.stdout, r.stdout + r.stderr
        # reading is open, changing is not
        r = shuntctl(port, "set", "capacity", "400", secret=None)
        assert r.returncode != 0
        before = t[0]
        r = shuntctl(port, "set", "capacity", "400")
        assert r.returncode == 0, r.stdout + r.stderr
        while t[0] < before + 5:
            time.sleep(0.01)
        r = shuntctl(port, "status")
        assert r.returncode == 0 and "SOC" in r.stdout
        # 100 Ah were out of 200 Ah; the same charge out of 400 Ah is 75 % (BM §1: same Qp, new capacity)
        assert "75.00" in r.stdout, r.stdout
        r = shuntctl(port, "--json", "get", "capacity")
        assert "400" in r.stdout
    finally:
        stop.set()
        feeder.join()
        fw.stdin.write(b"Q\n")
        fw.stdin.close()
        fw.wait(timeout=30)
        reader.join(timeout=10)
    socs = soc_fields(bytes(out))
    assert socs[0] in (500, 1000) and 500 in socs      # first block may precede set_soc
    assert socs[-1] == 750
    assert socs.index(750) > socs.index(500)
    # the change was persisted before it was acknowledged
    assert '"capacity": 400' in (tmp_path / "settings.json").read_text()
