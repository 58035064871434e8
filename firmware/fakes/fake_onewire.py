# A ROM/scratchpad-level DS18B20, a fake 1-Wire bus with the interface of MicroPython's `onewire.OneWire`, and a
# stand-in for `ds18x20.DS18X20`, for host tests and the simulator (CPython and MicroPython). Never deployed.
# Mirrors: micropython-lib micropython/drivers/bus/onewire/onewire.py (OneWire: reset(required) raising
# OneWireError, readbyte/writebyte/readinto/write/select_rom/scan, crc8 = extmod/modonewire.c onewire_crc8),
# micropython-lib micropython/drivers/sensor/ds18x20/ds18x20.py (scan, convert_temp, read_scratch raising
# Exception("CRC error")), and the Maxim DS18B20 datasheet (64-bit ROM = family 0x28 + 48-bit serial + CRC-8;
# scratchpad of 9 bytes with its CRC-8 in byte 8; Convert T 0x44 takes up to 750 ms at 12 bits and the
# temperature register keeps its old value until it completes; power-on temperature register 0x0550 = 85 °C).

_SEARCH_ROM = 0xF0
_MATCH_ROM = 0x55
_SKIP_ROM = 0xCC
_CONVERT = 0x44
_RD_SCRATCH = 0xBE
_T_CONV_MS = 750


def crc8(data):
    """Dallas/Maxim CRC-8 (x^8 + x^5 + x^4 + 1), bit for bit as extmod/modonewire.c onewire_crc8."""
    crc = 0
    for byte in data:
        for _ in range(8):
            fb = (crc ^ byte) & 1
            if fb:
                crc ^= 0x18
            crc = (crc >> 1) & 0x7F
            if fb:
                crc |= 0x80
            byte >>= 1
    return crc


class OneWireError(Exception):
    pass


class FakeDS18B20:
    """One sensor. `temp_cc` is the true temperature in 0.01 °C; the chip converts it to 1/16 °C steps."""

    def __init__(self, serial=b"\x01\x02\x03\x04\x05\x06", temp_cc=2000):
        rom = bytearray(b"\x28" + bytes(serial))
        rom.append(crc8(rom))
        self.rom = bytes(rom)
        self.temp_cc = temp_cc
        self.present = True
        self.corrupt_reads = 0          # the next n scratchpad reads come back with a flipped bit (noise)
        self._t_reg = 0x0550            # power-on value, 85 °C
        self._done_ms = None            # end of the conversion in progress
        self.conversions = 0

    def _raw(self):
        # 12-bit conversion: 1/16 °C, rounded to nearest (the ADC's own rounding is not documented)
        x = self.temp_cc * 16
        q = (x + 50) // 100 if x >= 0 else -((50 - x) // 100)
        return q & 0xFFFF

    def start_conversion(self, now_ms):
        self._done_ms = now_ms + _T_CONV_MS
        self.conversions += 1

    def tick(self, now_ms):
        if self._done_ms is not None and now_ms >= self._done_ms:
            self._t_reg = self._raw()
            self._done_ms = None

    def scratchpad(self):
        t = self._t_reg
        sp = bytearray((t & 0xFF, t >> 8, 0x4B, 0x46, 0x7F, 0xFF, 0x0C, 0x10))
        sp.append(crc8(sp))
        if self.corrupt_reads:
            self.corrupt_reads -= 1
            sp[0] ^= 0x04
        return sp

    def power_cycle(self):
        self._t_reg = 0x0550
        self._done_ms = None


