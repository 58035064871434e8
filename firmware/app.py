# The board application: wires the INA226, VE.Direct, the consoles, persistence and the watchdog to the core.
# Spec: battery-monitor.md §0.4 (board), §2 (measurement), §12.2 (zero current), §14 (persistence);
# vedirect.md §3.7, §5; platform.md §2.7 (watchdog, reset cause).
#
# `App` holds no clock: every step takes `now_ms` (a ticks_ms value) and uses only ticks_diff, so the board's
# asyncio tasks (run() below) and the host simulator (tools/fw_sim.py) drive exactly the same code.
try:
    from time import ticks_diff
except ImportError:  # CPython (host simulator): ticks never wrap there
    def ticks_diff(a, b):
        return a - b

from shunt.settings import Settings, calibration_from
from shunt.monitor import Monitor, state_codec
from shunt.saver import Saver, NONE as SAVE_NONE, COMMAND as SAVE_COMMAND
from shunt.convert import bus_to_mv, shunt_to_ma
from proto.vedirect import base36_serial
from proto.vehex import HexHandler
from proto.console import Console
from proto.auth import Auth
from drivers.ina226 import INA226, Sampler, SAMPLE
from drivers.store import Store, SETTINGS, CALIBRATION
from drivers.vedirect_uart import VeDirectPort

SECRET_FILE = "secret.txt"
_ZERO_MS = 10000        # §12.2: 10 s of op_time
_ZERO_MIN_N = 10
_ZERO_MAX_SPREAD = 40   # LSB (100 µV)
_FAULT_CYCLES = 3       # VD §3.7: text cycles with the last values after a sensor fault


def _rdiv(a, b):
    q = (2 * abs(a) + b) // (2 * b)
    return -q if a < 0 else q


