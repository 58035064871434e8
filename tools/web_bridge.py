#!/usr/bin/env python3
"""Serve the phone page (web/) on 127.0.0.1 and bridge a WebSocket to a shunt console on TCP.

One port carries both: plain HTTP GETs get the page's files, `/ws` upgrades to a WebSocket (the `websockets`
library does the handshake and framing). Each WebSocket connection opens its own TCP connection to the console,
so each browser tab gets its own console session (its own nonce and authentication, ended when the tab goes),
exactly as each BLE central does on the board. `/transport.json` tells the page to use the WebSocket; served from
anywhere else the page uses Web Bluetooth.

    .venv/bin/python tools/simulate.py never_syncs --web 8080          # the simulator starts this for you
    .venv/bin/python tools/console_server.py --port 7878 &
    .venv/bin/python tools/web_bridge.py --console 127.0.0.1:7878 --port 8080
"""
from __future__ import annotations

import argparse
import asyncio
import codecs
import json
import os
import secrets
import socket
import sys
import threading
from pathlib import Path

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

ROOT = Path(__file__).resolve().parent.parent
WEB_DIR = ROOT / "web"
WS_PATH = "/ws"
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".json": "application/json",
          ".webmanifest": "application/manifest+json", ".png": "image/png"}
_READ_BYTES = 4096
_CONNECT_TRIES = 100              # x 0.1 s: the firmware process takes about a second to start
_CONNECT_WAIT_S = 0.1


def _response(status: int, reason: str, body: bytes, ctype: str) -> Response:
    # no-cache: the browser revalidates, so a changed page shows at once; the service worker keeps it offline.
    h = Headers([("Content-Type", ctype), ("Content-Length", str(len(body))), ("Cache-Control", "no-cache"),
                 ("X-Content-Type-Options", "nosniff")])
    return Response(status, reason, h, body)


class WebBridge:
    """HTTP for web/ and a WebSocket per browser connection, bridged to the console at console_host:port."""

    def __init__(self, console_host: str, console_port: int, host: str = "127.0.0.1", port: int = 0,
                 web_dir: Path = WEB_DIR, label: str = ""):
        self.console = (console_host, console_port)
        self.host, self.port = host, port
        self.web_dir = Path(web_dir).resolve()
        self.label = label                  # shown by the page (the scenario's name)
        self.sessions = 0                   # WebSocket connections served so far
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    # --- HTTP -------------------------------------------------------------------------------------------
    def _file(self, path: str) -> Response:
        if path == "/transport.json":
            body = json.dumps({"transport": "websocket", "path": WS_PATH, "label": self.label}).encode()
            return _response(200, "OK", body, "application/json")
        rel = path.lstrip("/") or "index.html"
        f = (self.web_dir / rel).resolve()
        if self.web_dir not in f.parents or not f.is_file():
            return _response(404, "Not Found", b"not found\n", "text/plain; charset=utf-8")
        return _response(200, "OK", f.read_bytes(), _TYPES.get(f.suffix, "application/octet-stream"))

    async def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        if path == WS_PATH:
            return None                     # go on with the WebSocket handshake
        return self._file(path)

    # --- WebSocket <-> TCP console --------------------------------------------------------------------------
    async def _session(self, ws: ServerConnection) -> None:
        self.sessions += 1
        # The firmware may still be starting (or restarting after a simulated power cut): keep trying a while.
        for attempt in range(_CONNECT_TRIES):
            try:
                reader, writer = await asyncio.open_connection(*self.console)
                break
            except OSError as e:
                if attempt == _CONNECT_TRIES - 1:
                    await ws.close(1011, "console unreachable: %s" % e.strerror)
                    return
                await asyncio.sleep(_CONNECT_WAIT_S)
        dec = codecs.getincrementaldecoder("utf-8")("replace")   # a reply may be split inside a character

        async def down() -> None:
            while True:
                data = await reader.read(_READ_BYTES)
                if not data:
                    return
                text = dec.decode(data)
                if text:
                    await ws.send(text)

        async def up() -> None:
            async for msg in ws:
                writer.write(msg.encode() if isinstance(msg, str) else msg)
                await writer.drain()

        tasks = [asyncio.ensure_future(down()), asyncio.ensure_future(up())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            writer.close()                  # the console ends this session (Console.disconnect)
            try:
                await ws.close(1001, "console closed")
            except ConnectionClosed:
                pass

    # --- running ------------------------------------------------------------------------------------------
    async def serve_forever(self, ready: threading.Event | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve(self._session, self.host, self.port, process_request=self._process_request,
                         server_header=None) as server:
            self.port = server.sockets[0].getsockname()[1]
            if ready is not None:
                ready.set()
            await self._stop.wait()

    def start_thread(self) -> "WebBridge":
        """Run in a daemon thread (the simulator's main thread runs the battery); returns once listening."""
        ready = threading.Event()
        err: list[BaseException] = []

        def run() -> None:
            try:
                asyncio.run(self.serve_forever(ready))
            except BaseException as e:  # reported to the starter below
                err.append(e)
                ready.set()

        self._thread = threading.Thread(target=run, name="web-bridge", daemon=True)
        self._thread.start()
        ready.wait(10)
        if err:
            raise OSError("web page on %s:%d: %s" % (self.host, self.port, err[0]))
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(5)

    @property
    def url(self) -> str:
        return "http://%s:%d/" % (self.host, self.port)


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def for_simulator(web_port: int, console_port: int | None, label: str) -> tuple[list[str], WebBridge]:
    """What `simulate.py --web PORT` needs: the firmware's arguments for its TCP console (a free port unless
    given; the secret from $SHUNT_SECRET, else a new one printed once) and the started bridge."""
    secret = os.environ.get("SHUNT_SECRET", "")
    if len(secret) != 64:
        secret = secrets.token_hex(32)
        print("console secret for this run (64 hex; set SHUNT_SECRET to choose one): %s" % secret,
              file=sys.stderr, flush=True)
    cport = console_port or free_port()
    bridge = WebBridge("127.0.0.1", cport, port=web_port, label=label).start_thread()
    print("web page on %s (console over WebSocket; open it in Chrome)" % bridge.url, file=sys.stderr, flush=True)
    return ["--console-port", str(cport), "--secret", secret], bridge


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Serve web/ and bridge a WebSocket to a shunt console on TCP.")
    p.add_argument("--console", default="127.0.0.1:7878", metavar="HOST:PORT",
                   help="the console (tools/console_server.py or simulate.py --console-port)")
    p.add_argument("--port", type=int, default=8080, help="HTTP/WebSocket port on 127.0.0.1 (0: any free port)")
    a = p.parse_args(argv)
    host, _, port = a.console.rpartition(":")
    if not host or not port.isdigit():
        print("web_bridge: --console %s: must be HOST:PORT" % a.console, file=sys.stderr)
        return 2
    bridge = WebBridge(host, int(port), port=a.port)

    async def run() -> None:
        ready = threading.Event()
        t = asyncio.ensure_future(bridge.serve_forever(ready))
        while not ready.is_set() and not t.done():
            await asyncio.sleep(0.01)
        if not t.done():
            print("web page on %s" % bridge.url, flush=True)
        await t

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
    except OSError as e:
        print("web_bridge: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
