# Victron BLE "Instant Readout": the battery-monitor record, its AES-CTR encryption and the advertising payloads.
# Spec: platform.md §4 (record, encryption, size), §3.6 (advertising layout); battery-monitor.md §1, §3.5, §12.1.
from micropython import const

COMPANY_ID = const(0x02E1)          # Victron Energy BV, sent little-endian (§4.1)
MODEL_ID = const(0xA389)            # SmartShunt 500A/50mV, as in the real device's vector (§4.1)
RECORD_LEN = const(15)              # payload bytes a real SmartShunt sends (§4.2)
MFR_LEN = const(23)                 # manufacturer data after the company id: 8 header + 15 payload (§4.1)
ADV_MAX = const(31)                 # legacy advertising / scan response limit (§3.6)
KEY_LEN = const(16)

_AD_FLAGS = const(0x01)
_AD_UUID128 = const(0x07)
_AD_NAME_SHORT = const(0x08)
_AD_NAME = const(0x09)
_AD_MFR = const(0xFF)
_FLAGS = const(0x06)                # LE general discoverable, BR/EDR not supported
_NAME_MAX = const(29)               # 31 - length byte - type byte
_NAME_WITH_UUID_MAX = const(11)     # 2 + 11 + 18 = 31 (§3.6)

# "Not available" patterns of §4.2 and the largest real values that are not them.
_TTG_NA = const(0xFFFF)
_TTG_MAX = const(65534)
_V_MAX = const(32766)               # 0x7FFF is "not available"
_V_MIN = const(-32768)
_I_MAX = const(2097151)             # 22-bit signed
_I_MIN = const(-2097152)
_CE_NA = const(0xFFFFF)
_CE_MAX = const(0xFFFFE)
_SOC_NA = const(0x3FF)
_SOC_MAX = const(1000)
_ALARM_MASK = const(0x3FFF)         # bits 14/15 make victron-ble raise (§4.4); a battery monitor uses 0-7
_AUX_NONE = const(3)

# 128-bit NUS service UUID 6E400001-B5A3-F393-E0A9-E50E24DCCA9E, little-endian as it goes on air (§3.2).
NUS_UUID_LE = bytes((0x9E, 0xCA, 0xDC, 0x24, 0x0E, 0xE5, 0xA9, 0xE0,
                     0x93, 0xF3, 0xA3, 0xB5, 0x01, 0x00, 0x40, 0x6E))


