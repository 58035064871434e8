# Console authentication (proto.auth): HMAC, challenge-response, replay, lockout back-off, setup code.
# Dual runtime: CPython pytest and the MicroPython unix port (host_tests/mp_runner.py).
import hashlib

from check import raises
from proto import auth
from proto.auth import Auth, hmac_sha256, to_hex, from_hex
from console_fakes import Rand, SECRET


def _auth(secret=SECRET, rand=None):
    return Auth(hashlib.sha256, rand if rand is not None else Rand(), to_hex(secret) if secret else "")


def _answer(key, nonce):
    return hmac_sha256(hashlib.sha256, key, nonce)


# RFC 4231 test cases 1, 2 and 6 (key longer than the block).
def test_hmac_sha256_matches_rfc4231_case1():
    assert to_hex(hmac_sha256(hashlib.sha256, b"\x0b" * 20, b"Hi There")) == \
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"


def test_hmac_sha256_matches_rfc4231_case2():
    assert to_hex(hmac_sha256(hashlib.sha256, b"Jefe", b"what do ya want for nothing?")) == \
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"


def test_hmac_sha256_hashes_a_key_longer_than_the_block():
    assert to_hex(hmac_sha256(hashlib.sha256, b"\xaa" * 131,
                              b"Test Using Larger Than Block-Size Key - Hash Key First")) == \
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"


def test_equal_compares_content_and_length():
    assert auth.equal(b"abc", b"abc")
    assert not auth.equal(b"abc", b"abd")
    assert not auth.equal(b"abc", b"ab")
    assert auth.equal(b"", b"")


def test_right_answer_authenticates_and_returns_the_passwd_pad():
    a = _auth()
    n = a.challenge()
    assert len(n) == 16
    pad = a.verify(n, _answer(SECRET, n))
    assert pad == hmac_sha256(hashlib.sha256, SECRET, b"passwd" + n)
    assert a.failures == 0


def test_wrong_answer_fails_and_counts():
    a = _auth()
    n = a.challenge()
    assert a.verify(n, _answer(b"\x00" * 32, n)) is None
    assert a.failures == 1
    assert a.tries_left() == 4


def test_replayed_answer_fails():
    a = _auth()
    n = a.challenge()
    good = _answer(SECRET, n)
    assert a.verify(n, good) is not None
    # The same nonce and answer again: the nonce was spent by its first answer.
    assert a.verify(n, good) is None
    # The old answer against a fresh nonce.
    n2 = a.challenge()
    assert n2 != n
    assert a.verify(n2, good) is None
    assert a.failures == 2


def test_answer_without_a_challenge_fails():
    a = _auth()
    assert a.verify(None, b"\x00" * 32) is None
    assert a.verify(b"\x01" * 16, _answer(SECRET, b"\x01" * 16)) is None   # a nonce the device never issued
    assert a.failures == 2


def test_nonces_are_fresh_even_if_the_random_source_repeats():
    r = Rand([b"\x07" * 16, b"\x07" * 16, b"\x08" * 16])
    a = _auth(rand=r)
    n1 = a.challenge()
    n2 = a.challenge()
    assert n1 == b"\x07" * 16 and n2 == b"\x08" * 16


def test_malformed_answer_counts_as_failure():
    a = _auth()
    n = a.challenge()
    assert a.verify(n, None) is None
    assert a.verify(a.challenge(), b"short") is None
    assert a.failures == 2


def _fail(a):
    n = a.challenge()
    assert n is not None
    assert a.verify(n, b"\x00" * 32) is None


def test_five_failures_lock_for_30_s():
    a = _auth()
    for _ in range(4):
        _fail(a)
    assert not a.locked()
    _fail(a)
    assert a.locked() and a.lock_ms == 30000
    assert a.challenge() is None


def test_right_answer_is_refused_while_locked_and_not_counted():
    a = _auth()
    n = a.challenge()
    for _ in range(5):
        _fail(a)
    f = a.failures
    assert a.verify(n, _answer(SECRET, n)) is None
    assert a.failures == f
    assert a.lock_ms == 30000


def test_lock_expires_after_the_elapsed_time():
    a = _auth()
    for _ in range(5):
        _fail(a)
    a.elapse(29999)
    assert a.locked() and a.challenge() is None
    a.elapse(1)
    assert not a.locked()
    n = a.challenge()
    assert a.verify(n, _answer(SECRET, n)) is not None


def test_back_off_doubles_per_further_failure_up_to_one_hour():
    a = _auth()
    for _ in range(5):
        _fail(a)
    seen = [a.lock_ms]
    for _ in range(10):
        a.elapse(a.lock_ms)
        _fail(a)                        # one try after each lockout
        seen.append(a.lock_ms)
    assert seen == [30000, 60000, 120000, 240000, 480000, 960000, 1920000, 3600000, 3600000, 3600000, 3600000]


def test_success_resets_the_back_off():
    a = _auth()
    for _ in range(6):
        a.elapse(a.lock_ms)
        _fail(a)
    assert a.lock_ms == 60000
    a.elapse(60000)
    n = a.challenge()
    assert a.verify(n, _answer(SECRET, n)) is not None
    for _ in range(4):
        _fail(a)
    assert not a.locked()
    _fail(a)
    assert a.lock_ms == 30000


def test_challenge_expires_unanswered():
    a = _auth()
    n = a.challenge()
    a.elapse(auth.NONCE_LIFE_MS)
    assert a.verify(n, _answer(SECRET, n)) is None


def test_fresh_device_has_a_one_time_setup_code():
    a = _auth(secret=None, rand=Rand([b"\x12\x34\x56\x78\x9a\xbc\xde\xf0"]))
    assert not a.has_secret()
    code = a.setup_code()
    assert code == "123456789abcdef0"
    assert a.setup_code() == code            # stable until used
    n = a.challenge()
    assert a.verify(n, _answer(code.encode(), n)) is not None
    # Spent: nothing left to authenticate against until a secret is set (or a restart prints a new code).
    assert not a.has_key()
    assert a.challenge() is None


def test_device_with_a_secret_has_no_setup_code():
    assert _auth().setup_code() is None


def test_setup_code_does_not_work_once_a_secret_exists():
    a = _auth(secret=None)
    code = a.setup_code()
    a.set_secret(SECRET)
    n = a.challenge()
    assert a.verify(n, _answer(code.encode(), n)) is None


def test_secret_storage_format_is_64_hex_characters():
    a = _auth()
    assert a.secret_hex() == to_hex(SECRET) and len(a.secret_hex()) == 64
    b = Auth(hashlib.sha256, Rand(), a.secret_hex().upper())
    assert b.secret_hex() == a.secret_hex()
    raises(ValueError, Auth, hashlib.sha256, Rand(), "abc")
    raises(ValueError, Auth, hashlib.sha256, Rand(), "zz" * 32)
    raises(ValueError, a.set_secret, b"short")


def test_unmask_recovers_the_new_secret():
    a = _auth()
    pad = bytes(range(100, 132))
    new = bytes(range(200, 232))
    masked = bytes(new[i] ^ pad[i] for i in range(32))
    assert a.unmask(pad, masked) == new


def test_from_hex_rejects_wrong_length_and_digits():
    assert from_hex("0a" * 16, 16) == b"\x0a" * 16
    assert from_hex("0A" * 16, 16) == b"\x0a" * 16
    assert from_hex("0a" * 15, 16) is None
    assert from_hex("0g" * 16, 16) is None
    assert from_hex(None, 16) is None
