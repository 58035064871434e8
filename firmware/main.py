# Board entry point: make the relay safe, log why we reset, build the hardware from board_config, run the app.
# Spec: battery-monitor.md §11.2 (relay inactive at start-up), platform.md §2.7 (watchdog, reset cause).
import machine
import board_config as cfg

# Before any other import: the relay output at its inactive level (issue 8: safe at boot).
_relay = None
if cfg.RELAY_PIN is not None:
    _relay = machine.Pin(cfg.RELAY_PIN, machine.Pin.OUT, value=cfg.RELAY_INACTIVE)

import asyncio  # noqa: E402
import hashlib  # noqa: E402
import os  # noqa: E402

import app as _app  # noqa: E402

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


def main():
    import gc
    print("smart shunt: reset cause:", _CAUSES.get(machine.reset_cause(), machine.reset_cause()))
    gc.collect()    # the app's buffers are allocated once: start them from a compact heap
    i2c = machine.I2C(cfg.I2C_ID, sda=machine.Pin(cfg.I2C_SDA), scl=machine.Pin(cfg.I2C_SCL), freq=cfg.I2C_FREQ)
    inv = (machine.UART.INV_TX | machine.UART.INV_RX) if cfg.VEDIRECT_INVERT else 0
    uart = machine.UART(cfg.VEDIRECT_UART, 19200, bits=8, parity=None, stop=1, tx=cfg.VEDIRECT_TX,
                        rx=cfg.VEDIRECT_RX, txbuf=1024, rxbuf=512, timeout=0, invert=inv)
    import network
    mac = network.WLAN(network.STA_IF).config("mac")
    a = _app.App(i2c, uart, root="", urandom=os.urandom, sha256=hashlib.sha256, mac=mac,
                 relay_pin=RelayOut(_relay, cfg.RELAY_INACTIVE) if _relay is not None else None,
                 ina_address=cfg.INA226_ADDRESS, aux=_aux(i2c))
    alert = None
    if cfg.INA226_ALERT is not None:
        # The ALERT interrupt only sets a flag; the sampling task does the work (STYLE.md).
        alert = asyncio.ThreadSafeFlag()
        pin = machine.Pin(cfg.INA226_ALERT, machine.Pin.IN, machine.Pin.PULL_UP)
        pin.irq(lambda p: alert.set(), machine.Pin.IRQ_FALLING)
    from proto.console import Console
    from drivers.console_uart import ConsoleStream
    import sys
    usb = ConsoleStream(Console(a.device, a.auth), asyncio.StreamReader(sys.stdin), asyncio.StreamWriter(sys.stdout, {}))
    ble = beacon = None
    try:
        import bluetooth
        from drivers.readout_ble import ReadoutBeacon
        from drivers.ble_nus import BleNus
        from proto.readout import default_name
        bt = bluetooth.BLE()
        bt.active(True)
        beacon = ReadoutBeacon(bt, a.settings, urandom=os.urandom)
        name = a.settings.values["device_name"] or default_name(bt.config("mac")[1])
        ble = BleNus(Console(a.device, a.auth), name, beacon=beacon)
    except Exception as e:  # no BLE stack (aioble not frozen): the shunt still counts and talks VE.Direct
        print("BLE off:", e)
    wdt = machine.WDT(timeout=8000)
    asyncio.run(_app.run(a, cfg, uart_console=usb, ble=ble, beacon=beacon, wdt=wdt, alert_flag=alert))


main()
