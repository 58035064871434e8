# Scenario tests of the counting core against the spec's own numbers (battery-monitor.md §3-§6, §9, §16).
from check import raises
from shunt.settings import Settings
from shunt.monitor import Monitor, CU_PER_MAH

U = CU_PER_MAH


def make(**kw):
    """Set-up G of §16 unless overridden: 200 Ah, n 1.25, CEF 95, threshold 0.10 A, floor 50 %, synchronised."""
    s = Settings()
    for k, v in kw.items():
        s.set(k, v)
    m = Monitor(s)
    m.sample(13000, 0, 0)        # the first sample after start has dt = 0 (§2)
    return m


def run(m, n, i_ma, v_mv=12800, dt=100):
    for _ in range(n):
        for _ in range(m.sample(v_mv, i_ma, dt)):
            m.second()


def qp(m):
    return (m.q[2] * U + m.q[3]) * 65536 + m.q[4]


def ce(m):
    return m.q[0] * U + m.q[1]


def test_golden_16_3_case1_one_hour_at_20a():
    m = make()
    run(m, 36000, -20000)
    assert ce(m) == -7200000000000
    assert m.ce_mah == -20000
    assert qp(m) == 561132000000000000
    assert m.soc_permille == 881 and m.soc_cpct == 8810
    assert m.ttg_at(-20000) == 192
    assert m.ttg_min == 192     # the 3-minute average is -20 000 mA


def test_golden_16_3_case2_then_charge_at_10a():
    m = make()
    run(m, 36000, -20000)
    run(m, 36000, 10000)
    assert ce(m) == -3780000000000
    assert m.ce_mah == -10500
    assert m.soc_permille == 928 and m.soc_cpct == 9285
    assert m.ttg_at(-2000) == 3845
    assert m.ttg_at(-20000) == 216
    assert m.ttg_min == -1      # charging: not discharging


def test_golden_16_3_case3_small_load():
    m = make()
    run(m, 36000, -2000)
    assert m.ce_mah == -2000
    assert m.soc_permille == 993 and m.soc_cpct == 9933
    assert m.ttg_at(-2000) == 4426


def test_golden_16_3_case4_above_c20():
    m = make(peukert_mode="above_c20")
    run(m, 36000, -2000)
    assert m.ce_mah == -2000
    assert m.soc_permille == 990 and m.soc_cpct == 9900
    assert m.ttg_at(-2000) == 2940


def test_golden_16_3_case5_no_peukert():
    m = make(peukert_exponent="1.00")
    run(m, 36000, -20000)
    assert m.ce_mah == -20000
    assert m.soc_permille == 900 and m.soc_cpct == 9000
    assert qp(m) == 20000 * U * 65536


def test_golden_16_3_case6_below_threshold():
    m = make()
    run(m, 36000, -50)
    assert ce(m) == 0 and qp(m) == 0
    assert m.soc_permille == 1000 and m.i_ma == -50 and m.ttg_min == -1


def test_threshold_is_strict_and_zero_disables_it():
    m = make()
    run(m, 10, -100)            # |I| = thr is not below it: counted
    assert ce(m) == -100 * 100 * 100 * 10
    m = make(current_threshold="0.00")
    run(m, 10, -1)
    assert ce(m) == -1 * 100 * 100 * 10


def test_charge_efficiency_applies_to_charge_only_in_both_integrators():
    m = make(peukert_exponent="1.00")
    run(m, 100, -5000)
    before_ce, before_qp = ce(m), qp(m)
    run(m, 50, 5000)
    assert ce(m) - before_ce == 5000 * 100 * 95 * 50
    assert before_qp - qp(m) == 5000 * 100 * 95 * 50 * 65536


def test_ce_clamps_at_zero_and_soc_at_full_when_charging_past_full():
    m = make()
    run(m, 100, 20000)
    assert ce(m) == 0 and qp(m) == 0 and m.soc_permille == 1000


