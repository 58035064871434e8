"""tools/web_bridge.py without a browser: the page's files over HTTP, one console session per WebSocket, and
`simulate.py --web` refusing what it cannot do. The phone page itself is tested in test_web_page.py."""
from __future__ import annotations

import hashlib
import hmac
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from web_harness import ROOT, SECRET, Console, ConsoleBridge


@pytest.fixture
def bridge():
    b = ConsoleBridge()
    yield b.url, b.setup_code
    b.close()


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.headers["Content-Type"], r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["Content-Type"], b""


def test_bridge_serves_the_page_and_nothing_else(bridge):
    url, _ = bridge
    status, ctype, body = _get(url)
    assert status == 200 and ctype.startswith("text/html") and b'src="app.js"' in body
    assert _get(url + "app.js")[1].startswith("text/javascript")      # ES modules need a JavaScript type
    assert _get(url + "transport.json")[2] == b'{"transport": "websocket", "path": "/ws", "label": ""}'
    assert _get(url + "nothere.js")[0] == 404
    assert _get(url + "%2e%2e/requirements.txt")[0] == 404            # nothing outside web/
    assert _get(url + "../tools/web_bridge.py")[0] == 404


def test_each_websocket_is_its_own_console_session(bridge):
    url, setup = bridge
    ws = url.replace("http://", "ws://") + "ws"
    a, b = Console(ws), Console(ws)
    try:
        # The setup code authenticates session a only; b stays unauthenticated.
        nonce = bytes.fromhex(a.cmd("auth")[-1].split("nonce=")[1])
        assert "setup code" in a.cmd("auth " + hmac.new(setup.encode(), nonce, hashlib.sha256).hexdigest())[-1]
        assert a.cmd("set capacity 123")[-1] == "OK capacity=123 Ah"
        assert b.cmd("set capacity 321")[-1].startswith("ERR AUTH")
        assert b.get("capacity") == "OK capacity=123 Ah"
        # A line sent in pieces arrives whole (the console reassembles lines, as from BLE writes).
        b.ws.send("ge")
        b.ws.send("t capa")
        assert b.cmd("city")[-1] == "OK capacity=123 Ah"
    finally:
        a.close()
        b.close()
    # Closing a's socket ended its session: a new connection is not authenticated.
    c = Console(ws)
    try:
        assert c.cmd("set capacity 50")[-1].startswith("ERR AUTH")
    finally:
        c.close()


def test_simulate_web_needs_cpython():
    r = subprocess.run([sys.executable, "tools/simulate.py", "never_syncs", "--web", "0", "--runtime", "micropython",
                        "--no-plot", "--quiet"], cwd=str(ROOT), capture_output=True, text=True, timeout=60,
                       env={"SHUNT_SECRET": SECRET, "PATH": "/usr/bin:/bin"})
    assert r.returncode == 2 and "--web needs --runtime cpython" in r.stderr
