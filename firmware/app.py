# The board application: wires the INA226, VE.Direct, the consoles, persistence and the watchdog to the core.
# Spec: battery-monitor.md §0.4 (board), §14 (persistence); vedirect.md §3.7, §5; platform.md §2.7 (watchdog).
#
# Wiring only: the measurement and its warnings are drivers.sensor's, every command is proto.device.Device's,
# saving is drivers.persist's, the zero-current rule shunt.zero_current's. `App` holds no clock: every step
# takes `now_ms` (a ticks_ms value) and uses only ticks_diff, so the board's asyncio tasks (firmware/tasks.py) and
# the host simulator (tools/fw_sim.py) drive exactly the same code.
from micropython import const

from shunt.settings import Settings, calibration_from
from shunt.monitor import Monitor, STATE_FIELDS, STATE_MIGRATIONS
from shunt.record import Codec
from shunt.zero_current import ZeroCurrent
from proto.vedirect import base36_serial
from proto.vehex import HexHandler
from proto.device import Device
from proto.auth import Auth
from drivers.ina226 import INA226, ticks_diff
from drivers.sensor import Sensor
from drivers.store import Store, SETTINGS, CALIBRATION
from drivers.persist import Persistence, SECRET_FILE

KEY_MARK = "key_entropy.json"    # present once the Instant Readout key was drawn with the radio on (entropy)
from drivers.vedirect_uart import VeDirectPort

_FAULT_CYCLES = const(3)       # VD §3.7: text cycles with the last values after a sensor fault


