# A machine.UART stand-in for tests and the host tools: what the firmware writes is collected in `tx` (or handed
# to `sink`), and bytes queued with `feed()` are what readinto() returns, as a real RX buffer would.
# Mirrors MicroPython v1.28.0 ports/esp32/machine_uart.c:
# - lines 710-721 mp_machine_uart_write: write returns the count uart_write_bytes accepted, which the stream
#   layer (py/stream.c mp_stream_write) hands back as is; a count below len(data) is a partial write and an
#   error (-1) is EAGAIN, which a non-blocking stream returns as None. `room` models a TX buffer with that much
#   free space (None: unlimited); `drain_tx(n)` is the line sending n bytes;
# - lines 677-708 mp_machine_uart_read: readinto returns what is buffered, or None (timeout=0) when nothing is.


class FakeUART:
    def __init__(self, sink=None, room=None):
        self.tx = bytearray()
        self.rx = bytearray()
        self.written = 0
        self.room = room         # free TX buffer bytes (None: unlimited)
        self.short_writes = 0    # writes that accepted fewer bytes than given
        self._sink = sink        # None: keep everything in tx; else a callable taking the bytes (a stream)

    def write(self, data):
        n = len(data)
        if self.room is not None:
            if self.room <= 0:
                self.short_writes += 1
                return None          # EAGAIN
            if n > self.room:
                n = self.room
                self.short_writes += 1
            self.room -= n
        self.written += n
        if self._sink is None:
            self.tx += data[:n]
        else:
            self._sink(bytes(data[:n]))
        return n

    def drain_tx(self, n):
        """The line sent n bytes: that much TX buffer is free again."""
        if self.room is not None:
            self.room += n

    def readinto(self, buf):
        n = min(len(buf), len(self.rx))
        if not n:
            return None
        buf[:n] = self.rx[:n]
        self.rx = self.rx[n:]
        return n

    def feed(self, data):
        self.rx += data
