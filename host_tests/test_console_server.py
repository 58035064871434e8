"""tools/console_server.py, the console without hardware (simulator, web page, shuntctl tests): `zero_current`
there has no sensor, so it must end rejected after 10 s of its (wall) clock, as on a board whose INA226 stopped,
instead of failing with an internal error (CPython's asyncio has no sleep_ms) or waiting for ever."""
import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import console_server  # noqa: E402
from proto.console import Console  # noqa: E402


def test_zero_current_without_a_sensor_ends_rejected_after_10_s_of_the_server_clock():
    app = console_server.make_app()
    console = Console(app.device, None)
    console.authenticated = True            # a local session (the auth exchange is test_console_security's)

    async def run():
        task = asyncio.ensure_future(console.handle_line_async("zero_current"))
        now_ms, seconds = 0, 0
        while not task.done() and seconds < 30:
            await asyncio.sleep(0)
            now_ms = console_server.idle_second(app, now_ms)
            seconds += 1
            await asyncio.sleep(0.11)           # the device polls every 100 ms
        return (await task if task.done() else "still waiting"), seconds

    reply, seconds = asyncio.run(run())
    assert "ERR STATE" in reply and "zero_current rejected" in reply, reply
    assert 10 <= seconds <= 12, seconds