def test_soc_clamps_at_zero_but_ce_keeps_counting():
    m = make(capacity="1", peukert_exponent="1.00")
    run(m, 36000, -2000)        # 2 Ah from a 1 Ah battery
    assert m.soc_cpct == 0 and m.soc_zero()
    assert m.ce_mah == -2000


def test_sync_after_detection_time_from_start_up():
    # §4.2: condition held from sample 1 -> sync on sample 1 800 (1 801 counted from start-up)
    m = make(start_synchronized="off", sync_mode="victron")
    assert not m.synchronized
    run(m, 1799, 0, v_mv=13300)
    assert not m.synchronized and m.sync_timer_ms == 179900
    run(m, 1, 0, v_mv=13300)
    assert m.synchronized and m.last_sync_kind == 1


def test_sync_timer_restarts_when_voltage_drops():
    m = make(start_synchronized="off", sync_mode="victron")
    run(m, 1798, 0, v_mv=13300)
    run(m, 1, 0, v_mv=13100)    # a break at sample 1 799
    assert m.sync_timer_ms == 0
    assert m.sync_status()["near_miss_term"] == "voltage"
    run(m, 1799, 0, v_mv=13300)
    assert not m.synchronized
    run(m, 1, 0, v_mv=13300)
    assert m.synchronized


def test_victron_mode_counts_discharge_current_strict_does_not():
    m = make(start_synchronized="off", sync_mode="victron")
    run(m, 10, -500, v_mv=13250)
    assert m.sync_timer_ms == 1000
    m = make(start_synchronized="off", sync_mode="strict")
    run(m, 10, -500, v_mv=13250)
    assert m.sync_timer_ms == 0


def test_strict_mode_needs_accepted_charge():
    m = make(sync_mode="strict")
    run(m, 2000, 1000, v_mv=13300)      # SOC is 100 %: no charge is accepted, never syncs
    assert m.last_sync_kind == 0
    run(m, 3600, -20000, v_mv=12500)
    # 200 mAh (0.1 % of 200 Ah) must be accepted: at 7 000 mA·0.95 = 6 650 mA that is 108.27 s
    run(m, 1082, 7000, v_mv=13100)      # 199.87 mAh
    assert m.sync_status()["accepted_ok"] == 0
    run(m, 1, 7000, v_mv=13100)         # 200.06 mAh
    assert m.sync_status()["accepted_ok"] == 1


def test_sync_sets_both_integrators_exactly_to_zero():
    m = make()
    run(m, 1000, -20000)
    run(m, 10, 1000)
    m.synchronize()
    assert ce(m) == 0 and qp(m) == 0 and m.soc_cpct == 10000 and m.last_sync_kind == 2


def test_set_soc_is_exact_and_rejects_bad_values():
    m = make()
    m.set_soc(7525)
    assert qp(m) == 200 * 1000 * U * 65536 * 2475 // 10000
    assert ce(m) == -200 * 1000 * U * 2475 // 10000
    assert m.soc_cpct == 7525 and m.synchronized
    raises(ValueError, m.set_soc, 10001)
    raises(ValueError, m.set_soc, -1)
    raises(ValueError, m.set_soc, "50")
    assert m.soc_cpct == 7525


def test_start_up_unsynchronised_integrates_hidden():
    m = make(start_synchronized="off")
    run(m, 100, -20000)
    assert not m.synchronized and m.ce_mah < 0
    assert m.hist[1] == 0       # H1 is not updated while not synchronised (§4.6)
    assert m.hist[6] < 0        # H6 is


def test_capacity_change_rescales_soc_and_clamps():
    m = make(peukert_exponent="1.00")
    run(m, 36000, -20000)       # 20 Ah out of 200
    m.settings.set("capacity", "400")
    assert m.soc_cpct == 9500 and m.ce_mah == -20000
    m.settings.set("capacity", "10")
    assert m.soc_cpct == 0 and m.soc_zero()


