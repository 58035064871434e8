"""A physics-based LiFePO4 bank for the simulator: PyBaMM's SPMe model with the Prada2013 LFP cell (A123 26650,
2.3 Ah), scaled to the bank (4 cells in series per 12 V, as many strings in parallel as the capacity needs).

Same interface as `battery.Battery` (`v`, `soc`, `terminal`, `current_for_voltage`, `commit`), so the runner's
chargers and loads drive it unchanged. `terminal(i)` is a real trial step of the model from the current state
(cached, so that the `commit` of the same current reuses it); the charger's constant-voltage stage therefore
regulates against the model itself, not an approximation.

True SOC comes from PyBaMM's "Discharge capacity [A.h]": soc = soc0 − (Q_dis − Q_dis0) / Q_cell, with Q_cell the
cell's capacity between the parameter set's voltage limits (2.0 V and 3.6 V open circuit; PyBaMM's electrode
SOH solver). The model is coulombically exact (no side reactions): the charge efficiency is 100 %, Peukert 1.0
by construction; the voltage carries all the physics (the flat plateau, the steep ends, diffusion).

A step costs about 1 ms of solver time; a simulated day about 2 minutes. The simulator caches solved traces
(tools/sim/traces.py), so a scenario is solved once.
"""
from __future__ import annotations

import os

os.environ.setdefault("PYBAMM_DISABLE_TELEMETRY", "true")    # never ask, never phone home

from .battery import solve_current  # noqa: E402

PARAMETER_SET = "Prada2013"
MODEL = "SPMe"
CELLS_PER_12V = 4


class PybammBattery:
    def __init__(self, p):
        try:
            import pybamm
        except ImportError as e:       # pragma: no cover - the pinned requirements install it
            raise RuntimeError("battery.model = \"pybamm\" needs PyBaMM: .venv/bin/pip install -r requirements.txt "
                               "(%s)" % e) from None
        self.p = p
        self._pybamm = pybamm
        pv = pybamm.ParameterValues(PARAMETER_SET)
        param = pybamm.LithiumIonParameters()
        esoh = pybamm.lithium_ion.ElectrodeSOHSolver(pv, param)
        inputs = {"V_min": pv["Lower voltage cut-off [V]"], "V_max": pv["Upper voltage cut-off [V]"],
                  "Q_n": pv.evaluate(param.n.Q_init), "Q_p": pv.evaluate(param.p.Q_init),
                  "Q_Li": pv.evaluate(param.Q_Li_particles_init)}
        self.q_cell_ah = float(esoh.solve(inputs)["Capacity [A.h]"])
        self.series = CELLS_PER_12V * p.nominal_voltage // 12
        self.parallel = p.capacity_ah / self.q_cell_ah
        self.soc0 = max(0.0, min(1.0, p.initial_soc / 100.0))
        pv.set_initial_state(self.soc0)
        # Wider event limits than the SOC definition: the chargers and loads stay inside them; a step must not stop
        # early at a cut-off.
        pv.update({"Lower voltage cut-off [V]": 1.5, "Upper voltage cut-off [V]": 4.2,
                   "Current function [A]": "[input]"})
        self.model = pybamm.lithium_ion.SPMe()
        sim = pybamm.Simulation(self.model, parameter_values=pv, solver=pybamm.IDAKLUSolver(
            output_variables=["Voltage [V]", "Discharge capacity [A.h]"]))
        sim.build()
        self._built = sim._built_model
        self._solver = sim._solver
        self._sol = None
        self._trial = None             # (i, dt, solution, v, q_dis)
        self._q0 = 0.0                 # "Discharge capacity [A.h]" starts at 0
        self.soc = self.soc0
        self.i = 0.0
        self.r_ohm = 0.02 * self.series / self.parallel    # dv/di guess for the first Newton step; then secants
        v, _, _ = self.terminal(0.0, 1.0)
        self.v = v

    # -- model steps ---------------------------------------------------------------------------------------------
    def _step(self, i, dt):
        n = int(dt)
        # one solve over the step, its result interpolated at every whole second (IDAKLU's t_interp)
        t_interp = [float(k) for k in range(n + 1)] if n > 1 and n == dt else None
        sol = self._solver.step(self._sol, self._built, dt, save=False, t_interp=t_interp,
                                inputs={"Current function [A]": -i / self.parallel})
        vs = [float(x) * self.series for x in sol["Voltage [V]"].entries[1:]]
        qs = [float(x) for x in sol["Discharge capacity [A.h]"].entries[1:]]
        return sol, vs, qs

    def terminal(self, i: float, dt: float) -> tuple[float, float, float]:
        """Terminal voltage after dt at battery current i (A, + = charging), without committing: (v, 0, dv/di)."""
        t = self._trial
        if t is not None and t[0] == i and t[1] == dt:
            return t[3], 0.0, self.r_ohm
        sol, vs, qs = self._step(i, dt)
        v = vs[-1]
        if t is not None and t[1] == dt and abs(i - t[0]) > 1e-3:
            r = (v - t[3]) / (i - t[0])
            if r > 1e-5:
                self.r_ohm = r
        self._trial = (i, dt, sol, v, (vs, qs))
        return v, 0.0, self.r_ohm

    def current_for_voltage(self, v_set: float, dt: float, lo: float, hi: float, guess: float) -> float:
        """Battery current in [lo, hi] that gives terminal voltage v_set after dt (secant/bisection on the model)."""
        return solve_current(self.terminal, v_set, dt, lo, hi, guess, 30, 2e-4, 1e-4)

    def gassing_a(self, v: float) -> float:
        return 0.0

    def commit(self, i: float, dt: float) -> float:
        """Advance the model by dt at battery current i; returns the terminal voltage."""
        t = self._trial
        if t is None or t[0] != i or t[1] != dt:
            self.terminal(i, dt)
            t = self._trial
        _, _, sol, v, (vs, qs) = t
        self._sol = sol
        self._trial = None
        # per second of a step longer than 1 s: (terminal V, true SOC) at its end
        self.seconds = [(vk, self.soc0 - (qk - self._q0) / self.q_cell_ah) for vk, qk in zip(vs, qs)]
        self.soc = self.seconds[-1][1]
        self.i = i
        self.v = v
        return v
