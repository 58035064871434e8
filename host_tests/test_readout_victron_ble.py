"""Instant Readout adverts decoded by the independent PyPI client victron-ble (platform.md §4.4), and the
MicroPython unix port (cryptolib ECB) producing the same bytes as CPython (pycryptodome ECB)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from Crypto.Cipher import AES
from hypothesis import given, settings
from hypothesis import strategies as st
from victron_ble.devices import detect_device_type
from victron_ble.devices.base import AlarmReason
from victron_ble.devices.battery_monitor import AuxMode, BatteryMonitor

from proto import readout

ROOT = Path(__file__).resolve().parent.parent
MICROPYTHON = Path(sys.executable).parent / "micropython"
KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")


def _advert(args, key=KEY, nonce=0x1234):
    r = readout.Readout(key, AES.new(key, AES.MODE_ECB), nonce)
    adv = bytes(r.build(*args))
    return adv, bytes(r.mfr)


def _ad_structures(adv):
    """Split advertising data into (type, value) pairs the way a scanner does."""
    out, i = [], 0
    while i < len(adv):
        n = adv[i]
        out.append((adv[i + 1], adv[i + 2:i + 1 + n]))
        i += 1 + n
    assert i == len(adv)
    return out


def _decode(adv, key=KEY):
    ads = dict(_ad_structures(adv))
    mfr = ads[0xFF]
    assert mfr[:2] == b"\xe1\x02"  # company id 0x02E1, little-endian
    data = mfr[2:]
    assert data[0] == 0x10  # victron-ble's scanner keeps only "Product Advertisement" records
    assert detect_device_type(data) is BatteryMonitor
    return BatteryMonitor(key.hex()).parse(data)


def _check(args, d):
    ttg, v_mv, alarm, i_ma, ce_mah, soc = args
    assert d.get_model_name() == "SmartShunt 500A/50mV"
    assert d.get_remaining_mins() == (None if ttg is None or ttg < 0 else min(ttg, 65534))
    assert abs(d.get_voltage() - v_mv / 1000) <= 0.005 + 1e-9
    assert d.get_alarm() == AlarmReason(alarm)
    assert d.get_aux_mode() == AuxMode.DISABLED
    assert d.get_temperature() is None and d.get_starter_voltage() is None and d.get_midpoint_voltage() is None
    expect_i = 0 if i_ma == -1 else i_ma
    assert abs(d.get_current() - expect_i / 1000) < 1e-9
    if ce_mah is None:
        assert d.get_consumed_ah() is None
    else:
        # the magnitude is floored to 0.1 Ah: never overstated, and less than 0.1 Ah short
        assert -1e-9 <= d.get_consumed_ah() - ce_mah / 1000 < 0.1
    assert d.get_soc() == (None if soc is None else soc / 10)


CASES = [
    (None, 12530, 0, 0, -50000, 500),           # the spec vector's values
    (-1, 13410, 0, 25340, 0, 1000),             # charging, full: TTG infinite
    (617, 12180, 1, -13250, -74560, 627),       # discharging, low-voltage alarm, negative current
    (65534, 26480, 2, -1, -99, 999),            # -1 mA is sent as 0; -99 mAh floors to 0.0 Ah
    (0, 11000, 4, -2097151, -104857400, 0),     # most negative current, consumed at its clamp
    (None, 12870, 0, -4210, None, None),        # not synchronised: TTG, consumed, SOC not available
    (1234, 52345, 0, 2097151, -1, 450),         # 48 V bank, largest current
]


def test_victron_ble_decodes_every_field_of_known_values():
    for args in CASES:
        adv, _ = _advert(args)
        assert len(adv) == 30 <= 31
        _check(args, _decode(adv))


def test_victron_ble_decodes_the_spec_vector_record_identically():
    key = bytes.fromhex("aff4d0995b7d1e176c0c33ecb9e70dcd")
    _, mfr = _advert(CASES[0], key, 0x40B0)
    assert mfr.hex() == "100289a302b040af925d09a4d89aa0128bdef48c6298a9"
    d = BatteryMonitor(key.hex()).parse(mfr)
    assert (d.get_voltage(), d.get_consumed_ah(), d.get_soc(), d.get_remaining_mins()) == (12.53, -50.0, 50.0, None)


def test_victron_ble_rejects_a_wrong_key():
    from victron_ble.exceptions import AdvertisementKeyMismatchError

    _, mfr = _advert(CASES[2])
    other = bytes([KEY[0] ^ 1]) + KEY[1:]
    try:
        BatteryMonitor(other.hex()).parse(mfr)
    except AdvertisementKeyMismatchError:
        pass
    else:
        raise AssertionError("a key with another first byte must be rejected")


@settings(max_examples=300, deadline=None)
@given(
    ttg=st.one_of(st.none(), st.just(-1), st.integers(0, 70000)),
    v_mv=st.integers(0, 95000),
    alarm=st.sampled_from([0, 1, 2, 4]),  # victron-ble 0.9.3 AlarmReason is an Enum: one bit at a time
    i_ma=st.integers(-2097151, 2097151),
    ce=st.integers(-104857400, 0),
    soc=st.integers(0, 1000),
    synced=st.booleans(),
    nonce=st.integers(0, 0xFFFF),
    key=st.binary(min_size=16, max_size=16),
)
def test_round_trip_through_victron_ble(ttg, v_mv, alarm, i_ma, ce, soc, synced, nonce, key):
    args = (ttg, v_mv, alarm, i_ma, ce, soc) if synced else (None, v_mv, alarm, i_ma, None, None)
    adv, _ = _advert(args, key, nonce)
    _check(args, _decode(adv, key))


def test_combined_alarm_bits_are_packed_as_ar():
    # victron-ble cannot show a combination (its AlarmReason is an Enum), so check with its own BitReader.
    from victron_ble.devices.base import BitReader

    key = KEY
    r = readout.Readout(key, AES.new(key, AES.MODE_ECB), 5)
    r.build(100, 12000, 1 | 4, -2000, -1000, 900)
    plain = BatteryMonitor(key.hex()).decrypt(bytes(r.mfr))
    rd = BitReader(plain)
    rd.read_unsigned_int(32)
    assert rd.read_unsigned_int(16) == 5


_MP_SCRIPT = """
import sys
sys.path.insert(0, %r)
import cryptolib
from proto import readout
key = bytes.fromhex(%r)
r = readout.Readout(key, cryptolib.aes(key, 1), 0xFFFD)
for args in %r:
    print(bytes(r.build(*args)).hex())
