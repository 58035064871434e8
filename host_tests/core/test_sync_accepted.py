# Issue 17: sync_mode `accepted` (V > Vch, I_int < I_tail with discharge qualifying, A >= 0.1 % of capacity),
# the default; W14 (charged voltage cannot tell full from loaded), W15 (lead-acid constants on a lithium bank);
# battery_type and apply_battery_type. Dual runtime.
from shunt.settings import Settings, recommended, SYNC_ACCEPTED
from shunt.monitor import Monitor
from proto.console import Console
from console_fakes import Device, new_auth, login, final, code, snapshot


def make(**kw):
    s = Settings()
    for k, v in kw.items():
        s.set(k, v)
    m = Monitor(s)
    m.sample(13000, 0, 0)
    return m


def run(m, n, i_ma, v_mv=12800, dt=100):
    for _ in range(n):
        for _ in range(m.sample(v_mv, i_ma, dt)):
            m.second()


def _on(m, code):
    return bool(m.warnings >> (code - 1) & 1)


def test_accepted_is_the_default_and_needs_charge_before_a_discharge_may_sync():
    m = make(start_synchronized="off")
    assert m.sync_status()["mode"] == "accepted"
    # 13.25 V under a 0.5 A discharge (a LiFePO4 evening): victron would count it, accepted has no charge yet
    run(m, 1800, -500, v_mv=13250)
    assert not m.synchronized and m.sync_timer_ms == 0
    # 0.2 Ah (0.1 % of 200 Ah) charged at 13.0 V (below Vch): 10 A for 76 s at CEF 95 % = 200.6 mAh
    run(m, 760, 10000, v_mv=13000)
    assert m.sync_status()["accepted_ok"] == 1
    # now a discharge above Vch qualifies, and syncs after the detection time
    run(m, 1799, -500, v_mv=13250)
    assert not m.synchronized and m.sync_timer_ms == 179900
    run(m, 1, -500, v_mv=13250)
    assert m.synchronized and m.last_sync_kind == 1 and m.sync_status()["accepted_mah"] == 0
    # after the sync, the same discharge does not sync again: no charge accepted since
    run(m, 3600, -500, v_mv=13250)
    assert m.sync_timer_ms == 0 and m.sync_status()["last_sync_age_s"] == 360


def test_accepted_at_zero_current_needs_charge_too_and_reports_the_accepted_term():
    m = make(start_synchronized="off")
    run(m, 1800, 0, v_mv=13300)                 # victron would sync here (test_monitor)
    assert not m.synchronized
    m = make(start_synchronized="off")
    run(m, 760, 10000, v_mv=13000)
    run(m, 900, 0, v_mv=13300)                  # 90 s of the timer, then the voltage drops
    run(m, 1, 0, v_mv=13100)
    assert m.sync_status()["near_miss_term"] == "voltage" and m.sync_status()["near_miss_s"] == 90


def test_victron_and_strict_are_unchanged_by_the_new_mode():
    # the same trace: accepted syncs, strict needs a charging current, victron syncs without the charge
    for mode, synced in (("victron", 1), ("strict", 0), ("accepted", 0)):
        m = make(start_synchronized="off", sync_mode=mode)
        run(m, 1800, -500, v_mv=13250)
        assert m.synchronized == synced, mode
    for mode, synced in (("victron", 1), ("strict", 0), ("accepted", 1)):
        m = make(start_synchronized="off", sync_mode=mode)
        run(m, 760, 10000, v_mv=13000)
        run(m, 1800, -500, v_mv=13250)
        assert m.synchronized == synced, mode


def test_w14_after_10_min_above_charged_voltage_while_discharging_more_than_the_tail():
    m = make()
    run(m, 5990, -9000, v_mv=13300)             # 599 s at 9 A (tail 8 A) above 13.2 V
    assert not _on(m, 14)
    run(m, 20, -9000, v_mv=13300)
    assert _on(m, 14)
    (c, text), = [x for x in m.warning_list() if x[0] == "W14"]
    assert "13.2 V" in text and "-9.00 A" in text and "13.30 V" in text and "14.0 V" in text
    # a new charged voltage clears it
    m.settings.set("charged_voltage", "14.0")
    assert not _on(m, 14)


def test_w14_not_for_a_discharge_below_the_tail_or_a_break_in_the_10_min():
    m = make()
    run(m, 7000, -7900, v_mv=13300)             # below the 8 A tail: a light load
    assert not _on(m, 14)
    run(m, 5000, -9000, v_mv=13300)
    run(m, 1, -9000, v_mv=13100)                # below Vch once: the 10 min start again
    run(m, 5000, -9000, v_mv=13300)
    assert not _on(m, 14)


def _rest_lfp(m, seconds, v_mv=13240, i_ma=-2600):
    run(m, seconds * 10, i_ma, v_mv=v_mv)


def test_w15_an_hour_of_discharge_above_13_v_after_a_sync_with_lead_acid_constants():
    m = make(nominal_voltage="12")
    m.synchronize()
    _rest_lfp(m, 3599)
    assert not _on(m, 15)
    _rest_lfp(m, 2)
    assert _on(m, 15)
    (c, text), = [x for x in m.warning_list() if x[0] == "W15"]
    assert "1.25" in text and "95 %" in text and "1.05" in text and "99 %" in text and "13.0 V" in text
    # LiFePO4 constants clear it
    m.settings.set("peukert_exponent", "1.05")
    assert _on(m, 15)
    m.settings.set("charge_efficiency", "99")
    assert not _on(m, 15)


