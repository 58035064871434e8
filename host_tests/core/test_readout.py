# Instant Readout record, encryption and advertising sizes (platform.md §3.6, §4); runs on CPython and MicroPython.
from proto import readout
from check import raises

try:
    import cryptolib  # MicroPython: the same ECB the board uses

    def _ecb(key):
        return cryptolib.aes(key, 1)
except ImportError:  # CPython: pycryptodome (installed with victron-ble); the firmware never imports it
    from Crypto.Cipher import AES

    def _ecb(key):
        return AES.new(bytes(key), AES.MODE_ECB)


# platform.md §4.3 test vector (victron-ble tests/test_battery_monitor.py).
VEC_KEY = bytes.fromhex("aff4d0995b7d1e176c0c33ecb9e70dcd")
VEC_NONCE = 0x40B0
VEC_PLAIN = bytes.fromhex("ffffe50400000000030000f40140df")
VEC_MFR = bytes.fromhex("100289a302b040af925d09a4d89aa0128bdef48c6298a9")
# Decoded: TTG n/a, 12.53 V, alarm 0, aux none, 0.000 A, consumed -50.0 Ah, SOC 50.0 %.
VEC_ARGS = (None, 12530, 0, 0, -50000, 500)
# NUS service UUID (platform.md §3.2), byte-reversed as a 128-bit UUID goes on air.
_NUS_BE = bytes.fromhex("6E400001B5A3F393E0A9E50E24DCCA9E")
_NUS_LE = bytes(_NUS_BE[15 - i] for i in range(16))


def _bits(buf, record_bit, width):
    # Victron numbers record bits from byte 4 of the record; the payload starts at record bit 32, LSB first.
    v = 0
    for k in range(width):
        i = record_bit - 32 + k
        v |= ((buf[i >> 3] >> (i & 7)) & 1) << k
    return v


def _signed(v, width):
    return v - (1 << width) if v & (1 << (width - 1)) else v


def _pack(*args):
    return bytes(readout.pack_record(bytearray(15), *args))


def test_spec_vector_plaintext_is_packed_exactly():
    assert _pack(*VEC_ARGS) == VEC_PLAIN


def test_spec_vector_ciphertext_from_ecb_plus_xor():
    r = readout.Readout(VEC_KEY, _ecb(VEC_KEY), VEC_NONCE)
    adv = r.build(*VEC_ARGS)
    assert bytes(r.mfr) == VEC_MFR
    # flags AD, then the manufacturer AD (27 bytes: its length byte counts type + company + 23 = 26),
    # type 0xFF, company 0x02E1 little-endian
    assert bytes(adv[:7]) == bytes((0x02, 0x01, 0x06, 0x1A, 0xFF, 0xE1, 0x02))


def test_ecb_may_be_a_callable():
    e = _ecb(VEC_KEY)
    r = readout.Readout(VEC_KEY, lambda block: e.encrypt(block), VEC_NONCE)
    r.build(*VEC_ARGS)
    assert bytes(r.mfr) == VEC_MFR


def test_field_positions_follow_the_spec_bit_layout():
    b = _pack(1234, 25678, 4 + 1, -12345, -987650, 873)
    assert _bits(b, 32, 16) == 1234
    assert _signed(_bits(b, 48, 16), 16) == 2568          # 25.678 V -> 2568 x 0.01 V (half up)
    assert _bits(b, 64, 16) == 5
    assert _bits(b, 80, 16) == 0                           # aux value
    assert _bits(b, 96, 2) == 3                            # aux mode: none
    assert _signed(_bits(b, 98, 22), 22) == -12345
    assert _bits(b, 120, 20) == 9876                       # 987.65 Ah consumed -> 987.6, floored
    assert _bits(b, 140, 10) == 873
    assert _bits(b, 150, 2) == 3                           # unused bits of the last byte are set


def test_not_synchronised_fields_are_not_available():
    b = _pack(None, 13000, 0, -500, None, None)
    assert _bits(b, 32, 16) == 0xFFFF
    assert _bits(b, 120, 20) == 0xFFFFF
    assert _bits(b, 140, 10) == 0x3FF
    assert _signed(_bits(b, 48, 16), 16) == 1300
    assert _signed(_bits(b, 98, 22), 22) == -500


def test_ttg_minus_one_is_sent_as_infinite_and_large_ttg_is_clamped():
    assert _bits(_pack(-1, 0, 0, 0, 0, 0), 32, 16) == 0xFFFF
    assert _bits(_pack(0, 0, 0, 0, 0, 0), 32, 16) == 0
    assert _bits(_pack(65534, 0, 0, 0, 0, 0), 32, 16) == 65534
    assert _bits(_pack(70000, 0, 0, 0, 0, 0), 32, 16) == 65534


def test_voltage_rounds_half_away_from_zero_and_avoids_the_na_pattern():
    assert _bits(_pack(0, 12534, 0, 0, 0, 0), 48, 16) == 1253
    assert _bits(_pack(0, 12535, 0, 0, 0, 0), 48, 16) == 1254
    assert _signed(_bits(_pack(0, -15, 0, 0, 0, 0), 48, 16), 16) == -2
    assert _bits(_pack(0, 327660, 0, 0, 0, 0), 48, 16) == 32766
    assert _bits(_pack(0, 400000, 0, 0, 0, 0), 48, 16) == 32766    # never 0x7FFF


