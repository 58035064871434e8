# The console over BLE: Nordic UART Service with aioble, one central at a time, reconnect after disconnect.
# Spec: platform.md §3.2 (NUS UUIDs, properties), §3.3 (MTU, 20-byte chunks), §3.5 (aioble capture), §3.6
# (advertising layout); battery-monitor.md §12 (commands).
#
# RX (6E400002, central -> device) is written with Write and Write Without Response and registered with
# capture=True: aioble reads each write in the IRQ into one ordered queue, so writes keep their order and none
# is merged or lost while the console task keeps up. TX (6E400003) notifies the reply in chunks of MTU - 3
# bytes (20 at the default MTU of 23). Advertising stops while a central is connected (NimBLE), so there is one
# session at a time; when it ends the console session ends with it and advertising resumes.
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
_RX_BUF = const(244)              # room for a write at a raised MTU (247 - 3); longer writes are truncated
_INTERVAL_US = const(250000)
_POLL_MS = const(500)             # how often the RX wait looks whether the central is still there
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
                conn = await aioble.advertise(interval, adv_data=adv, resp_data=resp)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The stack refused (busy, reset): wait and advertise again rather than end the task.
                await asyncio.sleep_ms(1000)
                continue
            await self.serve(conn)

    async def serve(self, conn):
        self.connection = conn
        self.sessions += 1
        self._lines.reset()
        self._console.disconnect()          # a new central starts unauthenticated
        if self._beacon is not None:
            self._beacon.set_connected(1)
        try:
            if self._mtu:
                try:
                    await conn.exchange_mtu(self._mtu)
                except Exception:
                    pass                    # the central may refuse; 23 stays in force
            while conn.is_connected():
                try:
                    who, data = await self._rx.written(timeout_ms=_POLL_MS)
                except asyncio.TimeoutError:
                    continue
                if who is not conn:
                    continue                # a write queued by a previous central (aioble's queue is shared)
                for item in self._lines.feed(data):
                    if isinstance(item, int):
                        reply = self._console.too_long(item)
                    else:
                        reply = await self._console.handle_line_async(item)
                    if not await self.send(conn, reply):
                        break
        finally:
            self._console.disconnect()      # the session ends with the connection
            self._lines.reset()
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
