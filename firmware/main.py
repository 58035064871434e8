# Board entry point: make the relay safe, honour safe mode, switch Bluetooth on (entropy), build the hardware
# from board_config and run the app's supervised tasks.
# Spec: battery-monitor.md §11.2 (relay inactive at start-up), platform.md §2.7 (watchdog, reset cause).
# Upstream facts this file relies on (MicroPython v1.28.0), each tested in host_tests/test_main_boot.py:
# - ports/esp32/machine_wdt.c:38-77: one task watchdog, no stop/deinit; WDT(timeout=...) again reconfigures it.
#   It survives Ctrl-C and soft reset, so after Ctrl-C (mpremote) it gets its longest timeout (idle_watchdog).
# - ports/esp32/main.c:151-166: after a soft reset in the raw REPL (mpremote) boot.py runs but main.py does not.
# - ports/esp32/modmachine.c:317-321: machine.unique_id() is the factory MAC (esp_efuse_mac_get_default), the
#   Wi-Fi station MAC on the ESP32, without starting the Wi-Fi driver (network.WLAN costs RAM next to NimBLE).
# - ESP-IDF "Random Number Generation": esp_random() is only truly random while the radio (BT or Wi-Fi) is on,
#   so Bluetooth is made active before the app draws keys, setup codes or nonces (start_ble, before App()).
# Safe mode (docs/first-boot.md): the flag file /safe_mode (tools/deploy.py writes it while copying) or the BOOT
# button (GPIO 0) held during the first second after reset: neither the app nor the watchdog starts.
from micropython import const

import machine
import board_config as cfg

# Before any other import: the relay output at its inactive level (issue 8: safe at boot).
_relay = None
if cfg.RELAY_PIN is not None:
    _relay = machine.Pin(cfg.RELAY_PIN, machine.Pin.OUT, value=cfg.RELAY_INACTIVE)

import os  # noqa: E402
import time  # noqa: E402

SAFE_FLAG = "safe_mode"
WDT_MS = const(8000)
# The longest timeout used after Ctrl-C: ≈ 11.6 days, a small int on the ESP32 (< 2^30) and below the 2^31 ms
# that ESP-IDF's 32-bit watchdog stage register can hold (half-ms ticks). Not verified on hardware.
WDT_IDLE_MS = const(1000000000)
_SAFE_WINDOW_MS = const(1000)
_AIOBLE_HINT = "aioble is not installed: run tools/deploy.py, or mpremote mip install aioble"

_CAUSES = {machine.PWRON_RESET: "power on", machine.HARD_RESET: "hard reset", machine.WDT_RESET: "watchdog",
           machine.DEEPSLEEP_RESET: "deep sleep", machine.SOFT_RESET: "soft reset"}


class RelayOut:
    """Coil energised (1) or not (0), whatever level the driver transistor needs."""

    def __init__(self, pin, inactive):
        self._pin = pin
        self._inactive = inactive

    def value(self, energised):
        self._pin.value(self._inactive ^ 1 if energised else self._inactive)


def _aux(i2c):
    """The aux input's hardware (issue 18): the second INA226 and the DS18B20 through MicroPython's built-in
    onewire/ds18x20 modules; either may be missing from board_config or from the board (then: not available)."""
    from drivers.aux_input import AuxReader, AuxVoltage, AuxTemperature
    addr = getattr(cfg, "AUX_INA226_ADDRESS", None)
    pin = getattr(cfg, "ONEWIRE_PIN", None)
    temp = None
    if pin is not None:
        try:
            import onewire
            import ds18x20
            temp = AuxTemperature(ds18x20.DS18X20(onewire.OneWire(machine.Pin(pin))))
        except ImportError as e:     # a build without the 1-Wire modules: temperature not available
            print("aux temperature off:", e)
    return AuxReader(AuxVoltage(i2c, addr) if addr is not None else None, temp)


def safe_mode_reason():
    """Why the app must not start (None: start it). The flag file wins; else GPIO `SAFE_MODE_PIN` (the BOOT
    button, active low) is watched for `SAFE_MODE_WINDOW_MS` after reset (held AT power-up, GPIO 0 would select
    the ROM download mode instead, so it is pressed just after)."""
    try:
        os.stat(SAFE_FLAG)
        return "flag file /%s (a deploy did not finish, or it was written on purpose)" % SAFE_FLAG
    except OSError:
        pass
    pin_no = getattr(cfg, "SAFE_MODE_PIN", 0)
    if pin_no is None:
        return None
    pin = machine.Pin(pin_no, machine.Pin.IN, machine.Pin.PULL_UP)
    window = getattr(cfg, "SAFE_MODE_WINDOW_MS", _SAFE_WINDOW_MS)
    t0 = time.ticks_ms()
    while True:
        if pin.value() == 0:
            return "BOOT button (GPIO %d) held" % pin_no
        if time.ticks_diff(time.ticks_ms(), t0) >= window:
            return None
        time.sleep_ms(20)


