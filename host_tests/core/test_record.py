# State record layout and validation (BM §14.1, §14.3). Runs under CPython and MicroPython.
import struct
from binascii import crc32

from check import raises
from shunt.record import Codec, MAGIC, code_range
from shunt.monitor import STATE_MIGRATIONS
from state_fields import FIELDS, V1_FIELDS, V2_FIELDS, V3_ADDED, sample_state

CODEC = Codec(FIELDS)


def _payload_size():
    sizes = {"B": 1, "b": 1, "H": 2, "h": 2, "I": 4, "i": 4, "Q": 8, "q": 8}
    return sum(sizes[c] for _, c in FIELDS)


def test_monitor_fields_are_format_version_2():
    # Version 3 is version 2 plus the aux history (issue 18); a change of the monitor's field list needs a new
    # version and a migration.
    assert tuple(FIELDS) == V2_FIELDS + V3_ADDED
    assert CODEC.version == 3


def _without_aux(rec):
    for name, _ in V3_ADDED:
        assert rec[name] == 0, name               # an older record starts the aux history at 0
        del rec[name]
    return rec


def test_a_version_1_record_is_migrated_with_every_value():
    v1 = Codec(V1_FIELDS, version=1)
    st = {}
    for name, code in V1_FIELDS:
        st[name] = code_range(code)[1] - 3        # each at the top of its v1 range
    st["ce_mah"] = -0x80000000
    rec, why = Codec(FIELDS, migrations=STATE_MIGRATIONS).decode(v1.encode(st, 77))
    assert why == "" and rec[0] == 77
    assert _without_aux(rec[1]) == st
    assert CODEC.decode(v1.encode(st, 77))[0] is None      # without the migration table it is refused


def test_a_version_2_record_is_migrated_with_the_aux_history_at_zero():
    v2 = Codec(V2_FIELDS, version=2)
    st = sample_state(3)
    old = dict((name, st[name]) for name, _ in V2_FIELDS)
    rec, why = Codec(FIELDS, migrations=STATE_MIGRATIONS).decode(v2.encode(old, 5))
    assert why == "" and rec[0] == 5
    assert _without_aux(rec[1]) == old


def test_lifetime_fields_hold_values_past_32_bits():
    st = sample_state(2)
    st["h6_mah"] = 0xFFFFFFFF * 1000 + 7
    st["tp_mah"] = (1 << 63) + 5
    rec, why = CODEC.decode(CODEC.encode(st, 3))
    assert why == "" and rec[1] == st


def test_crc_is_ieee_crc32():
    # The CRC-32 check value of the IEEE polynomial (reflected, init and xorout 0xFFFFFFFF).
    assert crc32(b"123456789") & 0xFFFFFFFF == 0xCBF43926


def test_header_layout_is_magic_version_length_seq_little_endian():
    rec = CODEC.encode(sample_state(), 0x01020304)
    n = _payload_size()
    assert rec[0:4] == b"SSST"
    assert rec[4:6] == b"\x03\x00"   # format version 3
    assert rec[6:8] == bytes([n & 0xFF, n >> 8])
    assert rec[8:12] == b"\x04\x03\x02\x01"
    assert len(rec) == 12 + n + 4


def test_crc_covers_every_preceding_byte():
    rec = CODEC.encode(sample_state(), 5)
    assert struct.unpack("<I", rec[-4:])[0] == crc32(rec[:-4]) & 0xFFFFFFFF


def test_payload_is_the_fields_in_order_little_endian():
    st = sample_state(3)
    st["op_time_s"] = 0x0A0B0C0D
    st["ce_mah"] = -2
    rec = CODEC.encode(st, 1)
    assert rec[12:16] == b"\x0d\x0c\x0b\x0a"          # op_time first, u32
    assert rec[16:20] == b"\xfe\xff\xff\xff"          # CE in mAh, i32
    assert rec[-5] == st[FIELDS[-1][0]]               # the last field (u8) just before the CRC


def test_round_trip_keeps_every_field():
    for k in range(1, 6):
        st = sample_state(k)
        rec, why = CODEC.decode(CODEC.encode(st, k))
        assert why == ""
        assert rec[0] == k
        assert rec[1] == st


def test_round_trip_at_the_ends_of_every_range():
    for end in (0, 1):
        st = {}
        for name, code in FIELDS:
            st[name] = code_range(code)[end]
        rec, why = CODEC.decode(CODEC.encode(st, 0xFFFFFFFF))
        assert rec == (0xFFFFFFFF, st), why


