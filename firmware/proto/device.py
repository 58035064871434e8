# The device's commands, once: every command with a side effect, for every caller (console, VE.Direct HEX, the
# host tools). Spec: battery-monitor.md §1 (settings writes), §4.3-§4.4, §9, §11.1, §12, §14.2; platform.md §4.3.
#
# Pure: the monitor and settings are the core's; saving goes through the `storage` port the app provides
# (drivers.persist.Persistence on the board and in the host tools, a recording fake in the tests), the
# zero-current measurement through the `zero` port (shunt.zero_current.ZeroCurrent), randomness through
# `urandom`. Nothing here reads a clock.
from micropython import const

from shunt.fixed import rdiv
from shunt.convert import NV_PER_SHUNT_LSB
from shunt.settings import CHEMISTRY, recommended

_REKEY_TRIES = const(8)     # draws of a new Instant Readout key before giving up (a broken urandom)


class Device:
    """The commands of battery-monitor.md §12.1, each applied, saved, and only then acknowledged (§14.2).

    Every method reports failures the same way, whoever calls it:
    - `ValueError` (message for the user): the request was rejected and nothing changed.
    - `OSError`: the save failed. A settings write (`set_setting`, `set_stored`, `restore_defaults`,
      `rekey`, `store_secret`) is rolled back, so nothing changed; a state command (`synchronize`, `set_soc`,
      `clear_history`, `relay`, `save`, `restart`) stays applied and the next automatic save retries it.
      In both cases the storage port has raised W10.
    The console turns these into `ERR VALUE|STATE` and `ERR STORAGE`, HEX into flags 0x04 (vedirect.md §4.3).

    The storage port provides `save_settings()`, `save_state()` (an immediate command save; nothing is written
    if only op_time changed), `save_calibration(offset_nv, op_time_s)`, `save_secret(hex_text)` and
    `acknowledge(offset_nv, op_time_s)`, each raising OSError on failure. The zero port provides `start()`, `running`, and `run()` (a synchronous measurement:
    the board cannot wait 10 s there and raises ValueError, see `zero_current_async`)."""

    def __init__(self, monitor, settings, storage, urandom=None, zero=None, offset_nv=0, offset_op_s=0, log=None):
        self.monitor = monitor
        self.settings = settings
        self.storage = storage
        self.urandom = urandom
        self.zero = zero
        self.offset_nv = offset_nv        # the zero-current offset in force (BM §12.2), nV at the shunt
        self.offset_op_s = offset_op_s    # op_time of that calibration
        self.zero_result = None           # (offset_nv or None, message) of the last measurement
        self.restart_requested = False    # the app resets once the reply has left
        self.log = log
        self.notes = {}                   # board health for `status` (firmware/tasks.py, main.py): name -> text
        self.health = {}                  # name -> callable giving text or None, asked only when status is read

    def status_lines(self):
        """The board's health lines for the console's `status` (name=text, sorted): BLE off, failed tasks, and
        the adapters' counters (`health`: I2C errors of the INA226), only those that have something to say."""
        d = dict(self.notes)
        for k in self.health:
            t = self.health[k]()
            if t:
                d[k] = t
        return ["%s=%s" % (k, d[k]) for k in sorted(d)]

    # ---- settings (BM §1) -------------------------------------------------------------------------------
    def set_setting(self, name, text):
        """The user's text for one setting: validated, stored, saved. Returns True if anything changed."""
        return self._settings_write(self.settings.set, name, text)

    def set_stored(self, name, value):
        """The same for a value already in stored units (HEX SET, the key)."""
        return self._settings_write(self.settings.set_stored, name, value)

    def restore_defaults(self):
        """§1 restore_defaults (installation settings, device_name and the key kept); saved if it changed."""
        s = self.settings
        before = s.to_dict()
        self.monitor.restore_defaults()
        if s.to_dict() != before:
            self._save_settings(before)

    def battery_type_changes(self, battery_type=None):
        """What `apply_battery_type` would set (issue 17): [(name, stored value)] of the settings that differ from
        what the chemistry recommends (shunt.settings.recommended; battery_type itself first), for the nominal
        voltage in force (fixed, else detected). battery_type None: the setting's value. Changes nothing."""
        s = self.settings
        bt = s["battery_type"] if battery_type is None else battery_type
        if not 0 <= bt < len(CHEMISTRY):
            raise ValueError("battery_type %r: must be one of %s" % (bt, ", ".join(c[0] for c in CHEMISTRY)))
        plan = [("battery_type", bt)] + recommended(bt, self.nominal_v())
        return [(name, v) for name, v in plan if s[name] != v]

    def apply_battery_type(self, battery_type=None):
        """Set every value of `battery_type_changes` and save them once; all or nothing. Returns the changes."""
        changes = self.battery_type_changes(battery_type)
        if not changes:
            return changes
        s = self.settings
        before = s.to_dict()
        try:
            for name, v in changes:
                s.set_stored(name, v)
        except ValueError:
            s.load_dict(before)
            raise
        self._save_settings(before)
        return changes

    def nominal_v(self):
        """The bank's nominal voltage: the setting if fixed, else the detected class (12 until detected)."""
        n = self.settings["nominal_voltage"]
        if n:
            return n
        nom = getattr(self.monitor, "nominal", None)
        return getattr(nom, "nominal_v", 12) or 12

    def rekey(self):
        """A new instant_readout_key whose first byte differs from the old one's (platform.md §4.3)."""
        old = self.settings["instant_readout_key"]
        for _ in range(_REKEY_TRIES):
            key = bytes(self.urandom(16))
            if len(key) == 16 and (not old or key[0] != old[0]):
                self.set_stored("instant_readout_key", key)
                return
        raise ValueError("instant_readout_rekey: the random source gave no usable key in %d draws" % _REKEY_TRIES)

    def _settings_write(self, fn, name, value):
        before = self.settings.to_dict()
        changed = fn(name, value)
        if changed:
            self._save_settings(before)
        return changed

    def _save_settings(self, before):
        try:
            self.storage.save_settings()
        except OSError:
            # All or nothing: the old values back, so that "nothing changed" is true.
            self.settings.load_dict(before)
            raise

    @property
    def unacknowledged(self):
        """Start-up diagnostics of damaged files not yet acknowledged (the console lists them)."""
        return getattr(self.storage, "unacknowledged", [])

    @property
    def unacknowledged(self):
        """The start-up diagnostics of damaged files not yet acknowledged (the storage port keeps them)."""
        return getattr(self.storage, "unacknowledged", ())

    def acknowledge(self):
        """The user has read the diagnostics of damaged files: the values in force replace them (issue 14)."""
        self.storage.acknowledge(self.offset_nv, self.offset_op_s)

    # ---- state commands (BM §4.3, §4.4, §9, §11.1, §14.2) -------------------------------------------------
    # Alike on purpose (one apply-then-save pair per command, so each is one line for its callers to find).
    def synchronize(self):
        """Manual sync to 100 % (§4.4)."""
        self.monitor.synchronize()
        self.save()

    def set_soc(self, cpct):
        """SOC := cpct (0.01 %, 0..10000) exactly (§4.4)."""
        self.monitor.set_soc(cpct)
        self.save()

    def clear_history(self):
        """H1..H18 to 0 (§9)."""
        self.monitor.clear_history()
        self.save()

    def relay(self, on):
        """Remote relay command (§11.1); ValueError outside relay_mode remote."""
        self.monitor.relay_remote(on)
        self.save()

    def save(self):
        """Save the state now (§14.2)."""
        self.storage.save_state()

    def restart(self):
        """Save, then ask the app to reset once this reply has been sent."""
        self.save()
        self.restart_requested = True

    # ---- zero-current calibration (BM §12.2) ----------------------------------------------------------
    def zero_current_start(self):
        """Start the 10 s measurement (HEX 0x1029 replies at once). A repeat while it runs changes nothing."""
        if self.zero is None:
            raise ValueError("zero_current: not available")
        if not self.zero.running:
            self.zero_result = None
            self.zero.start()

    def zero_current(self):
        """The measurement, synchronously: offset_nV, or ValueError with the reason it was rejected."""
        if self.zero is None:
            raise ValueError("zero_current: not available")
        return self.zero.run()

    async def zero_current_async(self):
        """The measurement as a coroutine (the board: the sampling task keeps feeding it for 10 s)."""
        import asyncio
        sleep_ms = getattr(asyncio, "sleep_ms", None)   # MicroPython's; CPython's asyncio (the host tools) has sleep
        self.zero_current_start()
        while self.zero.running:
            await (sleep_ms(100) if sleep_ms else asyncio.sleep(0.1))
        nv, msg = self.zero_result
        if nv is None:
            raise ValueError(msg)
        return nv

    def zero_current_overdue(self, sensor_fault):
        """The app calls this once 10 s of wall time have passed: a measurement that cannot complete (sensor
        fault, stalled sampling) ends with a clear rejection, so that no one waits for it for ever."""
        r = self.zero.end_overdue(sensor_fault)
        if r is not None:
            self.zero_result = r
            if self.log is not None:
                self.log("zero_current: " + r[1])

    def zero_current_finish(self, rating_mv):
        """The app calls this once the measurement has run 10 s: judge it, apply and save a good offset."""
        nv, msg = self.zero.finish(rating_mv)
        if nv is not None:
            self.offset_nv = nv
            self.offset_op_s = self.monitor.op_time_s
            try:
                self.storage.save_calibration(nv, self.offset_op_s)
            except OSError:
                pass    # applied; W10 is raised by the storage port
            self.monitor.zero_current_ok()
        self.zero_result = (nv, msg)
        if self.log is not None:
            self.log("zero_current: " + msg)

    @property
    def current_offset_lsb(self):
        """The offset in INA226 shunt LSBs (HEX 0x1034)."""
        return rdiv(self.offset_nv, NV_PER_SHUNT_LSB)

    # ---- console secret (issue 7, proto.auth) -----------------------------------------------------------
    def store_secret(self, hex_text):
        """Write the console secret (64 hex characters); OSError if it could not be saved."""
        self.storage.save_secret(hex_text)
