# The temperature coefficient of capacity (issue 18; HEX 0xEEF4, Victron's "temperature coefficient" in
# 0.1 %CAP/°C): below 20 °C the SOC's reference capacity shrinks; CE and Qp do not change. Runs under both runtimes.
from check import micropython_only
from shunt.settings import Settings
from shunt.monitor import Monitor

_U = 360000000


def _mon(coef="1.0", mode="temperature", **kw):
    s = Settings()
    s.set("aux_input", mode)
    s.set("temp_coefficient", coef)
    s.set("peukert_exponent", "1.00")          # Qp = −CE: the arithmetic below is plain Ah
    for k, v in kw.items():
        s.set(k, v)
    return Monitor(s)


def _temp(m, cc):
    """A temperature reading (0.01 °C, None = no sensor), taken at the next second."""
    m.aux.reading(cc)
    m.second()


def _discharge(m, ma, seconds):
    for _ in range(seconds // 5):
        for _ in range(m.sample(12000, -ma, 5000)):
            m.second()


def test_effective_capacity_is_victrons_below_20_c_and_the_set_one_above():
    # BMV manual §3.10.2: capacity typically 18 % lower at 0 °C and 40 % lower at −20 °C than at 20 °C
    m = _mon("1.0")
    for cc, mah in ((2000, 200000), (3000, 200000), (0, 160000), (-2000, 120000), (1999, 199980),
                    (-250, 155000)):
        _temp(m, cc)
        assert m.cap_eff_mah == mah, (cc, m.cap_eff_mah)
    m = _mon("0.5")
    _temp(m, 0)
    assert m.cap_eff_mah == 180000
    m = _mon("0.5", capacity="7")
    _temp(m, -333)                     # loss 5·2333 = 11665 of 10^5: 7 Ah · 0.88335 = 6183.45 mAh -> 6180
    assert m.cap_eff_mah == 6180
    m = _mon("20.0")
    _temp(m, -5500)                    # 1500 %: never below 10 % of the capacity
    assert m.cap_eff_mah == 20000


def test_without_a_reading_or_coefficient_or_temperature_mode_the_set_capacity():
    m = _mon("1.0")
    _temp(m, None)                     # no DS18B20: the set capacity, as a BMV without its sensor
    assert m.cap_eff_mah == 200000
    _temp(m, 0)
    assert m.cap_eff_mah == 160000
    _temp(m, None)                     # sensor lost: back to the set capacity
    assert m.cap_eff_mah == 200000
    m = _mon("0.0")
    _temp(m, -2000)
    assert m.cap_eff_mah == 200000
    m = _mon("1.0", mode="starter")
    _temp(m, 0)                        # 0 mV at the starter input is no temperature
    assert m.cap_eff_mah == 200000


def test_soc_and_ttg_use_the_effective_capacity_and_consumed_ah_do_not_change():
    m = _mon("1.0")
    _temp(m, 2000)
    _discharge(m, 20000, 7200)         # 40 Ah at 20 A
    assert m.ce_mah == -40000 and m.soc_cpct == 8000
    ttg20 = m.ttg_min
    assert ttg20 == 180                # (200 − 40 − 100 floor) Ah / 20 A
    _temp(m, 0)                        # 160 Ah
    assert m.ce_mah == -40000 and m.soc_cpct == 7500 and m.ttg_min == 120      # (160 − 40 − 80) / 20
    _temp(m, -2000)                    # 120 Ah: 66.66.. %, rounded down as every SOC (fdiv)
    assert m.ce_mah == -40000 and m.soc_cpct == 6666 and m.soc_permille == 666 and m.ttg_min == 60
    _temp(m, 3000)                     # above 20 °C: the set capacity again
    assert m.soc_cpct == 8000 and m.ttg_min == 180


def test_a_cold_bank_shows_0_and_gets_its_charge_back_when_warm():
    m = _mon("1.0", alarm_low_soc_set="10.0", alarm_low_soc_clear="15.0")
    _discharge(m, 50000, 10800)        # 150 Ah: 25 % at 20 °C
    assert m.soc_cpct == 2500 and not m.soc_zero() and m.alarm_bits == 0
    _temp(m, -2000)                    # 120 Ah < 150 Ah consumed: SOC 0, TTG 0, CE and Qp kept
    assert m.soc_cpct == 0 and m.soc_zero() and m.ttg_min == 0 and m.ce_mah == -150000
    assert m.soc_below(100) and not m.soc_above(0)
    _discharge(m, 0, 15)               # the low-SOC alarm after more than 10 s (§10)
    assert m.alarm_bits & 4
    _temp(m, 2000)
    assert m.soc_cpct == 2500 and not m.soc_zero() and m.ce_mah == -150000
    _discharge(m, 0, 5)
    assert not m.alarm_bits & 4        # past its clear value at once


def test_sync_is_100_percent_at_any_temperature_and_set_soc_is_what_is_shown():
    m = _mon("1.0")
    _temp(m, -2000)
    _discharge(m, 20000, 3600)
    assert m.soc_cpct == 10000 - 1667          # 20 of 120 Ah
    m.synchronize()
    assert m.soc_cpct == 10000 and m.ce_mah == 0
    m.set_soc(5000)                            # Qp = half the effective capacity: 50.00 % shown at once
    assert m.soc_cpct == 5000 and m.ce_mah == -60000
    _temp(m, 2000)
    assert m.soc_cpct == 7000                  # the same 60 Ah of 200


def _ref_soc(qp_pu, cap_mah):
    c = cap_mah * _U * 65536
    return max(0, 10000 * (c - qp_pu) // c)


def test_soc_and_its_comparisons_are_exact_for_any_effective_capacity():
    m = _mon("1.0", capacity="9999")
    seed = 12345
    for n in range(400):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        _temp(m, -5500 + seed % 7600)
        cap = m.cap_eff_mah
        q = m.q
        q[2] = seed % (cap + 2000) if n % 3 else cap * (seed % 1000) // 1000
        q[3] = (seed >> 3) % _U if n % 5 else 0
        q[4] = (seed >> 7) & 0xFFFF if n % 7 else 0
        if q[2] > 9999000:
            q[2] = 9999000
            q[3] = q[4] = 0
        qp = (q[2] * _U + q[3]) * 65536 + q[4]
        soc = _ref_soc(qp, cap)
        assert m._soc_cpct() == soc, (cap, q[2], q[3], q[4])
        for x in (0, 100, 650, soc // 10, soc // 10 + 1, 990):
            mark = cap * (1000 - x) * _U * 65536          # 1000·Qp of SOC = x
            assert m.soc_below(x) == (1000 * qp > mark) and m.soc_above(x) == (1000 * qp < mark), (cap, x)
        assert m.soc_zero() == (qp >= cap * _U * 65536)


def test_the_default_coefficient_0_changes_nothing():
    a = Monitor(Settings())
    s = Settings()
    s.set("aux_input", "temperature")
    b = Monitor(s)
    for m in (a, b):
        m.aux.reading(-2000)
        for k in range(3000):
            for _ in range(m.sample(12700, -25000 + (k & 63), 141)):
                m.second()
    assert a.get_state() == b.get_state() and a.soc_cpct == b.soc_cpct and a.ttg_min == b.ttg_min


def test_per_sample_step_with_a_cold_effective_capacity_allocates_nothing():
    micropython_only()
    import micropython
    m = _mon("0.7", capacity="9999", alarm_low_soc_set="20.0", alarm_low_soc_clear="25.0")
    _temp(m, -1733)                    # 9999 Ah · (1 − 0.7·37.33 %) = a C_eff that is no whole Ah
    assert m.cap_eff_mah % 1000
    for k in range(200):
        m.sample(12700, -900000, 141)
    micropython.heap_lock()
    try:
        for k in range(3000):
            m.sample(12700, -900000 - (k & 7), 141)
        m._temp_capacity()             # and the once-a-second update
        for k in range(100):
            m.sample(13500, 100, 141)
    finally:
        micropython.heap_unlock()
    assert m.cap_eff_mah % 1000
