# The configuration console (proto.console): every command, every setting's range errors, malformed input,
# authentication and session end. Dual runtime: CPython pytest and the MicroPython unix port.
from shunt import settings as st
from proto.console import Console, MAX_LINE
from proto.auth import hmac_sha256, to_hex
from console_fakes import (Device, new_auth, login, answer, final, code, snapshot, SECRET, Rand, StandInMonitor)
import hashlib


def _console(authed=False, dev=None):
    dev = dev if dev is not None else Device()
    c = Console(dev, new_auth())
    if authed:
        login(c)
    return c, dev


def _rejected(c, dev, line, want):
    """The line gets ERR `want` and nothing changes."""
    before = snapshot(dev)
    r = c.handle_line(line)
    assert code(r) == want, (line, r)
    assert r.count("\n") == 1, r
    assert snapshot(dev) == before, line
    return final(r)


# --- BM §1 ranges, as the spec's table gives them: (name, just below, just above, low end, high end, off-grid).
SPEC_RANGES = (
    ("capacity", "0", "10000", "1", "9999", "1.5"),
    ("charged_voltage", "-0.1", "95.1", "0.0", "95.0", "13.25"),
    ("tail_current", "0.4", "10.1", "0.5", "10.0", "4.05"),
    ("charged_detection_time", "0", "51", "1", "50", "2.5"),
    ("peukert_exponent", "0.99", "1.51", "1.00", "1.50", "1.255"),
    ("charge_efficiency", "49", "101", "50", "100", "95.5"),
    ("current_threshold", "-0.01", "2.01", "0.00", "2.00", "0.105"),
    ("ttg_averaging", "-1", "13", "0", "12", "1.5"),
    ("discharge_floor", "-0.1", "99.1", "0.0", "99.0", "50.05"),
    ("shunt_rating_a", "0", "10000", "1", "9999", "500.5"),
    ("shunt_rating_mv", "9", "101", "10", "100", "50.5"),
    ("voltage_divider", "0.899", "20.001", "0.900", "20.000", "1.0005"),
    ("alarm_low_voltage_set", "-0.1", "95.1", "0.0", "95.0", "11.55"),
    ("alarm_low_voltage_clear", "-0.1", "95.1", "0.0", "95.0", "11.55"),
    ("alarm_high_voltage_set", "-0.1", "95.1", "0.0", "95.0", "11.55"),
    ("alarm_high_voltage_clear", "-0.1", "95.1", "0.0", "95.0", "11.55"),
    ("alarm_low_soc_set", "-0.1", "99.1", "0.0", "99.0", "10.05"),
    ("alarm_low_soc_clear", "-0.1", "99.1", "0.0", "99.0", "10.05"),
    ("relay_low_soc", "-0.1", "99.1", "0.0", "99.0", "10.05"),
    ("relay_clear_soc", "-0.1", "99.1", "0.0", "99.0", "10.05"),
    ("relay_min_closed", "-1", "501", "0", "500", "1.5"),
    ("relay_off_delay", "-1", "501", "0", "500", "1.5"),
    ("relay_low_voltage_set", "-0.1", "95.1", "0.0", "95.0", "11.55"),
    ("relay_low_voltage_clear", "-0.1", "95.1", "0.0", "95.0", "11.55"),
    ("relay_high_voltage_set", "-0.1", "95.1", "0.0", "95.0", "11.55"),
    ("aux_voltage_divider", "0.899", "20.001", "0.900", "20.000", "1.0005"),
    ("alarm_low_starter_set", "-0.1", "95.1", "0.0", "95.0", "11.55"),
    ("alarm_low_starter_clear", "-0.1", "95.1", "0.0", "95.0", "11.55"),
    ("alarm_high_starter_set", "-0.1", "95.1", "0.0", "95.0", "11.55"),
    ("alarm_high_starter_clear", "-0.1", "95.1", "0.0", "95.0", "11.55"),
    ("alarm_midpoint_set", "-0.1", "99.1", "0.0", "99.0", "2.05"),
    ("alarm_midpoint_clear", "-0.1", "99.1", "0.0", "99.0", "1.55"),
    ("relay_high_voltage_clear", "-0.1", "95.1", "0.0", "95.0", "11.55"),
    ("temp_coefficient", "-0.1", "20.1", "0.0", "20.0", "0.55"),       # 0xEEF4, 0.1 %CAP/°C (issue 18)
)
# BM §1 word settings: (name, the allowed words).
SPEC_WORDS = (
    ("start_synchronized", ("on", "off")), ("current_invert", ("on", "off")),
    ("ina226_timing", ("standard", "pulsed")), ("nominal_voltage", ("auto", "12", "24", "36", "48")),
    ("sync_mode", ("victron", "strict", "accepted")), ("peukert_mode", ("victron", "above_c20")),
    ("relay_mode", ("default", "charge", "remote")), ("relay_invert", ("on", "off")),
    ("instant_readout", ("on", "off")), ("battery_type", ("lead_acid", "lfp")),
    ("aux_input", ("starter", "midpoint", "temperature", "none")), ("relay_aux_alarms", ("on", "off")),
)
# Issue 18: temperature alarm thresholds, "off" or whole degrees Celsius.
SPEC_TEMPS = ("alarm_low_temperature_set", "alarm_low_temperature_clear", "alarm_high_temperature_set",
              "alarm_high_temperature_clear")
