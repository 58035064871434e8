# The ESP32 fakes reproduce the limits of the real APIs they stand for (each fake cites its upstream source).
# Dual runtime: CPython pytest and the MicroPython unix port.
from fakes.fake_uart import FakeUART
from fakes.fake_wdt import FakeWDT
from fakes import fake_ticks
from drivers.vedirect_uart import VeDirectPort


def test_uart_write_is_never_partial_it_stalls_and_the_port_never_makes_it_stall():
    # ESP-IDF uart_tx_all waits (portMAX_DELAY) until the whole buffer is in the TX ring: all bytes, always.
    u = FakeUART(room=10, bps=1920)
    assert u.write(b"0123456789") == 10 and u.room == 0 and u.blocked_ms == 0
    assert u.write(b"abcdef") == 6 and bytes(u.tx) == b"0123456789abcdef"
    assert u.blocked_ms == 4                        # 6 bytes at 1 920 bytes/s: 3.1 ms, rounded up
    u.line(1000)
    assert u.room == 10                             # the line drains the ring, never beyond its size
    # The board's port (drivers.vedirect_uart) models the ring itself and writes only what fits, so the board
    # never stands still in UART.write: a minute of text cycles at 19 200 baud through a 1 024-byte ring (under
    # a HEX flood as well: test_hex_load).
    from shunt.settings import Settings
    from shunt.monitor import Monitor
    from proto.vehex import HexHandler
    from proto.device import Device

    s = Settings()
    m = Monitor(s)
    m.sample(12800, -5000, 0)
    u = FakeUART(room=1024, bps=1920)
    port = VeDirectPort(u, HexHandler(m, s, Device(m, s, None), b"HQ00000000"))
    for _ in range(3000):
        u.line(20)
        port.poll(20, m)
    assert port.cycles >= 59 and u.blocked_ms == 0 and u.written > 14000


def test_wdt_cannot_be_stopped_and_fires_when_not_fed():
    clock = fake_ticks.FakeTicks()
    FakeWDT.forget()
    w = FakeWDT(timeout=8000, clock=clock.ms)
    assert not hasattr(w, "deinit") and not hasattr(w, "stop")
    clock.advance(7000)
    w.feed()
    clock.advance(7000)
    assert not w.expired()
    FakeWDT(timeout=8000)                           # a "soft reset" and a new WDT: the same timer runs on
    clock.advance(9000)
    assert w.expired()
    FakeWDT.forget()


def test_ticks_wrap_at_2_pow_30_and_diff_is_valid_within_half():
    t = fake_ticks.FakeTicks(start_ms=(1 << 30) - 10)
    a = t.ms()
    b = t.advance(20)
    assert b == 10 and fake_ticks.ticks_diff(b, a) == 20
    c = t.advance((1 << 29) + 5)
    assert fake_ticks.ticks_diff(c, b) < 0          # beyond 2^29 ms the difference reads as negative
