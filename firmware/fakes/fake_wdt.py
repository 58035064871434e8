# machine.WDT of the ESP32, for tests. Mirrors MicroPython v1.28.0 ports/esp32/machine_wdt.c:
# - lines 38-69: there is ONE task watchdog (wdt_default); WDT(timeout=...) again only reconfigures its timeout
#   (esp_task_wdt_reconfigure, line 56); id must be 0 and timeout > 0 (lines 43-49);
# - lines 71-77 + extmod/machine_wdt.c:79-83: the only method is feed(); there is no deinit or stop, and nothing
#   undoes it on Ctrl-C or soft reset (the ESP-IDF task watchdog lives below the VM), so the board resets when it
#   is not fed in time (trigger_panic = true, line 54), whatever the REPL is doing.
# The clock is injected (a function returning ms): `expired()` says whether the board would have reset by now.


class FakeWDT:
    _hw = None          # the one hardware watchdog: survives every new FakeWDT (a "soft reset" keeps it running)

    def __init__(self, id=0, timeout=5000, clock=None):
        if id != 0:
            raise ValueError
        if timeout <= 0:
            raise ValueError("WDT timeout too short")
        hw = FakeWDT._hw
        if hw is None or clock is not None:
            hw = FakeWDT._hw = {"clock": clock, "fed": clock(), "timeout": timeout, "resets": 0, "feeds": 0}
        else:
            hw["fed"] = hw["clock"]()       # esp_task_wdt_reconfigure restarts the count with the new timeout
        hw["timeout"] = timeout

    @staticmethod
    def forget():
        """A power cycle (tests only): the next FakeWDT(clock=...) starts a new timer."""
        FakeWDT._hw = None

    def feed(self):
        hw = FakeWDT._hw
        self._check()
        hw["fed"] = hw["clock"]()
        hw["feeds"] += 1

    def _check(self):
        hw = FakeWDT._hw
        if hw["clock"]() - hw["fed"] > hw["timeout"]:
            hw["resets"] += 1

    def expired(self):
        """True if the board would have been reset since the last feed (or has been, at an earlier feed)."""
        self._check()
        hw = FakeWDT._hw
        return hw["resets"] > 0

    @property
    def timeout(self):
        return FakeWDT._hw["timeout"]

    @property
    def feeds(self):
        return FakeWDT._hw["feeds"]
