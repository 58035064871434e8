# Time-to-go: the averaging ring of per-second current slots and the TTG formula with the discharge floor.
# Spec: battery-monitor.md §5 (TTG, averaging window, floor), §0.3 step 9.
from array import array

from micropython import const

from shunt.fixed import tdiv, CU_PER_MAH

_SLOTS = const(720)      # 12 minutes of one-second slots: the longest ttg_averaging window
_TTG_MAX_MIN = const(65534)


class Ttg:
    """The current of the last `window_s` complete seconds (boxcar, §5), kept exactly as Σ I_int·dt and Σ dt.
    `add` runs per sample (allocation-free), `second` once per completed second."""

    def __init__(self):
        # zero-filled from bytes: no temporary list of 720 objects
        self._hi = array("i", bytes(4 * _SLOTS))   # Σ I_int·dt per second, in 1024 mA·ms
        self._lo = array("i", bytes(4 * _SLOTS))   # and the rest, 0 … 1023 per sample
        self._t = array("H", bytes(2 * _SLOTS))    # Σ dt ≤ 6 000 ms per slot
        self.window_s = -1
        self.reset()

    def reset(self):
        for k in range(_SLOTS):
            self._hi[k] = 0
            self._lo[k] = 0
            self._t[k] = 0
        self._pos = 0
        self._n = 0
        self._cur_hi = self._cur_lo = self._cur_t = 0
        self._closed_hi = self._closed_lo = self._closed_t = 0
        self._win_q = 0
        self._win_t = 0

    def set_window(self, window_s):
        """ttg_averaging in seconds (0: no averaging); the window sums are recomputed from the ring."""
        if window_s == self.window_s:
            return
        self.window_s = window_s
        n = min(window_s, self._n)
        sq = st = 0
        p = self._pos
        for k in range(n):
            p = p - 1 if p else _SLOTS - 1
            sq += self._hi[p] * 1024 + self._lo[p]
            st += self._t[p]
        self._win_q = sq
        self._win_t = st

    def add(self, i_int, dt, secs):
        """Per sample: a sample that completes `secs` seconds belongs to the new slot (§5). Allocation-free."""
        if secs:
            self._closed_hi = self._cur_hi
            self._closed_lo = self._cur_lo
            self._closed_t = self._cur_t
            self._cur_hi = self._cur_lo = self._cur_t = 0
        self._cur_hi += (i_int >> 10) * dt
        self._cur_lo += (i_int & 1023) * dt
        self._cur_t += dt

    def second(self):
        """Close one second's slot into the ring and the window sums."""
        p = self._pos
        w = self.window_s
        if w and self._n >= w:
            old = p - w              # the slot leaving the window
            if old < 0:
                old += _SLOTS
            self._win_q -= self._hi[old] * 1024 + self._lo[old]
            self._win_t -= self._t[old]
        self._hi[p] = self._closed_hi
        self._lo[p] = self._closed_lo
        self._t[p] = self._closed_t
        if w:
            self._win_q += self._closed_hi * 1024 + self._closed_lo
            self._win_t += self._closed_t
        self._closed_hi = self._closed_lo = self._closed_t = 0
        self._pos = p + 1 if p + 1 < _SLOTS else 0
        if self._n < _SLOTS:
            self._n += 1

    def average_ma(self, i_int_ma):
        """Ī for TTG (§5): the boxcar over the window of complete slots, else the latest I_int."""
        if self.window_s > 0 and self._n and self._win_t:
            return tdiv(self._win_q, self._win_t)
        return i_int_ma


def minutes(ibar_ma, cap_mah, qp_pu, floor_pm, f16):
    """TTG in minutes (§5) for an average current ibar: -1 when not discharging, 0 at or below the floor.
    qp_pu: Qp in pu; floor_pm: discharge_floor in 0.1 %; f16: the Peukert factor of -ibar (16.16)."""
    if ibar_ma >= 0:
        return -1
    c_pu = cap_mah * CU_PER_MAH * 65536
    r = (c_pu - qp_pu) - c_pu * floor_pm // 1000
    if r <= 0:
        return 0
    return min(_TTG_MAX_MIN, r // (-ibar_ma * f16 * 6000000))
