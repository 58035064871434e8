# A machine.UART stand-in for tests and the host tools: what the firmware writes is collected in `tx` (or handed
# to `sink`), and bytes queued with `feed()` are what readinto() returns, as a real RX buffer would.
# Mirrors MicroPython v1.28.0 ports/esp32/machine_uart.c over ESP-IDF's UART driver:
# - mp_machine_uart_write (lines 710-721) returns what uart_write_bytes returns. With a TX ring (txbuf > 0, as
#   main.py opens it) ESP-IDF uart_tx_all (components/esp_driver_uart/src/uart.c) copies the whole buffer into
#   the ring with xRingbufferSend(..., portMAX_DELAY), waiting for room, and returns the original size: a write
#   is never partial and never EAGAIN (-1 only for a bad port or a NULL buffer). `room` models the free ring
#   (None: unlimited); a write that does not fit stalls the caller until the line has sent enough: `blocked_ms`
#   adds up that time at `bps` bytes per second (19 200 baud 8N1: 1 920), during which no other task runs.
#   `line(ms)` is the line sending for ms.
# - mp_machine_uart_ioctl (line 735) reports POLL_WR always ("FIXME: uart_tx_any_room"), so the firmware cannot
#   ask for room: drivers.vedirect_uart models the ring from the bytes it wrote and the time that passed.
# - mp_machine_uart_read (lines 677-708): readinto returns what is buffered, or None (timeout=0) when nothing is.


class FakeUART:
    def __init__(self, sink=None, room=None, bps=1920):
        self.tx = bytearray()
        self.rx = bytearray()
        self.written = 0
        self.room = room         # free TX ring bytes (None: unlimited)
        self.size = room         # the ring's size: the line drains it back to this
        self.bps = bps
        self.blocked_ms = 0      # time write() stood still waiting for room (the whole board with it)
        self._txf = 0            # the line's byte fraction, in 1/1000 byte
        self._sink = sink        # None: keep everything in tx; else a callable taking the bytes (a stream)

    def write(self, data):
        n = len(data)
        if self.room is not None:
            if n > self.room:
                ms = ((n - self.room) * 1000 + self.bps - 1) // self.bps
                self.blocked_ms += ms
                self.line(ms)
            self.room -= n
        self.written += n
        if self._sink is None:
            self.tx += data
        else:
            self._sink(bytes(data))
        return n

    def line(self, ms):
        """ms of line time: the TX ring drains at the line rate."""
        if self.room is None or self.room >= self.size:
            self._txf = 0
            return
        f = self._txf + ms * self.bps
        self._txf = f % 1000
        self.room += f // 1000
        if self.room >= self.size:
            self.room = self.size
            self._txf = 0

    def readinto(self, buf):
        n = min(len(buf), len(self.rx))
        if not n:
            return None
        buf[:n] = self.rx[:n]
        self.rx = self.rx[n:]
        return n

    def feed(self, data):
        self.rx += data