NOT_NUMBERS = ("nan", "NaN", "inf", "-inf", "Infinity", "1e3", "0x10", "abc", "1,5", "--1", ".", "1..2", "½")


def test_spec_tables_cover_every_setting():
    names = [r[0] for r in SPEC_RANGES] + [r[0] for r in SPEC_WORDS] + ["device_name", "instant_readout_key"]
    names += list(SPEC_TEMPS)
    assert sorted(names) == sorted(st.NAMES)


def test_every_numeric_setting_rejects_values_outside_its_range():
    c, dev = _console(authed=True)
    for name, below, above, lo, hi, grid in SPEC_RANGES:
        for bad in (below, above, grid):
            msg = _rejected(c, dev, "set %s %s" % (name, bad), "VALUE")
            # The message names the setting, the value given and what is allowed.
            assert name in msg and bad in msg and st.describe_range(st.row(name)) in msg, msg


def test_every_numeric_setting_accepts_both_ends_of_its_range():
    c, dev = _console(authed=True)
    for name, below, above, lo, hi, grid in SPEC_RANGES:
        for good in (lo, hi):
            r = c.handle_line("set %s %s" % (name, good))
            assert code(r) == "OK", r
            assert dev.settings.values[name] == st.parse(name, good)


def test_every_numeric_setting_rejects_non_numbers():
    c, dev = _console(authed=True)
    for name, below, above, lo, hi, grid in SPEC_RANGES:
        for bad in NOT_NUMBERS:
            msg = _rejected(c, dev, "set %s %s" % (name, bad), "VALUE")
            assert name in msg


def test_every_word_setting_rejects_other_words_and_accepts_its_own_in_any_case():
    c, dev = _console(authed=True)
    for name, words in SPEC_WORDS:
        for bad in ("maybe", "1.0", "nan", "onn"):
            msg = _rejected(c, dev, "set %s %s" % (name, bad), "VALUE")
            assert name in msg and all(w in msg for w in words), msg
        for w in words:
            assert code(c.handle_line("set %s %s" % (name, w.upper()))) == "OK"
            assert dev.settings.format(name) == w


def test_device_name_limits():
    c, dev = _console(authed=True)
    _rejected(c, dev, "set device_name " + "x" * 21, "VALUE")     # String20, as HEX 0x010C (issue 15)
    _rejected(c, dev, "set device_name caf\u00e9", "VALUE")
    r = c.handle_line("set device_name " + "y" * 20)
    assert code(r) == "OK" and dev.settings.values["device_name"] == "y" * 20
    r = c.handle_line('set device_name "My Boat"')
    assert final(r) == 'OK device_name="My Boat"'
    assert dev.settings.values["device_name"] == "My Boat"
    assert final(c.handle_line("get device_name")) == 'OK device_name="My Boat"'
    c.handle_line('set device_name ""')
    assert dev.settings.values["device_name"] == ""


