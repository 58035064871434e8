"""Exactness of the split-form per-sample step against a direct big-integer transcription of battery-monitor.md §3,
and the ESP32 bound: every per-sample intermediate stays within ±2^30 (Appendix A)."""
from hypothesis import given, settings as hsettings, strategies as st, HealthCheck

from shunt.monitor import Monitor, CU_PER_MAH as U
from shunt.peukert import m16, o16
from shunt.settings import Settings, fmt_fixed

LIM = 1 << 30
I_MAX = 82411758          # 9 999 A / 10 mV at full scale with the largest offset (Appendix A)


def ref_f16(i, k, i20, above):
    """§3.3 F16, transcribed with Python's unbounded integers."""
    if k == 0:
        return 65536
    e = 0
    while i20 * 2 ** (e + 1) <= i:
        e += 1
    while i20 * 2 ** e > i:
        e -= 1
    a, b = (i, i20 * 2 ** e) if e >= 0 else (i * 2 ** -e, i20)
    s = (16 * a - 16 * b) // b
    wn, wd = 16 * a - (16 + s) * b, b
    g0 = o16(k, e) * m16(k, s) // 65536
    g1 = o16(k, e) * m16(k, s + 1) // 65536
    f = g0 + (g1 - g0) * wn // wd
    return 65536 if above and f < 65536 else f