class App:
    """One smart shunt. Construct with the hardware objects (real or fake); call `start(now_ms)` once, then
    `poll_sensor(now_ms)` whenever a conversion may be ready and `poll_port(now_ms)` every ~20 ms. The console
    and HEX talk to `device` (proto.device.Device)."""

    def __init__(self, i2c, uart, root="", urandom=None, sha256=None, mac=b"\0\0\0\0\0\0", relay_pin=None,
                 ina_address=0x40, ina_timing=None, log=None, store=None, preset=(), entropy=True, aux=None):
        self.log = log if log is not None else print
        self.settings = Settings()
        if store is None:
            store = Store(root, Codec(STATE_FIELDS, migrations=STATE_MIGRATIONS))
        self.store = store
        self.diagnostics = []
        offset_nv, offset_op_s, damage = self._load_settings(preset)
        self.monitor = Monitor(self.settings)
        self.persist = Persistence(self.store, self.settings, self.monitor, self.log)
        for name, diags in damage:
            self._damaged(name, diags)
        self._restore_state()
        self.device = Device(self.monitor, self.settings, self.persist, urandom=urandom, zero=ZeroCurrent(),
                             offset_nv=offset_nv, offset_op_s=offset_op_s, log=self.log)
        if urandom is not None:
            self._check_key(urandom, entropy)
        self.relay_pin = relay_pin
        self._relay_out = -1
        self.settings.add_listener(self._on_setting)
        timing = ina_timing if ina_timing is not None else self.settings.values["ina226_timing"]
        self._sim_timing = ina_timing
        self.ina = INA226(i2c, ina_address, timing, start=False)
        self.sensor = Sensor(self.ina, self.settings, self.monitor.warn, self.count_sample)
        self.serial = base36_serial(mac)
        self.hex = HexHandler(self.monitor, self.settings, self.device, self.serial)
        self.port = VeDirectPort(uart, self.hex) if uart is not None else None
        self._port_ms = None
        self._fault_cycles = 0
        self.auth = None
        if sha256 is not None:
            self.auth = Auth(sha256, urandom)
            try:
                self.auth.load_secret_hex(self.persist.load_secret())
            except ValueError as e:
                # a damaged secret file: the USB console offers a one-time setup code instead of a crash
                self.diagnostics.append("%s: %s: ignored" % (SECRET_FILE, e))
            # issue 14: the failure count and the lockout survive a restart (drivers.persist)
            self.persist.load_lock(self.auth, self.diagnostics)
            self.auth.on_change = self._save_lock
        self.on_second = None        # optional hook (the simulator's log)
        self.aux = aux               # drivers.aux_input.AuxReader, or None (no aux hardware: replay, tests)
        self._now_ms = 0
        self.status_notes = self.device.notes    # board health for `status` (tasks.py, main.py)
        self.device.health["sensor"] = self.sensor.health     # I2C errors and faults, asked by `status`

    def _save_lock(self):
        self.persist.save_lock(self.auth)

    @property
    def sampler(self):
        return self.sensor.sampler

    @property
    def restart_requested(self):
        return self.device.restart_requested

    @property
    def unacknowledged(self):
        return self.persist.unacknowledged

    def acknowledge(self):
        """The user has read the start-up diagnostics of damaged files (issue 14): proto.device.Device.acknowledge."""
        self.device.acknowledge()

    # ---- start-up --------------------------------------------------------------------------------------
    def _load_settings(self, preset):
        """Key by key (issue 14): every valid value is kept, each bad or missing one named. Returns the
        zero-current calibration in force and the damaged files: (offset_nv, op_time_s, [(file, diagnostics)])."""
        damage = []
        d, diags = self.store.load_json(SETTINGS)
        if d is not None:
            diags = ["%s: %s" % (SETTINGS, m) for m in self.settings.load_stored(d)]
        if diags:
            damage.append((SETTINGS, diags))
        # `preset` (name, text) pairs: settings a host tool gives on its command line, in force from the start
        # as if the user had set them before the power-up (ValueError for a bad one); saved by the caller.
        for name, text in preset:
            self.settings.set(name, text)
        nv = op_s = 0
        c, diags = self.store.load_json(CALIBRATION)
        if c is not None:
            nv, op_s, diags = calibration_from(c, self.settings.values["shunt_rating_mv"])
            diags = ["%s: %s" % (CALIBRATION, m) for m in diags]
        if diags:
            damage.append((CALIBRATION, diags))
        return nv, op_s, damage

    def _damaged(self, name, diags):
        # The damaged file is copied to .bad and held: not replaced until the user changes a setting or
        # acknowledges; W10 stays raised until then (drivers.persist).
        p = self.persist
        if name == SETTINGS:
            p.settings_held = True
        else:
            p.calibration_held = True
        for m in diags:
            self.diagnostics.append(m)
            p.unacknowledged.append(m)
        for m in self.store.keep_copy(name, name[:name.rfind(".")] + ".bad"):
            self.diagnostics.append(m)
        self.store.mark_bad(name, diags[0])

    def _restore_state(self):
        values, diags = self.store.load_state()
        self.diagnostics.extend(diags)
        if values is not None:
            self.monitor.set_state(values)
        if self.store.w10 or self.persist.unacknowledged:
            self.monitor.warn.set(10)
        self.persist.start(values)

    def _check_key(self, urandom, entropy):
        """platform.md §4.3: the Instant Readout key is drawn at first start and stored with the settings. It is
        kept even if the save fails (W10 is raised; the key is saved with the next settings write).
        ESP-IDF's RNG gives pseudo-random numbers only until the radio is on ("Random Number Generation"): main.py
        switches Bluetooth on first and says so with `entropy`. A stored key without the KEY_MARK record (drawn by
        an older firmware before Bluetooth was on, or while it was off) is replaced once, with a diagnostic."""
        mark, _ = self.store.load_json(KEY_MARK)
        marked = isinstance(mark, dict) and mark.get("drawn_with_entropy") == 1
        fresh = len(self.settings.values["instant_readout_key"]) != 16
        if not fresh and (marked or not entropy or self.persist.settings_held):
            return      # (a damaged settings file is kept as it is until acknowledged, key included)
        try:
            self.settings.set_stored("instant_readout_key", bytes(urandom(16)), user=False)
        except ValueError as e:      # a short urandom: Instant Readout stays off until instant_readout_rekey
            self.diagnostics.append("instant_readout_key: not drawn at first start (%s)" % e)
            return
        if not fresh:
            self.diagnostics.append("instant_readout_key: replaced once: the stored key was drawn before Bluetooth "
                                    "was on (no entropy); `get instant_readout_key` shows the new one")
        p = self.persist
        if p.settings_held:
            # the stored key was missing or bad: a new one is in use, saved only when acknowledged
            m = "%s: instant_readout_key: a new key is in use (saved when acknowledged)" % SETTINGS
            self.diagnostics.append(m)
            p.unacknowledged.append(m)
            return
        try:
            p.save_settings()
        except OSError as e:
            self.diagnostics.append("settings.json: not saved at first start (%s)" % e)
            return
        if entropy:
            self.store.save_json(KEY_MARK, {"drawn_with_entropy": 1})

    def start(self, now_ms):
        """Bring up the sensor (an absent chip is a fault that re-probes every second, never a crash loop)."""
        err = self.sensor.start(now_ms)
        if err is not None:
            self.diagnostics.append(err)
        self._port_ms = now_ms
        self._now_ms = now_ms
        if self.aux is not None:
            self.diagnostics.extend(self.aux.start())
        for d in self.diagnostics:
            self.log("diag: " + d)
        if self.auth is not None and not self.auth.has_secret():
            # issue 7: a fresh device prints a one-time setup code on the USB console only
            self.log("console setup code (one use): " + self.auth.setup_code())

    # ---- sampling (§0.3, §2) ---------------------------------------------------------------------------
    def poll_sensor(self, now_ms):
        """Take the conversion if one is ready. Returns True if a sample was counted."""
        sensor = self.sensor
        dev = self.device
        self._now_ms = now_ms        # the aux input's DS18B20 measures its conversion time with it
        if not sensor.poll(now_ms, dev.offset_nv):
            return False
        dev.zero.add(sensor.raw_shunt, sensor.dt_ms)
        relay = self.monitor.relay
        if self.relay_pin is not None and relay.energised != self._relay_out:
            self._relay_out = relay.energised
            self.relay_pin.value(self._relay_out)
        return True

    def count_sample(self, v_mv, i_ma, dt_ms):
        """Steps 2-9 for one measurement (§0.3): the per-sample step, then step 9 and the saves once per
        completed second. The replay tool feeds trace rows here (§0.4). Returns the seconds completed."""
        mon = self.monitor
        n = mon.sample(v_mv, i_ma, dt_ms)
        k = n
        if n and self.aux is not None:
            # the aux input is read once a second (issue 18), never per sample; the core judges it in second()
            aux = mon.aux
            aux.reading(self.aux.read(aux.mode, self.settings.values["aux_voltage_divider"], self._now_ms))
            aux.error = self.aux.error
        while k:
            k -= 1
            mon.second()
            self._per_second()
        return n

    def _per_second(self):
        """Step 9 side work: the zero-current measurement, settings written by the firmware itself, saves."""
        dev = self.device
        if dev.zero.complete:
            dev.zero_current_finish(self.settings.values["shunt_rating_mv"])
        self.persist.second()
        if self.on_second is not None:
            self.on_second(self)

    def _on_setting(self, name, user):
        self.persist.settings_dirty = True
        if name == "ina226_timing" and self._sim_timing is None:
            self.ina.set_timing(self.settings.values["ina226_timing"])

    # ---- VE.Direct (vedirect.md §3.7, §5) ----------------------------------------------------------------
    def poll_port(self, now_ms):
        """Read HEX, answer it, and send a text cycle when due. Text starts with the first measurement; on a
        sensor fault the last values go out for at most 3 cycles, then no text until it recovers, while HEX
        answers V, I and P as not available (VD §3.7, U20)."""
        dt = 0 if self._port_ms is None else ticks_diff(now_ms, self._port_ms)   # None: no start() (no hardware)
        self._port_ms = now_ms
        zero = self.device.zero
        if zero is not None and zero.running:
            # zero_current counts op_time, which stops with the samples: wall time ends it (issue 12 item 7)
            zero.wall(dt)
            if zero.overdue:
                self.device.zero_current_overdue(self.sampler is not None and self.sampler.fault)
        if self.port is None:
            return 0
        mon = self.monitor
        if self.sensor.measuring:
            self._fault_cycles = 0
            mon.measure_failed = 0
            return self.port.poll(dt, mon)
        if self.sensor.last_ms is None:
            return self.port.poll(dt, None)
        mon.measure_failed = 1
        before = self.port.cycles
        n = self.port.poll(dt, mon if self._fault_cycles < _FAULT_CYCLES else None)
        self._fault_cycles += self.port.cycles - before
        return n
