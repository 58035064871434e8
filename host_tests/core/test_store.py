# The littlefs store (BM §14.1, §14.3): A/B slots, tmp + close + rename, clean fallback with diagnostics.
# Under MicroPython the store runs on VfsLfs2 over a RAM block device; under CPython on a temp directory.
from check import micropython_only
import os
import sys

from shunt.record import Codec
from drivers.store import Store, SLOTS, STATE_TMP
from state_fields import FIELDS, sample_state
import ramblock

CODEC = Codec(FIELDS)
MP = sys.implementation.name == "micropython"
_MNT = "/flash_test"


class Fs:
    """A fresh empty filesystem directory; close() unmounts or removes it."""

    def __init__(self, blocks=32):
        if MP:
            ramblock.umount(_MNT)
            self.dev = ramblock.RamFlash(blocks)
            ramblock.mount(self.dev, _MNT, mkfs=True)
            self.root = _MNT
        else:
            import tempfile
            self.dev = None
            self.root = tempfile.mkdtemp(prefix="store_test_")

    def store(self):
        return Store(self.root, CODEC)

    def path(self, name):
        return self.root + "/" + name

    def write(self, name, data):
        f = open(self.path(name), "wb")
        f.write(data)
        f.close()

    def read(self, name):
        f = open(self.path(name), "rb")
        d = f.read()
        f.close()
        return d

    def names(self):
        return sorted(os.listdir(self.root))

    def close(self):
        if MP:
            ramblock.umount(_MNT)
        else:
            import shutil
            shutil.rmtree(self.root)


def _run(fn, blocks=32):
    fs = Fs(blocks)
    try:
        fn(fs)
    finally:
        fs.close()


def test_empty_filesystem_loads_nothing_without_a_warning():
    def t(fs):
        st = fs.store()
        assert st.load_state() == (None, [])
        assert not st.w10
        assert st.load_json("settings.json") == (None, [])
    _run(t)


def test_saved_state_loads_back_field_for_field():
    def t(fs):
        st = fs.store()
        st.load_state()
        s1 = sample_state(1)
        assert st.save_state(s1) == (True, [])
        vals, diags = fs.store().load_state()
        assert vals == s1 and diags == []
    _run(t)


def test_slots_alternate_by_seq_parity_and_no_tmp_is_left():
    def t(fs):
        st = fs.store()
        st.load_state()
        st.save_state(sample_state(1))
        assert fs.names() == ["state_a.bin"]          # seq 0: even -> A
        assert CODEC.decode(fs.read("state_a.bin"))[0][0] == 0
        st.save_state(sample_state(2))
        assert fs.names() == ["state_a.bin", "state_b.bin"]
        assert CODEC.decode(fs.read("state_b.bin"))[0][0] == 1
        st.save_state(sample_state(3))
        assert CODEC.decode(fs.read("state_a.bin"))[0] == (2, sample_state(3))
        assert STATE_TMP not in fs.names()
        st2 = fs.store()
        assert st2.load_state()[0] == sample_state(3)
        assert st2.seq == 2
    _run(t)


def test_newest_valid_record_wins_over_older():
    def t(fs):
        st = fs.store()
        st.load_state()
        for k in range(1, 6):
            st.save_state(sample_state(k))
        vals, diags = fs.store().load_state()
        assert vals == sample_state(5) and diags == []
    _run(t)


def _two_saves(fs):
    st = fs.store()
    st.load_state()
    st.save_state(sample_state(1))   # seq 0 -> A
    st.save_state(sample_state(2))   # seq 1 -> B (the newest)


def _fallback_case(damage, expect):
    def t(fs):
        _two_saves(fs)
        good = fs.read("state_b.bin")
        fs.write("state_b.bin", damage(good))
        st = fs.store()
        vals, diags = st.load_state()
        assert vals == sample_state(1), diags      # the other slot
        assert len(diags) == 1 and diags[0].startswith("state_b.bin: ") and expect in diags[0], diags
        assert st.w10
        # the next save goes to B again (seq 1), never over the good record in A, and clears W10
        assert st.save_state(sample_state(3)) == (True, [])
        assert not st.w10
        assert CODEC.decode(fs.read("state_a.bin"))[0][1] == sample_state(1)
        assert fs.store().load_state()[0] == sample_state(3)
    _run(t)


def test_bit_flip_falls_back_to_the_other_slot():
    def flip(b):
        b = bytearray(b)
        b[40] ^= 0x10
        return bytes(b)
    _fallback_case(flip, "CRC")


def test_truncated_file_falls_back():
    _fallback_case(lambda b: b[:100], "length")


def test_empty_file_falls_back():
    _fallback_case(lambda b: b"", "empty")


def test_garbage_file_falls_back():
    _fallback_case(lambda b: bytes((i * 37 + 11) & 0xFF for i in range(len(b))), "magic")


def test_huge_garbage_file_falls_back_without_reading_it_all():
    _fallback_case(lambda b: b"SSST" + b"\x00" * 6000, "garbage")


def test_other_version_falls_back():
    import struct
    from binascii import crc32

    def v4(b):      # a newer firmware's record (this one writes version 3)
        body = b[:4] + struct.pack("<H", 4) + b[6:-4]
        return body + struct.pack("<I", crc32(body) & 0xFFFFFFFF)
    _fallback_case(v4, "version 4")


def test_no_valid_record_gives_start_up_rules_and_w10():
    def t(fs):
        _two_saves(fs)
        fs.write("state_a.bin", b"junk")
        fs.write("state_b.bin", b"")
        st = fs.store()
        vals, diags = st.load_state()
        assert vals is None
        assert len(diags) == 3 and "no valid state record" in diags[2]
        assert st.w10
        assert st.save_state(sample_state(7)) == (True, [])
        assert not st.w10 and fs.store().load_state()[0] == sample_state(7)
    _run(t)


