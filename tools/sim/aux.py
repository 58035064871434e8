"""The simulator's aux input (issue 18): what the second INA226 or the DS18B20 would see.

- starter: a separate 12 V starter battery resting at its OCV (slow self-discharge), charged by the alternator
  while an engine runs (the scenario's `engine_runs`), with a cranking dip at each start.
- midpoint: the main bank as two series halves (bottom and top), each a `Battery` of half the nominal voltage.
  The bottom half can weaken: its capacity fades linearly from `weak_from_day` (a sulphated or failing battery),
  so it empties earlier every night; the mid-point is the bottom half's voltage.
- temperature: a daily swing between `min_c` (at 05:00) and `max_c` (at 15:00), with optional cold spells
  (`cold` = [{at, hours, min_c}]) pulling it down smoothly.
Floats are fine here: this is the physical world the firmware measures.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

from .battery import Battery, BatteryParams, solve_current

MODES = ("starter", "midpoint", "temperature")


@dataclass
class AuxParams:
    mode: str = "midpoint"
    # starter
    starter_ocv_v: float = 12.65
    starter_self_discharge_v_per_day: float = 0.01
    engine_runs: list = field(default_factory=list)     # [(start_s, end_s)]
    alternator_v: float = 14.2
    # midpoint
    weak_capacity_fade_pct_per_day: float = 0.0
    weak_from_day: float = 0.0
    weak_min_capacity_pct: float = 10.0
    weak_resistance_growth_mohm_per_day: float = 0.0
    # temperature
    min_c: float = 15.0
    max_c: float = 25.0
    cold: list = field(default_factory=list)             # [(start_s, end_s, min_c)]


class _Half(Battery):
    """One half of a series bank. The single-battery model tapers the absorption current with a charge
    polarisation that grows without bound as its SOC -> 100 %; taken per half, a 1 % SOC difference at float
    would look like a 1 V split. The charge polarisation therefore follows the bank's mean SOC (the taper of the
    bank), while the OCV and the discharge polarisation (the sag of a nearly empty battery) stay each half's."""
    pol_soc = None

    def _target(self, i: float):
        if i >= 0.0 and self.pol_soc is not None:
            own = self.soc
            self.soc = self.pol_soc
            try:
                return Battery._target(self, i)
            finally:
                self.soc = own
        return Battery._target(self, i)


class SeriesBank:
    """Two series halves with the interface the runner uses of `Battery` (v, soc, terminal, commit,
    current_for_voltage, gassing_a). The same current flows through both; the bank voltage is their sum."""

    def __init__(self, p: BatteryParams, aux: AuxParams, start_tod_s: float):
        half = copy.copy(p)
        half.nominal_voltage = p.nominal_voltage // 2
        # Battery() wants 12/24/.. blocks: a 6 V half of a 12 V bank is modelled as 12 V scaled by 0.5 below.
        self.bottom = _Half(half)
        self.top = _Half(copy.copy(half))
        self.aux = aux
        self.cap0 = self.bottom.capacity_as
        self.r0 = self.bottom.r
        self.soc = self.bottom.soc
        self.v = self.bottom.v + self.top.v
        self.p = p

    def fade(self, t_s: float) -> None:
        a = self.aux
        days = t_s / 86400.0 - a.weak_from_day
        if days <= 0.0:
            return
        f = max(a.weak_min_capacity_pct / 100.0, 1.0 - a.weak_capacity_fade_pct_per_day / 100.0 * days)
        self.bottom.capacity_as = self.cap0 * f
        # sulphation also raises the internal resistance: the weak battery sags more under every load
        self.bottom.r = self.r0 + a.weak_resistance_growth_mohm_per_day / 1000.0 * days

    def _share(self) -> None:
        m = 0.5 * (self.bottom.soc + self.top.soc)
        self.bottom.pol_soc = self.top.pol_soc = m

    def terminal(self, i: float, dt: float):
        self._share()
        vb, _, db = self.bottom.terminal(i, dt)
        vt, _, dt_ = self.top.terminal(i, dt)
        return vb + vt, None, db + dt_

    def current_for_voltage(self, v_set: float, dt: float, lo: float, hi: float, guess: float) -> float:
        return solve_current(self.terminal, v_set, dt, lo, hi, guess, 60, 1e-5, 1e-6)

    def gassing_a(self, v: float) -> float:
        return self.bottom.gassing_a(v / 2.0)

    def commit(self, i: float, dt: float) -> float:
        self._share()
        v = self.bottom.commit(i, dt) + self.top.commit(i, dt)
        self.v = v
        self.soc = min(self.bottom.soc, self.top.soc)    # the bank is as empty as its emptiest battery
        return v

    def mid_v(self) -> float:
        return self.bottom.v


