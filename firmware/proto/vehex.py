# VE.Direct HEX protocol: bounded frame parser, register table and the GET/SET/ping/version/product-id replies.
# Spec: vedirect.md §4 (frames, replies, registers), §5 (hold); battery-monitor.md §1, §10, §11.2, §12, §14.2.
from micropython import const

import struct

from shunt.fixed import rdiv
from shunt.settings import hex_digit
from proto.vedirect import PID, FW, VERSION_WORD, MODEL
from shunt.settings import nearest_stored, row as setting_row

MAX_FRAME_CHARS = const(140)     # VD §4.5 / U10: a partial frame above 140 characters is dropped
FRAME_TIMEOUT_MS = const(1000)   # VD §4.5 / U10: a partial frame is dropped after 1000 ms without LF
_OUT_LEN = const(512)            # pending replies; a reply that does not fit is dropped (the host retries)

# Reply flags (VD §4.3).
F_OK = const(0x00)
F_UNKNOWN = const(0x01)
F_NOT_SUPPORTED = const(0x02)
F_PARAM = const(0x04)

# Wire types (VD §4.4).
UN8 = const(1)
UN16 = const(2)
SN16 = const(3)
UN32 = const(4)
SN32 = const(5)
STR = const(6)
_SIZE = (0, 1, 2, 2, 4, 4, 0)
_LIMITS = ((0, 0), (0, 0xFE), (0, 0xFFFE), (-0x8000, 0x7FFE), (0, 0xFFFFFFFE), (-0x80000000, 0x7FFFFFFE))
_NA = (0, 0xFF, 0xFFFF, 0x7FFF, 0xFFFFFFFF, 0x7FFFFFFF)
_PACK = ("", "<B", "<H", "<h", "<I", "<i")

# Settings registers (BM §1 "HEX register" column, VD §4.6): id -> (setting name, wire type). R/W, persisted;
# the stored unit is the wire unit (0.1 V for the BMV's alarm and relay voltages). An out-of-range SET answers
# flags 0x04 with the nearest valid value and changes nothing (BMV HEX document: :800100000003D -> :8001004010038).
SETTING_REGS = {
    0x1000: ("capacity", UN16),
    0x1001: ("charged_voltage", UN16),
    0x1002: ("tail_current", UN16),
    0x1003: ("charged_detection_time", UN16),
    0x1004: ("charge_efficiency", UN16),
    0x1005: ("peukert_exponent", UN16),
    0x1006: ("current_threshold", UN16),
    0x1007: ("ttg_averaging", UN16),
    0x1008: ("discharge_floor", UN16),
    0x1009: ("relay_clear_soc", UN16),
    0x100A: ("relay_min_closed", UN16),
    0x100B: ("relay_off_delay", UN16),
    0x0FFD: ("start_synchronized", UN8),
    0x0320: ("alarm_low_voltage_set", UN16),
    0x0321: ("alarm_low_voltage_clear", UN16),
    0x0322: ("alarm_high_voltage_set", UN16),
    0x0323: ("alarm_high_voltage_clear", UN16),
    0x0328: ("alarm_low_soc_set", UN16),
    0x0329: ("alarm_low_soc_clear", UN16),
    # Relay (BMV HEX document; VD §4.6): mode 0..2 = default, charge, remote; 0x034E (control) is below.
    0x034D: ("relay_invert", UN8),
    0x034F: ("relay_mode", UN8),
    0x0350: ("relay_low_voltage_set", UN16),
    0x0351: ("relay_low_voltage_clear", UN16),
    0x0352: ("relay_high_voltage_set", UN16),
    0x0353: ("relay_high_voltage_clear", UN16),
    # Issue 18: the aux input and its alarms (VD §4.6; BMV-712 ids and units, hex_pairs.txt).
    0xEEF8: ("aux_input", UN8),
    0x0324: ("alarm_low_starter_set", UN16),
    0x0325: ("alarm_low_starter_clear", UN16),
    0x0326: ("alarm_high_starter_set", UN16),
    0x0327: ("alarm_high_starter_clear", UN16),
    0x0331: ("alarm_midpoint_set", UN16),
    0x0332: ("alarm_midpoint_clear", UN16),
    0x032A: ("alarm_low_temperature_set", UN16),
    0x032B: ("alarm_low_temperature_clear", UN16),
    0x032C: ("alarm_high_temperature_set", UN16),
    0x032D: ("alarm_high_temperature_clear", UN16),
    0xEEF4: ("temp_coefficient", UN16),     # 0.1 %CAP/°C (ve_regs.h VE_REG_BMV_TEMPERATURE_COEFFICIENT)
}
_RELAY_CONTROL = const(0x034E)
_RELAY_REMOTE = const(2)

