# Nominal-voltage detection (BM §7, U22): 60 s spike filter, promotion only upward, stop after 3 600 s of
# charging or a user edit, restart, fixed values.
from check import micropython_only
from shunt.settings import Settings
from shunt.nominal import Nominal, voltage_class
from standin_mon import Mon


def _make(**kv):
    s = Settings()
    for k in kv:
        s.set(k, kv[k])
    return s, Nominal(s)


def _charge(n, nom, mon, v_mv, samples, dt=100, i_ma=20000):
    mon.v_mv = v_mv
    mon.set_i(i_ma)
    for _ in range(samples):
        nom.step(mon, dt)


def test_table_classes():
    assert voltage_class(14999) == 12
    assert voltage_class(15000) == 24
    assert voltage_class(29999) == 24
    assert voltage_class(30000) == 36
    assert voltage_class(45000) == 48
    assert voltage_class(59999) == 48
    assert voltage_class(60000) == 0


def test_starts_at_12_and_stays_on_a_12_v_bank():
    s, n = _make()
    mon = Mon()
    _charge(s, n, mon, 14400, 3000)
    assert n.nominal_v == 12 and s.values["charged_voltage"] == 132


def test_promotes_12_to_24_after_60_s_of_charging_samples():
    s, n = _make()
    mon = Mon()
    _charge(s, n, mon, 28000, 599)        # 59.9 s
    assert n.nominal_v == 12
    _charge(s, n, mon, 28000, 1)          # 60.0 s
    assert n.nominal_v == 24
    assert s.values["charged_voltage"] == 264          # 26.4 V from the table
    assert s.charged_voltage_user_set == 0             # the firmware's own write


def test_spike_shorter_than_60_s_does_not_promote():
    s, n = _make()
    mon = Mon()
    _charge(s, n, mon, 28000, 599)
    _charge(s, n, mon, 14000, 1)          # a sample of another class resets the count
    _charge(s, n, mon, 28000, 599)
    assert n.nominal_v == 12
    _charge(s, n, mon, 28000, 1, i_ma=0)  # a sample that is not charging resets too
    _charge(s, n, mon, 28000, 599)
    assert n.nominal_v == 12
    _charge(s, n, mon, 28000, 599, i_ma=-5000)          # discharge at 28 V never counts
    assert n.nominal_v == 12


def test_current_below_threshold_is_not_charging():
    s, n = _make()
    mon = Mon(thr_ma=100)
    _charge(s, n, mon, 28000, 1000, i_ma=99)            # I_int = 0
    assert n.nominal_v == 12 and n.chg_s == 0


def test_never_demotes():
    s, n = _make()
    mon = Mon()
    _charge(s, n, mon, 28000, 600)
    assert n.nominal_v == 24
    _charge(s, n, mon, 13500, 3000)
    assert n.nominal_v == 24 and s.values["charged_voltage"] == 264


def test_promotes_straight_to_48():
    s, n = _make()
    mon = Mon()
    _charge(s, n, mon, 56000, 600)
    assert n.nominal_v == 48 and s.values["charged_voltage"] == 528


def test_user_set_charged_voltage_is_kept_and_stops_detection():
    s, n = _make()
    s.set("charged_voltage", "14.4")
    n.user_edit()                         # the monitor reports the user's write
    mon = Mon()
    _charge(s, n, mon, 28000, 2000)
    assert n.stopped == 1 and n.nominal_v == 12
    assert s.values["charged_voltage"] == 144


def test_promotion_keeps_a_user_set_charged_voltage():
    # charged_voltage_user_set from a settings file (load) without a user edit in this run.
    s, n = _make()
    s.load_dict({"schema": 1, "values": {"charged_voltage": 140}, "charged_voltage_user_set": 1})
    mon = Mon()
    _charge(s, n, mon, 28000, 600)
    assert n.nominal_v == 24 and s.values["charged_voltage"] == 140


