# Test helpers for the console and HEX: the real proto.device.Device over a storage port that records what was
# saved (and can fail on demand), a fake zero-current measurement, a deterministic urandom, and the real
# shunt.monitor.Monitor (or a stand-in with its names where a test sets values the real one computes).
import hashlib

from shunt.settings import Settings
from shunt.monitor import Monitor
from proto.auth import Auth, hmac_sha256, to_hex, from_hex
from proto.device import Device as _Device

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


class Storage:
    """The Device's storage port (drivers.persist.Persistence's methods), recording each save in `calls`."""

    def __init__(self):
        self.calls = []
        self.fail_persist = False      # settings and secret saves fail (a full flash)
        self.fail_save = False         # state saves fail
        self.stored_secret = None
        self.calibration = None

    def save_settings(self):
        if self.fail_persist:
            raise OSError(28)
        self.calls.append("persist")

    def save_state(self):
        if self.fail_save:
            raise OSError(5)
        self.calls.append("save")

    def save_calibration(self, offset_nv, op_time_s):
        self.calibration = (offset_nv, op_time_s)

    def save_secret(self, hex_text):
        if self.fail_persist:
            raise OSError(28)
        self.stored_secret = hex_text
        self.calls.append("secret")


class Zero:
    """The zero port: `result` is what the measurement gives (nV), or an exception it raises."""

    def __init__(self):
        self.running = False
        self.result = 2500
        self.complete = False

    def start(self):
        self.running = True

    def add(self, raw, dt_ms):
        pass

    def run(self):
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


class Device(_Device):
    """The real Device (no command of its own) with test plumbing: `calls`, `fail_persist`, `fail_save` and
    `stored_secret` reach the fake storage; `zero.result` sets what the measurement gives."""

    def __init__(self, monitor=None):
        settings = Settings()
        settings.set_stored("instant_readout_key", bytes(range(16)))
        _Device.__init__(self, monitor if monitor is not None else Monitor(settings), settings, Storage(),
                         urandom=Rand(), zero=Zero())

    @property
    def calls(self):
        return self.storage.calls

    @property
    def stored_secret(self):
        return self.storage.stored_secret

    @property
    def fail_persist(self):
        return self.storage.fail_persist

    @fail_persist.setter
    def fail_persist(self, v):
        self.storage.fail_persist = v

    @property
    def fail_save(self):
        return self.storage.fail_save

    @fail_save.setter
    def fail_save(self, v):
        self.storage.fail_save = v


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