"""


def test_micropython_cryptolib_gives_the_same_bytes_as_cpython():
    assert MICROPYTHON.exists(), "the micropython binary is missing"
    script = _MP_SCRIPT % (str(ROOT / "firmware"), KEY.hex(), CASES)
    env = dict(os.environ, MICROPYPATH=".frozen")
    p = subprocess.run([str(MICROPYTHON), "-c", script], capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    got = p.stdout.split()
    r = readout.Readout(KEY, AES.new(KEY, AES.MODE_ECB), 0xFFFD)
    want = [bytes(r.build(*args)).hex() for args in CASES]
    assert len(got) == len(CASES)  # and the nonce wraps 0xFFFF -> 0 inside the run
    assert got == want


def test_real_monitor_values_reach_victron_ble():
    from shunt import monitor                       # a broken import fails here, never skips
    from shunt.settings import Settings

    m = monitor.Monitor(Settings())
    m.sample(12800, -5000, 0)
    for _ in range(30):
        for _ in range(m.sample(12800, -5000, 100)):
            m.second()
    args = readout.record_from_monitor(m)
    adv, _ = _advert(args)
    d = _decode(adv)
    assert d.get_voltage() == 12.8 and d.get_current() == -5.0
    if m.synchronized:
        assert d.get_soc() == m.soc_cpct // 10 / 10
        assert d.get_remaining_mins() == (None if m.ttg_min < 0 else m.ttg_min)
        assert -1e-9 <= d.get_consumed_ah() - m.ce_mah / 1000 < 0.1
    else:
        assert d.get_soc() is None and d.get_consumed_ah() is None and d.get_remaining_mins() is None


def _aux_monitor(mode, reading, v_mv=24000):
    from shunt.settings import Settings
    from shunt.monitor import Monitor
    s = Settings()
    s.set("aux_input", mode)
    m = Monitor(s)
    m.sample(v_mv, 0, 0)
    m.aux.reading(reading)
    m.second()
    return m


def _decode_monitor(m):
    r = readout.Readout(KEY, AES.new(KEY, AES.MODE_ECB), 7)
    return _decode(bytes(r.build_from_monitor(m)))


@pytest.mark.parametrize("mode, reading, getter, want, aux_mode", [
    ("starter", 12655, "get_starter_voltage", 12.66, AuxMode.STARTER_VOLTAGE),
    ("starter", -14, "get_starter_voltage", -0.01, AuxMode.STARTER_VOLTAGE),
    ("midpoint", 11873, "get_midpoint_voltage", 11.87, AuxMode.MIDPOINT_VOLTAGE),
    ("temperature", 2150, "get_temperature", 21.5, AuxMode.TEMPERATURE),
    ("temperature", -1006, "get_temperature", -10.06, AuxMode.TEMPERATURE),
])
def test_victron_ble_decodes_the_aux_value_from_our_advert(mode, reading, getter, want, aux_mode):
    d = _decode_monitor(_aux_monitor(mode, reading))
    assert d.get_aux_mode() == aux_mode
    assert getattr(d, getter)() == pytest.approx(want, abs=1e-9)
    assert d.get_voltage() == 24.0


def test_aux_none_and_not_available_in_the_record():
    d = _decode_monitor(_aux_monitor("none", None))
    assert d.get_aux_mode() == AuxMode.DISABLED
    assert d.get_starter_voltage() is None and d.get_temperature() is None
    # no value: the HEX not-available patterns (victron-ble shows them as numbers: 327.67 V, 0xFFFF)
    d = _decode_monitor(_aux_monitor("starter", None))
    assert d.get_aux_mode() == AuxMode.STARTER_VOLTAGE and d.get_starter_voltage() == 327.67
    assert readout.aux_from_monitor(_aux_monitor("temperature", None)) == (2, 0xFFFF)
    assert readout.aux_from_monitor(_aux_monitor("midpoint", None)) == (1, 0xFFFF)
