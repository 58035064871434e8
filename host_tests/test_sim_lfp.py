"""Issue 17 on the simulator: a LiFePO4 bank modelled by PyBaMM (SPMe, Prada2013 LFP cells scaled to the bank)
drives the real firmware. The physics is replayed from the traces committed in tools/scenarios/traces/ (made by
tools/gen_traces.py, about 25 min per 4-day scenario on the 2-core machine), so these tests solve nothing; one
smoke test runs PyBaMM itself for a few model steps.

Judged against the model's true SOC (tools/sim/quality.py): a false sync is an automatic sync while the true SOC
is below 95 %; "truly full" is the true SOC reaching 99.5 %."""
from __future__ import annotations

import functools

from sim import quality, scenario, traces
from sim.runner import FW_COLUMNS, Runner

J = {c: n for n, c in enumerate(FW_COLUMNS)}
W04, W11, W14, W15, W18 = 1 << 3, 1 << 10, 1 << 13, 1 << 14, 1 << 17
DETECT_S = 180                     # charged_detection_time, factory value 3 min


@functools.lru_cache(maxsize=None)
def run(name: str, days: float | None = None, **settings):
    over = {"settings": dict(settings)} if settings else {}
    if days is not None:
        over["days"] = days
    return Runner(scenario.load(name, over)).run()


def first_set(res, bit):
    return next((n for n, r in enumerate(res.fw) if r is not None and r[J["warnings"]] & bit), None)


def first_cleared_after(res, bit, t0):
    return next((n for n in range(t0, len(res.fw)) if res.fw[n] is not None and not res.fw[n][J["warnings"]] & bit),
                None)


