# The battery monitor core: exact charge counting, sync, time-to-go, history, and the per-sample pipeline.
# Spec: battery-monitor.md §0.2-§0.3 (integer rules, pipeline), §3-§6, §9, §13.1, §14.1 (state), Appendix A.
from micropython import const

from shunt.fixed import (CU_PER_MAH, GIGA, GIGA_MAX, rate_cu, rate_add_pu, acc_add, acc_sub, energy_add,
                         energy_rem, energy_set, giga_carry, split_giga, mul_rdiv_1e6)
from shunt.peukert import Peukert
from shunt.alarms import Alarms
from shunt.relay import Relay
from shunt.nominal import Nominal
from shunt.warnings import Warnings
from shunt.ttg import Ttg, minutes as ttg_minutes
from shunt import sync
from shunt import history
from shunt.aux import Aux, TEMPERATURE

_OUTAGE_MS = const(5000)
# Temperature coefficient of capacity (setting temp_coefficient, HEX 0xEEF4): below 20 °C the SOC's reference
# capacity shrinks by the coefficient per °C; above 20 °C it is the set capacity (Victron: README "The aux input").
_REF_CC = const(2000)         # 20 °C in 0.01 °C
_LOSS_MAX = const(90000)      # at most 90 % of the capacity (in 10^-5): the reference capacity never reaches 0

# Accumulators (shunt.fixed) are slices of one list q: [mAh, remainder cu, fraction pu].
_CE = const(0)      # CE: 0 mah, 1 rem
_QP = const(2)      # Qp: 2 mah, 3 rem, 4 frac
_A = const(5)       # strict accepted charge: 5, 6
_H6 = const(7)      # cumulative Ah drawn: 7 mah (< 10^9), 8 rem, 9 giga (10^9 mAh; shunt.fixed.giga_carry)
_TP = const(10)     # throughput since last sync: 10, 11, 12 as H6
_ACC_LEN = const(13)
_E_LEN = const(5)   # energy accumulators (shunt.fixed.energy_add)
# Lifetime limits on the ESP32's small ints (±2^30), so that the per-sample step never allocates however long the
# device runs (issue 13): H6 and throughput carry whole 10^9 mAh in a third limb and saturate only at 2^30 - 1 of
# those (about 10^18 mAh); depth_sum is kept the same way (shunt.history). CE saturates at -10^9 mAh (10^6 Ah,
# 100x the largest capacity: it gets there only when the monitor never syncs) and A at +10^9 mAh (it is compared
# with at most 9 999 mAh), so H1, H2 and cycle_min stay small too. H4, H5, H10-H12, op_time_s (34 years) and
# H17/H18 (10.7 GWh) saturate at 2^30 - 1. The record holds every one of these exactly (§14.1, format version 2),
# and a restored record is saturated the same way.
_CE_MIN = const(-1000000000)

SYNC_NONE = const(0)
SYNC_AUTO = const(1)
SYNC_MANUAL = const(2)

