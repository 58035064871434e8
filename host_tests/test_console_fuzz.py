"""100 000 random lines into the console (real Settings and Monitor): no exception escapes, every reply ends with
exactly one OK/ERR line with a documented code, never INTERNAL, and an ERR never changes a setting."""
import random

from shunt import settings as st
from proto.console import Console
from console_fakes import Device, new_auth, login

CODES = {"EMPTY", "TOOLONG", "ENCODING", "UNKNOWN", "ARGS", "NAME", "VALUE", "AUTH", "LOCKED", "NOSECRET", "STATE",
         "STORAGE"}
WORDS = ["help", "list", "get", "set", "status", "sync_status", "warnings", "history", "synchronize", "set_soc",
         "zero_current", "clear_history", "restore_defaults", "restart", "save", "relay", "instant_readout_rekey",
         "auth", "logout", "passwd", "SET", "Get", "sett", "", "?", "\u00e9"]
VALUES = ["0", "1", "-1", "100", "9999", "10000", "13.2", "1.25", "0.005", "nan", "NaN", "inf", "-inf", "1e3",
          "0x1f", "on", "off", "ON", "linked", "auto", "12", "remote", "strict", "above_c20", "pulsed", '""',
          '"a b"', "9" * 40, "-" * 5, ".", "1.", ".5", "+5", "00" * 16, "ab" * 32, "\u00bd", "\t", "%", "100%"]


def _line(rng):
    k = rng.random()
    if k < 0.25:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 200)))
    if k < 0.35:
        return "".join(chr(rng.randrange(1, 0x3000)) for _ in range(rng.randrange(0, 60)))
    parts = [rng.choice(WORDS)]
    for _ in range(rng.randrange(0, 4)):
        r = rng.random()
        parts.append(rng.choice(st.NAMES) if r < 0.4 else rng.choice(VALUES) if r < 0.9 else
                     "".join(chr(rng.randrange(32, 127)) for _ in range(rng.randrange(1, 12))))
    line = " ".join(parts)
    if rng.random() < 0.1:
        line = line.upper()
    end = rng.choice(["", "\n", "\r\n", "\r", " "])
    return (line + end).encode("utf-8", "surrogatepass") if rng.random() < 0.5 else line + end


def test_100000_random_lines_never_raise_and_errors_change_nothing():
    rng = random.Random(20240601)
    dev = Device()
    c = Console(dev, new_auth())
    seen = {}
    for i in range(100000):
        if i % 500 == 0:
            c.tick(3600000)               # let any lockout the garbage caused run out
            if not c.authenticated and c.auth.has_secret():
                c.handle_line("logout")
                login(c, secret=_secret(dev, c))
        line = _line(rng)
        before = dev.settings.to_dict()
        reply = c.handle_line(line)
        assert isinstance(reply, str) and reply.endswith("\n"), (line, reply)
        lines = reply[:-1].split("\n")
        last = lines[-1]
        assert not any(x.startswith("OK") or x.startswith("ERR ") for x in lines[:-1]), (line, reply)
        if last.startswith("ERR "):
            code = last.split(" ")[1]
            assert code in CODES, (line, reply)
            assert dev.settings.to_dict() == before, (line, reply)
        else:
            code = "OK"
            assert last == "OK" or last.startswith("OK "), (line, reply)
        seen[code] = seen.get(code, 0) + 1
    # The generator reached every kind of answer that random input can produce.
    for k in ("OK", "EMPTY", "TOOLONG", "ENCODING", "UNKNOWN", "ARGS", "NAME", "VALUE", "AUTH", "STATE"):
        assert seen.get(k, 0) > 0, (k, seen)


def _secret(dev, c):
    # A random `passwd` line may have changed the secret: the fake device stored the new one.
    from proto.auth import from_hex
    from console_fakes import SECRET
    return from_hex(dev.stored_secret, 32) if dev.stored_secret else SECRET