def test_firmware_write_during_promotion_is_not_a_user_edit():
    s, n = _make()

    def listener(name, user=True):        # a monitor that calls user_edit on any charged_voltage change
        n.configure()
        if name == "charged_voltage":
            n.user_edit()
    s.add_listener(listener)
    mon = Mon()
    _charge(s, n, mon, 28000, 600)
    assert n.nominal_v == 24 and n.stopped == 0
    _charge(s, n, mon, 40000, 600)
    assert n.nominal_v == 36 and s.values["charged_voltage"] == 396


def test_stops_after_3600_s_of_charging():
    s, n = _make()
    mon = Mon()
    _charge(s, n, mon, 13500, 3539, dt=1000)
    mon.set_i(-3000)
    for _ in range(5000):                 # discharge time does not count
        n.step(mon, 1000)
    assert n.chg_s == 3539 and n.stopped == 0
    _charge(s, n, mon, 28000, 60, dt=1000)              # promotes at 3 599 s of charging
    assert n.nominal_v == 24 and n.chg_s == 3599
    _charge(s, n, mon, 28000, 1, dt=1000)
    assert n.chg_s == 3600 and n.stopped == 1
    _charge(s, n, mon, 40000, 200, dt=1000)             # detection no longer runs
    assert n.nominal_v == 24 and n.chg_s == 3600


def test_restart_from_12_with_counters_at_zero():
    s, n = _make()
    mon = Mon()
    _charge(s, n, mon, 28000, 3600, dt=1000)
    assert n.stopped == 1 and n.nominal_v == 24
    s.restore_defaults()
    n.restart()
    assert n.nominal_v == 12 and n.chg_s == 0 and n.stopped == 0
    _charge(s, n, mon, 28000, 600)
    assert n.nominal_v == 24


def test_fixed_value_and_back_to_auto():
    s, n = _make()
    s.set("nominal_voltage", "48")
    n.configure()
    n.user_edit()
    assert n.nominal_v == 48
    mon = Mon()
    _charge(s, n, mon, 13000, 1000)
    assert n.nominal_v == 48 and n.chg_s == 0           # no detection while fixed
    s.set("nominal_voltage", "auto")
    n.configure()                         # back to auto: restart at 12
    assert n.nominal_v == 12 and n.stopped == 0
    _charge(s, n, mon, 28000, 600)
    assert n.nominal_v == 24


def test_over_60_v_flags_and_changes_nothing():
    s, n = _make()
    mon = Mon()
    _charge(s, n, mon, 60000, 1000)
    assert n.over60 == 1 and n.nominal_v == 12 and s.values["charged_voltage"] == 132
    _charge(s, n, mon, 13000, 1)
    assert n.over60 == 0


def test_outage_resets_the_60_s_count():
    s, n = _make()
    mon = Mon()
    _charge(s, n, mon, 28000, 590)
    mon.outage = 1
    n.step(mon, 20000)
    mon.outage = 0
    _charge(s, n, mon, 28000, 590)
    assert n.nominal_v == 12
    _charge(s, n, mon, 28000, 10)
    assert n.nominal_v == 24


def test_load_restores_the_state():
    s, n = _make()
    n.load(24, 3000, 0)
    assert n.nominal_v == 24 and n.chg_s == 3000 and n.stopped == 0
    mon = Mon()
    _charge(s, n, mon, 13000, 600, dt=1000)
    assert n.stopped == 1 and n.chg_s == 3600
    n.load(36, 100, 1)
    assert n.nominal_v == 36 and n.stopped == 1


def test_step_alloc_free_under_micropython():
    micropython_only()
    import micropython
    s, n = _make()
    mon = Mon(v_mv=13500)
    mon.set_i(10000)
    micropython.heap_lock()
    try:
        for _ in range(2000):
            n.step(mon, 100)
    finally:
        micropython.heap_unlock()
    assert n.chg_s == 200
