# Nominal voltage: auto-detection of the 12/24/36/48 V class from charging samples, or the fixed setting.
# Spec: battery-monitor.md §7 (table and rules), §0.2 (outages), §2 (outage integrates at most 5 000 ms), U22.
from micropython import const

_PROMOTE_MS = const(60000)      # a class must be seen on consecutive charging samples for ≥ 60 s (P, U22)
_STOP_MS = const(3600000)       # detection stops after 3 600 s of cumulative charging (V)
_OUTAGE_MS = const(5000)        # an outage sample counts at most 5 000 ms, like the integration (§2)


def voltage_class(v_mv):
    """§7 table: the nominal class of a voltage seen while charging; 0 for ≥ 60.0 V (not supported, W02)."""
    if v_mv < 15000:
        return 12
    if v_mv < 30000:
        return 24
    if v_mv < 45000:
        return 36
    if v_mv < 60000:
        return 48
    return 0


class Nominal:
    """Nominal voltage N (§7). `nominal_v` is the fixed `nominal_voltage` setting, or the detected class.

    Detection runs only while `nominal_voltage = auto` and it has not stopped; it starts at N = 12.
    - A charging sample is one with `I_int > 0`. Its voltage class (table) counts when it is the same class as on
      the previous sample; any other sample (not charging, another class, an outage) resets the 60 s count.
    - Promotion: a class greater than N seen for ≥ 60 s becomes N (never decreases). Unless the user set
      `charged_voltage`, it becomes the table value 1.1·N (`set_stored(..., user=False)`; the settings listener
      saves the file).
    - `over60` is 1 for a charging sample ≥ 60.0 V while detection runs (W02, nothing changes).
    - Stops when the cumulative charging time reaches 3 600 s, on `user_edit()` (the user wrote
      `charged_voltage` or a fixed `nominal_voltage`). `restart()` (restore_defaults, back to auto) starts again
      from N = 12 with the counters at 0. A change from a fixed value to auto seen by `configure()` restarts too.
    Persisted by the monitor: `nominal_v`, `chg_s`, `stopped` (restore with `load`).
    """

    def __init__(self, settings):
        self.settings = settings
        self.nominal_v = 12
        self.stopped = 0
        self.chg_s = 0
        self.over60 = 0
        self.running = 0
        self._chg_ms = 0
        self._cls = 0
        self._cls_ms = 0
        self._fixed = 0
        self._promoting = 0
        self.configure()

    def configure(self):
        """Cache the `nominal_voltage` setting (0 = auto, else the fixed N)."""
        fixed = self.settings.values["nominal_voltage"]
        back_to_auto = self._fixed and not fixed
        self._fixed = fixed
        if back_to_auto:
            self.restart()          # §7 restart: back to auto
        if fixed:
            self.nominal_v = fixed
        self.running = 1 if (not fixed and not self.stopped) else 0

    def user_edit(self):
        """§7: the user wrote `charged_voltage` or a fixed `nominal_voltage`: detection stops for good (until
        restart). The firmware's own write during a promotion is not a user edit and is ignored here."""
        if self._promoting:
            return
        self.stopped = 1
        self.running = 0
        self._cls_ms = 0

    def restart(self):
        """§7: `restore_defaults` or `nominal_voltage` back to auto: N = 12, counters at 0, detection running."""
        self.nominal_v = self._fixed if self._fixed else 12
        self.stopped = 0
        self.chg_s = 0
        self._chg_ms = 0
        self._cls = 0
        self._cls_ms = 0
        self.over60 = 0
        self.running = 0 if self._fixed else 1

    def load(self, nominal_v, chg_s, stopped):
        """Restore the persisted detection state (§14.1)."""
        if nominal_v not in (12, 24, 36, 48):
            nominal_v = 12
        self.nominal_v = self._fixed if self._fixed else nominal_v
        c = chg_s * 1000
        self._chg_ms = c if 0 <= c < _STOP_MS else (_STOP_MS if c > 0 else 0)
        self.chg_s = self._chg_ms // 1000
        self.stopped = 1 if (stopped or self._chg_ms >= _STOP_MS) else 0
        self._cls = 0
        self._cls_ms = 0
        self.running = 1 if (not self._fixed and not self.stopped) else 0

    def step(self, mon, dt_ms):
        """§0.3 step 8. Allocation-free except on a promotion (a rare settings write)."""
        self.over60 = 0
        if not self.running:
            return
        if mon.i_int_ma <= 0:
            self._cls_ms = 0
            return
        # A charging sample.
        out = mon.outage
        c = self._chg_ms + (_OUTAGE_MS if out else dt_ms)
        cls = voltage_class(mon.v_mv)
        if cls == 0:
            self.over60 = 1
            self._cls_ms = 0
        elif out or cls != self._cls:
            self._cls = cls
            self._cls_ms = 0 if out else dt_ms
        else:
            a = self._cls_ms + dt_ms
            self._cls_ms = a if a < _PROMOTE_MS else _PROMOTE_MS
        if cls > self.nominal_v and self._cls_ms >= _PROMOTE_MS:
            self._promote(cls)
        if c >= _STOP_MS:
            c = _STOP_MS
            self.stopped = 1
            self.running = 0
        self._chg_ms = c
        self.chg_s = c // 1000

    def _promote(self, n):
        self.nominal_v = n
        self._cls_ms = 0
        st = self.settings
        if not st.charged_voltage_user_set:
            self._promoting = 1
            try:
                st.set_stored("charged_voltage", 11 * n, user=False)
            finally:
                self._promoting = 0
