# Relay (BM §11, §1, §0.2, U16/U17): latches, modes, minimum closed time, off-delay, remote, invert.
from shunt.settings import Settings
from shunt.relay import Relay
from check import raises, micropython_only
from standin_mon import Mon


def _make(**kv):
    s = Settings()
    for k in kv:
        s.set(k, kv[k])
    return s, Relay(s)


def _run(r, mon, n, dt=100):
    for _ in range(n):
        r.step(mon, dt)


def test_starts_open_and_not_energised():
    s, r = _make()
    mon = Mon()
    _run(r, mon, 10)
    assert r.active == 0 and r.energised == 0 and r.latches == 0


def test_default_low_voltage_latch_closes_after_more_than_10_s_and_opens_past_clear():
    s, r = _make(relay_low_voltage_set="11.5", relay_low_voltage_clear="12.0")
    mon = Mon(v_mv=11400)
    r.step(mon, 0)
    _run(r, mon, 100)                     # 10 000 ms: not more than 10 s
    assert r.active == 0
    r.step(mon, 100)
    assert r.active == 1 and r.energised == 1 and r.latches == 2
    mon.v_mv = 12000                      # hysteresis: equal to clear keeps it
    _run(r, mon, 50)
    assert r.active == 1
    mon.v_mv = 12001
    r.step(mon, 100)
    assert r.latches == 0 and r.active == 0     # no delays configured: opens at once


def test_default_high_voltage_latch():
    s, r = _make(relay_high_voltage_set="14.8", relay_high_voltage_clear="14.0")
    mon = Mon(v_mv=14900)
    _run(r, mon, 101)
    assert r.active == 1 and r.latches == 4
    mon.v_mv = 14000
    r.step(mon, 100)
    assert r.active == 1
    mon.v_mv = 13999
    r.step(mon, 100)
    assert r.active == 0


def test_low_soc_latch_is_linked_to_discharge_floor_and_needs_sync():
    s, r = _make(discharge_floor="40.0")  # relay_low_soc linked: 40.0 %, clear 90.0 %
    mon = Mon(soc_cpct=3999, synchronized=0)
    _run(r, mon, 300)
    assert r.active == 0                  # SOC unknown: the latch is inactive (§4.6)
    mon.synchronized = 1
    _run(r, mon, 100)
    assert r.active == 0
    r.step(mon, 100)
    assert r.active == 1 and r.latches == 1
    mon.soc_cpct = 9000                   # equal to clear: not above
    r.step(mon, 100)
    assert r.active == 1
    mon.soc_cpct = 9001
    r.step(mon, 100)
    assert r.active == 0


def test_low_soc_condition_disabled_when_clear_not_above_low():
    s, r = _make(relay_low_soc="50.0", relay_clear_soc="50.0")
    mon = Mon(soc_cpct=1000)
    _run(r, mon, 300)
    assert r.active == 0 and r.latches == 0
    s.set("relay_clear_soc", "50.1")
    r.configure()
    _run(r, mon, 101)
    assert r.active == 1


def test_minimum_closed_time_holds_the_relay():
    s, r = _make(relay_low_voltage_set="11.5", relay_min_closed="1")
    mon = Mon(v_mv=11000)
    _run(r, mon, 101, 100)                # closes at 10.1 s
    assert r.active == 1
    mon.v_mv = 12500
    _run(r, mon, 599, 100)                # 59.9 s since closing: demand gone, still closed
    assert r.latches == 0 and r.active == 1
    assert r.open_in_ms() == 100
    r.step(mon, 100)                      # 60.0 s since closing
    assert r.active == 0
    assert r.open_in_ms() == 0


def test_off_delay_needs_demand_false_continuously():
    s, r = _make(relay_low_voltage_set="11.5", relay_off_delay="2")
    mon = Mon(v_mv=11000)
    _run(r, mon, 101, 100)
    assert r.active == 1
    mon.v_mv = 12500
    _run(r, mon, 100, 1000)               # 100 s without demand
    assert r.active == 1
    assert r.open_in_ms() == 20000
    mon.v_mv = 11000                      # demand again for 11 s: the off-delay restarts
    _run(r, mon, 11, 1000)
    assert r.latches == 2
    mon.v_mv = 12500
    _run(r, mon, 119, 1000)
    assert r.active == 1
    r.step(mon, 1000)                     # 120 s without demand
    assert r.active == 0


def test_outage_restarts_the_off_delay_but_not_the_minimum_closed_time():
    s, r = _make(relay_low_voltage_set="11.5", relay_off_delay="2", relay_min_closed="3")
    mon = Mon(v_mv=11000)
    _run(r, mon, 11, 1000)                # closes at 11 s
    assert r.active == 1
    mon.v_mv = 12500
    _run(r, mon, 100, 1000)               # 100 s closed, 100 s without demand
    mon.outage = 1
    r.step(mon, 60000)                    # 160 s closed; the off-delay count restarts
    mon.outage = 0
    _run(r, mon, 40, 1000)                # 200 s closed (> 180), 40 s without demand
    assert r.active == 1
    _run(r, mon, 79, 1000)
    assert r.active == 1
    r.step(mon, 1000)                     # 120 s without demand since the outage
    assert r.active == 0


