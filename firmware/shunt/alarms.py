# Alarms: low voltage, high voltage and low SOC with a 10 s set delay and an immediate clear (the AR bits).
# Spec: battery-monitor.md §10 (alarms), §1 ("effective clear value"), §0.2 ("continuously for", outages), §15.2 U23.
from micropython import const

# AR bits (§10); bits 8..128 (starter, temperature, mid-point) belong to the aux input (shunt.aux).
AR_LOW_V = const(1)
AR_HIGH_V = const(2)
AR_LOW_SOC = const(4)

# An alarm becomes active when its condition has held for MORE than this (§10, strictly greater).
SET_DELAY_MS = const(10000)
def eff_clear_low(set_v, clear_v):
    """§1 effective clear value of a low-type pair: `clear` if clear ≥ set, else `set` (U23)."""
    return clear_v if clear_v >= set_v else set_v


def eff_clear_high(set_v, clear_v):
    """§1 effective clear value of a high-type pair: `clear` if 0 < clear ≤ set, else `set` (U23)."""
    return clear_v if 0 < clear_v <= set_v else set_v


class Latch:
    """One delayed condition: active once its set condition has held continuously for more than `set_after_ms`
    (§10 / §11.1: 10 000 ms), inactive on the first sample past the clear value, or, with `clear_after_ms`, once
    that has held continuously for at least so long (the 10 min warnings W02b and W04, §13.2). An accumulator
    restarts on any sample where its condition does not hold (the caller folds an outage into `held`, §0.2)
    and saturates just past its delay so it stays a small int."""

    def __init__(self, set_after_ms=SET_DELAY_MS, clear_after_ms=0):
        self.active = 0
        self.ms = 0
        self.off_ms = 0
        self._set_ms = set_after_ms
        self._sat_ms = set_after_ms + 1
        self._clear_ms = clear_after_ms

    def off(self):
        """Disabled (threshold 0, or not synchronised for a SOC condition): inactive at once."""
        self.active = 0
        self.ms = 0
        self.off_ms = 0

    def restart(self):
        """An outage: both delays start again (§0.2); the state stays."""
        self.ms = 0
        self.off_ms = 0

    def step(self, held, cleared, dt_ms):
        """`held`: the set condition holds in this sample; `cleared`: the value is past the clear value.
        Returns 1 if the latch became active in this sample. Allocation-free."""
        if held:
            a = self.ms + dt_ms
            self.ms = a if a < self._sat_ms else self._sat_ms
        else:
            self.ms = 0
        if self.active:
            if not cleared:
                self.off_ms = 0
            elif self._clear_ms:
                t = self.off_ms + dt_ms
                if t >= self._clear_ms:
                    self.active = 0
                    t = 0
                self.off_ms = t
            else:
                self.active = 0
        elif self.ms > self._set_ms:
            self.active = 1
            return 1
        return 0


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
        self._lv = Latch()
        self._hv = Latch()
        self._ls = Latch()
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
            self._lv.off()
        if not hv:
            self._hv.off()
        if not ls:
            self._ls.off()
        self._bits()

    def reset(self):
        """Start-up state: nothing active, every delay at 0."""
        self._lv.off()
        self._hv.off()
        self._ls.off()
        self.bits = 0

    def _bits(self):
        self.bits = self._lv.active | (self._hv.active << 1) | (self._ls.active << 2)

    def step(self, mon, dt_ms):
        """§0.3 step 7 (before the relay). Returns bit 0 if the low-voltage alarm became active in this sample
        and bit 1 if the high-voltage alarm did (the monitor counts H11/H12). Allocation-free."""
        v = mon.v_mv
        out = mon.outage
        became = 0
        t = self._lv_set_mv
        if t:
            became = self._lv.step(v < t and not out, v > self._lv_clr_mv, dt_ms)
        else:
            self._lv.off()
        t = self._hv_set_mv
        if t:
            became |= self._hv.step(v > t and not out, v < self._hv_clr_mv, dt_ms) << 1
        else:
            self._hv.off()
        t = self._ls_set_pm
        ls = self._ls
        if t and mon.synchronized:    # the low-SOC alarm needs a known SOC (§4.6)
            ls.step(not out and mon.soc_below(t), ls.active and mon.soc_above(self._ls_clr_pm), dt_ms)
        else:
            ls.off()
        self.bits = self._lv.active | (self._hv.active << 1) | (ls.active << 2)
        return became
