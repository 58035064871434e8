# Pin map of one board: ESP32-DevKitC (ESP32-WROOM-32 or -WROVER). The app builds machine.I2C, UART and Pin
# from these names; for another wiring edit this file only. Spec: platform.md §1.5-1.6, §2.5-2.6, §5.

# INA226 on I2C (platform.md §1.6, §2.6): fast mode at most 400 kHz.
I2C_ID = 0
I2C_SDA = 21
I2C_SCL = 22
I2C_FREQ = 400000
INA226_ADDRESS = 0x40       # A0 = A1 = GND
# ALERT (open-drain, CNVR = conversion ready, active low): needs a pull-up (10 kOhm to 3.3 V; the app also
# enables the internal one). None = no wire: the app polls CVRF instead.
INA226_ALERT = 27

# VE.Direct (platform.md §2.5, §5): 19200 8N1. GPIO 25/26 are free on WROOM and WROVER modules (the UART1/UART2
# default pins clash with flash or PSRAM on many modules). TX is this device's output (VE.Direct pin 3).
VEDIRECT_UART = 1
VEDIRECT_TX = 25
VEDIRECT_RX = 26
VEDIRECT_INVERT = False     # True behind an inverting opto-isolator: UART(invert=UART.INV_TX | UART.INV_RX)

# Relay driver (BM §11). RELAY_INACTIVE is the output level that leaves the relay de-energised: the app drives
# it at boot before anything else and whenever the relay is off.
RELAY_PIN = 23
RELAY_INACTIVE = 0

# Status LED (many DevKitC clones have a blue LED on GPIO 2; the original has only a power LED). None = none.
LED_PIN = 2
LED_ACTIVE = 1

# Aux input (issue 18; `aux_input` chooses what it measures). Starter or mid-point voltage: a second INA226 on the
# same I2C bus, A0 = VS (0x41), bus input only. Temperature: a DS18B20 on a 1-Wire pin (4.7 kOhm to 3.3 V).
# None = not fitted: the mode still works and reports "not available" with W16.
AUX_INA226_ADDRESS = 0x41
ONEWIRE_PIN = 4

# Safe mode (docs/first-boot.md): press and hold BOOT (GPIO 0, active low) within SAFE_MODE_WINDOW_MS after
# pressing EN; the app and the watchdog then do not start. Held during the reset itself, GPIO 0 selects the ROM
# download mode instead. None = no button. The flag file /safe_mode (tools/deploy.py) does the same.
SAFE_MODE_PIN = 0
SAFE_MODE_WINDOW_MS = 1000
