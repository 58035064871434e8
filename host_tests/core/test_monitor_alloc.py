# The per-sample step allocates nothing on the MicroPython heap (battery-monitor.md §0.3; ESP32 rules).
import sys

from check import micropython_only

from shunt.settings import Settings
from shunt.monitor import Monitor


def _steps(m, n, v0, i0, di, dt):
    i = i0
    for k in range(n):
        m.sample(v0 + (k & 7), i, dt)
        i += di


def _locked(m, n, v0, i0, di, dt):
    # explicit arguments: a call with *args would itself allocate the argument tuple
    import micropython
    micropython.heap_lock()
    try:
        _steps(m, n, v0, i0, di, dt)
    finally:
        micropython.heap_unlock()


def test_sample_step_allocates_nothing_in_steady_state():
    micropython_only()
    s = Settings()
    s.set("alarm_low_voltage_set", "11.5")
    s.set("alarm_high_voltage_set", "14.8")
    s.set("alarm_low_soc_set", "20.0")
    m = Monitor(s)
    m.sample(12800, 0, 0)
    _steps(m, 50, 12800, -20000, -7, 141)       # warm up every path once
    _steps(m, 50, 13300, 20000, 3, 141)
    # 10 000 steps: discharge with a changing current (every sample a new rate and Peukert factor),
    # charge, a gap, rest at the charged voltage (sync timer running), and the alarm thresholds crossed
    _locked(m, 4000, 12700, -30000, 3, 141)
    _locked(m, 2000, 11000, -5000, -1, 141)
    _locked(m, 2000, 13400, 30000, -9, 141)
    _locked(m, 10, 13400, 1000, 0, 3000)
    _locked(m, 1990, 13500, 100, 0, 141)
    assert m.synchronized


# ---- the device's whole life (issue 13) ------------------------------------------------------------------------
# These run under CPython too (the saturation and the saves); the heap lock is MicroPython's. Under the 32-bit
# build (MICROPY32: 31-bit small ints, as on the ESP32) a value that leaves ±2^30 allocates and fails them.
MICROPYTHON = sys.implementation.name == "micropython"
_U = 360000000


def _max_record():
    """A state record (through the codec, as from flash) with every lifetime field at the top of its range and CE
    at its most negative: H6, throughput, A, the counters, energy, op_time, depth_sum and the CE minima."""
    from shunt.monitor import STATE_FIELDS, STATE_MIGRATIONS
    from shunt.record import Codec, code_range
    s = Settings()
    s.set("capacity", "2")
    d = Monitor(s).get_state()
    fields = dict(STATE_FIELDS)
    for name in ("op_time_s", "a_mah", "tp_mah", "h6_mah", "h4", "h5", "h10", "h11", "h12", "e_dis_cwh",
                 "e_chg_cwh"):
        d[name] = code_range(fields[name])[1]
    for name in ("ce_mah", "h1", "h2", "cycle_min"):
        d[name] = code_range(fields[name])[0]
    d["tp_mah"] = d["h6_mah"] = (1 << 30) * 10 ** 9 - 1     # the lifetime maximum (shunt.fixed.giga_carry)
    d["depth_sum"] = -(1 << 31) * d["h4"]                   # every cycle at the deepest CE the record holds
    for name in ("ce_rem", "a_rem", "tp_rem", "h6_rem"):
        d[name] = _U - 1
    d["e_dis_rem"] = d["e_chg_rem"] = 36 * 10 ** 12 - 1
    d["synchronized"] = 1
    d["h5_armed"] = 1
    codec = Codec(STATE_FIELDS, migrations=STATE_MIGRATIONS)
    rec, why = codec.decode(codec.encode(d, 1))
    assert why == "", why
    from shunt.plausible import check_state
    assert check_state(rec[1]) is None, check_state(rec[1])     # a record the boot accepts
    return codec, rec[1]


def _life_monitor():
    s = Settings()
    s.set("capacity", "2")
    s.set("charged_voltage", "14.0")
    s.set("charged_detection_time", "1")
    s.set("alarm_low_voltage_set", "11.5")
    s.set("alarm_high_voltage_set", "14.8")
    m = Monitor(s)
    return m


def _life_run(m, locked):
    # 10 000 samples at 141 ms: discharge under the low-voltage alarm (CE at its floor, H6 and throughput carry,
    # E_dis), charge from SOC 0 to full over the high-voltage alarm (H4 with depth_sum, H5, A, E_chg), then rest
    # at the charged voltage until the automatic sync (H10), then discharge again.
    run = _locked if locked else _steps
    run(m, 1500, 11000, -30000, 0, 141)
    run(m, 2500, 15000, 30000, 0, 141)
    run(m, 600, 14200, 20, 0, 141)
    run(m, 5400, 12500, -30000, 0, 141)


def test_a_record_at_every_lifetime_maximum_runs_10000_samples_and_keeps_saving():
    codec, d = _max_record()
    m = _life_monitor()
    m.set_state(d)
    m.sample(12000, 0, 0)
    m.second()
    if MICROPYTHON:
        _steps(m, 30, 11000, -30000, 0, 141)     # warm up: the rate cache, the Peukert factor
    _life_run(m, MICROPYTHON)
    st = m.get_state()
    rec, why = codec.decode(codec.encode(st, 2))   # the save works: every field within its width
    assert why == "" and rec[1] == st
    # every lifetime value is still at its (saturated) maximum, and the cycle and the sync did happen
    g = 10 ** 9
    top = (2 ** 30 - 1) * g + g - 1
    assert st["h6_mah"] == top and st["op_time_s"] == 2 ** 30 - 1
    assert st["depth_sum"] == -top
    for name in ("h4", "h5", "h10", "h11", "h12", "e_dis_cwh", "e_chg_cwh"):
        assert st[name] == 2 ** 30 - 1, (name, st[name])
    assert st["h1"] == -g and st["last_sync_kind"] == 1 and st["tp_mah"] < 100000
    m2 = _life_monitor()
    m2.set_state(st)
    assert m2.get_state() == st                    # and it restores exactly


def test_first_energy_update_after_a_restore_allocates_nothing():
    # _e_set used divmod, whose results stay heap objects on MicroPython even when small (py/objint_mpz.c): the
    # first discharge and charge samples after every restore then allocated on the ESP32.
    m = _life_monitor()
    d = m.get_state()
    d["e_dis_rem"] = d["e_chg_rem"] = 36 * 10 ** 12 - 1         # the largest remainder in nJ (§14.1)
    d["e_dis_cwh"] = d["e_chg_cwh"] = 12345
    m.set_state(d)
    run = _locked if MICROPYTHON else _steps
    run(m, 1, 12800, -1000, 0, 141)
    run(m, 1, 12800, 1000, 0, 141)
    st = m.get_state()
    assert st["e_dis_cwh"] == st["e_chg_cwh"] == 12346     # each remainder carried into one more 0.01 kWh
