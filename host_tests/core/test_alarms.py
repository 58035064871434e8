# Alarms (BM §10, §1 effective clear values, §0.2 outages): set delay, immediate clear, hysteresis, AR bits.
from check import micropython_only
from shunt.settings import Settings
from shunt.alarms import Alarms, eff_clear_low, eff_clear_high
from standin_mon import Mon


def _make(**kv):
    s = Settings()
    for k in kv:
        s.set(k, kv[k])
    a = Alarms(s)
    return s, a


def _run(a, mon, n, dt=100):
    """n samples of dt ms; returns the OR of the step results."""
    r = 0
    for _ in range(n):
        r |= a.step(mon, dt)
    return r


def test_all_alarms_off_by_default():
    s, a = _make()
    mon = Mon(v_mv=0, soc_cpct=0)
    assert _run(a, mon, 300) == 0
    mon.v_mv = 90000
    assert _run(a, mon, 300) == 0
    assert a.bits == 0


def test_low_voltage_needs_more_than_10_s():
    s, a = _make(alarm_low_voltage_set="11.5", alarm_low_voltage_clear="12.0")
    mon = Mon(v_mv=11499)
    assert a.step(mon, 0) == 0            # first sample after start, dt = 0
    assert _run(a, mon, 100) == 0         # exactly 10 000 ms: not yet "more than"
    assert a.bits == 0
    assert a.step(mon, 100) == 1          # 10 100 ms: active, H11 would count
    assert a.bits == 1
    assert a.step(mon, 100) == 0          # counted once only
    assert a.bits == 1


def test_low_voltage_at_set_value_does_not_count():
    s, a = _make(alarm_low_voltage_set="11.5")
    mon = Mon(v_mv=11500)                 # V = set is not V < set
    assert _run(a, mon, 500) == 0
    assert a.bits == 0


def test_low_voltage_break_restarts_the_delay():
    s, a = _make(alarm_low_voltage_set="11.5")
    mon = Mon(v_mv=11000)
    _run(a, mon, 99)                      # 9 900 ms
    mon.v_mv = 11600
    a.step(mon, 100)                      # one sample above set resets
    mon.v_mv = 11000
    assert _run(a, mon, 100) == 0         # 10 000 ms again, not more
    assert a.step(mon, 100) == 1


def test_low_voltage_long_samples_within_5_s_count_fully():
    s, a = _make(alarm_low_voltage_set="11.5")
    mon = Mon(v_mv=11000)
    assert a.step(mon, 5000) == 0
    assert a.step(mon, 5000) == 0         # 10 000 ms
    assert a.step(mon, 1) == 1            # 10 001 ms


def test_low_voltage_clears_at_once_only_above_clear():
    s, a = _make(alarm_low_voltage_set="11.5", alarm_low_voltage_clear="12.0")
    mon = Mon(v_mv=11000)
    _run(a, mon, 101)
    assert a.bits == 1
    mon.v_mv = 11900                      # between set and clear: hysteresis, stays
    _run(a, mon, 1000)
    assert a.bits == 1
    mon.v_mv = 12000                      # equal to clear: not "V > clear"
    a.step(mon, 100)
    assert a.bits == 1
    mon.v_mv = 12001
    a.step(mon, 100)
    assert a.bits == 0                    # cleared on the first sample past clear


def test_low_voltage_inactive_in_hysteresis_band_stays_inactive():
    s, a = _make(alarm_low_voltage_set="11.5", alarm_low_voltage_clear="12.0")
    mon = Mon(v_mv=11800)
    assert _run(a, mon, 1000) == 0
    assert a.bits == 0


def test_low_voltage_clear_below_set_uses_set():
    # §1 / U23: a low-type clear below set is replaced by set.
    assert eff_clear_low(115, 110) == 115
    assert eff_clear_low(115, 120) == 120
    s, a = _make(alarm_low_voltage_set="11.5", alarm_low_voltage_clear="11.0")
    mon = Mon(v_mv=11000)
    _run(a, mon, 101)
    assert a.bits == 1
    mon.v_mv = 11400
    a.step(mon, 100)
    assert a.bits == 1
    mon.v_mv = 11501
    a.step(mon, 100)
    assert a.bits == 0


