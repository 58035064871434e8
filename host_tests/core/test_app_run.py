# The board's asyncio tasks (app.run) for 3 real seconds on the MicroPython unix port: the fake INA226 follows
# the real clock, so every conversion is sampled by the sampling task with ticks_diff intervals, the port task
# sends text once a second and the watchdog is fed while sampling is healthy (platform.md §2.7).
from check import micropython_only


class WDT:
    def __init__(self):
        self.fed = 0

    def feed(self):
        self.fed += 1


def test_board_tasks_run_sample_report_and_feed_the_watchdog():
    micropython_only()
    import asyncio
    import time
    from app import App
    from tasks import run
    from fakes.fake_ina226 import FakeI2C, FakeINA226
    from fakes.fake_uart import FakeUART
    from fakes.mem_store import MemStore

    t0 = time.ticks_ms()
    chip = FakeINA226()
    chip.set_battery_mv(13100)
    chip.set_current_ma(-10000, 500, 50)

    class ClockedI2C(FakeI2C):
        def _sync(self):
            chip.set_time_ms(time.ticks_diff(time.ticks_ms(), t0))

        def readfrom_mem_into(self, addr, reg, buf, addrsize=8):
            self._sync()
            return FakeI2C.readfrom_mem_into(self, addr, reg, buf, addrsize)

    uart = FakeUART()
    app = App(ClockedI2C(chip), uart, store=MemStore(), log=lambda s: None)
    wdt = WDT()
    try:
        asyncio.run(asyncio.wait_for_ms(run(app, None, wdt=wdt), 3200))
    except asyncio.TimeoutError:
        pass
    # 3.2 s of conversions every ≈ 141 ms: never more than the chip made (none counted twice); a loaded CI
    # machine may stall the loop past a conversion, so the lower bound leaves room
    assert 15 <= app.ina.samples <= min(23, chip.conversions)
    assert app.monitor.i_ma == -10000
    a_blocks = bytes(uart.tx).count(b"\r\nPID\t")
    assert 2 <= a_blocks <= 4
    assert wdt.fed >= 2
    # the measured intervals add up: op_time is the time from the first to the last sample
    assert app.monitor.op_time_s in (2, 3)