# Aux values (VD §4.6): register -> (aux mode that has it, wire type); any other mode or no value -> n/a.
_AUX_VALUE_REGS = {0xED7D: (0, SN16), 0x0382: (1, UN16), 0x0383: (1, SN16), 0xEDEC: (2, UN16)}

# History registers 0x0300..0x0311 = H1..H18 (VD §4.6, §4.7): text unit -> HEX unit divisor.
_HIST_DIV = (0, 100, 100, 100, 1, 1, 100, 10, 10, 1, 1, 1, 1, 1, 1, 10, 10, 1, 1)

# Command registers (VD §4.6 "Commands"): SET with 0..2 payload bytes; GET -> un8 0 (U15).
_SYNC = const(0x102C)
_ZERO = const(0x1029)
_CLEAR = const(0x1030)
_ACK = const(0x031F)
_RESTORE = const(0x0004)
COMMAND_REGS = (_SYNC, _ZERO, _CLEAR, _ACK, _RESTORE)

_HEX = b"0123456789ABCDEF"


def frame_checksum(cmd, payload):
    """VD §4.1: (command + sum(payload) + checksum) & 0xFF == 0x55."""
    s = cmd
    for b in payload:
        s += b
    return (0x55 - s) & 0xFF


def encode_frame(cmd, payload):
    """A complete frame ':' cmd payload checksum '\\n' (uppercase, LF only) as bytes."""
    out = bytearray(5 + 2 * len(payload))
    n = _encode_into(out, 0, cmd, payload, len(payload))
    return bytes(out[:n])


def _encode_into(out, p, cmd, payload, n):
    out[p] = 58  # ':'
    out[p + 1] = _HEX[cmd & 15]
    p += 2
    s = cmd
    for i in range(n):
        b = payload[i]
        s += b
        out[p] = _HEX[b >> 4]
        out[p + 1] = _HEX[b & 15]
        p += 2
    c = (0x55 - s) & 0xFF
    out[p] = _HEX[c >> 4]
    out[p + 1] = _HEX[c & 15]
    out[p + 2] = 10
    return p + 3


