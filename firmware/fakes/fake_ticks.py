# time.ticks_ms / ticks_diff / ticks_add of the ESP32, for tests. Mirrors MicroPython v1.28.0 extmod/modtime.c:
# - line 152: ticks_ms() = mp_hal_ticks_ms() & (MICROPY_PY_TIME_TICKS_PERIOD - 1);
# - lines 166-173: ticks_diff = ((end - start + PERIOD/2) & (PERIOD - 1)) - PERIOD/2, valid within ±PERIOD/2;
# - py/mpconfig.h:1891-1892: PERIOD = MP_SMALL_INT_POSITIVE_MASK + 1 = 2^30 on the 32-bit ESP32 (the 64-bit unix
#   port has 2^62, so its own ticks never wrap in a test: this fake is how a test sees the board's period).
PERIOD = 1 << 30
_HALF = PERIOD >> 1
_MASK = PERIOD - 1


def ticks_diff(end, start):
    return ((end - start + _HALF) & _MASK) - _HALF


def ticks_add(t, delta):
    return (t + delta) & _MASK


class FakeTicks:
    """A clock in ms since boot; `ms()` is what ticks_ms() returns (wrapped)."""

    def __init__(self, start_ms=0):
        self.uptime_ms = start_ms

    def ms(self):
        return self.uptime_ms & _MASK

    def advance(self, dt_ms):
        self.uptime_ms += dt_ms
        return self.ms()