def test_sub_unit_remainders_survive():
    # §14.1: CE and Qp with their remainders, energy remainders in nJ below 36 000 000 000 000.
    st = sample_state()
    st["ce_mah"], st["ce_rem"] = -123457, 359999999
    st["qp_mah"], st["qp_rem_cu"], st["qp_frac"] = 123456, 359999999, 65535
    st["e_dis_rem"] = 35999999999999
    st["e_chg_rem"] = 1
    rec, _ = CODEC.decode(CODEC.encode(st, 2))
    for k in ("ce_mah", "ce_rem", "qp_mah", "qp_rem_cu", "qp_frac", "e_dis_rem", "e_chg_rem"):
        assert rec[1][k] == st[k]


def test_encode_rejects_out_of_range_and_missing_fields():
    st = sample_state()
    st["synchronized"] = 256
    e = raises(ValueError, CODEC.encode, st, 1)
    assert "synchronized" in str(e)
    st = sample_state()
    st["ce_mah"] = -0x80000001
    raises(ValueError, CODEC.encode, st, 1)
    st = sample_state()
    del st["h12"]
    assert "h12" in str(raises(ValueError, CODEC.encode, st, 1))
    raises(ValueError, CODEC.encode, sample_state(), -1)


def test_empty_and_truncated_records_are_rejected():
    rec = CODEC.encode(sample_state(), 7)
    assert CODEC.decode(b"") == (None, "empty")
    for n in (1, 11, 15, 16, len(rec) // 2, len(rec) - 1):
        r, why = CODEC.decode(rec[:n])
        assert r is None and why, n


def test_every_single_bit_flip_is_rejected():
    rec = CODEC.encode(sample_state(), 9)
    for i in range(len(rec)):
        for bit in (0, 3, 7):
            b = bytearray(rec)
            b[i] ^= 1 << bit
            r, why = CODEC.decode(bytes(b))
            assert r is None and why, (i, bit)


def test_bad_magic_and_extra_bytes_are_rejected():
    rec = CODEC.encode(sample_state(), 9)
    assert CODEC.decode(b"SSSX" + rec[4:]) == (None, "bad magic")
    r, why = CODEC.decode(rec + b"\x00")
    assert r is None and "length" in why


def _with_version(rec, version):
    body = rec[:4] + struct.pack("<H", version) + rec[6:-4]
    return body + struct.pack("<I", crc32(body) & 0xFFFFFFFF)


def test_other_format_versions_are_rejected_with_a_reason():
    rec = CODEC.encode(sample_state(), 9)
    for v in (0, 1, 2, 4, 0xFFFF):
        r, why = CODEC.decode(_with_version(rec, v))
        assert r is None
        assert "version %d" % v in why


def test_an_older_version_in_the_migration_table_is_migrated():
    # A future firmware: version 4 adds a field; version 3 records are migrated, not discarded (§14.1).
    v2_fields = FIELDS + (("new_counter", "I"),)

    def from_v1(old):
        old["new_counter"] = 0
        return old

    v2 = Codec(v2_fields, version=4, migrations={3: (FIELDS, from_v1)})
    st = sample_state(4)
    rec, why = v2.decode(CODEC.encode(st, 11))
    assert why == ""
    assert rec[0] == 11
    assert rec[1]["new_counter"] == 0
    del rec[1]["new_counter"]
    assert rec[1] == st
    st["new_counter"] = 77
    rec, _ = v2.decode(v2.encode(st, 12))
    assert rec[1] == st
    assert CODEC.decode(v2.encode(st, 12))[0] is None   # the old firmware refuses the newer record


def test_garbage_never_raises():
    seed = 12345
    lens = (0, 1, 4, 12, 16, 100, CODEC.record_size, CODEC.record_size + 3, 3000)
    for trial in range(60):
        n = lens[trial % len(lens)]
        b = bytearray(n)
        for i in range(n):
            seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
            b[i] = (seed >> 16) & 0xFF
        if trial % 3 == 0 and n >= 12:
            b[0:4] = MAGIC  # garbage behind a good magic
            b[6:8] = struct.pack("<H", max(0, n - 16) & 0xFFFF)
        r, why = CODEC.decode(bytes(b))
        assert r is None and why


def test_decode_accepts_bytearray_and_memoryview():
    rec = CODEC.encode(sample_state(), 3)
    assert CODEC.decode(bytearray(rec))[0][0] == 3
    assert CODEC.decode(memoryview(rec))[0][0] == 3