def test_charge_mode_ignores_high_voltage_and_ors_the_low_latches():
    s, r = _make(relay_mode="charge", relay_low_soc="50.0", relay_clear_soc="90.0",
                 relay_low_voltage_set="11.8", relay_low_voltage_clear="13.0",
                 relay_high_voltage_set="14.0")
    mon = Mon(v_mv=14500, soc_cpct=9500)
    _run(r, mon, 300)
    assert r.active == 0 and r.latches == 0     # high voltage is not a charge-mode condition
    mon.v_mv = 11700                      # low voltage alone closes
    _run(r, mon, 101)
    assert r.active == 1 and r.latches == 2
    mon.soc_cpct = 4900                   # and low SOC latches too
    _run(r, mon, 101)
    assert r.latches == 3
    mon.v_mv = 13100                      # V > clear, but SOC not > clear: keeps running
    _run(r, mon, 100)
    assert r.active == 1 and r.latches == 1
    mon.soc_cpct = 9001                   # SOC > clear AND V > clear: opens
    r.step(mon, 100)
    assert r.active == 0


def test_forum_case_generator_runs_until_clear_not_only_minimum_time():
    # "relay set to start the generator at a defined SOC runs only for the minimum run time, stops, and restarts
    # minutes later". Charge mode, start at 50 %, stop above 90 %, min run 30 min, off-delay 5 min. While the
    # generator runs SOC rises 0.5 % per minute; when it stops SOC falls 0.1 % per minute.
    s, r = _make(relay_mode="charge", relay_low_soc="50.0", relay_clear_soc="90.0", relay_min_closed="30",
                 relay_off_delay="5")
    mon = Mon(soc_cpct=5010)
    dt = 1000
    t = 0
    closed_at = opened_at = None
    starts = 0
    was = 0
    while t < 4 * 3600 * 1000:
        if t % 60000 == 0:
            mon.soc_cpct += 50 if r.active else -10
        r.step(mon, dt)
        t += dt
        if r.active and not was:
            starts += 1
            closed_at = t
        if was and not r.active:
            opened_at = t
            # The generator must have run past the minimum time AND until SOC passed 90 % plus the off-delay.
            assert mon.soc_cpct > 9000
        if r.active and closed_at is not None and t - closed_at == 31 * 60000:
            assert mon.soc_cpct < 9000    # past the minimum run time, below clear: still running
        was = r.active
    assert starts == 1                    # no restart minutes later
    assert opened_at is not None
    # It ran at least until SOC crossed 90 % (80 min from ~50 %) plus the 5 min off-delay.
    assert opened_at - closed_at >= 85 * 60000


def test_remote_mode_follows_commands_without_delays():
    s, r = _make(relay_min_closed="10", relay_off_delay="10")
    e = raises(ValueError, r.remote, True)
    assert "remote" in str(e)
    assert r.active == 0 and r.remote_on == 0
    s.set("relay_mode", "remote")
    r.configure()
    mon = Mon(v_mv=10000, soc_cpct=0)     # no latch acts in remote mode
    _run(r, mon, 200)
    assert r.active == 0 and r.latches == 0
    assert r.remote(True) is True
    assert r.active == 1 and r.energised == 1
    assert r.remote(True) is False
    r.step(mon, 100)
    assert r.active == 1
    assert r.remote(False) is True
    r.step(mon, 100)
    assert r.active == 0                  # U17: no minimum closed time, no off-delay


def test_remote_command_restored_applies_in_remote_mode():
    s, r = _make(relay_mode="remote")
    r.remote_on = 1                       # restored by the monitor from the state record
    r.step(Mon(), 0)
    assert r.active == 1


def test_invert_energises_the_coil_when_open():
    s, r = _make(relay_invert="on", relay_low_voltage_set="11.5")
    mon = Mon(v_mv=12500)
    r.step(mon, 100)
    assert r.active == 0 and r.energised == 1
    mon.v_mv = 11000
    _run(r, mon, 101)
    assert r.active == 1 and r.energised == 0


def test_step_alloc_free_under_micropython():
    micropython_only()
    import micropython
    s, r = _make(relay_low_voltage_set="11.5", relay_high_voltage_set="14.8", relay_min_closed="1",
                 relay_off_delay="1")
    mon = Mon(v_mv=11000, soc_cpct=1000)
    micropython.heap_lock()
    try:
        for _ in range(200):
            r.step(mon, 100)
        mon.v_mv = 12500
        mon.soc_cpct = 9500
        for _ in range(1500):
            r.step(mon, 100)
        x = r.open_in_ms()
    finally:
        micropython.heap_unlock()
    assert r.active == 0 and x == 0
