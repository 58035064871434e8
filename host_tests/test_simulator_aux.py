"""Simulator scenarios of the aux input (issue 18) against the real firmware: a weakening battery in a 24 V bank
caught by the mid-point alarm days before the bank's low-voltage alarm, a cold night raising the
low-temperature alarm, a starter battery with its cranking dip. Alarm bits are vedirect.md §3.6's."""
from __future__ import annotations

import functools

from sim import report, scenario
from sim.runner import FW_COLUMNS, Runner

J = {c: n for n, c in enumerate(FW_COLUMNS)}
AR_LOW_V, AR_LOW_T, AR_MID = 1, 32, 128


@functools.lru_cache(maxsize=None)
def run(name: str, days: float | None = None):
    return Runner(scenario.load(name, {"days": days} if days else None), "cpython").run()


def first(res, bit):
    return next((n for n, r in enumerate(res.fw) if r is not None and r[J["alarm_bits"]] & bit), None)


def test_midpoint_alarm_catches_the_weak_battery_days_before_the_bank_voltage_alarm(tmp_path):
    res = run("midpoint_24v")
    mid, low = first(res, AR_MID), first(res, AR_LOW_V)
    assert mid is not None and low is not None
    assert low - mid >= 86400, (mid / 86400, low / 86400)      # at least a day of warning
    # the firmware's deviation is Victron's: 100·(top − bottom)/V, from its own V and the measured mid-point
    n, r = next((n, r) for n, r in enumerate(res.fw) if r is not None and r[J["aux_dev"]] is not None
                and n > mid)
    vm = r[J["aux_value"]]
    assert abs(r[J["aux_dev"]] - round(1000 * (r[J["v_mv"]] - 2 * vm) / r[J["v_mv"]])) <= 1
    text = report.summary(res, {})
    assert "mid-point first" in text and "days" in text and "before the bank low-voltage alarm" in text
    from sim import plot
    png = plot.render(res, tmp_path / "mid.png")
    assert png.stat().st_size > 50000


def test_cold_night_raises_the_low_temperature_alarm_and_clears_it():
    res = run("cold_night")
    t = first(res, AR_LOW_T)
    assert t is not None
    true_c = res.true_aux[t] / 100.0
    assert true_c < 0.5                                         # set below 0 °C (whole-degree T, 1/16 °C sensor)
    on = [r[J["alarm_bits"]] & AR_LOW_T for r in res.fw if r is not None]
    assert on[-1] == 0                                          # back above 3 °C at the end: cleared
    temps = [r[J["aux_value"]] for r in res.fw if r is not None and r[J["aux_value"]] is not None]
    assert min(temps) <= -790 and max(temps) >= 1190            # the DS18B20 followed −8 .. 12 °C


def test_starter_battery_crank_is_too_short_for_the_alarm():
    res = run("starter_battery", 0.2)                           # 06:00 .. 10:48, the 08:00 engine start
    vals = [r[J["aux_value"]] for r in res.fw if r is not None]
    assert min(vals) < 11000 and max(vals) >= 14150             # the cranking dip and the alternator
    assert first(res, 8) is None and first(res, 16) is None     # 3 s below 12.0 V is not "more than 10 s"
