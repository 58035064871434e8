# The aux input (starter voltage, mid-point voltage, temperature): its value, the mid-point deviation, the aux
# alarms, H13-H16, W16 (hardware absent) and W17 (LFP charged below 0 °C). Spec: issue 18; vedirect.md §3.3,
# §3.6 (AR bits 8-128), §4.6 (0xEEF8, 0xED7D, 0x0382, 0x0383, 0xEDEC, 0x0324-0x0332); battery-monitor.md §10.
from micropython import const

from shunt.alarms import Latch, eff_clear_low, eff_clear_high

# Modes: the HEX 0xEEF8 numbering, which is also the stored value of the `aux_input` setting.
STARTER = const(0)
MIDPOINT = const(1)
TEMPERATURE = const(2)
NONE = const(3)

# AR bits (vedirect.md §3.6).
AR_LOW_STARTER = const(8)
AR_HIGH_STARTER = const(16)
AR_LOW_TEMP = const(32)
AR_HIGH_TEMP = const(64)
AR_MID = const(128)

ZERO_C_CK = const(27315)        # 0 °C in 0.01 K
_STEP_MS = const(1000)          # second() is called once per second of op_time
_W16_S = const(3)               # W16 after 3 s in a row without a value (a DS18B20 needs ≥ 750 ms per result)
_W17_SET_S = const(10)          # W17: charging below 0 °C for more than 10 s, like an alarm (§10) ...
_W17_CLEAR_S = const(60)        # ... and cleared after 60 s without it
_W16 = const(16)
_W17 = const(17)
_LFP = const(1)                 # battery_type: lead_acid 0, lfp 1 (shunt.settings)


def is_lfp(settings):
    """True for a lithium iron phosphate bank: `battery_type lfp` (issue 17's setting)."""
    return settings.values["battery_type"] == _LFP


