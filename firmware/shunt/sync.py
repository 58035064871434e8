# The sync condition, once: which terms hold for a sample, the charged-detection timer and its near-miss
# diagnostics, and the sync_status report built from the same terms. Spec: battery-monitor.md §4.1, §13.1.
#
# Everything that decides whether a sample counts toward an automatic sync lives here; the per-sample step
# (shunt.monitor) and sync_status both call `terms`, so a new or changed term is an edit of this file only.
from micropython import const

from shunt.settings import SYNC_VICTRON, SYNC_STRICT, SYNC_ACCEPTED

V_OK = const(1)     # V > charged_voltage
I_OK = const(2)     # I_int < tail current (strict: and not discharging)
A_OK = const(4)     # accepted charge ≥ 0.1 % of capacity (required in strict and accepted mode)
C_OK = const(8)     # the counts agree the battery was refilled (required in accepted mode; see count_check)

# The three modes (settings.sync_mode; `mon.strict` and `mon.need_accepted` are cached from it):
#   victron  V > Vch and I_int < I_tail. Wrong on LiFePO4: its loaded voltage sits above a lead-acid Vch, and any
#            discharge passes the current term, so it re-syncs to 100 % through the evening.
#   strict   and I_int >= 0 and A >= 0.1 % of capacity. Late where loads exceed the charger after absorption:
#            the current is negative, so it waits for a float that covers the loads (or never syncs).
#   accepted V > Vch and I_int < I_tail and A >= 0.1 %: discharge qualifies once a charge was accepted since the
#            last sync (the default); and the counts agree the battery was refilled (count_check): a weak day at
#            a plateau voltage, or a BMS cut, 20 % short of full, is withheld (W18). Wrong when the counts
#            drifted by more than their allowance: the sync waits until it is allowed (or a manual sync).
MODE_NAMES = ("victron", "strict", "accepted")
# sync_status `mode_note`: what the mode needs and the case it gets wrong.
MODE_NOTES = (
    "V and I low enough, discharge counts; wrong on LiFePO4 with a plateau-level charged_voltage: re-syncs under "
    "load",
    "also a charging current and charge accepted; late when loads exceed the charger after absorption",
    "V and I low enough, discharge counts once charge was accepted since the last sync and the count agrees the "
    "battery was refilled; wrong when the count drifted beyond 5 % + 1 %/day: W18, run synchronize",
)
NO_MIN_I = const(0x3FFFFFFF)   # min_i_voltage_ok "none yet"; 2^30 - 1 is still a small int on the ESP32

# near_miss_term: the first term that failed when a running timer was reset (4: an outage sample).
TERM_NAMES = ("", "voltage", "current", "accepted", "outage", "count")
_DAY_S = const(86400)
_COUNT_DAYS_MAX = const(95)    # 5 % + 95 % of capacity: the allowance covers everything, the term always holds


def configure(mon, mode):
    """Cache the mode's terms on the monitor (a settings change): `strict` (a discharge fails the current
    term) and `need_accepted` (charge accepted since the last sync is required)."""
    mon.sync_mode = mode
    mon.strict = 1 if mode == SYNC_STRICT else 0
    mon.need_accepted = 0 if mode == SYNC_VICTRON else 1
    mon.need_count = 1 if mode == SYNC_ACCEPTED else 0


