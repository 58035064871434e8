# The aux input core (issue 18; vedirect.md §3.6, §4.6; battery-monitor.md §10 latches): mid-point deviation,
# starter/mid-point/temperature alarms with their hysteresis, H13-H16, W16, W17. Runs under both runtimes.
from check import micropython_only
from shunt.settings import Settings
from shunt.monitor import Monitor
from shunt.aux import midpoint_deviation_pm, STARTER, MIDPOINT, TEMPERATURE, NONE
from shunt.warnings import W16, W17


def _mon(mode, **kw):
    s = Settings()
    s.set("aux_input", mode)
    for k, v in kw.items():
        s.set(k, v)
    m = Monitor(s)
    m.v_mv = 24000
    return m


def _seconds(m, value, n):
    for _ in range(n):
        m.aux.reading(value)
        m.second()


def test_midpoint_deviation_is_victrons_top_minus_bottom_over_total():
    # BMV manual §5: d = 100·(Vt − Vb)/V %; Vb is the mid-point (bottom half), in 0.1 % here.
    assert midpoint_deviation_pm(24000, 12000) == 0
    assert midpoint_deviation_pm(24000, 11760) == 20       # top 12.24 V, bottom 11.76 V: +2.0 %
    assert midpoint_deviation_pm(24000, 12240) == -20      # the bottom half is higher
    assert midpoint_deviation_pm(48000, 23000) == 42       # 4.16 % -> 4.2 %, rounded half away from zero
    assert midpoint_deviation_pm(2000, 999) == 1           # 0.1 % exactly at a half: 1.0 ‰ -> rounded up
    assert midpoint_deviation_pm(0, 12000) is None
    assert midpoint_deviation_pm(24000, -500) == 1000 and midpoint_deviation_pm(24000, 819000) == -1000
    assert midpoint_deviation_pm(819000, 400000) == 23       # every intermediate below 2^30 (ESP32 small int)


def test_starter_low_alarm_needs_more_than_10_s_and_clears_past_clear_with_h13():
    m = _mon("starter", alarm_low_starter_set="11.5", alarm_low_starter_clear="12.0")
    _seconds(m, 11400, 10)
    assert m.alarm_bits == 0 and m.hist[13] == 0
    _seconds(m, 11400, 1)
    assert m.alarm_bits == 8 and m.hist[13] == 1
    _seconds(m, 11900, 5)                                   # between set and clear: stays active
    assert m.alarm_bits == 8
    _seconds(m, 12001, 1)                                   # past clear: off at once
    assert m.alarm_bits == 0 and m.hist[13] == 1
    assert m.hist[15] == 11400 and m.hist[16] == 12001


def test_starter_high_alarm_counts_h14():
    m = _mon("starter", alarm_high_starter_set="14.8", alarm_high_starter_clear="14.5")
    _seconds(m, 14900, 11)
    assert m.alarm_bits == 16 and m.hist[14] == 1
    _seconds(m, 14600, 3)
    assert m.alarm_bits == 16
    _seconds(m, 14400, 1)
    assert m.alarm_bits == 0


def test_midpoint_alarm_on_deviation_either_way_with_victron_defaults():
    m = _mon("midpoint")                                    # set 2.0 %, clear 1.5 % (a real BMV-712's values)
    _seconds(m, 11700, 11)                                  # +2.5 %
    assert m.aux.mid_dev_pm == 25 and m.alarm_bits == 128
    _seconds(m, 11800, 3)                                   # +1.7 %: hysteresis
    assert m.alarm_bits == 128
    _seconds(m, 11830, 1)                                   # +1.4 %: clears at once
    assert m.alarm_bits == 0
    _seconds(m, 12300, 11)                                  # −2.5 %: the top half is weak
    assert m.aux.mid_dev_pm == -25 and m.alarm_bits == 128


def test_temperature_alarms_low_and_high():
    m = _mon("temperature", alarm_low_temperature_set="5", alarm_low_temperature_clear="7",
             alarm_high_temperature_set="45", alarm_high_temperature_clear="40")
    _seconds(m, 400, 11)                                    # 4.00 °C
    assert m.alarm_bits == 32
    _seconds(m, 650, 2)
    assert m.alarm_bits == 32
    _seconds(m, 701, 1)
    assert m.alarm_bits == 0
    _seconds(m, 4501, 11)
    assert m.alarm_bits == 64
    _seconds(m, 3999, 1)
    assert m.alarm_bits == 0