def midpoint_deviation_pm(v_mv, mid_mv):
    """Victron's mid-point deviation d = 100·(Vt − Vb)/V % with Vb = the mid-point (bottom half), Vt = V − Vb
    (BMV manual §5, "midpoint monitoring"), in 0.1 % (= VE.Direct DM ‰ and HEX 0x0383), rounded half away from
    zero. None when V ≤ 0. Positive: the top half holds more voltage than the bottom half."""
    if v_mv <= 0:
        return None
    n = v_mv - 2 * mid_mv
    # |d| > 100 % only with a mid-point outside 0..V (a loose wire): clamp, which also keeps 1000·n below 2^30
    if n >= v_mv:
        return 1000
    if n <= -v_mv:
        return -1000
    n *= 1000
    if n < 0:
        return -((-2 * n + v_mv) // (2 * v_mv))
    return (2 * n + v_mv) // (2 * v_mv)


class Aux:
    """The aux input. The app hands in the latest reading with `reading(value)` (mV at the aux input for
    starter/mid-point, 0.01 °C for temperature, None when the hardware gave none); `second(mon)` runs once per
    second of op_time and updates everything reported:

    - `mode`, `value` (mV or 0.01 °C, None = not available), `mid_dev_pm` (0.1 %, mid-point mode only).
    - `bits`: the aux alarms as AR bits. Each alarm is a Latch of §10 stepped once a second: active after its
      condition held for more than 10 s, inactive at once past its effective clear value (§1). Starter: low
      V < set, clear V > clear; high V > set, clear V < clear. Mid-point: |deviation| > set, clear |dev| < clear.
      Temperature (thresholds in 0.01 K, 0 = off): low T < set, high T > set. A threshold of 0 turns the alarm
      off at once. Without a value (sensor lost) an alarm keeps its state until a value clears it: a lost
      sensor never silently clears a temperature alarm (W16 says the value is missing).
    - History: `h13`/`h14` count low/high starter-voltage alarms, `h15`/`h16` the lowest/highest starter
      voltage seen (mV), as a BMV-712's H13-H16. Saved with the state record.
    - W16 after 3 s in a row without a value while a mode is set; cleared by the first value or mode none.
    - W17 on an LFP bank (`is_lfp`) charging (I_int > 0) below 0 °C for more than 10 s; cleared after 60 s
      without that. Allocation-free once configured (integers only)."""

    def __init__(self, settings):
        self.settings = settings
        self.mode = NONE
        self.value = None
        self.mid_dev_pm = None
        self.bits = 0
        self._reading = None
        self.error = None           # the adapter's diagnostic (W16's advice), set by the app
        self._na_s = 0
        self._w17_on = 0
        self._w17_off = 0
        self._ls = Latch()
        self._hs = Latch()
        self._mid = Latch()
        self._lt = Latch()
        self._ht = Latch()
        self.clear_history()
        self.configure()

    def clear_history(self):
        self.h13 = self.h14 = self.h15 = self.h16 = 0
        self.h1516_valid = 0

    def get_state(self):
        return {"aux_h13": self.h13, "aux_h14": self.h14, "aux_h15": self.h15, "aux_h16": self.h16,
                "aux_h1516_valid": self.h1516_valid}

    def set_state(self, d):
        self.h13 = d.get("aux_h13", 0)
        self.h14 = d.get("aux_h14", 0)
        self.h15 = d.get("aux_h15", 0)
        self.h16 = d.get("aux_h16", 0)
        self.h1516_valid = d.get("aux_h1516_valid", 0)

    def configure(self):
        """Cache the settings (stored units -> mV, 0.1 %, 0.01 K); a disabled alarm or a new mode goes off."""
        s = self.settings.values
        mode = s["aux_input"]
        if mode != self.mode:
            self.mode = mode
            self._reading = None
            self.value = None
            self.mid_dev_pm = None
            self._na_s = 0
            for la in (self._ls, self._hs, self._mid, self._lt, self._ht):
                la.off()
        t = s["alarm_low_starter_set"]
        self._ls_set = t * 100
        self._ls_clr = eff_clear_low(t, s["alarm_low_starter_clear"]) * 100
        t = s["alarm_high_starter_set"]
        self._hs_set = t * 100
        self._hs_clr = eff_clear_high(t, s["alarm_high_starter_clear"]) * 100
        t = s["alarm_midpoint_set"]
        self._mid_set = t
        self._mid_clr = eff_clear_high(t, s["alarm_midpoint_clear"])
        t = s["alarm_low_temperature_set"]
        self._lt_set = t
        self._lt_clr = eff_clear_low(t, s["alarm_low_temperature_clear"])
        t = s["alarm_high_temperature_set"]
        self._ht_set = t
        self._ht_clr = eff_clear_high(t, s["alarm_high_temperature_clear"])
        self._lfp = is_lfp(self.settings)
        self._update_bits()

    def reading(self, value):
        """The latest measurement from the adapter (None: not available). Takes effect at the next second()."""
        self._reading = value

    def _update_bits(self):
        mode = self.mode
        b = 0
        if mode == STARTER:
            b = (self._ls.active and AR_LOW_STARTER) | (self._hs.active and AR_HIGH_STARTER)
        elif mode == MIDPOINT:
            b = self._mid.active and AR_MID
        elif mode == TEMPERATURE:
            b = (self._lt.active and AR_LOW_TEMP) | (self._ht.active and AR_HIGH_TEMP)
        self.bits = b

    def second(self, mon):
        """One second of op_time: value, deviation, alarms, history, W16/W17. Returns the AR bits."""
        mode = self.mode
        warn = mon.warn
        if mode == NONE:
            self.value = None
            self.bits = 0
            warn.clear(_W16)
            warn.clear(_W17)
            return 0
        x = self._reading
        self.value = x
        if x is None:
            self._na_s += 1
            if self._na_s >= _W16_S:
                warn.set(_W16)
        else:
            self._na_s = 0
            warn.clear(_W16)
        have = x is not None
        if mode == STARTER:
            self.mid_dev_pm = None
            t = self._ls_set
            if t:
                if self._ls.step(have and x < t, have and x > self._ls_clr, _STEP_MS):
                    self.h13 += 1
            else:
                self._ls.off()
            t = self._hs_set
            if t:
                if self._hs.step(have and x > t, have and x < self._hs_clr, _STEP_MS):
                    self.h14 += 1
            else:
                self._hs.off()
            if have:
                if not self.h1516_valid:
                    self.h15 = self.h16 = x
                    self.h1516_valid = 1
                elif x < self.h15:
                    self.h15 = x
                elif x > self.h16:
                    self.h16 = x
        elif mode == MIDPOINT:
            d = midpoint_deviation_pm(mon.v_mv, x) if have else None
            self.mid_dev_pm = d
            t = self._mid_set
            if t:
                ad = (-d if d < 0 else d) if d is not None else 0
                self._mid.step(d is not None and ad > t, d is not None and ad < self._mid_clr, _STEP_MS)
            else:
                self._mid.off()
        else:
            self.mid_dev_pm = None
            tk = x + ZERO_C_CK if have else 0
            t = self._lt_set
            if t:
                self._lt.step(have and tk < t, have and tk > self._lt_clr, _STEP_MS)
            else:
                self._lt.off()
            t = self._ht_set
            if t:
                self._ht.step(have and tk > t, have and tk < self._ht_clr, _STEP_MS)
            else:
                self._ht.off()
        # W17: charging an LFP bank below 0 °C damages it (lithium plating).
        if mode == TEMPERATURE and self._lfp and have and x < 0 and mon.i_int_ma > 0:
            self._w17_off = 0
            if self._w17_on <= _W17_SET_S:
                self._w17_on += 1
            if self._w17_on > _W17_SET_S:
                warn.set(_W17)
        else:
            self._w17_on = 0
            if self._w17_off < _W17_CLEAR_S:
                self._w17_off += 1
            if self._w17_off >= _W17_CLEAR_S:
                warn.clear(_W17)
        self._update_bits()
        return self.bits

    def status(self):
        """The console's view: mode word and the value with its unit (allocation allowed)."""
        from shunt.settings import row
        d = {"aux_input": row("aux_input")[7][self.mode]}
        v = self.value
        if self.mode == STARTER:
            d["starter_voltage_mv"] = v
        elif self.mode == MIDPOINT:
            d["midpoint_voltage_mv"] = v
            d["midpoint_deviation_pm"] = self.mid_dev_pm
        elif self.mode == TEMPERATURE:
            d["temperature_cc"] = v
        return d