class AuxWorld:
    """The true aux value each second: mV at the aux input (starter, midpoint) or 0.01 °C (temperature)."""

    def __init__(self, aux: AuxParams, start_tod_s: float, bank: SeriesBank | None):
        self.p = aux
        self.t0 = start_tod_s
        self.bank = bank
        self.starter_v = aux.starter_ocv_v

    def engine_on(self, t: float) -> bool:
        return any(a <= t < b for a, b in self.p.engine_runs)

    def value(self, t: float) -> int:
        p = self.p
        if p.mode == "midpoint":
            return round(self.bank.mid_v() * 1000)
        if p.mode == "starter":
            self.starter_v -= p.starter_self_discharge_v_per_day / 86400.0
            if self.engine_on(t):
                if any(a <= t < a + 3 for a, _ in p.engine_runs):
                    return round((self.starter_v - 2.4) * 1000)     # cranking dip
                self.starter_v = min(12.75, self.starter_v + 0.3 / 3600.0)
                return round(p.alternator_v * 1000)
            return round(self.starter_v * 1000)
        return round(self.temperature_c(t) * 100)

    def temperature_c(self, t: float) -> float:
        p = self.p
        tod = (t + self.t0) % 86400.0
        # half-cosines: up from the minimum at 05:00 to the maximum at 15:00 (10 h), down again in 14 h
        if 5 * 3600.0 <= tod <= 15 * 3600.0:
            x = 0.5 - 0.5 * math.cos(math.pi * (tod - 5 * 3600.0) / 36000.0)
        else:
            since = (tod - 15 * 3600.0) % 86400.0          # 15:00 -> 05:00 next day: 14 h down
            x = 0.5 + 0.5 * math.cos(math.pi * since / 50400.0)
        c = p.min_c + (p.max_c - p.min_c) * x
        for a, b, cmin in p.cold:
            if a <= t <= b:
                w = math.sin(math.pi * (t - a) / (b - a))      # smooth in and out of the cold spell
                c = c + (min(c, cmin) - c) * w
        return c


def parse(d: dict, where: str, start_tod_s: float, parse_time, parse_tod, error) -> AuxParams:
    """The scenario's [aux] table (validated; `error` is the scenario's exception type)."""
    allowed = {"mode", "starter_ocv_v", "starter_self_discharge_v_per_day", "engine_runs", "alternator_v",
               "weak_capacity_fade_pct_per_day", "weak_from_day", "weak_min_capacity_pct", "min_c", "max_c", "cold",
               "weak_resistance_growth_mohm_per_day"}
    for k in d:
        if k not in allowed:
            raise error("%s.%s: unknown key (allowed: %s)" % (where, k, ", ".join(sorted(allowed))))
    mode = d.get("mode")
    if mode not in MODES:
        raise error("%s.mode = %r: must be one of %s" % (where, mode, ", ".join(MODES)))
    p = AuxParams(mode=mode)
    for k in ("starter_ocv_v", "starter_self_discharge_v_per_day", "alternator_v", "weak_capacity_fade_pct_per_day",
              "weak_from_day", "weak_min_capacity_pct", "min_c", "max_c", "weak_resistance_growth_mohm_per_day"):
        if k in d:
            v = d[k]
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                raise error("%s.%s = %r: must be a number" % (where, k, v))
            setattr(p, k, float(v))
    if p.max_c < p.min_c:
        raise error("%s: max_c %r is below min_c %r" % (where, p.max_c, p.min_c))
    for j, r in enumerate(d.get("engine_runs", [])):
        w = "%s.engine_runs[%d]" % (where, j)
        if not isinstance(r, dict) or "at" not in r or "minutes" not in r:
            raise error("%s: needs at and minutes" % w)
        a = parse_time(r["at"], w + ".at", start_tod_s)
        p.engine_runs.append((a, a + float(r["minutes"]) * 60.0))
    for j, r in enumerate(d.get("cold", [])):
        w = "%s.cold[%d]" % (where, j)
        if not isinstance(r, dict) or not {"at", "hours", "min_c"} <= set(r):
            raise error("%s: needs at, hours and min_c" % w)
        a = parse_time(r["at"], w + ".at", start_tod_s)
        p.cold.append((a, a + float(r["hours"]) * 3600.0, float(r["min_c"])))
    return p