def test_a_lost_value_keeps_an_alarm_and_raises_w16_after_3_s():
    m = _mon("temperature", alarm_high_temperature_set="45")
    _seconds(m, 5000, 11)
    assert m.alarm_bits == 64
    _seconds(m, None, 2)
    assert m.aux.value is None and not m.warnings & W16
    _seconds(m, None, 1)
    assert m.warnings & W16 and m.alarm_bits == 64
    assert "W16" in [c for c, _ in m.warning_list()]
    _seconds(m, 2000, 1)
    assert not m.warnings & W16 and m.alarm_bits == 0


def test_mode_none_has_no_value_no_alarm_no_warning():
    m = _mon("none")
    _seconds(m, None, 10)
    assert m.aux.mode == NONE and m.aux.value is None and not m.warnings & W16


def test_changing_the_mode_starts_afresh():
    m = _mon("midpoint")
    _seconds(m, 11000, 11)
    assert m.alarm_bits == 128
    m.settings.set("aux_input", "starter")
    assert m.aux.mode == STARTER and m.alarm_bits == 0 and m.aux.value is None


def test_w17_lfp_charging_below_zero():
    s = Settings()
    s.set("aux_input", "temperature")
    s.set("battery_type", "lfp")
    m = Monitor(s)
    m.i_int_ma = 5000
    _seconds(m, -200, 10)
    assert not m.warnings & W17
    _seconds(m, -200, 1)
    assert m.warnings & W17
    assert "-2.00 C" in dict(m.warning_list())["W17"]
    m.i_int_ma = -3000                                      # discharging in the cold is fine
    _seconds(m, -200, 59)
    assert m.warnings & W17
    _seconds(m, -200, 1)
    assert not m.warnings & W17


def test_w17_never_on_lead_acid():
    m = _mon("temperature")
    m.i_int_ma = 5000
    _seconds(m, -1000, 30)
    assert not m.warnings & W17


def test_aux_history_is_saved_restored_and_cleared():
    m = _mon("starter", alarm_low_starter_set="11.5")
    _seconds(m, 11000, 11)
    _seconds(m, 12500, 1)
    st = m.get_state()
    assert (st["aux_h13"], st["aux_h15"], st["aux_h16"]) == (1, 11000, 12500)
    m2 = _mon("starter")
    m2.set_state(st)
    assert m2.hist[13] == 1 and m2.hist[15] == 11000 and m2.hist[16] == 12500
    m2.clear_history()
    assert m2.hist[13] == 0 and m2.hist[15] == 0 and m2.hist[16] == 0


def test_temperature_setting_is_off_or_whole_degrees_stored_in_centikelvin():
    s = Settings()
    assert s.format("alarm_low_temperature_set") == "off"
    s.set("alarm_low_temperature_set", "-5")
    assert s.values["alarm_low_temperature_set"] == 26815
    assert s.format("alarm_low_temperature_set") == "-5"
    s.set("alarm_low_temperature_set", "0")
    assert s.values["alarm_low_temperature_set"] == 27315     # 0 °C is a temperature, not "off"
    for bad in ("2.5", "-51", "101", "cold"):
        try:
            s.set("alarm_low_temperature_set", bad)
        except ValueError as e:
            assert "alarm_low_temperature_set" in str(e)
        else:
            raise AssertionError(bad)
    for bad in (27316, 27315 + 10100, 1):
        try:
            s.set_stored("alarm_low_temperature_set", bad)
        except ValueError:
            pass
        else:
            raise AssertionError(bad)
    assert s.values["alarm_low_temperature_set"] == 27315


def test_the_once_per_second_aux_step_allocates_nothing():
    micropython_only()
    import micropython
    m = _mon("midpoint")
    _seconds(m, 11700, 12)
    micropython.heap_lock()
    try:
        for _ in range(50):
            m.aux.second(m)
    finally:
        micropython.heap_unlock()


def test_relay_follows_aux_alarms_only_when_asked_and_in_default_mode():
    m = _mon("midpoint", relay_aux_alarms="on")
    _seconds(m, 11000, 11)
    assert m.alarm_bits == 128
    m.sample(24000, 0, 100)
    assert m.relay.active == 1 and m.relay.latches == 8
    _seconds(m, 12000, 1)
    m.sample(24000, 0, 100)
    assert m.alarm_bits == 0 and m.relay.active == 0
    m = _mon("midpoint")                        # relay_aux_alarms off (default)
    _seconds(m, 11000, 11)
    m.sample(24000, 0, 100)
    assert m.alarm_bits == 128 and m.relay.active == 0
    m = _mon("midpoint", relay_aux_alarms="on", relay_mode="charge")
    _seconds(m, 11000, 11)
    m.sample(24000, 0, 100)
    assert m.relay.active == 0