def test_stale_tmp_file_is_ignored_and_replaced():
    def t(fs):
        _two_saves(fs)
        fs.write(STATE_TMP, b"half a rec")
        st = fs.store()
        assert st.load_state() == (sample_state(2), [])
        assert st.save_state(sample_state(3))[0]
        assert STATE_TMP not in fs.names()
    _run(t)


def test_record_in_the_wrong_slot_is_never_overwritten():
    # A record with an odd seq found in slot A (copied by hand): the next save must not replace it.
    def t(fs):
        st = fs.store()
        st.load_state()
        st.save_state(sample_state(1))
        st.save_state(sample_state(2))        # seq 1 in B
        fs.write("state_a.bin", fs.read("state_b.bin"))
        os.remove(fs.path("state_b.bin"))
        st = fs.store()
        assert st.load_state()[0] == sample_state(2)
        assert st.save_state(sample_state(3))[0]
        assert CODEC.decode(fs.read("state_a.bin"))[0][1] == sample_state(2)
        assert fs.store().load_state()[0] == sample_state(3)
    _run(t)


def _fill(fs):
    """Fill the filesystem with committed files (littlefs drops a file whose write failed), largest first."""
    names = []
    for size in (4096, 1024, 256, 64):
        while True:
            name = "filler%d" % len(names)
            try:
                f = open(fs.path(name), "wb")
                try:
                    f.write(b"\x55" * size)
                finally:
                    f.close()
            except OSError:
                try:
                    os.remove(fs.path(name))
                except OSError:
                    pass
                break
            names.append(name)
    return names


def test_full_filesystem_keeps_the_old_record_and_raises_w10():
    micropython_only()
    def t(fs):
        _two_saves(fs)
        fillers = _fill(fs)
        st = fs.store()
        assert st.load_state()[0] == sample_state(2)
        failed = 0
        last_ok = sample_state(2)
        for k in range(3, 8):   # whatever littlefs still fits, a failure must leave the last good record
            ok, diags = st.save_state(sample_state(k))
            if ok:
                last_ok = sample_state(k)
            else:
                failed += 1
                assert "full" in diags[0] or "save failed" in diags[0], diags
                assert st.w10
            assert fs.store().load_state()[0] == last_ok
        assert failed > 0
        for name in fillers:
            os.remove(fs.path(name))
        assert st.save_state(sample_state(9)) == (True, [])
        assert not st.w10
        assert fs.store().load_state()[0] == sample_state(9)
    _run(t, blocks=16)


def test_json_round_trip_and_tmp_rename():
    def t(fs):
        st = fs.store()
        obj = {"schema": 1, "values": {"capacity": 200, "device_name": "shunt"}, "charged_voltage_user_set": 0}
        assert st.save_json("settings.json", obj) == (True, [])
        assert fs.names() == ["settings.json"]
        assert fs.store().load_json("settings.json") == (obj, [])
        obj["values"]["capacity"] = 100
        assert st.save_json("settings.json", obj)[0]
        assert fs.store().load_json("settings.json") == (obj, [])
    _run(t)


def test_real_settings_survive_a_save():
    from shunt.settings import Settings

    def t(fs):
        s = Settings()
        s.set("capacity", "280")
        s.set("device_name", "Bank 1")
        assert fs.store().save_json("settings.json", s.to_dict())[0]
        obj, diags = fs.store().load_json("settings.json")
        s2 = Settings()
        s2.load_dict(obj)
        assert s2.values == s.values and diags == []
    _run(t)


def test_bad_json_files_give_none_a_diagnostic_and_w10():
    def t(fs):
        for data, why in ((b"", "empty"), (b'{"schema": 1, "val', "JSON"), (b"\xff\xfe\x00garbage", "JSON"),
                          (b"[1, 2]", "object"), (b" " * 9000, "garbage")):
            fs.write("calibration.json", data)
            st = fs.store()
            obj, diags = st.load_json("calibration.json")
            assert obj is None and len(diags) == 1, (data, diags)
            assert diags[0].startswith("calibration.json: ") and why in diags[0], diags
            assert st.w10
            assert st.save_json("calibration.json", {"offset_nV": -1200, "op_time_s": 5}) == (True, [])
            assert not st.w10
            assert fs.store().load_json("calibration.json")[0] == {"offset_nV": -1200, "op_time_s": 5}
    _run(t)


def test_w10_stays_while_another_file_is_bad():
    def t(fs):
        fs.write("settings.json", b"{")
        st = fs.store()
        st.load_json("settings.json")
        st.load_state()
        assert st.save_state(sample_state(1))[0]
        assert st.w10                    # settings.json is still bad
        assert st.save_json("settings.json", {"schema": 1})[0]
        assert not st.w10
    _run(t)


def test_monitor_state_restores_field_for_field():
    # §4.5: the restored state is the saved one, every field, and the monitor marks it restored (W07).
    from shunt.monitor import Monitor
    from shunt.settings import Settings

    def t(fs):
        m = Monitor(Settings())
        for k in range(900):
            i_ma = (-42317, -1234, 0, 7777, -150000)[k // 180]
            for _ in range(m.sample(12650 + k, i_ma, 250 + k % 7)):
                m.second()
        saved = m.get_state()
        st = fs.store()
        st.load_state()
        assert st.save_state(saved) == (True, [])
        vals, diags = fs.store().load_state()
        assert diags == []
        m2 = Monitor(Settings())
        m2.set_state(vals)
        assert m2.get_state() == saved
        assert m2.restored == 1
        assert m2.synchronized == saved["synchronized"]
    _run(t)
