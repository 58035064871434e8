# The state record's field list for the persistence tests: shunt.monitor.STATE_FIELDS, and the layouts of format
# versions 1 and 2 (BM §14.1) frozen here, so a change of the monitor's fields fails test_record until it gets a
# version.

V1_FIELDS = (
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
# Version 2: the lifetime counters tp_mah and h6_mah widened to u64 (issue 13).
V2_FIELDS = tuple((n, "Q" if n in ("tp_mah", "h6_mah") else c) for n, c in V1_FIELDS)

# Version 3 (issue 18) appends the aux history.
V3_ADDED = (("aux_h13", "I"), ("aux_h14", "I"), ("aux_h15", "i"), ("aux_h16", "i"), ("aux_h1516_valid", "B"))

from shunt.monitor import STATE_FIELDS as FIELDS  # noqa: E402


def sample_state(k=1):
    """A state dict with a distinct value in every field (k varies it), each within its struct code's range and
    the plausibility ranges of shunt.plausible (a record the monitor can have written)."""
    from shunt.record import code_range
    from shunt.plausible import RANGES, check_state
    d = {}
    i = 0
    for name, code in FIELDS:
        lo, hi = code_range(code)
        r = RANGES.get(name)
        if r is not None:
            lo, hi = max(lo, r[0]), min(hi, r[1])
        d[name] = lo + (k * 7919 + i * 104729) % (hi - lo + 1)
        i += 1
    for name in ("last_sync_s", "last_set_soc_s", "near_miss_s", "h9_ref_s"):
        d[name] %= d["op_time_s"] + 1
    d["nominal_v"] = (12, 24, 36, 48)[k % 4]
    floor = -0x80000000 * (d["h4"] or 1)
    if d["depth_sum"] < floor:
        d["depth_sum"] = floor + k
    assert check_state(d) is None, check_state(d)
    return d
