"""Shared pieces of the browser tests (test_web_page.py): the simulator with --web, a VE.Direct reader with
receipt times, headless Chromium through Selenium + Debian's chromedriver, and a console session of the test's
own over the bridge (its own WebSocket, so its own console session)."""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# The screenshots the README shows are committed in docs/web/; a test run writes its own to out/web/ (a test must
# not change tracked files) unless SHOTS_TO_DOCS=1 asks it to refresh the committed ones.
SHOTS = ROOT / "docs" / "web" if os.environ.get("SHOTS_TO_DOCS") == "1" else ROOT / "out" / "web"
SECRET = "5ec7e7" * 10 + "abcd"            # 64 hex characters
# The flags that work on the closed network (without the background-networking ones Chromium hangs).
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")


class Sim:
    """tools/simulate.py SCENARIO --web 0 --out -: the page's URL, and every VE.Direct block A with the
    monotonic time it arrived."""

    def __init__(self, scenario: str = "never_syncs"):
        env = dict(os.environ, SHUNT_SECRET=SECRET)
        self.p = subprocess.Popen([sys.executable, "tools/simulate.py", scenario, "--web", "0", "--out", "-",
                                   "--no-plot", "--quiet"], cwd=str(ROOT), env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        self.blocks: list[tuple[float, dict[str, str]]] = []
        self.url = None
        self.stderr: list[str] = []
        threading.Thread(target=self._read_out, daemon=True).start()
        t_end = time.monotonic() + 30
        for raw in self.p.stderr:
            line = raw.decode(errors="replace").rstrip()
            self.stderr.append(line)
            m = re.search(r"web page on (http://\S+)", line)
            if m:
                self.url = m.group(1)
                break
            if time.monotonic() > t_end:
                break
        if self.url is None:
            self.close()
            raise AssertionError("simulate.py --web printed no URL: %s" % "\n".join(self.stderr))
        threading.Thread(target=self._drain_err, daemon=True).start()

    def _drain_err(self) -> None:
        for raw in self.p.stderr:
            self.stderr.append(raw.decode(errors="replace").rstrip())

    def _read_out(self) -> None:
        buf = b""
        cur: dict[str, str] = {}
        fd = self.p.stdout.fileno()
        while True:
            data = os.read(fd, 4096)
            if not data:
                return
            buf += data
            while b"\r\n" in buf:
                line, buf = buf.split(b"\r\n", 1)
                k, _, v = line.decode("latin-1").partition("\t")
                if k == "Checksum":
                    if "V" in cur:
                        self.blocks.append((time.time(), cur))   # wall clock, as the page's Date.now()
                    cur = {}
                elif k:
                    cur[k] = v

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "ws"

    def close(self) -> None:
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


class Console:
    """The test's own console session through the bridge (a second WebSocket: a session of its own)."""

    def __init__(self, ws_url: str):
        from websockets.sync.client import connect
        self.ws = connect(ws_url, open_timeout=10).__enter__()
        self.buf = ""

    def cmd(self, line: str) -> list[str]:
        self.ws.send(line + "\n")
        out = []
        while True:
            while "\n" in self.buf:
                ln, self.buf = self.buf.split("\n", 1)
                out.append(ln)
                if ln.startswith(("OK", "ERR ")):
                    return out
            self.buf += self.ws.recv(timeout=10)

    def get(self, name: str) -> str:
        return self.cmd("get " + name)[-1]

    def login(self, secret: str) -> str:
        nonce = bytes.fromhex(self.cmd("auth")[-1].split("nonce=")[1])
        return self.cmd("auth " + hmac.new(bytes.fromhex(secret), nonce, hashlib.sha256).hexdigest())[-1]

    def close(self) -> None:
        self.ws.close()


def _start(args, pattern):
    p = subprocess.Popen([sys.executable] + args, cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    seen = []
    for raw in p.stdout:
        line = raw.decode().strip()
        seen.append(line)
        m = re.search(pattern, line)
        if m:
            return p, m.group(1), seen
    p.wait()
    raise AssertionError("%s printed no %r: %s" % (args[0], pattern, seen))


class ConsoleBridge:
    """tools/console_server.py (a real Settings + Monitor without a secret: it prints the one-time setup code)
    and tools/web_bridge.py in front of it, both on free ports."""

    def __init__(self):
        self.cs, cport, seen = _start(["tools/console_server.py", "--port", "0"], r"console on 127\.0\.0\.1:(\d+)")
        self.setup_code = next(re.search(r"setup code \(one use\): (\S+)", s).group(1) for s in seen
                               if "setup code" in s)
        self.br, self.url, _ = _start(["tools/web_bridge.py", "--console", "127.0.0.1:" + cport, "--port", "0"],
                                      r"web page on (http://\S+)")

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "ws"

    def close(self) -> None:
        for p in (self.br, self.cs):
            if p.poll() is None:
                p.terminate()
                p.wait(10)


def chromium(tmp_path: Path, width: int = 412, height: int = 915):
    """Headless Debian Chromium through Selenium and Debian's chromedriver. A missing browser is a failure (the
    README's set-up installs it), never a skip."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail("browser tests need %s: run `apt-get update && apt-get install -y chromium chromium-driver` "
                    "(the README's set-up and .ci/run do)" % " and ".join(missing))
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for f in FLAGS:
        opts.add_argument(f)
    opts.add_argument("--user-data-dir=%s" % (tmp_path / "chromium-profile"))
    opts.add_argument("--window-size=%d,%d" % (width, height))
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))


def page_errors(driver) -> list[str]:
    """Errors the page logged to the browser console (an exception in a module shows here)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