def pack_record(buf, ttg_min, voltage_mv, alarm_bits, current_ma, consumed_mah, soc_permille, aux_mode=_AUX_NONE,
                aux_raw=0):
    """Write the 15-byte battery-monitor payload (§4.2) into buf[0:15], byte by byte with small ints.
    aux_mode 0..3 (0xEEF8 numbering) and aux_raw, the 16-bit aux value in the record's units (aux_from_monitor).
    ttg_min: minutes, -1 (not discharging) or None (not synchronised) -> 0xFFFF.
    consumed_mah: <= 0 (battery-monitor.md §3.5), None -> not available. soc_permille: 0.1 %, None -> n/a."""
    # Time-to-go (record bits 32-47).
    if ttg_min is None or ttg_min < 0:
        t = _TTG_NA
    else:
        t = ttg_min if ttg_min < _TTG_MAX else _TTG_MAX
    buf[0] = t & 0xFF
    buf[1] = t >> 8
    # Voltage in 0.01 V, rdiv (round half away from zero), clamped off the 0x7FFF pattern (bits 48-63).
    if voltage_mv >= 0:
        v = (voltage_mv + 5) // 10
    else:
        v = -((5 - voltage_mv) // 10)
    if v > _V_MAX:
        v = _V_MAX
    elif v < _V_MIN:
        v = _V_MIN
    v &= 0xFFFF
    buf[2] = v & 0xFF
    buf[3] = v >> 8
    # Alarm reason (bits 64-79).
    a = alarm_bits & _ALARM_MASK
    buf[4] = a & 0xFF
    buf[5] = a >> 8
    # Aux value (bits 80-95) and aux mode (bits 96-97); none: value 0, mode 3, as the real device sends.
    buf[6] = aux_raw & 0xFF
    buf[7] = (aux_raw >> 8) & 0xFF
    # Current in mA, 22-bit signed (bits 98-119). -1 would be the NA pattern 0x3FFFFF: send 0 (§4.2).
    c = current_ma
    if c > _I_MAX:
        c = _I_MAX
    elif c < _I_MIN:
        c = _I_MIN
    elif c == -1:
        c = 0
    c &= 0x3FFFFF
    buf[8] = (aux_mode & 3) | ((c & 0x3F) << 2)
    buf[9] = (c >> 6) & 0xFF
    buf[10] = c >> 14
    # Consumed Ah as a magnitude in 0.1 Ah, floored toward zero (tdiv), clamped off 0xFFFFF (bits 120-139).
    if consumed_mah is None:
        e = _CE_NA
    else:
        e = (-consumed_mah) // 100 if consumed_mah < 0 else 0
        if e > _CE_MAX:
            e = _CE_MAX
    # SOC in 0.1 % (bits 140-149).
    if soc_permille is None:
        s = _SOC_NA
    elif soc_permille < 0:
        s = 0
    else:
        s = soc_permille if soc_permille < _SOC_MAX else _SOC_MAX
    buf[11] = e & 0xFF
    buf[12] = (e >> 8) & 0xFF
    buf[13] = (e >> 16) | ((s & 0x0F) << 4)
    # SOC bits 4-9, then the two unused bits of the last byte set ("unused bits should be set").
    buf[14] = (s >> 4) | 0xC0
    return buf


def record_from_monitor(mon):
    """The pack_record arguments from the monitor's reported values (docs/core-interface.md).
    Not synchronised: TTG, consumed Ah and SOC are not available (§4.2)."""
    if mon.synchronized:
        return (mon.ttg_min, mon.v_mv, mon.alarm_bits, mon.i_ma, mon.ce_mah, mon.soc_cpct // 10)
    return (None, mon.v_mv, mon.alarm_bits, mon.i_ma, None, None)


def aux_from_monitor(mon):
    """(aux mode, 16-bit aux value) of the record (§4.2 bits 80-97, as victron-ble decodes them): starter
    voltage in 0.01 V signed, mid-point voltage in 0.01 V unsigned, temperature in 0.01 K unsigned. Without a
    value: the HEX not-available patterns (0x7FFF signed, 0xFFFF unsigned, VD §4.4)."""
    aux = mon.aux
    mode = aux.mode
    v = aux.value
    if mode == 3:
        return 3, 0
    if v is None:
        return mode, 0x7FFF if mode == 0 else 0xFFFF
    if mode == 2:
        v += 27315
        return 2, 0 if v < 0 else (0xFFFE if v > 0xFFFE else v)
    v = (v + 5) // 10 if v >= 0 else -((5 - v) // 10)
    if mode == 0:
        v = -32768 if v < -32768 else (32766 if v > 32766 else v)
        return 0, v & 0xFFFF
    return 1, 0 if v < 0 else (0xFFFE if v > 0xFFFE else v)


def default_name(mac):
    """`Shunt-XXXX` from the last two MAC bytes, uppercase hex (battery-monitor.md §1)."""
    return "Shunt-%02X%02X" % (mac[-2], mac[-1])


def scan_response(name):
    """Scan response of §3.6: the name (complete, or shortened to 29 bytes), plus the NUS UUID if it fits."""
    n = name.encode() if isinstance(name, str) else bytes(name)
    out = bytearray()
    if n:
        if len(n) > _NAME_MAX:
            out += bytes((_NAME_MAX + 1, _AD_NAME_SHORT))
            out += n[:_NAME_MAX]
        else:
            out += bytes((len(n) + 1, _AD_NAME))
            out += n
    if len(n) <= _NAME_WITH_UUID_MAX:
        out += bytes((17, _AD_UUID128))
        out += NUS_UUID_LE
    return bytes(out)


def console_adv_data():
    """Advertising data while instant_readout is off: flags + the 128-bit NUS UUID (21 bytes, §3.6)."""
    return bytes((2, _AD_FLAGS, _FLAGS, 17, _AD_UUID128)) + NUS_UUID_LE


class Readout:
    """Builds Instant Readout advertising data into one preallocated buffer.

    `ecb` is the AES-128-ECB encryptor of the device key: an object with `.encrypt(block16)` (MicroPython
    `cryptolib.aes(key, 1)`, pycryptodome's ECB cipher) or a callable `ecb(block16) -> bytes`. MicroPython's
    cryptolib has no CTR mode on ESP32, so CTR is one ECB block of the counter XOR-ed onto the payload (§4.3).
    `key` is used only for its check byte key[0]. The nonce starts at `nonce` and advances by one per build."""

    def __init__(self, key, ecb, nonce=0):
        # adv: flags AD (3) + manufacturer AD (1 len + 1 type + 2 company + 23) = 30 bytes (§4.5).
        self.adv = bytearray(3 + 4 + MFR_LEN)
        a = self.adv
        a[0] = 2
        a[1] = _AD_FLAGS
        a[2] = _FLAGS
        a[3] = 3 + MFR_LEN
        a[4] = _AD_MFR
        a[5] = COMPANY_ID & 0xFF
        a[6] = COMPANY_ID >> 8
        a[7] = 0x10                 # "Product Advertisement"
        a[8] = 0x02                 # unconfirmed meaning; the real SmartShunt sends 0x02 (§4.1, P5)
        a[9] = MODEL_ID & 0xFF
        a[10] = MODEL_ID >> 8
        a[11] = 0x02                # readout record type: battery monitor
        self._mv = memoryview(self.adv)
        self.mfr = self._mv[7:]     # what receivers see under company id 0x02E1 (victron-ble's input)
        self._plain = bytearray(RECORD_LEN)
        self._ctr = bytearray(16)
        self._ks = bytearray(16)
        self.nonce = nonce & 0xFFFF
        self.set_cipher(key, ecb)

    def set_cipher(self, key, ecb):
        """Use a new key (instant_readout_rekey); the nonce carries on."""
        if len(key) != KEY_LEN:
            raise ValueError("instant_readout_key: must be 16 bytes")
        self.adv[14] = key[0]
        self._encrypt = ecb.encrypt if hasattr(ecb, "encrypt") else ecb

    def build(self, ttg_min, voltage_mv, alarm_bits, current_ma, consumed_mah, soc_permille, aux_mode=_AUX_NONE,
              aux_raw=0):
        """Pack, encrypt and store one advertisement; returns the 30-byte advertising data (a bytearray
        reused by the next build). The nonce then advances, wrapping from 0xFFFF to 0 (§4.3)."""
        p = self._plain
        pack_record(p, ttg_min, voltage_mv, alarm_bits, current_ma, consumed_mah, soc_permille, aux_mode, aux_raw)
        n = self.nonce
        ctr = self._ctr
        ctr[0] = n & 0xFF           # counter block: nonce LSB first, then 14 zero bytes (§4.3)
        ctr[1] = n >> 8
        ks = self._encrypt(ctr)
        a = self.adv
        a[12] = n & 0xFF
        a[13] = n >> 8
        for i in range(RECORD_LEN):
            a[15 + i] = p[i] ^ ks[i]
        self.nonce = (n + 1) & 0xFFFF
        return a

    def build_from_monitor(self, mon):
        r = record_from_monitor(mon)
        a = aux_from_monitor(mon)
        return self.build(r[0], r[1], r[2], r[3], r[4], r[5], a[0], a[1])
