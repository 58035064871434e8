# VE.Direct text blocks (A: runtime, B: history) built into one preallocated buffer, checksummed, no allocation.
# Spec: vedirect.md §1 (identity), §3 (text protocol); battery-monitor.md §3.5, §8 (values and "no value" rules).
from micropython import const

# Identity (VD §1). The text FW field and the HEX version word come from this one constant.
PID = const(0xA389)
FW = const(0x0414)                # shown as "0414" in text; HEX ping/app version word = 0x4000 | FW
VERSION_WORD = const(0x4414)
MODEL = b"SmartShunt 500A/50mV"

# Aux input (register 0xEEF8 numbering, VD §4.6): which extra field block A carries directly after V.
AUX_STARTER = const(0)
AUX_MID = const(1)
AUX_TEMP = const(2)
AUX_NONE = const(3)

NO_VALUE = None                   # an aux value shown as "---" (temperature input without a sensor)
_TTG_MAX = const(65534)           # VD §9 U4: the firmware clamps TTG to 0..65534 min
_BUF_LEN = const(440)             # A (~140, + VM/DM ~30) + B (~160) with room for long values; VD §3.1
# Block B: H13/H14 are never sent (VD §3.4); H15/H16 are sent unless the device profile lacks them (BMV-700).
_HIST_FULL = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 16, 17, 18)
_HIST_NO_AUX = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 17, 18)
# Labels as bytes, indexed like hist: _H_LABEL[n] = b"\r\nHn\t".
_H_LABEL = tuple(("\r\nH%d\t" % n).encode() for n in range(19))
_HEXDIG = b"0123456789ABCDEF"


def checksum_byte(data, start=0, end=None):
    """VD §3.1: the byte C that makes the block sum to 0 mod 256."""
    if end is None:
        end = len(data)
    s = 0
    for i in range(start, end):
        s += data[i]
    return (-s) & 0xFF


