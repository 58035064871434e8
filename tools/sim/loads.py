"""Loads of the simulator: constant, a cycling fridge, inverter bursts; each may bypass the shunt and has a
low-voltage disconnect. Physical world, floats."""
from __future__ import annotations

import random
from dataclasses import dataclass, field

DAY_S = 86400.0


@dataclass
class LoadParams:
    name: str = "load"
    type: str = "constant"              # constant | fridge | bursts
    current_a: float = 0.0              # constant and fridge: current while on
    power_w: float = 0.0                # constant or bursts: power while on (drawn as P/V)
    windows: list = field(default_factory=list)   # constant: daily (start_s, end_s) time-of-day windows; empty = always
    period_s: float = 1800.0            # fridge compressor cycle
    duty: float = 0.4
    bursts: list = field(default_factory=list)    # bursts: daily (start_s, duration_s)
    random_per_day: float = 0.0         # bursts: extra random bursts per day (seeded)
    random_s: float = 300.0             # their mean duration
    bypass: bool = False                # negative on battery minus: not seen by the shunt
    disconnect_v: float = 0.0           # low-voltage disconnect (0 = none); reconnects 0.5 V per 12 V higher
    enabled: bool = True


class Load:
    def __init__(self, p: LoadParams, seed: int, t0_s: float, k: float):
        self.p = p
        self.t0 = t0_s
        self.hyst = 0.5 * k
        self.cut = False
        rng = random.Random(seed)
        self._phase = rng.uniform(0.0, p.period_s)
        self._random: list[tuple[float, float]] = []
        self._rng = rng
        self._day = -1

    def current_a(self, t: float, v: float) -> float:
        p = self.p
        if not p.enabled:
            return 0.0
        if p.disconnect_v > 0.0:
            if v < p.disconnect_v:
                self.cut = True
            elif v > p.disconnect_v + self.hyst:
                self.cut = False
            if self.cut:
                return 0.0
        tod = (t + self.t0) % DAY_S
        if p.type == "fridge":
            return p.current_a if ((t + self._phase) % p.period_s) < p.duty * p.period_s else 0.0
        if p.type == "constant":
            if p.windows and not any(a <= tod < b for a, b in p.windows):
                return 0.0
            return p.current_a + p.power_w / max(v, 1.0)
        # bursts: fixed daily ones plus seeded random ones
        on = any(a <= tod < a + d for a, d in p.bursts)
        if not on and p.random_per_day > 0.0:
            day = int((t + self.t0) // DAY_S)
            if day != self._day:
                self._day = day
                n = int(p.random_per_day) + (1 if self._rng.random() < p.random_per_day % 1.0 else 0)
                self._random = [(self._rng.uniform(6 * 3600.0, 23 * 3600.0), self._rng.expovariate(1.0 / p.random_s))
                                for _ in range(n)]
            on = any(a <= tod < a + d for a, d in self._random)
        return p.power_w / max(v, 1.0) if on else 0.0