class App:
    """One smart shunt. Construct with the hardware objects (real or fake); call `start(now_ms)` once, then
    `poll_sensor(now_ms)` whenever a conversion may be ready and `poll_port(now_ms)` every ~20 ms."""

    def __init__(self, i2c, uart, root="", urandom=None, sha256=None, mac=b"\0\0\0\0\0\0", relay_pin=None,
                 ina_address=0x40, ina_timing=None, log=None, store=None, preset=(), aux=None):
        self.log = log if log is not None else print
        self.urandom = urandom
        self.settings = Settings()
        self.store = store if store is not None else Store(root, state_codec())
        self.diagnostics = []
        # Diagnostics of damaged files not yet acknowledged: W10 stays raised while there are any (issue 14).
        self.unacknowledged = []
        self._settings_held = False  # settings.json damaged: never overwritten by the firmware's own writes
        self._calibration_held = False
        self._load_settings(preset)
        self.monitor = Monitor(self.settings)
        self.saver = Saver()
        self._restore_state()
        if urandom is not None and len(self.settings.values["instant_readout_key"]) != 16:
            # platform.md §4.3: the key is drawn at first start and stored with the settings
            self.settings.set_stored("instant_readout_key", bytes(urandom(16)), False)
            if self._settings_held:
                # the stored key was missing or bad: a new one is in use, saved only when acknowledged
                self._unack("%s: instant_readout_key: a new key is in use (saved when acknowledged)" % SETTINGS)
            else:
                try:
                    self.persist_settings()
                except OSError as e:     # W10 is raised; the key is saved with the next settings write
                    self.diagnostics.append("settings.json: not saved at first start (%s)" % e)
        self.relay_pin = relay_pin
        self._relay_out = -1
        self._settings_dirty = False
        self.settings.add_listener(self._on_setting)
        timing = ina_timing if ina_timing is not None else self.settings.values["ina226_timing"]
        self._sim_timing = ina_timing
        self.ina = INA226(i2c, ina_address, timing, start=False)
        self.sampler = None
        self._last_sample_ms = None
        self.measuring = False       # a good measurement exists and the sensor is not in fault (VD §3.7)
        self._zero = None            # [sum, n, min, max, elapsed_ms] while a zero-current measurement runs
        self.zero_result = None      # (offset_nv or None, message) of the last measurement
        self.restart_requested = False
        self.serial = base36_serial(mac)
        self.hex = HexHandler(self.monitor, self.settings, self, self.serial)
        self.port = VeDirectPort(uart, self.hex) if uart is not None else None
        self._port_ms = None
        self._fault_cycles = 0
        self.auth = None
        if sha256 is not None:
            self.auth = Auth(sha256, urandom)
            try:
                self.auth.load_secret_hex(self._read_secret())
            except ValueError as e:
                # a damaged secret file: the USB console offers a one-time setup code instead of a crash
                self.diagnostics.append("%s: %s: ignored" % (SECRET_FILE, e))
        self.on_second = None        # optional hook (the simulator's log)
        self.aux = aux               # drivers.aux_input.AuxReader, or None (no aux hardware: replay, tests)
        self._now_ms = 0

    # ---- start-up --------------------------------------------------------------------------------------
    def _load_settings(self, preset):
        # Key by key (issue 14): every valid value is kept, each bad or missing one named; the damaged file is
        # copied to .bad and not replaced until the user changes a setting or acknowledges.
        d, diags = self.store.load_json(SETTINGS)
        if d is not None:
            diags = ["%s: %s" % (SETTINGS, m) for m in self.settings.load_stored(d)]
        if diags:
            self._settings_held = True
            self._damaged(SETTINGS, diags)
        # `preset` (name, text) pairs: settings a host tool gives on its command line, in force from the start
        # as if the user had set them before the power-up (ValueError for a bad one); saved by the caller.
        for name, text in preset:
            self.settings.set(name, text)
        self.offset_nv = 0
        self.offset_op_s = 0
        c, diags = self.store.load_json(CALIBRATION)
        if c is not None:
            self.offset_nv, self.offset_op_s, diags = calibration_from(c, self.settings.values["shunt_rating_mv"])
            diags = ["%s: %s" % (CALIBRATION, m) for m in diags]
        if diags:
            self._calibration_held = True
            self._damaged(CALIBRATION, diags)

    def _damaged(self, name, diags):
        for m in diags:
            self._unack(m)
        for m in self.store.keep_copy(name, name[:name.rfind(".")] + ".bad"):
            self.diagnostics.append(m)
        self.store.mark_bad(name, diags[0])

    def _unack(self, m):
        self.diagnostics.append(m)
        self.unacknowledged.append(m)

    def _restore_state(self):
        values, diags = self.store.load_state()
        self.diagnostics.extend(diags)
        if values is not None:
            self.monitor.set_state(values)
        if self.store.w10 or self.unacknowledged:
            self.monitor.warn.set(10)
        self.saver.start(self.monitor.op_time_s, values)

    def _read_secret(self):
        try:
            with open(self.store.path(SECRET_FILE)) as f:
                return f.read(200).strip()
        except (OSError, AttributeError):
            return ""

    def start(self, now_ms):
        """Bring up the sensor (an absent chip is a fault that re-probes every second, never a crash loop)."""
        try:
            self.ina.start()
        except OSError as e:
            self.diagnostics.append(str(e))
        self.sampler = Sampler(self.ina, now_ms)
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
        sampler = self.sampler
        r = sampler.poll(now_ms)
        mon = self.monitor
        if sampler.fault:
            mon.warn.set(13)        # W13 clears itself after 10 good samples (§13.2)
            self.measuring = False
        if r != SAMPLE:
            return False
        ina = self.ina
        self._now_ms = now_ms
        last = self._last_sample_ms
        dt = 0 if last is None else ticks_diff(now_ms, last)
        self._last_sample_ms = now_ms
        v = self.settings.values
        i_ma = shunt_to_ma(ina.raw_shunt, self.offset_nv, v["shunt_rating_a"], v["shunt_rating_mv"],
                           v["current_invert"])
        self.count_sample(bus_to_mv(ina.raw_bus, v["voltage_divider"]), i_ma, dt)
        if ina.shunt_over_range:
            mon.warn.set(8)
        if ina.bus_over_range:
            mon.warn.set(9)
        if not sampler.fault:
            self.measuring = True
        z = self._zero
        if z is not None:
            s = ina.raw_shunt
            z[0] += s
            z[1] += 1
            if s < z[2]:
                z[2] = s
            if s > z[3]:
                z[3] = s
            z[4] += dt
        if self.relay_pin is not None and mon.relay.energised != self._relay_out:
            self._relay_out = mon.relay.energised
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
        if self._zero is not None and self._zero[4] >= _ZERO_MS:
            self._zero_finish()
        if self._settings_dirty and not self._settings_held:
            try:
                self.persist_settings()
            except OSError:
                pass  # W10 is raised by the store; retried next second
        self._auto_save()
        if self.on_second is not None:
            self.on_second(self)

    def _auto_save(self):
        mon = self.monitor
        state = mon.get_state()
        reason = self.saver.due(mon.op_time_s, state, mon.capacity_ah)
        if reason != SAVE_NONE:
            self._save(state, reason)

    def _save(self, state, reason):
        ok, diags = self.store.save_state(state)
        mon = self.monitor
        if ok:
            self.saver.saved(mon.op_time_s, state, reason)
        else:
            self.saver.failed(mon.op_time_s, reason)
        self._w10()
        for d in diags:     # a failed save, or a broken slot the record went around
            self.log("diag: " + d)
        return ok

    def _w10(self):
        # BM §13.2 W10: while a file is bad or a save failed, and (issue 14) until damage is acknowledged
        if self.store.w10 or self.unacknowledged:
            self.monitor.warn.set(10)
        else:
            self.monitor.warn.clear(10)

    # ---- VE.Direct (vedirect.md §3.7, §5) ----------------------------------------------------------------
    def poll_port(self, now_ms):
        """Read HEX, answer it, and send a text cycle when due. Text starts with the first measurement; on a
        sensor fault the last values go out for at most 3 cycles, then no text until it recovers, while HEX
        answers V, I and P as not available (VD §3.7, U20)."""
        if self.port is None:
            return 0
        dt = ticks_diff(now_ms, self._port_ms)
        self._port_ms = now_ms
        mon = self.monitor
        if self.measuring:
            self._fault_cycles = 0
            mon.measure_failed = 0
            return self.port.poll(dt, mon)
        if self._last_sample_ms is None:
            return self.port.poll(dt, None)
        mon.measure_failed = 1
        before = self.port.cycles
        n = self.port.poll(dt, mon if self._fault_cycles < _FAULT_CYCLES else None)
        self._fault_cycles += self.port.cycles - before
        return n

    # ---- the device interface of the console (proto.console) and the HEX handler (proto.vehex) ---------
    def _on_setting(self, name, user):
        self._settings_dirty = True
        if name == "ina226_timing" and self._sim_timing is None:
            self.ina.set_timing(self.settings.values["ina226_timing"])

    def persist_settings(self):
        """Write settings.json now: a change by the user (console, HEX), so it may replace a damaged file (its
        copy is in settings.bad). OSError on failure."""
        ok, diags = self.store.save_json(SETTINGS, self.settings.to_dict())
        if not ok:
            self.monitor.warn.set(10)
            raise OSError("; ".join(diags))
        self._settings_dirty = False
        self._settings_held = False

    def acknowledge(self):
        """The user has read the start-up diagnostics of damaged files: the values in force are written over
        them (the copies stay in *.bad) and W10 clears once every file is good. OSError if a write fails."""
        if self._settings_held:
            self.persist_settings()
        if self._calibration_held:
            ok, diags = self.store.save_json(CALIBRATION, {"offset_nV": self.offset_nv, "op_time_s": self.offset_op_s})
            if not ok:
                self.monitor.warn.set(10)
                raise OSError("; ".join(diags))
            self._calibration_held = False
        self.unacknowledged = []
        self._w10()

    def save_state(self):
        """Commands: applied, saved, then acknowledged (§14.2); nothing is written if only op_time changed."""
        mon = self.monitor
        state = mon.get_state()
        self.saver.request_now()
        reason = self.saver.due(mon.op_time_s, state, mon.capacity_ah)
        if reason != SAVE_NONE and not self._save(state, reason):
            raise OSError("state save failed")

    def hex_set_setting(self, name, value):
        before = self.settings.to_dict()
        if self.settings.set_stored(name, value):
            try:
                self.persist_settings()
            except OSError:
                self.settings.load_dict(before)
                raise ValueError("%s: not saved" % name)

    def synchronize(self):
        self.monitor.synchronize()
        self._save_quiet()

    def clear_history(self):
        self.monitor.clear_history()
        self._save_quiet()

    def restore_defaults(self):
        self.monitor.restore_defaults()
        try:
            self.persist_settings()
        except OSError:
            pass

    def relay_remote(self, on):
        self.monitor.relay_remote(on)
        self._save_quiet()

    def _save_quiet(self):
        # A HEX command is applied even if the save fails: W10 is raised and the saver retries.
        try:
            self.save_state()
        except OSError:
            pass

    def restart(self):
        self.restart_requested = True

    def store_secret(self, hex_text):
        # tmp + rename by the store, which removes the tmp file whatever failed (issue 14: a full flash)
        ok, diags = self.store.save_file(SECRET_FILE, hex_text.encode())
        if not ok:
            raise OSError("; ".join(diags))

    @property
    def current_offset_nv(self):
        return self.offset_nv

    @property
    def current_offset_lsb(self):
        return _rdiv(self.offset_nv, 2500)

    # ---- zero-current calibration (§12.2) ----------------------------------------------------------------
    def zero_current_start(self):
        """Start the 10 s measurement (HEX 0x1029 replies now). A repeat while it runs changes nothing."""
        if self._zero is None:
            self._zero = [0, 0, 32767, -32768, 0]
            self.zero_result = None

    def zero_current(self):
        # The synchronous console path cannot wait 10 s for the sampler; the board uses zero_current_async.
        raise ValueError("the measurement takes 10 s: start it with HEX 0x1029 or the board console")

    async def zero_current_async(self):
        import asyncio
        self.zero_current_start()
        while self._zero is not None:
            await asyncio.sleep_ms(100)
        nv, msg = self.zero_result
        if nv is None:
            raise ValueError(msg)
        return nv

    def _zero_finish(self):
        total, n, lo, hi, _ = self._zero
        self._zero = None
        nv = _rdiv(2500 * total, n) if n else 0
        rating_mv = self.settings.values["shunt_rating_mv"]
        if n < _ZERO_MIN_N:
            self.zero_result = (None, "only %d samples in 10 s (at least 10 needed)" % n)
        elif abs(nv) > 5000 * rating_mv:
            self.zero_result = (None, "offset %d nV is above 0.5 %% of full scale (%d nV): is a load or charger "
                                      "still connected?" % (nv, 5000 * rating_mv))
        elif hi - lo > _ZERO_MAX_SPREAD:
            self.zero_result = (None, "the current changed during the measurement (%d LSB spread, at most 40)"
                                % (hi - lo))
        else:
            self.offset_nv = nv
            self.offset_op_s = self.monitor.op_time_s
            ok, diags = self.store.save_json(CALIBRATION, {"offset_nV": nv, "op_time_s": self.offset_op_s})
            if not ok:
                self.monitor.warn.set(10)
            else:
                self._calibration_held = False
            self.monitor.zero_current_ok()
            self.zero_result = (nv, "offset %d nV" % nv)
        self.log("zero_current: " + self.zero_result[1])


