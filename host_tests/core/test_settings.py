# Settings (battery-monitor.md §1, §0.2): names, units, defaults, ranges, steps; exact decimals; nothing changes
# on a bad value.
from check import raises
from shunt.settings import Settings, parse, parse_fixed, fmt_fixed, NAMES, KEPT_BY_RESTORE

# name: (default text, lowest, highest, a value off the step grid) from the §1 table
SPEC = {
    "capacity": ("200", "1", "9999", "200.5"),
    "charged_voltage": ("13.2", "0.0", "95.0", "13.25"),
    "tail_current": ("4.0", "0.5", "10.0", "4.05"),
    "charged_detection_time": ("3", "1", "50", "2.5"),
    "peukert_exponent": ("1.25", "1.00", "1.50", "1.255"),
    "charge_efficiency": ("95", "50", "100", "95.5"),
    "current_threshold": ("0.10", "0.00", "2.00", "0.105"),
    "ttg_averaging": ("3", "0", "12", "1.5"),
    "discharge_floor": ("50.0", "0.0", "99.0", "50.05"),
    "shunt_rating_a": ("500", "1", "9999", "1.5"),
    "shunt_rating_mv": ("50", "10", "100", "50.5"),
    "voltage_divider": ("1.000", "0.900", "20.000", "1.0005"),
    "alarm_low_voltage_set": ("0.0", "0.0", "95.0", "11.55"),
    "alarm_low_soc_set": ("0.0", "0.0", "99.0", "10.05"),
    "relay_clear_soc": ("90.0", "0.0", "99.0", "90.01"),
    "relay_min_closed": ("0", "0", "500", "0.5"),
    "relay_off_delay": ("0", "0", "500", "0.5"),
    "relay_high_voltage_clear": ("0.0", "0.0", "95.0", "1.01"),
}


def test_defaults_ranges_and_steps_of_the_spec_table():
    s = Settings()
    for name, (default, lo, hi, off) in SPEC.items():
        assert s.format(name) == default, name
        assert s.set(name, lo) in (True, False) and s.format(name) == lo, name
        assert s.set(name, hi) in (True, False) and s.format(name) == hi, name
        before = s.values[name]
        e = raises(ValueError, s.set, name, off)
        assert name in str(e) and "steps of" in str(e)
        assert s.values[name] == before


def test_out_of_range_names_the_setting_the_value_and_the_range_with_unit():
    s = Settings()
    e = raises(ValueError, s.set, "capacity", "0")
    assert str(e) == "capacity '0': must be 1..9999 Ah in steps of 1"
    e = raises(ValueError, s.set, "charged_voltage", "95.1")
    assert "0.0..95.0 V" in str(e)
    e = raises(ValueError, s.set, "peukert_exponent", "0.99")
    assert "1.00..1.50" in str(e)
    assert s.values["capacity"] == 200 and s.values["charged_voltage"] == 132


def test_not_numbers_are_rejected_without_any_float():
    s = Settings()
    for bad in ("nan", "inf", "-inf", "1e3", "0x10", "", " ", "12,5", "1.2.3", "+", "-", ".", "١٢", "13.2V"):
        raises(ValueError, s.set, "charged_voltage", bad)
    assert s.values["charged_voltage"] == 132
    assert parse_fixed("13.20", 1) == 132 and parse_fixed(".5", 1) == 5 and parse_fixed("5.", 1) == 50
    assert parse_fixed("13.25", 1) is None and parse_fixed("-0.5", 1) == -5
    assert fmt_fixed(-5, 2) == "-0.05" and fmt_fixed(1000, 3) == "1.000"


def test_unknown_name_and_enums():
    s = Settings()
    e = raises(ValueError, s.set, "capacty", "100")
    assert "unknown setting" in str(e)
    assert s.set("sync_mode", "STRICT") and s.values["sync_mode"] == 1
    raises(ValueError, s.set, "sync_mode", "loose")
    assert s.set("relay_mode", "remote") and s.values["relay_mode"] == 2
    assert s.set("nominal_voltage", "24") and s.values["nominal_voltage"] == 24
    raises(ValueError, s.set, "nominal_voltage", "18")