def test_instant_readout_key_needs_auth_to_read_and_is_validated():
    c, dev = _console()
    r = _rejected(c, dev, "get instant_readout_key", "AUTH")
    assert "00010203" not in r
    login(c)
    assert final(c.handle_line("get instant_readout_key")) == "OK instant_readout_key=" + to_hex(bytes(range(16)))
    _rejected(c, dev, "set instant_readout_key 0011", "VALUE")
    _rejected(c, dev, "set instant_readout_key " + "zz" * 16, "VALUE")
    r = c.handle_line("set instant_readout_key " + "ab" * 16)
    assert code(r) == "OK" and "ab" * 16 not in r
    assert dev.settings.values["instant_readout_key"] == b"\xab" * 16


def test_relay_low_soc_links_and_unlinks():
    c, dev = _console(authed=True)
    assert final(c.handle_line("get relay_low_soc")) == "OK relay_low_soc=50.0 % (linked)"
    assert code(c.handle_line("set relay_low_soc 20")) == "OK"
    assert final(c.handle_line("get relay_low_soc")) == "OK relay_low_soc=20.0 % (unlinked)"
    assert code(c.handle_line("set relay_low_soc Linked")) == "OK"
    assert dev.settings.values["relay_low_soc"] == -1


def test_set_persists_then_acknowledges_and_unchanged_value_is_not_written():
    c, dev = _console(authed=True)
    r = c.handle_line("set capacity 150")
    assert final(r) == "OK capacity=150 Ah"
    assert dev.calls == ["persist"] and dev.settings.values["capacity"] == 150
    r = c.handle_line("set capacity 150")
    assert final(r) == "OK capacity=150 Ah (unchanged)"
    assert dev.calls == ["persist"]


def test_failed_settings_save_changes_nothing():
    c, dev = _console(authed=True)
    dev.fail_persist = True
    msg = _rejected(c, dev, "set capacity 150", "STORAGE")
    assert "nothing changed" in msg
    assert dev.settings.values["capacity"] == 200
    # §7 side effect rolled back too: nominal 24 would have set charged_voltage 26.4.
    _rejected(c, dev, "set nominal_voltage 24", "STORAGE")
    assert dev.settings.values["charged_voltage"] == 132


def test_set_needs_auth_and_changes_nothing():
    c, dev = _console()
    msg = _rejected(c, dev, "set capacity 100", "AUTH")
    assert "auth" in msg


def test_get_every_setting_with_its_unit():
    c, dev = _console()
    for r in st.TABLE:
        if r[1] == st.KEY:
            continue
        f = final(c.handle_line("get " + r[0]))
        assert f.startswith("OK %s=" % r[0]), f
    assert final(c.handle_line("get capacity")) == "OK capacity=200 Ah"
    assert final(c.handle_line("get charged_voltage")) == "OK charged_voltage=13.2 V"
    assert final(c.handle_line("get peukert_exponent")) == "OK peukert_exponent=1.25"
    assert final(c.handle_line("GET Capacity")) == "OK capacity=200 Ah"


def test_get_unknown_setting():
    c, dev = _console()
    msg = _rejected(c, dev, "get capacityy", "NAME")
    assert "capacityy" in msg and "list" in msg
    _rejected(c, dev, "set capacityy 1", "AUTH")   # changes are refused before anything is parsed
    login(c)
    _rejected(c, dev, "set capacityy 1", "NAME")


def test_list_shows_every_setting_with_value_unit_range_default():
    c, dev = _console()
    r = c.handle_line("list")
    lines = r[:-1].split("\n")
    assert lines[-1] == "OK %d settings" % len(st.TABLE)
    assert len(lines) == len(st.TABLE) + 1
    assert lines[0] == "capacity=200 Ah; range 1..9999 Ah in steps of 1; default 200 Ah"
    assert "tail_current=4.0 %; range 0.5..10.0 % in steps of 0.1; default 4.0 %" in lines
    assert "instant_readout_key=(hidden); range 32 hex characters (16 bytes); default random at first start" \
        in lines
    for row in st.TABLE:
        assert [ln for ln in lines if ln.startswith(row[0] + "=")], row[0]


