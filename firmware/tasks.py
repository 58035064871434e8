# The board's asyncio tasks: one per concern (STYLE.md), driving the App (firmware/app.py) on the real clock.
# Spec: platform.md §2.7 (watchdog); battery-monitor.md §0.4 (board).
#
# Every task runs under `Supervisor.run`: `asyncio.gather` alone ends every task when one raises (one OSError from
# NimBLE, `gap_advertise` busy or ENOMEM, would stop sampling and the watchdog would reset the board). A failing
# task is logged (the first failure and whenever the error changes), counted in the `tasks` line of `status`, and
# restarted after a back-off that doubles up to 30 s; the other tasks never stop. KeyboardInterrupt and
# SystemExit are not `Exception`s: they still end the app (main.py then makes the watchdog harmless).
from micropython import const

import asyncio
import time

_BACKOFF_MS = const(500)          # first restart after half a second
_BACKOFF_MAX_MS = const(30000)
_HEALTHY_MS = const(60000)        # a task that ran this long before failing starts again at the short back-off


class Supervisor:
    """Runs task coroutines and restarts the ones that fail. `failures[name]` counts each task's exceptions;
    `last[name]` is the text of its latest one. `notes` (the app's status notes) gets the `tasks` line."""

    def __init__(self, log=print, notes=None, backoff_ms=_BACKOFF_MS, backoff_max_ms=_BACKOFF_MAX_MS):
        self.log = log
        self.notes = notes if notes is not None else {}
        self.failures = {}
        self.last = {}
        self._backoff_ms = backoff_ms
        self._backoff_max_ms = backoff_max_ms

    def _failed(self, name, e):
        n = self.failures.get(name, 0) + 1
        self.failures[name] = n
        text = repr(e)
        if self.last.get(name) != text:
            # Logged once: a task failing the same way every back-off does not flood the console.
            self.log("task %s failed (%d): %s: restarting" % (name, n, text))
        self.last[name] = text
        self.notes["tasks"] = ", ".join("%s failed %dx (last %s)" % (k, self.failures[k], self.last[k])
                                        for k in sorted(self.failures))

    async def run(self, name, make):
        """Run `make()` (a new coroutine each time) until it returns; restart it after each exception."""
        wait = self._backoff_ms
        while True:
            t0 = time.ticks_ms()
            try:
                return await make()
            except asyncio.CancelledError:
                raise
            except Exception as e:      # noqa: BLE001 - any failure of one task must not end the others
                ran_ms = time.ticks_diff(time.ticks_ms(), t0)
                if ran_ms >= _HEALTHY_MS or ran_ms < 0:     # < 0: ran more than 2^29 ms (ticks wrap)
                    wait = self._backoff_ms
                self._failed(name, e)
            await asyncio.sleep_ms(wait)
            wait = min(wait * 2, self._backoff_max_ms)


async def run(app, cfg, uart_console=None, ble=None, beacon=None, wdt=None, alert_flag=None, supervisor=None):
    """Run the app on the board until reset. `cfg` is board_config; the hardware objects come from main.py."""
    app.start(time.ticks_ms())
    health = [time.ticks_ms()]
    sup = supervisor if supervisor is not None else Supervisor(app.log, app.status_notes)

    async def sample_task():
        # Every conversion: wait for the ALERT edge (or poll), read it, count it with the measured interval.
        while True:
            if alert_flag is not None:
                try:
                    await asyncio.wait_for_ms(alert_flag.wait(), 50)
                except asyncio.TimeoutError:
                    pass
            else:
                await asyncio.sleep_ms(20)
            now = time.ticks_ms()
            app.poll_sensor(now)
            health[0] = now

    async def port_task():
        while True:
            await asyncio.sleep_ms(20)
            app.poll_port(time.ticks_ms())

    async def beacon_task():
        while True:
            await asyncio.sleep_ms(1000)
            beacon.update(app.monitor)

    async def housekeeping_task():
        # Console lockouts run on measured time (proto.auth); a requested restart waits for its reply to leave.
        last = time.ticks_ms()
        while True:
            await asyncio.sleep_ms(200)
            now = time.ticks_ms()
            if app.auth is not None:
                app.auth.elapse(time.ticks_diff(now, last))
            last = now
            if app.restart_requested:
                await asyncio.sleep_ms(300)   # let the reply leave first
                import machine
                machine.reset()

    async def watchdog_task():
        # Fed only while the sampling task runs: a hung loop or a wedged sampler resets the board.
        while True:
            await asyncio.sleep_ms(1000)
            if time.ticks_diff(time.ticks_ms(), health[0]) < 3000:
                wdt.feed()

    jobs = [("sample", sample_task), ("port", port_task), ("housekeeping", housekeeping_task)]
    if wdt is not None:
        jobs.append(("watchdog", watchdog_task))
    if beacon is not None:
        jobs.append(("beacon", beacon_task))
    if uart_console is not None:
        jobs.append(("usb_console", uart_console.run))
    if ble is not None:
        jobs.append(("ble_console", ble.run))
    await asyncio.gather(*[asyncio.create_task(sup.run(name, make)) for name, make in jobs])
