"""The true battery of the simulator: the physical world the firmware measures (floats are fine here).

Model per 12 V block (voltages scale with nominal/12, currents with capacity):
  V = OCV(soc) + I*R + vp, where vp is a lagged polarisation (surface charge) that follows
  target(I) = sign(I) * a * ln(1 + |I|/I0) + I * Rp(soc) with time constant tau.
  Rp grows near full while charging (that is what makes the absorption current taper) and near empty
  while discharging. SOC counts in C20 capacity: charge with a true efficiency (lead-acid also loses a gassing
  current at high voltage), discharge with the true Peukert exponent, plus self-discharge.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

# Open-circuit voltage per 12 V block (6 lead-acid cells, 4 LiFePO4 cells) against SOC (0..1), at rest.
OCV_12V = {
    "lead_acid": [(0.0, 11.60), (0.1, 11.85), (0.2, 11.98), (0.3, 12.08), (0.4, 12.17), (0.5, 12.26),
                  (0.6, 12.35), (0.7, 12.44), (0.8, 12.53), (0.9, 12.62), (1.0, 12.72)],
    "lifepo4": [(0.0, 10.00), (0.05, 12.40), (0.1, 12.80), (0.2, 13.00), (0.3, 13.10), (0.4, 13.16),
                (0.5, 13.20), (0.6, 13.24), (0.7, 13.28), (0.8, 13.30), (0.9, 13.34), (0.95, 13.40),
                (0.99, 13.52), (1.0, 13.60)],
}

# Reference parameters for a 12 V 200 Ah block; scaled by nominal voltage and capacity.
_REF = {
    #             R ohm   a V   I0 A  rp_charge  rp_dis   tau s  gassing
    "lead_acid": (0.005, 0.12, 2.0, 0.0059, 0.0006, 900.0, True),
    "lifepo4": (0.002, 0.04, 2.0, 0.00060, 0.0002, 300.0, False),
}

CHEMISTRIES = tuple(OCV_12V)


@dataclass
class BatteryParams:
    chemistry: str = "lead_acid"
    nominal_voltage: int = 12
    capacity_ah: float = 200.0
    peukert: float = 1.25
    charge_efficiency: float = 0.97      # true coulombic efficiency of the charge that is not gassing
    internal_resistance_mohm: float | None = None   # None: the chemistry's reference scaled to the bank
    self_discharge_pct_month: float = 3.0
    temperature_c: float = 25.0
    initial_soc: float = 100.0            # percent
    model: str = "fast"                   # fast: this module; pybamm: tools/sim/pybamm_battery.py (LiFePO4 only)


class Battery:
    """State: soc (0..1 of the temperature-corrected C20 capacity) and vp (polarisation, V)."""

    def __init__(self, p: BatteryParams):
        if p.chemistry not in OCV_12V:
            raise ValueError("battery.chemistry %r: must be one of %s" % (p.chemistry, ", ".join(CHEMISTRIES)))
        self.p = p
        k = p.nominal_voltage / 12.0             # 12 V blocks in series
        c = p.capacity_ah / 200.0                # parallel strings relative to the 200 Ah reference
        r, a, i0, rpc, rpd, tau, gas = _REF[p.chemistry]
        self.r = (p.internal_resistance_mohm / 1000.0) if p.internal_resistance_mohm is not None else r * k / c
        self.a = a * k
        self.i0 = i0 * c
        self.rpc = rpc * k / c
        self.rpd = rpd * k / c
        self.tau = tau
        self.gassing = gas
        self.k = k
        self.cells = (6 if p.chemistry == "lead_acid" else 4) * k
        self.i20 = p.capacity_ah / 20.0
        # Available capacity falls in the cold (lead-acid about 0.6 %/K, LiFePO4 about 0.3 %/K below 25 °C).
        coef = 0.006 if p.chemistry == "lead_acid" else 0.003
        self.capacity_as = p.capacity_ah * 3600.0 * max(0.3, min(1.1, 1.0 + coef * min(p.temperature_c - 25.0, 10.0)))
        self.self_discharge_per_s = p.self_discharge_pct_month / 100.0 / (30.0 * 86400.0)
        tab = OCV_12V[p.chemistry]
        self._xs = [x for x, _ in tab]
        self._ys = [y * k for _, y in tab]
        self.soc = max(0.0, min(1.0, p.initial_soc / 100.0))
        self.vp = 0.0
        self.v = self.ocv()

    # -- curves ----------------------------------------------------------------------------------------------
    def ocv(self, soc: float | None = None) -> float:
        s = self.soc if soc is None else soc
        xs, ys = self._xs, self._ys
        j = bisect.bisect_right(xs, s)
        if j <= 0:
            return ys[0]
        if j >= len(xs):
            return ys[-1]
        x0, x1 = xs[j - 1], xs[j]
        return ys[j - 1] + (ys[j] - ys[j - 1]) * (s - x0) / (x1 - x0)

    def _target(self, i: float) -> tuple[float, float]:
        """Steady polarisation for current i and its derivative d/di."""
        if i >= 0.0:
            rp = self.rpc / (1.0 - self.soc + 0.002)
            return self.a * math.log1p(i / self.i0) + i * rp, self.a / (self.i0 + i) + rp
        rp = self.rpd / (self.soc + 0.02)
        return -self.a * math.log1p(-i / self.i0) + i * rp, self.a / (self.i0 - i) + rp

    def terminal(self, i: float, dt: float) -> tuple[float, float, float]:
        """Terminal voltage after a step of dt at battery current i (without committing): (v, vp', dv/di)."""
        beta = dt / self.tau
        t, dtd = self._target(i)
        vp = (self.vp + beta * t) / (1.0 + beta)        # implicit Euler: stable for any dt
        return self.ocv() + i * self.r + vp, vp, self.r + beta / (1.0 + beta) * dtd

    def current_for_voltage(self, v_set: float, dt: float, lo: float, hi: float, guess: float) -> float:
        """Battery current in [lo, hi] that gives terminal voltage v_set after dt (V(i) is increasing)."""
        return solve_current(self.terminal, v_set, dt, lo, hi, guess, 40, 1e-5, 1e-6)

    def gassing_a(self, v: float) -> float:
        """Lead-acid loses part of the charging current to gassing at high cell voltage."""
        if not self.gassing:
            return 0.0
        vc = v / self.cells
        return self.p.capacity_ah * 0.001 * math.exp((vc - 2.30) / 0.06)

    # -- commit ----------------------------------------------------------------------------------------------
    def commit(self, i: float, dt: float) -> float:
        """Advance the state by dt at battery current i (A, + = charging); returns the terminal voltage."""
        v, vp, _ = self.terminal(i, dt)
        self.vp = vp
        if i > 0.0:
            q = self.p.charge_efficiency * max(0.0, i - self.gassing_a(v)) * dt
        elif i < 0.0:
            q = i * (-i / self.i20) ** (self.p.peukert - 1.0) * dt
        else:
            q = 0.0
        s = self.soc + q / self.capacity_as - self.self_discharge_per_s * dt
        self.soc = 0.0 if s < 0.0 else (1.0 if s > 1.0 else s)
        self.v = v
        return v


def solve_current(terminal, v_set: float, dt: float, lo: float, hi: float, guess: float, iters: int,
                  tol_v: float, tol_i: float) -> float:
    """The battery current in [lo, hi] whose terminal voltage after dt is v_set, for any model whose
    terminal(i, dt) returns (v, _, dv/di) with V increasing in i: Newton steps, bisection when one leaves the
    bracket. Each model passes its own iteration count and tolerances (volts, amps)."""
    i = min(max(guess, lo), hi)
    for _ in range(iters):
        v, _, d = terminal(i, dt)
        f = v - v_set
        if abs(f) < tol_v:
            break
        if f > 0.0:
            hi = i
        else:
            lo = i
        n = i - f / d
        i = n if lo < n < hi else 0.5 * (lo + hi)
        if hi - lo < tol_i:
            break
    return i