def test_help_lists_every_command():
    c, dev = _console()
    r = c.handle_line("help")
    for cmd in ("synchronize", "set_soc", "zero_current", "clear_history", "restore_defaults", "restart", "save",
                "relay", "get", "set", "status", "sync_status", "warnings", "help", "list", "history", "auth",
                "logout", "passwd", "instant_readout_rekey"):
        assert ("  " + cmd) in r or ("* " + cmd) in r, cmd
    assert final(c.handle_line("help set_soc")).startswith("OK set_soc")
    _rejected(c, dev, "help frobnicate", "UNKNOWN")


def test_status_lists_the_bm_12_1_fields_with_units():
    c, dev = _console(dev=Device(StandInMonitor(None)))
    dev.monitor.settings = dev.settings
    dev.monitor.soc_cpct = 9950
    dev.monitor.ce_mah = -1000
    dev.monitor.ttg_min = 120
    dev.monitor.alarm_bits = 1
    dev.monitor.warnings = 0b100000
    dev.monitor.warning_list = lambda: [("W06", "not synchronised")]
    dev.offset_nv = 2500
    lines = c.handle_line("status")[:-1].split("\n")
    for want in ("V=12.853 V", "I=-1.234 A", "P=-16 W", "SOC=99.50 %", "CE=-1000 mAh", "TTG=120 min",
                 "synchronized=1", "restored=0", "AR=1 (low voltage)", "relay=open (energised=0)",
                 "warnings=W06", "op_time=0 s", "current_offset=2.500 uV (25.000 mA)", "OK status"):
        assert want in lines, (want, lines)
    assert [ln for ln in lines if ln.startswith("sync=")]


def test_status_shows_dashes_when_not_synchronized():
    c, dev = _console(dev=Device(StandInMonitor(None)))
    dev.monitor.synchronized = 0
    r = c.handle_line("status")
    assert "SOC=--- (not synchronized)" in r and "TTG=--- (not synchronized)" in r and "CE=---" in r


def test_status_of_the_real_or_stand_in_monitor():
    c, dev = _console()
    r = c.handle_line("status")
    assert final(r) == "OK status"
    assert "V=" in r and "SOC=" in r and "op_time=" in r and "INTERNAL" not in r


def test_sync_status_prints_every_field_with_units():
    c, dev = _console()
    r = c.handle_line("sync_status")
    assert final(r) == "OK sync_status"
    lines = r[:-1].split("\n")[:-1]
    keys = [ln.split("=")[0] for ln in lines]
    assert set(keys) == set(dev.monitor.sync_status().keys())
    assert "timer_required_s=180 s" in lines          # charged_detection_time 3 min (BM §1 default)
    assert "charged_voltage_mv=13200 mV" in lines     # charged_voltage 13.2 V
    assert "mode=accepted" in lines                  # the default of a device without stored settings
    assert any(ln.startswith("mode_note=") and "the count agrees" in ln for ln in lines)
    assert "count_ok=1" in lines and "count_allowed_mah=10000 mAh" in lines   # 5 % of 200 Ah


def test_warnings_lists_codes_and_texts():
    c, dev = _console(dev=Device(StandInMonitor(None)))
    dev.monitor.warning_list = lambda: [("W05", "no sync for 30 days"), ("W07", "state restored")]
    r = c.handle_line("warnings")
    assert r == "W05=no sync for 30 days\nW07=state restored\nOK 2 warnings\n"


def test_warnings_from_the_mask_when_the_monitor_has_no_list():
    c, dev = _console(dev=Device(StandInMonitor(None)))
    del StandInMonitor.warning_list
    try:
        dev.monitor.warnings = (1 << 5) | (1 << 12)
        assert c.handle_line("warnings") == "W06=not synchronised\nW13=sensor fault\nOK 2 warnings\n"
    finally:
        StandInMonitor.warning_list = lambda self: []


def test_history_prints_h1_to_h18_with_units():
    c, dev = _console(dev=Device(StandInMonitor(None)))
    dev.monitor.hist = [0, -5000, -2000, -3000, 4, 1, -90000, 11800, 14400, 3600, 2, 0, 0, 0, 0, 0, 0, 123, 456]
    lines = c.handle_line("history")[:-1].split("\n")
    assert lines[0] == "H1=-5000 mAh (deepest discharge)"
    assert "H7=11800 mV (min voltage)" in lines
    assert "H9=3600 s (time since last full charge)" in lines
    assert "H17=1.23 kWh (discharged energy)" in lines
    assert len(lines) == 19 and lines[-1] == "OK history"


