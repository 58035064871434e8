# The battery monitor core: exact charge counting, sync, time-to-go, history, and the per-sample pipeline.
# Spec: battery-monitor.md §0.2-§0.3 (integer rules, pipeline), §3-§6, §9, §13.1, §14.1 (state), Appendix A.
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

from array import array

from shunt.peukert import Peukert
from shunt.alarms import Alarms
from shunt.relay import Relay
from shunt.nominal import Nominal
from shunt.warnings import Warnings
from shunt.aux import Aux

# Units (§0.1). cu = 0.01 mA·ms; pu = cu / 65536.
CU_PER_MAH = const(360000000)
_U = const(360000000)
_U_HI = const(36000)          # _U = _U_HI · 10^4
_L = const(10000)             # decimal limb
_U_512 = const(703125)        # _U = 512 · _U_512
_OUTAGE_MS = const(5000)
_GAP_MS = const(1000)
_TTG_SLOTS = const(720)
_NO_MIN_I = const(0x3FFFFFFF)   # "none yet"; 2^30 - 1 is still a small int on the ESP32

# Rate vectors: a per-ms rate R = R[0] mAh + R[1]·10^4 cu + R[2] cu + R[3] pu, with R[1] < 36000, R[2] < 10^4,
# R[3] < 65536. Applying R·dt for dt ≤ 5000 ms keeps every product below 2^30 (Appendix A).
# Accumulators are slices of one list: [mAh, remainder cu (0 ≤ rem < U), fraction pu (0 ≤ frac < 65536)].
_CE = const(0)      # CE: 0 mah, 1 rem
_QP = const(2)      # Qp: 2 mah, 3 rem, 4 frac
_A = const(5)       # strict accepted charge: 5, 6
_H6 = const(7)      # cumulative Ah drawn: 7, 8
_TP = const(9)      # throughput since last sync: 9, 10
_ACC_LEN = const(12)
# Energy accumulators in nJ: [0.01 kWh, limb 10^0, 10^4, 10^8, 10^12 (< 36)]
_E_LEN = const(5)

SYNC_NONE = const(0)
SYNC_AUTO = const(1)
SYNC_MANUAL = const(2)
TERM_NAMES = ("", "voltage", "current", "accepted", "outage")

STATE_FIELDS = (
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
    # Format version 2 (issue 18): the aux history H13-H16 (shunt.aux).
    ("aux_h13", "I"), ("aux_h14", "I"), ("aux_h15", "i"), ("aux_h16", "i"), ("aux_h1516_valid", "B"),
)
STATE_VERSION = const(2)
# Format version 1 = version 2 without the aux history, which a migrated record starts at 0.
STATE_FIELDS_V1 = STATE_FIELDS[:-5]


def _migrate_v1(values):
    d = dict(values)
    for name, _ in STATE_FIELDS[-5:]:
        d[name] = 0
    return d


STATE_MIGRATIONS = {1: (STATE_FIELDS_V1, _migrate_v1)}


def state_codec():
    """The state record's codec: the current layout, its version and the migrations of older records."""
    from shunt.record import Codec
    return Codec(STATE_FIELDS, STATE_VERSION, STATE_MIGRATIONS)


def _rate_cu(r, x, y):
    """r := x·y cu as a rate vector (x, y < 2^27). Decimal limbs keep each product below 2^30."""
    x1 = x // _L
    x0 = x - x1 * _L
    y1 = y // _L
    y0 = y - y1 * _L
    hi = x1 * y1                       # · 10^8 cu = hi·10/36 mAh
    q = hi // 36
    rr = hi - q * 36
    mah = q * 10
    t = rr * 10
    q = t // 36
    mah += q
    r1 = (t - q * 36) * 1000           # (·10^7 cu) expressed in 10^4 cu
    r1 += x1 * y0 + x0 * y1            # · 10^4 cu
    lo = x0 * y0
    q = lo // _L
    r1 += q
    r[2] = lo - q * _L
    q = r1 // _U_HI
    r[0] = mah + q
    r[1] = r1 - q * _U_HI
    r[3] = 0


