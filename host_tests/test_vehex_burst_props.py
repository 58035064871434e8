"""Property (issue 12 item 6): any burst of HEX frames of every kind arriving within one 20 ms poll of the
VE.Direct port never raises; every byte written is a whole valid frame and what did not fit is counted."""
import re

from hypothesis import given, settings, strategies as st

from drivers.vedirect_uart import VeDirectPort
from fakes.fake_uart import FakeUART
from test_vehex_burst import _handler, _get

FRAME = re.compile(rb":[0-9A-F]((?:[0-9A-F]{2})*)[0-9A-F]{2}\n")


def _enc(cmd, payload):
    s = cmd + sum(payload)
    return (":%X%s%02X\n" % (cmd, "".join("%02X" % b for b in payload), (0x55 - s) & 0xFF)).encode()


REGS = [0x0100, 0x0101, 0x010A, 0x010B, 0x0FFE, 0x0FFF, 0xED8D, 0xED8F, 0xED8C, 0xED8E, 0xEEFF, 0x031E, 0xEEB6,
        0x1000, 0x1001, 0x1029, 0x102C] + list(range(0x0300, 0x0312))
frame = st.one_of(
    st.just(b":\n"), st.just(b":154\n"), st.just(b":451\n"), st.just(b":352\n"),        # short, ping, version, pid
    st.sampled_from(REGS).map(_get),                                                        # GETs
    st.tuples(st.sampled_from(REGS), st.binary(min_size=0, max_size=4)).map(
        lambda t: _enc(8, bytes((t[0] & 0xFF, t[0] >> 8, 0)) + t[1])),                      # SETs
    st.integers(0, 15).flatmap(lambda c: st.binary(max_size=8).map(lambda p: _enc(c, p))),  # any command
    st.binary(max_size=20).map(lambda b: b":" + b.hex().upper().encode() + b"\n"),          # bad checksums
    st.binary(max_size=30),                                                                  # noise
)


# A GX or a flash-save stall repeats the same requests: a few frames repeated many times, then anything.
bursts = st.tuples(st.lists(frame, min_size=1, max_size=6), st.integers(1, 80), st.lists(frame, max_size=20)).map(
    lambda t: t[0] * t[1] + t[2])


@settings(max_examples=300, deadline=None)
@given(bursts)
def test_a_burst_in_one_poll_never_raises(burst):
    h = _handler()
    uart = FakeUART()
    port = VeDirectPort(uart, h)
    uart.feed(b"".join(burst))
    port.poll(20, None)
    out = bytes(uart.tx)
    assert len(out) <= 512
    assert FRAME.sub(b"", out) == b"", out
