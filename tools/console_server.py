#!/usr/bin/env python3
"""The shunt console on a TCP port of 127.0.0.1, for the simulator and for tests.

Each TCP connection gets its own `proto.console.Console` session (ended when the connection closes); all share
one `proto.auth.Auth`, so failures and lockouts count across connections, as on the board. Lines are assembled
exactly as on the board (drivers.console_uart). Standalone it serves the real board app (firmware/app.py) without
hardware, with its flash in memory; commands go through the app's proto.device.Device:

    python tools/console_server.py --port 7878            # prints the one-time setup code
    SHUNT_SECRET=<64 hex> python tools/console_server.py --port 7878
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import sys
import time
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(_ROOT / "tools"))
import hostpath  # noqa: E402,F401  (firmware/ on sys.path, and the const stand-in)

from proto.auth import Auth  # noqa: E402
from proto.console import Console  # noqa: E402
from drivers.console_uart import ConsoleStream  # noqa: E402


def make_app():
    """The board app without hardware (no INA226, no UART) over an in-memory flash: its Device serves the console,
    and `feed` counts samples through the app's own path (saves, warnings), as the board would."""
    from app import App
    from fakes.mem_store import MemStore
    return App(None, None, store=MemStore(), log=lambda s: None)


class ConsoleServer:
    """asyncio TCP server feeding lines to one Console per connection."""

    def __init__(self, device, auth: Auth, host: str = "127.0.0.1", port: int = 0):
        self.device = device
        self.auth = auth
        self.host = host
        self.port = port
        self.consoles: list[Console] = []
        self._server: asyncio.base_events.Server | None = None
        self._ticker: asyncio.Task | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._client, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        self._ticker = asyncio.create_task(self._tick())
        return self.port

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        console = Console(self.device, self.auth)
        self.consoles.append(console)
        try:
            await ConsoleStream(console, reader, writer).run()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            console.disconnect()
            self.consoles.remove(console)
            writer.close()

    async def _tick(self) -> None:
        # Measured elapsed time drives the lockout back-off, as the app's once-per-second task does on the board.
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.25)
            now = time.monotonic()
            self.auth.elapse(int((now - last) * 1000))
            last = now

    async def close(self) -> None:
        if self._ticker:
            self._ticker.cancel()
        if self._server:
            self._server.close()
            await self._server.wait_closed()


def make_auth(secret_hex: str = "") -> Auth:
    return Auth(hashlib.sha256, os.urandom, secret_hex)


async def _main(args: argparse.Namespace) -> None:
    app = make_app()
    auth = make_auth(args.secret or os.environ.get("SHUNT_SECRET", ""))
    if not auth.has_secret():
        print("setup code (one use): %s" % auth.setup_code(), flush=True)
    server = ConsoleServer(app.device, auth, "127.0.0.1", args.port)
    port = await server.start()
    print("console on 127.0.0.1:%d" % port, flush=True)
    now_ms = 0
    while True:
        now_ms = idle_second(app, now_ms)
        await asyncio.sleep(1)


def idle_second(app, now_ms: int) -> int:
    """One second of the app without hardware: a steady idle battery so that status has values (12.80 V, no
    current, one sample per 100 ms), and the port step that ends a zero_current by wall time, as the board's port
    task does (there is no sensor here, so the measurement ends rejected after 10 s instead of waiting for ever).
    Returns the next ms value (on CPython the firmware's ticks are plain integers: drivers.ina226)."""
    for _ in range(10):
        app.count_sample(12800, 0, 100)
    now_ms += 1000
    app.poll_port(now_ms)
    return now_ms


def main() -> None:
    p = argparse.ArgumentParser(description="Serve the shunt console on 127.0.0.1 (the real app, flash in memory).")
    p.add_argument("--port", type=int, default=7878, help="TCP port on 127.0.0.1 (0: any free port)")
    p.add_argument("--secret", default="", help="console secret, 64 hex characters (default: $SHUNT_SECRET)")
    args = p.parse_args()
    try:
        asyncio.run(_main(args))
    except KeyboardInterrupt:
        pass
    except (OSError, ValueError) as e:
        print("console_server: %s" % e, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
