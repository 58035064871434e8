# TI INA226 over I2C: identify, configure, poll conversion-ready and read the raw SHUNT and BUS registers;
# plus the sensor-fault rules. Spec: platform.md §1 (registers, CVRF, reset detection), battery-monitor.md §2.
from shunt.convert import SHUNT_RAW_MAX, SHUNT_RAW_MIN, BUS_RAW_LIMIT

from micropython import const

try:
    from time import ticks_diff, ticks_add
except ImportError:  # CPython: plain integers from a fake clock
    def ticks_diff(a, b):
        return a - b

    def ticks_add(a, b):
        return a + b

_REG_CONFIG = const(0x00)
_REG_SHUNT = const(0x01)
_REG_BUS = const(0x02)
_REG_MASK = const(0x06)
_REG_MFG = const(0xFE)
_REG_DIE = const(0xFF)

MFG_ID = const(0x5449)      # "TI"
DIE_ID = const(0x2260)
CONFIG_POR = const(0x4127)
# ina226_timing: 0 standard = AVG 64, 1.1 ms / 1.1 ms; 1 pulsed = AVG 16, VBUSCT 1.1 ms, VSHCT 8.244 ms (BM §2).
# ina226_timing 0 standard, 1 pulsed (BM §2). Index 2 is the host simulator's: AVG 1024, VBUSCT 332 µs, VSHCT
# 588 µs, one result every ≈ 942 ms (still inside the 1 000 ms sensor-fault limit), so that a multi-day
# simulation runs at about one sample a second; never a user setting.
CONFIGS = (0x4727, 0x453F, 0x4E9F)
_CNVR = const(0x0400)       # Mask/Enable: assert ALERT on conversion ready
_CVRF = const(0x0008)       # Mask/Enable: conversion ready; reading 0x06 clears it (platform.md §1.5)

# Results of INA226.poll() and Sampler.poll().
NONE = const(0)       # no new conversion since the last poll
SAMPLE = const(1)     # a new result: raw_shunt / raw_bus hold it
DROPPED = const(2)    # an I2C transaction failed twice: the sample is dropped (BM §2 read failure)

_FAULT_DROPS = const(3)       # BM §2 sensor fault: 3 consecutive dropped samples ...
_FAULT_SILENCE_MS = const(1000)   # ... or 1 000 ms without a good sample
_CLEAR_GOOD = const(10)       # W13 clears after 10 consecutive good samples
_PROBE_MS = const(1000)       # re-probe and re-configure every 1 s while faulted
_CHECK_MS = const(1000)       # read back the configuration about once a second (platform.md §1.5)
# ticks_ms wraps every 2^30 ms on the ESP32 and ticks_diff is valid within ±2^29 ms (6.2 days, extmod/modtime.c
# :166-173): a stamp left alone longer reads as in the future. So the probe stamp follows every healthy poll,
# and the others are moved up to _STALE_MS when older; every rule above compares ages of at most a few seconds.
_STALE_MS = const(60000)


class INA226:
    """One INA226. `i2c` is a machine.I2C (or fake) built by the caller. With start=True (default) the chip is
    identified and configured at once and OSError naming the address is raised if it is absent or not an INA226;
    with start=False no I2C traffic happens until start()."""

    def __init__(self, i2c, address=0x40, timing=0, start=True):
        self._i2c = i2c
        self.address = address
        self.timing = timing
        self.config = CONFIGS[timing]
        self._buf = bytearray(2)      # ids, config, Mask/Enable
        self._shunt = bytearray(2)
        self._bus = bytearray(2)
        self._wbuf = bytearray(2)
        self.raw_shunt = 0            # signed, 2.5 µV LSBs
        self.raw_bus = 0              # unsigned, 1.25 mV LSBs
        self.shunt_over_range = False  # W08 flag of the latest sample
        self.bus_over_range = False    # W09 flag of the latest sample
        self.ok = False               # identified and configured
        self.i2c_errors = 0           # failed transactions, including ones a retry repaired
        self.dropped = 0              # samples lost after the retry failed
        self.resets = 0               # chip resets (brown-outs) found by check_config and repaired
        self.samples = 0
        if start:
            self.start()

    # -- set-up ------------------------------------------------------------------------------------------
    def start(self):
        """Probe the ids, then configure. OSError naming the address on failure; self.ok tells the outcome."""
        self.ok = False
        self.probe()
        self.configure()
        self.ok = True

    def probe(self):
        """Check manufacturer and die id (0xFE, 0xFF); OSError naming the address if absent or different."""
        addr = self.address
        try:
            mfg = self._read(_REG_MFG)
            die = self._read(_REG_DIE)
        except OSError as e:
            raise OSError("INA226 not found at I2C address 0x%02x (%s)" % (addr, e))
        if mfg != MFG_ID or die != DIE_ID:
            raise OSError("device at I2C address 0x%02x is not an INA226: manufacturer id 0x%04x, die id 0x%04x "
                          "(expected 0x%04x, 0x%04x)" % (addr, mfg, die, MFG_ID, DIE_ID))

    def configure(self):
        """Continuous shunt + bus with the timing's configuration word, CNVR on ALERT. CURRENT, POWER and CAL are
        never used (platform.md §1.3). Writing the configuration restarts conversion and clears CVRF."""
        self._write(_REG_CONFIG, self.config)
        self._write(_REG_MASK, _CNVR)

    def set_timing(self, timing):
        """Apply a new ina226_timing (0 standard, 1 pulsed); re-configures at once if the chip is up."""
        self.timing = timing
        self.config = CONFIGS[timing]
        if self.ok:
            try:
                self.configure()
            except OSError:
                self.ok = False

    def check_config(self):
        """Read back the configuration register; if it differs (a reset to 0x4127 after a brown-out), rewrite it
        and count it in `resets`. Returns True if a reset was repaired. OSError if the bus fails."""
        if self._read(_REG_CONFIG) == self.config:
            return False
        self.resets += 1
        self.configure()
        return True

    # -- per-sample --------------------------------------------------------------------------------------
    def poll(self):
        """Read Mask/Enable once; if CVRF is set, read SHUNT and BUS. Reading 0x06 clears CVRF, so each result is
        reported exactly once: SAMPLE (raw_shunt, raw_bus, the over-range flags updated), NONE, or DROPPED when a
        transaction failed twice. Call it at least twice per result period, or on each ALERT edge."""
        try:
            if not self._read(_REG_MASK) & _CVRF:
                return NONE
            b = self._shunt
            self._read_into(_REG_SHUNT, b)
            s = (b[0] << 8) | b[1]
            if s & 0x8000:
                s -= 0x10000
            b = self._bus
            self._read_into(_REG_BUS, b)
        except OSError:
            self.i2c_errors += 1
            self.dropped += 1
            return DROPPED
        self.raw_shunt = s
        v = ((b[0] << 8) | b[1]) & 0x7FFF   # bit 15 always reads 0
        self.raw_bus = v
        self.shunt_over_range = s >= SHUNT_RAW_MAX or s <= SHUNT_RAW_MIN
        self.bus_over_range = v > BUS_RAW_LIMIT
        self.samples += 1
        return SAMPLE

    # -- register access (retried once at once, BM §2) ---------------------------------------------------
    def _read_into(self, reg, b):
        try:
            self._i2c.readfrom_mem_into(self.address, reg, b)
        except OSError:
            self.i2c_errors += 1
            self._i2c.readfrom_mem_into(self.address, reg, b)

    def _read(self, reg):
        b = self._buf
        self._read_into(reg, b)
        return (b[0] << 8) | b[1]

    def _write(self, reg, value):
        b = self._wbuf
        b[0] = (value >> 8) & 0xFF
        b[1] = value & 0xFF
        try:
            self._i2c.writeto_mem(self.address, reg, b)
        except OSError:
            self.i2c_errors += 1
            self._i2c.writeto_mem(self.address, reg, b)


