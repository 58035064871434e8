# Line assembly for the stream consoles (drivers.console_uart): CR/LF/CR LF ends, 128-byte limit, chunking,
# and a console on a fake stream. Dual runtime: CPython pytest and the MicroPython unix port.
import asyncio

from drivers.console_uart import LineAssembler, ConsoleStream, usb_console
from fakes.fake_stdin import FakeStdin, BlocksLoop
from proto.console import Console
from console_fakes import Device, new_auth


def _feed_all(a, chunks):
    out = []
    for ch in chunks:
        for item in a.feed(ch):
            out.append(item)
    return out


def test_lines_end_at_cr_lf_or_crlf():
    a = LineAssembler()
    assert _feed_all(a, [b"a\rb\nc\r\nd"]) == [b"a", b"b", b"c"]
    assert _feed_all(a, [b"\n"]) == [b"d"]


def test_crlf_split_across_chunks_is_one_line_end():
    a = LineAssembler()
    assert _feed_all(a, [b"status\r", b"\nlist\r", b"\n"]) == [b"status", b"list"]


def test_blank_line_is_delivered_for_the_console_to_answer():
    a = LineAssembler()
    assert _feed_all(a, [b"\n\r\n"]) == [b"", b""]


def test_every_chunking_gives_the_same_lines():
    data = b"get capacity\r\nset capacity 100\nstatus\r"
    want = [b"get capacity", b"set capacity 100", b"status"]
    for size in range(1, len(data) + 1):
        a = LineAssembler()
        assert _feed_all(a, [data[i:i + size] for i in range(0, len(data), size)]) == want, size


def test_128_bytes_pass_and_129_are_reported_by_length():
    a = LineAssembler()
    assert _feed_all(a, [b"x" * 128 + b"\n"]) == [b"x" * 128]
    assert _feed_all(a, [b"y" * 129 + b"\n"]) == [129]
    assert _feed_all(a, [b"z" * 100, b"z" * 400, b"\nok\n"]) == [500, b"ok"]


def test_reset_drops_a_partial_line():
    a = LineAssembler()
    _feed_all(a, [b"set capa"])
    a.reset()
    assert _feed_all(a, [b"status\n"]) == [b"status"]


class _Reader:
    def __init__(self, chunks):
        self.chunks = list(chunks)

    async def read(self, n):
        return self.chunks.pop(0) if self.chunks else b""


class _Writer:
    def __init__(self):
        self.out = bytearray()

    def write(self, b):
        self.out += b

    async def drain(self):
        pass


def test_console_stream_answers_each_line_and_ends_the_session_at_eof():
    dev = Device()
    c = Console(dev, new_auth())
    c.authenticated = True
    w = _Writer()
    s = ConsoleStream(c, _Reader([b"get capa", b"city\r\n", b"q" * 130 + b"\n", b"\n"]), w)
    asyncio.run(s.run())
    assert bytes(w.out) == (b"OK capacity=200 Ah\n" b"ERR TOOLONG line is 130 bytes: at most 128\n"
                            b"ERR EMPTY empty line: type 'help' for the commands\n")
    assert not c.authenticated


def test_the_fake_stdin_blocks_like_the_board():
    # sys_stdio_mphal.c:60-75: read(64) waits for 64 characters (here: raises) and a text read returns str
    stdin = FakeStdin()
    stdin.type(b"help\r")
    try:
        stdin.read(64)
        assert False, "read(64) with 5 characters typed must block"
    except BlocksLoop:
        pass
    assert stdin.read(5) == "help\n"


def test_usb_console_answers_typed_keys_without_ever_blocking_the_loop():
    added = not hasattr(asyncio, "sleep_ms")
    if added:                                   # CPython: MicroPython's asyncio.sleep_ms for this test only
        asyncio.sleep_ms = lambda ms: asyncio.sleep(ms / 1000)
    try:
        _usb_console_scenario()
    finally:
        if added:
            del asyncio.sleep_ms


def _usb_console_scenario():
    # Issue 12 item 1: typing `help` + Enter on the USB console; other tasks keep running meanwhile.
    stdin = FakeStdin()
    c = Console(Device(), new_auth())
    w = _Writer()
    s = usb_console(c, stdin, None, poller=stdin.poller(), writer=w, idle_ms=1)
    ticks = [0]

    async def other_task():      # stands for sampling and VE.Direct
        while True:
            ticks[0] += 1
            await asyncio.sleep(0.001)

    async def scenario():
        t = asyncio.create_task(other_task())
        con = asyncio.create_task(s.run())
        for ch in b"status\r":
            stdin.type(bytes((ch,)))
            for _ in range(3):
                await asyncio.sleep(0.001)
        n = 0
        while b"OK status" not in w.out and n < 500:
            await asyncio.sleep(0.001)
            n += 1
        before = ticks[0]
        await asyncio.sleep(0.02)
        alive = ticks[0] > before
        con.cancel()
        t.cancel()
        return alive

    assert asyncio.run(scenario())
    assert b"V=" in w.out and w.out.endswith(b"OK status\n"), bytes(w.out)