def tdiv(a, b):
    return -(-a // b) if a < 0 else a // b


class Ref:
    """CE and Qp by the §3.2 table, in cu and pu, with Python integers."""

    def __init__(self, cap, k, cef, thr_ma, above):
        self.cap, self.k, self.cef, self.thr, self.above = cap, k, cef, thr_ma, above
        self.c_pu = cap * 1000 * U * 65536
        self.ce = self.qp = 0

    def step(self, i, dt):
        dt = min(dt, 5000)
        ii = 0 if abs(i) < self.thr else i
        if ii > 0:
            self.ce += ii * dt * self.cef
            self.qp -= ii * dt * self.cef * 65536
        elif ii < 0:
            self.ce += ii * dt * 100
            self.qp += -ii * dt * 100 * ref_f16(-ii, self.k, self.cap * 50, self.above)
        self.ce = min(self.ce, 0)
        self.qp = min(max(self.qp, 0), self.c_pu)


def build(cap, k, cef, thr, above):
    s = Settings()
    s.set("capacity", str(cap))
    s.set("peukert_exponent", fmt_fixed(100 + k, 2))
    s.set("charge_efficiency", str(cef))
    s.set("current_threshold", fmt_fixed(thr, 2))
    s.set("peukert_mode", "above_c20" if above else "victron")
    return Monitor(s)


current = st.one_of(st.integers(-I_MAX, I_MAX), st.integers(-60000, 60000), st.integers(-300, 300))
samples = st.lists(st.tuples(current, st.integers(1, 2000)), min_size=400, max_size=400)


@hsettings(max_examples=260, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(cap=st.integers(1, 9999), k=st.integers(0, 50), cef=st.integers(50, 100), thr=st.integers(0, 200),
       above=st.booleans(), start_soc=st.integers(0, 10000), seq=samples)
def test_split_form_equals_big_integer_definition(cap, k, cef, thr, above, start_soc, seq):
    # 260 examples x 400 samples = 104 000 samples
    m = build(cap, k, cef, thr, above)
    ref = Ref(cap, k, cef, thr * 10, above)
    m.set_soc(start_soc)
    r = 10000 - start_soc
    ref.qp, ref.ce = ref.c_pu * r // 10000, -cap * 1000 * U * r // 10000
    integral = ref.ce
    for i, dt in seq:
        m.sample(12800, i, dt)
        ref.step(i, dt)
        q = m.q
        assert 0 <= q[1] < U and 0 <= q[3] < U and 0 <= q[4] < 65536
        assert q[0] * U + q[1] == ref.ce
        assert (q[2] * U + q[3]) * 65536 + q[4] == ref.qp
        assert m.ce_mah_now() == tdiv(ref.ce, U)
    # consumed charge is the exact integral (no clamp acted if it never went positive)
    assert isinstance(integral, int)


@hsettings(max_examples=60, deadline=None)
@given(seq=st.lists(st.tuples(st.integers(-I_MAX, -1), st.integers(1, 1000)), min_size=50, max_size=50))
def test_consumed_mah_is_the_floored_exact_integral(seq):
    m = build(9999, 0, 100, 0, False)
    exact = 0
    for i, dt in seq:
        m.sample(12800, i, dt)
        exact += i * dt          # mA·ms
    # CE = Σ I·dt·100 cu and 1 mAh = 3 600 000 mA·ms: tdiv toward zero (§3.5)
    assert m.ce_mah_now() == tdiv(exact, 3600000)
    assert m.q[0] * U + m.q[1] == exact * 100


# ---- ±2^30 on every per-sample intermediate -------------------------------------------------------------------

class B(int):
    """An int that fails as soon as any arithmetic result leaves the ESP32 small-int range."""

    def __new__(cls, v):
        v = int(v)
        if not -LIM <= v < LIM:
            raise OverflowError("intermediate %d outside ±2^30" % v)
        return int.__new__(cls, v)


def _checked(name):
    f = getattr(int, name)

    def op(a, *b):
        r = f(a, *b)
        if r is NotImplemented or isinstance(r, bool):
            return r
        return B(r)
    return op


for _n in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__floordiv__", "__rfloordiv__",
           "__mod__", "__rmod__", "__lshift__", "__rlshift__", "__rshift__", "__rrshift__", "__and__", "__rand__",
           "__or__", "__ror__", "__neg__", "__abs__", "__pos__"):
    setattr(B, _n, _checked(_n))


def _arm(obj):
    """Turn every int attribute (and int list item) of the monitor and its parts into a checking B."""
    for name, v in list(vars(obj).items()):
        if type(v) is int:
            setattr(obj, name, B(v))
        elif type(v) is list and all(type(x) is int for x in v):
            v[:] = [B(x) for x in v]


def test_checker_catches_overflow():
    try:
        B(1 << 20) * B(1 << 11)
    except OverflowError:
        return
    raise AssertionError("B did not catch 2^31")


def _drive(cap, k, cef, mode, start_soc, steps):
    m = build(cap, k, cef, 0, mode)
    m.set_soc(start_soc)
    parts = [m, m.alarms, m.relay, m.nominal, m.warn, m._peukert]
    parts += [v for p in (m.alarms, m.relay) for v in vars(p).values() if type(v).__name__ == "Latch"]
    assert len(parts) == 12
    for part in parts:
        _arm(part)
    for v, i, dt in steps:
        m.sample(B(v), B(i), B(dt))
        m.sample(B(v), B(i + 1), B(dt))     # a cache miss every time
    return m


def test_per_sample_step_stays_within_2_pow_30_at_the_extremes():
    big = [(819175, I_MAX, 5000), (819175, -I_MAX, 5000), (36000, -I_MAX + 1, 1000), (1, -1, 1),
           (819175, -I_MAX, 100000), (0, I_MAX, 5000), (13000, -20000, 141), (52800, 30000, 1000),
           (819175, -(1 << 26), 4999), (819175, (1 << 26), 3333)]
    for cap in (1, 200, 9999):
        for k in (0, 25, 50):
            for cef in (50, 100):
                for mode in (0, 1):
                    for soc in (0, 5000, 10000):
                        _drive(cap, k, cef, mode, soc, big)


@hsettings(max_examples=200, deadline=None)
@given(cap=st.integers(1, 9999), k=st.integers(0, 50), cef=st.integers(50, 100),
       steps=st.lists(st.tuples(st.integers(0, 819175), st.integers(-I_MAX, I_MAX - 1), st.integers(0, 10 ** 6)),
                      min_size=5, max_size=20))
def test_per_sample_step_stays_within_2_pow_30_random(cap, k, cef, steps):
    _drive(cap, k, cef, 0, 5000, steps)


@hsettings(max_examples=3000, deadline=None)
@given(cap=st.integers(1, 9999), data=st.data())
def test_small_int_soc_equals_the_long_definition(cap, data):
    m = build(cap, 0, 100, 0, False)
    cap_mah = cap * 1000
    qp_mah = data.draw(st.one_of(st.integers(0, cap_mah), st.sampled_from([0, cap_mah, cap_mah - 1, cap_mah // 2])))
    rem = 0 if qp_mah == cap_mah else data.draw(st.one_of(st.integers(0, U - 1), st.sampled_from([0, 1, U - 1, 36000000])))
    frac = 0 if qp_mah == cap_mah else data.draw(st.one_of(st.integers(0, 65535), st.just(0)))
    m.q[2], m.q[3], m.q[4] = qp_mah, rem, frac
    c_pu = cap_mah * U * 65536
    qp = (qp_mah * U + rem) * 65536 + frac
    assert m._soc_cpct() == 10000 * (c_pu - qp) // c_pu
