# The device's storage port: settings, state, calibration and console secret written through one Store, with
# the save rules of the core's Saver and W10 on failure. Spec: battery-monitor.md §14 (what, when, how), §13.2 W10.
from shunt.saver import Saver, NONE as SAVE_NONE
from drivers.store import SETTINGS, CALIBRATION

SECRET_FILE = "secret.txt"


class Persistence:
    """What proto.device.Device saves through (its `storage` port), and the app's once-per-second saves.
    `store` is a drivers.store.Store (littlefs) or fakes.mem_store.MemStore. Every save that fails raises W10
    on the monitor and, for the Device's calls, OSError."""

    def __init__(self, store, settings, monitor, log=None):
        self.store = store
        self.settings = settings
        self.monitor = monitor
        self.saver = Saver()
        self.log = log
        self.settings_dirty = False    # a setting the firmware changed itself (nominal detection): saved next second

    # ---- the Device's port -------------------------------------------------------------------------------
    def save_settings(self):
        ok, diags = self.store.save_json(SETTINGS, self.settings.to_dict())
        if not ok:
            self.monitor.warn.set(10)
            raise OSError("; ".join(diags))
        self.settings_dirty = False

    def save_state(self):
        """A command: applied, saved, then acknowledged (§14.2); nothing is written if only op_time changed."""
        mon = self.monitor
        state = mon.get_state()
        self.saver.request_now()
        reason = self.saver.due(mon.op_time_s, state, mon.capacity_ah)
        if reason != SAVE_NONE and not self._write(state, reason):
            raise OSError("state save failed")

    def save_calibration(self, offset_nv, op_time_s):
        ok, diags = self.store.save_json(CALIBRATION, {"offset_nV": offset_nv, "op_time_s": op_time_s})
        if not ok:
            self.monitor.warn.set(10)
            raise OSError("; ".join(diags))

    def save_secret(self, hex_text):
        self.store.save_text(SECRET_FILE, hex_text)

    def load_secret(self):
        """The stored console secret's text ("" if there is none)."""
        return self.store.load_text(SECRET_FILE, 200)

    # ---- the app's once-per-second work (§14.2) -------------------------------------------------------------
    def start(self, restored_state):
        self.saver.start(self.monitor.op_time_s, restored_state)

    def second(self):
        """Settings the firmware changed itself, then the automatic state save if one is due."""
        if self.settings_dirty:
            try:
                self.save_settings()
            except OSError:
                pass    # W10 is raised; retried next second
        mon = self.monitor
        state = mon.get_state()
        reason = self.saver.due(mon.op_time_s, state, mon.capacity_ah)
        if reason != SAVE_NONE:
            self._write(state, reason)

    def _write(self, state, reason):
        ok, diags = self.store.save_state(state)
        mon = self.monitor
        if ok:
            self.saver.saved(mon.op_time_s, state, reason)
            if not self.store.w10:
                mon.warn.clear(10)
        else:
            self.saver.failed(mon.op_time_s, reason)
            mon.warn.set(10)
            if self.log is not None:
                for d in diags:
                    self.log("diag: " + d)
        return ok