def test_high_voltage_set_delay_and_clear():
    s, a = _make(alarm_high_voltage_set="14.8", alarm_high_voltage_clear="14.4")
    mon = Mon(v_mv=14801)
    assert _run(a, mon, 100) == 0
    assert a.step(mon, 100) == 2          # bit 1: H12 counts
    assert a.bits == 2
    mon.v_mv = 14400                      # equal to clear: stays
    a.step(mon, 100)
    assert a.bits == 2
    mon.v_mv = 14399
    a.step(mon, 100)
    assert a.bits == 0
    mon.v_mv = 14700                      # between clear and set: stays off
    assert _run(a, mon, 500) == 0


def test_high_voltage_effective_clear_rules():
    # High-type: clear if 0 < clear <= set, else set.
    assert eff_clear_high(148, 144) == 144
    assert eff_clear_high(148, 0) == 148
    assert eff_clear_high(148, 150) == 148
    s, a = _make(alarm_high_voltage_set="14.8")          # clear 0 -> set
    mon = Mon(v_mv=15000)
    _run(a, mon, 101)
    assert a.bits == 2
    mon.v_mv = 14800                                      # not below 14.8
    a.step(mon, 100)
    assert a.bits == 2
    mon.v_mv = 14799
    a.step(mon, 100)
    assert a.bits == 0


def test_low_soc_alarm_delay_clear_and_hysteresis():
    s, a = _make(alarm_low_soc_set="50.0", alarm_low_soc_clear="60.0")
    mon = Mon(soc_cpct=5000)              # exactly 50.00 %: not below
    assert _run(a, mon, 300) == 0
    mon.soc_cpct = 4999
    assert _run(a, mon, 100) == 0
    assert a.bits == 0
    assert a.step(mon, 100) == 0          # low SOC never returns an H11/H12 bit
    assert a.bits == 4
    mon.soc_cpct = 5500
    _run(a, mon, 100)
    assert a.bits == 4
    mon.soc_cpct = 6000                   # equal to clear: stays
    a.step(mon, 100)
    assert a.bits == 4
    mon.soc_cpct = 6001
    a.step(mon, 100)
    assert a.bits == 0


def test_low_soc_alarm_inactive_while_not_synchronised():
    s, a = _make(alarm_low_soc_set="50.0")
    mon = Mon(soc_cpct=1000, synchronized=0)
    _run(a, mon, 300)
    assert a.bits == 0
    mon.synchronized = 1
    _run(a, mon, 101)
    assert a.bits == 4
    mon.synchronized = 0                  # SOC unknown: the alarm goes inactive (§4.6)
    a.step(mon, 100)
    assert a.bits == 0


def test_outage_resets_the_delay_but_not_an_active_alarm():
    s, a = _make(alarm_low_voltage_set="11.5", alarm_high_voltage_set="14.8")
    mon = Mon(v_mv=11000)
    _run(a, mon, 90)                      # 9 000 ms
    mon.outage = 1
    a.step(mon, 60000)                    # dt > 5 000 ms: the condition was not observed
    mon.outage = 0
    assert _run(a, mon, 90) == 0          # 9 000 ms: would be 18 000 without the reset
    assert a.bits == 0
    assert _run(a, mon, 20) == 1
    mon.outage = 1
    a.step(mon, 60000)
    assert a.bits == 1                    # an active alarm clears only past its clear value


def test_disabling_deactivates_at_once():
    s, a = _make(alarm_low_voltage_set="11.5")
    mon = Mon(v_mv=11000)
    _run(a, mon, 101)
    assert a.bits == 1
    s.set("alarm_low_voltage_set", "0")
    a.configure()
    assert a.bits == 0
    assert _run(a, mon, 300) == 0


def test_bits_sum_of_active_alarms():
    s, a = _make(alarm_low_voltage_set="11.5", alarm_low_soc_set="20.0")
    mon = Mon(v_mv=11000, soc_cpct=1000)
    assert _run(a, mon, 101) == 1
    assert a.bits == 5                    # AR = 1 + 4


def test_step_alloc_free_under_micropython():
    micropython_only()
    import micropython
    s, a = _make(alarm_low_voltage_set="11.5", alarm_high_voltage_set="14.8", alarm_low_soc_set="50.0")
    mon = Mon(v_mv=11000, soc_cpct=1000)
    micropython.heap_lock()
    try:
        for _ in range(200):
            a.step(mon, 100)
        mon.v_mv = 15000
        for _ in range(200):
            a.step(mon, 100)
    finally:
        micropython.heap_unlock()
    assert a.bits == 6
