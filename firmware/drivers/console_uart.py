# Console over a byte stream (USB serial/REPL UART, any UART): assembles lines and feeds proto.console.
# Spec: battery-monitor.md §12 (commands); platform.md §3.3 (line protocol reassembled across chunks).
from micropython import const

import asyncio

MAX_LINE = const(128)
_IDLE_MS = const(20)            # how often an idle USB console looks for a typed character
_CR = const(13)
_LF = const(10)


class LineAssembler:
    """Bytes in any chunking -> whole lines. A line ends at CR, LF or CR LF. A line longer than `max_line`
    bytes is dropped up to its end and reported once as its length (an int) so the console can answer
    TOOLONG; nothing of it reaches a command. The buffer is allocated once."""

    def __init__(self, max_line=MAX_LINE):
        self._buf = bytearray(max_line)
        self._max = max_line
        self._n = 0
        self._over = 0          # bytes of an overlong line seen so far (0: not overlong)
        self._last_cr = False

    def reset(self):
        """Forget a partial line (a new peer must not inherit the last one's half line)."""
        self._n = 0
        self._over = 0
        self._last_cr = False

    def feed(self, data):
        """Yield each completed line (bytes, without its end) or, for an overlong line, its length (int)."""
        for b in data:
            if b == _LF and self._last_cr:
                self._last_cr = False
                continue            # the LF of a CR LF pair
            self._last_cr = b == _CR
            if b == _CR or b == _LF:
                if self._over:
                    n = self._over
                    self._over = 0
                    yield n
                else:
                    n = self._n
                    self._n = 0
                    yield bytes(self._buf[:n])
                continue
            if self._over:
                self._over += 1
            elif self._n < self._max:
                self._buf[self._n] = b
                self._n += 1
            else:
                self._over = self._n + 1
                self._n = 0


class PolledReader:
    """A reader for `sys.stdin.buffer` that never blocks the asyncio loop. On MicroPython `stdin.read(n)` returns
    only when n characters have arrived (shared/runtime/sys_stdio_mphal.c:60-75 and 137-142 loop
    mp_hal_stdin_rx_chr, which waits in ports/esp32/mphalport.c:129-149), and `sys.stdin` is a text stream that
    returns str. So: read bytes from `.buffer`, one at a time, only while `poll(0)` says one is waiting
    (mp_hal_stdio_poll, mphalport.c:108-122); sleep `idle_ms` when none is. `poller`: a select.poll() with the
    stream registered for POLLIN (built here when None)."""

    def __init__(self, stream, poller=None, idle_ms=_IDLE_MS, chunk=64):
        if poller is None:
            import select
            poller = select.poll()
            poller.register(stream, select.POLLIN)
        self._s = stream
        self._p = poller
        self._idle_ms = idle_ms
        self._buf = bytearray(chunk)

    async def read(self, n):
        """Up to n bytes (at most `chunk`) as soon as at least one is there; b"" at end of stream."""
        buf = self._buf
        n = min(n, len(buf))
        while True:
            k = 0
            while k < n and self._p.poll(0):
                b = self._s.read(1)
                if not b:
                    if k == 0:
                        return b""
                    break
                buf[k] = b[0]
                k += 1
            if k:
                return bytes(buf[:k])
            await asyncio.sleep_ms(self._idle_ms)


def usb_console(console, stdin, stdout, poller=None, writer=None, idle_ms=_IDLE_MS):
    """The USB (REPL) console of the board: `stdin`/`stdout` are sys.stdin/sys.stdout. Bytes are read from
    `stdin.buffer` without blocking (PolledReader); replies go through an asyncio StreamWriter on stdout (its
    write keeps what a stream did not accept, extmod/asyncio/stream.py:66-74)."""
    if poller is None:
        import select
        poller = select.poll()
        poller.register(stdin, select.POLLIN)
    if writer is None:
        writer = asyncio.StreamWriter(stdout, {})
    return ConsoleStream(console, PolledReader(stdin.buffer, poller, idle_ms), writer)


class ConsoleStream:
    """Runs a Console on a stream: `asyncio.StreamReader`/`StreamWriter` over a UART or sys.stdin/stdout.
    The reader and writer are handed in (the app builds them from its port), never created here."""

    def __init__(self, console, reader, writer, chunk=64):
        self._console = console
        self._reader = reader
        self._writer = writer
        self._chunk = chunk
        self._lines = LineAssembler()

    async def run(self):
        c = self._console
        while True:
            data = await self._reader.read(self._chunk)
            if not data:
                # End of stream (a TCP peer closed, a pty hung up): the session ends with it.
                c.disconnect()
                self._lines.reset()
                return
            for item in self._lines.feed(data):
                reply = await c.reply_async(item)
                self._writer.write(reply.encode())
                await self._writer.drain()