# The state record (§14.1), format version shunt.record.VERSION = 3. Version 2 widens tp_mah and h6_mah to u64:
# a lifetime counter passes 2^32 - 1 mAh (4 295 kAh) within the device's life on a big bank, and from then on
# every save would fail.
STATE_FIELDS_V1 = (
    ("op_time_s", "I"), ("ce_mah", "i"), ("ce_rem", "I"), ("qp_mah", "I"), ("qp_rem_cu", "I"), ("qp_frac", "H"),
    ("synchronized", "B"), ("sync_timer_ms", "I"), ("a_mah", "I"), ("a_rem", "I"), ("h4_armed", "B"),
    ("h5_armed", "B"), ("below90", "B"), ("h78_valid", "B"), ("relay_remote", "B"), ("last_sync_kind", "B"),
    ("last_sync_s", "I"), ("last_sync_soc", "H"), ("last_sync_i_ma", "i"), ("last_set_soc_s", "I"),
    ("last_set_soc", "h"), ("near_miss_ms", "I"), ("near_miss_term", "B"), ("near_miss_s", "I"),
    ("max_v_current_ok_mv", "i"), ("min_i_voltage_ok_ma", "i"), ("tp_mah", "I"), ("tp_rem", "I"), ("h1", "i"),
    ("h2", "i"), ("h4", "I"), ("h5", "I"), ("h10", "I"), ("h11", "I"), ("h12", "I"), ("h6_mah", "I"),
    ("h6_rem", "I"), ("h7", "i"), ("h8", "i"), ("h9_ref_s", "I"), ("depth_sum", "q"), ("cycle_min", "i"),
    ("e_dis_cwh", "I"), ("e_dis_rem", "Q"), ("e_chg_cwh", "I"), ("e_chg_rem", "Q"), ("nominal_v", "B"),
    ("nominal_chg_s", "H"), ("nominal_stopped", "B"),
)
STATE_FIELDS_V2 = tuple((n, "Q" if n in ("tp_mah", "h6_mah") else c) for n, c in STATE_FIELDS_V1)
# Format version 3 (issue 18) appends the aux history H13-H16 (shunt.aux).
AUX_FIELDS = (("aux_h13", "I"), ("aux_h14", "I"), ("aux_h15", "i"), ("aux_h16", "i"), ("aux_h1516_valid", "B"))
STATE_FIELDS = STATE_FIELDS_V2 + AUX_FIELDS
STATE_NAMES = tuple(f[0] for f in STATE_FIELDS)


def _with_aux(d):
    # an older record has no aux history: it starts at 0, every other value is kept
    for name, _ in AUX_FIELDS:
        d[name] = 0
    return d


# Older layouts and how their values become this version's (shunt.record.Codec): v1 -> v3 and v2 -> v3 keep every
# value and add the aux history at 0.
STATE_MIGRATIONS = {1: (STATE_FIELDS_V1, _with_aux), 2: (STATE_FIELDS_V2, _with_aux)}


