# VE.Direct text blocks (vedirect.md §3) against the real captures in ../vectors, byte for byte, checksum included.
# Dual runtime: CPython pytest and the MicroPython unix port (host_tests/mp_runner.py).
import sys

from check import raises, micropython_only
from proto.vedirect import (TextBuilder, TextSchedule, block_a_from, base36_serial, checksum_byte, AUX_STARTER,
                            AUX_TEMP, AUX_MID, NO_VALUE)

_IS_MP = sys.implementation.name == "micropython"
_VEC = __file__.rsplit("/", 1)[0] + "/../vectors/"


def _read(name):
    with open(_VEC + name, "rb") as f:
        return f.read()


def _hist(values):
    # values: H1..H12, H15..H18 in block B order (H13/H14 are not sent, VD §3.4)
    h = [0] * 19
    for n, v in zip((1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 16, 17, 18), values):
        h[n] = v
    return h


def _built(b, n):
    return bytes(b.buf[:n])


# Values are the ones listed for each capture in the vectors README (VD §3.3, §3.4).
def test_fw414_block_a_is_the_firmware_layout():
    b = TextBuilder()
    n = b.build_a(53509, 23866, 1277, -131099, 548, -1, 0, 1)
    assert _built(b, n) == _read("smartshunt-fw414-a.bin")
    assert b.buf[n - 1] == 0xDF  # VD §3.1 worked example


def test_fw405_block_a_with_starter_aux():
    b = TextBuilder(fw=0x0405, mon=False, aux=AUX_STARTER)
    n = b.build_a(12865, 0, 0, 0, 1000, -1, 0, 1, -14)
    assert _built(b, n) == _read("smartshunt-fw405-a.bin")
    n = b.build_a(12868, 0, 0, 0, 1000, -1, 0, 1, -12)
    assert _built(b, n) == _read("smartshunt-fw405-a-v12868-vs-12.bin")
    n = b.build_a(12868, 0, 0, 0, 1000, -1, 0, 1, -13)
    assert _built(b, n) == _read("smartshunt-fw405-a-v12868-vs-13.bin")


def test_fw405_block_b():
    b = TextBuilder()
    h = _hist((-32914, 0, 0, 0, 0, -35652, 12041, 14282, 0, 0, 0, 0, -22, 0, 46, 48))
    n = b.build_b(h)
    assert _built(b, n) == _read("smartshunt-fw405-b.bin")


def test_bmv712_blocks():
    b = TextBuilder(pid=0xA381, model=b"712 Smart", fw=0x0408, relay_field=True, aux=AUX_STARTER)
    n = b.build_a(26457, -6032, -160, -6673, 937, 435, 0, 1, 34)
    assert _built(b, n) == _read("bmv712-fw408-a.bin")
    h = _hist((-96470, -6673, -26485, 29, 4, -2316636, 27, 28776, 7135, 31, 0, 0, 22, 38, 6066, 6117))
    n = b.build_b(h)
    assert _built(b, n) == _read("bmv712-fw408-b.bin")


def test_temperature_aux_without_sensor_is_dashes():
    exp = _read("bmv712-fw408-a-temp-nosensor.bin")
    # Field values from the capture itself (a real block containing "T ---").
    f = _fields(exp)
    assert f[1] == (b"V", f[1][1]) and f[2] == (b"T", b"---")
    d = dict(f)
    b = TextBuilder(pid=0xA381, model=b"712 Smart", fw=0x0408, relay_field=True, aux=AUX_TEMP)
    n = b.build_a(int(d[b"V"]), int(d[b"I"]), int(d[b"P"]), int(d[b"CE"]), int(d[b"SOC"]), int(d[b"TTG"]),
                  int(d[b"AR"]), 1, NO_VALUE)
    assert _built(b, n) == exp


def _fields(block):
    """(label, value) pairs of one block, without the checksum record."""
    out = []
    for rec in block.split(b"\r\n")[1:]:
        i = rec.index(b"\t")
        if rec[:i] == b"Checksum":
            break
        out.append((rec[:i], rec[i + 1:]))
    return out


def _blocks(stream):
    """Complete blocks of a raw capture: each ends with 'Checksum' TAB and one raw byte."""
    out = []
    start = 0
    key = b"\r\nChecksum\t"
    while True:
        i = stream.find(key, start)
        if i < 0 or i + len(key) >= len(stream):
            return out
        end = i + len(key) + 1
        out.append(stream[start:end])
        start = end


