# Relay logic: latches with a 10 s delay, the default/charge/remote modes, minimum closed time and off-delay.
# Spec: battery-monitor.md §11 (relay), §1 (relay settings, effective clear values), §0.2 (outages), §15.2 U16/U17.
from micropython import const

from shunt.alarms import Latch, eff_clear_low, eff_clear_high

# Latch bits (reported as `latches`).
LATCH_LOW_SOC = const(1)
LATCH_LOW_V = const(2)
LATCH_HIGH_V = const(4)
LATCH_AUX = const(8)        # issue 18: an aux alarm (starter, mid-point, temperature) with relay_aux_alarms on

MODE_DEFAULT = const(0)
MODE_CHARGE = const(1)
MODE_REMOTE = const(2)
_MODE_NAMES = ("default", "charge", "remote")

_MIN_MS = const(60000)


class Relay:
    """The relay of §11. The app drives the GPIO from `energised`; the monitor reports `active`, `latches` and
    `open_in_ms()`, and persists `remote_on`.

    Latches (§11.1), each set after its condition held continuously for more than 10 000 ms (an outage sample
    resets the count, §0.2) and cleared at once past its effective clear value (§1):
    - low SOC (1): enabled when the effective `relay_low_soc` (linked = `discharge_floor`) is > 0,
      `relay_clear_soc` > it, and the unit is synchronised. Set SOC < low; clear SOC > `relay_clear_soc`.
    - low voltage (2): enabled when `relay_low_voltage_set` > 0. Set V < set; clear V > effective clear.
    - high voltage (4): enabled when `relay_high_voltage_set` > 0. Set V > set; clear V < effective clear.
    A latch whose enabling condition fails is cleared at once. Only the latches a mode uses are evaluated
    (default: all three; charge: low SOC and low voltage; remote: none), so `latches` shows what drives the relay.

    Demand: default = any latch; charge = low SOC or low voltage ("battery needs charging": close below either
    low value, open only when SOC > clear and V > clear, which is the OR of the two latches); remote = the last
    `relay on/off` command.

    State machine (§11.2): close (active) at once when demand becomes true. Open at the first sample where both
    (a) demand has been false continuously for ≥ `relay_off_delay` min and (b) ≥ `relay_min_closed` min have
    passed since it closed. So a generator started on low SOC runs at least the minimum time and then keeps
    running until the clear condition has held for the off-delay. (a) is a "continuously for" count and is reset
    by an outage; (b) is elapsed `op_time` since closing and counts the whole `dt`. In remote mode (a) and (b) do
    not apply (U17). `energised` = active XOR `relay_invert`. Start-up: inactive, timers at 0 (not persisted).
    """

    def __init__(self, settings):
        self.settings = settings
        self.active = 0
        self.energised = 0
        self.latches = 0
        self.demand = 0
        self.remote_on = 0
        self._mode = -1
        self._soc = Latch()
        self._lv = Latch()
        self._hv = Latch()
        self._off_ms = 0        # demand false continuously (saturates at the off-delay)
        self._closed_ms = 0     # time since the relay closed (saturates at the minimum closed time)
        self.configure()

    def configure(self):
        """Cache the settings (stored units → mV, 0.1 %, ms). Called after any settings change."""
        s = self.settings.values
        mode = s["relay_mode"]
        if mode != self._mode:
            # A mode change starts the latches afresh; the active state and the timers carry over.
            self.latches = 0
            self._soc.off()
            self._lv.off()
            self._hv.off()
            if mode == MODE_REMOTE:
                self.active = self.remote_on
            self._mode = mode
        low = s["relay_low_soc"]
        if low < 0:
            low = s["discharge_floor"]
        clr = s["relay_clear_soc"]
        # §1: relay_clear_soc ≤ effective relay_low_soc disables the low-SOC condition.
        self._soc_low_pm = low if (low > 0 and clr > low) else 0
        self._soc_clr_pm = clr
        lv = s["relay_low_voltage_set"]
        hv = s["relay_high_voltage_set"]
        self._lv_set_mv = lv * 100
        self._lv_clr_mv = eff_clear_low(lv, s["relay_low_voltage_clear"]) * 100
        self._hv_set_mv = hv * 100 if mode == MODE_DEFAULT else 0
        self._hv_clr_mv = eff_clear_high(hv, s["relay_high_voltage_clear"]) * 100
        self._min_closed_ms = s["relay_min_closed"] * _MIN_MS
        self._off_delay_ms = s["relay_off_delay"] * _MIN_MS
        if self._closed_ms > self._min_closed_ms:
            self._closed_ms = self._min_closed_ms
        if self._off_ms > self._off_delay_ms:
            self._off_ms = self._off_delay_ms
        self._invert = s["relay_invert"]
        self._aux = s["relay_aux_alarms"] if mode == MODE_DEFAULT else 0
        self.energised = self.active ^ self._invert

    def remote(self, on):
        """Console `relay on|off` / HEX SET 0x034E (§11.1, §12.1). Only in remote mode, where the relay follows
        at once; returns True if the command changed. The monitor persists `remote_on`."""
        if self._mode != MODE_REMOTE:
            raise ValueError("relay %s: only in relay_mode remote (now %s); set relay_mode remote first"
                             % ("on" if on else "off", _MODE_NAMES[self._mode]))
        on = 1 if on else 0
        changed = on != self.remote_on
        self.remote_on = on
        if on and not self.active:
            self._closed_ms = 0
        self.active = on
        self.demand = on
        self.energised = on ^ self._invert
        return changed

    def open_in_ms(self):
        """Time until the relay may open (§11.2 "reported"): 0 when open or in remote mode. While demand holds
        this is the earliest time if demand ended now: max(minimum closed time left, the whole off-delay)."""
        if not self.active or self._mode == MODE_REMOTE:
            return 0
        a = self._min_closed_ms - self._closed_ms
        b = self._off_delay_ms - (0 if self.demand else self._off_ms)
        a = a if a > b else b
        return a if a > 0 else 0

    def step(self, mon, dt_ms):
        """§0.3 step 7, after the alarms. Allocation-free."""
        mode = self._mode
        out = mon.outage
        if mode == MODE_REMOTE:
            self.demand = self.remote_on
            if self.remote_on and not self.active:
                self._closed_ms = 0
            self.active = self.remote_on
            self.energised = self.active ^ self._invert
            return
        v = mon.v_mv
        # Low SOC latch (synchronised only, §4.6).
        t = self._soc_low_pm
        soc = self._soc
        if t and mon.synchronized:
            soc.step(not out and mon.soc_below(t), soc.active and mon.soc_above(self._soc_clr_pm), dt_ms)
        else:
            soc.off()
        # Low voltage latch.
        t = self._lv_set_mv
        if t:
            self._lv.step(v < t and not out, v > self._lv_clr_mv, dt_ms)
        else:
            self._lv.off()
        # High voltage latch (default mode only; 0 in charge mode from configure()).
        t = self._hv_set_mv
        if t:
            self._hv.step(v > t and not out, v < self._hv_clr_mv, dt_ms)
        else:
            self._hv.off()
        la = soc.active | (self._lv.active << 1) | (self._hv.active << 2)
        if self._aux and mon.aux.bits:
            la |= LATCH_AUX         # the aux alarms already carry their own 10 s delay and hysteresis
        self.latches = la
        demand = 1 if la else 0
        self.demand = demand

        # State machine (§11.2).
        if self.active:
            a = self._closed_ms + dt_ms
            m = self._min_closed_ms
            self._closed_ms = a if a < m else m
            if demand or out:
                self._off_ms = 0
            else:
                a = self._off_ms + dt_ms
                m = self._off_delay_ms
                self._off_ms = a if a < m else m
            if not demand and self._off_ms >= self._off_delay_ms and self._closed_ms >= self._min_closed_ms:
                self.active = 0
        elif demand:
            self.active = 1
            self._closed_ms = 0
            self._off_ms = 0
        self.energised = self.active ^ self._invert
