"""BLE Nordic UART console (drivers.ble_nus) against a fake aioble/bluetooth layer: NUS registration, chunking to
the MTU, write ordering through the capture queue, one central at a time, reconnect and session end (PL §3)."""
import asyncio
import collections
import importlib
import sys
import types

import pytest

from console_fakes import Device, new_auth, answer, SECRET
from proto.console import Console

NUS = "6E400001-B5A3-F393-E0A9-E50E24DCCA9E"
RX = "6E400002-B5A3-F393-E0A9-E50E24DCCA9E"
TX = "6E400003-B5A3-F393-E0A9-E50E24DCCA9E"


class FakeUUID:
    def __init__(self, s):
        self.s = s.upper()

    def __eq__(self, other):
        return isinstance(other, FakeUUID) and other.s == self.s

    def __hash__(self):
        return hash(self.s)


class FakeConn:
    """aioble.DeviceConnection as the driver uses it: mtu (None until exchanged), is_connected, exchange_mtu."""

    def __init__(self, ble, mtu=None):
        self.ble = ble
        self.mtu = mtu
        self.connected = True
        self.notified = []

    def is_connected(self):
        return self.connected

    async def exchange_mtu(self, mtu=None, timeout_ms=1000):
        self.mtu = min(mtu, self.ble.central_max_mtu)
        return self.mtu

    def received(self):
        return b"".join(self.notified).decode()


class FakeBle:
    """The aioble module (0.6.2, micropython-lib micropython/bluetooth/aioble/aioble/): Service, Characteristic,
    BufferedCharacteristic, register_services, advertise. As upstream:
    - captured writes share ONE ordered queue of 10 entries that silently drops the oldest (server.py:42
      _WRITE_CAPTURE_QUEUE_LIMIT = 10, :110 deque((), 10), :184 append; py/objdeque.c drops when full), so a write
      of an old connection can still be in it and a slow reader loses writes;
    - a write longer than the characteristic's max_len is cut to it (extmod/nimble/modbluetooth_nimble.c:906);
    - advertise(timeout_ms=...) stops advertising and raises asyncio.TimeoutError when nobody connected in time
      (peripheral.py:160-178); without a timeout it waits for ever;
    - a failed connection attempt stops advertising and reaches aioble only as a disconnect of an unknown
      handle, which it ignores (modbluetooth_nimble.c:458, peripheral.py:59-63): `fail_connect()`."""

    def __init__(self):
        self.chars = []
        self.registered = []
        self.adverts = []
        self.advertising = False
        self.centrals = asyncio.Queue()
        self.captured = collections.deque((), 10)
        self.lost_writes = 0
        self.notify_failures = 0
        self.central_max_mtu = 247

    def module(self):
        m = types.ModuleType("aioble")
        ble = self

        class Service:
            def __init__(self, uuid):
                self.uuid = uuid
                self.characteristics = []

        class Characteristic:
            def __init__(self, service, uuid, read=False, write=False, write_no_response=False, notify=False,
                         indicate=False, initial=None, capture=False):
                service.characteristics.append(self)
                self.uuid, self.write, self.write_no_response = uuid, write, write_no_response
                self.notify_flag, self.capture = notify, capture
                ble.chars.append(self)

            async def written(self, timeout_ms=None):
                assert self.capture
                waited = 0.0
                while not ble.captured:
                    if timeout_ms is not None and waited * 1000 >= timeout_ms:
                        raise asyncio.TimeoutError
                    await asyncio.sleep(0.001)
                    waited += 0.001
                conn, data = ble.captured.popleft()
                return conn, data[:getattr(self, "max_len", 20)]

            def notify(self, connection, data=None):
                assert self.notify_flag
                if not connection.connected:
                    raise OSError(128)
                if ble.notify_failures:
                    ble.notify_failures -= 1
                    raise OSError(12)          # NimBLE ENOMEM: out of mbufs
                connection.notified.append(bytes(data))

        class BufferedCharacteristic(Characteristic):
            def __init__(self, *args, max_len=20, append=False, **kwargs):
                super().__init__(*args, **kwargs)
                self.max_len, self.append = max_len, append

        def register_services(*services):
            ble.registered.extend(services)

        async def advertise(interval_us, adv_data=None, resp_data=None, connectable=True, timeout_ms=None, **kw):
            ble.adverts.append((interval_us, adv_data, resp_data))
            ble.advertising = True
            try:
                return await asyncio.wait_for(ble.centrals.get(), timeout_ms / 1000 if timeout_ms else None)
            except asyncio.TimeoutError:
                ble.advertising = False        # peripheral.py:175-178: gap_advertise(None), then raise
                raise

        m.Service, m.Characteristic, m.BufferedCharacteristic = Service, Characteristic, BufferedCharacteristic
        m.register_services, m.advertise = register_services, advertise
        return m

    def write(self, conn, data, chunk=20):
        """A central writing `data` in writes of `chunk` bytes (the MTU limits a write to MTU - 3), all arriving
        before the device's tasks run again."""
        for i in range(0, len(data), chunk):
            if len(self.captured) == self.captured.maxlen:
                self.lost_writes += 1
            self.captured.append((conn, bytes(data[i:i + chunk])))

    async def send(self, conn, data, chunk=20, per_event=4, interval_s=0.0075):
        """A central writing at the pace of the link: `per_event` writes per 7.5 ms connection event."""
        for i in range(0, len(data), chunk * per_event):
            self.write(conn, data[i:i + chunk * per_event], chunk)
            await asyncio.sleep(interval_s)

    def fail_connect(self):
        """A central's connection attempt failed: NimBLE stopped advertising; aioble saw nothing it knows."""
        self.advertising = False


