# Test helpers for the console: a device with the documented hooks (proto.console header), a deterministic
# urandom, and the monitor: the real shunt.monitor.Monitor when it imports, else a stand-in with its names.
import hashlib

from shunt.settings import Settings
from proto.auth import Auth, hmac_sha256, to_hex, from_hex

try:
    from shunt.monitor import Monitor as RealMonitor
except ImportError:  # not landed yet (or a module it needs is missing)
    RealMonitor = None

SECRET = hashlib.sha256(b"console test secret").digest()    # a test secret (32 bytes)


class StandInMonitor:
    """The docs/core-interface.md names the console uses, with the BM §4.3/§4.4/§9/§11 effects it checks."""

    def __init__(self, settings):
        self.settings = settings
        self.v_mv = 12853
        self.i_ma = -1234
        self.i_int_ma = -1234
        self.synchronized = 1
        self.restored = 0
        self.soc_cpct = 10000
        self.soc_permille = 1000
        self.ce_mah = 0
        self.ttg_min = -1
        self.hist = [0] * 19
        self.alarm_bits = 0
        self.relay_active = 0
        self.relay_energised = 0
        self.op_time_s = 0
        self.warnings = 0

    def power_w(self):
        # BM §6: rdiv(V·I, 10^6), round half away from zero.
        p = self.v_mv * self.i_ma
        q = (2 * abs(p) + 1000000) // 2000000
        return -q if p < 0 else q

    def synchronize(self):
        self.synchronized = 1
        self.restored = 0
        self.soc_cpct = 10000
        self.ce_mah = 0

    def set_soc(self, cpct):
        if not isinstance(cpct, int) or not 0 <= cpct <= 10000:
            raise ValueError("set_soc %r: must be 0.00..100.00 %% in steps of 0.01" % (cpct,))
        self.synchronized = 1
        self.soc_cpct = cpct
        self.ce_mah = -(self.settings["capacity"] * (10000 - cpct)) // 10

    def clear_history(self):
        self.hist = [0] * 19

    def restore_defaults(self):
        self.settings.restore_defaults()

    def relay_remote(self, on):
        if self.settings["relay_mode"] != 2:
            raise ValueError("relay: only in relay_mode remote")
        self.relay_active = 1 if on else 0

    def sync_status(self):
        return {"synchronized": self.synchronized, "restored": self.restored, "mode": "victron", "auto_sync": 1,
                "voltage_ok": 0, "voltage_mv": self.v_mv, "charged_voltage_mv": 13200, "current_ok": 0,
                "current_ma": self.i_int_ma, "tail_current_ma": 8000, "timer_s": 0, "timer_required_s": 180,
                "last_set_soc_cpct": -1, "last_set_soc_age_s": -1}

    def warning_list(self):
        return []


def make_monitor(settings):
    if RealMonitor is not None:
        return RealMonitor(settings)
    return StandInMonitor(settings)


class Rand:
    """Deterministic urandom: a counter through SHA-256, or a fixed script of byte strings first."""

    def __init__(self, script=()):
        self.script = list(script)
        self.n = 0

    def __call__(self, k):
        if self.script:
            return self.script.pop(0)
        self.n += 1
        return hashlib.sha256(b"rand%d" % self.n).digest()[:k]


class Device:
    def __init__(self, monitor=None):
        self.settings = Settings()
        self.settings.set_stored("instant_readout_key", bytes(range(16)))
        self.monitor = monitor if monitor is not None else make_monitor(self.settings)
        self.calls = []
        self.fail_persist = False
        self.fail_save = False
        self.zero_result = 2500            # nV, or a ValueError to raise
        self.stored_secret = None
        self.urandom = Rand()

    def persist_settings(self):
        if self.fail_persist:
            raise OSError(28)
        self.calls.append("persist")

    def save_state(self):
        if self.fail_save:
            raise OSError(5)
        self.calls.append("save")

    def restart(self):
        self.calls.append("restart")

    def zero_current(self):
        self.calls.append("zero_current")
        if isinstance(self.zero_result, Exception):
            raise self.zero_result
        return self.zero_result

    def store_secret(self, hex_text):
        if self.fail_persist:
            raise OSError(28)
        self.stored_secret = hex_text
        self.calls.append("secret")


def new_auth(secret=SECRET, rand=None):
    return Auth(hashlib.sha256, rand if rand is not None else Rand(), to_hex(secret) if secret else "")


def answer(secret, reply):
    """The client's side: the HMAC answer line for an `OK nonce=...` reply."""
    nonce = from_hex(reply.split("nonce=")[1].strip(), 16)
    return "auth " + to_hex(hmac_sha256(hashlib.sha256, secret, nonce))


def login(console, secret=SECRET):
    r = console.handle_line("auth")
    assert r.startswith("OK nonce="), r
    r2 = console.handle_line(answer(secret, r))
    assert r2.startswith("OK authenticated"), r2
    return r


def final(reply):
    """The last line of a reply (the OK/ERR line)."""
    assert reply.endswith("\n"), repr(reply)
    return reply[:-1].split("\n")[-1]


def code(reply):
    f = final(reply)
    return "OK" if f.startswith("OK") else f.split(" ")[1]


def snapshot(dev):
    """Everything an error must leave unchanged."""
    m = dev.monitor
    return (repr(sorted(dev.settings.to_dict()["values"].items())), dev.settings.charged_voltage_user_set,
            m.synchronized, m.soc_cpct, m.ce_mah, list(m.hist), m.relay_active, list(dev.calls))