# --- commands that change state -------------------------------------------------------------------------
def test_state_commands_need_auth():
    c, dev = _console()
    for line in ("synchronize", "set_soc 50", "zero_current", "clear_history", "restore_defaults", "restart", "save",
                 "relay on", "instant_readout_rekey", "passwd " + "00" * 32):
        _rejected(c, dev, line, "AUTH")


def test_synchronize_syncs_and_saves():
    c, dev = _console(authed=True)
    dev.monitor.set_soc(5000)
    r = c.handle_line("synchronize")
    assert code(r) == "OK"
    assert dev.monitor.soc_cpct == 10000 and dev.monitor.synchronized == 1
    assert dev.calls == ["save"]


def test_set_soc_sets_exactly_and_saves():
    c, dev = _console(authed=True)
    assert final(c.handle_line("set_soc 42.37")) == "OK SOC set to 42.37 %"
    assert dev.monitor.soc_cpct == 4237 and dev.calls == ["save"]
    assert code(c.handle_line("set_soc 0")) == "OK" and dev.monitor.soc_cpct == 0
    assert code(c.handle_line("set_soc 100%")) == "OK" and dev.monitor.soc_cpct == 10000


def test_set_soc_rejects_out_of_range_and_non_numbers():
    c, dev = _console(authed=True)
    for bad in ("100.01", "-0.01", "101", "42.375", "nan", "inf", "-inf", "fifty", "1e2"):
        msg = _rejected(c, dev, "set_soc " + bad, "VALUE")
        assert "0.00..100.00" in msg


def test_zero_current_reports_the_offset_in_uv_and_ma():
    c, dev = _console(authed=True)
    # One INA226 shunt LSB is 2.5 uV (PL §1); on the default 500 A / 50 mV shunt that is 25 mA.
    dev.zero.result = 2500
    assert final(c.handle_line("zero_current")) == "OK zero_current offset=2.500 uV (25.000 mA)"
    dev.zero.result = -1250
    assert final(c.handle_line("zero_current")) == "OK zero_current offset=-1.250 uV (-12.500 mA)"


def test_zero_current_rejection_is_reported():
    c, dev = _console(authed=True)
    dev.zero.result = ValueError("the current changed during the measurement")
    r = c.handle_line("zero_current")
    assert code(r) == "STATE" and "changed" in r


def test_zero_current_async_path_awaits_the_device():
    c, dev = _console(authed=True)

    async def zc():
        return 5000
    dev.zero_current_async = zc
    co = c.handle_line_async("zero_current")
    try:
        co.send(None)
    except StopIteration as e:
        r = e.value if hasattr(e, "value") else e.args[0]
    assert final(r) == "OK zero_current offset=5.000 uV (50.000 mA)"


def test_clear_history_clears_and_saves():
    dev = Device(StandInMonitor(None))
    dev.monitor.settings = dev.settings
    dev.monitor.hist[4] = 7
    c, dev = _console(authed=True, dev=dev)
    assert code(c.handle_line("clear_history")) == "OK"
    assert dev.monitor.hist == [0] * 19 and dev.calls == ["save"]


def test_restore_defaults_keeps_installation_settings():
    c, dev = _console(authed=True)
    c.handle_line("set capacity 100")
    c.handle_line("set shunt_rating_a 300")
    dev.calls[:] = []
    assert code(c.handle_line("restore_defaults")) == "OK"
    assert dev.settings.values["capacity"] == 200
    assert dev.settings.values["shunt_rating_a"] == 300
    assert dev.calls == ["persist"]


def test_restart_saves_first():
    c, dev = _console(authed=True)
    assert final(c.handle_line("restart")) == "OK restarting"
    assert dev.calls == ["save"] and dev.restart_requested
    dev.restart_requested = False
    dev.fail_save = True
    r = c.handle_line("restart")
    assert code(r) == "STORAGE" and dev.calls == ["save"] and not dev.restart_requested