@pytest.fixture
def env(monkeypatch):
    """A fresh fake BLE layer and drivers.ble_nus imported against it."""
    fake = FakeBle()
    bt = types.ModuleType("bluetooth")
    bt.UUID = FakeUUID
    monkeypatch.setitem(sys.modules, "bluetooth", bt)
    monkeypatch.setitem(sys.modules, "aioble", fake.module())
    monkeypatch.setattr(asyncio, "sleep_ms", lambda ms: asyncio.sleep(ms / 1000), raising=False)
    sys.modules.pop("drivers.ble_nus", None)
    mod = importlib.import_module("drivers.ble_nus")
    monkeypatch.setattr(mod, "_POLL_MS", 10)
    monkeypatch.setattr(mod, "_ADV_TIMEOUT_MS", 50, raising=False)
    yield fake, mod
    sys.modules.pop("drivers.ble_nus", None)


async def until(cond, timeout=3.0):
    t = 0.0
    while not cond():
        await asyncio.sleep(0.005)
        t += 0.005
        assert t < timeout, "timed out"


def _reference(line, authed=False):
    """The reply an identical device gives to `line` on a plain console (not through BLE)."""
    c = Console(Device(), new_auth())
    if authed:
        r = c.handle_line("auth")
        c.handle_line(answer(SECRET, r))
    return c.handle_line(line)


def _replies(text):
    """Split a stream of replies at their final OK/ERR lines."""
    out, cur = [], []
    for ln in text.split("\n")[:-1]:
        cur.append(ln)
        if ln.startswith("OK") or ln.startswith("ERR "):
            out.append("\n".join(cur) + "\n")
            cur = []
    return out


async def _a_central_is_answered(fake):
    """A central connects and `get capacity` gets its reply."""
    conn = FakeConn(fake)
    fake.centrals.put_nowait(conn)
    fake.write(conn, b"get capacity\n")
    await until(lambda: conn.received() == "OK capacity=200 Ah\n")


def _run(coro):
    return asyncio.run(coro)


def test_registers_nus_with_rx_capture_and_tx_notify(env):
    fake, mod = env
    mod.BleNus(Console(Device(), new_auth()), "Shunt-1A2B")
    svc = fake.registered[0]
    assert svc.uuid == FakeUUID(NUS)
    rx = [c for c in svc.characteristics if c.uuid == FakeUUID(RX)][0]
    tx = [c for c in svc.characteristics if c.uuid == FakeUUID(TX)][0]
    assert rx.write and rx.write_no_response and rx.capture and rx.append   # PL §3.2, §3.5
    assert rx.max_len >= 20
    assert tx.notify_flag and not tx.write


def test_advertises_nus_uuid_and_name(env):
    fake, mod = env
    nus = mod.BleNus(Console(Device(), new_auth()), "Shunt-1A2B")
    adv, resp = nus.payloads()
    uuid_le = bytes.fromhex(NUS.replace("-", ""))[::-1]
    assert uuid_le in adv and len(adv) <= 31                   # PL §3.6: flags + 128-bit UUID = 21 bytes
    assert b"\x0b\x09Shunt-1A2B" in resp and len(resp) <= 31   # complete local name AD


