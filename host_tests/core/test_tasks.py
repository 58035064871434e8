# Supervision of the board's tasks (firmware/tasks.py) on the MicroPython unix port, on the real clock: an
# exception is injected into each task in turn; each is logged, counted in `status`, restarted after its back-off,
# and sampling, VE.Direct text and the watchdog feed go on with nothing lost. Issue 12 item 5: with a bare
# asyncio.gather the first exception ended every task (and on the board the watchdog then reset it).
import sys

MICROPYTHON = sys.implementation.name == "micropython"


class _Once:
    """Calls `fn`, except once at or after `at_ms` of the run, when it raises `exc` instead."""

    def __init__(self, fn, at_ms, exc, clock):
        self.fn, self.at_ms, self.exc, self.clock = fn, at_ms, exc, clock
        self.raised = 0

    def __call__(self, *a):
        if not self.raised and self.clock() >= self.at_ms:
            self.raised = 1
            raise self.exc
        return self.fn(*a)


def test_each_task_fails_once_and_the_others_never_stop():
    if not MICROPYTHON:     # asyncio.sleep_ms and time.ticks_ms are MicroPython's: test_micropython.py runs it
        import pytest
        pytest.skip("MicroPython only (run by host_tests/test_micropython.py)")
    import asyncio
    import time
    from app import App
    from tasks import run, Supervisor
    from fakes.fake_ina226 import FakeI2C, FakeINA226
    from fakes.fake_uart import FakeUART
    from fakes.fake_wdt import FakeWDT
    from fakes.mem_store import MemStore
    from proto.console import Console

    t0 = time.ticks_ms()

    def clock():
        return time.ticks_diff(time.ticks_ms(), t0)

    chip = FakeINA226()
    chip.set_battery_mv(13100)
    chip.set_current_ma(-10000, 500, 50)

    class ClockedI2C(FakeI2C):
        def readfrom_mem_into(self, addr, reg, buf, addrsize=8):
            chip.set_time_ms(clock())
            return FakeI2C.readfrom_mem_into(self, addr, reg, buf, addrsize)

    logged = []
    uart = FakeUART()
    app = App(ClockedI2C(chip), uart, store=MemStore(), log=logged.append)
    counted = []
    real_count = app.sensor.count          # drivers.sensor hands every good sample to the app's count_sample

    def count(v, i, dt):
        counted.append(dt)
        return real_count(v, i, dt)

    app.sensor.count = count
    app.poll_sensor = _Once(app.poll_sensor, 300, OSError(5), clock)
    app.poll_port = _Once(app.poll_port, 600, MemoryError(), clock)

    class Auth:
        def has_secret(self):
            return True

        def elapse(self, ms):
            pass

    app.auth = Auth()
    app.auth.elapse = _Once(app.auth.elapse, 900, ValueError("x"), clock)
    FakeWDT.forget()
    wdt = FakeWDT(timeout=2500, clock=clock)
    wdt.feed = _Once(wdt.feed, 1200, OSError(259), clock)

    class Beacon:
        updates = 0

        def update(self, monitor):
            Beacon.updates += 1

    beacon = Beacon()
    beacon.update = _Once(beacon.update, 1500, OSError(16), clock)    # NimBLE busy (EBUSY)

    class Console_:
        def __init__(self, at):
            self.starts = 0
            self.at = at

        async def run(self):
            self.starts += 1
            await asyncio.sleep_ms(self.at)
            if self.starts == 1:
                raise OSError(12)       # ENOMEM from NimBLE, a bug in a command, ...
            await asyncio.sleep_ms(100000)

    usb, ble = Console_(1800), Console_(2100)
    sup = Supervisor(app.log, app.status_notes, backoff_ms=100)
    try:
        asyncio.run(asyncio.wait_for_ms(run(app, None, uart_console=usb, ble=ble, beacon=beacon, wdt=wdt,
                                            supervisor=sup), 3200))
    except asyncio.TimeoutError:
        pass
    names = ("sample", "port", "housekeeping", "watchdog", "beacon", "usb_console", "ble_console")
    for name in names:
        assert sup.failures.get(name) == 1, (name, sup.failures)
    assert usb.starts == 2 and ble.starts == 2                   # restarted after the back-off
    assert Beacon.updates >= 1                                  # the beacon task came back too
    # logged once each, and shown by the console's status
    assert len([s for s in logged if s.startswith("task ")]) == len(names), logged
    status = Console(app.device, None).handle_line("status")
    assert "tasks=" in status and "sample failed 1x (last OSError(5,))" in status.replace("OSError(5)", "OSError(5,)")
    # sampling went on: every conversion read was counted, and the counted intervals cover the whole run
    assert 15 <= app.ina.samples <= min(23, chip.conversions)
    assert len(counted) == app.ina.samples
    assert app.monitor.i_ma == -10000
    assert 2500 <= sum(counted) <= 3200
    # VE.Direct went on: a text cycle every second despite the port task's failure
    assert 2 <= bytes(uart.tx).count(b"\r\nPID\t") <= 4
    # the watchdog was fed in time throughout
    assert wdt.feeds >= 1 and not wdt.expired()
