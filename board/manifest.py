# Freezes the firmware into a custom MicroPython build for the ESP32, so the board needs only main.py and
# board_config.py on its file system (platform.md §2.4). Fakes are test doubles and are not frozen.
#   cd micropython/ports/esp32
#   make BOARD=ESP32_GENERIC FROZEN_MANIFEST=/path/to/this/repo/board/manifest.py
# Then flash, and copy firmware/main.py and board/board_config.py with mpremote (or tools/deploy.py).
include("$(PORT_DIR)/boards/manifest.py")
require("aioble")
package("shunt", base_path="../firmware")
package("proto", base_path="../firmware")
package("drivers", base_path="../firmware")
module("app.py", base_path="../firmware")
module("tasks.py", base_path="../firmware")
