# Warnings W01–W13: each one's set and clear rule, and one sentence of advice with the relevant numbers.
# Spec: battery-monitor.md §13.2 (warnings), §7 (W02), §2 (W08, W09, W12, W13), §0.2 (outages reset timers).
from micropython import const

from shunt.alarms import Latch

_MIN_MS = const(60000)
_10MIN_MS = const(600000)
_60MIN_MS = const(3600000)
_W01_SET_MIN = const(120)        # consecutive qualifying minutes
_W01_CLEAR_MIN = const(10)       # consecutive minutes that do not qualify
_W05_S = const(2592000)          # 30 days of op_time
_SAT_AS = const(536870912)       # 2^29: saturation of Σ I·dt in mA·s (never reached by a qualifying minute)
_MU_CLAMP = const(1048576)       # a minute's mean enters the reported mean clamped to ±2^20 mA
_MU_N = const(240)               # the reported mean halves its weight past this many minutes

# Bit n-1 = Wn.
W01 = const(1)
W02 = const(2)
W03 = const(4)
W04 = const(8)
W05 = const(16)
W06 = const(32)
W07 = const(64)
W08 = const(128)
W09 = const(256)
W10 = const(512)
W11 = const(1024)
W12 = const(2048)
W13 = const(4096)
W14 = const(8192)
W15 = const(16384)
W16 = const(32768)      # aux input hardware absent / no value (issue 18, raised by shunt.aux)
W17 = const(65536)      # LFP bank charging below 0 °C (issue 18, raised by shunt.aux)
W18 = const(131072)     # sync withheld: looked full, but the count disagrees (issue 17, raised by shunt.sync)
_MAX_CODE = const(18)
_LEAD_REST_MV = const(13000)     # W15: no 12 V lead-acid bank stays above this while discharging for an hour
_GIGA = const(1000000000)

# One sentence per warning: what it means and what to check (numbers are filled in by `Warnings.list`).
ADVICE = (
    None,
    "W01 current offset likely: with the current below the threshold the mean current was %s mA for 2 h "
    "(%d mAh/day, %s %% of capacity/day); switch every load and charger off and run zero_current, then lower "
    "current_threshold if a real small load remains hidden.",
    "W02 nominal mismatch: %s; check nominal_voltage, charged_voltage and voltage_divider against the battery.",
    "W03 SOC implausible: after 60 min at rest the SOC is %s %% but the battery rests at %s V (%d V system); "
    "check for loads or chargers that bypass the shunt, then synchronize or set_soc.",
    "W04 current direction likely inverted: the voltage (%s V) is above charged_voltage while the shunt "
    "reports a discharge of %d mA; check the shunt wiring or set current_invert on.",
    "W05 no sync for %d days: charge the battery fully so that it synchronises (see sync_status for the term "
    "that fails), or run synchronize after a full charge.",
    "W06 not synchronised: SOC is unknown until a full charge synchronises it; charge fully, or use "
    "synchronize or set_soc.",
    "W07 state restored: SOC was restored from flash and the time without power is unknown; if the battery was "
    "used or charged meanwhile, use set_soc or charge fully.",
    "W08 current over range: the shunt voltage reached the INA226 limit (81.92 mV); check shunt_rating_a and "
    "shunt_rating_mv and the size of the loads.",
    "W09 voltage over range: the bus pin saw more than 36.0 V; fit a voltage divider and set voltage_divider.",
    "W10 storage: a save failed or a file was invalid at start-up; check the settings and the SOC, and save "
    "again (the flash may be worn or full).",
    "W11 early sync: an automatic sync at %d mA with SOC %s %% just before it; charged_voltage may be too low "
    "or a BMS cut the charger, so check charged_voltage and tail_current or use sync_mode strict.",
    "W12 measurement outage: more than 5 s passed without a sample (%d s unmeasured in total); check the "
    "supply of the monitor and the I2C wiring.",
    "W13 sensor fault: the INA226 is not answering; check its I2C wiring and supply.",
    "W14 charged voltage cannot tell full from loaded: the battery stayed above charged_voltage %s V for 10 min "
    "while discharging at %s A (%s V); %s.",
    "W15 lead-acid constants on a lithium bank: %s, but peukert_exponent is %s and charge_efficiency %d %%, "
    "lead-acid values that count a LiFePO4 bank's loads too high; for LiFePO4 Victron recommends Peukert 1.05 and "
    "charge efficiency 99 %%: set battery_type lfp and run apply_battery_type.",
    "W16 aux input not available: aux_input is %s but its sensor gives no value (%s); check the wiring "
    "(board/WIRING.md) or set aux_input none.",
    "W17 charging below 0 C: the LFP bank is being charged at %s C; charging lithium iron phosphate below "
    "freezing plates lithium and damages it. Stop charging until the battery is above 5 C, or heat it.",
    "W18 sync withheld: the battery looked full for charged_detection_time (%s V above charged_voltage %s V at "
    "%s A, under the tail current) but the count since the last sync says %s Ah are still missing (%s Ah "
    "allowed), so sync_mode accepted did not sync: charged_voltage is likely inside the battery's plateau (raise "
    "it, see W14); if the battery is truly full, run synchronize.",
)


