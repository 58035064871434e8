# Alarms: low voltage, high voltage and low SOC with a 10 s set delay and an immediate clear (the AR bits).
# Spec: battery-monitor.md §10 (alarms), §1 ("effective clear value"), §0.2 ("continuously for", outages), §15.2 U23.
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

# AR bits (§10); bits 8..128 (aux, temperature, mid-point) are never set: there is no aux input.
AR_LOW_V = const(1)
AR_HIGH_V = const(2)
AR_LOW_SOC = const(4)

# An alarm becomes active when its condition has held for MORE than this (§10, strictly greater).
SET_DELAY_MS = const(10000)
# Accumulators saturate just past the delay so they stay small ints (§0.2 allows saturation).
_SAT_MS = const(10001)


def eff_clear_low(set_v, clear_v):
    """§1 effective clear value of a low-type pair: `clear` if clear ≥ set, else `set` (U23)."""
    return clear_v if clear_v >= set_v else set_v


def eff_clear_high(set_v, clear_v):
    """§1 effective clear value of a high-type pair: `clear` if 0 < clear ≤ set, else `set` (U23)."""
    return clear_v if 0 < clear_v <= set_v else set_v


class Alarms:
    """The three alarms of §10. `bits` is AR (1 low V, 2 high V, 4 low SOC); `Alarm` is ON exactly when bits ≠ 0.

    Rules (§10):
    - An alarm is enabled when its set threshold is > 0. A threshold of 0 disables it, and disabling deactivates
      it at once. The low-SOC alarm is also inactive while the unit is not synchronised (§4.6).
    - Active after the condition (V < set, V > set, SOC < set) has held continuously for more than 10 000 ms:
      an accumulator adds `dt` for each sample in which it holds and is reset by any sample in which it does not
      and by an outage sample (`mon.outage`, §0.2).
    - Inactive at once on the first sample past the effective clear value (§1): V > clear, V < clear,
      SOC > clear. Between set and clear (hysteresis) an active alarm stays active and an inactive one stays
      inactive.
    - Not persisted: after a restart they are evaluated afresh, including the 10 s delay.
    """

    def __init__(self, settings):
        self.settings = settings
        self.bits = 0
        self._lv_ms = 0
        self._hv_ms = 0
        self._ls_ms = 0
        self.configure()

    def configure(self):
        """Cache the thresholds (mV and 0.1 %) after a settings change; a disabled alarm goes inactive at once."""
        s = self.settings.values
        lv = s["alarm_low_voltage_set"]
        hv = s["alarm_high_voltage_set"]
        ls = s["alarm_low_soc_set"]
        self._lv_set_mv = lv * 100
        self._lv_clr_mv = eff_clear_low(lv, s["alarm_low_voltage_clear"]) * 100
        self._hv_set_mv = hv * 100
        self._hv_clr_mv = eff_clear_high(hv, s["alarm_high_voltage_clear"]) * 100
        self._ls_set_pm = ls
        self._ls_clr_pm = eff_clear_low(ls, s["alarm_low_soc_clear"])
        if not lv:
            self.bits &= ~AR_LOW_V
            self._lv_ms = 0
        if not hv:
            self.bits &= ~AR_HIGH_V
            self._hv_ms = 0
        if not ls:
            self.bits &= ~AR_LOW_SOC
            self._ls_ms = 0

    def reset(self):
        """Start-up state: nothing active, every delay at 0."""
        self.bits = 0
        self._lv_ms = 0
        self._hv_ms = 0
        self._ls_ms = 0

    def step(self, mon, dt_ms):
        """§0.3 step 7 (before the relay). Returns bit 0 if the low-voltage alarm became active in this sample
        and bit 1 if the high-voltage alarm did (the monitor counts H11/H12). Allocation-free."""
        became = 0
        bits = self.bits
        v = mon.v_mv
        out = mon.outage

        # Low voltage.
        t = self._lv_set_mv
        if t:
            if v < t and not out:
                a = self._lv_ms + dt_ms
                self._lv_ms = a if a < _SAT_MS else _SAT_MS
            else:
                self._lv_ms = 0
            if bits & AR_LOW_V:
                if v > self._lv_clr_mv:
                    bits &= ~AR_LOW_V
            elif self._lv_ms > SET_DELAY_MS:
                bits |= AR_LOW_V
                became |= 1
        else:
            bits &= ~AR_LOW_V
            self._lv_ms = 0

        # High voltage.
        t = self._hv_set_mv
        if t:
            if v > t and not out:
                a = self._hv_ms + dt_ms
                self._hv_ms = a if a < _SAT_MS else _SAT_MS
            else:
                self._hv_ms = 0
            if bits & AR_HIGH_V:
                if v < self._hv_clr_mv:
                    bits &= ~AR_HIGH_V
            elif self._hv_ms > SET_DELAY_MS:
                bits |= AR_HIGH_V
                became |= 2
        else:
            bits &= ~AR_HIGH_V
            self._hv_ms = 0

        # Low SOC: only while synchronised (§4.6).
        t = self._ls_set_pm
        if t and mon.synchronized:
            if not out and mon.soc_below(t):
                a = self._ls_ms + dt_ms
                self._ls_ms = a if a < _SAT_MS else _SAT_MS
            else:
                self._ls_ms = 0
            if bits & AR_LOW_SOC:
                if mon.soc_above(self._ls_clr_pm):
                    bits &= ~AR_LOW_SOC
            elif self._ls_ms > SET_DELAY_MS:
                bits |= AR_LOW_SOC
        else:
            bits &= ~AR_LOW_SOC
            self._ls_ms = 0

        self.bits = bits
        return became
