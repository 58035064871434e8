"""Peukert F16 (BM §3.3, Appendix A) against a direct big-integer transcription of the spec, exact-floor tables,
the ±2³⁰ bound on every intermediate, and the spec's error bounds (exact rational comparisons, no float)."""
import math
from fractions import Fraction
import struct
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shunt.peukert import Peukert
from shunt.peukert_tables import TABLES

ROOT = Path(__file__).resolve().parent.parent
TABLES_PY = ROOT / "firmware" / "shunt" / "peukert_tables.py"
I_MAX = 82_411_758  # Appendix A: abs(I) <= 82 411 758 mA
LIM = 1 << 30


# ---- the tables --------------------------------------------------------------------------------------------------

def _values(k):
    """(M16 list s=0..16, O16 dict e=-20..24) decoded straight from the committed bytes."""
    v = struct.unpack_from("<62I", TABLES, k * 248)
    return list(v[:17]), {e: v[17 + e + 20] for e in range(-20, 25)}


TAB = [_values(k) for k in range(51)]


def _is_exact_floor(v, x, y, k):
    """v == ⌊65536·(x/y)^(k/100)⌋, checked by v^q·y^p ≤ 2^(16q)·x^p < (v+1)^q·y^p (no root algorithm)."""
    if k == 0:
        return v == 65536
    g = math.gcd(k, 100)
    p, q = k // g, 100 // g
    big = (1 << (16 * q)) * x ** p
    return v ** q * y ** p <= big < (v + 1) ** q * y ** p


def test_committed_tables_are_exact_floors_for_every_k():
    assert len(TABLES) == 51 * 62 * 4
    for k in range(51):
        m, o = TAB[k]
        for s in range(17):
            assert _is_exact_floor(m[s], 16 + s, 16, k), (k, s, m[s])
        for e in range(-20, 25):
            x, y = (1 << e, 1) if e >= 0 else (1, 1 << -e)
            assert _is_exact_floor(o[e], x, y, k), (k, e, o[e])


def test_exact_floor_check_rejects_off_by_one():
    assert _is_exact_floor(77935, 2, 1, 25)
    assert not _is_exact_floor(77936, 2, 1, 25)
    assert not _is_exact_floor(77934, 2, 1, 25)


def test_generator_is_deterministic_and_matches_committed_module(tmp_path):
    out = tmp_path / "peukert_tables.py"
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_peukert.py"), "--out", str(out)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == TABLES_PY.read_bytes()


def test_generator_reports_unwritable_output_in_one_line(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_peukert.py"), "--out",
                        str(tmp_path / "missing-dir" / "x.py")], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


# ---- direct transcription of §3.3 --------------------------------------------------------------------------------

def ref_f16(k, i20, above_c20, i):
    if k == 0:
        return 65536
    m, o = TAB[k]
    ratio = Fraction(i, i20)
    e = 0
    while ratio >= Fraction(2) ** (e + 1):
        e += 1
    while ratio < Fraction(2) ** e:
        e -= 1
    if e >= 0:
        a, b = i, i20 * 2 ** e
    else:
        a, b = i * 2 ** -e, i20
    assert b <= a < 2 * b
    s = (16 * a - 16 * b) // b
    wn, wd = 16 * a - (16 + s) * b, b
    g0 = o[e] * m[s] // 65536
    g1 = o[e] * m[s + 1] // 65536
    f = g0 + (g1 - g0) * wn // wd
    if above_c20 and f < 65536:
        f = 65536
    return f


def test_reference_reproduces_spec_vectors():
    # §16.2: the transcription itself must agree with the spec before it can judge the firmware.
    got = [ref_f16(25, 10000, False, i) for i in (1000, 2000, 5000, 10000, 15000, 20000, 50000, 100000)]
    assert got == [36851, 43823, 55108, 65536, 72527, 77935, 97996, 116538]
    assert (ref_f16(5, 10000, False, 2000), ref_f16(50, 10000, False, 20000)) == (60467, 92681)


# Currents: uniform over the whole range, or log-uniform (most real currents are within a few octaves of I20).
_currents = st.one_of(
    st.integers(1, I_MAX),
    st.tuples(st.integers(0, 26), st.integers(0, (1 << 26) - 1)).map(
        lambda t: min(I_MAX, (1 << t[0]) + t[1] % (1 << t[0]))),
)

_CACHE = {}