N_WARNINGS = len(ADVICE) - 1


def title(n):
    """Wn's name: the words of its advice before the colon (the console, the simulator's summary and plot)."""
    t = ADVICE[n]
    return t[4:t.index(":")]


def _fmt(value, decimals):
    """An integer in units of 10^-decimals as an exact decimal string (list() only)."""
    sign = "-" if value < 0 else ""
    value = -value if value < 0 else value
    p = 10 ** decimals
    s = str(value % p)
    return sign + str(value // p) + "." + "0" * (decimals - len(s)) + s


def _code_num(code):
    if isinstance(code, str):
        code = int(code.lstrip("Ww"))
    if not 1 <= code <= _MAX_CODE:
        raise ValueError("warning %r: must be 1..18 (W01..W18)" % (code,))
    return code


class Warnings:
    """W01–W13 of §13.2 as the bitmask `mask` (bit n-1 = Wn). Warnings never change SOC; a set warning stays until
    its clear rule. Every timer below is a "continuously for" count (§0.2): an outage sample (`mon.outage`)
    resets it.

    - W01 current offset likely. Per minute of op_time (the sample that completes a minute closes it): the minute
      qualifies when `I_int = 0` for ≥ 90 % of its time and its mean measured current μ = tdiv(Σ I·dt, Σ dt) has
      abs(μ) ≥ max(thr/4, 5 mA). Set after 120 consecutive qualifying minutes with the same sign of μ; cleared by
      10 consecutive minutes that do not qualify, or by a successful zero_current (`on_zero_current_ok`).
    - W02 nominal mismatch (§7), N = `mon.nominal.nominal_v`: (a) `Vch > 0` outside [1 000·N, 1 250·N] mV, set
      and cleared at once; (b) V < 750·N or V > 1 500·N mV continuously for 10 min, cleared after 10 min false;
      (c) a charging sample ≥ 60.0 V while detection runs (`mon.nominal.over60`), cleared after 10 min without.
    - W03 SOC implausible vs rest voltage: synchronised and abs(I) ≤ max(thr, 5·capacity) mA continuously for
      ≥ 60 min, and with kN = N/12 rule A (V ≤ 11 800·kN and SOC ≥ 60.0 %) or rule B (V ≥ 13 300·kN and
      SOC ≤ 20.0 %). Cleared by a sync, set_soc, or a later rest period that reaches 60 min with neither rule.
    - W04 current direction likely inverted: `Vch > 0`, V > Vch, I_int < 0 and (SOC = 0 % while synchronised, or
      I_int ≤ −I_tail), continuously for 10 min; cleared when false continuously for 10 min.
    - W05 no sync for 30 days: op_time − last sync (or first start) ≥ 2 592 000 s; follows that condition, so
      any sync clears it.
    - W06 not synchronised: follows `mon.synchronized`.
    - W07 state restored: `set(7)` by the monitor; cleared by a sync or set_soc.
    - W08 current over range / W09 voltage over range: `set(8)` / `set(9)` on each such sample (sensor driver);
      cleared after 60 s of samples without one.
    - W10 storage: `set(10)` / `clear(10)` by the app (save failed / next successful save).
    - W11 early sync: `on_sync` of an automatic sync with I_int ≤ 0 and SOC before it < 90.0 %; cleared by the
      next automatic sync without that pattern, or a manual sync.
    - W12 measurement outage: set on an outage sample (and by `set(12)`); cleared after 60 s of normal samples.
    - W13 sensor fault: `set(13)` / `clear(13)` by drivers.sensor, following the Sampler's fault state, which
      owns the §2 rule (cleared after 10 consecutive good samples); nothing here counts them a second time.
    - W14 charged voltage cannot tell full from loaded (issue 17): `Vch > 0`, V > Vch and I_int < −I_tail
      continuously for 10 min (the W04 condition without its zero-SOC case: on LiFePO4 a lead-acid Vch lies in
      the loaded plateau). Cleared when charged_voltage changes.
    - W15 lead-acid constants on a lithium bank (issue 17): the constants look like lead-acid (peukert_exponent
      > 1.10 or charge_efficiency < 98 %) and either battery_type is lfp, or a 12/24/48 V bank that has synced
      once discharged for 60 min continuously (−I_int between the threshold and C/20, at least 0.5 % of capacity
      in the hour) while V stayed above 13.0 V per 12 V: no lead-acid bank does that. Cleared when the
      constants no longer look like lead-acid.
    """

    def __init__(self, settings):
        self.settings = settings
        self.mask = 0
        self._w1_reset()
        self.w1_mu_ma = 0
        self._w1_bad = 0
        self._w2a = 0
        self._w2b = Latch(_10MIN_MS - 1, _10MIN_MS)    # set after 10 min (≥ 600 000 ms), cleared after 10 min
        self._w2c = 0
        self._w2c_off_ms = 0
        self._w3_rest_ms = 0
        self._w3_judged = 0
        self.w3_v_mv = 0
        self.w3_soc_cpct = 0
        self.w3_n = 12
        self._w4 = Latch(_10MIN_MS - 1, _10MIN_MS)
        self.w4_v_mv = 0
        self.w4_i_ma = 0
        self._quiet_ms = [0, 0, 0]      # W08, W09, W12: time since the event, cleared at 60 s (§13.2)
        self.w11_i_ma = 0
        self.w11_soc_cpct = 0
        self._w14_ms = 0
        self.w14_v_mv = 0
        self.w14_i_ma = 0
        self.w14_vch_mv = 0
        self._w15_ms = 0
        self._w15_h6 = 0
        self.w15_v_mv = 0
        self._lead_consts = 1
        self.w18_v_mv = 0
        self.w18_i_ma = 0
        self.w18_count_mah = 0
        self.w18_allowed_mah = 0

    def configure(self):
        """The thresholds come from the monitor's cached values (`thr_ma`, `i_tail_ma`, ...). A settings change
        may clear W14 (new charged_voltage) and W15 (constants no longer lead-acid), or raise W15 at once
        (battery_type lfp with lead-acid constants)."""
        v = self.settings.values
        self._lead_consts = 1 if v["peukert_exponent"] > 110 or v["charge_efficiency"] < 98 else 0
        if self.mask & W14 and v["charged_voltage"] * 100 != self.w14_vch_mv:
            self.mask &= ~W14
        if not self._lead_consts:
            self.mask &= ~W15
        elif v["battery_type"] == 1 and not self.mask & W15:
            self.mask |= W15
            self.w15_v_mv = 0                 # raised by the setting, not by a measurement

    def minute(self, mon):
        """Not needed: the per-minute work of W01 runs inside `step` on ms accumulators."""

    # ---- raised and cleared from outside -------------------------------------------------------------------
    def set(self, code):
        """Raise Wn (int n or "Wnn"). Allocation-free for an int. W08/W09 restart their 60 s, W12 its 60 s."""
        n = _code_num(code)
        self.mask |= 1 << (n - 1)
        if n == 8:
            self._quiet_ms[0] = 0
        elif n == 9:
            self._quiet_ms[1] = 0
        elif n == 12:
            self._quiet_ms[2] = 0

    def clear(self, code):
        """Clear Wn (int n or "Wnn")."""
        n = _code_num(code)
        self.mask &= ~(1 << (n - 1))
        if n == 1:
            self._w1_bad = 0

    def on_sync(self, kind_auto, i_int_ma, soc_before_cpct):
        """§4.3 sync (automatic when kind_auto): W11 set or cleared; W03, W05, W06, W07, W18 cleared."""
        m = self.mask & ~(W03 | W05 | W06 | W07 | W18)
        if kind_auto and i_int_ma <= 0 and soc_before_cpct < 9000:
            m |= W11
            self.w11_i_ma = i_int_ma
            self.w11_soc_cpct = soc_before_cpct
        else:
            m &= ~W11
        self.mask = m

    def on_set_soc(self):
        """§4.4 set_soc: W03, W06, W07, W18 cleared."""
        self.mask &= ~(W03 | W06 | W07 | W18)

    def on_withheld(self, mon):
        """shunt.sync: the sync condition held for the detection time except the count (accepted mode). Raises W18
        with the moment's numbers; cleared by a sync or set_soc. Allocation-free."""
        self.mask |= W18
        self.w18_v_mv = mon.v_mv
        self.w18_i_ma = mon.i_int_ma
        self.w18_count_mah = mon.count_mah
        self.w18_allowed_mah = mon.count_allowed_mah

    def on_zero_current_ok(self):
        """§12.2 a successful calibration clears W01 and restarts its count."""
        self.mask &= ~W01
        self._w1_reset()
        self._w1_bad = 0

    def _w1_reset(self):
        self._w1_ms = 0          # time in the current minute
        self._w1_zero_ms = 0     # … with I_int = 0
        self._w1_as = 0          # Σ I·dt of the minute = _w1_as·1000 + _w1_rem mA·ms, 0 ≤ _w1_rem < 1000
        self._w1_rem = 0
        self._w1_run = 0         # consecutive qualifying minutes with the sign _w1_sign
        self._w1_sign = 0
        self._w1_mu_sum = 0
        self._w1_mu_n = 0

    # ---- per sample -------------------------------------------------------------------------------------------
    def step(self, mon, dt_ms):
        """§0.3 step 8, after the nominal detection. Allocation-free."""
        m = self.mask
        v = mon.v_mv
        n = mon.nominal.nominal_v
        vch = mon.vch_mv
        if mon.outage:
            # §0.2: the conditions were not observed during the gap; every warning timer restarts.
            self._w1_reset()
            self._w1_bad = 0
            self._w2b.restart()
            self._w2c_off_ms = 0
            self._w3_rest_ms = 0
            self._w3_judged = 0
            self._w4.restart()
            q = self._quiet_ms
            q[0] = q[1] = q[2] = 0
            self._w14_ms = 0
            self._w15_ms = 0
            m |= W12
        else:
            m = self._w01(m, mon, dt_ms)
            # W02 (b) and (c): 10 min timers.
            c = v < 750 * n or v > 1500 * n
            self._w2b.step(c, not c, dt_ms)
            if self._w2c:
                t = self._w2c_off_ms + dt_ms
                if t >= _10MIN_MS:
                    self._w2c = 0
                    t = 0
                self._w2c_off_ms = t
            m = self._w03(m, mon, dt_ms)
            # W04: a discharge above the charged voltage, 10 min on and 10 min off.
            i_int = mon.i_int_ma
            c = vch > 0 and v > vch and i_int < 0 and ((mon.synchronized and mon.soc_zero())
                                                       or i_int <= -mon.i_tail_ma)
            if self._w4.step(c, not c, dt_ms):
                self.w4_v_mv = v
                self.w4_i_ma = i_int
            m = m | W04 if self._w4.active else m & ~W04
            m = self._chemistry(m, mon, dt_ms)
            m = self._quiet(m, W08, 0, dt_ms)
            m = self._quiet(m, W09, 1, dt_ms)
            m = self._quiet(m, W12, 2, dt_ms)
        # W02 (a) at once, (c) on the sample itself (an outage sample can be a charging sample too).
        self._w2a = 1 if (vch > 0 and (vch < 1000 * n or vch > 1250 * n)) else 0
        if mon.nominal.over60:
            self._w2c = 1
            self._w2c_off_ms = 0
        m = m | W02 if self._w2a or self._w2b.active or self._w2c else m & ~W02
        # W05, W06 follow their conditions.
        m = m | W05 if mon.op_time_s - mon.last_sync_s >= _W05_S else m & ~W05
        m = m & ~W06 if mon.synchronized else m | W06
        self.mask = m

    def _quiet(self, m, bit, k, dt_ms):
        """W08, W09, W12: cleared after 60 s of samples without their event (timer slot k)."""
        if m & bit:
            t = self._quiet_ms[k] + dt_ms
            if t >= _MIN_MS:
                m &= ~bit
                t = 0
            self._quiet_ms[k] = t
        return m

    def _w01(self, m, mon, dt_ms):
        """W01 per sample: one minute of op_time at a time (closed by `_w1_minute`)."""
        i = mon.i_ma
        t = self._w1_ms + dt_ms
        self._w1_ms = t
        if mon.i_int_ma == 0:
            self._w1_zero_ms += dt_ms
        a = self._w1_as + (i // 1000) * dt_ms
        r = self._w1_rem + (i % 1000) * dt_ms
        q = r // 1000
        a += q
        self._w1_rem = r - q * 1000
        if a > _SAT_AS:
            a = _SAT_AS
        elif a < -_SAT_AS:
            a = -_SAT_AS
        self._w1_as = a
        if t >= _MIN_MS:
            m = self._w1_minute(m, mon.thr_ma)
        return m

    def _w03(self, m, mon, dt_ms):
        """W03 per sample: a rest period of 60 min judged once against the rest-voltage rules."""
        i = mon.i_ma
        lim = 5 * mon.capacity_ah
        thr = mon.thr_ma
        if thr > lim:
            lim = thr
        if not (mon.synchronized and -lim <= i <= lim):
            self._w3_rest_ms = 0
            self._w3_judged = 0
            return m
        t = self._w3_rest_ms + dt_ms
        if t > _60MIN_MS:
            t = _60MIN_MS
        self._w3_rest_ms = t
        if t < _60MIN_MS:
            return m
        v = mon.v_mv
        n = mon.nominal.nominal_v
        rule = 0
        if 12 * v <= 11800 * n and not mon.soc_below(600):
            rule = 1
        elif 12 * v >= 13300 * n and not mon.soc_above(200):
            rule = 2
        if rule:
            if not m & W03:
                m |= W03
                self.w3_v_mv = v
                self.w3_soc_cpct = mon.soc_cpct
                self.w3_n = n
        elif not self._w3_judged:
            m &= ~W03        # a later rest period that passes
        self._w3_judged = 1
        return m

    def _chemistry(self, m, mon, dt_ms):
        """W14 and W15: settings that do not fit the chemistry (issue 17). Allocation-free."""
        v = mon.v_mv
        i_int = mon.i_int_ma
        vch = mon.vch_mv
        if vch > 0 and v > vch and i_int < -mon.i_tail_ma:
            if not m & W14:
                t = self._w14_ms + dt_ms
                if t >= _10MIN_MS:
                    m |= W14
                    self.w14_v_mv = v
                    self.w14_i_ma = i_int
                    self.w14_vch_mv = vch
                    t = 0
                self._w14_ms = t
        else:
            self._w14_ms = 0
        n = mon.nominal.nominal_v
        if (self._lead_consts and not m & W15 and mon.last_sync_kind and (n == 12 or n == 24 or n == 48)
                and 12 * v > _LEAD_REST_MV * n and i_int < 0 and -i_int <= 50 * mon.capacity_ah):
            t = self._w15_ms
            if t == 0:
                self._w15_h6 = mon.h6_mah    # cumulative mAh drawn (H6's low limb, < 10^9) at the start
            t += dt_ms
            if t >= _60MIN_MS:
                t = _60MIN_MS
                d = mon.h6_mah - self._w15_h6
                if d < 0:
                    d += _GIGA                # the limb carried into H6's 10^9 part meanwhile
                if d >= 5 * mon.capacity_ah:  # 0.5 % of capacity drawn in the hour
                    m |= W15
                    self.w15_v_mv = v
                    t = 0
            self._w15_ms = t
        else:
            self._w15_ms = 0
        return m

    def _w1_minute(self, m, thr_ma):
        """Close one minute of W01 (§13.2). Small ints only: Σ I·dt is split as _w1_as·1000 + _w1_rem."""
        tot = self._w1_ms
        a = self._w1_as
        r = self._w1_rem
        # μ = tdiv(a·1000 + r, tot) without forming the product.
        if a < 0:
            neg = 1
            if r:
                a = -a - 1
                r = 1000 - r
            else:
                a = -a
        else:
            neg = 0
        q = a // tot
        mu = q * 1000 + ((a - q * tot) * 1000 + r) // tot
        if neg:
            mu = -mu
        amu = -mu if mu < 0 else mu
        ok = self._w1_zero_ms * 10 >= tot * 9 and amu >= 5 and 4 * amu >= thr_ma
        self._w1_ms = 0
        self._w1_zero_ms = 0
        self._w1_as = 0
        self._w1_rem = 0
        if ok:
            self._w1_bad = 0
            sign = 1 if mu > 0 else -1
            if sign != self._w1_sign:
                self._w1_sign = sign
                self._w1_run = 0
                self._w1_mu_sum = 0
                self._w1_mu_n = 0
            if self._w1_run < _W01_SET_MIN:
                self._w1_run += 1
            if mu > _MU_CLAMP:
                mu = _MU_CLAMP
            elif mu < -_MU_CLAMP:
                mu = -_MU_CLAMP
            s = self._w1_mu_sum + mu
            k = self._w1_mu_n + 1
            if k > _MU_N:
                s = -((-s) // 2) if s < 0 else s // 2
                k = k // 2
            self._w1_mu_sum = s
            self._w1_mu_n = k
            if self._w1_run >= _W01_SET_MIN:
                m |= W01
                self.w1_mu_ma = -((-s) // k) if s < 0 else s // k
        else:
            self._w1_run = 0
            self._w1_sign = 0
            self._w1_mu_sum = 0
            self._w1_mu_n = 0
            if m & W01:
                self._w1_bad += 1
                if self._w1_bad >= _W01_CLEAR_MIN:
                    m &= ~W01
                    self._w1_bad = 0
        return m

    # ---- report (allocation allowed) -------------------------------------------------------------------------
    def list(self, mon):
        """[(code, advice)] of the active warnings, in code order, each advice one sentence with its numbers."""
        out = []
        m = self.mask
        for n in range(1, len(ADVICE)):
            if not m >> (n - 1) & 1:
                continue
            out.append(("W%02d" % n, self._advice(n, mon)))
        return out

    def _advice(self, n, mon):
        t = ADVICE[n]
        text = t[4:]
        if n == 1:
            mu = self.w1_mu_ma
            a = -mu if mu < 0 else mu
            cap = mon.capacity_ah if mon.capacity_ah > 0 else 1
            return text % (str(mu), a * 24, _fmt(a * 240 // cap, 2))
        if n == 2:
            nv = mon.nominal.nominal_v
            parts = []
            if self._w2a:
                parts.append("charged_voltage %s V is outside %s-%s V for a %d V system"
                             % (_fmt(mon.vch_mv // 100, 1), _fmt(10 * nv, 1), _fmt(125 * nv // 10, 1), nv))
            if self._w2b.active:
                parts.append("the battery voltage stayed outside %s-%s V for 10 min for a %d V system (now %s V)"
                             % (_fmt(75 * nv // 10, 1), _fmt(15 * nv, 1), nv, _fmt(mon.v_mv // 10, 2)))
            if self._w2c:
                parts.append("a charging voltage of 60.0 V or more was seen, above the 48 V class")
            return text % "; ".join(parts or ["voltage class and settings disagree"])
        if n == 3:
            return text % (_fmt(self.w3_soc_cpct, 2), _fmt(self.w3_v_mv // 10, 2), self.w3_n)
        if n == 4:
            return text % (_fmt(self.w4_v_mv // 10, 2), -self.w4_i_ma)
        if n == 5:
            return text % ((mon.op_time_s - mon.last_sync_s) // 86400)
        if n == 11:
            return text % (self.w11_i_ma, _fmt(self.w11_soc_cpct, 2))
        if n == 12:
            return text % getattr(mon, "unmeasured_s", 0)
        if n == 14:
            k = mon.nominal.nominal_v
            if self.settings.values["battery_type"] == 1:
                fix = ("for LiFePO4 use about %s V, 0.2 V below absorption (or apply_battery_type)"
                       % _fmt(140 * k // 12, 1))
            else:
                fix = ("if this is a lithium bank, set battery_type lfp and apply_battery_type (charged_voltage %s V, "
                       "0.2 V below absorption); sync_mode accepted keeps such loads from syncing"
                       % _fmt(140 * k // 12, 1))
            return text % (_fmt(self.w14_vch_mv // 100, 1), _fmt(self.w14_i_ma // 10, 2),
                           _fmt(self.w14_v_mv // 10, 2), fix)
        if n == 15:
            v = self.settings.values
            k = mon.nominal.nominal_v
            why = ("battery_type is lfp" if not self.w15_v_mv else
                   "the bank discharged for an hour above %s V (%s V at the end), which no %d V lead-acid bank does"
                   % (_fmt(_LEAD_REST_MV * k // 12 // 100, 1), _fmt(self.w15_v_mv // 10, 2), k))
            return text % (why, _fmt(v["peukert_exponent"], 2), v["charge_efficiency"])
        if n == 16:
            aux = mon.aux
            from shunt.settings import row
            hw = ("second INA226 at I2C 0x41", "second INA226 at I2C 0x41", "DS18B20 on the 1-Wire pin", "-")
            return text % (row("aux_input")[7][aux.mode], getattr(aux, "error", None) or hw[aux.mode])
        if n == 17:
            t = mon.aux.value
            return text % (_fmt(t, 2) if t is not None else "---")
        if n == 18:
            return text % (_fmt(self.w18_v_mv // 10, 2), _fmt(mon.vch_mv // 100, 1), _fmt(self.w18_i_ma // 10, 2),
                           _fmt(-self.w18_count_mah // 100, 1), _fmt(self.w18_allowed_mah // 100, 1))
        return text