class FakeOneWire:
    """A 1-Wire bus with `onewire.OneWire`'s methods over FakeDS18B20 devices and a fake clock (`advance`).
    The bus is wired-AND: a read slot returns 1 unless a selected device pulls it low."""
    SEARCH_ROM = _SEARCH_ROM
    MATCH_ROM = _MATCH_ROM
    SKIP_ROM = _SKIP_ROM

    def __init__(self, *devices):
        self.devices = list(devices)
        self.now_ms = 0
        self._state = "idle"
        self._sel = []
        self._match = bytearray()
        self._out = bytearray()
        self.resets = 0

    def advance(self, ms):
        self.now_ms += ms
        for d in self.devices:
            d.tick(self.now_ms)

    def _present(self):
        return [d for d in self.devices if d.present]

    # -- onewire.OneWire ----------------------------------------------------------------------------------
    def reset(self, required=False):
        self.resets += 1
        for d in self.devices:
            d.tick(self.now_ms)
        ok = bool(self._present())
        self._state = "rom" if ok else "idle"
        self._sel = []
        if required and not ok:
            raise OneWireError
        return ok

    def writebyte(self, value):
        st = self._state
        if st == "rom":
            if value == _SKIP_ROM:
                self._sel = self._present()
                self._state = "func"
            elif value == _MATCH_ROM:
                self._match = bytearray()
                self._state = "match"
            elif value == _SEARCH_ROM:
                self._sel = self._present()
                self._state = "search"
                self._bit = 0
                self._phase = 0
            else:
                self._state = "idle"
        elif st == "match":
            self._match.append(value & 0xFF)
            if len(self._match) == 8:
                self._sel = [d for d in self._present() if d.rom == bytes(self._match)]
                self._state = "func"
        elif st == "func":
            if value == _CONVERT:
                for d in self._sel:
                    d.start_conversion(self.now_ms)
                self._state = "idle"
            elif value == _RD_SCRATCH and len(self._sel) == 1:
                self._out = self._sel[0].scratchpad()
                self._state = "read"
            elif value == _RD_SCRATCH:
                # several devices talking at once: the wired-AND of their scratchpads (garbage, CRC fails)
                out = bytearray(b"\xff" * 9)
                for d in self._sel:
                    sp = d.scratchpad()
                    for i in range(9):
                        out[i] &= sp[i]
                self._out = out
                self._state = "read"
            else:
                self._state = "idle"

    def readbyte(self):
        if self._state == "read" and self._out and all(d.present for d in self._sel):
            v = self._out[0]
            self._out = self._out[1:]
            return v
        return 0xFF                     # nobody pulls the line low: all ones

    def readinto(self, buf):
        for i in range(len(buf)):
            buf[i] = self.readbyte()

    def write(self, buf):
        for b in buf:
            self.writebyte(b)

    def select_rom(self, rom):
        self.reset()
        self.writebyte(_MATCH_ROM)
        self.write(rom)

    # Bit-level Search ROM (datasheet "Search ROM [F0h]"): per ROM bit, two read slots (bit, complement) then
    # the master writes the branch; devices whose bit differs stop taking part.
    def readbit(self):
        if self._state != "search":
            return 1
        i = self._bit
        v = 1
        for d in self._sel:
            b = (d.rom[i >> 3] >> (i & 7)) & 1
            v &= (b ^ 1) if self._phase else b
        self._phase ^= 1
        return v

    def writebit(self, value):
        if self._state != "search":
            return
        i = self._bit
        self._sel = [d for d in self._sel if ((d.rom[i >> 3] >> (i & 7)) & 1) == value]
        self._bit = i + 1
        self._phase = 0
        if self._bit == 64:
            self._state = "func"

    def scan(self):
        """Every ROM on the bus, by the search protocol (a depth-first walk of the ROM tree)."""
        found = []
        todo = [[]]
        while todo:
            prefix = todo.pop()
            if not self.reset():
                return found
            self.writebyte(_SEARCH_ROM)
            bits = []
            for i in range(64):
                b = self.readbit()
                c = self.readbit()
                if b and c:
                    bits = None         # nobody answered this branch
                    break
                if i < len(prefix):
                    v = prefix[i]
                elif not b and not c:
                    v = 0
                    todo.append(bits + [1])
                else:
                    v = b
                self.writebit(v)
                bits.append(v)
            if bits is not None:
                rom = bytearray(8)
                for i in range(64):
                    rom[i >> 3] |= bits[i] << (i & 7)
                found.append(bytes(rom))
        return found

    def crc8(self, data):
        return crc8(data)


class FakeDS18X20:
    """The three methods of micropython-lib's ds18x20.DS18X20 that drivers.aux_input uses, doing the same bus
    transactions in the same order over a FakeOneWire."""

    def __init__(self, onewire):
        self.ow = onewire
        self.buf = bytearray(9)

    def scan(self):
        return [rom for rom in self.ow.scan() if rom[0] in (0x10, 0x22, 0x28)]

    def convert_temp(self):
        self.ow.reset(True)
        self.ow.writebyte(self.ow.SKIP_ROM)
        self.ow.writebyte(_CONVERT)

    def read_scratch(self, rom):
        self.ow.reset(True)
        self.ow.select_rom(rom)
        self.ow.writebyte(_RD_SCRATCH)
        self.ow.readinto(self.buf)
        if self.ow.crc8(self.buf):
            raise Exception("CRC error")
        return self.buf