def _rate_add_pu(r, x, y):
    """r += x·y pu (x < 2^27, y < 2^27): binary 2^14 limbs, since 65536 pu = 1 cu."""
    x1 = x >> 14
    x0 = x & 0x3FFF
    y1 = y >> 14
    y0 = y & 0x3FFF
    lo = x0 * y0
    f = r[3] + (lo & 0xFFFF)
    cu = lo >> 16
    mid = x1 * y0 + x0 * y1            # · 2^14 pu
    f += (mid & 3) << 14
    cu += mid >> 2
    hi = (x1 * y1) << 3                # x1·y1·2^28 pu = x1·y1·2^12 cu = (x1·y1·8)·512 cu
    q = hi // _U_512
    r[0] += q
    cu += (hi - q * _U_512) * 512
    cu += f >> 16
    r[3] = f & 0xFFFF
    # fold cu into the decimal limbs
    q = cu // _L
    r0 = r[2] + cu - q * _L
    r1 = r[1] + q
    if r0 >= _L:
        r0 -= _L
        r1 += 1
    r[2] = r0
    q = r1 // _U_HI
    r[0] += q
    r[1] = r1 - q * _U_HI


def _acc_add(q, i, r, dt):
    """Accumulator q[i:i+3] += r·dt (dt ≤ 5000). q[i+2] is touched only when r has a pu part."""
    f = r[3]
    rem = q[i + 1]
    if f:
        f = q[i + 2] + f * dt
        rem += f >> 16
        q[i + 2] = f & 0xFFFF
    t = r[1] * dt
    c = t // _U_HI
    mah = q[i] + c + r[0] * dt
    rem += (t - c * _U_HI) * _L + r[2] * dt
    while rem >= _U:
        rem -= _U
        mah += 1
    q[i] = mah
    q[i + 1] = rem


def _acc_sub(q, i, r, dt):
    """Accumulator q[i:i+2] −= r·dt for a rate without a pu part (dt ≤ 5000)."""
    t = r[1] * dt
    c = t // _U_HI
    mah = q[i] - c - r[0] * dt
    rem = q[i + 1] - (t - c * _U_HI) * _L - r[2] * dt
    while rem < 0:
        rem += _U
        mah -= 1
    q[i] = mah
    q[i + 1] = rem


def _energy_add(e, v_mv, a_ma, dt):
    """e += V·a·dt nJ, with the power V·a (µW) in base-10^4 limbs so no product passes 2^30 (Appendix A)."""
    v1 = v_mv // _L
    v0 = v_mv - v1 * _L
    a1 = a_ma // _L
    a0 = a_ma - a1 * _L
    w0 = v0 * a0
    c = w0 // _L
    w0 -= c * _L
    w1 = v1 * a0 + v0 * a1 + c
    c = w1 // _L
    w1 -= c * _L
    w2 = v1 * a1 + c
    w3 = w2 // _L
    w2 -= w3 * _L
    x = e[1] + w0 * dt
    c = x // _L
    e[1] = x - c * _L
    x = e[2] + w1 * dt + c
    c = x // _L
    e[2] = x - c * _L
    x = e[3] + w2 * dt + c
    c = x // _L
    e[3] = x - c * _L
    x = e[4] + w3 * dt + c
    c = x // 36
    e[4] = x - c * 36
    e[0] += c


def _e_rem(e):
    return ((e[4] * _L + e[3]) * _L + e[2]) * _L + e[1]


def _e_set(e, cwh, rem):
    e[0] = cwh
    for k in range(1, 4):
        rem, e[k] = divmod(rem, _L)
    e[4] = rem