def idle_watchdog():
    """The watchdog cannot be stopped (machine_wdt.c): give it the longest timeout, so the REPL, mpremote and
    tools/deploy.py have time to work. A reset (machine.reset(), the EN button) starts the app again."""
    machine.WDT(timeout=WDT_IDLE_MS)


def board_mac():
    return machine.unique_id()


def start_ble():
    """(BLE object or None, why it is off or None). Called before the app draws any random number."""
    try:
        import bluetooth
    except ImportError:
        return None, "this MicroPython build has no bluetooth module"
    try:
        bt = bluetooth.BLE()
        bt.active(True)
    except OSError as e:
        return None, "the Bluetooth controller did not start (%s)" % e
    return bt, None


def ble_console(bt, app):
    """(BleNus, ReadoutBeacon), or (None, None) and the reason in the app's status when aioble is missing."""
    try:
        import aioble
    except ImportError:
        return None, None, _AIOBLE_HINT
    import os as _os
    from drivers.readout_ble import ReadoutBeacon
    from drivers.ble_nus import BleNus
    from proto.console import Console
    beacon = ReadoutBeacon(bt, app.settings, urandom=_os.urandom)
    # aioble dispatches the BLE IRQ (aioble/core.py register_irq_handler): the beacon sees connects and
    # disconnects at once, so it never re-opens connectable advertising while a central is connected.
    aioble.core.register_irq_handler(beacon.irq, None)
    return BleNus(Console(app.device, app.auth), beacon.name(), beacon=beacon), beacon, None


def guarded(run):
    """Run the app; on Ctrl-C (mpremote, Thonny) leave the watchdog harmless and return to the REPL."""
    try:
        run()
    except KeyboardInterrupt:
        idle_watchdog()
        print("smart shunt: stopped by Ctrl-C; watchdog timeout set to %d s; machine.reset() starts the app again"
            % (WDT_IDLE_MS // 1000))


def main():
    import gc
    import asyncio
    import hashlib
    import sys
    print("smart shunt: reset cause:", _CAUSES.get(machine.reset_cause(), machine.reset_cause()))
    why = safe_mode_reason()
    if why is not None:
        print("smart shunt: SAFE MODE (%s): app and watchdog not started. Leave it: remove /%s "
              "(mpremote rm :%s) and reset." % (why, SAFE_FLAG, SAFE_FLAG))
        return
    bt, ble_off = start_ble()          # before any key, code or nonce is drawn
    import app as _app
    import tasks as _tasks
    gc.collect()    # the app's buffers are allocated once: start them from a compact heap
    i2c = machine.I2C(cfg.I2C_ID, sda=machine.Pin(cfg.I2C_SDA), scl=machine.Pin(cfg.I2C_SCL), freq=cfg.I2C_FREQ)
    inv = (machine.UART.INV_TX | machine.UART.INV_RX) if cfg.VEDIRECT_INVERT else 0
    uart = machine.UART(cfg.VEDIRECT_UART, 19200, bits=8, parity=None, stop=1, tx=cfg.VEDIRECT_TX,
                        rx=cfg.VEDIRECT_RX, txbuf=1024, rxbuf=512, timeout=0, invert=inv)
    a = _app.App(i2c, uart, root="", urandom=os.urandom, sha256=hashlib.sha256, mac=board_mac(),
                 relay_pin=RelayOut(_relay, cfg.RELAY_INACTIVE) if _relay is not None else None,
                 ina_address=cfg.INA226_ADDRESS, entropy=bt is not None, aux=_aux(i2c))
    alert = None
    if cfg.INA226_ALERT is not None:
        # The ALERT interrupt only sets a flag; the sampling task does the work (STYLE.md).
        alert = asyncio.ThreadSafeFlag()
        pin = machine.Pin(cfg.INA226_ALERT, machine.Pin.IN, machine.Pin.PULL_UP)
        pin.irq(lambda p: alert.set(), machine.Pin.IRQ_FALLING)
    from proto.console import Console
    from drivers.console_uart import usb_console
    usb = usb_console(Console(a.device, a.auth), sys.stdin, sys.stdout)
    ble = beacon = None
    if bt is not None:
        try:
            ble, beacon, ble_off = ble_console(bt, a)
        except Exception as e:  # noqa: BLE001 - the shunt still counts and talks VE.Direct without BLE
            ble_off = "BLE set-up failed: %r" % (e,)
    if ble_off is not None:
        a.status_notes["ble"] = "OFF: " + ble_off
        print("smart shunt: BLE OFF: " + ble_off)

    def run():
        wdt = machine.WDT(timeout=WDT_MS)
        asyncio.run(_tasks.run(a, cfg, uart_console=usb, ble=ble, beacon=beacon, wdt=wdt, alert_flag=alert))

    guarded(run)
    return a


if __name__ == "__main__":
    main()
