# Peukert factor F16 (battery-monitor.md section 3.3) against the golden vectors of section 16.1 and 16.2.
# Dual runtime: CPython pytest and the MicroPython unix port (host_tests/mp_runner.py).
import sys

from check import raises
from shunt.peukert import Peukert, m16, o16

_IS_MP = sys.implementation.name == "micropython"

# Section 16.1, k = 25.
M16_K25 = (65536, 66536, 67494, 68412, 69295, 70146, 70966, 71759, 72527, 73271, 73993, 74694, 75377, 76041,
           76688, 77319, 77935)
O16_K25 = {-4: 32768, -3: 38967, -2: 46340, -1: 55108, 0: 65536, 1: 77935, 2: 92681, 3: 110217, 4: 131072}

# Section 16.2, I20 = 10 000 mA (capacity 200 Ah), k = 25.
CURRENTS = (1000, 2000, 5000, 10000, 15000, 20000, 50000, 100000)
F16_K25 = (36851, 43823, 55108, 65536, 72527, 77935, 97996, 116538)
F16_K25_ABOVE = (65536, 65536, 65536, 65536, 72527, 77935, 97996, 116538)


def _peukert(k, capacity_ah, above_c20=False):
    p = Peukert()
    p.configure(k, capacity_ah * 50, above_c20)
    return p


def test_m16_table_k25_matches_spec():
    for s in range(17):
        assert m16(25, s) == M16_K25[s], s


def test_o16_table_k25_matches_spec():
    for e in O16_K25:
        assert o16(25, e) == O16_K25[e], e


def test_tables_other_exponents_match_spec():
    assert m16(5, 16) == 67847
    assert o16(5, 1) == 67847
    assert m16(50, 16) == 92681
    assert o16(50, 1) == 92681


def test_tables_k0_are_all_one():
    for s in range(17):
        assert m16(0, s) == 65536
    for e in range(-20, 25):
        assert o16(0, e) == 65536


def test_o16_is_exact_at_whole_powers():
    # k = 50: 2^(e/2) is a power of two for even e; k = 25: 2^(e/4) likewise when 4 divides e.
    assert o16(50, 24) == 65536 << 12
    assert o16(50, -20) == 65536 >> 10
    assert o16(25, 8) == 65536 * 4
    assert o16(25, -8) == 65536 // 4


def test_f16_victron_mode_matches_spec():
    p = _peukert(25, 200)
    for i, want in zip(CURRENTS, F16_K25):
        assert p.f16(i) == want, (i, p.f16(i), want)


def test_f16_above_c20_mode_matches_spec():
    p = _peukert(25, 200, True)
    for i, want in zip(CURRENTS, F16_K25_ABOVE):
        assert p.f16(i) == want, (i, p.f16(i), want)


def test_f16_other_exponents_match_spec():
    p = _peukert(5, 200)
    assert p.f16(2000) == 60467
    assert p.f16(20000) == 67847
    p = _peukert(50, 200)
    assert p.f16(2000) == 29305
    assert p.f16(20000) == 92681


def test_f16_worked_example_2000ma():
    # e = -3, s = 9: G0 = 38967*73271 >> 16 = 43566, G1 = 43995, F = 43566 + floor(429 * 0.6).
    assert (38967 * 73271) // 65536 == 43566
    assert (38967 * 73993) // 65536 == 43995
    assert _peukert(25, 200).f16(2000) == 43566 + (429 * 6000) // 10000 == 43823


def test_f16_at_i20_is_one_for_any_capacity_and_exponent():
    for cap in (1, 2, 3, 7, 100, 200, 333, 1000, 4097, 9999):
        for k in (1, 5, 25, 33, 50):
            for above in (False, True):
                assert _peukert(k, cap, above).f16(cap * 50) == 65536, (cap, k, above)


def test_k0_gives_exactly_one_at_every_current():
    for above in (False, True):
        p = _peukert(0, 200, above)
        for i in (1, 2, 999, 10000, 10001, 123457, 82411758):
            assert p.f16(i) == 65536


def test_victron_mode_counts_small_loads_less_and_large_loads_more():
    p = _peukert(25, 200)
    assert p.f16(9999) < 65536
    assert p.f16(10001) > 65536
    assert p.f16(1) < p.f16(100) < p.f16(9999)


def test_above_c20_never_below_one():
    p = _peukert(50, 1, True)
    for i in (1, 2, 3, 25, 49, 50, 51, 100, 82411758):
        assert p.f16(i) >= 65536


def test_f16_is_monotonic_in_current():
    # Steps of various sizes through octave and segment boundaries, for the extreme exponents and capacities.
    for k, cap in ((25, 200), (50, 1), (1, 9999), (33, 7)):
        p = _peukert(k, cap)
        prev = 0
        i = 1
        while i <= 82411758:
            f = p.f16(i)
            assert f >= prev, (k, cap, i, f, prev)
            prev = f
            i += 1 + i // 97
        assert p.f16(82411758) >= prev


def test_extreme_values_are_in_the_appendix_bound():
    # Appendix A: F16 <= 84 135 339 < 2^27 over every valid input.
    assert _peukert(50, 1).f16(82411758) == 84135339


def test_cache_is_cleared_by_configure():
    p = _peukert(25, 200)
    assert p.f16(2000) == 43823
    assert p.f16(2000) == 43823  # served from the cache
    p.configure(50, 10000, False)
    assert p.f16(2000) == 29305
    p.configure(25, 10000, True)
    assert p.f16(2000) == 65536
    p.configure(25, 5000, False)  # capacity 100 Ah: I = I20 * 2/5
    assert p.f16(2000) == _peukert(25, 100).f16(2000) < 65536
    assert p.f16(2000) != 43823


def test_configure_rejects_out_of_range():
    p = Peukert()
    raises(ValueError, p.configure, 51, 10000, False)
    raises(ValueError, p.configure, -1, 10000, False)
    raises(ValueError, p.configure, 25, 0, False)


def test_f16_allocates_nothing():
    # Only the smallest and largest result are kept: a running sum would pass 2^30 and become a long integer on
    # a 32-bit build (the ESP32's small ints), which allocates by itself.
    p = _peukert(25, 200)
    f16 = p.f16
    n = 0
    lo = hi = f16(1)
    i = 1
    if _IS_MP:
        import micropython
        micropython.heap_lock()
    try:
        while n < 10000:
            f = f16(i)
            if f < lo:
                lo = f
            if f > hi:
                hi = f
            i += 8191  # a new current each call: no cache hits
            n += 1
    finally:
        if _IS_MP:
            micropython.heap_unlock()
    assert i == 1 + 8191 * 10000 and 0 < lo < 65536 < hi <= 84135339, (lo, hi)
    # Also with the largest digit count of the long division (k = 50, capacity 1 Ah, top currents).
    p = _peukert(50, 1)
    f16 = p.f16
    n = 0
    i = 82411758
    lo = hi = f16(i)
    if _IS_MP:
        micropython.heap_lock()
    try:
        while n < 1000:
            f = f16(i)
            if f < lo:
                lo = f
            if f > hi:
                hi = f
            i -= 7
            n += 1
    finally:
        if _IS_MP:
            micropython.heap_unlock()
    assert 65536 < lo <= hi <= 84135339, (lo, hi)     # BM Appendix A: F16 ≤ 84 135 339
