"""Fake `machine`, `bluetooth`, `aioble` and `select` modules of MicroPython on the ESP32, so that firmware/main.py
runs under CPython as far as the start of its asyncio tasks. Each behaviour a test relies on mirrors upstream:

- machine.WDT: firmware/fakes/fake_wdt.py (ports/esp32/machine_wdt.c, v1.28.0).
- machine.unique_id(): 6 bytes, the factory MAC (ports/esp32/modmachine.c:317-321).
- machine.Pin(id, mode, pull): value() reads the level; the BOOT button pulls GPIO 0 low when pressed.
- bluetooth.BLE(): one object (extmod/modbluetooth.c: the BLE singleton); active(True) starts the controller;
  config() as extmod/modbluetooth.c:306-350 (one positional name queries, keywords set).
- aioble.core.register_irq_handler(irq, shutdown) appends to aioble's dispatcher (aioble 0.6.2, core.py:53-57).
- select.poll(): register(obj, mask), poll(timeout) (extmod/modselect.c).
The clock of the WDT is a FakeTicks that the test advances.
"""
import sys
import types

from fakes.fake_ina226 import FakeI2C, FakeINA226
from fakes.fake_uart import FakeUART
from fakes.fake_wdt import FakeWDT


class Board:
    """One ESP32: its pins, the INA226 on I2C, the VE.Direct UART, the watchdog clock, Bluetooth and an event
    log (`events`) in which the order of hardware calls can be checked."""

    MAC = bytes((0x24, 0x6F, 0x28, 0x01, 0xAB, 0xCD))

    def __init__(self, clock, boot_pressed=False, aioble=True):
        self.clock = clock
        self.boot_pressed = boot_pressed
        self.events = []
        self.chip = FakeINA226()
        self.chip.set_battery_mv(13100)
        self.uart = None
        self.ble = None
        self.irq_handlers = []
        self.with_aioble = aioble
        self.interrupt_on_wdt = True    # Ctrl-C arrives as the app starts (mpremote connecting)
        FakeWDT.forget()

    def modules(self):
        board = self
        m = types.ModuleType("machine")
        m.PWRON_RESET, m.HARD_RESET, m.WDT_RESET, m.DEEPSLEEP_RESET, m.SOFT_RESET = 1, 2, 3, 4, 5

        class Pin:
            IN, OUT, PULL_UP, IRQ_FALLING = 1, 3, 1, 2

            def __init__(self, no, mode=None, pull=None, value=None):
                self.no = no
                self.level = value
                board.events.append(("pin", no, mode, value))

            def value(self, v=None):
                if v is not None:
                    self.level = v
                    return None
                if self.no == 0:
                    return 0 if board.boot_pressed else 1
                return self.level if self.level is not None else 1

            def irq(self, handler, trigger):
                board.events.append(("irq", self.no))

        class UART:
            INV_TX, INV_RX = 1, 2

            def __new__(cls, *a, **k):
                board.uart = FakeUART()
                return board.uart

        def WDT(id=0, timeout=5000):
            board.events.append(("wdt", timeout))
            w = FakeWDT(id, timeout, clock=board.clock if FakeWDT._hw is None else None)
            if board.interrupt_on_wdt and timeout < 60000:
                raise KeyboardInterrupt      # what mpremote's Ctrl-C does to the running app
            return w

        m.Pin, m.UART, m.WDT = Pin, UART, WDT
        m.I2C = lambda *a, **k: FakeI2C(board.chip)
        m.reset_cause = lambda: 1
        m.unique_id = lambda: board.MAC
        m.reset = lambda: board.events.append(("reset",))

        bt = types.ModuleType("bluetooth")

        class BLE:
            def __new__(cls):
                if board.ble is None:
                    board.ble = object.__new__(cls)
                    board.ble._active = False
                    board.ble.gap_name = b"MPY NIMBLE"
                return board.ble

            def active(self, on=None):
                if on is not None:
                    self._active = bool(on)
                    board.events.append(("ble_active", self._active))
                return self._active

            def config(self, *args, **kwargs):
                if kwargs:
                    assert not args, "can't specify pos and kw args"
                    for k, v in kwargs.items():
                        assert k == "gap_name", k
                        self.gap_name = v.encode() if isinstance(v, str) else bytes(v)
                    return None
                assert len(args) == 1, "must query one param"
                if args[0] == "mac":
                    return (0, board.MAC)
                if args[0] == "gap_name":
                    return self.gap_name
                raise ValueError("unknown config param")

            def gap_advertise(self, *a, **k):
                board.events.append(("advertise",))

            def irq(self, handler):
                pass

        bt.BLE = BLE
        bt.UUID = lambda s: s

        mods = {"machine": m, "bluetooth": bt, "network": None}     # None: importing network fails
        if self.with_aioble:
            aio = types.ModuleType("aioble")
            core = types.ModuleType("aioble.core")
            core.register_irq_handler = lambda irq, shutdown: board.irq_handlers.append(irq)
            aio.core = core

            class Service:
                def __init__(self, uuid):
                    self.uuid = uuid

            class Characteristic:
                def __init__(self, service, uuid, **kw):
                    self.kw = kw

            class BufferedCharacteristic(Characteristic):
                pass

            aio.Service, aio.Characteristic, aio.BufferedCharacteristic = Service, Characteristic, \
                BufferedCharacteristic
            aio.register_services = lambda *s: None
            mods["aioble"] = aio
            mods["aioble.core"] = core
        else:
            mods["aioble"] = None                                    # not installed: ImportError
        crypto = types.ModuleType("cryptolib")     # cryptolib.aes(key, 1) = AES-ECB (extmod/modcryptolib.c)

        def aes(key, mode):
            from Crypto.Cipher import AES
            assert mode == 1
            return AES.new(bytes(key), AES.MODE_ECB)

        crypto.aes = aes
        mods["cryptolib"] = crypto
        sel = types.ModuleType("select")
        sel.POLLIN = 1

        class Poll:
            def register(self, obj, mask=1):
                self.obj = obj

            def poll(self, timeout=-1):
                return []

        sel.poll = Poll
        mods["select"] = sel
        return mods


def install(monkeypatch, board, cfg_overrides=None):
    """Put the board's modules and a board_config into sys.modules; returns the board_config module."""
    for name, mod in board.modules().items():
        monkeypatch.setitem(sys.modules, name, mod)
    import importlib.util
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("board_config", root / "board" / "board_config.py")
    cfg = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cfg)
    cfg.SAFE_MODE_WINDOW_MS = 0
    for k, v in (cfg_overrides or {}).items():
        setattr(cfg, k, v)
    monkeypatch.setitem(sys.modules, "board_config", cfg)
    return cfg


def load_main(monkeypatch):
    """firmware/main.py as a module named `board_main` (so its `if __name__ == "__main__"` does not run)."""
    import importlib.util
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("board_main", root / "firmware" / "main.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