def absorption_days(res, v_abs):
    """The days (0, 1, ...) on which the charger held the battery at its absorption voltage."""
    return sorted({t // 86400 for t, v in enumerate(res.true_v) if v >= v_abs - 0.005})


def test_committed_traces_are_the_scenarios_physics():
    # A trace replays only while its key (a hash of the scenario's physics and the PyBaMM version) matches, so
    # a changed scenario cannot silently replay an old trace; and every PyBaMM scenario has one committed.
    for name in ("lfp_factory_values", "lfp_careful"):
        sc = scenario.load(name)
        head, tr = traces.read(traces.COMMITTED / (name + ".csv.gz"))
        assert head["key"] == traces.key_of(sc), "%s: stale trace, run tools/gen_traces.py %s" % (name, name)
        assert len(tr) >= sc.duration_s and "gen_traces.py" in head["made"]
        assert traces.find(sc, int(sc.duration_s) + 1) is not None
    changed = scenario.load("lfp_careful", {"battery": {"initial_soc": 64}})
    assert traces.key_of(changed) != traces.key_of(scenario.load("lfp_careful"))


def test_pybamm_smoke_a_few_steps_count_charge_exactly():
    # The model itself, briefly: 200 Ah bank, 60 s at 20 A charge then 60 s at 30 A discharge, in 10 s steps.
    from sim.battery import BatteryParams
    from sim.pybamm_battery import PybammBattery
    b = PybammBattery(BatteryParams(chemistry="lifepo4", capacity_ah=200, initial_soc=50, model="pybamm"))
    assert b.series == 4 and 86 < b.parallel < 88             # 2.3 Ah Prada2013 cells, 4s87p
    v0 = b.v
    for i in (20.0,) * 6 + (-30.0,) * 6:
        b.commit(i, 10.0)
        assert len(b.seconds) == 10
    want = 0.50 + (20.0 * 60 - 30.0 * 60) / 3600.0 / 200.0
    assert abs(b.soc - want) < 1e-6                           # true SOC is the model's discharge capacity
    assert 12.8 < v0 < 13.4 and b.v < v0                      # mid-plateau, lower under load


def test_victron_mode_on_lfp_factory_values_syncs_falsely_through_the_evening():
    # Documents the behaviour the new default fixes: 13.2 V sits in the loaded LFP plateau and any discharge
    # passes the tail test, so victron re-syncs every detection time after the evening load.
    res = run("lfp_factory_values", days=1.5, sync_mode="victron")
    q = quality.analyse(res)
    assert len(q.false_syncs) >= 10, len(q.false_syncs)
    assert q.lowest_false() < 90.0
    evening = [t for t, _ in q.false_syncs if 18 * 3600 <= t < 36 * 3600]
    assert evening and all(res.battery_a[t] < 0 for t in evening)      # every one while discharging
    assert first_set(res, W11) is not None                              # W11 (early sync) says so too


def test_accepted_mode_on_lfp_factory_values_in_time_every_full_day_and_no_false_sync_under_load():
    res = run("lfp_factory_values")
    sc = res.scenario
    assert res.final_sync_status["mode"] == "accepted"                  # the factory default
    q = quality.analyse(res)
    days = absorption_days(res, sc.chargers[0].absorption_v)
    assert days == [0, 1, 3]                                            # day 2 is the partly sunny day
    for d in days:
        fulls = [(tf, ts, m) for tf, ts, m in q.fulls if tf // 86400 == d]
        assert fulls, "day %d reached absorption but not truly full" % d
        for tf, ts, m in fulls:
            assert m is not None and 0 <= m <= 15, (d, m)
    # None at all: not under the evening and night loads that make victron re-sync (the previous test), and not on
    # the partly sunny day either, where a small charge current holds the bank above 13.2 V at 77-83 % with the
    # current under the tail and charge accepted: there the count (46 Ah still missing since the last sync) withholds
    # the sync and W18 says why.
    assert q.false_syncs == [], q.false_syncs
    w18 = first_set(res, W18)
    assert w18 is not None and w18 // 86400 == 2, w18
    # ... until the sync of day 3 (the next truly full battery) clears it
    day3_sync = next(t for t, k in res.syncs if k == "auto" and t > w18)
    assert day3_sync // 86400 == 3 and first_cleared_after(res, W18, w18) == day3_sync, (day3_sync, w18)
    v = quality.analyse(run("lfp_factory_values", days=1.5, sync_mode="victron"))
    assert len(v.false_syncs) >= 100


def test_w14_on_the_first_evening_and_w15_on_lfp_factory_values():
    res = run("lfp_factory_values")
    t14 = first_set(res, W14)
    assert t14 is not None and 18 * 3600 <= t14 < 24 * 3600, t14       # the first evening's 30 A load
    text = res.final_warnings.get("W14", "")
    assert "13.2 V" in text and "battery_type lfp" in text
    t15 = first_set(res, W15)
    assert t15 is not None and t15 < 86400, t15
    assert "1.25" in res.final_warnings.get("W15", "") and "99 %" in res.final_warnings["W15"]


def test_lfp_careful_syncs_minutes_after_full_and_never_falsely_without_w14_w15():
    res = run("lfp_careful")
    q = quality.analyse(res)
    assert q.false_syncs == []
    days = absorption_days(res, res.scenario.chargers[0].absorption_v)
    assert days == [0, 1, 3]
    assert len(q.fulls) == 3 and all(m is not None and 0 <= m <= 15 for m in q.delays_min), q.fulls
    assert first_set(res, W14) is None and first_set(res, W15) is None
    # the count follows the truth: LFP constants keep SOC within 2 % of the model's through the evening loads
    worst = max(abs(r[J["soc_cpct"]] / 100.0 - res.true_soc[n]) for n, r in enumerate(res.fw) if r is not None)
    assert worst < 2.0, worst


def _episodes(res):
    """The first automatic sync of each run of syncs (re-syncs less than 10 min apart belong to one)."""
    out = []
    for t, k in res.syncs:
        if k == "auto" and (not out or t - out[-1][1] > 600):
            out.append([t, t])
        elif k == "auto":
            out[-1][1] = t
    return [a for a, _ in out]


def test_accepted_syncs_on_lead_acid_when_victron_does_within_one_detection_time():
    # Every time victron starts syncing (the first of a run of re-syncs) accepted syncs within one detection
    # time, and every accepted sync (also its re-syncs while the charger holds float and the float current adds
    # up to 0.1 % of capacity) is within one detection time of a victron sync (victron re-syncs every 3 min there).
    rv = run("healthy_3day", days=2.0, sync_mode="victron")
    ra = run("healthy_3day", days=2.0)
    v = [t for t, k in rv.syncs if k == "auto"]
    a = [t for t, k in ra.syncs if k == "auto"]
    starts = _episodes(rv)
    assert len(starts) >= 2 and a, (starts, a)
    assert all(min(abs(x - y) for y in a) <= DETECT_S for x in starts), (starts, a)
    assert all(min(abs(x - y) for y in v) <= DETECT_S for x in a), (v, a)
    assert len(a) < len(v) / 10                                  # without victron's re-sync every 3 min


def test_accepted_on_cold_lead_acid_syncs_with_victron_where_it_is_right_and_never_earlier():
    # cold_night: a 10 C lead-acid bank whose charger is weak after the cold night; victron syncs at 13.2 V and
    # 5 A (under the tail) while the battery is truly at 94 %. Where victron's sync is right (true SOC >= 95 %)
    # accepted has synced in the same charge by one detection time after it (once: it does not re-sync without
    # new charge); where it is false, the counts (5 % + 1 %/day allowed) withhold it until they are within the
    # allowance (W18 says so meanwhile): later, never earlier.
    rv = run("cold_night", days=2.0, sync_mode="victron")
    ra = run("cold_night", days=2.0)
    a = [t for t, k in ra.syncs if k == "auto"]
    right = [t for t in _episodes(rv) if rv.true_soc[t] >= quality.FALSE_SOC_PCT]
    wrong = [t for t in _episodes(rv) if rv.true_soc[t] < quality.FALSE_SOC_PCT]
    assert right and wrong, (right, wrong)
    assert all(any(x - 6 * 3600 <= y <= x + DETECT_S for y in a) for x in right), (right, a)
    for x in wrong:
        later = [y for y in a if y >= x - DETECT_S and y - x < 6 * 3600]
        assert later and later[0] > x + DETECT_S, (x, a)            # withheld beyond one detection time ...
        assert any(r is not None and r[J["warnings"]] & W18 for r in ra.fw[x:later[0]]), x   # ... and said why
    v = [t for t, k in rv.syncs if k == "auto"]
    assert all(any(y - DETECT_S <= x for y in v) for x in a)       # never before victron's first sync
