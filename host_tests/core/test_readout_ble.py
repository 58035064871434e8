# The Instant Readout BLE adapter against a fake `bluetooth.BLE` (platform.md §3.6, §4); CPython and MicroPython.
from drivers.readout_ble import ReadoutBeacon
from shunt.settings import Settings

try:
    import cryptolib  # noqa: F401  MicroPython: the adapter's default cryptolib.aes is used
    AES_FACTORY = None
except ImportError:  # CPython: pycryptodome stands in for cryptolib.aes(key, 1)
    from Crypto.Cipher import AES

    def AES_FACTORY(key, mode):
        assert mode == 1
        return AES.new(bytes(key), AES.MODE_ECB)

# platform.md §4.3 vector: key, nonce 0x40B0, and the advertisement bytes after the company id.
VEC_KEY = bytes.fromhex("aff4d0995b7d1e176c0c33ecb9e70dcd")
VEC_MFR = bytes.fromhex("100289a302b040af925d09a4d89aa0128bdef48c6298a9")
MAC = bytes((0x24, 0x6F, 0x28, 0x01, 0xAB, 0xCD))
NUS_BE = bytes.fromhex("6E400001B5A3F393E0A9E50E24DCCA9E")
NUS_LE = bytes(NUS_BE[15 - i] for i in range(16))


class FakeBLE:
    """bluetooth.BLE as the beacon uses it. config mirrors MicroPython v1.28.0 extmod/modbluetooth.c:306-350:
    one positional name queries, keyword arguments set (gap_name is stored as bytes), never both."""

    def __init__(self):
        self.calls = []


    def gap_advertise(self, interval_us, adv_data=None, resp_data=None, connectable=True):
        self.calls.append((interval_us, None if adv_data is None else bytes(adv_data),
                           None if resp_data is None else bytes(resp_data), connectable))

    def gap_disconnect(self, conn_handle):
        self.calls.append(("disconnect", conn_handle))
        return True

    def config(self, *args, **kwargs):
        if kwargs:
            if args:
                raise TypeError("can't specify pos and kw args")
            for k, v in kwargs.items():
                if k != "gap_name":
                    raise ValueError("unknown config param")
                self.gap_name = bytes(v.encode() if isinstance(v, str) else v)
            return None
        if len(args) != 1:
            raise TypeError("must query one param")
        if args[0] == "mac":
            return (0, MAC)
        if args[0] == "gap_name":
            return self.gap_name
        raise ValueError("unknown config param")


class Mon:
    # The decoded values of the spec vector: TTG n/a (not discharging), 12.53 V, 0 A, -50.0 Ah, 50.0 %.
    synchronized = 1
    ttg_min = -1
    v_mv = 12530
    alarm_bits = 0
    i_ma = 0
    ce_mah = -50000
    soc_cpct = 5000

    class aux:          # shunt.aux's attributes: aux input none (the spec vector's aux mode 3)
        mode = 3
        value = None


def _setup(key=VEC_KEY):
    s = Settings()
    if key:
        s.set_stored("instant_readout_key", key, False)
    ble = FakeBLE()
    b = ReadoutBeacon(ble, s, urandom=lambda n: bytes((0xB0, 0x40)), aes=AES_FACTORY)
    return s, ble, b


def test_update_advertises_the_spec_vector_from_monitor_values():
    s, ble, b = _setup()
    b.update(Mon())
    interval, adv, resp, connectable = ble.calls[-1]
    assert interval == b.interval_us and connectable is True
    assert adv[:7] == bytes((2, 1, 6, 26, 0xFF, 0xE1, 0x02)) and adv[7:] == VEC_MFR
    assert len(adv) <= 31 and len(resp) <= 31


def test_scan_response_carries_default_name_and_nus_uuid():
    s, ble, b = _setup()
    assert b.resp_data() == bytes((11, 0x09)) + b"Shunt-ABCD" + bytes((17, 0x07)) + NUS_LE
    s.set("device_name", "Van battery")
    b.update(Mon())
    assert ble.calls[-1][2] == bytes((12, 0x09)) + b"Van battery" + bytes((17, 0x07)) + NUS_LE


