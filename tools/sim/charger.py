"""Chargers of the simulator: a three-stage controller (bulk, absorption, float with a tail current) fed by a
source (a solar day profile, a generator or mains on a schedule). Physical world, floats."""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

DAY_S = 86400.0


@dataclass
class ChargerParams:
    name: str = "charger"
    type: str = "solar"                 # solar | generator | mains
    max_current_a: float = 40.0
    absorption_v: float = 14.4
    float_v: float = 13.6
    tail_current_a: float = 4.0         # absorption ends when the charger's output falls below this (for 60 s)
    max_absorption_h: float = 4.0
    rebulk_v: float = 12.6              # back to bulk after 60 s below this
    bypass: bool = False                # output wired to battery minus: its current does not pass the shunt
    enabled: bool = True
    # solar
    peak_w: float = 600.0
    sunrise: float = 6.5 * 3600.0       # seconds after midnight
    sunset: float = 19.5 * 3600.0
    day_factors: list = field(default_factory=lambda: [1.0])   # per day, repeats the last one
    clouds: float = 0.0                 # 0 = clear; up to 1 = deep, frequent cloud dips
    efficiency: float = 0.95
    # generator / mains: list of (start_s, end_s) on the absolute time axis; mains with no windows = always on
    windows: list = field(default_factory=list)
    stop_at_float: bool = False         # a generator is switched off once the charger reaches float


class Charger:
    BULK, ABSORPTION, FLOAT = "bulk", "absorption", "float"

    def __init__(self, p: ChargerParams, seed: int, t0_s: float):
        self.p = p
        self.t0 = t0_s                  # time of day at t = 0 (s)
        self.stage = self.BULK
        self.abs_s = 0.0
        self.tail_s = 0.0
        self.low_s = 0.0
        self.off_s = 0.0
        self.stopped = False            # a generator that reached float
        self.out_a = 0.0
        self._rng = random.Random(seed)
        self._cloud = 1.0
        self._cloud_target = 1.0
        self._cloud_next = 0.0
        self._win = 0

    # -- source --------------------------------------------------------------------------------------------
    def available_a(self, t: float, v: float, dt: float) -> float:
        """Current the source could deliver now at battery voltage v."""
        p = self.p
        if not p.enabled:
            return 0.0
        if p.type == "solar":
            tod = (t + self.t0) % DAY_S
            if tod <= p.sunrise or tod >= p.sunset:
                return 0.0
            x = (tod - p.sunrise) / (p.sunset - p.sunrise)
            day = int((t + self.t0) // DAY_S)
            f = p.day_factors[min(day, len(p.day_factors) - 1)]
            w = p.peak_w * f * math.sin(math.pi * x) ** 2 * self._clouds(t, dt)
            return min(p.max_current_a, w * p.efficiency / max(v, 1.0))
        if self.stopped and p.type == "generator":
            if self._in_window(t):
                return 0.0
            self.stopped = False
        if p.type == "mains" and not p.windows:
            return p.max_current_a
        return p.max_current_a if self._in_window(t) else 0.0

    def _in_window(self, t: float) -> bool:
        ws = self.p.windows
        while self._win < len(ws) and ws[self._win][1] <= t:
            self._win += 1
        return self._win < len(ws) and ws[self._win][0] <= t

    def _clouds(self, t: float, dt: float) -> float:
        c = self.p.clouds
        if c <= 0.0:
            return 1.0
        if t >= self._cloud_next:      # a new cloud (or gap) every 2..20 min, deterministic from the seed
            self._cloud_next = t + self._rng.uniform(120.0, 1200.0)
            self._cloud_target = 1.0 - c * self._rng.random() if self._rng.random() < c else 1.0
        self._cloud += (self._cloud_target - self._cloud) * min(1.0, dt / 60.0)
        return self._cloud

    # -- controller ------------------------------------------------------------------------------------------
    def setpoint_v(self) -> float:
        return self.p.float_v if self.stage == self.FLOAT else self.p.absorption_v

    def update(self, avail: float, v: float, out_a: float, dt: float) -> None:
        """Stage transitions after a step: v = battery voltage, out_a = this charger's output current."""
        p = self.p
        self.out_a = out_a
        if avail <= 0.0:
            self.off_s += dt
            if self.off_s >= 3600.0 and self.stage != self.BULK:    # a new day (or a new generator run)
                self.stage, self.abs_s = self.BULK, 0.0
            return
        self.off_s = 0.0
        if self.stage == self.BULK:
            if v >= p.absorption_v - 0.01:
                self.stage, self.abs_s, self.tail_s = self.ABSORPTION, 0.0, 0.0
        elif self.stage == self.ABSORPTION:
            self.abs_s += dt
            self.tail_s = self.tail_s + dt if out_a < p.tail_current_a else 0.0
            if self.tail_s >= 60.0 or self.abs_s >= p.max_absorption_h * 3600.0:
                self.stage = self.FLOAT
                if p.stop_at_float and p.type == "generator":
                    self.stopped = True
        else:
            self.low_s = self.low_s + dt if v < p.rebulk_v else 0.0
            if self.low_s >= 60.0:
                self.stage, self.low_s = self.BULK, 0.0
