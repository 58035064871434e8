# A stand-in for the monitor's attributes that the alarm, relay, nominal and warning modules read
# (docs/core-interface.md and the lead's brief). SOC is settable in 0.01 % units; comparisons are exact.


class Mon:
    def __init__(self, v_mv=12800, i_ma=0, synchronized=1, soc_cpct=10000, capacity_ah=200, thr_ma=100,
                 vch_mv=13200):
        self.v_mv = v_mv
        self.i_ma = i_ma
        self.i_int_ma = i_ma
        self.synchronized = synchronized
        self.soc_cpct = soc_cpct
        self.capacity_ah = capacity_ah
        self.thr_ma = thr_ma
        self.i_tail_ma = capacity_ah * 40  # tail 4.0 %
        self.vch_mv = vch_mv
        self.op_time_s = 0
        self.last_sync_s = 0
        self.last_sync_kind = 0            # 0 none, 1 auto, 2 manual (W15 needs a sync first)
        self.h6_mah = 0                    # cumulative mAh drawn (H6's low limb), read by W15
        self.outage = 0
        self.nominal = None

    def set_i(self, i_ma):
        """Measured current and I_int after the threshold (BM §0.1)."""
        self.i_ma = i_ma
        self.i_int_ma = 0 if abs(i_ma) < self.thr_ma else i_ma

    # X in 0.1 % units (BM §0.2).
    def soc_below(self, x_pm):
        return self.soc_cpct < x_pm * 10

    def soc_above(self, x_pm):
        return self.soc_cpct > x_pm * 10

    def soc_zero(self):
        return self.soc_cpct == 0