def test_w15_not_for_lead_acid_voltages_lfp_constants_a_charge_or_before_a_sync():
    m = make(nominal_voltage="12")
    _rest_lfp(m, 4000)                          # no sync yet (start_synchronized is not a sync)
    assert not _on(m, 15)
    m.synchronize()
    _rest_lfp(m, 4000, v_mv=12990)              # a lead-acid bank under load
    assert not _on(m, 15)
    _rest_lfp(m, 4000, i_ma=-60 * 200)          # above C/20: not a rest
    assert not _on(m, 15)
    _rest_lfp(m, 3000)
    _rest_lfp(m, 1, i_ma=500)                   # a charge breaks the hour
    _rest_lfp(m, 3000)
    assert not _on(m, 15)
    _rest_lfp(m, 1, i_ma=500)
    _rest_lfp(m, 3650, i_ma=-900)               # 0.9 Ah in the hour: below 0.5 % of capacity
    assert not _on(m, 15)
    m2 = make(nominal_voltage="12", peukert_exponent="1.05", charge_efficiency="99")
    m2.synchronize()
    _rest_lfp(m2, 4000)
    assert not _on(m2, 15)


def test_w15_at_once_when_battery_type_is_lfp_with_lead_acid_constants():
    m = make()
    assert not _on(m, 15)
    m.settings.set("battery_type", "lfp")
    assert _on(m, 15)
    assert "battery_type is lfp" in [x for x in m.warning_list() if x[0] == "W15"][0][1]


def test_recommended_values_per_chemistry_and_nominal_voltage():
    assert recommended(1, 12) == [("charged_voltage", 140), ("tail_current", 40), ("peukert_exponent", 105),
                                  ("charge_efficiency", 99), ("sync_mode", SYNC_ACCEPTED)]
    assert recommended(1, 24)[0] == ("charged_voltage", 280)
    assert recommended(0, 48)[:3] == [("charged_voltage", 528), ("tail_current", 40), ("peukert_exponent", 125)]


def test_apply_battery_type_shows_every_change_first_then_sets_and_saves_them():
    dev = Device()
    c = Console(dev, new_auth())
    assert code(c.handle_line("apply_battery_type lfp")) == "AUTH"
    login(c)
    before = snapshot(dev)
    r = c.handle_line("apply_battery_type lfp")
    assert code(r) == "OK" and snapshot(dev) == before and "persist" not in dev.calls
    assert "battery_type: lead_acid -> lfp" in r and "charged_voltage: 13.2 V -> 14.0 V" in r
    assert "peukert_exponent: 1.25 -> 1.05" in r and "charge_efficiency: 95 % -> 99 %" in r
    assert "none made" in final(r)
    r = c.handle_line("apply_battery_type lfp yes")
    assert final(r) == "OK lfp for 12 V: 4 changes made and saved", r
    assert dev.calls.count("persist") == 1
    s = dev.settings
    assert (s["battery_type"], s["charged_voltage"], s["peukert_exponent"], s["charge_efficiency"]) == (1, 140, 105, 99)
    assert final(c.handle_line("apply_battery_type")) == "OK lfp for 12 V: every value already set"
    r = c.handle_line("help peukert_exponent")
    assert "recommended=1.05 for lfp at 12 V" in r


def test_apply_battery_type_failed_save_changes_nothing_and_bad_words_are_refused():
    dev = Device()
    c = Console(dev, new_auth())
    login(c)
    before = snapshot(dev)
    dev.fail_persist = True
    assert code(c.handle_line("apply_battery_type lfp yes")) == "STORAGE"
    assert snapshot(dev) == before
    dev.fail_persist = False
    assert code(c.handle_line("apply_battery_type agm yes")) == "VALUE"
    assert code(c.handle_line("apply_battery_type lfp now")) == "ARGS"
    assert snapshot(dev) == before


def test_a_settings_file_without_battery_type_loads_clean_and_keeps_its_sync_mode():
    old = Settings()
    old.set("sync_mode", "victron")
    d = old.to_dict()
    del d["values"]["battery_type"]             # written before issue 17
    s = Settings()
    assert s.load_stored(d) == []
    assert s.format("sync_mode") == "victron" and s.format("battery_type") == "lead_acid"
    del d["values"]["sync_mode"]
    assert Settings().load_stored(d) == ["sync_mode: missing: default accepted used"]


def test_help_sync_mode_and_sync_status_explain_the_three_modes_and_what_each_gets_wrong():
    dev = Device()
    c = Console(dev, new_auth())
    r = c.handle_line("help sync_mode")
    assert final(r) == "OK sync_mode" and "default=accepted" in r and "range=victron|strict|accepted" in r
    about = [ln for ln in r.split("\n") if ln.startswith("about=")][0]
    assert "count agrees" in about and "W18" in about and "LiFePO4" in about and "late" in about
    notes = set()
    for mode in ("victron", "strict", "accepted"):
        dev.settings.set("sync_mode", mode)
        ss = dev.monitor.sync_status()
        assert ss["mode"] == mode
        notes.add(ss["mode_note"])
    assert len(notes) == 3
