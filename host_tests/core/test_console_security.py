# Issue 14, items 11-14: console security under an attacker in radio range and a careless user. Nonces belong
# to the connection that asked, the lockout survives a restart, sessions end when they should, and quoting and
# digit limits say what is wrong. Dual runtime: CPython pytest and the MicroPython unix port.
import hashlib

from app import App
from fakes.mem_store import MemStore
from proto.auth import IDLE_MS, LOCK_BASE_MS, hmac_sha256
from proto.console import Console
from console_fakes import Device, new_auth, login, answer, final, code, SECRET, Rand


# ---- 11: nonces per connection -------------------------------------------------------------------------------

def test_anonymous_auth_requests_never_evict_the_owners_nonce():
    dev = Device()
    a = new_auth()
    owner = Console(dev, a)
    stranger = Console(dev, a)
    r = owner.handle_line("auth")
    for _ in range(10):
        assert code(stranger.handle_line("auth")) == "OK"
    assert final(owner.handle_line(answer(SECRET, r))) == "OK authenticated"
    assert a.failures == 0 and not a.locked()


def test_a_right_answer_to_an_expired_challenge_is_not_a_failure():
    a = new_auth()
    n = a.challenge("usb")
    a.elapse(121000)
    assert a.verify(n, hmac_sha256(hashlib.sha256, SECRET, n), "usb") is None
    assert a.stale and a.failures == 0
    n = a.challenge("usb")
    assert a.verify(n, hmac_sha256(hashlib.sha256, SECRET, n), "usb") is not None


def test_a_connection_cannot_answer_anothers_nonce():
    a = new_auth()
    n = a.challenge("ble")
    assert a.verify(n, hmac_sha256(hashlib.sha256, SECRET, n), "tcp") is None
    assert a.failures == 1


# ---- 12: the lockout survives a restart ---------------------------------------------------------------------------

def _app(store):
    return App(None, None, store=store, sha256=hashlib.sha256, urandom=Rand(), log=lambda s: None)


def _lock_out(app):
    c = Console(app.device, app.auth)
    for _ in range(5):
        c.handle_line("auth")
        c.handle_line("auth " + "00" * 32)
    assert app.auth.locked()


def test_the_lockout_and_its_back_off_survive_a_restart():
    store = MemStore()
    store.json["secret.txt"] = None
    app = _app(store)
    app.auth.set_secret(SECRET)
    _lock_out(app)
    app2 = _app(store)                       # power cut, crash or restart
    app2.auth.set_secret(SECRET)
    c = Console(app2, app2.auth)
    assert code(c.handle_line("auth")) == "LOCKED"
    app2.auth.elapse(LOCK_BASE_MS - 1000)
    assert code(c.handle_line("auth")) == "LOCKED"
    app2.auth.elapse(1000)
    c.handle_line("auth")
    c.handle_line("auth " + "00" * 32)       # one failure after a lockout locks again, for twice as long
    assert app2.auth.lock_ms == 2 * LOCK_BASE_MS
    app3 = _app(store)
    assert app3.auth.lock_ms == 2 * LOCK_BASE_MS


# ---- 13: sessions end when they should ------------------------------------------------------------------------------

def test_passwd_ends_every_other_session():
    dev = Device()
    a = new_auth()
    usb = Console(dev, a)
    ble = Console(dev, a)
    login(ble)
    r = login(usb)
    nonce = bytes(int(r.split("nonce=")[1].strip()[i:i + 2], 16) for i in range(0, 32, 2))
    pad = hmac_sha256(hashlib.sha256, SECRET, b"passwd" + nonce)
    new = bytes(range(32))
    masked = "".join("%02x" % (new[i] ^ pad[i]) for i in range(32))
    assert final(usb.handle_line("passwd " + masked)) == "OK secret changed"
    assert code(ble.handle_line("set capacity 300")) == "AUTH"
    assert code(usb.handle_line("set capacity 300")) == "OK"          # the session that changed it goes on


def test_a_wrong_answer_ends_the_session_it_was_given_in():
    dev = Device()
    c = Console(dev, new_auth())
    login(c)
    c.handle_line("auth")
    assert code(c.handle_line("auth " + "00" * 32)) == "AUTH"
    assert code(c.handle_line("set capacity 300")) == "AUTH"


def test_an_idle_session_ends():
    dev = Device()
    a = new_auth()
    c = Console(dev, a)
    login(c)
    a.elapse(IDLE_MS - 1)
    assert code(c.handle_line("set capacity 300")) == "OK"
    a.elapse(IDLE_MS)
    assert code(c.handle_line("set capacity 301")) == "AUTH"
    assert dev.settings["capacity"] == 300


# ---- 14: quoting and digit limits ------------------------------------------------------------------------------------

def test_a_broken_quote_is_refused_with_what_is_wrong():
    dev = Device()
    c = Console(dev, new_auth())
    login(c)
    assert code(c.handle_line('set device_name "van"')) == "OK"
    for line, word in (('set device_name "\\"', "backslash"), ('set device_name "van', "closing quote"),
                       ('set device_name "a"b"', "after the closing quote")):
        r = c.handle_line(line)
        assert code(r) == "VALUE" and word in r, (line, r)
        assert dev.settings["device_name"] == "van"
    assert code(c.handle_line('set device_name "a \\"b\\" \\\\"')) == "OK"
    assert dev.settings["device_name"] == 'a "b" \\'


def test_too_many_digits_are_named_not_a_range_error():
    dev = Device()
    c = Console(dev, new_auth())
    login(c)
    r = c.handle_line("set capacity 00000000000012")
    assert code(r) == "VALUE" and "digits" in r, r
    assert code(c.handle_line("set capacity 000000000012")) == "OK"       # 12 digits are fine
    assert dev.settings["capacity"] == 12
