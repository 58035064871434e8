# The console over BLE: Nordic UART Service with aioble, one central at a time, reconnect after disconnect.
# Spec: platform.md §3.2 (NUS UUIDs, properties), §3.3 (MTU, 20-byte chunks), §3.5 (aioble capture), §3.6
# (advertising layout); battery-monitor.md §12 (commands).
#
# RX (6E400002, central -> device) is written with Write and Write Without Response and registered with
# capture=True: aioble reads each write in the IRQ into one ordered queue, so writes keep their order. That
# queue holds 10 writes and silently drops the oldest (aioble 0.6.2 server.py:42 _WRITE_CAPTURE_QUEUE_LIMIT,
# :110 deque, :184 append), so a reader task drains it all the time, also while a command runs (zero_current
# takes 10 s), into this driver's own line queue. RX accepts 512 bytes, the longest write NimBLE delivers (ATT
# attribute maximum; a longer write would be cut silently, extmod/nimble/modbluetooth_nimble.c:906).
# TX (6E400003) notifies the reply in chunks of MTU - 3 bytes (20 at the default MTU of 23). Advertising stops
# while a central is connected (NimBLE), so there is one session at a time; when it ends the console session
# ends with it and advertising resumes. A failed connection is reported by NimBLE as a disconnect without a
# connect (modbluetooth_nimble.c:458) that aioble ignores (peripheral.py:59-63) while advertising has stopped:
# aioble.advertise is therefore called with a timeout, in a loop.
from micropython import const

import asyncio

import aioble
import bluetooth

from drivers.console_uart import LineAssembler
from proto import readout

_NUS_UUID = bluetooth.UUID("6E400001-B5A3-F393-E0A9-E50E24DCCA9E")
_RX_UUID = bluetooth.UUID("6E400002-B5A3-F393-E0A9-E50E24DCCA9E")
_TX_UUID = bluetooth.UUID("6E400003-B5A3-F393-E0A9-E50E24DCCA9E")

_DEFAULT_MTU = const(23)          # ATT minimum; 20 bytes of payload per notification (PL §3.3)
_RX_BUF = const(512)              # the longest write NimBLE delivers (BLE_ATT_ATTR_MAX_LEN)
_INTERVAL_US = const(250000)
_POLL_MS = const(500)             # how often the RX wait looks whether the central is still there
_ADV_TIMEOUT_MS = const(5000)     # advertising is re-issued at least this often (a failed connect stops it)
_MAX_PENDING = const(32)          # complete lines waiting for the console (beyond: dropped and counted)
_IDLE_MS = const(20)
_NOTIFY_TRIES = const(20)         # NimBLE refuses a notification while its buffers are full (ENOMEM)


class BleNus:
    """`console`: a proto.console.Console for this transport. `name`: the advertised name (device_name, or
    `Shunt-XXXX`; proto.readout.default_name builds that). `beacon`: optional drivers.readout_ble.ReadoutBeacon
    that owns the merged advertising payloads (PL §3.6) and is told about connections. `mtu`: the ATT MTU to ask
    the central for after it connects (None: keep what the central negotiates)."""

    def __init__(self, console, name, beacon=None, interval_us=_INTERVAL_US, mtu=None):
        self._console = console
        self._name = name
        self._beacon = beacon
        self._interval_us = interval_us
        self._mtu = mtu
        svc = aioble.Service(_NUS_UUID)
        self._rx = aioble.BufferedCharacteristic(svc, _RX_UUID, write=True, write_no_response=True, capture=True,
                                                 max_len=_RX_BUF, append=True)
        self._tx = aioble.Characteristic(svc, _TX_UUID, notify=True)
        aioble.register_services(svc)
        self._lines = LineAssembler()
        self._pending = []              # complete lines (bytes) or overlong lengths (int), oldest first
        self.dropped_lines = 0
        self.connection = None
        self.sessions = 0

    def payloads(self):
        """(advertising data, scan response) of PL §3.6: the beacon's merged set, or flags + NUS UUID and the
        name."""
        b = self._beacon
        if b is not None:
            return b.adv_data(), b.resp_data()
        return readout.console_adv_data(), readout.scan_response(self._name)

    async def run(self):
        """Advertise, serve one central until it leaves, advertise again; forever."""
        while True:
            adv, resp = self.payloads()
            interval = self._beacon.interval_us if self._beacon is not None else self._interval_us
            try:
                conn = await aioble.advertise(interval, adv_data=adv, resp_data=resp, timeout_ms=_ADV_TIMEOUT_MS)
            except asyncio.TimeoutError:
                continue                    # nobody connected (or a connect failed): advertise afresh
            except asyncio.CancelledError:
                raise
            except Exception:
                # The stack refused (busy, reset): wait and advertise again rather than end the task.
                await asyncio.sleep_ms(1000)
                continue
            if conn is None:
                continue                    # aioble returns None when its wait was cancelled
            await self.serve(conn)

    async def _read(self, conn):
        """Drain aioble's 10-write capture queue into whole lines, whatever the console is doing."""
        pending = self._pending
        while conn.is_connected():
            try:
                who, data = await self._rx.written(timeout_ms=_POLL_MS)
            except asyncio.TimeoutError:
                continue
            if who is not conn:
                continue                # a write queued by a previous central (aioble's queue is shared)
            for item in self._lines.feed(data):
                if len(pending) < _MAX_PENDING:
                    pending.append(item)
                else:
                    self.dropped_lines += 1

    async def serve(self, conn):
        self.connection = conn
        self.sessions += 1
        self._lines.reset()
        pending = self._pending
        del pending[:]
        self._console.disconnect()          # a new central starts unauthenticated
        if self._beacon is not None:
            self._beacon.set_connected(1)
        reader = None
        try:
            if self._mtu:
                try:
                    await conn.exchange_mtu(self._mtu)
                except Exception:
                    pass                    # the central may refuse; 23 stays in force
            reader = asyncio.create_task(self._read(conn))
            while conn.is_connected():
                if not pending:
                    await asyncio.sleep_ms(_IDLE_MS)
                    continue
                item = pending.pop(0)
                reply = await self._console.reply_async(item)
                if not await self.send(conn, reply):
                    break
        finally:
            if reader is not None:
                reader.cancel()
            self._console.disconnect()      # the session ends with the connection
            self._lines.reset()
            del pending[:]
            self.connection = None
            if self._beacon is not None:
                self._beacon.set_connected(0)

    async def send(self, conn, text):
        """Notify `text` in chunks of MTU - 3 bytes, in order. False if the central went away."""
        data = text.encode() if isinstance(text, str) else text
        mv = memoryview(data)
        i = 0
        while i < len(data):
            # Read the MTU at every chunk: the central may finish an exchange while a reply is going out.
            n = (conn.mtu or _DEFAULT_MTU) - 3
            if n < 20:
                n = 20
            tries = 0
            while True:
                if not conn.is_connected():
                    return False
                try:
                    self._tx.notify(conn, mv[i:i + n])
                    break
                except OSError:
                    tries += 1
                    if tries >= _NOTIFY_TRIES:
                        return False
                    await asyncio.sleep_ms(20)
            i += n
            await asyncio.sleep_ms(0)
        return True