def _configured(k, cap, above):
    key = (k, cap, above)
    p = _CACHE.get(key)
    if p is None:
        if len(_CACHE) > 2000:
            _CACHE.clear()
        p = Peukert()
        p.configure(k, cap * 50, above)
        _CACHE[key] = p
    return p


# Hypothesis costs about 0.75 ms per example here, so each example checks 8 currents for one (k, capacity, mode):
# 2 500 examples x 8 = 20 000 checked (k, capacity, mode, I) cases.
@settings(max_examples=2500, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(k=st.integers(0, 50), cap=st.integers(1, 9999), above=st.booleans(),
       currents=st.lists(_currents, min_size=8, max_size=8))
def test_f16_equals_transcription_of_spec(k, cap, above, currents):
    p = _configured(k, cap, above)
    for i in currents:
        assert p.f16(i) == ref_f16(k, cap * 50, above, i), (k, cap, above, i)


def test_f16_equals_transcription_on_every_boundary():
    # Octave and segment boundaries (and their neighbours) for extreme capacities and exponents.
    for k in (1, 5, 25, 33, 49, 50):
        for cap in (1, 3, 200, 9999):
            i20 = cap * 50
            p = Peukert()
            p.configure(k, i20, False)
            for e in range(-20, 21):
                for s in range(17):
                    base = (i20 << e) if e >= 0 else (i20 >> -e)
                    x = base + base * s // 16
                    for i in (x - 1, x, x + 1):
                        if 1 <= i <= I_MAX:
                            assert p.f16(i) == ref_f16(k, i20, False, i), (k, cap, i)


# ---- every intermediate within ±2^30 -----------------------------------------------------------------------------

def _check(v):
    v = int(v)
    if not -LIM <= v < LIM:
        raise AssertionError("intermediate %d outside ±2^30" % v)


class Small(int):
    """An int whose every arithmetic result (and every compared operand) must lie in -2^30 <= x < 2^30."""

    def __new__(cls, v):
        v = int(v)
        _check(v)
        return int.__new__(cls, v)

    __hash__ = int.__hash__

    def __truediv__(self, other):
        raise AssertionError("true division in F16")

    __rtruediv__ = __truediv__

    def __divmod__(self, other):
        raise AssertionError("divmod in F16 (it allocates a tuple)")

    __rdivmod__ = __divmod__

    def __pow__(self, *a):
        raise AssertionError("pow in F16")

    __rpow__ = __pow__


def _arith(name):
    op = getattr(int, name)

    def f(self, *args):
        for a in args:
            if isinstance(a, int):
                _check(a)
        r = op(self, *args)
        if r is NotImplemented:
            return r
        return Small(r)
    return f


def _compare(name):
    op = getattr(int, name)

    def f(self, other):
        if isinstance(other, int):
            _check(other)
        return op(self, other)
    return f


for _n in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__floordiv__", "__rfloordiv__",
           "__mod__", "__rmod__", "__lshift__", "__rlshift__", "__rshift__", "__rrshift__", "__and__", "__rand__",
           "__or__", "__ror__", "__xor__", "__rxor__", "__neg__", "__pos__", "__abs__", "__invert__"):
    setattr(Small, _n, _arith(_n))
for _n in ("__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"):
    setattr(Small, _n, _compare(_n))


def _small_peukert(k, i20, above):
    """A configured Peukert whose state (scalars and the G table) is all Small, so f16 computes only in Small."""
    p = Peukert()
    p.configure(k, i20, above)
    for name, v in list(vars(p).items()):
        if isinstance(v, bool):
            setattr(p, name, Small(int(v)))
        elif isinstance(v, int):
            setattr(p, name, Small(v))
        else:
            setattr(p, name, [Small(x) for x in v])
    return p


def test_small_int_checker_catches_overflow():
    x = Small(1 << 29)
    for bad in (lambda: x * 2, lambda: x << 1, lambda: 1 << Small(30), lambda: x + x, lambda: -x - x - 1,
                lambda: x < (1 << 30), lambda: divmod(x, 3), lambda: x / 2):
        try:
            bad()
        except AssertionError:
            continue
        raise AssertionError("not caught")
    assert type(x + 1) is Small and type(1 - x) is Small and type(x >> 1) is Small and type(3 << Small(2)) is Small


