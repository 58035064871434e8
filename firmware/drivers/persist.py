# The device's storage port: settings, state, calibration and console secret written through one Store, with
# the save rules of the core's Saver and W10. Spec: battery-monitor.md §14 (what, when, how), §13.2 W10.
from shunt.saver import Saver, NONE as SAVE_NONE
from drivers.store import SETTINGS, CALIBRATION

SECRET_FILE = "secret.txt"
LOCK_FILE = "lockout.json"  # console failures and the lockout's end in op_time: a restart keeps the back-off


class Persistence:
    """What proto.device.Device saves through (its `storage` port), and the app's once-per-second saves.
    `store` is a drivers.store.Store (littlefs) or fakes.mem_store.MemStore.

    W10 (BM §13.2, issue 14) is owned here: raised while a file is bad, a save failed, or a damaged file found at
    start-up has not been acknowledged; cleared by `w10()` when none of these holds. A damaged settings or
    calibration file is `held`: the firmware's own writes never replace it, a user's change or `acknowledge`
    does (its copy is kept as *.bad)."""

    def __init__(self, store, settings, monitor, log=None):
        self.store = store
        self.settings = settings
        self.monitor = monitor
        self.saver = Saver()
        self.log = log
        self.settings_dirty = False    # a setting the firmware changed itself (nominal detection): saved next second
        self.unacknowledged = []       # start-up diagnostics of damaged files, until acknowledged
        self.settings_held = False
        self.calibration_held = False
        self._state = None             # the dict Monitor.get_state refills every second (no new dict each time)

    def w10(self):
        if self.store.w10 or self.unacknowledged:
            self.monitor.warn.set(10)
        else:
            self.monitor.warn.clear(10)

    # ---- the Device's port -------------------------------------------------------------------------------
    def save_settings(self):
        """A change by the user (console, HEX), so it may replace a damaged file. OSError on failure."""
        ok, diags = self.store.save_json(SETTINGS, self.settings.to_dict())
        if not ok:
            self.monitor.warn.set(10)
            raise OSError("; ".join(diags))
        self.settings_dirty = False
        self.settings_held = False

    def save_state(self):
        """A command: applied, saved, then acknowledged (§14.2); nothing is written if only op_time changed."""
        mon = self.monitor
        state = self._state = mon.get_state(self._state)
        self.saver.request_now()
        reason = self.saver.due(mon.op_time_s, state, mon.capacity_ah)
        if reason != SAVE_NONE and not self._write(state, reason):
            raise OSError("state save failed")

    def save_calibration(self, offset_nv, op_time_s):
        ok, diags = self.store.save_json(CALIBRATION, {"offset_nV": offset_nv, "op_time_s": op_time_s})
        if not ok:
            self.monitor.warn.set(10)
            raise OSError("; ".join(diags))
        self.calibration_held = False

    def save_secret(self, hex_text):
        # tmp + rename by the store, which removes the tmp file whatever failed (issue 14: a full flash)
        ok, diags = self.store.save_file(SECRET_FILE, hex_text.encode())
        if not ok:
            raise OSError("; ".join(diags))

    def load_secret(self):
        """The stored console secret's text ("" if there is none)."""
        return self.store.load_text(SECRET_FILE, 200)

    def load_lock(self, auth, diagnostics):
        """Put the persisted console failures and lockout back into `auth` (issue 14). The lockout ends at an
        op_time, which runs only while the device runs, as the board's ticks do."""
        d, diags = self.store.load_json(LOCK_FILE)
        diagnostics.extend(diags)
        op = self.monitor.op_time_s
        if d is None:
            if diags:
                auth.restore_lock(5, 1, 30000)      # an unreadable file never opens the door wider
                self.save_lock(auth)                # and is replaced: it holds nothing else
            return
        f, n, end = d.get("failures"), d.get("lockouts"), d.get("lock_end_op_s")
        for v in (f, n, end):
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                diagnostics.append("%s: bad values: the console starts locked for 30 s" % LOCK_FILE)
                auth.restore_lock(5, 1, 30000)
                self.save_lock(auth)
                return
        left = end - op
        auth.restore_lock(f, n, left * 1000 if left > 0 else 0)

    def save_lock(self, auth):
        """Called by auth.on_change after a failure, a success after failures, or the end of a lockout."""
        f, n, ms = auth.lock_state()
        ok, diags = self.store.save_json(LOCK_FILE, {"failures": f, "lockouts": n,
                                                     "lock_end_op_s": self.monitor.op_time_s + (ms + 999) // 1000})
        if not ok:
            self.monitor.warn.set(10)
            if self.log is not None:
                for m in diags:
                    self.log("diag: " + m)

    def acknowledge(self, offset_nv, offset_op_s):
        """The user has read the start-up diagnostics of damaged files: the values in force are written over
        them (the copies stay in *.bad) and W10 clears once every file is good. OSError if a write fails."""
        if self.settings_held:
            self.save_settings()
        if self.calibration_held:
            self.save_calibration(offset_nv, offset_op_s)
        self.unacknowledged = []
        self.w10()

    # ---- the app's once-per-second work (§14.2) -------------------------------------------------------------
    def start(self, restored_state):
        self.saver.start(self.monitor.op_time_s, restored_state)

    def second(self):
        """Settings the firmware changed itself, then the automatic state save if one is due."""
        if self.settings_dirty and not self.settings_held:
            try:
                self.save_settings()
            except OSError:
                pass    # W10 is raised; retried next second
        mon = self.monitor
        # one state dict, refilled every second; the saver's copy lives in one dict too (issue 18: the app's
        # heap peak was a new dict at every save). Both are allocated in the first second, not at a save.
        if self._state is None:
            self._state = mon.get_state()
            self.saver.reserve(self._state)
        state = mon.get_state(self._state)
        reason = self.saver.due(mon.op_time_s, state, mon.capacity_ah)
        if reason != SAVE_NONE:
            self._write(state, reason)

    def _write(self, state, reason):
        ok, diags = self.store.save_state(state)
        mon = self.monitor
        if ok:
            self.saver.saved(mon.op_time_s, state, reason)
        else:
            self.saver.failed(mon.op_time_s, reason)
        self.w10()
        if self.log is not None:
            for d in diags:     # a failed save, or a broken slot the record went around
                self.log("diag: " + d)
        return ok