class Monitor:
    """One battery monitor. `sample()` is the per-sample step; `second()` the once-per-second step (§0.3)."""

    def __init__(self, settings):
        self.settings = settings
        self.q = [0] * _ACC_LEN
        self.e_dis = [0] * _E_LEN
        self.e_chg = [0] * _E_LEN
        self._r_ce = [0, 0, 0, 0]   # CE/throughput rate of the cached current (charge: ·cef, discharge: ·100)
        self._r_qp = [0, 0, 0, 0]   # Qp rate for discharge (·100·F16)
        self._r_for = 0             # I_int the rates were computed for (0: none)
        self._peukert = Peukert()   # one G table (3 KB) serves the samples and, once a second, TTG
        self.ttg = Ttg()
        self.alarms = Alarms(settings)
        self.relay = Relay(settings)
        self.nominal = Nominal(settings)
        self.warn = Warnings(settings)
        self.aux = Aux(settings)
        # the per-sample step calls these bound methods: looked up once here, not once per sample
        self._ttg_add = self.ttg.add
        self._alarms_step = self.alarms.step
        self._relay_step = self.relay.step
        self._nominal_step = self.nominal.step
        self._warn_step = self.warn.step
        # measured values of the latest sample
        self.v_mv = 0
        self.i_ma = 0
        self.i_int_ma = 0
        self.count_ok = 1           # sync.count_check, once a second: the count agrees the battery was refilled
        self.count_mah = 0
        self.count_allowed_mah = 0
        self.outage = 0
        self.measure_failed = 0     # set by the app during a sensor fault (VE.Direct V, I, P not available)
        self.unmeasured_s = 0
        self._unmeasured_ms = 0
        self.op_time_s = 0
        self._op_ms = 0
        self.hist = [0] * 19
        self._cap_mah = settings.values["capacity"] * 1000
        self.cap_eff_mah = self._cap_mah
        self._reset_state()
        self.configure()
        settings.add_listener(self._on_setting)

    # ---- state ---------------------------------------------------------------------------------------------
    def _reset_state(self):
        """Start-up without a record (§4.5)."""
        for k in range(_ACC_LEN):
            self.q[k] = 0
        self.synchronized = 1 if self.settings.values["start_synchronized"] else 0
        self.restored = 0
        self.sync_timer_ms = 0
        self.last_sync_kind = SYNC_NONE
        self.last_sync_s = self.op_time_s
        self.last_sync_soc = 0
        self.last_sync_i_ma = 0
        self.last_set_soc_s = 0
        self.last_set_soc = -1
        self._reset_sync_diag()
        self._clear_history_values()
        self.ttg.reset()

    def _reset_sync_diag(self):
        sync.reset_diag(self)
        self.q[_TP] = 0
        self.q[_TP + 1] = 0
        self.q[_TP + 2] = 0

    def _clear_history_values(self):
        history.clear(self)
        self.q[_H6] = 0
        self.q[_H6 + 1] = 0
        self.q[_H6 + 2] = 0
        for e in (self.e_dis, self.e_chg):
            for k in range(_E_LEN):
                e[k] = 0

    def get_state(self, d=None):
        """The state record's fields (§14.1) as a dict of ints. `d`, a dict from an earlier call, is refilled in
        place: the app asks once a second, and a new dict of 56 entries each time was the peak of its heap."""
        if d is None:
            d = dict.fromkeys(STATE_NAMES)      # sized once: growing a {} 54 times leaves 2 KB of garbage
        q = self.q
        d["op_time_s"] = self.op_time_s
        d["ce_mah"] = q[_CE]
        d["ce_rem"] = q[_CE + 1]
        d["qp_mah"] = q[_QP]
        d["qp_rem_cu"] = q[_QP + 1]
        d["qp_frac"] = q[_QP + 2]
        d["synchronized"] = self.synchronized
        d["sync_timer_ms"] = self.sync_timer_ms
        d["a_mah"] = q[_A]
        d["a_rem"] = q[_A + 1]
        d["h4_armed"] = self.h4_armed
        d["h5_armed"] = self.h5_armed
        d["below90"] = self.below90
        d["h78_valid"] = self.h78_valid
        d["relay_remote"] = self.relay.remote_on
        d["last_sync_kind"] = self.last_sync_kind
        d["last_sync_s"] = self.last_sync_s
        d["last_sync_soc"] = self.last_sync_soc
        d["last_sync_i_ma"] = self.last_sync_i_ma
        d["last_set_soc_s"] = self.last_set_soc_s
        d["last_set_soc"] = self.last_set_soc
        d["near_miss_ms"] = self.near_miss_ms
        d["near_miss_term"] = self.near_miss_term
        d["near_miss_s"] = self.near_miss_s
        d["max_v_current_ok_mv"] = self.max_v_current_ok_mv
        d["min_i_voltage_ok_ma"] = self.min_i_voltage_ok_ma
        d["tp_mah"] = q[_TP + 2] * GIGA + q[_TP]
        d["tp_rem"] = q[_TP + 1]
        d["h1"] = self.h1
        d["h2"] = self.h2
        d["h4"] = self.h4
        d["h5"] = self.h5
        d["h10"] = self.h10
        d["h11"] = self.h11
        d["h12"] = self.h12
        d["h6_mah"] = q[_H6 + 2] * GIGA + q[_H6]
        d["h6_rem"] = q[_H6 + 1]
        d["h7"] = self.h7
        d["h8"] = self.h8
        d["h9_ref_s"] = self.h9_ref_s
        d["depth_sum"] = self.depth_giga * GIGA + self.depth_mah
        d["cycle_min"] = self.cycle_min
        d["e_dis_cwh"] = self.e_dis[0]
        d["e_dis_rem"] = energy_rem(self.e_dis)
        d["e_chg_cwh"] = self.e_chg[0]
        d["e_chg_rem"] = energy_rem(self.e_chg)
        d["nominal_v"] = self.nominal.nominal_v
        d["nominal_chg_s"] = self.nominal.chg_s
        d["nominal_stopped"] = self.nominal.stopped
        a = self.aux
        d["aux_h13"] = a.h13
        d["aux_h14"] = a.h14
        d["aux_h15"] = a.h15
        d["aux_h16"] = a.h16
        d["aux_h1516_valid"] = a.h1516_valid
        return d

    def set_state(self, d):
        """Restore a state record completely (§4.5) and mark it restored (W07). The caller validated the record."""
        q = self.q
        self._op_ms = 0
        # the saturation limits of the per-sample step apply to a restored record too (older firmware, v1)
        if d["ce_mah"] < _CE_MIN:
            q[_CE], q[_CE + 1] = _CE_MIN, 0
        else:
            q[_CE], q[_CE + 1] = d["ce_mah"], d["ce_rem"]
        q[_QP], q[_QP + 1], q[_QP + 2] = d["qp_mah"], d["qp_rem_cu"], d["qp_frac"]
        if d["a_mah"] > GIGA:
            q[_A], q[_A + 1] = GIGA, 0
        else:
            q[_A], q[_A + 1] = d["a_mah"], d["a_rem"]
        for k, name in ((_TP, "tp"), (_H6, "h6")):
            q[k + 2], q[k] = split_giga(d[name + "_mah"])
            q[k + 1] = d[name + "_rem"]
        for name in ("synchronized", "sync_timer_ms", "h4_armed", "h5_armed", "below90", "h78_valid",
                     "last_sync_kind", "last_sync_s", "last_sync_soc", "last_sync_i_ma", "last_set_soc_s",
                     "last_set_soc", "near_miss_ms", "near_miss_term", "near_miss_s", "max_v_current_ok_mv",
                     "min_i_voltage_ok_ma", "h7", "h8", "h9_ref_s"):
            setattr(self, name, d[name])
        for name in ("op_time_s", "h4", "h5", "h10", "h11", "h12"):
            v = d[name]
            setattr(self, name, v if v < GIGA_MAX else GIGA_MAX)
        for name in ("h1", "h2", "cycle_min"):
            v = d[name]
            setattr(self, name, v if v > _CE_MIN else _CE_MIN)
        v = d["depth_sum"]
        g, r = split_giga(-v if v < 0 else 0)           # cycle depths are ≤ 0
        self.depth_giga = -g
        self.depth_mah = -r
        self.relay.remote_on = d["relay_remote"]
        energy_set(self.e_dis, d["e_dis_cwh"], d["e_dis_rem"])
        energy_set(self.e_chg, d["e_chg_cwh"], d["e_chg_rem"])
        self.nominal.load(d["nominal_v"], d["nominal_chg_s"], d["nominal_stopped"])
        self.aux.set_state(d)
        self._clamp_qp()
        self.restored = 1
        self.warn.set(7)
        self.ttg.reset()
        self.refresh()

    # ---- settings ------------------------------------------------------------------------------------------
    def _on_setting(self, name, user):
        if user and name == "charged_voltage":
            self.nominal.user_edit()
        elif name == "nominal_voltage":
            if self.settings.values["nominal_voltage"]:
                self.nominal.user_edit()
            else:
                self.nominal.restart()
        self.aux.configure()
        self.configure()

    def configure(self):
        """Cache what the per-sample step needs; called after any settings change (§1: never changes CE or Qp,
        except that a smaller capacity clamps Qp)."""
        v = self.settings.values
        self.capacity_ah = v["capacity"]
        self._cap_mah = v["capacity"] * 1000
        self.cef = v["charge_efficiency"]
        self.thr_ma = v["current_threshold"] * 10
        self.i_tail_ma = v["capacity"] * v["tail_current"]
        self.vch_mv = v["charged_voltage"] * 100
        self.detect_ms = v["charged_detection_time"] * 60000
        sync.configure(self, v["sync_mode"])
        self._temp_capacity()
        self._peukert.configure(v["peukert_exponent"] - 100, v["capacity"] * 50, v["peukert_mode"])
        self._r_for = 0
        self._clamp_qp()
        self.alarms.configure()
        self.relay.configure()
        self.nominal.configure()
        self.warn.configure()
        self.ttg.set_window(v["ttg_averaging"] * 60)
        self.refresh()

    def _temp_capacity(self):
        """The SOC's reference capacity C_eff in mAh, once per second and per settings change, never per sample.
        temp_coefficient k (0.1 %/°C) with aux_input temperature and a reading T (0.01 °C) below 20 °C:
        C_eff = C·(1 − k·(20 °C − T)/1000), at least 10 % of C, rounded down to 10 mAh so that the history's 90 %
        and 10 % marks stay whole mAh. Otherwise (k = 0, another mode, no reading, T ≥ 20 °C) C_eff = C exactly,
        and every result is the one without the coefficient. CE, Qp and the Qp clamp keep the set capacity."""
        cap = self.capacity_ah
        k = self.settings.values["temp_coefficient"]
        aux = self.aux
        t = aux.value if aux.mode == TEMPERATURE else None
        if k and t is not None and t < _REF_CC:
            loss = k * (_REF_CC - t)                # 10^-5 of C: ≤ 200·(2000 + 27315), a small int
            if loss > _LOSS_MAX:
                loss = _LOSS_MAX
            c = cap * (100000 - loss) // 1000 * 10  # cap·10^5 ≤ 9999·10^5 < 2^30
        else:
            c = cap * 1000
        self.cap_eff_mah = c
        self.m900_mah = c // 10                     # Qp below this: SOC above 90 % (history, §9)
        self.m100_mah = c // 10 * 9                 # Qp below this: SOC above 10 %

    def _clamp_qp(self):
        q = self.q
        if q[_QP] > self._cap_mah or (q[_QP] == self._cap_mah and (q[_QP + 1] or q[_QP + 2])):
            q[_QP] = self._cap_mah
            q[_QP + 1] = 0
            q[_QP + 2] = 0

    # ---- exact SOC comparisons (§0.2, Appendix A) ------------------------------------------------------------
    def _qp_vs(self, x_pm):
        """Qp against the Qp of SOC = x (0.1 % units), C_eff·(1000 − x)/1000, exactly: −1, 0 or 1. Small ints:
        the mark is m mAh + lim cu, with C_eff = 1000·a + b."""
        c = self.cap_eff_mah
        k = 1000 - x_pm
        a = c // 1000
        t = (c - a * 1000) * k                   # < 10^6
        u = t // 1000
        m = a * k + u                            # ≤ 10^7
        q = self.q
        qp = q[_QP]
        if qp != m:
            return 1 if qp > m else -1
        lim = (t - u * 1000) * 360000            # the mark's rest in cu (U/1000 per 1/1000 mAh), < 3.6·10^8
        rem = q[_QP + 1]
        if rem != lim:
            return 1 if rem > lim else -1
        return 1 if q[_QP + 2] else 0

    def soc_below(self, x_pm):
        """SOC < x (0.1 % units), exactly."""
        return self._qp_vs(x_pm) > 0

    def soc_above(self, x_pm):
        """SOC > x (0.1 % units), exactly."""
        return self._qp_vs(x_pm) < 0

    def soc_zero(self):
        """SOC = 0: Qp at C_eff (= the set capacity, where Qp is clamped, without a temperature coefficient)."""
        return self.q[_QP] >= self.cap_eff_mah

    def ce_mah_now(self):
        """tdiv(CE, U) of the current state (§3.5), without a long integer."""
        c = self.q[_CE]
        return c + 1 if c < 0 and self.q[_CE + 1] else c

    # ---- the per-sample step (§0.3 steps 2-8) -------------------------------------------------------------
    def sample(self, v_mv, i_ma, dt_ms):
        """One measurement. Returns how many whole seconds of op_time it completed; call second() that often.
        Allocation-free: straight-line code over attributes and the bound methods cached in __init__."""
        self.v_mv = v_mv
        self.i_ma = i_ma
        # op_time advances by the whole dt; integration covers at most 5 s (§2)
        ms = self._op_ms + dt_ms
        secs = ms // 1000
        self._op_ms = ms - secs * 1000
        t = self.op_time_s
        self.op_time_s = t + secs if t <= GIGA_MAX - secs else GIGA_MAX       # 34 years: saturates
        dt = dt_ms
        self.outage = 0
        if dt > _OUTAGE_MS:
            self.outage = 1
            x = self._unmeasured_ms + dt - _OUTAGE_MS
            s = x // 1000
            self.unmeasured_s += s
            self._unmeasured_ms = x - s * 1000
            dt = _OUTAGE_MS
            self.warn.set(12)
        # step 2: threshold (§3.4)
        i_int = i_ma
        if (i_ma if i_ma >= 0 else -i_ma) < self.thr_ma:
            i_int = 0
        self.i_int_ma = i_int
        self._ttg_add(i_int, dt, secs)
        synced = self.synchronized
        self._integrate(i_int, v_mv, dt)
        # step 5: history (§9)
        q = self.q
        ce = q[_CE]
        if ce < 0 and q[_CE + 1]:
            ce += 1
        history.step(self, synced, ce, q[_QP], v_mv)
        # step 6: sync condition, timer, automatic sync (§4.1)
        if sync.step(self, v_mv, i_int, q[_A], dt):
            self._sync(SYNC_AUTO)
        # step 7: alarms, then relay (§10, §11)
        started = self._alarms_step(self, dt_ms)
        if started & 1 and self.h11 < GIGA_MAX:
            self.h11 += 1
        if started & 2 and self.h12 < GIGA_MAX:
            self.h12 += 1
        self.alarm_bits = self.alarms.bits | self.aux.bits   # live, like V and I: the text carries the alarm state
        self._relay_step(self, dt_ms)
        self.relay_active = self.relay.active
        self.relay_energised = self.relay.energised
        # step 8: nominal voltage and warnings (§7, §13.2)
        self._nominal_step(self, dt_ms)
        self._warn_step(self, dt_ms)
        return secs

    def _integrate(self, i_int, v_mv, dt):
        """Steps 3 and 4: strict accepted charge, then CE, Qp, H6, throughput and energy with their clamps."""
        if i_int != self._r_for and i_int:
            self._rates(i_int)
        q = self.q
        if i_int > 0:
            # step 3: strict accepted charge, before integration (§4.1)
            if q[_QP] or q[_QP + 1] or q[_QP + 2] or not self.synchronized:
                acc_add(q, _A, self._r_ce, dt)
                if q[_A] >= GIGA:               # compared with at most 9 999 mAh: saturating changes nothing
                    q[_A] = GIGA
                    q[_A + 1] = 0
            # step 4: integrate (§3.2) with the clamps
            acc_add(q, _CE, self._r_ce, dt)
            if q[_CE] >= 0:
                q[_CE] = 0
                q[_CE + 1] = 0
            acc_sub(q, _QP, self._r_ce, dt)
            if q[_QP] < 0:
                q[_QP] = q[_QP + 1] = q[_QP + 2] = 0
            acc_add(q, _TP, self._r_ce, dt)
            if q[_TP] >= GIGA:
                giga_carry(q, _TP)
            energy_add(self.e_chg, v_mv if v_mv > 0 else 0, i_int, dt)
        elif i_int < 0:
            acc_sub(q, _CE, self._r_ce, dt)
            if q[_CE] < _CE_MIN:
                q[_CE] = _CE_MIN
                q[_CE + 1] = 0
            acc_add(q, _H6, self._r_ce, dt)
            if q[_H6] >= GIGA:
                giga_carry(q, _H6)
            acc_add(q, _TP, self._r_ce, dt)
            if q[_TP] >= GIGA:
                giga_carry(q, _TP)
            acc_add(q, _QP, self._r_qp, dt)
            if q[_QP] >= self._cap_mah:
                self._clamp_qp()
            energy_add(self.e_dis, v_mv if v_mv > 0 else 0, -i_int, dt)

    def _rates(self, i_int):
        """Rate vectors of this current; recomputed only when I_int changes (the same reading gives the same I).
        Charge: CE and Qp move by I·CEF (§3.2); discharge: CE by I, Qp by I·F16 (Peukert, §3.3)."""
        self._r_for = i_int
        if i_int > 0:
            rate_cu(self._r_ce, i_int, self.cef)
        else:
            a = -i_int
            rate_cu(self._r_ce, a, 100)
            f = self._peukert.f16(a)
            fh = f >> 16
            r = self._r_qp
            rate_cu(r, a, 100 * fh)
            rate_add_pu(r, a, 100 * (f & 0xFFFF))

    # ---- sync and commands (§4.3, §4.4, §9, §12) -------------------------------------------------------------
    def _sync(self, kind):
        q = self.q
        soc_before = self._soc_cpct()
        if kind == SYNC_AUTO:
            if self.below90 and self.h10 < GIGA_MAX:
                self.h10 += 1
            self.warn.on_sync(1, self.i_int_ma, soc_before if self.synchronized else 10000)
        else:
            self.warn.on_sync(0, self.i_int_ma, soc_before)
        self.below90 = 0
        for k in (_CE, _CE + 1, _QP, _QP + 1, _QP + 2, _A, _A + 1):
            q[k] = 0
        self.synchronized = 1
        self.restored = 0
        self.sync_timer_ms = 0
        self.h9_ref_s = self.op_time_s
        self.h2 = 0
        self.last_sync_kind = kind
        self.last_sync_s = self.op_time_s
        self.last_sync_soc = soc_before
        self.last_sync_i_ma = self.i_int_ma
        self._reset_sync_diag()

    def synchronize(self):
        """Manual sync (§4.4)."""
        self._sync(SYNC_MANUAL)
        self.refresh()

    def set_soc(self, cpct):
        """Set SOC to cpct (0.01 %) exactly (§4.4)."""
        if not isinstance(cpct, int) or isinstance(cpct, bool) or not 0 <= cpct <= 10000:
            raise ValueError("set_soc %r: must be 0.00..100.00 %% in steps of 0.01" % (cpct,))
        if cpct == 10000:
            self.synchronize()
            return
        # Qp = C_eff·r/10000 mAh exactly (C_eff: the SOC shown is cpct at once, also on a cold bank)
        x = self.cap_eff_mah * (10000 - cpct)
        q = self.q
        q[_QP] = x // 10000
        q[_QP + 1] = (x % 10000) * 36000
        q[_QP + 2] = 0
        ce = -x * 36000                        # cu
        q[_CE] = ce // CU_PER_MAH
        q[_CE + 1] = ce % CU_PER_MAH
        self.synchronized = 1
        self.restored = 0
        self.sync_timer_ms = 0
        self.last_set_soc = cpct
        self.last_set_soc_s = self.op_time_s
        self.warn.on_set_soc()
        self.refresh()

    def clear_history(self):
        """§9: every history value to 0; CE, Qp, sync and settings untouched."""
        self._clear_history_values()
        self.refresh()

    def restore_defaults(self):
        self.settings.restore_defaults()
        self.nominal.restart()
        self.configure()

    def relay_remote(self, on):
        """Remote relay command (§11.1); ValueError unless relay_mode is remote."""
        changed = self.relay.remote(1 if on else 0)
        self.refresh()
        return changed

    def zero_current_ok(self):
        """A successful zero-current calibration (§12.2) clears W01."""
        self.warn.on_zero_current_ok()

    # ---- the once-per-second step (§0.3 step 9) ------------------------------------------------------------
    def second(self):
        """Close one second's TTG slot, then refresh TTG, SOC, CE, P and history values (§5, §8)."""
        self.ttg.second()
        self.aux.second(self)       # the aux input is read and judged once a second, never per sample
        self._temp_capacity()       # and so is the temperature-compensated capacity
        self.refresh()

    def _soc_cpct(self):
        """fdiv(10000·(C_pu − Qp), C_pu) (§3.5) with C = C_eff, 0 when Qp ≥ C_eff (a cold bank: Qp is kept against
        the set capacity), in small integers, so that a sync inside the per-sample step can record it without a
        long integer: SOC = 10000 − ⌈(10000·qp_mah + y)/C_eff⌉ with y = 10000·(qp_rem + qp_frac/65536)/U ∈
        [0, 10000), 10000·qp_mah split into two steps of 100 (each below 10^9), y compared exactly."""
        q = self.q
        d = self.cap_eff_mah
        qp = q[_QP]
        if qp >= d:
            return 0
        t = 100 * qp
        q1 = t // d
        t = 100 * (t - q1 * d)
        q2 = t // d
        r0 = t - q2 * d
        q0 = 100 * q1 + q2
        rem = q[_QP + 1]
        frac = q[_QP + 2]
        if rem == 0 and frac == 0:
            c = 1 if r0 else 0
        else:
            c = 1
            while True:
                z = c * d - r0                 # ≥ 1; y ≤ z ⇔ ⌈(r0 + y)/d⌉ ≤ c
                if z >= 10000:
                    break
                lim = z * 36000                # y > z ⇔ rem + frac/65536 > z·U/10000
                if rem < lim or (rem == lim and frac == 0):
                    break
                c += 1
        return 10000 - q0 - c

    def _qp(self):
        q = self.q
        return (q[_QP] * CU_PER_MAH + q[_QP + 1]) * 65536 + q[_QP + 2]

    def avg_current_ma(self):
        """Ī for TTG (§5): boxcar over the window of complete slots, else the latest I_int."""
        return self.ttg.average_ma(self.i_int_ma)

    def refresh(self):
        """Recompute every reported value (§3.5, §5, §8, §9)."""
        self.soc_cpct = self._soc_cpct()
        self.soc_permille = self.soc_cpct // 10
        self.ce_mah = self.ce_mah_now()
        sync.count_check(self, self.ce_mah, self.q[_A], self.q[_QP])
        self.ttg_min = self.ttg_at(self.avg_current_ma())
        q = self.q
        self.h6_giga = q[_H6 + 2]       # the text prints H6 from these two limbs, without a long integer
        self.h6_mah = q[_H6]
        history.report(self, self.hist, q[_H6 + 2], q[_H6], self.e_dis[0], self.e_chg[0])
        self.alarm_bits = self.alarms.bits | self.aux.bits
        self.relay_active = self.relay.active
        self.relay_energised = self.relay.energised

    def ttg_at(self, ibar):
        """TTG in minutes for an average current ibar (§5): -1 when not discharging, 0 at or below the floor."""
        f16 = self._peukert.f16(-ibar) if ibar < 0 else 0
        return ttg_minutes(ibar, self.cap_eff_mah, self._qp(), self.settings.values["discharge_floor"], f16)

    def power_w(self):
        """P = rdiv(V·I, 10^6) W (§6)."""
        return mul_rdiv_1e6(self.v_mv, self.i_ma)

    # ---- diagnostics (§13.1) ---------------------------------------------------------------------------------
    def sync_status(self):
        """Every field of §13.1 (shunt.sync.status)."""
        q = self.q
        return sync.status(self, q[_A], q[_TP + 2] * GIGA + q[_TP])

    @property
    def warnings(self):
        """The active warnings, live (bit n-1 = Wn): a sensor fault raises W13 while no sample arrives."""
        return self.warn.mask

    def warning_list(self):
        return self.warn.list(self)
