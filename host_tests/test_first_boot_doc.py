"""docs/first-boot.md: every `$` command runs here where it can without a board (issue 12, "First boot, written
down"): deploy.py as --dry-run, shuntctl against tools/console_server.py (a fresh console that prints its setup
code, as the board's USB console does) in place of --ble/--serial, in the document's order. The rest is board-only
and listed below; the mip command is checked against mpremote's own target rule."""
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "first-boot.md"
BOARD_ONLY = ("esptool.py ", "mpremote ", ".venv/bin/python -m serial.tools.miniterm ")
# and `shuntctl ... zero-current`, which measures the INA226 for 10 s (the host console has none)


def commands():
    return [ln.strip()[2:] for ln in DOC.read_text().splitlines() if ln.strip().startswith("$ ")]


def test_every_command_is_exercised_or_board_only():
    cmds = commands()
    assert len(cmds) >= 12
    for c in cmds:
        words = shlex.split(c)
        while words and "=" in words[0]:
            words = words[1:]
        line = " ".join(words)
        assert line.startswith(BOARD_ONLY) or line.startswith((".venv/bin/python tools/deploy.py",
                                                               ".venv/bin/python tools/shuntctl.py")), c


def test_deploy_commands_as_dry_run():
    for c in commands():
        if not c.startswith(".venv/bin/python tools/deploy.py"):
            continue
        args = shlex.split(c)[2:]
        if "--dry-run" not in args:
            args.append("--dry-run")
        r = subprocess.run([sys.executable, str(ROOT / "tools" / "deploy.py")] + args, capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, (c, r.stderr)
        assert "mip install aioble" in r.stdout and ":main.py" in r.stdout


def test_miniterm_of_the_doc_exists():
    import serial.tools.miniterm  # noqa: F401  pinned pyserial provides the USB terminal of section 5


def test_mip_command_installs_main_py_at_the_root():
    # mpremote/mip.py (v1.28.0): target defaults to the first sys.path entry ending in /lib (lines 188-196; the
    # ESP32's sys.path is ['', '.frozen', '/lib']) and each file goes to target + "/" + path (lines 126, 133).
    # ports/esp32/main.c:162 runs "main.py" from the root. So the documented command needs --target /.
    mip = [c for c in commands() if " mip install " in c and "package.json" in c]
    assert mip, "the doc gives the mip command"
    readme = " ".join((ROOT / "README.md").read_text().split())
    spans = [m for m in re.findall(r"`([^`]*)`", readme) if "mip install" in m and "package.json" in m]
    assert spans, "the README gives the mip command"
    for c in mip + spans:
        words = shlex.split(c)
        if "--target" in words:
            target = words[words.index("--target") + 1]
        else:
            target = [p for p in ("", ".frozen", "/lib") if p.endswith("/lib")][0]
        dest = re.sub("/+", "/", target + "/" + "main.py")
        assert dest == "/main.py", (c, dest)


@pytest.fixture
def console():
    p = subprocess.Popen([sys.executable, str(ROOT / "tools" / "console_server.py"), "--port", "0"],
                         stdout=subprocess.PIPE, text=True, env={k: v for k, v in os.environ.items()
                                                                 if k != "SHUNT_SECRET"})
    try:
        code = port = None
        for _ in range(2):
            line = p.stdout.readline()
            if line.startswith("setup code"):
                code = line.split(":")[1].strip()
            elif line.startswith("console on"):
                port = int(line.rsplit(":", 1)[1])
        assert code and port
        yield code, port
    finally:
        p.terminate()
        p.wait(10)


def test_shuntctl_commands_in_order_against_a_fresh_console(console):
    code, port = console
    doc_code = re.search(r"setup code \(one use\): ([0-9a-f]+)", DOC.read_text()).group(1)
    doc_secret = "5e" * 32
    secret = None
    ran = 0
    for c in commands():
        words = shlex.split(c)
        env = {k: v for k, v in os.environ.items() if k != "SHUNT_SECRET"}
        while "=" in words[0]:
            k, v = words.pop(0).split("=", 1)
            env[k] = secret if v == doc_secret else v
        if words[:2] != [".venv/bin/python", "tools/shuntctl.py"]:
            continue
        args = words[2:]
        if args[-1] == "zero-current":
            continue        # board-only: it measures the INA226, which the host console does not have
        for flag in ("--ble", "--serial"):
            if flag in args:
                i = args.index(flag)
                args[i:i + 2] = ["--tcp", "127.0.0.1:%d" % port]
        args = [code if a == doc_code else a for a in args]
        r = subprocess.run([sys.executable, str(ROOT / "tools" / "shuntctl.py")] + args, capture_output=True,
                           text=True, timeout=60, env=env)
        assert r.returncode == 0, (c, r.stdout, r.stderr)
        m = re.search(r"new secret: ([0-9a-f]{64})", r.stdout)
        if m:
            secret = m.group(1)
        ran += 1
    assert secret is not None and ran >= 6