def test_current_is_clamped_to_22_bits_and_minus_one_ma_is_not_the_na_pattern():
    assert _signed(_bits(_pack(0, 0, 0, 2097151, 0, 0), 98, 22), 22) == 2097151
    assert _signed(_bits(_pack(0, 0, 0, 3000000, 0, 0), 98, 22), 22) == 2097151
    assert _signed(_bits(_pack(0, 0, 0, -3000000, 0, 0), 98, 22), 22) == -2097152
    assert _bits(_pack(0, 0, 0, -1, 0, 0), 98, 22) == 0
    assert _signed(_bits(_pack(0, 0, 0, -2, 0, 0), 98, 22), 22) == -2


def test_consumed_ah_is_a_floored_magnitude_clamped_below_na():
    assert _bits(_pack(0, 0, 0, 0, -99, 0), 120, 20) == 0
    assert _bits(_pack(0, 0, 0, 0, -100, 0), 120, 20) == 1
    assert _bits(_pack(0, 0, 0, 0, -50099, 0), 120, 20) == 500
    assert _bits(_pack(0, 0, 0, 0, 0, 0), 120, 20) == 0
    assert _bits(_pack(0, 0, 0, 0, -200000000, 0), 120, 20) == 0xFFFFE


def test_soc_range_and_alarm_bits_victron_ble_cannot_parse_are_dropped():
    assert _bits(_pack(0, 0, 0, 0, 0, 1000), 140, 10) == 1000
    assert _bits(_pack(0, 0, 0, 0, 0, 0), 140, 10) == 0
    assert _bits(_pack(0, 0, 0x7 | 0xC000, 0, 0, 0), 64, 16) == 7


def test_nonce_advances_per_advertisement_and_wraps():
    r = readout.Readout(VEC_KEY, _ecb(VEC_KEY), 0xFFFE)
    seen = []
    for _ in range(3):
        r.build(*VEC_ARGS)
        seen.append(r.mfr[5] | (r.mfr[6] << 8))
    assert seen == [0xFFFE, 0xFFFF, 0x0000]
    assert r.nonce == 1


def test_same_record_under_another_nonce_gives_other_ciphertext_same_key_byte():
    r = readout.Readout(VEC_KEY, _ecb(VEC_KEY), VEC_NONCE)
    r.build(*VEC_ARGS)
    first = bytes(r.mfr)
    r.build(*VEC_ARGS)
    second = bytes(r.mfr)
    assert first[:5] == second[:5] and first[7] == second[7] == 0xAF
    assert first[8:] != second[8:]
    # Decrypting with the keystream of the counter block (nonce 0x40B1, LSB first) gives the plaintext back.
    ctr = bytearray(16)
    ctr[0] = 0xB1
    ctr[1] = 0x40
    ks = _ecb(VEC_KEY).encrypt(bytes(ctr))
    assert bytes(second[8 + i] ^ ks[i] for i in range(15)) == VEC_PLAIN


def test_rekey_changes_check_byte_and_keeps_nonce():
    r = readout.Readout(VEC_KEY, _ecb(VEC_KEY), 7)
    r.build(*VEC_ARGS)
    k2 = bytes(range(1, 17))
    r.set_cipher(k2, _ecb(k2))
    r.build(*VEC_ARGS)
    assert r.mfr[7] == 1 and r.mfr[5] == 8
    raises(ValueError, r.set_cipher, b"short", None)


def test_advertising_payloads_fit_31_bytes():
    r = readout.Readout(VEC_KEY, _ecb(VEC_KEY))
    assert len(r.build(*VEC_ARGS)) == 30                  # §4.5: 30 of 31 bytes
    assert len(r.mfr) == 23
    assert len(readout.console_adv_data()) == 21
    for n in range(0, 41):
        assert len(readout.scan_response("x" * n)) <= 31


def test_scan_response_layout():
    name = readout.default_name(b"\x24\x6f\x28\x01\xab\xcd")
    assert name == "Shunt-ABCD"
    sr = readout.scan_response(name)
    assert sr[:2] == bytes((11, 0x09)) and sr[2:12] == b"Shunt-ABCD"
    assert sr[12:14] == bytes((17, 0x07)) and sr[14:] == _NUS_LE
    assert len(readout.scan_response("abcdefghijk")) == 31          # 11 chars: name + UUID
    sr12 = readout.scan_response("abcdefghijkl")
    assert sr12 == bytes((13, 0x09)) + b"abcdefghijkl"             # 12 chars: no room for the UUID
    long = "N" * 32
    sr32 = readout.scan_response(long)
    assert sr32 == bytes((30, 0x08)) + b"N" * 29                   # shortened name of its first 29 bytes
    assert readout.console_adv_data() == bytes((2, 1, 6, 17, 7)) + sr[14:]


class _Mon:
    synchronized = 1
    ttg_min = 321
    v_mv = 12840
    alarm_bits = 4
    i_ma = -4321
    ce_mah = -12345
    soc_cpct = 8765


def test_record_from_monitor_reads_documented_attributes():
    m = _Mon()
    assert readout.record_from_monitor(m) == (321, 12840, 4, -4321, -12345, 876)
    m.synchronized = 0
    assert readout.record_from_monitor(m) == (None, 12840, 4, -4321, None, None)
    b = _pack(*readout.record_from_monitor(m))
    assert _bits(b, 32, 16) == 0xFFFF and _bits(b, 140, 10) == 0x3FF and _bits(b, 120, 20) == 0xFFFFF
