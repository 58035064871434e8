# VE.Direct port adapter: a machine.UART (19200 8N1) carrying text cycles out and HEX frames both ways.
# Spec: vedirect.md §2 (link), §3.7 (cadence, one write per cycle), §5 (interleave and text hold); platform.md §2.5.
from proto.vedirect import TextBuilder, TextSchedule

BAUDRATE = 19200   # VD §2: 8N1, no flow control. The app creates the UART: UART(id, 19200, bits=8, parity=None,
                   # stop=1, tx=…, rx=…, txbuf=1024, rxbuf=512) with the pins from the board config (PL §2.5).


class VeDirectPort:
    """Drives one VE.Direct port. `poll(dt_ms, monitor)` is the whole job: read what arrived, answer HEX,
    and start a text cycle when the schedule says so. Every write is a complete unit (one cycle, or the
    pending replies), so replies always land between blocks (VD §5.1)."""

    def __init__(self, uart, hexhandler, builder=None, schedule=None):
        self.uart = uart
        self.hex = hexhandler
        self.builder = builder if builder is not None else TextBuilder()
        self.schedule = schedule if schedule is not None else TextSchedule()
        self._rx = bytearray(64)
        self.cycles = 0

    def poll(self, dt_ms, monitor=None):
        """dt_ms: time since the previous poll (ticks_diff). monitor None: no text this time (before the first
        measurement, or while measurement has failed, VD §3.7). Returns the number of bytes written."""
        self.schedule.elapse(dt_ms)
        self.hex.elapse(dt_ms)
        rx = self._rx
        while True:
            n = self.uart.readinto(rx)
            if not n:
                break
            self.schedule.hex_frames(self.hex.feed(rx, n))
        written = 0
        if self.hex.out_len:
            written += self.uart.write(self.hex.take()) or 0
        if monitor is not None and self.schedule.due():
            b = self.builder
            n = b.build_cycle_from(monitor)
            written += self.uart.write(b.mv[:n]) or 0
            self.schedule.sent()
            self.cycles += 1
        return written

    async def run(self, get_monitor, poll_ms=20):
        """The app's asyncio task: poll every `poll_ms`, with intervals measured by ticks_diff.
        get_monitor() returns the Monitor, or None while there is no valid measurement."""
        import asyncio
        import time
        last = time.ticks_ms()
        while True:
            await asyncio.sleep_ms(poll_ms)
            now = time.ticks_ms()
            self.poll(time.ticks_diff(now, last), get_monitor())
            last = now