def test_relay_low_soc_linked_and_unlinked():
    s = Settings()
    assert s.values["relay_low_soc"] == -1 and s.format("relay_low_soc") == "50.0 (linked)"
    s.set("relay_low_soc", "30.0")
    assert s.format("relay_low_soc") == "30.0 (unlinked)"
    s.set("relay_low_soc", "linked")
    assert s.values["relay_low_soc"] == -1


def test_device_name_and_key():
    s = Settings()
    assert s.set("device_name", "Van house bank")
    raises(ValueError, s.set, "device_name", "x" * 33)
    raises(ValueError, s.set, "device_name", "caf\u00e9")
    assert s.values["device_name"] == "Van house bank"
    s.set("instant_readout_key", "00112233445566778899AABBCCDDEEFF")
    assert s.format("instant_readout_key") == "00112233445566778899aabbccddeeff"
    raises(ValueError, s.set, "instant_readout_key", "0011")


def test_charged_voltage_user_flag_and_fixed_nominal_voltage():
    s = Settings()
    s.set("nominal_voltage", "24")                 # §7: 1.1·N unless the user set a charged voltage
    assert s.values["charged_voltage"] == 264 and not s.charged_voltage_user_set
    s.set("charged_voltage", "28.4")
    assert s.charged_voltage_user_set
    s.set("nominal_voltage", "48")
    assert s.values["charged_voltage"] == 284
    s.set_stored("charged_voltage", 132, user=False)   # the firmware's own write does not mark it
    s.restore_defaults()
    assert not s.charged_voltage_user_set


def test_restore_defaults_keeps_the_installation():
    s = Settings()
    s.set("shunt_rating_a", "300")
    s.set("shunt_rating_mv", "75")
    s.set("device_name", "bank")
    s.set("capacity", "400")
    s.set("current_invert", "on")
    s.set_stored("instant_readout_key", bytes(range(16)))
    s.restore_defaults()
    assert s.values["instant_readout_key"] == bytes(range(16))
    assert s.values["capacity"] == 200
    for name in KEPT_BY_RESTORE:
        assert name in NAMES
    assert s.values["shunt_rating_a"] == 300 and s.values["shunt_rating_mv"] == 75
    assert s.values["device_name"] == "bank" and s.values["current_invert"] == 1


def test_file_round_trip_is_all_or_nothing():
    s = Settings()
    s.set("capacity", "280")
    s.set("instant_readout_key", "00" * 16)
    d = s.to_dict()
    t = Settings()
    t.load_dict(d)
    assert t.values == s.values
    bad = s.to_dict()
    bad["values"]["capacity"] = 0
    bad["values"]["tail_current"] = 20
    u = Settings()
    raises(ValueError, u.load_dict, bad)
    assert u.values == Settings().values
    raises(ValueError, u.load_dict, {"schema": 99, "values": {}})


def test_listeners_hear_changes_only():
    s = Settings()
    heard = []
    s.add_listener(lambda name, user: heard.append((name, user)))
    s.set("capacity", "200")                       # the stored value: no change
    s.set("capacity", "201")
    s.set_stored("charged_voltage", 140, user=False)
    assert heard == [("capacity", True), ("charged_voltage", False)]
    assert parse("capacity", " 42 ") == 42


def test_sync_mode_accepted_is_the_default_of_a_fresh_device_and_a_stored_mode_is_kept():
    # Issue 17: a device without stored settings starts in `accepted`; a settings file keeps its mode.
    s = Settings()
    assert s.format("sync_mode") == "accepted" and s.format("battery_type") == "lead_acid"
    for mode in ("victron", "strict"):
        old = Settings()
        old.set("sync_mode", mode)
        d = old.to_dict()
        assert d["values"]["sync_mode"] == ("victron", "strict").index(mode)
        fresh = Settings()
        fresh.load_dict(d)
        assert fresh.format("sync_mode") == mode
    # restore_defaults goes to the default of a fresh device
    s.set("sync_mode", "victron")
    assert s.restore_defaults() and s.format("sync_mode") == "accepted"
    assert s.set("battery_type", "LFP") and s.values["battery_type"] == 1
    raises(ValueError, s.set, "battery_type", "agm")
    raises(ValueError, s.set, "sync_mode", "3")
