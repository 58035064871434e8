"""Independent VE.Direct text parsers (vedirect.md §7) decode a long generated stream from the block builder.

Clients: PyPI vedirect-jmfife 1.0.2, vedirect-m8 1.3.4 and vedirect 1.1.0. Their known quirks are encoded here;
the firmware's output is never bent to suit them (VD §7 rule 3)."""
import importlib.util
import random
import sys
import types
from pathlib import Path

import pytest

from proto.vedirect import TextBuilder
from proto.vehex import HexHandler
from proto.device import Device
from console_fakes import Storage
from shunt.settings import Settings
from drivers.vedirect_uart import VeDirectPort
from fakes.fake_uart import FakeUART

SITE = Path(importlib.util.find_spec("vedirect_m8").origin).parent.parent  # the venv's site-packages


def _load(name, path):
    # jmfife's package and PyPI vedirect's module are both called `vedirect`: load each by path (VD §7).
    spec = importlib.util.spec_from_file_location(name, path, submodule_search_locations=None)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def _jmfife():
    pkg = types.ModuleType("vedirect_jmfife_pkg")
    pkg.__path__ = [str(SITE / "vedirect")]
    sys.modules["vedirect_jmfife_pkg"] = pkg
    _load("vedirect_jmfife_pkg.vedirect_device_emulator", SITE / "vedirect" / "vedirect_device_emulator.py")
    return _load("vedirect_jmfife_pkg.vedirect", SITE / "vedirect" / "vedirect.py")


class _Mon:
    h6_giga = h6_mah = 0      # H6 below 10^9 mAh: written from hist[6]

    def __init__(self):
        self.hist = [0] * 19
        self.h6_giga = 0            # H6 limbs (docs/core-interface.md): below 10^9 mAh hist[6] is exact
        self.h6_mah = 0


def _random_monitor(rng, m):
    m.v_mv = rng.randint(8000, 66000)
    m.i_ma = rng.randint(-400000, 400000)
    m.p = (m.v_mv * m.i_ma + (500000 if m.v_mv * m.i_ma >= 0 else -500000)) // 1000000
    m.synchronized = 0 if rng.random() < 0.15 else 1
    m.ce_mah = -rng.randint(0, 2000000)
    m.soc_permille = rng.randint(0, 1000)
    m.soc_cpct = m.soc_permille * 10
    m.ttg_min = rng.choice((-1, rng.randint(0, 70000)))
    m.alarm_bits = rng.choice((0, 0, 0, 1, 2, 4, 5))
    m.relay_active = 0
    for k in range(1, 19):
        m.hist[k] = rng.randint(-3000000, 3000000) if k in (1, 2, 3, 6) else rng.randint(0, 400000)
    m.hist[13] = m.hist[14] = 0
    m.power_w = lambda m=m: m.p
    # Issue 18: the aux field (none, starter VS, mid-point VM+DM, temperature T), sometimes without a value.
    m.aux_mode = rng.choice((3, 3, 0, 1, 2))
    na = rng.random() < 0.1
    m.aux_value = None if na else (rng.randint(-50, 40000) if m.aux_mode != 2 else rng.randint(-40, 85))
    m.aux_dev = None if na else rng.randint(-1000, 1000)
    t_cc = m.aux_value * 100 if m.aux_mode == 2 and m.aux_value is not None else m.aux_value
    m.aux = types.SimpleNamespace(mode=m.aux_mode, value=t_cc, mid_dev_pm=m.aux_dev)   # shunt.aux's attributes
    return m


def _expected_a(m):
    dash = not m.synchronized
    ttg = "---" if dash else ("-1" if m.ttg_min < 0 else str(min(m.ttg_min, 65534)))
    return {"PID": "0xA389", "V": str(m.v_mv), "I": str(m.i_ma), "P": str(m.p),
            "CE": "---" if dash else str(m.ce_mah), "SOC": "---" if dash else str(m.soc_permille), "TTG": ttg,
            "Alarm": "ON" if m.alarm_bits else "OFF", "AR": str(m.alarm_bits), "BMV": "SmartShunt 500A/50mV",
            "FW": "0414", "MON": "0", **_expected_aux(m)}


def _expected_aux(m):
    v = "---" if m.aux_value is None else str(m.aux_value)
    if m.aux_mode == 0:
        return {"VS": v}
    if m.aux_mode == 1:
        return {"VM": v, "DM": "---" if m.aux_dev is None else str(m.aux_dev)}
    if m.aux_mode == 2:
        return {"T": v}
    return {}


def _expected_b(m):
    return {"H%d" % k: str(m.hist[k]) for k in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 16, 17, 18)}