def test_save_and_failed_save():
    c, dev = _console(authed=True)
    assert final(c.handle_line("save")) == "OK saved" and dev.calls == ["save"]
    dev.fail_save = True
    assert code(c.handle_line("save")) == "STORAGE"


def test_relay_only_in_remote_mode():
    c, dev = _console(authed=True)
    msg = _rejected(c, dev, "relay on", "STATE")
    assert "remote" in msg
    _rejected(c, dev, "relay maybe", "VALUE")
    c.handle_line("set relay_mode remote")
    dev.calls[:] = []
    assert final(c.handle_line("relay ON")) == "OK relay on"
    assert _relay(dev) == 1 and dev.calls == ["save"]
    assert final(c.handle_line("relay off")) == "OK relay off"
    assert _relay(dev) == 0


def _relay(dev):
    m = dev.monitor
    if hasattr(m, "refresh"):
        m.refresh()   # the real Monitor updates relay_active only at its next refresh
    return m.relay_active


def test_rekey_changes_the_first_byte():
    dev = Device()
    old = dev.settings.values["instant_readout_key"]
    # The first draw keeps key[0] (PL §4.3 forbids that), the second does not.
    dev.urandom = Rand([bytes([old[0]]) + b"\x11" * 15, b"\x99" + b"\x22" * 15])
    c, dev = _console(authed=True, dev=dev)
    r = c.handle_line("instant_readout_rekey")
    assert code(r) == "OK" and ("22" * 15) not in r
    assert dev.settings.values["instant_readout_key"] == b"\x99" + b"\x22" * 15
    assert dev.calls == ["persist"]


def test_rekey_with_a_broken_random_source_reports_instead_of_spinning():
    # Issue 16: the old loop spun forever on short urandom output; the Device gives up after a few draws.
    dev = Device()
    old = dev.settings.values["instant_readout_key"]
    dev.urandom = lambda n: b"\x01"
    c, dev = _console(authed=True, dev=dev)
    r = c.handle_line("instant_readout_rekey")
    assert code(r) == "VALUE" and dev.settings.values["instant_readout_key"] == old and dev.calls == []


# --- malformed input ---------------------------------------------------------------------------------------
def test_empty_and_blank_lines():
    c, dev = _console(authed=True)
    for line in ("", "\n", "\r\n", "   ", "\t \t", b"", b"\r\n"):
        _rejected(c, dev, line, "EMPTY")


def test_overlong_lines():
    c, dev = _console(authed=True)
    ok = "set device_name " + "a" * 20
    ok = ok + " " * (MAX_LINE - len(ok))
    assert len(ok) == 128
    assert code(c.handle_line(ok + "\r\n")) == "OK"
    msg = _rejected(c, dev, "set capacity 100" + " " * 113, "TOOLONG")
    assert "129" in msg and "128" in msg
    _rejected(c, dev, b"x" * 5000, "TOOLONG")


def test_binary_garbage():
    c, dev = _console(authed=True)
    for line in (b"\xff\xfe\x00\x01", b"set capacity \xc3(", b"\x00", b"set capacity 1\x00", b"status\x1b[A",
                 b"\x80abc", "get capacity\x7f"):
        _rejected(c, dev, line, "ENCODING")


def test_unknown_commands():
    c, dev = _console(authed=True)
    for line in ("frobnicate", "sett capacity 1", "synchronise", "capacity 100", "?", "\u00e9t\u00e9"):
        msg = _rejected(c, dev, line, "UNKNOWN")
        assert "help" in msg


def test_wrong_arity():
    c, dev = _console(authed=True)
    for line in ("get", "get capacity extra", "set", "set capacity", "set_soc", "set_soc 1 2", "relay",
                 "relay on now", "status now", "synchronize 100", "list all", "auth a b", "passwd"):
        msg = _rejected(c, dev, line, "ARGS")
        assert "usage" in msg


