"""shunt.convert keeps every intermediate within ±2^30 (ESP32 small ints) and equals the big-int definitions of
battery-monitor.md §2 exactly (split forms of Appendix A rows V and I)."""
import itertools

from hypothesis import given, settings, strategies as st

from shunt import convert

LIMIT = 1 << 30


class Bounded(int):
    """An int whose every arithmetic result must stay a small int on the ESP32 (platform.md §2.1)."""

    def _wrap(self, v):
        if isinstance(v, bool) or not isinstance(v, int):
            return v
        assert -LIMIT <= v < LIMIT, "intermediate %d outside ±2^30" % v
        return Bounded(v)


def _binop(name):
    base = getattr(int, name)

    def op(self, other):
        return self._wrap(base(int(self), int(other)) if isinstance(other, int) else base(int(self), other))
    return op


for _name in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__floordiv__",
              "__rfloordiv__", "__mod__", "__rmod__", "__lshift__", "__rshift__", "__and__", "__rand__",
              "__or__", "__ror__"):
    setattr(Bounded, _name, _binop(_name))
Bounded.__neg__ = lambda self: self._wrap(-int(self))
Bounded.__abs__ = lambda self: self._wrap(abs(int(self)))
Bounded.__pos__ = lambda self: self


def _no_divmod(self, other):
    raise AssertionError("divmod allocates a tuple on MicroPython: use // and a multiply")


Bounded.__divmod__ = _no_divmod
Bounded.__rdivmod__ = _no_divmod


def fdiv(a, b):
    return a // b


def rdiv(a, b):
    s = -1 if a < 0 else 1
    return s * ((2 * abs(a) + b) // (2 * b))


def ref_ma(raw, offset_nv, rating_a, rating_mv, invert):
    i = rdiv((raw * 2500 - offset_nv) * rating_a, rating_mv * 1000)
    return -i if invert else i


def ref_mv(raw_bus, div):
    return fdiv(raw_bus * 5 * div + 2000, 4000)


def _ma(raw, off, a, mv, inv):
    got = convert.shunt_to_ma(Bounded(raw), Bounded(off), Bounded(a), Bounded(mv), inv)
    assert got == ref_ma(raw, off, a, mv, inv), (raw, off, a, mv, inv, got)
    return got


def _mv(raw, div):
    got = convert.bus_to_mv(Bounded(raw), Bounded(div))
    assert got == ref_mv(raw, div), (raw, div, got)
    return got


def test_bounded_catches_a_large_intermediate():
    # The checker itself must be able to fail: a naive product passes 2^30.
    try:
        Bounded(32767) * 2500 * 9999
    except AssertionError:
        return
    raise AssertionError("Bounded did not catch 8.2e11")


RAWS = (-32768, -32767, -1, 0, 1, 32766, 32767)
OFFSETS = (-500000, -1, 0, 1, 500000)
AMPS = (1, 2, 100, 500, 6553, 6554, 9998, 9999)
MVS = (10, 11, 50, 60, 75, 99, 100)


def test_current_extremes_every_corner():
    for raw, off, a, mv, inv in itertools.product(RAWS, OFFSETS, AMPS, MVS, (0, 1)):
        _ma(raw, off, a, mv, inv)


def test_voltage_extremes_every_corner():
    for raw, div in itertools.product((0, 1, 3199, 3200, 28800, 28801, 32767),
                                      (900, 901, 999, 1000, 1001, 2000, 19999, 20000)):
        _mv(raw, div)


@settings(max_examples=3000, deadline=None)
@given(st.integers(-32768, 32767), st.integers(-500000, 500000), st.integers(1, 9999), st.integers(10, 100),
       st.integers(0, 1))
def test_current_equals_definition(raw, off, a, mv, inv):
    _ma(raw, off, a, mv, inv)


@settings(max_examples=2000, deadline=None)
@given(st.integers(0, 32767), st.integers(900, 20000))
def test_voltage_equals_definition(raw, div):
    _mv(raw, div)


def test_exact_half_rounds_away_from_zero():
    # 3 LSB on 100 A / 60 mV = 7 500 nV × 100 / 60 000 = 12.5 mA exactly.
    assert _ma(3, 0, 100, 60, 0) == 13
    assert _ma(-3, 0, 100, 60, 0) == -13


def test_over_range_limits():
    assert convert.shunt_over_range(32767) and convert.shunt_over_range(-32768)
    assert not convert.shunt_over_range(32766) and not convert.shunt_over_range(-32767)
    assert convert.bus_over_range(28801) and not convert.bus_over_range(28800)
