# The VE.Direct text carries what the monitor reports: Alarm/AR bits (battery-monitor.md §8, §10), the `---`
# rules while not synchronised (§3.5) and H11/H12 (§9).
from shunt.settings import Settings
from shunt.monitor import Monitor
from proto.vedirect import TextBuilder


def fields(buf, n):
    out = {}
    for rec in bytes(buf[:n]).split(b"\r\n")[1:]:
        kv = rec.split(b"\t", 1)
        out[kv[0].decode()] = kv[1] if len(kv) > 1 else b""
    return out


def cycle(m):
    b = TextBuilder()
    n = b.build_cycle_from(m)
    raw = bytes(b.buf[:n])
    k = raw.find(b"Checksum\t") + 10
    assert sum(raw[:k]) % 256 == 0 and sum(raw[k:]) % 256 == 0
    return fields(b.buf, n)


def run(m, n, i_ma, v_mv):
    for _ in range(n):
        for _ in range(m.sample(v_mv, i_ma, 100)):
            m.second()


def test_alarm_bits_in_text():
    s = Settings()
    s.set("alarm_low_voltage_set", "11.5")
    s.set("alarm_low_soc_set", "50.0")
    m = Monitor(s)
    m.sample(12000, 0, 0)
    run(m, 100, -1000, 12000)
    f = cycle(m)
    assert f["Alarm"] == b"OFF" and f["AR"] == b"0"
    m.set_soc(4000)
    run(m, 110, -1000, 11400)                # low voltage and low SOC for > 10 s (H11 reported at the second)
    f = cycle(m)
    assert f["Alarm"] == b"ON" and f["AR"] == b"5"
    assert f["H11"] == b"1"
    run(m, 1, 1000, 12600)                   # voltage back: only the low-SOC bit stays
    f = cycle(m)
    assert f["AR"] == b"4" and f["Alarm"] == b"ON"


def test_unsynchronised_text_shows_dashes():
    s = Settings()
    s.set("start_synchronized", "off")
    m = Monitor(s)
    m.sample(12000, 0, 0)
    run(m, 20, -5000, 12000)
    f = cycle(m)
    assert f["SOC"] == b"---" and f["CE"] == b"---" and f["TTG"] == b"---"
    assert f["V"] == b"12000" and f["I"] == b"-5000" and f["P"] == b"-60"
