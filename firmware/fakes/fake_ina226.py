# A register-level INA226 and a fake I2C bus for host tests and the simulator (CPython and MicroPython).
# Models platform.md §1: register map and POR values, 2.5 µV / 1.25 mV quantisation, saturation, averaging,
# conversion timing from the configuration word, CVRF/CNVR, power-on reset, a removable chip, bus errors.
# Never deployed to a board.

_ENODEV = 19
_EIO = 5

_CT_US = (140, 204, 332, 588, 1100, 2116, 4156, 8244)   # typical conversion times (platform.md §1.2)
_AVG = (1, 4, 16, 64, 128, 256, 512, 1024)

_CONFIG = 0x00
_SHUNT = 0x01
_BUS = 0x02
_POWER = 0x03
_CURRENT = 0x04
_CAL = 0x05
_MASK = 0x06
_LIMIT = 0x07
_MFG = 0xFE
_DIE = 0xFF

_CVRF = 0x0008
_OVF = 0x0004
_CNVR = 0x0400
_MASK_WRITABLE = 0xFC03


def _rnd(a, b):
    # round half away from zero, b > 0
    if a < 0:
        return -((2 * -a + b) // (2 * b))
    return (2 * a + b) // (2 * b)


class FakeINA226:
    """The chip. Inputs (true values): bus_uv (µV at the VBUS pin), shunt_nv (IN+ − IN− in nV; an int or a
    callable t_us -> nV for a varying load), offset_nv (the chip's own input offset, added to the shunt).
    Time advances only through advance(ms) / advance_us(us) / set_time_ms(ms)."""

    def __init__(self, address=0x40, mfg_id=0x5449, die_id=0x2260):
        self.address = address
        self.mfg_id = mfg_id
        self.die_id = die_id
        self.present = True
        self.bus_uv = 0
        self.shunt_nv = 0
        self.offset_nv = 0
        self._t_us = 0
        self.reads = {}          # register -> number of reads
        self.writes = {}         # register -> number of writes
        self.conversions = 0     # completed conversion results (each sets CVRF)
        self.power_on_resets = 0
        self._reset_registers()

    # -- inputs -----------------------------------------------------------------------------------------
    def set_battery_mv(self, mv, divider=1000):
        """The battery at `mv`, seen through a divider of ratio divider/1000 (1000 = none)."""
        self.bus_uv = _rnd(mv * 1000 * 1000, divider)

    def set_current_ma(self, ma, rating_a=500, rating_mv=50):
        """A true current through a shunt of rating_a / rating_mv (positive = charging)."""
        self.shunt_nv = _rnd(ma * rating_mv * 1000, rating_a)

    # -- power and presence ----------------------------------------------------------------------------
    def power_on_reset(self):
        """A supply glitch (brown-out): every register back to its POR value, conversions restart."""
        self.power_on_resets += 1
        self._reset_registers()

    def _reset_registers(self):
        self.config = 0x4127
        self.mask = 0
        self.cal = 0
        self.limit = 0
        self.shunt_reg = 0
        self.bus_reg = 0
        self.current_reg = 0
        self.power_reg = 0
        self._restart()

    def _restart(self):
        # Writing the configuration stops the conversion in progress and starts over (platform.md §1.2).
        self.mask &= ~_CVRF
        p = self.period_us()
        self._next_us = self._t_us + p if p else None
        self._single = (self.config & 7) in (1, 2, 3)

    def period_us(self):
        """Result period of the current configuration in µs (0 = power-down)."""
        c = self.config
        mode = c & 7
        if mode in (0, 4):
            return 0
        avg = _AVG[(c >> 9) & 7]
        t = 0
        if mode & 1:
            t += _CT_US[(c >> 3) & 7]
        if mode & 2:
            t += _CT_US[(c >> 6) & 7]
        return avg * t

    def remove(self):
        """Unplug the chip: every transaction to it fails with ENODEV, as on the ESP32 (ports/esp32/machine_i2c.c
        v1.28.0 returns -MP_ENODEV when no device acknowledges; extmod/machine_i2c.c raises it as OSError)."""
        self.present = False

    def insert(self):
        """Plug it back in: it powers up with POR registers."""
        self.present = True
        self.power_on_reset()

    @property
    def alert(self):
        """True while the (active-low, open-drain) ALERT output is asserted by CNVR."""
        return bool(self.mask & _CNVR) and bool(self.mask & _CVRF)

    # -- time ------------------------------------------------------------------------------------------
    def advance(self, ms):
        self.advance_us(ms * 1000)

    def set_time_ms(self, ms):
        self.advance_us(ms * 1000 - self._t_us)

    def time_ms(self):
        return self._t_us // 1000

    def advance_us(self, us):
        if us < 0:
            raise ValueError("time runs forward only")
        end = self._t_us + us
        while self._next_us is not None and self._next_us <= end:
            self._t_us = self._next_us
            self._convert(self._next_us - self.period_us(), self._next_us)
            if self._single:
                self._next_us = None
            else:
                self._next_us += self.period_us()
        self._t_us = end

    def _convert(self, start, end):
        c = self.config
        mode = c & 7
        avg = _AVG[(c >> 9) & 7]
        tsh = _CT_US[(c >> 3) & 7] if mode & 1 else 0
        tbus = _CT_US[(c >> 6) & 7] if mode & 2 else 0
        if mode & 1:
            src = self.shunt_nv
            if callable(src):
                # Average of the true shunt voltage at the middle of each shunt conversion window.
                total = 0
                for k in range(avg):
                    total += src(start + k * (tsh + tbus) + tsh // 2)
                nv = _rnd(total, avg)
            else:
                nv = src
            raw = _rnd(nv + self.offset_nv, 2500)
            self.shunt_reg = 32767 if raw > 32767 else (-32768 if raw < -32768 else raw)
        if mode & 2:
            src = self.bus_uv
            if callable(src):
                total = 0
                for k in range(avg):
                    total += src(start + k * (tsh + tbus) + tsh + tbus // 2)
                uv = _rnd(total, avg)
            else:
                uv = src
            raw = _rnd(uv, 1250)
            self.bus_reg = 32767 if raw > 32767 else (0 if raw < 0 else raw)   # 40.96 V register limit
        # CURRENT and POWER from CAL (datasheet eq. 3 and 4); the driver must never need them.
        self.mask &= ~_OVF
        if self.cal:
            cur = (self.shunt_reg * self.cal) // 2048
            if cur > 32767 or cur < -32768:
                self.mask |= _OVF
                cur = 32767 if cur > 0 else -32768
            self.current_reg = cur
            self.power_reg = min(0xFFFF, abs(cur) * self.bus_reg // 20000)
        else:
            self.current_reg = 0
            self.power_reg = 0
        self.mask |= _CVRF
        self.conversions += 1

    # -- register interface (what the bus sees) --------------------------------------------------------
    def read_reg(self, reg):
        self.reads[reg] = self.reads.get(reg, 0) + 1
        if reg == _CONFIG:
            return self.config
        if reg == _SHUNT:
            return self.shunt_reg & 0xFFFF
        if reg == _BUS:
            return self.bus_reg
        if reg == _POWER:
            return self.power_reg
        if reg == _CURRENT:
            return self.current_reg & 0xFFFF
        if reg == _CAL:
            return self.cal
        if reg == _MASK:
            v = self.mask
            self.mask &= ~_CVRF     # reading Mask/Enable clears CVRF (platform.md §1.5)
            return v
        if reg == _LIMIT:
            return self.limit
        if reg == _MFG:
            return self.mfg_id
        if reg == _DIE:
            return self.die_id
        raise OSError(_EIO, "EIO")

    def write_reg(self, reg, value):
        self.writes[reg] = self.writes.get(reg, 0) + 1
        value &= 0xFFFF
        if reg == _CONFIG:
            if value & 0x8000:
                self._reset_registers()     # RST bit: every register to POR; the bit clears itself
            else:
                self.config = (value & 0x0FFF) | 0x4000   # bits 14-12 read 100
                self._restart()
        elif reg == _CAL:
            self.cal = value & 0x7FFF
        elif reg == _MASK:
            self.mask = (self.mask & ~_MASK_WRITABLE) | (value & _MASK_WRITABLE)
        elif reg == _LIMIT:
            self.limit = value
        elif reg in (_SHUNT, _BUS, _POWER, _CURRENT, _MFG, _DIE):
            pass    # read-only: ignored
        else:
            raise OSError(_EIO, "EIO")


class FakeI2C:
    """machine.I2C's memory-access methods over a set of fake devices. fail_next(n) makes the next n
    transactions raise OSError (EIO by default) without touching any device."""

    def __init__(self, *devices):
        self.devices = {}
        for d in devices:
            self.devices[d.address] = d
        self._fail = 0
        self._errno = _EIO
        self._fail_reg = None
        self.transactions = 0
        self.failures = 0

    def add(self, device):
        self.devices[device.address] = device

    def fail_next(self, n, errno=_EIO, reg=None):
        """Make the next n transactions fail; with reg, only those that address that register."""
        self._fail = n
        self._errno = errno
        self._fail_reg = reg

    def advance(self, ms):
        for d in self.devices.values():
            d.advance(ms)

    def scan(self):
        return sorted(a for a, d in self.devices.items() if d.present)

    def _device(self, addr, reg):
        self.transactions += 1
        if self._fail > 0 and (self._fail_reg is None or self._fail_reg == reg):
            self._fail -= 1
            self.failures += 1
            raise OSError(self._errno, "EIO" if self._errno == _EIO else "I2C error")
        d = self.devices.get(addr)
        if d is None or not d.present:
            self.failures += 1
            raise OSError(_ENODEV, "ENODEV")
        return d

    def readfrom_mem_into(self, addr, memaddr, buf, addrsize=8):
        d = self._device(addr, memaddr)
        v = d.read_reg(memaddr)
        # The pointer does not auto-increment: longer reads repeat the same register.
        for i in range(len(buf)):
            buf[i] = (v >> 8) & 0xFF if i % 2 == 0 else v & 0xFF

    def readfrom_mem(self, addr, memaddr, nbytes, addrsize=8):
        b = bytearray(nbytes)
        self.readfrom_mem_into(addr, memaddr, b)
        return bytes(b)

    def writeto_mem(self, addr, memaddr, buf, addrsize=8):
        d = self._device(addr, memaddr)
        if len(buf) < 2:
            raise OSError(_EIO, "EIO")
        d.write_reg(memaddr, (buf[0] << 8) | buf[1])