# ---- the board's asyncio tasks (one per concern, STYLE.md) ---------------------------------------------------

async def run(app, cfg, uart_console=None, ble=None, beacon=None, wdt=None, alert_flag=None):
    """Run the app on the board until reset. `cfg` is board_config; the hardware objects come from main.py."""
    import asyncio
    import time
    app.start(time.ticks_ms())
    health = [time.ticks_ms()]

    async def sample_task():
        # Every conversion: wait for the ALERT edge (or poll), read it, count it with the measured interval.
        while True:
            if alert_flag is not None:
                try:
                    await asyncio.wait_for_ms(alert_flag.wait(), 50)
                except asyncio.TimeoutError:
                    pass
            else:
                await asyncio.sleep_ms(20)
            now = time.ticks_ms()
            app.poll_sensor(now)
            health[0] = now

    async def port_task():
        while True:
            await asyncio.sleep_ms(20)
            app.poll_port(time.ticks_ms())

    async def beacon_task():
        while True:
            await asyncio.sleep_ms(1000)
            beacon.update(app.monitor)

    async def housekeeping_task():
        # Console lockouts run on measured time (proto.auth); a requested restart waits for its reply to leave.
        last = time.ticks_ms()
        while True:
            await asyncio.sleep_ms(200)
            now = time.ticks_ms()
            if app.auth is not None:
                app.auth.elapse(time.ticks_diff(now, last))
            last = now
            if app.restart_requested:
                await asyncio.sleep_ms(300)   # let the reply leave first
                import machine
                machine.reset()

    async def watchdog_task():
        # Fed only while the sampling task runs: a hung loop or a wedged sampler resets the board.
        while True:
            await asyncio.sleep_ms(1000)
            if time.ticks_diff(time.ticks_ms(), health[0]) < 3000:
                wdt.feed()

    tasks = [asyncio.create_task(sample_task()), asyncio.create_task(port_task()),
             asyncio.create_task(housekeeping_task())]
    if wdt is not None:
        tasks.append(asyncio.create_task(watchdog_task()))
    if beacon is not None:
        tasks.append(asyncio.create_task(beacon_task()))
    if uart_console is not None:
        tasks.append(asyncio.create_task(uart_console.run()))
    if ble is not None:
        tasks.append(asyncio.create_task(ble.run()))
    await asyncio.gather(*tasks)