def test_peukert_change_does_not_jump_soc():
    m = make()
    run(m, 3600, -20000)
    before = m.soc_cpct
    m.settings.set("peukert_exponent", "1.50")
    assert m.soc_cpct == before


def test_ttg_floor_and_charging():
    m = make(ttg_averaging="0")
    run(m, 100, 5000)
    assert m.ttg_min == -1
    m.set_soc(5000)             # exactly at the 50 % floor
    run(m, 20, -5000)
    assert m.ttg_min == 0
    m.settings.set("discharge_floor", "0.0")
    run(m, 10, -5000)
    assert m.ttg_min > 0


def test_ttg_averaging_window():
    m = make(ttg_averaging="1")
    run(m, 600, -10000)         # one minute at 10 A, samples ending at 0.1 ... 60.0 s
    run(m, 300, -20000)         # then 30 s at 20 A, ending at 60.1 ... 90.0 s
    # complete slots are seconds 0..89; the last 60 (30..89) hold 301 samples at 10 A and 299 at 20 A
    assert m.avg_current_ma() == -((301 * 10000 + 299 * 20000) // 600)   # tdiv: toward zero
    m.settings.set("ttg_averaging", "0")
    assert m.avg_current_ma() == -20000


def test_history_h1_h2_h4_h10():
    m = make(peukert_exponent="1.00")
    run(m, 36000 * 4, -20000, v_mv=12500)   # 80 Ah: SOC 60 %, H4 armed
    assert m.hist[1] == -80000 and m.hist[2] == -80000
    run(m, 36000 * 4, 20000, v_mv=13100)    # charge back
    assert m.hist[4] == 1 and m.hist[3] == -80000
    # automatic sync: counted in H10 since SOC was below 90 %
    run(m, 1800, 100, v_mv=13300)
    assert m.last_sync_kind == 1 and m.hist[10] == 1 and m.hist[2] == 0


def test_history_h5_full_discharge_and_rearm():
    m = make(capacity="1", peukert_exponent="1.00")
    run(m, 18000, -2000)
    assert m.hist[5] == 1
    run(m, 100, -2000)
    assert m.hist[5] == 1       # disarmed until SOC > 10 %


def test_h7_h8_h9_energy_and_clear_history():
    m = make()
    run(m, 10, -10000, v_mv=12000)
    run(m, 10, -10000, v_mv=13000)
    assert m.hist[7] == 12000 and m.hist[8] == 13000
    run(m, 36000, -10000, v_mv=10000)    # 10 A at 10 V for an hour = 100 Wh = 10 in 0.01 kWh
    assert m.hist[17] == 10 and m.hist[9] >= 3600
    m.clear_history()
    assert m.hist[17] == 0 and m.hist[9] == 0 and m.hist[7] == 0 and m.soc_cpct < 10000


def test_power_rounds_half_away_from_zero():
    m = make()
    m.sample(13200, -20000, 100)
    assert m.power_w() == -264
    m.sample(53509, 23866, 100)
    assert m.power_w() == 1277
    m.sample(26457, -6032, 100)
    assert m.power_w() == -160


def test_outage_integrates_five_seconds_and_resets_the_sync_timer():
    m = make(peukert_exponent="1.00", start_synchronized="off", sync_mode="victron")
    run(m, 100, 0, v_mv=13300)
    assert m.sync_timer_ms == 10000
    before = ce(m)
    m.sample(13300, -1000, 60000)
    assert ce(m) - before == -1000 * 100 * 5000
    assert m.sync_timer_ms == 0 and m.unmeasured_s == 55


def test_state_round_trip_keeps_every_field():
    m = make()
    run(m, 5000, -12345)
    d = m.get_state()
    m2 = Monitor(Settings())
    m2.set_state(d)
    assert m2.get_state() == d and m2.restored and m2.soc_cpct == m.soc_cpct


def test_remote_relay_command_is_reported_at_once():
    m = make(relay_mode="remote")
    assert m.relay_active == 0
    m.relay_remote(True)
    assert m.relay_active == 1
    m2 = make()
    raises(ValueError, m2.relay_remote, True)
    assert m2.relay_active == 0


def test_zero_current_at_the_charged_voltage_syncs_in_victron_mode_only():
    # §4.1: I_int < I_tail holds for zero current in victron mode; strict needs charge accepted
    m = make(start_synchronized="off", sync_mode="victron")
    run(m, 1800, 0, v_mv=13300)
    assert m.synchronized and m.last_sync_kind == 1
    m = make(start_synchronized="off", sync_mode="strict")
    run(m, 1800, 0, v_mv=13300)
    assert not m.synchronized


def test_alarm_counters_h11_h12_and_charged_energy_h18():
    m = make(alarm_low_voltage_set="11.5", alarm_low_voltage_clear="12.0", alarm_high_voltage_set="14.8")
    run(m, 100, -1000, v_mv=11400)           # 10.0 s below 11.5 V: not yet (more than 10 000 ms needed)
    assert m.alarm_bits == 0
    run(m, 1, -1000, v_mv=11400)
    assert m.alarm_bits == 1
    run(m, 10, -1000, v_mv=11400)            # H11 is a history value: reported by the next second's step
    assert m.hist[11] == 1
    run(m, 1, -1000, v_mv=12100)             # past the clear value: off at once
    assert m.alarm_bits == 0
    run(m, 111, 1000, v_mv=14900)
    assert m.alarm_bits == 2 and m.hist[12] == 1
    run(m, 36000, 10000, v_mv=10000)         # 10 A at 10 V for an hour: 100 Wh = 10 × 0.01 kWh
    assert m.hist[18] == 10


def test_sync_status_before_and_after_the_first_sync():
    m = make(start_synchronized="off")
    d = m.sync_status()
    assert d["last_sync"] == "none" and d["last_sync_soc_cpct"] is None and d["last_sync_current_ma"] is None
    run(m, 100, -20000)
    m.synchronize()
    d = m.sync_status()
    assert d["last_sync"] == "manual" and d["last_sync_current_ma"] == -20000
    assert d["timer_required_s"] == 180 and d["accepted_required_mah"] == 200


def test_sync_terms_hold_strictly_past_their_limits():
    # §4.1: V > Vch (13.20 V is not enough), I_int < I_tail (4 % of 200 Ah = 8 000 mA is not below it); the
    # per-sample timer and sync_status read the same terms (shunt.sync).
    m = make(start_synchronized="off", sync_mode="victron")
    run(m, 1, 0, v_mv=13200)
    assert m.sync_status()["voltage_ok"] == 0 and m.sync_timer_ms == 0
    run(m, 1, 0, v_mv=13201)
    assert m.sync_status()["voltage_ok"] == 1 and m.sync_timer_ms == 100
    run(m, 1, 8000, v_mv=13300)
    assert m.sync_status()["current_ok"] == 0 and m.sync_timer_ms == 0
    run(m, 1, 7999, v_mv=13300)
    assert m.sync_status()["current_ok"] == 1 and m.sync_timer_ms == 100


def test_strict_current_term_refuses_any_discharge():
    # §4.1 strict: I_int ≥ 0 as well; -101 mA is past the 100 mA threshold, so it is a discharge
    m = make(sync_mode="strict")
    run(m, 1, 0, v_mv=13300)
    assert m.sync_status()["current_ok"] == 1
    run(m, 1, -101, v_mv=13300)
    assert m.sync_status()["current_ok"] == 0


def test_outage_starts_above_five_seconds():
    # §0.2: a gap of exactly 5 000 ms is still integrated whole; only dt > 5 000 ms is an outage (W12)
    m = make()
    m.sample(12800, 0, 5000)
    assert m.outage == 0 and not m.warnings & (1 << 11)
    m.sample(12800, 0, 5001)
    assert m.outage == 1 and m.warnings & (1 << 11)
