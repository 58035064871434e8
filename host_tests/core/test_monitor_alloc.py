# The per-sample step allocates nothing on the MicroPython heap (battery-monitor.md §0.3; ESP32 rules).
from check import micropython_only

from shunt.settings import Settings
from shunt.monitor import Monitor


def _steps(m, n, v0, i0, di, dt):
    i = i0
    for k in range(n):
        m.sample(v0 + (k & 7), i, dt)
        i += di


def _locked(m, n, v0, i0, di, dt):
    # explicit arguments: a call with *args would itself allocate the argument tuple
    import micropython
    micropython.heap_lock()
    try:
        _steps(m, n, v0, i0, di, dt)
    finally:
        micropython.heap_unlock()


def test_sample_step_allocates_nothing_in_steady_state():
    micropython_only()
    s = Settings()
    s.set("alarm_low_voltage_set", "11.5")
    s.set("alarm_high_voltage_set", "14.8")
    s.set("alarm_low_soc_set", "20.0")
    m = Monitor(s)
    m.sample(12800, 0, 0)
    _steps(m, 50, 12800, -20000, -7, 141)       # warm up every path once
    _steps(m, 50, 13300, 20000, 3, 141)
    # 10 000 steps: discharge with a changing current (every sample a new rate and Peukert factor),
    # charge, a gap, rest at the charged voltage (sync timer running), and the alarm thresholds crossed
    _locked(m, 4000, 12700, -30000, 3, 141)
    _locked(m, 2000, 11000, -5000, -1, 141)
    _locked(m, 2000, 13400, 30000, -9, 141)
    _locked(m, 10, 13400, 1000, 0, 3000)
    _locked(m, 1990, 13500, 100, 0, 141)
    assert m.synchronized