class TextBuilder:
    """Builds block A and block B into `buf` (one bytearray, allocated once). `build_a`/`build_b` write one
    block at an offset and return the offset just past its checksum byte; `build_cycle` writes A then B and
    returns the total length, so one `uart.write(mv[:n])` sends a whole cycle without gaps (VD §3.7).

    The defaults are this firmware's own layout (SmartShunt 500A/50mV FW 4.14, aux none, VD §3.3). The other
    profile arguments exist so that the golden tests can rebuild the real BMV-700/712 and FW 4.05 captures."""

    def __init__(self, pid=PID, model=MODEL, fw=FW, mon=True, relay_field=False, aux=AUX_NONE,
                 hist_aux=True):
        self.buf = bytearray(_BUF_LEN)
        self.mv = memoryview(self.buf)
        self._pid = pid
        self._model = bytes(model)
        self._fw = fw
        self._mon = mon
        self._relay_field = relay_field
        self.set_aux(aux)
        self._hist = _HIST_FULL if hist_aux else _HIST_NO_AUX

    def set_aux(self, aux):
        """The aux field block A carries (0xEEF8 numbering); follows the `aux_input` setting at run time."""
        if aux not in (AUX_STARTER, AUX_MID, AUX_TEMP, AUX_NONE):
            raise ValueError("aux %r: must be starter (0), mid-point (1), temperature (2) or none (3)" % (aux,))
        self._aux = aux

    # -- low-level writers: each takes and returns the write position; nothing allocates.
    def _put(self, p, s):
        buf = self.buf
        for j in range(len(s)):
            buf[p + j] = s[j]
        return p + len(s)

    def _int(self, p, v):
        buf = self.buf
        if v < 0:
            buf[p] = 45  # '-'
            p += 1
            v = -v
        # Count the digits first, then fill from the right: no str(), no temporary objects.
        n = 1
        t = v
        while t >= 10:
            t //= 10
            n += 1
        end = p + n
        q = end
        while q > p:
            q -= 1
            buf[q] = 48 + v % 10
            v //= 10
        return end

    def _digits9(self, p, v):
        # exactly 9 decimal digits with leading zeros (0 <= v < 10^9): the low limb of a two-limb value
        buf = self.buf
        q = p + 9
        while q > p:
            q -= 1
            t = v // 10
            buf[q] = 48 + v - t * 10
            v = t
        return p + 9

    def _dashes(self, p):
        buf = self.buf
        buf[p] = 45
        buf[p + 1] = 45
        buf[p + 2] = 45
        return p + 3

    def _hex4(self, p, v):
        # FW: exactly 4 hex nibbles with leading zero ("0414", "0308"); VD §3.1.
        buf = self.buf
        buf[p] = _HEXDIG[(v >> 12) & 15]
        buf[p + 1] = _HEXDIG[(v >> 8) & 15]
        buf[p + 2] = _HEXDIG[(v >> 4) & 15]
        buf[p + 3] = _HEXDIG[v & 15]
        return p + 4

    def _pidhex(self, p, v):
        # PID: "0x" + uppercase hex without padding ("0xA389", BMV-700 "0x203").
        p = self._put(p, b"0x")
        n = 1
        t = v
        while t >= 16:
            t >>= 4
            n += 1
        buf = self.buf
        for j in range(n):
            buf[p + j] = _HEXDIG[(v >> (4 * (n - 1 - j))) & 15]
        return p + n

    def _finish(self, start, p):
        p = self._put(p, b"\r\nChecksum\t")
        buf = self.buf
        s = 0
        for i in range(start, p):
            s += buf[i]
        buf[p] = (-s) & 0xFF
        return p + 1

    # -- blocks
    def build_a(self, v_mv, i_ma, p_w, ce_mah, soc_permille, ttg_min, alarm_bits, synced,
                aux_value=0, relay_on=0, start=0, aux_dev=None):
        """Block A (VD §3.3) at `start`; returns the end offset. Not synchronised: CE, SOC and TTG are `---`
        (VD §3.5, U3). Synchronised: TTG −1 = not discharging, else clamped to 0..65534 (U4).
        Aux (directly after V): starter `VS` = aux_value mV; mid-point `VM` = aux_value mV and `DM` = aux_dev ‰;
        temperature `T` = aux_value °C. None (no value) is sent as `---`, as a BMV-712 sends `T`."""
        p = self._put(start, b"\r\nPID\t")
        p = self._pidhex(p, self._pid)
        p = self._put(p, b"\r\nV\t")
        p = self._int(p, v_mv)
        aux = self._aux
        if aux == AUX_STARTER:
            p = self._put(p, b"\r\nVS\t")
            p = self._dashes(p) if aux_value is None else self._int(p, aux_value)
        elif aux == AUX_MID:
            p = self._put(p, b"\r\nVM\t")
            p = self._dashes(p) if aux_value is None else self._int(p, aux_value)
            p = self._put(p, b"\r\nDM\t")
            p = self._dashes(p) if aux_dev is None else self._int(p, aux_dev)
        elif aux == AUX_TEMP:
            p = self._put(p, b"\r\nT\t")
            p = self._dashes(p) if aux_value is None else self._int(p, aux_value)
        p = self._put(p, b"\r\nI\t")
        p = self._int(p, i_ma)
        p = self._put(p, b"\r\nP\t")
        p = self._int(p, p_w)
        p = self._put(p, b"\r\nCE\t")
        p = self._int(p, ce_mah) if synced else self._dashes(p)
        p = self._put(p, b"\r\nSOC\t")
        p = self._int(p, soc_permille) if synced else self._dashes(p)
        p = self._put(p, b"\r\nTTG\t")
        if not synced:
            p = self._dashes(p)
        elif ttg_min < 0:
            p = self._put(p, b"-1")
        else:
            p = self._int(p, ttg_min if ttg_min < _TTG_MAX else _TTG_MAX)
        p = self._put(p, b"\r\nAlarm\tON" if alarm_bits else b"\r\nAlarm\tOFF")
        if self._relay_field:
            p = self._put(p, b"\r\nRelay\tON" if relay_on else b"\r\nRelay\tOFF")
        p = self._put(p, b"\r\nAR\t")
        p = self._int(p, alarm_bits)
        p = self._put(p, b"\r\nBMV\t")
        p = self._put(p, self._model)
        p = self._put(p, b"\r\nFW\t")
        p = self._hex4(p, self._fw)
        if self._mon:
            p = self._put(p, b"\r\nMON\t0")
        return self._finish(start, p)

    def build_b(self, hist, start=0, h6_giga=0, h6_mah=0):
        """Block B (VD §3.4) from hist[1..18] (H13/H14 are not sent); returns the end offset. From 10^9 mAh on,
        H6 is written from its limbs, H6 = −(h6_giga·10^9 + h6_mah), since hist[6] is then a long integer and
        printing it would allocate (the ESP32's small ints end at 2^30)."""
        p = start
        labels = _H_LABEL
        for n in self._hist:
            p = self._put(p, labels[n])
            if n == 6 and h6_giga:
                self.buf[p] = 45  # '-'
                p = self._int(p + 1, h6_giga)
                p = self._digits9(p, h6_mah)
            else:
                p = self._int(p, hist[n])
        return self._finish(start, p)

    def build_cycle_from(self, monitor):
        """Block A then block B of one cycle from a Monitor's reported values; returns the total length."""
        n = block_a_from(self, monitor)
        return self.build_b(monitor.hist, n, monitor.h6_giga, monitor.h6_mah)