def test_counter_advances_once_per_update():
    s, ble, b = _setup()
    b.update(Mon())
    b.update(Mon())
    b.update(Mon())
    nonces = [c[1][12] | (c[1][13] << 8) for c in ble.calls]
    assert nonces == [0x40B0, 0x40B1, 0x40B2]


def test_adv_data_for_the_console_before_first_record_then_the_beacon():
    s, ble, b = _setup()
    assert b.adv_data() == bytes((2, 1, 6, 17, 7)) + NUS_LE
    b.update(Mon())
    assert bytes(b.adv_data())[7:] == VEC_MFR


def test_connected_session_keeps_beacon_non_connectable():
    s, ble, b = _setup()
    b.irq(1, (0, 0, MAC))
    b.update(Mon())
    assert ble.calls[-1][3] is False
    b.irq(2, (0, 0, MAC))
    b.update(Mon())
    assert ble.calls[-1][3] is True
    assert b.irq(3, None) is None


def test_turning_off_goes_back_to_console_payload_once():
    s, ble, b = _setup()
    b.update(Mon())
    s.set("instant_readout", "off")
    b.update(Mon())
    assert ble.calls[-1] == (b.interval_us, bytes((2, 1, 6, 17, 7)) + NUS_LE, b.resp_data(), True)
    n = len(ble.calls)
    b.update(Mon())
    assert len(ble.calls) == n


def test_turning_off_during_a_session_stops_advertising():
    s, ble, b = _setup()
    b.set_connected(1)
    b.update(Mon())
    s.set("instant_readout", "off")
    b.update(Mon())
    assert ble.calls[-1] == (None, None, None, True)


def test_no_key_stored_means_no_beacon():
    s, ble, b = _setup(key=None)
    b.update(Mon())
    assert ble.calls == []
    assert b.adv_data() == bytes((2, 1, 6, 17, 7)) + NUS_LE


def test_rekey_takes_effect_on_next_update_and_nonce_continues():
    s, ble, b = _setup()
    b.update(Mon())
    s.set_stored("instant_readout_key", bytes(range(1, 17)), False)
    b.update(Mon())
    adv = ble.calls[-1][1]
    assert adv[14] == 1
    assert adv[12] | (adv[13] << 8) == 0x40B1


def test_gap_name_is_the_device_name_at_start_and_after_a_rename():
    # Issue 12 item 9: phones show the GAP Device Name once connected; NimBLE's default is not ours.
    s, ble, b = _setup()
    assert ble.config("gap_name") == b"Shunt-ABCD"
    s.set("device_name", "Van battery")
    b.update(Mon())
    assert ble.config("gap_name") == b"Van battery"


def test_a_failed_connect_during_a_session_keeps_advertising_non_connectable():
    # Issue 12 item 4: NimBLE reports a failed connection as a disconnect without a connect; it must not end
    # the session that is running, or a second central could connect.
    s, ble, b = _setup()
    b.irq(1, (7, 0, MAC))                   # _IRQ_CENTRAL_CONNECT, handle 7
    b.irq(2, (9, 0, MAC))                   # a disconnect of a handle that never connected
    b.update(Mon())
    assert ble.calls[-1][3] is False
    b.set_connected(0)                      # the console's own view no longer overrides the IRQ's
    b.update(Mon())
    assert ble.calls[-1][3] is False
    b.irq(2, (7, 0, MAC))
    b.update(Mon())
    assert ble.calls[-1][3] is True


def test_a_second_central_is_disconnected_at_once():
    s, ble, b = _setup()
    b.irq(1, (7, 0, MAC))
    b.irq(1, (8, 0, MAC))
    assert ("disconnect", 8) in ble.calls and b.connections == 1
    b.irq(2, (8, 0, MAC))
    assert b.connections == 1
