# Save scheduler: decides once per second whether the state record is written, and why.
# Implements battery-monitor.md §14.2 (triggers, 60 s and 600 s rules, "only changes are written").
from micropython import const

# Reasons returned by due(); 0 = no save.
NONE = const(0)
COMMAND = const(1)    # a command or a settings write asked for it (request_now)
SYNC = const(2)       # an automatic sync changed CE, Qp or the synchronised flag
RATE = const(3)       # synchronised flag, H4, H5, H11, H12 or a 0.1 % change of CE or Qp
PERIODIC = const(4)   # anything changed (op_time included) and 600 s passed
REASONS = ("none", "command", "sync", "rate", "periodic")

RATE_S = const(60)
PERIODIC_S = const(600)
_CU = const(360000000)          # cu per mAh (BM §0.1)
_SYNC_AUTO = const(1)           # last_sync_kind of an automatic sync (shunt.monitor.SYNC_AUTO)
_RATE_FIELDS = ("synchronized", "h4", "h5", "h11", "h12")


def _moved(dm, dr, df, lim_mah, unit):
    """|Δ| >= lim_mah for a difference given as limbs (mAh, cu, 1/65536 cu; unit = cu per mAh), decided in small
    ints: CE and Qp in cu are long ints on the ESP32, and this runs once a second. The limbs are normalised so
    that 0 <= dr < unit and 0 <= df < 65536; then Δ >= 0 ⇔ dm >= 0."""
    if df < 0:
        df += 65536
        dr -= 1
    if dr < 0:
        dr += unit
        dm -= 1
    if dm >= 0:
        return dm >= lim_mah
    return -dm - (1 if dr or df else 0) >= lim_mah


def _ce_moved(a, b, lim_mah):
    return _moved(a["ce_mah"] - b["ce_mah"], a["ce_rem"] - b["ce_rem"], 0, lim_mah, _CU)


def _qp_moved(a, b, lim_mah):
    return _moved(a["qp_mah"] - b["qp_mah"], a["qp_rem_cu"] - b["qp_rem_cu"], a["qp_frac"] - b["qp_frac"],
                  lim_mah, _CU)


def differs(a, b, skip="op_time_s"):
    """True if two state dicts differ in any field other than `skip`."""
    for k in a:
        if k != skip and a[k] != b.get(k):
            return True
    return False


class Saver:
    """The §14.2 rules as a pure object. The app drives it:

    - At start-up: `start(now_s, state)` with the restored state (it is what flash holds), or
      `start(now_s, None)` when nothing valid was on flash (the first record is then written by the 60 s rule).
    - Once per second, after `Monitor.second()`:
      `reason = saver.due(now_s, monitor.get_state(), capacity_ah)`; if reason is not NONE, save that state and
      report the outcome with `saver.saved(now_s, state, reason)` or `saver.failed(now_s, reason)`.
    - For a command or a settings write: apply it, call `request_now()`, then call `due()` at once (not at the
      next second) and save before acknowledging. A command that changed nothing in the record gives NONE
      ("a repeated relay on writes nothing").

    `now_s` is any seconds counter that advances in real time while the unit runs (op_time_s is fine).
    `state` is the dict of `Monitor.get_state()`; `capacity_ah` the `capacity` setting (Ah).

    An automatic sync is saved at once (issue 4, §14.2), even when a rate-limited save happened less than 60 s
    before, and it restarts the 60 s timer. Syncs are at least `charged_detection_time` (≥ 1 min) apart, so the
    worst case is one rate-limited and one sync save per minute: 2 880 a day (docs/flash-wear.md)."""

    def __init__(self):
        self.saved_state = None     # the record on flash (None: nothing valid yet)
        self.last_save_s = 0        # last save of any kind (periodic rule)
        self.last_auto_s = 0        # last automatic save or automatic-save attempt (60 s rule)
        self._cmd = False
        self._sync = False
        self._retry = False         # a save failed: write any change at the next 60 s opportunity
        self._blank = None          # the dict for the first saved copy (start)
        self._prev = None           # (last_sync_kind, last_sync_s, ce/qp zero and synchronised) one second ago
        self.failures = 0

    def start(self, now_s, state):
        self.saved_state = dict(state) if state is not None else None
        self._blank = None
        self.last_save_s = now_s
        self.last_auto_s = now_s
        self._cmd = self._sync = self._retry = False
        self._prev = None if state is None else _sync_marks(state)

    def reserve(self, state):
        """With nothing saved yet, allocate the dict of the first saved copy now (from `state`, for its keys): the
        app calls this in its first second, so no save has to find 944 contiguous bytes on a fragmented heap."""
        if self.saved_state is None and self._blank is None:
            self._blank = dict.fromkeys(state)     # sized for the keys: smaller than dict(state) on MicroPython

    def request_now(self):
        """A command or a settings write: the next due() saves if the record changed."""
        self._cmd = True

    def due(self, now_s, state, capacity_ah):
        """The reason to save now (NONE, COMMAND, SYNC, RATE or PERIODIC)."""
        marks = _sync_marks(state)
        prev = self._prev
        self._prev = marks
        if prev is not None and (marks[0] != prev[0] or marks[1] != prev[1]) and marks[0] == _SYNC_AUTO and not prev[2]:
            # §14.2: an automatic sync is urgent unless it found Qp = CE = 0 and the flag already set
            self._sync = True
        base = self.saved_state
        if self._cmd:
            self._cmd = False
            if base is None or differs(state, base):
                return COMMAND
        if self._sync and (base is None or differs(state, base)):
            return SYNC
        if now_s - self.last_auto_s >= RATE_S:
            if base is None:
                return RATE
            if self._retry and differs(state, base):
                return RATE
            for k in _RATE_FIELDS:
                if state[k] != base[k]:
                    return RATE
            # 0.1 % of capacity (capacity_ah mAh) of CE or Qp since the saved record
            if _ce_moved(state, base, capacity_ah) or _qp_moved(state, base, capacity_ah):
                return RATE
        if now_s - self.last_save_s >= PERIODIC_S and (base is None or differs(state, base, None)):
            return PERIODIC
        return NONE

    def saved(self, now_s, state, reason):
        """The record of `state` is on flash. Its values are copied into the dict kept from the last save: the
        same keys, so no new dict (the app's heap peak was this copy)."""
        base = self.saved_state
        if base is None:
            base = self._blank
            self._blank = None
        if base is None or len(base) != len(state):
            self.saved_state = dict(state)
        else:
            for k in state:
                base[k] = state[k]
            self.saved_state = base
        self.last_save_s = now_s
        if reason != COMMAND:
            self.last_auto_s = now_s
        self._sync = self._cmd = self._retry = False

    def failed(self, now_s, reason):
        """The save failed (W10 is the store's). Everything unsaved is retried at the next opportunity, at most
        once per 60 s, so a full filesystem is not hammered every second."""
        self.failures += 1
        self._retry = True
        self._sync = False          # a failed sync save is retried by the 60 s rule, not every second
        self.last_auto_s = now_s


def _sync_marks(d):
    zero = d["ce_mah"] == 0 and d["ce_rem"] == 0 and d["qp_mah"] == 0 and d["qp_rem_cu"] == 0 \
        and d["qp_frac"] == 0 and d["synchronized"] == 1
    return (d["last_sync_kind"], d["last_sync_s"], zero)