def test_mixed_case_commands_and_names():
    c, dev = _console()
    assert code(c.handle_line("Status")) == "OK"
    assert code(c.handle_line("LIST")) == "OK"
    r = c.handle_line("AUTH")
    assert r.startswith("OK nonce=")
    assert code(c.handle_line(answer(SECRET, r).upper().replace("AUTH", "Auth"))) == "OK"
    assert code(c.handle_line("Set CAPACITY 120")) == "OK" and dev.settings.values["capacity"] == 120
    assert code(c.handle_line("set sync_mode STRICT")) == "OK" and dev.settings.values["sync_mode"] == 1


def test_error_messages_echo_no_raw_control_characters():
    c, dev = _console(authed=True)
    r = c.handle_line("frob\u200b\u00e9" + "z" * 60)
    assert code(r) == "UNKNOWN"
    assert all(0x20 <= ord(ch) < 0x7F for ch in final(r))


# --- authentication ---------------------------------------------------------------------------------------
def test_auth_then_changes_allowed():
    c, dev = _console()
    login(c)
    assert c.authenticated
    assert code(c.handle_line("set capacity 100")) == "OK"


def test_wrong_answer_is_rejected_with_tries_left():
    c, dev = _console()
    c.handle_line("auth")
    msg = _rejected(c, dev, "auth " + "00" * 32, "AUTH")
    assert "4 tries left" in msg
    assert not c.authenticated


def test_replayed_answer_is_rejected():
    c, dev = _console()
    r = c.handle_line("auth")
    good = answer(SECRET, r)
    assert code(c.handle_line(good)) == "OK"
    c.handle_line("logout")
    _rejected(c, dev, good, "AUTH")                 # no challenge pending
    c.handle_line("auth")
    _rejected(c, dev, good, "AUTH")                 # a fresh nonce: the old answer is wrong
    assert not c.authenticated


def test_answer_on_another_transport_fails():
    dev = Device()
    a = new_auth()
    usb, ble = Console(dev, a), Console(dev, a)
    r = usb.handle_line("auth")
    assert code(ble.handle_line(answer(SECRET, r))) == "AUTH"
    assert not ble.authenticated


def test_five_failures_lock_the_console_with_back_off():
    c, dev = _console()
    for k in range(4):
        c.handle_line("auth")
        assert code(c.handle_line("auth " + "11" * 32)) == "AUTH"
    c.handle_line("auth")
    r = c.handle_line("auth " + "11" * 32)
    assert code(r) == "LOCKED" and "30 s" in r
    # Locked: even the right answer cannot be tried, and no nonce is handed out.
    assert code(c.handle_line("auth")) == "LOCKED"
    c.tick(29000)
    r = c.handle_line("auth")
    assert code(r) == "LOCKED" and "1 s" in r
    c.tick(1000)
    c.handle_line("auth")
    r = c.handle_line("auth " + "11" * 32)
    assert code(r) == "LOCKED" and "60 s" in r      # doubled
    c.tick(60000)
    login(c)


def test_lockout_is_shared_across_consoles_and_survives_disconnect():
    dev = Device()
    a = new_auth()
    c1, c2 = Console(dev, a), Console(dev, a)
    for _ in range(5):
        c1.handle_line("auth")
        c1.handle_line("auth " + "11" * 32)
    c1.disconnect()
    assert code(c1.handle_line("auth")) == "LOCKED"
    assert code(c2.handle_line("auth")) == "LOCKED"


def test_session_ends_on_disconnect_and_logout():
    c, dev = _console(authed=True)
    c.disconnect()
    _rejected(c, dev, "set capacity 100", "AUTH")
    login(c)
    assert final(c.handle_line("logout")) == "OK logged out"
    _rejected(c, dev, "set capacity 100", "AUTH")
    _rejected(c, dev, "get instant_readout_key", "AUTH")


def test_passwd_changes_the_secret_without_it_crossing_in_clear():
    c, dev = _console()
    r = login(c)
    nonce = r.split("nonce=")[1].strip()
    new = bytes(range(50, 82))
    pad = hmac_sha256(hashlib.sha256, SECRET, b"passwd" + bytes(int(nonce[i:i + 2], 16) for i in range(0, 32, 2)))
    masked = bytes(new[i] ^ pad[i] for i in range(32))
    line = "passwd " + to_hex(masked)
    assert to_hex(new) not in line
    assert final(c.handle_line(line)) == "OK secret changed"
    assert dev.stored_secret == to_hex(new)
    # A second passwd needs a fresh authentication (the pad is spent).
    assert code(c.handle_line(line)) == "AUTH"
    c.disconnect()
    c.handle_line("auth")
    login(c, new)