def block_a_from(builder, monitor, start=0):
    """Block A from the documented Monitor attributes (docs/core-interface.md), with the aux field of the
    monitor's aux input (shunt.aux): the mode follows `aux_input`, the temperature goes out in whole °C."""
    aux = monitor.aux
    mode = aux.mode
    builder._aux = mode         # validated by the settings table (0..3)
    x = aux.value
    if mode == AUX_TEMP and x is not None:
        x = (x + 50) // 100 if x >= 0 else -((50 - x) // 100)    # 0.01 °C -> °C, half away from zero
    return builder.build_a(monitor.v_mv, monitor.i_ma, monitor.power_w(), monitor.ce_mah, monitor.soc_permille,
                           monitor.ttg_min, monitor.alarm_bits, monitor.synchronized, x, 0, start,
                           aux.mid_dev_pm)


def base36_serial(mac):
    """VD §1: 'S' + the 48-bit MAC in base 36, 10 digits zero-padded, 11 characters [0-9A-Z]."""
    v = 0
    for b in mac:
        v = (v << 8) | b
    out = bytearray(11)
    out[0] = 83  # 'S'
    digits = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for i in range(10, 0, -1):
        out[i] = digits[v % 36]
        v //= 36
    return bytes(out)


TEXT_HOLD_MS = const(1000)    # VD §5.5 / U6: no new cycle until 1000 ms without a valid HEX frame
PERIOD_MS = const(1000)       # VD §3.7: one A+B cycle every 1000 ms, start to start


class TextSchedule:
    """When to start a text cycle (VD §3.7, §5). Fed measured intervals, never reads a clock.

    A cycle is A+B written in one piece, so it always completes and a HEX reply written at any other moment
    lands on a block boundary (§5.1). `hex_frames(n)` restarts the hold; `hold_ms` 0 gives the MPPT ≥ 1.53
    behaviour (no pause)."""

    def __init__(self, period_ms=PERIOD_MS, hold_ms=TEXT_HOLD_MS):
        self.period_ms = period_ms
        self.hold_ms = hold_ms
        self._since_cycle = period_ms   # the first cycle is due at once
        self._since_hex = hold_ms
        self._held = False              # a due cycle waited for the hold: the next period starts afresh

    def elapse(self, dt_ms):
        t = self._since_cycle + dt_ms
        self._since_cycle = t if t < 4 * self.period_ms else 4 * self.period_ms
        t = self._since_hex + dt_ms
        self._since_hex = t if t < self.hold_ms else self.hold_ms

    def hex_frames(self, n):
        if n:
            self._since_hex = 0

    def due(self):
        if self._since_cycle < self.period_ms:
            return False
        if self._since_hex < self.hold_ms:
            self._held = True
            return False
        return True

    def sent(self):
        # Start to start: keep the phase, but never send bursts to catch up after a hold or a stall, and after a
        # hold give the next cycle a whole period (not a block pair a few ms after the first, issue 15).
        t = self._since_cycle - self.period_ms
        self._since_cycle = t if t < self.period_ms and not self._held else 0
        self._held = False