def _stream(seed, min_cycles=800, need_all=True):
    """(bytes, [(expected A, expected B)], set of checksum bytes). Runs until every checksum value occurred."""
    rng = random.Random(seed)
    b = TextBuilder()
    m = _Mon()
    out = bytearray()
    exp = []
    seen = set()
    while len(exp) < min_cycles or (need_all and len(seen) < 256):
        _random_monitor(rng, m)
        b.set_aux(m.aux_mode)
        n_a = b.build_a(m.v_mv, m.i_ma, m.p, m.ce_mah, m.soc_permille, m.ttg_min, m.alarm_bits, m.synchronized,
                        m.aux_value, 0, 0, m.aux_dev)
        n = b.build_b(m.hist, n_a)
        seen.add(b.buf[n_a - 1])
        seen.add(b.buf[n - 1])
        out += b.buf[:n]
        exp.append((_expected_a(m), _expected_b(m)))
        assert len(exp) < 20000
    return bytes(out), exp, seen


@pytest.fixture(scope="module")
def stream():
    return _stream(1234)


def test_stream_has_every_checksum_byte_value(stream):
    assert len(stream[2]) == 256


def test_jmfife_returns_every_block(stream):
    data, exp, _ = stream
    _jmfife()
    mod = sys.modules["vedirect_jmfife_pkg.vedirect"]
    j = mod.VEDirect.__new__(mod.VEDirect)   # bypass __init__, which opens a serial port
    j.header1, j.header2, j.hexmarker, j.delimiter = b"\r", b"\n", b":", b"\t"
    j.key, j.value, j.bytes_sum, j.state, j.dict = b"", b"", 0, mod.VEDirect.WAIT_HEADER1, {}
    got = [r for r in (j._input(data[i:i + 1]) for i in range(len(data))) if r is not None]
    want = [blk for pair in exp for blk in pair]
    # Quirk: the first block is lost only if the stream starts mid-block; ours starts at a block boundary.
    assert got == want


def test_jmfife_typecast_raises_on_dashes_and_mon(stream):
    mod = _jmfife()
    a = stream[1][0][0]
    # Quirk (VD §7): typecast() knows no MON label and cannot convert '---'.
    with pytest.raises((KeyError, ValueError)):
        mod.VEDirect.typecast(a)
    with pytest.raises(ValueError):
        mod.VEDirect.typecast({"SOC": "---"})


def _m8():
    from vedirect_m8.vedirect import Vedirect
    return Vedirect({"serial_port": "/dev/ttyUSB0"}, auto_start=False)


def _m8_feed(v, data):
    got = []
    for i in range(len(data)):
        r = v.input_read(data[i:i + 1])
        if r is not None:
            got.append(dict(r))
            v.init_data_read()  # quirk: input_read returns its live dict; read_global_packet clears it like this
    return got


def test_vedirect_m8_returns_every_block_of_a_text_only_stream(stream):
    data, exp, _ = stream
    got = _m8_feed(_m8(), data)
    assert got == [blk for pair in exp for blk in pair]


def test_vedirect_m8_documented_failure_on_hex(stream):
    # Quirk (VD §7): m8 leaves HEX state only on CR and drops that CR from the next block's sum, so the block
    # after a HEX reply fails its checksum, its dict is not cleared, and a later block raises "19/18 blocks".
    # Asserted here instead of silently avoiding HEX; m8 is used on text-only streams above.
    from vedirect_m8.exceptions import PacketReadException
    data, exp, _ = stream
    cut = data.index(b"\r\nPID", 10)
    mixed = data[:cut] + b":51444F8\n" + data[cut:]
    v = _m8()
    got = []
    with pytest.raises(PacketReadException, match="19/18"):
        got += _m8_feed_collect(v, mixed, got)
    assert got[0] == exp[0][0] and exp[1][0] not in got  # block A after the reply is lost


def _m8_feed_collect(v, data, got):
    for i in range(len(data)):
        r = v.input_read(data[i:i + 1])
        if r is not None:
            got.append(dict(r))
            v.init_data_read()
    return []


class _FakeSerial:
    """Stands in for serial.Serial inside PyPI vedirect 1.1.0: one continuous stream across re-opens."""
    data = b""
    pos = 0

    def __init__(self, *a, **k):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

    def readline(self):
        d = _FakeSerial.data
        i = d.find(b"\n", _FakeSerial.pos)
        end = len(d) if i < 0 else i + 1
        line = d[_FakeSerial.pos:end]
        _FakeSerial.pos = end
        if not line:
            raise EOFError
        return line


