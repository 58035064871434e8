# Console over a byte stream (USB serial/REPL UART, any UART): assembles lines and feeds proto.console.
# Spec: battery-monitor.md §12 (commands); platform.md §3.3 (line protocol reassembled across chunks).
from micropython import const

import asyncio

MAX_LINE = const(128)
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


def reply_for(console, item):
    """The console's reply to one assembled item (a line, or the length of an overlong one)."""
    if isinstance(item, int):
        return console.too_long(item)
    return console.handle_line(item)


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
                if isinstance(item, int):
                    reply = c.too_long(item)
                else:
                    reply = await c.handle_line_async(item)
                self._writer.write(reply.encode())
                await self._writer.drain()
