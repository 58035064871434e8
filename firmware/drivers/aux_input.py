# The aux input's hardware: a second INA226 (bus voltage only) for the starter or mid-point voltage, and a
# DS18B20 on 1-Wire for the temperature, each read once a second without blocking. Spec: issue 18; platform.md
# §1 (INA226 registers); Maxim DS18B20 datasheet (Convert T 0x44, Read Scratchpad 0xBE, t_CONV ≤ 750 ms at
# 12 bits, CRC-8 over the scratchpad, 85 °C power-on value).
from micropython import const

from drivers.ina226 import INA226
from shunt.convert import bus_to_mv

try:
    from time import ticks_diff
except ImportError:  # CPython: plain integers from a fake clock
    def ticks_diff(a, b):
        return a - b

AUX_ADDRESS = const(0x41)       # A0 = VS, A1 = GND (INA226 datasheet table 2)
# Bus voltage only, continuous (MODE 110), VBUSCT 1.1 ms, 64 averages: a fresh result every 70 ms, so a read
# once a second always finds a recent one; the shunt input is not converted (its pins may be left open).
BUS_ONLY_CONFIG = const(0x4726)
_REG_BUS = const(0x02)
_RETRY_S = const(10)            # an absent part is looked for again every 10 reads (10 s)
CONVERT_MS = const(750)         # DS18B20 t_CONV at 12 bits (datasheet max)
_POR_RAW = const(0x0550)        # 85 °C: the temperature register before its first conversion


class AuxVoltage:
    """The second INA226 at `address` (0x41), bus input only. `read_mv(divider)` once a second returns the aux
    voltage in mV through `aux_voltage_divider` (0.001 units), or None when the chip is absent or the bus
    failed twice. It never raises: an absent chip leaves `error` set (the diagnostic) and is probed again
    every 10 s."""

    def __init__(self, i2c, address=AUX_ADDRESS):
        self.ina = INA226(i2c, address, 0, start=False)
        self.ina.config = BUS_ONLY_CONFIG
        self.error = None
        self._buf = bytearray(2)
        self._retry = 0

    def start(self):
        """Probe and configure; True if the chip answered. An absent chip is a diagnostic, never a crash."""
        ina = self.ina
        ina.config = BUS_ONLY_CONFIG
        try:
            ina.start()
            self.error = None
        except OSError as e:
            ina.ok = False
            self.error = "aux input: %s" % e
        return ina.ok

    def read_mv(self, divider):
        ina = self.ina
        if not ina.ok:
            self._retry += 1
            if self._retry < _RETRY_S or not self.start():
                return None
        self._retry = 0
        try:
            ina.check_config()          # a brown-out reset the chip: configure it again
            raw = ina._read(_REG_BUS)
        except OSError as e:
            ina.ok = False
            self.error = "aux input: INA226 at I2C address 0x%02x stopped answering (%s)" % (ina.address, e)
            return None
        return bus_to_mv(raw & 0x7FFF, divider)


class AuxTemperature:
    """A DS18B20 through MicroPython's built-in `ds18x20.DS18X20` (on `onewire.OneWire(Pin(n))`), without
    blocking: `poll(now_ms)` once a second reads the conversion started by the previous call (≥ 750 ms ago,
    measured with ticks_diff) and starts the next one. `value` is the temperature in 0.01 °C, or None when no
    sensor answers, a CRC check failed, or no conversion has finished yet (the text then shows `T ---`, as a
    BMV-712 without its sensor does). Only the driver's scan/convert_temp/read_scratch are used: read_temp
    returns a float, and the core counts in integers."""

    def __init__(self, ds):
        self.ds = ds
        self.rom = None
        self.value = None
        self.error = None
        self.crc_errors = 0
        self._started = None
        self._retry = 0

    def start(self):
        """Look for the sensor (the first DS18B20 on the bus). True if one answered."""
        self._started = None
        try:
            roms = self.ds.scan()
        except Exception as e:          # OneWireError or a bus fault: a diagnostic, never a crash
            roms = ()
            self.error = "aux input: 1-Wire scan failed (%s)" % (e,)
        self.rom = None
        for r in roms:
            if r[0] == 0x28:
                self.rom = r
                break
        if self.rom is None:
            if not roms:
                self.error = self.error or "aux input: no DS18B20 answers on the 1-Wire pin"
            else:
                self.error = "aux input: no DS18B20 (family 0x28) among %d 1-Wire devices" % len(roms)
            return False
        self.error = None
        return True

    def poll(self, now_ms):
        if self.rom is None:
            self.value = None
            self._retry += 1
            if self._retry < _RETRY_S:
                return None
            self._retry = 0
            if not self.start():
                return None
        t0 = self._started
        if t0 is not None:
            if ticks_diff(now_ms, t0) < CONVERT_MS:
                return self.value       # still converting: never restart it, keep the last value
            self.value = self._read()
            if self.rom is None:
                return None
        try:
            self.ds.convert_temp()
            self._started = now_ms
        except Exception as e:
            self._lost(e)
        return self.value

    def _read(self):
        try:
            b = self.ds.read_scratch(self.rom)
        except Exception as e:
            if "CRC" in str(e):
                self.crc_errors += 1    # a disturbed read: this second shows ---, the next one retries
                return None
            self._lost(e)
            return None
        raw = b[0] | (b[1] << 8)
        if raw & 0x8000:
            raw -= 0x10000
        if raw == _POR_RAW and self.value is None:
            return None                 # 85 °C before any conversion finished: the sensor just powered up
        # 1/16 °C -> 0.01 °C, rounded half away from zero
        x = raw * 25
        return (x + 2) // 4 if x >= 0 else -((2 - x) // 4)

    def _lost(self, e):
        self.rom = None
        self.value = None
        self._started = None
        self._retry = 0
        self.error = "aux input: the DS18B20 stopped answering (%s)" % (e,)


class AuxReader:
    """The aux input as the app sees it: the adapter that matches the `aux_input` mode, read once a second.
    `voltage` (AuxVoltage) and `temperature` (AuxTemperature) may each be None when not fitted; `read()` then
    gives None (not available) and `error` says why, so the core raises W16 and never stops."""

    def __init__(self, voltage=None, temperature=None):
        self.voltage = voltage
        self.temperature = temperature
        self.error = None

    def start(self):
        """Probe what is fitted; returns the diagnostics (a missing part is not an error until it is used)."""
        out = []
        for hw in (self.voltage, self.temperature):
            if hw is not None and not hw.start():
                out.append(hw.error)
        return out

    def read(self, mode, divider, now_ms):
        """One reading for aux mode 0 starter / 1 mid-point (mV) or 2 temperature (0.01 °C); None if none."""
        if mode == 0 or mode == 1:
            hw = self.voltage
            if hw is None:
                self.error = "no second INA226 configured (board_config AUX_INA226_ADDRESS)"
                return None
            v = hw.read_mv(divider)
        elif mode == 2:
            hw = self.temperature
            if hw is None:
                self.error = "no 1-Wire pin configured (board_config ONEWIRE_PIN)"
                return None
            v = hw.poll(now_ms)
        else:
            self.error = None
            return None
        self.error = hw.error
        return v