def test_advertises_the_beacons_merged_payloads_and_reports_connections(env):
    fake, mod = env

    class Beacon:
        interval_us = 100000
        states = []

        def adv_data(self):
            return b"ADV"

        def resp_data(self):
            return b"RESP"

        def set_connected(self, n):
            self.states.append(n)

    b = Beacon()
    nus = mod.BleNus(Console(Device(), new_auth()), "x", beacon=b)

    async def go():
        task = asyncio.create_task(nus.run())
        await until(lambda: fake.adverts)
        assert fake.adverts[0] == (100000, b"ADV", b"RESP")
        conn = FakeConn(fake)
        fake.centrals.put_nowait(conn)
        await until(lambda: b.states == [1])
        conn.connected = False
        await until(lambda: b.states == [1, 0] and len(fake.adverts) == 2)
        task.cancel()
    _run(go())


def test_reply_is_chunked_to_20_bytes_at_the_default_mtu(env):
    fake, mod = env
    nus = mod.BleNus(Console(Device(), new_auth()), "n")
    want = _reference("list")

    async def go():
        task = asyncio.create_task(nus.run())
        conn = FakeConn(fake)
        fake.centrals.put_nowait(conn)
        fake.write(conn, b"list\r\n")
        await until(lambda: conn.received() == want)
        assert all(len(p) <= 20 for p in conn.notified)
        assert len(conn.notified) == (len(want) + 19) // 20
        task.cancel()
    _run(go())


def test_reply_is_chunked_to_a_negotiated_mtu(env):
    fake, mod = env
    fake.central_max_mtu = 185
    nus = mod.BleNus(Console(Device(), new_auth()), "n", mtu=247)
    want = _reference("list")

    async def go():
        task = asyncio.create_task(nus.run())
        conn = FakeConn(fake)
        fake.centrals.put_nowait(conn)
        fake.write(conn, b"list\n", chunk=182)
        await until(lambda: conn.received() == want)
        assert conn.mtu == 185
        assert max(len(p) for p in conn.notified) == 182       # MTU - 3
        task.cancel()
    _run(go())


def test_writes_keep_their_order_across_arbitrary_chunking(env):
    fake, mod = env
    from shunt import settings as st
    nus = mod.BleNus(Console(Device(), new_auth()), "n")
    names = [n for n in st.NAMES if n != "instant_readout_key"]
    stream = "".join("get %s\n" % n for n in names).encode()

    async def go():
        task = asyncio.create_task(nus.run())
        conn = FakeConn(fake)
        fake.centrals.put_nowait(conn)
        await fake.send(conn, stream, chunk=7)     # at the pace of the link
        await until(lambda: len(_replies(conn.received())) == len(names))
        got = _replies(conn.received())
        assert got == [_reference("get " + n) for n in names]
        task.cancel()
    _run(go())


def test_overlong_line_over_ble_is_refused_whole(env):
    fake, mod = env
    dev = Device()
    c = Console(dev, new_auth())
    nus = mod.BleNus(c, "n")

    async def go():
        task = asyncio.create_task(nus.run())
        conn = FakeConn(fake)
        fake.centrals.put_nowait(conn)
        await fake.send(conn, b"status " + b"x" * 200 + b"\nget capacity\n")     # 11 writes, at the link's pace
        await until(lambda: len(_replies(conn.received())) == 2)
        r = _replies(conn.received())
        assert r[0] == "ERR TOOLONG line is 207 bytes: at most 128\n"
        assert r[1] == "OK capacity=200 Ah\n"
        task.cancel()
    _run(go())


def test_notify_retries_while_the_stack_is_out_of_buffers(env):
    fake, mod = env
    nus = mod.BleNus(Console(Device(), new_auth()), "n")
    fake.notify_failures = 3

    async def go():
        task = asyncio.create_task(nus.run())
        await _a_central_is_answered(fake)
        task.cancel()
    _run(go())


