# Plausibility of a restored state record: the range every field can actually reach, checked before a record
# with a valid CRC is trusted. Spec: battery-monitor.md §14.3 (an invalid record is skipped: other slot, W10).
# The record's field widths and the saturation of the lifetime counters belong to the record and the monitor;
# this module only says which values the monitor can have produced.
from shunt.convert import V_MAX_MV, I_MAX_MA

_U32 = 0xFFFFFFFF
_I32_MIN = -0x80000000
_I32_MAX = 0x7FFFFFFF
_U = 360000000                  # cu per mAh (shunt.monitor): a remainder is below it
_E_REM = 36 * 10 ** 12          # energy remainder: three 10^4 limbs and a digit below 36 (monitor._e_rem)
_NO_MIN_I = 0x3FFFFFFF          # monitor: "no current seen yet" for min_i_voltage_ok_ma
_DETECT_MAX_MS = 50 * 60000     # charged_detection_time at most 50 min (BM §1): the timer syncs before that
_CAP_MAX_MAH = 9999000          # capacity at most 9999 Ah (BM §1): Qp is clamped to it
_LIFE_MAX_MAH = (1 << 30) * 10 ** 9 - 1     # H6 and throughput saturate here (shunt.fixed.giga_carry, u64 field)

# name: (low, high) in the record's stored units. A field not named here has only its struct code's range.
RANGES = {
    "op_time_s": (0, _U32),
    "ce_mah": (_I32_MIN, _I32_MAX), "ce_rem": (0, _U - 1),
    "qp_mah": (0, _CAP_MAX_MAH), "qp_rem_cu": (0, _U - 1), "qp_frac": (0, 0xFFFF),
    "synchronized": (0, 1), "sync_timer_ms": (0, _DETECT_MAX_MS),
    "a_mah": (0, _U32), "a_rem": (0, _U - 1),
    "h4_armed": (0, 1), "h5_armed": (0, 1), "below90": (0, 1), "h78_valid": (0, 1), "relay_remote": (0, 1),
    "last_sync_kind": (0, 2), "last_sync_soc": (0, 10000), "last_sync_i_ma": (-I_MAX_MA, I_MAX_MA),
    "last_set_soc": (-1, 10000), "near_miss_ms": (0, _DETECT_MAX_MS), "near_miss_term": (0, 5),
    "max_v_current_ok_mv": (-1, V_MAX_MV), "min_i_voltage_ok_ma": (-I_MAX_MA, _NO_MIN_I),
    "tp_mah": (0, _LIFE_MAX_MAH), "tp_rem": (0, _U - 1),
    "h1": (_I32_MIN, 0), "h2": (_I32_MIN, 0), "cycle_min": (_I32_MIN, 0),
    "h4": (0, _U32), "h5": (0, _U32), "h10": (0, _U32), "h11": (0, _U32), "h12": (0, _U32),
    "h6_mah": (0, _LIFE_MAX_MAH), "h6_rem": (0, _U - 1),
    "h7": (0, V_MAX_MV), "h8": (0, V_MAX_MV),
    "depth_sum": (-0x8000000000000000, 0),
    "e_dis_cwh": (0, _U32), "e_dis_rem": (0, _E_REM - 1), "e_chg_cwh": (0, _U32), "e_chg_rem": (0, _E_REM - 1),
    "nominal_v": (0, 48), "nominal_chg_s": (0, 3600), "nominal_stopped": (0, 1),
    # the aux history (issue 18): counts, and the starter voltage's reach at the aux input in mV
    "aux_h13": (0, _U32), "aux_h14": (0, _U32), "aux_h15": (-V_MAX_MV, V_MAX_MV), "aux_h16": (-V_MAX_MV, V_MAX_MV),
    "aux_h1516_valid": (0, 1),
    # moments in op_time (and never after the record's own op_time, see check_state)
    "last_sync_s": (0, _U32), "last_set_soc_s": (0, _U32), "near_miss_s": (0, _U32), "h9_ref_s": (0, _U32),
}
# Moments in op_time: never after the record's own op_time.
_MOMENTS = ("last_sync_s", "last_set_soc_s", "near_miss_s", "h9_ref_s")
_NOMINALS = (0, 12, 24, 36, 48)


def check_state(values):
    """None if every field of a decoded record is a value the monitor can have produced, else the reason
    naming the first field that is not ("h7 = 9999999: must be 0..819175"). Fields it does not know pass."""
    for name in values:
        r = RANGES.get(name)
        v = values[name]
        if r is not None and not r[0] <= v <= r[1]:
            return "%s = %d: must be %d..%d" % (name, v, r[0], r[1])
    op = values.get("op_time_s")
    if op is not None:
        for name in _MOMENTS:
            v = values.get(name)
            if v is not None and v > op:
                return "%s = %d: after op_time_s %d" % (name, v, op)
    v = values.get("nominal_v")
    if v is not None and v not in _NOMINALS:
        return "nominal_v = %d: must be 0, 12, 24, 36 or 48" % v
    h4 = values.get("h4")
    d = values.get("depth_sum")
    if h4 is not None and d is not None and d < _I32_MIN * (h4 if h4 else 1):
        # H3 = depth_sum / H4 is an average of CE minima, each at least -2^31 mAh
        return "depth_sum = %d: below H4 (%d) times -2147483648" % (d, h4)
    return None