def tdiv(a, b):
    """Truncating division (§0.2)."""
    q = abs(a) // b
    return -q if a < 0 else q


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
        # TTG ring (§5), zero-filled from bytes: no temporary list of 720 objects
        self._slot_hi = array("i", bytes(4 * _TTG_SLOTS))   # Σ I_int·dt per second, in 1024 mA·ms
        self._slot_lo = array("i", bytes(4 * _TTG_SLOTS))   # and the rest, 0 … 1023 per sample
        self._slot_t = array("H", bytes(2 * _TTG_SLOTS))    # Σ dt ≤ 6 000 ms per slot
        self.alarms = Alarms(settings)
        self.relay = Relay(settings)
        self.nominal = Nominal(settings)
        self.warn = Warnings(settings)
        self.aux = Aux(settings)
        # measured values of the latest sample
        self.v_mv = 0
        self.i_ma = 0
        self.i_int_ma = 0
        self.outage = 0
        self.measure_failed = 0     # set by the app during a sensor fault (VE.Direct V, I, P not available)
        self.sample_gaps = 0
        self.unmeasured_s = 0
        self._unmeasured_ms = 0
        self.op_time_s = 0
        self._op_ms = 0
        self.sync_event = SYNC_NONE   # the kind of the latest sync; the app clears it after the immediate save
        self.hist = [0] * 19
        self._ttg_window = -1
        self._cap_mah = settings.values["capacity"] * 1000
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
        self._ttg_reset()

    def _reset_sync_diag(self):
        self.near_miss_ms = 0
        self.near_miss_term = 0
        self.near_miss_s = 0
        self.max_v_current_ok_mv = -1
        self.min_i_voltage_ok_ma = _NO_MIN_I
        self.q[_TP] = 0
        self.q[_TP + 1] = 0

    def _clear_history_values(self):
        self.h1 = self.h2 = self.h4 = self.h5 = self.h10 = self.h11 = self.h12 = 0
        self.q[_H6] = 0
        self.q[_H6 + 1] = 0
        self.h7 = self.h8 = 0
        self.h78_valid = 0
        self.h9_ref_s = self.op_time_s
        self.depth_sum = 0
        self.cycle_min = 0
        self.h4_armed = 0
        self.h5_armed = 1
        self.below90 = 0
        self.aux.clear_history()
        for e in (self.e_dis, self.e_chg):
            for k in range(_E_LEN):
                e[k] = 0

    def get_state(self):
        """The state record's fields (§14.1) as a dict of ints."""
        q = self.q
        return {
            "op_time_s": self.op_time_s, "ce_mah": q[_CE], "ce_rem": q[_CE + 1], "qp_mah": q[_QP],
            "qp_rem_cu": q[_QP + 1], "qp_frac": q[_QP + 2], "synchronized": self.synchronized,
            "sync_timer_ms": self.sync_timer_ms, "a_mah": q[_A], "a_rem": q[_A + 1], "h4_armed": self.h4_armed,
            "h5_armed": self.h5_armed, "below90": self.below90, "h78_valid": self.h78_valid,
            "relay_remote": self.relay.remote_on, "last_sync_kind": self.last_sync_kind,
            "last_sync_s": self.last_sync_s, "last_sync_soc": self.last_sync_soc,
            "last_sync_i_ma": self.last_sync_i_ma, "last_set_soc_s": self.last_set_soc_s,
            "last_set_soc": self.last_set_soc, "near_miss_ms": self.near_miss_ms,
            "near_miss_term": self.near_miss_term, "near_miss_s": self.near_miss_s,
            "max_v_current_ok_mv": self.max_v_current_ok_mv, "min_i_voltage_ok_ma": self.min_i_voltage_ok_ma,
            "tp_mah": q[_TP], "tp_rem": q[_TP + 1], "h1": self.h1, "h2": self.h2, "h4": self.h4, "h5": self.h5,
            "h10": self.h10, "h11": self.h11, "h12": self.h12, "h6_mah": q[_H6], "h6_rem": q[_H6 + 1],
            "h7": self.h7, "h8": self.h8, "h9_ref_s": self.h9_ref_s, "depth_sum": self.depth_sum,
            "cycle_min": self.cycle_min, "e_dis_cwh": self.e_dis[0], "e_dis_rem": _e_rem(self.e_dis),
            "e_chg_cwh": self.e_chg[0], "e_chg_rem": _e_rem(self.e_chg), "nominal_v": self.nominal.nominal_v,
            "nominal_chg_s": self.nominal.chg_s, "nominal_stopped": self.nominal.stopped,
            "aux_h13": self.aux.h13, "aux_h14": self.aux.h14, "aux_h15": self.aux.h15, "aux_h16": self.aux.h16,
            "aux_h1516_valid": self.aux.h1516_valid,
        }

    def set_state(self, d):
        """Restore a state record completely (§4.5) and mark it restored (W07). The caller validated the record."""
        q = self.q
        self.op_time_s = d["op_time_s"]
        self._op_ms = 0
        q[_CE], q[_CE + 1] = d["ce_mah"], d["ce_rem"]
        q[_QP], q[_QP + 1], q[_QP + 2] = d["qp_mah"], d["qp_rem_cu"], d["qp_frac"]
        q[_A], q[_A + 1] = d["a_mah"], d["a_rem"]
        q[_TP], q[_TP + 1] = d["tp_mah"], d["tp_rem"]
        q[_H6], q[_H6 + 1] = d["h6_mah"], d["h6_rem"]
        for name in ("synchronized", "sync_timer_ms", "h4_armed", "h5_armed", "below90", "h78_valid",
                     "last_sync_kind", "last_sync_s", "last_sync_soc", "last_sync_i_ma", "last_set_soc_s",
                     "last_set_soc", "near_miss_ms", "near_miss_term", "near_miss_s", "max_v_current_ok_mv",
                     "min_i_voltage_ok_ma", "h1", "h2", "h4", "h5", "h10", "h11", "h12", "h7", "h8", "h9_ref_s",
                     "depth_sum", "cycle_min"):
            setattr(self, name, d[name])
        self.relay.remote_on = d["relay_remote"]
        _e_set(self.e_dis, d["e_dis_cwh"], d["e_dis_rem"])
        _e_set(self.e_chg, d["e_chg_cwh"], d["e_chg_rem"])
        self.nominal.load(d["nominal_v"], d["nominal_chg_s"], d["nominal_stopped"])
        self.aux.set_state(d)
        self._clamp_qp()
        self.restored = 1
        self.warn.set(7)
        self._ttg_reset()
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
        self.strict = v["sync_mode"]
        self._m900 = self.capacity_ah * 100
        self._m100 = self.capacity_ah * 900
        self._peukert.configure(v["peukert_exponent"] - 100, v["capacity"] * 50, v["peukert_mode"])
        self._r_for = 0
        self._clamp_qp()
        self.alarms.configure()
        self.relay.configure()
        self.nominal.configure()
        self.warn.configure()
        if v["ttg_averaging"] * 60 != self._ttg_window:
            self._ttg_window = v["ttg_averaging"] * 60
            self._ttg_sums()
        self.refresh()

    def _clamp_qp(self):
        q = self.q
        if q[_QP] > self._cap_mah or (q[_QP] == self._cap_mah and (q[_QP + 1] or q[_QP + 2])):
            q[_QP] = self._cap_mah
            q[_QP + 1] = 0
            q[_QP + 2] = 0

    # ---- exact SOC comparisons (§0.2, Appendix A) ------------------------------------------------------------
    def soc_below(self, x_pm):
        """SOC < x (0.1 % units), exactly."""
        m = self.capacity_ah * (1000 - x_pm)
        q = self.q
        return q[_QP] > m or (q[_QP] == m and (q[_QP + 1] > 0 or q[_QP + 2] > 0))

    def soc_above(self, x_pm):
        """SOC > x (0.1 % units), exactly."""
        return self.q[_QP] < self.capacity_ah * (1000 - x_pm)

    def soc_zero(self):
        q = self.q
        return q[_QP] == self._cap_mah and q[_QP + 1] == 0 and q[_QP + 2] == 0

    def ce_mah_now(self):
        """tdiv(CE, U) of the current state (§3.5), without a long integer."""
        c = self.q[_CE]
        return c + 1 if c < 0 and self.q[_CE + 1] else c

    # ---- the per-sample step (§0.3 steps 2-8) -------------------------------------------------------------
    def sample(self, v_mv, i_ma, dt_ms):
        """One measurement. Returns how many whole seconds of op_time it completed; call second() that often."""
        self.v_mv = v_mv
        self.i_ma = i_ma
        q = self.q
        # op_time advances by the whole dt; integration covers at most 5 s (§2)
        ms = self._op_ms + dt_ms
        secs = ms // 1000
        self._op_ms = ms - secs * 1000
        self.op_time_s += secs
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
        elif dt > _GAP_MS:
            self.sample_gaps += 1
        # step 2: threshold (§3.4)
        i_int = i_ma
        if (i_ma if i_ma >= 0 else -i_ma) < self.thr_ma:
            i_int = 0
        self.i_int_ma = i_int
        # TTG slot: a sample that completes seconds belongs to the new slot (§5)
        if secs:
            self._closed_hi = self._cur_hi
            self._closed_lo = self._cur_lo
            self._closed_t = self._cur_t
            self._cur_hi = self._cur_lo = self._cur_t = 0
        self._cur_hi += (i_int >> 10) * dt
        self._cur_lo += (i_int & 1023) * dt
        self._cur_t += dt
        if i_int != self._r_for and i_int:
            self._rates(i_int)
        synced = self.synchronized
        # step 3: strict accepted charge, before integration (§4.1)
        if i_int > 0:
            if q[_QP] or q[_QP + 1] or q[_QP + 2] or not synced:
                _acc_add(q, _A, self._r_ce, dt)
            # step 4: integrate (§3.2) with the clamps
            _acc_add(q, _CE, self._r_ce, dt)
            if q[_CE] >= 0:
                q[_CE] = 0
                q[_CE + 1] = 0
            _acc_sub(q, _QP, self._r_ce, dt)
            if q[_QP] < 0:
                q[_QP] = q[_QP + 1] = q[_QP + 2] = 0
            _acc_add(q, _TP, self._r_ce, dt)
            _energy_add(self.e_chg, v_mv if v_mv > 0 else 0, i_int, dt)
        elif i_int < 0:
            _acc_sub(q, _CE, self._r_ce, dt)
            _acc_add(q, _H6, self._r_ce, dt)
            _acc_add(q, _TP, self._r_ce, dt)
            _acc_add(q, _QP, self._r_qp, dt)
            if q[_QP] >= self._cap_mah:
                self._clamp_qp()
            _energy_add(self.e_dis, v_mv if v_mv > 0 else 0, -i_int, dt)
        # step 5: history (§9)
        if synced:
            ce = q[_CE]
            if ce < 0 and q[_CE + 1]:
                ce += 1
            if ce < self.h1:
                self.h1 = ce
            if ce < self.h2:
                self.h2 = ce
            if ce < self.cycle_min:
                self.cycle_min = ce
            qp = q[_QP]
            if not self.h4_armed and self.soc_below(650):
                self.h4_armed = 1
            if self.h4_armed and qp < self._m900:
                self.h4 += 1
                self.depth_sum += self.cycle_min
                self.cycle_min = ce
                self.h4_armed = 0
            if self.h5_armed:
                if self.soc_zero():
                    self.h5 += 1
                    self.h5_armed = 0
            elif qp < self._m100:
                self.h5_armed = 1
            if not self.below90 and self.soc_below(900):
                self.below90 = 1
        if self.h78_valid:
            if v_mv < self.h7:
                self.h7 = v_mv
            if v_mv > self.h8:
                self.h8 = v_mv
        else:
            self.h7 = self.h8 = v_mv
            self.h78_valid = 1
        # step 6: sync condition, timer, automatic sync (§4.1)
        vch = self.vch_mv
        if vch > 0:
            v_ok = v_mv > vch
            i_ok = i_int < self.i_tail_ma and (not self.strict or i_int >= 0)
            a_ok = not self.strict or q[_A] >= self.capacity_ah
            if i_ok and a_ok and v_mv > self.max_v_current_ok_mv:
                self.max_v_current_ok_mv = v_mv
            if v_ok and i_int < self.min_i_voltage_ok_ma:
                self.min_i_voltage_ok_ma = i_int
            if v_ok and i_ok and a_ok and not self.outage:
                t = self.sync_timer_ms + dt
                self.sync_timer_ms = t
                if t >= self.detect_ms:
                    self._sync(SYNC_AUTO)
            elif self.sync_timer_ms:
                t = self.sync_timer_ms
                if t > self.near_miss_ms:
                    self.near_miss_ms = t
                    self.near_miss_term = 1 if not v_ok else (2 if not i_ok else (3 if not a_ok else 4))
                    self.near_miss_s = self.op_time_s
                self.sync_timer_ms = 0
        else:
            self.sync_timer_ms = 0
        # step 7: alarms, then relay (§10, §11)
        started = self.alarms.step(self, dt_ms)
        if started & 1:
            self.h11 += 1
        if started & 2:
            self.h12 += 1
        self.alarm_bits = self.alarms.bits | self.aux.bits   # live, like V and I: the text carries the alarm state
        self.relay.step(self, dt_ms)
        self.relay_active = self.relay.active
        self.relay_energised = self.relay.energised
        # step 8: nominal voltage and warnings (§7, §13.2)
        self.nominal.step(self, dt_ms)
        self.warn.step(self, dt_ms)
        return secs

    def _rates(self, i_int):
        """Rate vectors of this current; recomputed only when I_int changes (the same reading gives the same I)."""
        self._r_for = i_int
        if i_int > 0:
            _rate_cu(self._r_ce, i_int, self.cef)
        else:
            a = -i_int
            _rate_cu(self._r_ce, a, 100)
            f = self._peukert.f16(a)
            fh = f >> 16
            r = self._r_qp
            _rate_cu(r, a, 100 * fh)
            _rate_add_pu(r, a, 100 * (f & 0xFFFF))

    # ---- sync and commands (§4.3, §4.4, §9, §12) -------------------------------------------------------------
    def _sync(self, kind):
        q = self.q
        soc_before = self._soc_cpct()
        if kind == SYNC_AUTO:
            if self.below90:
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
        self.sync_event = kind

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
        r = 10000 - cpct
        x = self.capacity_ah * r               # Qp = x/10 mAh exactly
        q = self.q
        q[_QP] = x // 10
        q[_QP + 1] = (x % 10) * 36000000
        q[_QP + 2] = 0
        ce = -x * 36000000                     # cu
        q[_CE] = ce // _U
        q[_CE + 1] = ce % _U
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
    def _ttg_reset(self):
        for k in range(_TTG_SLOTS):
            self._slot_hi[k] = 0
            self._slot_lo[k] = 0
            self._slot_t[k] = 0
        self._slot_pos = 0
        self._slots = 0
        self._cur_hi = self._cur_lo = self._cur_t = 0
        self._closed_hi = self._closed_lo = self._closed_t = 0
        self._win_q = 0
        self._win_t = 0

    def _ttg_sums(self):
        n = min(self._ttg_window, self._slots)
        sq = st = 0
        p = self._slot_pos
        for k in range(n):
            p = p - 1 if p else _TTG_SLOTS - 1
            sq += self._slot_hi[p] * 1024 + self._slot_lo[p]
            st += self._slot_t[p]
        self._win_q = sq
        self._win_t = st

    def second(self):
        """Close one second's TTG slot, then refresh TTG, SOC, CE, P and history values (§5, §8)."""
        p = self._slot_pos
        w = self._ttg_window
        if w and self._slots >= w:
            # the slot leaving the window
            old = p - w
            if old < 0:
                old += _TTG_SLOTS
            self._win_q -= self._slot_hi[old] * 1024 + self._slot_lo[old]
            self._win_t -= self._slot_t[old]
        self._slot_hi[p] = self._closed_hi
        self._slot_lo[p] = self._closed_lo
        self._slot_t[p] = self._closed_t
        if w:
            self._win_q += self._closed_hi * 1024 + self._closed_lo
            self._win_t += self._closed_t
        self._closed_hi = self._closed_lo = self._closed_t = 0
        self._slot_pos = p + 1 if p + 1 < _TTG_SLOTS else 0
        if self._slots < _TTG_SLOTS:
            self._slots += 1
        self.aux.second(self)       # the aux input is read and judged once a second, never per sample
        self.refresh()

    def _soc_cpct(self):
        """fdiv(10000·(C_pu − Qp), C_pu) (§3.5) in small integers, so that a sync inside the per-sample step
        can record it without a long integer: SOC = 10000 − ⌈(10·qp_mah + y)/capacity⌉ with
        y = 10·(qp_rem + qp_frac/65536)/U ∈ [0, 10), compared exactly in the split form."""
        q = self.q
        d = self.capacity_ah
        t = 10 * q[_QP]
        q0 = t // d
        r0 = t - q0 * d
        rem = q[_QP + 1]
        frac = q[_QP + 2]
        if rem == 0 and frac == 0:
            c = 1 if r0 else 0
        else:
            c = 1
            while True:
                z = c * d - r0                 # ≥ 1; y ≤ z ⇔ ⌈(r0 + y)/d⌉ ≤ c
                if z >= 10:
                    break
                lim = z * 36000000             # y > z ⇔ rem + frac/65536 > z·U/10
                if rem < lim or (rem == lim and frac == 0):
                    break
                c += 1
        return 10000 - q0 - c

    def _qp(self):
        q = self.q
        return (q[_QP] * _U + q[_QP + 1]) * 65536 + q[_QP + 2]

    def avg_current_ma(self):
        """Ī for TTG (§5): boxcar over the window of complete slots, else the latest I_int."""
        if self._ttg_window > 0 and self._slots and self._win_t:
            return tdiv(self._win_q, self._win_t)
        return self.i_int_ma

    def refresh(self):
        """Recompute every reported value (§3.5, §5, §8, §9)."""
        q = self.q
        self.soc_cpct = self._soc_cpct()
        self.soc_permille = self.soc_cpct // 10
        self.ce_mah = self.ce_mah_now()
        self.ttg_min = self._ttg()
        h = self.hist
        h[1] = self.h1
        h[2] = self.h2
        h[3] = tdiv(self.depth_sum, self.h4) if self.h4 else 0
        h[4] = self.h4
        h[5] = self.h5
        h[6] = -q[_H6]
        h[7] = self.h7 if self.h78_valid else 0
        h[8] = self.h8 if self.h78_valid else 0
        h[9] = self.op_time_s - self.h9_ref_s
        h[10] = self.h10
        h[11] = self.h11
        h[12] = self.h12
        aux = self.aux
        h[13] = aux.h13
        h[14] = aux.h14
        h[15] = aux.h15
        h[16] = aux.h16
        h[17] = self.e_dis[0]
        h[18] = self.e_chg[0]
        self.alarm_bits = self.alarms.bits | aux.bits
        self.relay_active = self.relay.active
        self.relay_energised = self.relay.energised

    def _ttg(self):
        return self.ttg_at(self.avg_current_ma())

    def ttg_at(self, ibar):
        """TTG in minutes for an average current ibar (§5): -1 when not discharging, 0 at or below the floor."""
        if ibar >= 0:
            return -1
        c_pu = self._cap_mah * _U * 65536
        r = (c_pu - self._qp()) - c_pu * self.settings.values["discharge_floor"] // 1000
        if r <= 0:
            return 0
        a = -ibar
        return min(65534, r // (a * self._peukert.f16(a) * 6000000))

    def power_w(self):
        """P = rdiv(V·I, 10^6) W (§6), in 10^3 limbs so that no product passes 2^30."""
        v = self.v_mv
        i = self.i_ma
        neg = (v < 0) != (i < 0)
        v = -v if v < 0 else v
        i = -i if i < 0 else i
        v1 = v // 1000
        v0 = v - v1 * 1000
        i1 = i // 1000
        i0 = i - i1 * 1000
        mid = v1 * i0 + v0 * i1
        c = mid // 1000
        p = v1 * i1 + c
        r = (mid - c * 1000) * 1000 + v0 * i0
        c = r // 1000000
        p += c
        r -= c * 1000000
        if 2 * r >= 1000000:
            p += 1
        return -p if neg else p

    # ---- diagnostics (§13.1) ---------------------------------------------------------------------------------
    def sync_status(self):
        """Every field of §13.1 as a dict of ints and short strings (units in the key names)."""
        v = self.settings.values
        vch = self.vch_mv
        i_ok = self.i_int_ma < self.i_tail_ma and (not self.strict or self.i_int_ma >= 0)
        a_mah = self.q[_A]
        d = {
            "synchronized": self.synchronized,
            "restored": self.restored,
            "mode": "strict" if self.strict else "victron",
            "auto_sync": 1 if vch > 0 else 0,
            "voltage_ok": 1 if vch > 0 and self.v_mv > vch else 0,
            "voltage_mv": self.v_mv,
            "charged_voltage_mv": vch,
            "current_ok": 1 if i_ok else 0,
            "current_ma": self.i_int_ma,
            "tail_current_ma": self.i_tail_ma,
            "accepted_ok": 1 if a_mah >= self.capacity_ah else 0,
            "accepted_mah": a_mah,
            "accepted_required_mah": self.capacity_ah,      # 0.1 % of capacity: 1 mAh per Ah
            "timer_s": self.sync_timer_ms // 1000,
            "timer_required_s": v["charged_detection_time"] * 60,
            "last_sync": ("none", "auto", "manual")[self.last_sync_kind],
            "last_sync_age_s": self.op_time_s - self.last_sync_s,
            "last_sync_soc_cpct": self.last_sync_soc if self.last_sync_kind else None,
            "last_sync_current_ma": self.last_sync_i_ma if self.last_sync_kind else None,
            "last_set_soc_cpct": self.last_set_soc,
            "last_set_soc_age_s": self.op_time_s - self.last_set_soc_s if self.last_set_soc >= 0 else -1,
            "near_miss_s": self.near_miss_ms // 1000,
            "near_miss_term": TERM_NAMES[self.near_miss_term],
            "near_miss_age_s": self.op_time_s - self.near_miss_s if self.near_miss_ms else -1,
            "max_v_current_ok_mv": self.max_v_current_ok_mv,
            "min_i_voltage_ok_ma": self.min_i_voltage_ok_ma if self.min_i_voltage_ok_ma != _NO_MIN_I else None,
            "throughput_mah": self.q[_TP],
        }
        return d

    @property
    def warnings(self):
        """The active warnings, live (bit n-1 = Wn): a sensor fault raises W13 while no sample arrives."""
        return self.warn.mask

    def warning_list(self):
        return self.warn.list(self)
