# History H1..H18: the per-sample updates of the depth, cycle and voltage records, and the reported values.
# Spec: battery-monitor.md §9 (history), §0.3 step 5. The values live on the monitor (they are in the state
# record, §14.1); this module owns how they change.
from shunt.fixed import tdiv, GIGA, GIGA_MAX


def clear(mon):
    """§9 clear_history for the counters kept as attributes (the monitor clears its H6 and energy sums)."""
    mon.h1 = mon.h2 = mon.h4 = mon.h5 = mon.h10 = mon.h11 = mon.h12 = 0
    mon.h7 = mon.h8 = 0
    mon.h78_valid = 0
    mon.h9_ref_s = mon.op_time_s
    mon.depth_giga = 0          # depth_sum = depth_giga·10^9 + depth_mah, depth_mah in (-10^9, 0] (issue 13)
    mon.depth_mah = 0
    mon.cycle_min = 0
    mon.h4_armed = 0
    mon.h5_armed = 1
    mon.below90 = 0
    mon.aux.clear_history()


def step(mon, synced, ce_mah, qp_mah, v_mv):
    """Step 5 for one sample, after integration: ce_mah = tdiv(CE, U), qp_mah = Qp's whole mAh. Allocation-free."""
    if synced:
        if ce_mah < mon.h1:
            mon.h1 = ce_mah
        if ce_mah < mon.h2:
            mon.h2 = ce_mah
        if ce_mah < mon.cycle_min:
            mon.cycle_min = ce_mah
        # H4 charge cycles: armed below 65 % SOC, counted on the return above 90 % (§9)
        if not mon.h4_armed and mon.soc_below(650):
            mon.h4_armed = 1
        if mon.h4_armed and qp_mah < mon.m900_mah:
            if mon.h4 < GIGA_MAX:
                mon.h4 += 1
            # depth_sum += cycle_min in two limbs: cycle_min ≥ -10^9 (CE saturates there), so each sum is small
            d = mon.depth_mah + GIGA + mon.cycle_min        # in (-10^9, 10^9]
            if d > 0:
                mon.depth_mah = d - GIGA
            elif mon.depth_giga > -GIGA_MAX:
                mon.depth_mah = d
                mon.depth_giga -= 1
            else:
                mon.depth_mah = 1 - GIGA
            mon.cycle_min = ce_mah
            mon.h4_armed = 0
        # H5 full discharges: SOC 0 %, re-armed above 10 %
        if mon.h5_armed:
            if mon.soc_zero():
                if mon.h5 < GIGA_MAX:
                    mon.h5 += 1
                mon.h5_armed = 0
        elif qp_mah < mon.m100_mah:
            mon.h5_armed = 1
        if not mon.below90 and mon.soc_below(900):
            mon.below90 = 1
    if mon.h78_valid:
        if v_mv < mon.h7:
            mon.h7 = v_mv
        if v_mv > mon.h8:
            mon.h8 = v_mv
    else:
        mon.h7 = mon.h8 = v_mv
        mon.h78_valid = 1


def report(mon, h, h6_giga, h6_mah, e_dis_cwh, e_chg_cwh):
    """Fill h[1..18] with H1..H18 as sent in the text protocol; H13..H16 are the aux input's (shunt.aux). H3 and H6
    become long integers only once depth_sum or H6 pass 10^9 mAh (once a second; the text prints H6 from its limbs)."""
    h[1] = mon.h1
    h[2] = mon.h2
    h[3] = tdiv(mon.depth_giga * GIGA + mon.depth_mah, mon.h4) if mon.h4 else 0
    h[4] = mon.h4
    h[5] = mon.h5
    h[6] = -(h6_giga * GIGA + h6_mah) if h6_giga else -h6_mah
    h[7] = mon.h7 if mon.h78_valid else 0
    h[8] = mon.h8 if mon.h78_valid else 0
    h[9] = mon.op_time_s - mon.h9_ref_s
    h[10] = mon.h10
    h[11] = mon.h11
    h[12] = mon.h12
    aux = mon.aux
    h[13] = aux.h13
    h[14] = aux.h14
    h[15] = aux.h15
    h[16] = aux.h16
    h[17] = e_dis_cwh
    h[18] = e_chg_cwh
