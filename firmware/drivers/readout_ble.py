# Instant Readout beacon on MicroPython's `bluetooth`: one legacy advertising set shared with the BLE console.
# Spec: platform.md §3.5-§3.6 (one set, payload layout), §4 (record, AES-CTR); battery-monitor.md §1 (settings).
#
# How the console and the beacon share the single advertising set (MicroPython drives one legacy set):
# the payloads are MERGED, as platform.md §3.6 lays out. Advertising data = flags + Victron manufacturer data
# (30 bytes); scan response = the name, plus the NUS UUID when the name has at most 11 bytes. The beacon owns
# both payloads:
# - the console advertises with them instead of its own: `await aioble.advertise(beacon.interval_us,
#   adv_data=beacon.adv_data(), resp_data=beacon.resp_data())` (aioble passes raw payloads straight to
#   `gap_advertise`) and waits for a central as usual;
# - the app calls `beacon.update(monitor)` once a second. It re-issues `gap_advertise` with a new record and
#   the same set-up. aioble's wait is for the connect IRQ, not for its own advertising call, so it still
#   returns the connection;
# - while a central is connected NimBLE stops advertising, so the beacon goes on NON-connectable (the console
#   allows one session; no second central can connect). It learns about connections from `irq(event, data)`:
#   main.py registers it with aioble's dispatcher (`aioble.core.register_irq_handler(beacon.irq, None)`,
#   aioble 0.6.2); without that the console's `set_connected(n)` is used.
# - With `instant_readout` off, the payloads are flags + NUS UUID and the name; the beacon then re-advertises
#   only when that changes something (turned off, name changed, connection closed).
# Not verified on hardware here: non-connectable advertising during a connection on the ESP32 NimBLE port.
from micropython import const

from proto import readout

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_AES_ECB = const(1)
INTERVAL_US = const(250000)    # 4 adverts a second; the record itself changes once a second (§4.3)


class ReadoutBeacon:
    """`ble`: an active `bluetooth.BLE()`. `settings`: the live `shunt.settings.Settings` (reads
    `instant_readout`, `instant_readout_key`, `device_name`). `urandom`: `os.urandom`, for a random first nonce
    so that a restart does not replay the keystreams of the last run from nonce 0. `aes`: the AES factory
    (default `cryptolib.aes`, used as `aes(key, 1)` = ECB). `mac`: the 6-byte address for the default name
    (default: `ble.config("mac")`)."""

    def __init__(self, ble, settings, urandom=None, interval_us=INTERVAL_US, aes=None, mac=None):
        self._ble = ble
        self._settings = settings
        self.interval_us = interval_us
        if aes is None:
            import cryptolib
            aes = cryptolib.aes
        self._aes = aes
        self._mac = mac
        nonce = 0
        if urandom is not None:
            r = urandom(2)
            nonce = r[0] | (r[1] << 8)
        self._key = b""
        self._ro = None
        self._nonce = nonce
        self._name = None
        self._resp = b""
        self._console_adv = readout.console_adv_data()
        self.connections = 0
        self.irq_tracked = False   # irq() has seen a connect: set_connected() no longer overrides it
        self._handles = []         # the connected central (at most one)
        self._refused = []         # handles of extra centrals being disconnected
        self._beaconing = False    # the last gap_advertise carried the Victron record
        self._refresh_name()

    # Connection tracking, so that the beacon never reopens connectable advertising during a session. main.py
    # registers `irq` with aioble's dispatcher (aioble 0.6.2 core.py:53-73), so the state changes in the IRQ
    # itself, before any task runs. Connections are tracked by handle: NimBLE reports a failed connection as a
    # disconnect without a connect (extmod/nimble/modbluetooth_nimble.c:458), which must not count as the
    # session's end; and NimBLE allows several connections, so a second central is disconnected at once.
    def irq(self, event, data):
        if event == _IRQ_CENTRAL_CONNECT:
            self.irq_tracked = True
            h = data[0]
            if self._handles:
                self._refused.append(h)
                try:
                    self._ble.gap_disconnect(h)
                except OSError:
                    pass
            else:
                self._handles.append(h)
        elif event == _IRQ_CENTRAL_DISCONNECT:
            h = data[0]
            if h in self._handles:
                self._handles.remove(h)
            elif h in self._refused:
                self._refused.remove(h)
        self.connections = len(self._handles)
        return None                        # let aioble's own handlers see every event

    def set_connected(self, n):
        """For a console that tracks its connections itself (no IRQ registration): the number connected."""
        if not self.irq_tracked:
            self.connections = n

    def name(self):
        """The BLE name: `device_name`, or `Shunt-XXXX` from the MAC when that is empty (BM §1)."""
        n = self._settings.values["device_name"]
        if n:
            return n
        mac = self._mac
        if mac is None:
            mac = self._ble.config("mac")[1]
            self._mac = mac
        return readout.default_name(mac)

    def _refresh_name(self):
        n = self.name()
        if n != self._name:
            self._name = n
            self._resp = readout.scan_response(n)
            # The GAP Device Name characteristic (what a phone shows once connected, and what iOS caches) is
            # separate from the advertised name: extmod/modbluetooth.c:347 (config gap_name, v1.28.0).
            try:
                self._ble.config(gap_name=n)
            except OSError:
                pass    # the stack refused (not active): the advertised name still carries it
            return True
        return False

    def _cipher(self):
        """The record builder for the stored key, or None while no key is stored (first start not done)."""
        key = self._settings.values["instant_readout_key"]
        if len(key) != readout.KEY_LEN:
            return None
        if key != self._key:
            ecb = self._aes(key, _AES_ECB)
            if self._ro is None:
                self._ro = readout.Readout(key, ecb, self._nonce)
            else:
                self._ro.set_cipher(key, ecb)
            self._key = key
        return self._ro

    def enabled(self):
        return self._settings.values["instant_readout"] == 1 and self._cipher() is not None

    def adv_data(self):
        """The advertising data to advertise now (the console passes it to aioble.advertise). Until the
        first record is built it is the console's payload: an empty record would decrypt to nonsense."""
        if self._beaconing and self.enabled():
            return self._ro.adv
        return self._console_adv

    def resp_data(self):
        self._refresh_name()
        return self._resp

    def update(self, monitor):
        """Once a second: a new record from the monitor's reported values, advertised at once."""
        renamed = self._refresh_name()
        if self.enabled():
            adv = self._ro.build_from_monitor(monitor)
            self._advertise(adv)
            self._beaconing = True
        elif self._beaconing or renamed:
            # Turned off (or renamed): back to the console's payload; nothing to advertise during a session.
            self._beaconing = False
            if self.connections:
                self._ble.gap_advertise(None)
            else:
                self._advertise(self._console_adv)

    def _advertise(self, adv):
        self._ble.gap_advertise(self.interval_us, adv_data=adv, resp_data=self._resp,
                                connectable=not self.connections)