class Sampler:
    """The sensor-fault rules of BM §2 around one INA226, driven by the app's sampling task with ticks_ms values
    (only ticks_diff is used). It never sleeps. If the chip could not be started (absent at boot) it begins in
    the fault state and re-probes every 1 s, so the app never crash-loops.

    poll(now_ms) returns NONE, SAMPLE or DROPPED like INA226.poll. On SAMPLE the app computes
    dt = ticks_diff(now_ms, time of the previous SAMPLE) (0 for the first), so a dropped sample's time is
    carried into the next good sample's dt. `fault` is the W13 flag."""

    def __init__(self, ina, now_ms):
        self.ina = ina
        self.fault = False            # W13
        self.faults = 0               # times the fault state was entered
        self.error = None             # text of the last probe failure, for the console
        self._drops = 0
        self._good = 0
        self._last_good = now_ms
        self._probe_at = now_ms
        self._check_at = now_ms
        if not ina.ok:
            self._try_start(now_ms)
            if not ina.ok:
                self._set_fault()

    def _set_fault(self):
        if not self.fault:
            self.fault = True
            self.faults += 1
        self._good = 0

    def _try_start(self, now_ms):
        self._probe_at = now_ms
        try:
            self.ina.start()
            self.error = None
        except OSError as e:
            self.error = str(e)

    def poll(self, now_ms):
        ina = self.ina
        if not self.fault:
            # a probe is due as soon as a fault begins, whatever the uptime (a boot-time stamp would wrap)
            self._probe_at = ticks_add(now_ms, -_PROBE_MS)
        if ticks_diff(now_ms, self._last_good) > _STALE_MS:
            self._last_good = ticks_add(now_ms, -_STALE_MS)
        if ticks_diff(now_ms, self._check_at) > _STALE_MS:
            self._check_at = ticks_add(now_ms, -_STALE_MS)
        if self.fault and ticks_diff(now_ms, self._probe_at) >= _PROBE_MS and \
                (not ina.ok or ticks_diff(now_ms, self._last_good) >= _PROBE_MS):
            # No good sample for a second while faulted: re-probe and re-configure (BM §2).
            self._try_start(now_ms)
        if not ina.ok:
            return self._silence(now_ms)
        r = ina.poll()
        if r == SAMPLE:
            self._last_good = now_ms
            self._drops = 0
            if self.fault:
                self._good += 1
                if self._good >= _CLEAR_GOOD:
                    self.fault = False
                    self._good = 0
            if ticks_diff(now_ms, self._check_at) >= _CHECK_MS:
                self._check_at = now_ms
                try:
                    ina.check_config()
                except OSError:
                    pass    # the next poll will find the bus failing and count it
            return SAMPLE
        if r == DROPPED:
            self._good = 0
            self._drops += 1
            if self._drops >= _FAULT_DROPS:
                self._set_fault()
            return DROPPED
        return self._silence(now_ms)

    def _silence(self, now_ms):
        if ticks_diff(now_ms, self._last_good) >= _FAULT_SILENCE_MS:
            self._set_fault()
        return NONE
