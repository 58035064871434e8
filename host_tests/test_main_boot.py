"""firmware/main.py under CPython on fake ESP32 modules (host_tests/esp32_fakes.py): safe mode, the watchdog after
Ctrl-C, Bluetooth on before any random number is drawn, the MAC from machine.unique_id, BLE off said loudly,
the beacon's IRQ handler registered with aioble (issue 12 items 2, 3, 4, 8, 9)."""
import asyncio
import os
import sys

import pytest

from esp32_fakes import Board, install, load_main
from fakes.fake_stdin import FakeStdin
from fakes.fake_ticks import FakeTicks
from fakes.mem_store import MemStore
from fakes.fake_wdt import FakeWDT
from proto.console import Console


@pytest.fixture
def boot(tmp_path, monkeypatch):
    """Returns start(board, cfg_overrides) -> (main module, app or None, printed lines)."""
    monkeypatch.chdir(tmp_path)                       # the board's flash root (safe_mode flag)
    monkeypatch.setattr(sys, "stdin", FakeStdin())
    monkeypatch.setattr(asyncio, "StreamWriter", lambda s, e: None, raising=False)
    monkeypatch.setattr(asyncio, "ThreadSafeFlag", lambda: None, raising=False)
    import app as app_mod
    monkeypatch.setattr(app_mod, "Store", lambda root, codec: MemStore())
    for name in ("drivers.ble_nus",):
        monkeypatch.delitem(sys.modules, name, raising=False)
    draws = []

    def start(board, overrides=None):
        install(monkeypatch, board, overrides)
        import time
        from fakes import fake_ticks
        monkeypatch.setattr(time, "ticks_ms", board.clock, raising=False)
        monkeypatch.setattr(time, "ticks_diff", fake_ticks.ticks_diff, raising=False)
        monkeypatch.setattr(time, "sleep_ms", lambda ms: None, raising=False)
        real = os.urandom

        def urandom(n):
            ble = board.ble
            draws.append((n, ble is not None and ble._active))
            return real(n)

        monkeypatch.setattr(os, "urandom", urandom)
        main = load_main(monkeypatch)
        printed = []
        monkeypatch.setattr("builtins.print", lambda *a, **k: printed.append(" ".join(str(x) for x in a)))
        a = main.main()
        return main, a, printed, draws

    yield start
    FakeWDT.forget()


def test_ctrl_c_gives_the_watchdog_its_longest_timeout_so_a_deploy_is_not_reset(boot):
    clock = FakeTicks()
    board = Board(clock.ms)
    main, a, printed, _ = boot(board)
    assert ("wdt", main.WDT_MS) in board.events            # the app armed it ...
    assert board.events[-1] == ("wdt", main.WDT_IDLE_MS)    # ... and Ctrl-C reconfigured it (no stop exists)
    clock.advance(10 * 60 * 1000)                         # mpremote copies for ten minutes
    wdt = FakeWDT(timeout=main.WDT_IDLE_MS)
    assert not wdt.expired()
    assert any("Ctrl-C" in p for p in printed)


def test_safe_mode_flag_file_starts_neither_the_app_nor_the_watchdog(boot, tmp_path):
    (tmp_path / "safe_mode").write_text("")
    board = Board(FakeTicks().ms)
    main, a, printed, _ = boot(board)
    assert a is None and not [e for e in board.events if e[0] == "wdt"]
    assert any("SAFE MODE" in p and "mpremote rm :safe_mode" in p for p in printed)
    # the relay was still made safe first
    assert board.events[0][:2] == ("pin", 23)


def test_boot_button_held_after_reset_is_safe_mode(boot):
    board = Board(FakeTicks().ms, boot_pressed=True)
    main, a, printed, _ = boot(board)
    assert a is None and not [e for e in board.events if e[0] == "wdt"]
    assert any("BOOT button (GPIO 0)" in p for p in printed)


def test_bluetooth_is_on_before_any_key_code_or_nonce_is_drawn(boot):
    board = Board(FakeTicks().ms)
    main, a, printed, draws = boot(board)
    assert draws, "a fresh device draws its Instant Readout key"
    assert all(active for n, active in draws), draws       # ESP-IDF RNG: random only with the radio on
    assert len(a.settings.values["instant_readout_key"]) == 16


def test_serial_number_mac_comes_from_unique_id_without_wifi_and_gap_name_is_set(boot):
    board = Board(FakeTicks().ms)
    main, a, printed, _ = boot(board)                      # `network` cannot even be imported here
    from proto.vedirect import base36_serial
    assert a.serial == base36_serial(Board.MAC)
    assert board.ble.config("gap_name") == b"Shunt-ABCD"


def test_beacon_sees_connections_through_aioble_irq_dispatch(boot):
    board = Board(FakeTicks().ms)
    main, a, printed, _ = boot(board)
    assert len(board.irq_handlers) == 1
    handler = board.irq_handlers[0]
    assert handler(1, (0, 0, b"")) is None                 # never swallows aioble's own events
    assert handler.__self__.connections == 1


def test_without_aioble_ble_off_is_printed_and_shown_in_status(boot):
    board = Board(FakeTicks().ms, aioble=False)
    main, a, printed, _ = boot(board)
    assert any("BLE OFF" in p and "mip install aioble" in p for p in printed)
    status = Console(a.device, a.auth).handle_line("status")
    assert "ble=OFF: aioble is not installed" in status
    assert a.port is not None and board.uart is not None   # VE.Direct still runs