def _pypi_vedirect():
    mod = _load("vedirect_pypi_110", SITE / "vedirect.py")
    mod.serial = types.SimpleNamespace(Serial=_FakeSerial)
    return mod


def _cycles_without_lf(seed):
    # VD §7: vedirect 1.1.0 only where its newline bug allows: no 0x0A checksum byte in the stream.
    rng = random.Random(seed)
    b = TextBuilder()
    m = _Mon()
    out = bytearray()
    exp = []
    while len(exp) < 400:
        _random_monitor(rng, m)
        b.set_aux(m.aux_mode)
        n_a = b.build_a(m.v_mv, m.i_ma, m.p, m.ce_mah, m.soc_permille, m.ttg_min, m.alarm_bits, m.synchronized,
                        m.aux_value, 0, 0, m.aux_dev)
        n = b.build_b(m.hist, n_a)
        if b.buf[n_a - 1] == 10 or b.buf[n - 1] == 10:
            continue
        out += b.buf[:n]
        exp.append((_expected_a(m), _expected_b(m)))
    return bytes(out), exp


def test_pypi_vedirect_reads_cycles_without_lf_checksum():
    mod = _pypi_vedirect()
    data, exp = _cycles_without_lf(99)
    _FakeSerial.data, _FakeSerial.pos = data, 0
    v = mod.VEDirect.__new__(mod.VEDirect)
    v.device, v.speed, v._data = "/dev/null", 19200, {}
    # Quirk: each refresh() waits for a PID line and then consumes up to and including the NEXT PID line, so
    # consecutive refreshes read cycles 0, 2, 4, ...; its checksum spans A+B together (VD §7).
    k = 0
    while k + 1 < len(exp):
        v.refresh()
        want = dict(exp[k][0])
        want.update(exp[k][1])
        # Quirk: _data is never cleared, so an aux label of an earlier cycle (another aux mode) stays in it.
        assert dict((key, v._data[key]) for key in want) == want
        assert set(v._data) - set(want) <= {"VS", "VM", "DM", "T"}
        assert v.battery_volts == int(exp[k][0]["V"]) / 1000
        with pytest.raises(KeyError):
            v.battery_amps  # quirk: reads a non-existent label 'A'
        k += 2
    assert k >= 398


def test_pypi_vedirect_documented_failure_on_lf_checksum():
    mod = _pypi_vedirect()
    rng = random.Random(5)
    b = TextBuilder()
    m = _Mon()
    while True:
        _random_monitor(rng, m)
        n = b.build_a(m.v_mv, m.i_ma, m.p, m.ce_mah, m.soc_permille, m.ttg_min, m.alarm_bits, m.synchronized)
        if b.buf[n - 1] == 10:
            break
    blk = bytes(b.buf[:n])
    n = b.build_b(m.hist, 0)
    _FakeSerial.data, _FakeSerial.pos = blk + bytes(b.buf[:n]) + blk + bytes(b.buf[:n]), 0
    v = mod.VEDirect.__new__(mod.VEDirect)
    v.device, v.speed, v._data = "/dev/null", 19200, {}
    with pytest.raises(ValueError):
        v.refresh()


def test_jmfife_decodes_text_with_hex_replies_between_blocks():
    """The port adapter with a GX asking HEX questions: jmfife still returns every block, and the replies
    land between blocks (VD §5.1)."""
    mod = _jmfife()

    rng = random.Random(7)
    s = Settings()
    m = _random_monitor(rng, _Mon())
    m.synchronize = m.clear_history = lambda: None
    h = HexHandler(m, s, Device(m, s, Storage()), b"S0000000001")
    u = FakeUART()
    port = VeDirectPort(u, h)
    exp = []
    for t in range(3000):
        if t % 50 == 0:
            _random_monitor(rng, m)
        if rng.random() < 0.01:
            u.rx += rng.choice((b":154\n", b":451\n", b":70010003E\n", b":7FF0F0040\n"))
        before = port.cycles
        port.poll(20, m)
        if port.cycles != before:
            exp.append(_expected_a(m))
            exp.append(_expected_b(m))
    j = mod.VEDirect.__new__(mod.VEDirect)
    j.header1, j.header2, j.hexmarker, j.delimiter = b"\r", b"\n", b":", b"\t"
    j.key, j.value, j.bytes_sum, j.state, j.dict = b"", b"", 0, mod.VEDirect.WAIT_HEADER1, {}
    data = bytes(u.tx)
    got = [r for r in (j._input(data[i:i + 1]) for i in range(len(data))) if r is not None]
    assert got == exp and len(exp) > 60
    assert data.count(b":51444F8\n") >= 1