class HexHandler:
    """Feed it the bytes received on the VE.Direct port; it queues the replies in `out[:out_len]`.

    `feed` returns the number of frames with a valid checksum it saw (for the text hold, VD §5.5). The parser
    keeps at most 140 characters of a partial frame, drops a frame that grows beyond that or that stays
    unfinished for 1000 ms (`elapse`), and ignores every byte outside a frame (VD §4.5).

    Every write goes through `device` (proto.device.Device), as the console's do. A rejected value and a failed
    save both answer flags 0x04 with no data: VD §4.3 has no storage flag, and the GX retries a failed SET. A
    setting whose save failed is rolled back; a command stays applied and the next automatic save retries it."""

    def __init__(self, monitor, settings, device, serial=b""):
        self.monitor = monitor
        self.settings = settings
        self.device = device
        self.serial = bytes(serial)
        self.out = bytearray(_OUT_LEN)
        self.out_mv = memoryview(self.out)
        self.out_len = 0
        self.replies_dropped = 0    # replies that did not fit in `out` (the host retries after ~1 s)
        self._line = bytearray(MAX_FRAME_CHARS)
        self._n = -1            # -1: outside a frame; else characters after ':' collected so far
        self._age_ms = 0
        self._bin = bytearray(MAX_FRAME_CHARS // 2)
        self._pay = bytearray(48)

    # -- receiving
    def feed(self, data, n=-1):
        if n < 0:
            n = len(data)
        frames = 0
        line = self._line
        for i in range(n):
            c = data[i]
            if c == 58:  # ':' starts a frame and discards a partial one
                self._n = 0
                self._age_ms = 0
                continue
            k = self._n
            if k < 0:
                continue
            if c == 10:
                self._n = -1
                frames += self._frame(k)
            elif c == 13:
                continue  # a CR before the LF is ignored
            elif k >= MAX_FRAME_CHARS:
                self._n = -1  # overlong: dropped silently
            else:
                line[k] = c
                self._n = k + 1
        return frames

    def elapse(self, dt_ms):
        """Time passes with no byte received: a partial frame older than 1000 ms is dropped."""
        if self._n >= 0:
            self._age_ms += dt_ms
            if self._age_ms >= FRAME_TIMEOUT_MS:
                self._n = -1

    def in_frame(self):
        return self._n >= 0

    def take(self):
        """The pending replies as a memoryview; they count as sent once taken."""
        n = self.out_len
        self.out_len = 0
        return self.out_mv[:n]

    def _frame(self, k):
        """Decode the characters after ':' and answer. Returns 1 if the checksum was valid, else 0."""
        line = self._line
        if k < 3 or not (k & 1):
            self._error()
            return 0
        cmd = hex_digit(line[0])
        if cmd < 0:
            self._error()
            return 0
        b = self._bin
        nb = (k - 1) >> 1
        s = cmd
        for j in range(nb):
            hi = hex_digit(line[1 + 2 * j])
            lo = hex_digit(line[2 + 2 * j])
            if hi < 0 or lo < 0:
                self._error()
                return 0
            v = (hi << 4) | lo
            b[j] = v
            s += v
        if s & 0xFF != 0x55:
            self._error()
            return 0
        self._dispatch(cmd, b, nb - 1)
        return 1

    # -- replies
    def _reply(self, cmd, payload, n):
        p = self.out_len
        if p + 5 + 2 * n > _OUT_LEN:    # ':' cmd, 2 digits a byte, checksum, LF
            self.replies_dropped += 1
            return  # no room: dropped, the host retries after ~1 s (VD §4.5)
        self.out_len = _encode_into(self.out, p, cmd, payload, n)

    def _error(self):
        # VD §4.2 malformed input: ':4AAAAFD'
        pay = self._pay
        pay[0] = 0xAA
        pay[1] = 0xAA
        self._reply(4, pay, 2)

    def _unknown_cmd(self, cmd):
        # two data bytes, as the MPPT HEX document's example :253 -> :3020050
        pay = self._pay
        pay[0] = cmd
        pay[1] = 0
        self._reply(3, pay, 2)

    def _dispatch(self, cmd, b, n):
        pay = self._pay
        if cmd == 0 or cmd == 6:
            if n:
                self._unknown_cmd(cmd)
            return  # enter-boot and restart are ignored (VD §4.2, U8)
        if cmd == 1 or cmd == 3 or cmd == 4:
            if n:
                self._unknown_cmd(cmd)
                return
            w = PID if cmd == 4 else VERSION_WORD
            pay[0] = w & 0xFF
            pay[1] = w >> 8
            self._reply(5 if cmd == 1 else 1, pay, 2)
            return
        if cmd == 0xA:
            return  # an async frame is the device's to send (VD §4.2); one from the host gets no reply
        if cmd != 7 and cmd != 8:
            self._unknown_cmd(cmd)
            return
        if n < 2:
            self._unknown_cmd(cmd)
            return
        reg = b[0] | (b[1] << 8)
        pay[0] = b[0]
        pay[1] = b[1]
        if cmd == 7:
            if n != 3:
                flags, dn = F_PARAM, 0
            else:
                flags, dn = self._get(reg, pay)
        elif n < 3:
            flags, dn = F_PARAM, 0
        else:
            flags, dn = self._set(reg, b, 3, n - 3, pay)
        pay[2] = flags
        self._reply(cmd, pay, 3 + dn)

    # -- register values
    def _put(self, pay, typ, v):
        """Encode v at pay[3:] as wire type typ, clamped to the type's range (never to the sentinel)."""
        lo, hi = _LIMITS[typ]
        if v < lo:
            v = lo
        elif v > hi:
            v = hi
        struct.pack_into(_PACK[typ], pay, 3, v)
        return F_OK, _SIZE[typ]

    def _na(self, pay, typ):
        struct.pack_into("<I" if _SIZE[typ] == 4 else ("<H" if _SIZE[typ] == 2 else "<B"), pay, 3, _NA[typ])
        return F_OK, _SIZE[typ]

    def _word(self, pay, w, last):
        # product id / firmware version records: 00, the word little-endian, then `last` (VD §4.6)
        pay[3] = 0
        pay[4] = w & 0xFF
        pay[5] = w >> 8
        pay[6] = last
        return F_OK, 4

    def _str(self, pay, s, size):
        n = len(s)
        for j in range(n):
            pay[3 + j] = s[j]
        for j in range(n, size):
            pay[3 + j] = 0
        return F_OK, size

    def _get(self, reg, pay):
        m = self.monitor
        st = self.settings.values
        r = SETTING_REGS.get(reg)
        if r is not None:
            return self._put(pay, r[1], st[r[0]])
        if 0x0300 <= reg <= 0x0311:
            h = reg - 0x0300 + 1
            return self._put(pay, UN32 if h >= 17 else SN32, rdiv(m.hist[h], _HIST_DIV[h]))
        failed = getattr(m, "measure_failed", 0)  # VD §3.7 / U20: V, I and P become "not available"
        if reg == 0xED8D:
            return self._na(pay, SN16) if failed else self._put(pay, SN16, rdiv(m.v_mv, 10))
        if reg == 0xED8F:
            return self._na(pay, SN16) if failed else self._put(pay, SN16, rdiv(m.i_ma, 100))
        if reg == 0xED8C:
            return self._na(pay, SN32) if failed else self._put(pay, SN32, m.i_ma)
        if reg == 0xED8E:
            return self._na(pay, SN16) if failed else self._put(pay, SN16, m.power_w())
        if reg == 0x0FFC or reg == 0xEEFF:
            if not m.synchronized:
                return self._na(pay, SN32)
            return self._put(pay, SN32, rdiv(m.ce_mah, 100))
        if reg == 0x0FFF:
            if not m.synchronized:
                return self._na(pay, UN16)
            return self._put(pay, UN16, m.soc_cpct)
        if reg == 0x0FFE:
            if not m.synchronized or m.ttg_min < 0:
                return self._na(pay, UN16)
            return self._put(pay, UN16, m.ttg_min)
        if reg == 0xEEB6:
            return self._put(pay, UN8, 1 if m.synchronized else 0)
        if reg == 0x031E:
            return self._put(pay, UN16, m.alarm_bits)
        r = _AUX_VALUE_REGS.get(reg)
        if r is not None:
            return self._aux_value(reg, r[0], r[1], pay)
        if reg == 0x1034:
            return self._put(pay, SN16, self.device.current_offset_lsb)
        if reg in COMMAND_REGS:
            return self._put(pay, UN8, 0)
        if reg == _RELAY_CONTROL:
            return self._put(pay, UN8, 1 if getattr(m, "relay_active", 0) else 0)
        if reg == 0x0104:
            return self._put(pay, UN8, 0)
        if reg == 0xEEB8:
            return self._put(pay, SN16, 0)
        if reg == 0xEEFA:
            return self._put(pay, UN16, st["shunt_rating_mv"])
        if reg == 0xEEFB:
            return self._put(pay, UN16, st["shunt_rating_a"])
        if reg == 0x0100:
            return self._word(pay, PID, 0xFF)
        if reg == 0x0102:
            return self._word(pay, FW, 0)
        if reg == 0x010A:
            return self._str(pay, self.serial, 24)
        if reg == 0x010B:
            return self._str(pay, MODEL, len(MODEL) + 1)
        if reg == 0x010C:
            name = st["device_name"]
            return self._str(pay, name.encode() if isinstance(name, str) else name, len(name) + 1)
        return F_UNKNOWN, 0

    def _aux_value(self, reg, mode, typ, pay):
        aux = self.monitor.aux
        v = aux.mid_dev_pm if reg == 0x0383 else aux.value
        if aux.mode != mode or v is None:
            return self._na(pay, typ)
        if reg == 0xEDEC:
            return self._put(pay, typ, v + 27315)       # 0.01 °C -> 0.01 K (VD §4.7)
        if reg == 0x0383:
            return self._put(pay, typ, v)               # 0.1 % = the text DM ‰
        return self._put(pay, typ, rdiv(v, 10))         # mV -> 0.01 V

    def _readonly(self, reg):
        if 0x0300 <= reg <= 0x0311:
            return True
        return reg in (0xED8D, 0xED8F, 0xED8C, 0xED8E, 0x0FFC, 0xEEFF, 0x0FFF, 0x0FFE, 0xEEB6, 0x031E, 0xED7D,
                       0x0383, 0xEDEC, 0x0382, 0x1034, 0xEEFA, 0xEEFB, 0x0100, 0x0102, 0x0104, 0x010A, 0x010B)

    def _set(self, reg, b, off, vn, pay):
        """Apply a SET with vn value bytes at b[off:]. On success the reply carries the value now stored (a GET
        of the register); on any rejection nothing changes and the reply has no data."""
        dev = self.device
        r = SETTING_REGS.get(reg)
        if r is not None:
            typ = r[1]
            if vn != _SIZE[typ]:
                return F_PARAM, 0
            v = b[off] if typ == UN8 else b[off] | (b[off + 1] << 8)
            near = nearest_stored(r[0], v)
            if near != v:
                self._put(pay, typ, near)
                return F_PARAM, _SIZE[typ]
            try:
                dev.set_stored(r[0], v)
            except (ValueError, OSError):
                return F_PARAM, 0
            return self._get(reg, pay)
        if reg in COMMAND_REGS:
            if vn > 2:
                return F_PARAM, 0
            try:
                if reg == _SYNC:
                    dev.synchronize()
                elif reg == _ZERO:
                    dev.zero_current_start()
                elif reg == _CLEAR:
                    dev.clear_history()
                elif reg == _RESTORE:
                    dev.restore_defaults()
                # _ACK: alarm acknowledge is accepted and changes nothing (no buzzer, BM §10)
            except (ValueError, OSError):
                return F_PARAM, 0
            for j in range(vn):
                pay[3 + j] = b[off + j]
            return F_OK, vn
        if reg == _RELAY_CONTROL:
            # BMV rule: the relay follows 0x034E in remote mode only; otherwise refused with the state in force
            if vn != 1:
                return F_PARAM, 0
            if b[off] > 1 or self.settings.values["relay_mode"] != _RELAY_REMOTE:
                self._get(reg, pay)
                return F_PARAM, 1
            try:
                dev.relay(b[off])
            except (ValueError, OSError):
                return F_PARAM, 0
            return self._get(reg, pay)
        if reg == 0xEEB8:
            # one valid value (MON 0): anything else answers 0x04 with it
            n = 2
            if vn != n:
                return F_PARAM, 0
            flags, dn = self._get(reg, pay)
            ok = b[off] == pay[3] and (n == 1 or b[off + 1] == pay[4])
            return (F_OK if ok else F_PARAM), dn
        if reg == 0x010C:
            # String20: 0..20 printable ASCII bytes with an optional trailing NUL (issue 15; the settings table
            # owns the limit); refused with the name in force
            if vn and b[off + vn - 1] == 0:
                vn -= 1
            ok = vn <= setting_row("device_name")[5]
            for j in range(vn if ok else 0):
                c = b[off + j]
                if c < 0x20 or c > 0x7E:
                    ok = False
            if ok:
                try:
                    dev.set_stored("device_name", bytes(b[off:off + vn]).decode())
                except OSError:
                    return F_PARAM, 0       # the save failed: no data, as for every setting
                except ValueError:
                    ok = False
            flags, dn = self._get(reg, pay)
            return (F_OK if ok else F_PARAM), dn
        if self._readonly(reg):
            return F_NOT_SUPPORTED, 0
        return F_UNKNOWN, 0