def test_reconnect_ends_the_session_and_ignores_the_old_centrals_writes(env):
    fake, mod = env
    dev = Device()
    c = Console(dev, new_auth())
    nus = mod.BleNus(c, "n")

    async def go():
        task = asyncio.create_task(nus.run())
        c1 = FakeConn(fake)
        fake.centrals.put_nowait(c1)
        fake.write(c1, b"auth\n")
        await until(lambda: "nonce=" in c1.received() and c1.received().endswith("\n"))   # the whole reply
        fake.write(c1, (answer(SECRET, c1.received()) + "\n").encode())
        await until(lambda: "OK authenticated" in c1.received())
        assert c.authenticated
        fake.write(c1, b"set capa")                  # half a line when the central leaves
        await asyncio.sleep(0.02)
        c1.connected = False
        await until(lambda: len(fake.adverts) == 2)  # advertising again
        assert not c.authenticated and nus.connection is None
        c2 = FakeConn(fake)
        fake.centrals.put_nowait(c2)
        await until(lambda: nus.connection is c2)
        fake.write(c1, b"set capacity 50\n")         # a stale write of the old central, still queued
        fake.write(c2, b"city 100\nset capacity 100\n")
        await until(lambda: len(_replies(c2.received())) == 2)
        r = _replies(c2.received())
        assert r[0].startswith("ERR UNKNOWN")        # the old half line did not join this central's line
        assert r[1].startswith("ERR AUTH")           # the session ended with the old connection
        assert dev.settings.values["capacity"] == 200
        assert c1.received().count("\n") == 2        # nothing more was sent to the old central
        assert nus.sessions == 2
        task.cancel()
    _run(go())


def test_advertising_error_is_retried(env):
    fake, mod = env
    nus = mod.BleNus(Console(Device(), new_auth()), "n")
    calls = []
    real = sys.modules["aioble"].advertise

    async def flaky(*a, **k):
        calls.append(1)
        if len(calls) == 1:
            raise OSError(16)
        return await real(*a, **k)
    sys.modules["aioble"].advertise = flaky
    mod.aioble = sys.modules["aioble"]

    async def go():
        task = asyncio.create_task(nus.run())
        await until(lambda: len(calls) == 2, timeout=3)
        task.cancel()
    _run(go())


def test_a_failed_connection_does_not_leave_the_console_silent(env):
    # Issue 12 item 4: after a failed connect, advertising is re-issued (advertise with a timeout, in a loop)
    # and the next central gets the console.
    fake, mod = env
    nus = mod.BleNus(Console(Device(), new_auth()), "n")

    async def go():
        task = asyncio.create_task(nus.run())
        await until(lambda: fake.adverts)
        fake.fail_connect()
        n = len(fake.adverts)
        await until(lambda: len(fake.adverts) > n and fake.advertising, timeout=2)
        await _a_central_is_answered(fake)
        task.cancel()
    _run(go())


def test_rx_accepts_the_longest_write_nimble_delivers(env):
    # Issue 12 item 9: a 253-byte write (MTU 256) or a long write up to 512 bytes is not cut.
    fake, mod = env
    mod.BleNus(Console(Device(), new_auth()), "n")
    rx = [c for c in fake.chars if c.capture][0]
    assert rx.max_len >= 512


def test_writes_sent_while_a_long_command_runs_are_all_answered(env):
    # Issue 12 item 9: zero_current takes 10 s on the board (here 0.3 s); the central keeps writing meanwhile.
    # aioble's capture queue holds 10 writes and drops the oldest, so the console must keep draining it.
    fake, mod = env

    class SlowDevice(Device):
        async def zero_current_async(self):
            await asyncio.sleep(0.3)
            return 2500

    dev = SlowDevice()
    c = Console(dev, new_auth())
    nus = mod.BleNus(c, "n")
    lines = ["get capacity", "get charged_voltage", "get tail_current", "status", "get capacity"] * 3

    async def go():
        task = asyncio.create_task(nus.run())
        conn = FakeConn(fake)
        fake.centrals.put_nowait(conn)
        fake.write(conn, b"auth\n")
        await until(lambda: "nonce=" in conn.received())
        fake.write(conn, (answer(SECRET, conn.received()) + "\n").encode())
        await until(lambda: "OK authenticated" in conn.received())
        conn.notified.clear()
        fake.write(conn, b"zero_current\n")
        await asyncio.sleep(0.05)
        for ln in lines:                          # one line per write, one write per connection event
            await fake.send(conn, (ln + "\n").encode(), chunk=40, per_event=1)
        await until(lambda: len(_replies(conn.received())) == 1 + len(lines), timeout=5)
        got = _replies(conn.received())
        assert got[0].startswith("OK zero_current")
        assert [r.splitlines()[-1] for r in got[1:]] == [_reference(ln).splitlines()[-1] for ln in lines]
        assert fake.lost_writes == 0 and nus.dropped_lines == 0
        task.cancel()
    _run(go())