def test_every_bmv700_block_of_the_dump_rebuilds_byte_for_byte():
    stream = _read("bvm702.dump")
    blocks = _blocks(stream)
    assert len(blocks) == 906
    b = TextBuilder(pid=0x203, model=b"700", fw=0x0308, mon=False, relay_field=True, hist_aux=False)
    n_a = n_b = 0
    for blk in blocks:
        d = dict(_fields(blk))
        if b"PID" in d:
            synced = d[b"SOC"] != b"---"
            n = b.build_a(int(d[b"V"]), int(d[b"I"]), int(d[b"P"]), int(d[b"CE"]) if synced else 0,
                          int(d[b"SOC"]) if synced else 0, int(d[b"TTG"]) if synced else 0, int(d[b"AR"]),
                          synced, 0, d[b"Relay"] == b"ON")
            n_a += 1
        else:
            h = [0] * 19
            for k in range(1, 19):
                v = d.get(b"H%d" % k if not _IS_MP else ("H%d" % k).encode())
                if v is not None:
                    h[k] = int(v)
            n = b.build_b(h)
            n_b += 1
        assert _built(b, n) == blk, blk
    assert n_a == n_b == 453


def test_not_synchronised_sends_dashes_for_ce_soc_ttg():
    b = TextBuilder()
    n = b.build_a(12800, -5000, -64, -1000, 995, 120, 0, 0)
    d = dict(_fields(_built(b, n)))
    assert d[b"CE"] == b"---" and d[b"SOC"] == b"---" and d[b"TTG"] == b"---"
    assert d[b"V"] == b"12800" and d[b"I"] == b"-5000" and d[b"P"] == b"-64"
    # U3: unsynchronised and not discharging still gives ---
    n = b.build_a(12800, 100, 1, 0, 0, -1, 0, 0)
    assert dict(_fields(_built(b, n)))[b"TTG"] == b"---"


def test_ttg_minus_one_when_not_discharging_and_clamped_when_long():
    b = TextBuilder()
    n = b.build_a(12800, 0, 0, 0, 1000, -1, 0, 1)
    assert dict(_fields(_built(b, n)))[b"TTG"] == b"-1"
    n = b.build_a(12800, -10, 0, 0, 1000, 70000, 0, 1)
    assert dict(_fields(_built(b, n)))[b"TTG"] == b"65534"
    n = b.build_a(12800, -10, 0, 0, 1000, 0, 0, 1)
    assert dict(_fields(_built(b, n)))[b"TTG"] == b"0"


def test_alarm_on_exactly_when_alarm_reason_is_set():
    b = TextBuilder()
    n = b.build_a(11000, -100, -1, -10, 500, 10, 5, 1)
    d = dict(_fields(_built(b, n)))
    assert d[b"Alarm"] == b"ON" and d[b"AR"] == b"5"
    n = b.build_a(11000, -100, -1, -10, 500, 10, 0, 1)
    assert dict(_fields(_built(b, n)))[b"Alarm"] == b"OFF"


def test_block_a_field_order_and_record_counts():
    b = TextBuilder()
    n = b.build_a(12800, 0, 0, 0, 1000, -1, 0, 1)
    labels = [f[0] for f in _fields(_built(b, n))]
    assert labels == [b"PID", b"V", b"I", b"P", b"CE", b"SOC", b"TTG", b"Alarm", b"AR", b"BMV", b"FW", b"MON"]
    n = b.build_b(_hist(range(16)))
    labels = [f[0] for f in _fields(_built(b, n))]
    assert len(labels) + 1 == 17 and b"H13" not in labels and b"H14" not in labels and b"H15" in labels


