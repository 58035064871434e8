# The ESP32 fakes reproduce the limits of the real APIs they stand for (each fake cites its upstream source).
# Dual runtime: CPython pytest and the MicroPython unix port.
from fakes.fake_uart import FakeUART
from fakes.fake_wdt import FakeWDT
from fakes import fake_ticks
from drivers.vedirect_uart import VeDirectPort


def test_uart_write_may_accept_fewer_bytes_and_the_port_counts_only_those():
    u = FakeUART(room=10)
    assert u.write(b"0123456789abcdef") == 10 and bytes(u.tx) == b"0123456789"
    assert u.write(b"x") is None                    # full: EAGAIN -> None (machine_uart.c:715-718)
    u.drain_tx(4)
    assert u.write(b"xyzzy") == 4 and u.short_writes == 3

    class Hex:
        out_len = 3

        def elapse(self, ms):
            pass

        def feed(self, rx, n):
            return 0

        def take(self):
            self.out_len = 0
            return b":154\n"[:3]

    port = VeDirectPort(FakeUART(room=2), Hex())
    assert port.poll(20, None) == 2                 # what the UART took, not what was handed to it


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
