# VE.Direct port adapter: a machine.UART (19200 8N1) carrying text cycles out and HEX frames both ways.
# Spec: vedirect.md §2 (link), §3.7 (cadence, one write per cycle), §5 (interleave and text hold); platform.md §2.5.
from proto.vedirect import TextBuilder, TextSchedule

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

BAUDRATE = 19200   # VD §2: 8N1, no flow control. The app creates the UART: UART(id, 19200, bits=8, parity=None,
                   # stop=1, tx=…, rx=…, txbuf=1024, rxbuf=512) with the pins from the board config (PL §2.5).
TX_BUF = const(1024)           # the UART's TX ring (main.py txbuf)
_LINE_BYTES_PER_S = const(1920)  # 19 200 baud, 8N1: 10 bits a byte


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
        # What was handed to the UART and is not on the line yet, from the bytes written and the measured time.
        # The ESP32's UART.write waits for room in its TX ring (ESP-IDF uart_write_bytes, MicroPython
        # ports/esp32/machine_uart.c mp_machine_uart_write), which would stall every task, and a write that takes
        # fewer bytes would cut a block: so nothing is written that does not fit. HEX replies wait in the
        # handler's buffer (a reply that no longer fits there is dropped and counted, hex.replies_dropped); a
        # due text cycle waits for room (counted once in text_delayed).
        self.tx_backlog = 0
        self._tx_frac = 0
        self.text_delayed = 0
        self._delayed = False

    def poll(self, dt_ms, monitor=None):
        """dt_ms: time since the previous poll (ticks_diff). monitor None: no text this time (before the first
        measurement, or while measurement has failed, VD §3.7). Returns the number of bytes written."""
        self.schedule.elapse(dt_ms)
        self.hex.elapse(dt_ms)
        if self.tx_backlog:
            f = self._tx_frac + dt_ms * _LINE_BYTES_PER_S
            sent = f // 1000
            self._tx_frac = f - sent * 1000
            self.tx_backlog = self.tx_backlog - sent if sent < self.tx_backlog else 0
        rx = self._rx
        while True:
            n = self.uart.readinto(rx)
            if not n:
                break
            self.schedule.hex_frames(self.hex.feed(rx, n))
        written = 0
        if self.hex.out_len and self.hex.out_len <= TX_BUF - self.tx_backlog:
            written += self._write(self.hex.take())
        if monitor is not None and self.schedule.due():
            b = self.builder
            n = b.build_cycle_from(monitor)
            if n <= TX_BUF - self.tx_backlog:
                written += self._write(b.mv[:n])
                self.schedule.sent()
                self.cycles += 1
                self._delayed = False
            elif not self._delayed:
                self._delayed = True
                self.text_delayed += 1
        return written

    def _write(self, mv):
        if not self.tx_backlog:
            self._tx_frac = 0
        n = self.uart.write(mv) or 0
        self.tx_backlog += n
        return n