def test_checksum_takes_every_byte_value_and_always_sums_to_zero():
    b = TextBuilder()
    seen = bytearray(256)
    v = 10000
    count = 0
    while count < 256 and v < 20000:
        n = b.build_a(v, -v, -(v // 100), -v * 3, v % 1001, v % 700, v & 7, v & 1)
        s = 0
        for i in range(n):
            s += b.buf[i]
        assert s & 0xFF == 0
        assert checksum_byte(b.buf, 0, n - 1) == b.buf[n - 1]
        if not seen[b.buf[n - 1]]:
            seen[b.buf[n - 1]] = 1
            count += 1
        v += 1
    assert count == 256


def test_cycle_is_block_a_then_block_b_in_one_buffer():
    m = _Mon()
    b = TextBuilder()
    n = b.build_cycle_from(m)
    out = _built(b, n)
    blocks = _blocks(out)
    assert len(blocks) == 2 and blocks[0] + blocks[1] == out
    assert dict(_fields(blocks[0]))[b"SOC"] == b"548"
    assert dict(_fields(blocks[1]))[b"H17"] == b"15636"


class _NoAux:
    mode = 3
    value = None
    mid_dev_pm = None


class _Mon:
    # The documented Monitor attributes (docs/core-interface.md), with the FW 4.14 capture values.
    aux = _NoAux()
    v_mv = 53509
    i_ma = 23866
    synchronized = 1
    ce_mah = -131099
    soc_permille = 548
    ttg_min = -1
    alarm_bits = 0
    h6_giga = 0
    h6_mah = 2994109

    def __init__(self):
        # FW 4.14 block B values from the vectors README (cut-off trace; H18 not seen, 0 here)
        self.hist = [0, -276495, -238319, -136881, 3, 0, -2994109, 50422, 55353, 163633, 2, 0, 0, 0, 0, 0, 0,
                     15636, 0]

    def power_w(self):
        return 1277


def test_block_a_from_monitor_matches_capture():
    b = TextBuilder()
    n = block_a_from(b, _Mon())
    assert _built(b, n) == _read("smartshunt-fw414-a.bin")


def test_building_allocates_nothing_once_warm():
    micropython_only()
    import micropython
    b = TextBuilder()
    m = _Mon()
    h = m.hist
    b.build_cycle_from(m)
    micropython.heap_lock()
    try:
        for k in range(50):
            n = b.build_a(12000 + k, -k * 1000, -k, -k * 77, 1000 - k, k, k & 3, k & 1)
            n = b.build_b(h, n)
            n = b.build_cycle_from(m)
    finally:
        micropython.heap_unlock()
    assert n > 250


def test_unsupported_aux_mode_is_refused():
    raises(ValueError, TextBuilder, 0xA389, b"x", 0x0414, True, False, 4)
    TextBuilder(aux=AUX_MID)


def _aux_monitor(mode, reading):
    # A real monitor whose aux input read `reading` for a second (issue 18).
    from shunt.settings import Settings
    from shunt.monitor import Monitor
    s = Settings()
    s.set("aux_input", mode)
    m = Monitor(s)
    m.sample(12868, 0, 0)
    m.aux.reading(reading)
    m.second()
    return m


def test_starter_vs_from_the_monitor_rebuilds_the_fw405_capture():
    b = TextBuilder(fw=0x0405, mon=False)
    n = block_a_from(b, _aux_monitor("starter", -12))
    assert _built(b, n) == _read("smartshunt-fw405-a-v12868-vs-12.bin")


def test_temperature_without_a_sensor_from_the_monitor_rebuilds_the_bmv712_capture():
    exp = _read("bmv712-fw408-a-temp-nosensor.bin")
    d = dict(_fields(exp))
    from shunt.settings import Settings
    from shunt.aux import Aux
    m = _Mon()
    m.v_mv, m.i_ma, m.ce_mah, m.soc_permille, m.ttg_min = (int(d[b"V"]), int(d[b"I"]), int(d[b"CE"]),
                                                          int(d[b"SOC"]), int(d[b"TTG"]))
    m.power_w = lambda: int(d[b"P"])
    s = Settings()
    s.set("aux_input", "temperature")
    m.aux = Aux(s)                       # no reading: the DS18B20 is absent
    b = TextBuilder(pid=0xA381, model=b"712 Smart", fw=0x0408, relay_field=True)
    n = block_a_from(b, m)
    assert _built(b, n) == exp


def test_temperature_goes_out_in_whole_degrees_directly_after_v():
    b = TextBuilder()
    for cc, t in ((2149, b"21"), (2150, b"22"), (-149, b"-1"), (-150, b"-2"), (0, b"0")):
        f = _fields(_built(b, block_a_from(b, _aux_monitor("temperature", cc))))
        assert f[1][0] == b"V" and f[2] == (b"T", t), (cc, f[2])


def test_midpoint_vm_and_dm_follow_v_and_the_block_checksums():
    m = _aux_monitor("midpoint", 6300)          # 12.868 V bank, bottom half 6.300 V: top 6.568 V
    b = TextBuilder()
    n = block_a_from(b, m)
    out = _built(b, n)
    f = _fields(out)
    assert [x[0] for x in f[:5]] == [b"PID", b"V", b"VM", b"DM", b"I"]
    assert f[2] == (b"VM", b"6300") and f[3] == (b"DM", b"21")   # 1000·(12868 − 12600)/12868 = 20.8 ‰
    assert sum(out) % 256 == 0
    m.aux.reading(None)
    m.second()
    f = _fields(_built(b, block_a_from(b, m)))
    assert f[2] == (b"VM", b"---") and f[3] == (b"DM", b"---")


def test_starter_without_the_second_ina226_is_dashes():
    b = TextBuilder()
    f = _fields(_built(b, block_a_from(b, _aux_monitor("starter", None))))
    assert f[2] == (b"VS", b"---")


def test_serial_is_s_plus_mac_in_base_36():
    mac = b"\x24\x6f\x28\x01\x02\x03"
    s = base36_serial(mac)
    assert len(s) == 11 and s[:1] == b"S"
    assert int(s[1:].decode(), 36) == 0x246F28010203
    for c in s:
        assert 48 <= c <= 57 or 65 <= c <= 90
    assert base36_serial(b"\x00" * 6) == b"S0000000000"
    assert int(base36_serial(b"\xff" * 6)[1:].decode(), 36) == (1 << 48) - 1


def test_schedule_first_cycle_at_once_then_every_period():
    s = TextSchedule()
    assert s.due()
    s.sent()
    s.elapse(999)
    assert not s.due()
    s.elapse(1)
    assert s.due()
    s.sent()
    s.elapse(1250)  # a late poll keeps the phase (start to start) ...
    assert s.due()
    s.sent()
    s.elapse(750)
    assert s.due()
    s.sent()
    s.elapse(10000)  # ... but a long stall gives one cycle, not a burst
    s.sent()
    assert not s.due()


def test_schedule_holds_text_for_1000_ms_after_a_valid_hex_frame():
    s = TextSchedule()
    s.sent()
    s.elapse(900)
    s.hex_frames(1)
    s.elapse(100)
    assert not s.due()  # period over, but the hold runs
    s.elapse(899)
    s.hex_frames(0)     # invalid frames do not extend the hold
    assert not s.due()
    s.elapse(1)
    assert s.due()
    # after the hold the next cycle is a whole period later, whatever the phase was (issue 15: a pair every
    # period, not two pairs a few ms apart)
    s.sent()
    s.elapse(999)
    assert not s.due()
    s.elapse(1)
    assert s.due()
    z = TextSchedule(hold_ms=0)
    z.sent()
    z.hex_frames(1)
    z.elapse(1000)
    assert z.due()


def test_h6_past_a_billion_mah_is_printed_exactly_without_allocating():
    # H6 is a lifetime counter: past 10^9 mAh hist[6] is a long integer on the ESP32 (small ints end at 2^30),
    # so the text prints it from the monitor's two limbs (issue 13). Golden text: the spec's "H6 = −mAh".
    from shunt.monitor import Monitor
    from shunt.settings import Settings
    m = Monitor(Settings())
    for h6, want in ((2 ** 32 - 1, b"-4294967295"), (10 ** 9, b"-1000000000"), (10 ** 9 - 1, b"-999999999"),
                     (7 * 10 ** 9 + 42, b"-7000000042"), (2 ** 64 - 1, b"-1073741823999999999")):
        d = m.get_state()
        d["h6_mah"] = h6
        m.set_state(d)
        assert m.hist[6] == -int(want[1:])
        b = TextBuilder()
        n = b.build_cycle_from(m)
        if _IS_MP:
            import micropython
            micropython.heap_lock()
            try:
                n = b.build_cycle_from(m)
            finally:
                micropython.heap_unlock()
        assert b"\r\nH6\t" + want + b"\r\n" in bytes(b.buf[:n]), (h6, bytes(b.buf[:n]))