def test_f16_keeps_every_intermediate_within_2_pow_30():
    currents = [1, 2, 3, 49, 50, 51, 99, 100, 4999, 10000, 65535, 65536, 1 << 20, (1 << 26) - 1, 1 << 26,
                50_000_000, I_MAX - 1, I_MAX]
    n = 0
    for k in (1, 5, 25, 33, 49, 50):
        for cap in (1, 2, 3, 7, 200, 4097, 9999):
            i20 = cap * 50
            extra = [i20 - 1, i20, i20 + 1, 2 * i20 - 1, 2 * i20]
            extra += [(i20 << e) - 1 for e in range(1, 21) if (i20 << e) - 1 <= I_MAX]
            extra += [((i20 << e) * 33 >> 5) for e in range(0, 21) if ((i20 << e) * 33 >> 5) <= I_MAX]
            for above in (False, True):
                p = _small_peukert(k, i20, above)
                for i in currents + extra:
                    f = p.f16(Small(i))
                    assert type(f) is Small or f == 65536
                    assert f == ref_f16(k, i20, above, i), (k, cap, above, i)
                    n += 1
    assert n > 1000


@settings(max_examples=300, deadline=None, database=None)
@given(k=st.integers(1, 50), cap=st.integers(1, 9999), currents=st.lists(_currents, min_size=4, max_size=4))
def test_f16_random_inputs_within_2_pow_30(k, cap, currents):
    p = _small_peukert(k, cap * 50, False)
    for i in currents:
        assert p.f16(Small(i)) == ref_f16(k, cap * 50, False, i)


# ---- properties against the exact real value ---------------------------------------------------------------------

def _exact_cmp(f, k, i20, i, num=1, den=1):
    """Sign of f·(den/num) − 65536·(i/i20)^(k/100), exactly: compare q-th powers of positive numbers."""
    g = math.gcd(k, 100)
    p, q = k // g, 100 // g
    lhs = (f * den) ** q * i20 ** p
    rhs = (65536 * num) ** q * i ** p
    return (lhs > rhs) - (lhs < rhs)


@settings(max_examples=1000, deadline=None, database=None)
@given(k=st.integers(1, 50), cap=st.integers(1, 9999), currents=st.lists(_currents, min_size=4, max_size=4))
def test_f16_never_above_exact_and_within_spec_error(k, cap, currents):
    for i in currents:
        _check_bounds(k, cap, i)


def _check_bounds(k, cap, i):
    i20 = cap * 50
    f = _configured(k, cap, False).f16(i)
    # Never above: F16 <= 65536·(I/I20)^(k/100).
    assert _exact_cmp(f, k, i20, i) <= 0
    # Below by less than 2.5e-4 (I >= I20/10) or 5e-4 (I >= I20/100): F16 > exact·(1 − ε).
    if 10 * i >= i20:
        assert _exact_cmp(f, k, i20, i, 3999, 4000) > 0, (k, cap, i, f)
    elif 100 * i >= i20:
        assert _exact_cmp(f, k, i20, i, 1999, 2000) > 0, (k, cap, i, f)
    # above_c20: max(1, ...) of the same factor.
    fa = _configured(k, cap, True).f16(i)
    assert fa == max(65536, f)


def test_error_bound_check_can_fail():
    # 2000 mA at I20 10 000 mA, k = 25: exact 65536·0.2^0.25 = 43 830.9…; F16 = 43 823 (§16.2).
    assert _exact_cmp(43823, 25, 10000, 2000) < 0
    assert _exact_cmp(43831, 25, 10000, 2000) > 0
    assert _exact_cmp(43823, 25, 10000, 2000, 3999, 4000) > 0
    assert _exact_cmp(43810, 25, 10000, 2000, 3999, 4000) < 0


def test_error_bounds_hold_at_worst_places():
    # Small currents relative to I20 (largest floor error) and mid-segment (largest chord error), k = 50.
    for k in (1, 25, 49, 50):
        for cap in (1, 9999):
            i20 = cap * 50
            p = _configured(k, cap, False)
            for i in {max(1, i20 // 100), max(1, i20 // 10), i20 * 33 // 32, i20 * 67 // 64, i20 * 2 + i20 // 16,
                      I_MAX}:
                if i < 1 or i > I_MAX or 100 * i < i20:
                    continue
                f = p.f16(i)
                assert _exact_cmp(f, k, i20, i) <= 0
                num, den = (3999, 4000) if 10 * i >= i20 else (1999, 2000)
                assert _exact_cmp(f, k, i20, i, num, den) > 0, (k, cap, i, f)