def count_check(mon, ce_mah, a_mah, qp_mah):
    """Once a second (not per sample): do the counts agree that the battery was refilled since the last sync (or
    set_soc)? Two counts, each wrong in a known direction, and the sync is withheld only when both say so:
    - the coulombs: CE plus the share of A that the charge efficiency took off (CEF is an estimate of losses, and
      lead-acid's 95 % left on LiFePO4 undercounts every charge by 4 %); pessimistic on lead-acid, whose
      Peukert capacity grows at small currents, so a night at 1.5 A drains less than its coulombs;
    - the SOC's own, Qp (Peukert and CEF applied): pessimistic on LiFePO4 with lead-acid constants.
    The better of the two must be within an allowance of full: 5 % of capacity (a sync below 95 % is what
    counts as false) plus 1 % of capacity per day since the reference, for what a monitor can count wrong (an
    uncalibrated offset of 80 mA on 200 Ah all day is 1 %). Without a reference (never synchronised) the term
    holds, and so it does when the coulombs say more than the capacity is missing: that count has failed (charge
    that bypassed the shunt, a capacity set too small), and a sync is what repairs it.
    Why (issue 17): with a charged voltage inside the LiFePO4 plateau (13.2 V), a weak-sun day that charges at a
    few amps holds V above it at 77 % and the current under the tail, so V, I and A all say full; only the counts
    know that 46 Ah are still missing. Sets mon.count_ok, count_mah (signed, the better count) and
    count_allowed_mah. The intermediates stay small ints: A ≤ 10^9 is divided before it is multiplied, the days
    are capped."""
    ref = mon.last_sync_s
    if mon.last_set_soc >= 0 and mon.last_set_soc_s > ref:
        ref = mon.last_set_soc_s
    days = (mon.op_time_s - ref) // _DAY_S
    if days > _COUNT_DAYS_MAX:
        days = _COUNT_DAYS_MAX
    cef = mon.cef
    n = ce_mah + (a_mah // cef) * (100 - cef)
    failed = n < -1000 * mon.capacity_ah
    if n < -qp_mah:
        n = -qp_mah
    allowed = mon.capacity_ah * (50 + 10 * days)
    mon.count_mah = n
    mon.count_allowed_mah = allowed
    mon.count_ok = 1 if not mon.synchronized or n + allowed >= 0 or failed else 0


def terms(mon, v_mv, i_int_ma, a_mah):
    """The terms of §4.1 that hold for this sample, as V_OK | I_OK | A_OK | C_OK bits. Allocation-free."""
    t = V_OK if v_mv > mon.vch_mv else 0
    if i_int_ma < mon.i_tail_ma and (not mon.strict or i_int_ma >= 0):
        t |= I_OK
    if a_mah >= mon.capacity_ah:      # 0.1 % of capacity: 1 mAh per Ah
        t |= A_OK
    if mon.count_ok:
        t |= C_OK
    return t


def step(mon, v_mv, i_int_ma, a_mah, dt_ms):
    """§4.1 per sample (step 6): the diagnostics' extremes, the timer, the near miss when a running timer
    resets. Returns 1 when the timer reached charged_detection_time (the monitor then syncs). Allocation-free."""
    if mon.vch_mv <= 0:                # charged_voltage 0.0: automatic sync off (§1)
        mon.sync_timer_ms = 0
        return 0
    t = terms(mon, v_mv, i_int_ma, a_mah)
    v_ok = t & V_OK
    ia_ok = t & I_OK and (t & A_OK or not mon.need_accepted)
    held = ia_ok and mon.need_count and not t & C_OK      # current and charge say full, the count does not
    if held:
        ia_ok = 0
    if ia_ok and v_mv > mon.max_v_current_ok_mv:
        mon.max_v_current_ok_mv = v_mv
    if v_ok and i_int_ma < mon.min_i_voltage_ok_ma:
        mon.min_i_voltage_ok_ma = i_int_ma
    if held and v_ok and not mon.outage:
        w = mon.withheld_ms             # everything but the count says full: W18 after the detection time
        if w < mon.detect_ms:           # stops counting there, so it stays a small int however long it lasts
            w += dt_ms
            mon.withheld_ms = w
            if w >= mon.detect_ms:
                mon.warn.on_withheld(mon)
    else:
        mon.withheld_ms = 0
    if v_ok and ia_ok and not mon.outage:
        t = mon.sync_timer_ms + dt_ms
        mon.sync_timer_ms = t
        return 1 if t >= mon.detect_ms else 0
    t_ms = mon.sync_timer_ms
    if t_ms:
        if t_ms > mon.near_miss_ms:
            mon.near_miss_ms = t_ms
            mon.near_miss_term = 1 if not v_ok else (2 if not t & I_OK else (
                5 if held else (3 if not ia_ok else 4)))
            mon.near_miss_s = mon.op_time_s
        mon.sync_timer_ms = 0
    return 0


def reset_diag(mon):
    """A sync starts the near-miss and extreme values afresh (§13.1)."""
    mon.near_miss_ms = 0
    mon.near_miss_term = 0
    mon.withheld_ms = 0
    mon.near_miss_s = 0
    mon.max_v_current_ok_mv = -1
    mon.min_i_voltage_ok_ma = NO_MIN_I


def status(mon, a_mah, throughput_mah):
    """Every field of §13.1 as a dict of ints and short strings (units in the key names)."""
    vch = mon.vch_mv
    t = terms(mon, mon.v_mv, mon.i_int_ma, a_mah)
    kind = mon.last_sync_kind
    return {
        "synchronized": mon.synchronized,
        "restored": mon.restored,
        "mode": MODE_NAMES[mon.sync_mode],
        "mode_note": MODE_NOTES[mon.sync_mode],
        "auto_sync": 1 if vch > 0 else 0,
        "voltage_ok": 1 if vch > 0 and t & V_OK else 0,
        "voltage_mv": mon.v_mv,
        "charged_voltage_mv": vch,
        "current_ok": 1 if t & I_OK else 0,
        "current_ma": mon.i_int_ma,
        "tail_current_ma": mon.i_tail_ma,
        "accepted_ok": 1 if t & A_OK else 0,
        "accepted_mah": a_mah,
        "accepted_required_mah": mon.capacity_ah,
        "count_ok": 1 if t & C_OK else 0,
        "count_mah": mon.count_mah,
        "count_allowed_mah": mon.count_allowed_mah,
        "timer_s": mon.sync_timer_ms // 1000,
        "timer_required_s": mon.detect_ms // 1000,
        "last_sync": ("none", "auto", "manual")[kind],
        "last_sync_age_s": mon.op_time_s - mon.last_sync_s,
        "last_sync_soc_cpct": mon.last_sync_soc if kind else None,
        "last_sync_current_ma": mon.last_sync_i_ma if kind else None,
        "last_set_soc_cpct": mon.last_set_soc,
        "last_set_soc_age_s": mon.op_time_s - mon.last_set_soc_s if mon.last_set_soc >= 0 else -1,
        "near_miss_s": mon.near_miss_ms // 1000,
        "near_miss_term": TERM_NAMES[mon.near_miss_term],
        "near_miss_age_s": mon.op_time_s - mon.near_miss_s if mon.near_miss_ms else -1,
        "max_v_current_ok_mv": mon.max_v_current_ok_mv,
        "min_i_voltage_ok_ma": mon.min_i_voltage_ok_ma if mon.min_i_voltage_ok_ma != NO_MIN_I else None,
        "throughput_mah": throughput_mah,
    }