def test_passwd_storage_failure_keeps_the_old_secret():
    c, dev = _console()
    login(c)
    dev.fail_persist = True
    assert code(c.handle_line("passwd " + "00" * 32)) == "STORAGE"
    c.disconnect()
    login(c, SECRET)


def test_fresh_device_setup_code_then_passwd():
    dev = Device()
    a = new_auth(secret=None)
    c = Console(dev, a)
    setup = a.setup_code()
    r = c.handle_line("auth")
    r2 = c.handle_line(answer(setup.encode(), r))
    assert final(r2).startswith("OK authenticated with the one-time setup code")
    nonce = bytes(int(r.split("nonce=")[1][i:i + 2], 16) for i in range(0, 32, 2))
    pad = hmac_sha256(hashlib.sha256, setup.encode(), b"passwd" + nonce)
    masked = bytes(SECRET[i] ^ pad[i] for i in range(32))
    assert code(c.handle_line("passwd " + to_hex(masked))) == "OK"
    assert a.has_secret() and dev.stored_secret == to_hex(SECRET)
    c.disconnect()
    login(c, SECRET)


def test_spent_setup_code_is_reported():
    dev = Device()
    a = new_auth(secret=None)
    c = Console(dev, a)
    setup = a.setup_code()                  # the app prints it on the USB console at start-up
    r = c.handle_line("auth")
    assert code(c.handle_line(answer(setup.encode(), r))) == "OK"
    c.disconnect()
    assert code(c.handle_line("auth")) == "NOSECRET"


def test_secret_never_appears_in_any_output():
    dev = Device()
    a = new_auth()
    c = Console(dev, a)
    out = []
    lines = ["auth", "auth " + "00" * 32, "status", "list", "get instant_readout_key"]
    for ln in lines:
        out.append(c.handle_line(ln))
    r = c.handle_line("auth")
    out.append(r)
    out.append(c.handle_line(answer(SECRET, r)))
    for ln in ("list", "help", "help auth", "passwd " + "zz" * 32, "passwd " + to_hex(SECRET), "status",
               "sync_status", "get instant_readout_key", "auth", "logout"):
        out.append(c.handle_line(ln))
    text = "".join(out).lower()
    assert to_hex(SECRET) not in text
    assert to_hex(SECRET)[:16] not in text


def test_every_reply_ends_with_one_ok_or_err_line():
    c, dev = _console(authed=True)
    for ln in ("help", "list", "status", "sync_status", "warnings", "history", "get capacity", "set capacity 99",
               "synchronize", "set_soc 10", "zero_current", "clear_history", "restore_defaults", "save",
               "relay on", "instant_readout_rekey", "auth", "logout", "", "x" * 200, b"\xff"):
        r = c.handle_line(ln)
        lines = r[:-1].split("\n")
        ends = [x for x in lines if x.startswith("OK") or x.startswith("ERR ")]
        assert len(ends) == 1 and ends[0] == lines[-1], (ln, r)


def test_console_without_auth_object_refuses_auth_and_ticks():
    dev = Device()
    c = Console(dev, None)
    c.tick(1000)
    assert code(c.handle_line("auth")) == "NOSECRET"
    assert code(c.handle_line("passwd " + "00" * 32)) == "AUTH"
    c.authenticated = True                      # a simulator's local console
    assert code(c.handle_line("set capacity 120")) == "OK"


def test_help_explains_every_setting():
    from proto.setting_help import TEXT
    from shunt.settings import NAMES
    assert sorted(TEXT) == sorted(NAMES)
    c = _console()[0]
    r = c.handle_line("help peukert_exponent")
    assert r.endswith("OK peukert_exponent\n")
    assert "about=" in r and "never makes SOC jump" in r and "range=1.00..1.50" in r and "default=1.25" in r
    r = c.handle_line("HELP Discharge_Floor")
    assert "never changes SOC" in r
    assert c.handle_line("help no_such_thing").startswith("ERR UNKNOWN")
