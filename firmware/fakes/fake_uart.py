# A machine.UART stand-in for tests and the host tools: what the firmware writes is collected in `tx` (or handed
# to `sink`), and bytes queued with `feed()` are what readinto() returns, as a real RX buffer would.


class FakeUART:
    def __init__(self, sink=None):
        self.tx = bytearray()
        self.rx = bytearray()
        self.written = 0
        self._sink = sink        # None: keep everything in tx; else a callable taking the bytes (a stream)

    def write(self, data):
        n = len(data)
        self.written += n
        if self._sink is None:
            self.tx += data
        else:
            self._sink(bytes(data))
        return n

    def readinto(self, buf):
        n = min(len(buf), len(self.rx))
        if not n:
            return None
        buf[:n] = self.rx[:n]
        self.rx = self.rx[n:]
        return n

    def feed(self, data):
        self.rx += data
