# sys.stdin of MicroPython on the ESP32, for tests: what a person types on the USB console arrives here.
# Mirrors MicroPython v1.28.0:
# - shared/runtime/sys_stdio_mphal.c:60-75 stdio_read: sys.stdin is a TEXT stream (is_text = true, line 120) whose
#   read(n) loops mp_hal_stdin_rx_chr() n times, so it returns only when n characters have arrived, as str, with
#   every CR turned into LF (line 65);
# - sys_stdio_mphal.c:137-142 stdio_buffer_read: sys.stdin.buffer is the same without the CR conversion, as bytes;
# - ports/esp32/mphalport.c:129-149 mp_hal_stdin_rx_chr: loops (MICROPY_EVENT_POLL_HOOK) until a character is in
#   the ring buffer: nothing else in the asyncio loop runs meanwhile;
# - sys_stdio_mphal.c:88-91 + mphalport.c:108-122: poll reports POLLIN once a character is buffered.
# A fake cannot block for ever in a single-threaded test, so a read that would block raises BlocksLoop instead: on
# the board the whole firmware (sampling, VE.Direct, BLE, the watchdog feed) would stop there.
POLLIN = 1


class BlocksLoop(Exception):
    pass


class _Stream:
    def __init__(self, owner, text):
        self._owner = owner
        self._text = text

    def read(self, n=-1):
        o = self._owner
        if n is None or n < 0 or len(o.rx) < n:
            raise BlocksLoop("stdin.read(%r) with %d characters typed: blocks the whole board until %s arrive"
                             % (n, len(o.rx), "EOF" if n is None or n < 0 else n))
        data = bytes(o.rx[:n])
        o.rx = o.rx[n:]
        o.reads += 1
        if self._text:
            return data.replace(b"\r", b"\n").decode()
        return data


class FakeStdin(_Stream):
    """`sys.stdin`; `.buffer` is `sys.stdin.buffer`. `type(b"...")` is the person typing."""

    def __init__(self):
        self.rx = bytearray()
        self.reads = 0
        _Stream.__init__(self, self, True)
        self.buffer = _Stream(self, False)

    def type(self, data):
        self.rx += data

    def poller(self):
        """A select.poll() with this stdin registered for POLLIN."""
        return _Poll(self)


class _Poll:
    def __init__(self, stdin):
        self._stdin = stdin

    def poll(self, timeout_ms=-1):
        if self._stdin.rx:
            return [(self._stdin, POLLIN)]
        if timeout_ms != 0:
            raise BlocksLoop("poll(%r) with nothing typed blocks" % timeout_ms)
        return []
