# Console authentication: challenge-response with HMAC-SHA256, replay protection, lockout with back-off.
# Spec: battery-monitor.md §1 (changes need an authenticated session), platform.md §3.4 (no reliance on pairing).
#
# Protocol (the console carries it, see proto.console):
#   device -> client: a fresh 16-byte random nonce (32 hex characters)
#   client -> device: HMAC-SHA256(key, nonce bytes) (64 hex characters)
# `key` is the 32-byte secret, or, on a fresh device without one, the ASCII bytes of the one-time setup code.
# On success both sides also know a 32-byte pad HMAC-SHA256(key, b"passwd" + nonce); `passwd` sends the new
# secret XOR that pad, so the secret never crosses the link in the clear. Pure: the sha256 constructor and
# urandom are injected, and time arrives only as elapsed milliseconds through `elapse(dt_ms)`.
from micropython import const

from shunt.settings import from_hex, to_hex  # noqa: F401  (re-exported: the console uses auth.from_hex)

SECRET_LEN = const(32)
NONCE_LEN = const(16)
MAX_FAILURES = const(5)           # failures before the first lockout
LOCK_BASE_MS = const(30000)       # first lockout; doubles at each further lockout
LOCK_MAX_MS = const(3600000)      # cap of the back-off
NONCE_LIFE_MS = const(120000)     # an unanswered challenge expires
IDLE_MS = const(600000)           # an authenticated session ends after 10 min without a request
_USED_MAX = const(16)             # recently used nonces, refused if ever drawn again
_BLOCK = const(64)                # SHA-256 block size


def hmac_sha256(sha256, key, msg):
    """RFC 2104 HMAC over an injected sha256 constructor (hashlib.sha256 on both runtimes; MicroPython has no
    hmac module)."""
    if len(key) > _BLOCK:
        key = sha256(key).digest()
    k = bytearray(_BLOCK)
    k[:len(key)] = key
    inner = bytearray(_BLOCK)
    outer = bytearray(_BLOCK)
    for i in range(_BLOCK):
        inner[i] = k[i] ^ 0x36
        outer[i] = k[i] ^ 0x5C
    h = sha256(bytes(inner))
    h.update(msg)
    o = sha256(bytes(outer))
    o.update(h.digest())
    return o.digest()


def equal(a, b):
    """Constant-time comparison of two byte strings (time depends only on the length)."""
    if len(a) != len(b):
        return False
    d = 0
    for i in range(len(a)):
        d |= a[i] ^ b[i]
    return d == 0


class Auth:
    """Shared by every console of the device, so failures and lockouts count across transports and
    reconnects. A session (authenticated or not) lives in the Console, not here.

    Challenges belong to the connection that asked (`owner`, any object): each owner has at most one, and no
    owner's request ever drops another's (issue 14: four anonymous `auth` requests evicted the owner's nonce).
    `epoch` changes with the secret, which ends every session authenticated before (`passwd`). `on_change` (if
    set) is called after the failure count or the lockout changed, so the app can persist them."""

    def __init__(self, sha256, urandom, secret_hex=""):
        self._sha256 = sha256
        self._urandom = urandom
        self._secret = None
        self._setup = None          # one-time setup code (bytes of its ASCII text) while there is no secret
        self._issued = []           # [nonce, age_ms, owner]
        self._used = []
        self._withdrawn = []        # nonces that expired or a lockout withdrew (a right answer is not a failure)
        self.failures = 0           # consecutive failures since the last success
        self.lockouts = 0           # lockouts since the last success (drives the back-off)
        self.lock_ms = 0            # time left in the current lockout
        self.clock_ms = 0           # measured time since start (sessions' idle timeout)
        self.epoch = 0              # +1 at every change of the secret
        self.on_change = None
        self.stale = False          # the last verify() was a right answer to an expired challenge
        if secret_hex:
            self.load_secret_hex(secret_hex)

    # --- the secret -------------------------------------------------------------------------------
    def has_secret(self):
        return self._secret is not None

    def load_secret_hex(self, text):
        """Install a stored secret (storage format: 64 hex characters of the 32-byte secret); '' removes it."""
        if text == "" or text is None:
            self._secret = None
            return
        b = from_hex(text.strip() if isinstance(text, str) else text, SECRET_LEN)
        if b is None:
            raise ValueError("secret: must be 64 hex characters (32 bytes)")
        self.set_secret(b)

    def set_secret(self, raw):
        if not isinstance(raw, (bytes, bytearray)) or len(raw) != SECRET_LEN:
            raise ValueError("secret: must be 32 bytes")
        if self._secret != bytes(raw):
            self.epoch += 1
        self._secret = bytes(raw)
        self._setup = None

    def secret_hex(self):
        """The storage text of the secret ('' if none). For the app's secret file only: never print it."""
        return to_hex(self._secret) if self._secret is not None else ""

    def setup_code(self):
        """The one-time setup code of a device without a secret (the app prints it on the USB console at
        start-up). None once a secret exists. It is valid for one successful authentication."""
        if self._secret is not None:
            return None
        if self._setup is None:
            self._setup = to_hex(self._urandom(8)).encode()
        return self._setup.decode()

    def has_key(self):
        return self._secret is not None or self._setup is not None

    # --- time --------------------------------------------------------------------------------------
    def elapse(self, dt_ms):
        """Advance the lockout and the challenges' ages by a measured interval."""
        if dt_ms <= 0:
            return
        self.clock_ms += dt_ms
        if self.lock_ms:
            self.lock_ms = self.lock_ms - dt_ms if self.lock_ms > dt_ms else 0
            if not self.lock_ms:
                self._notify()
        keep = []
        for e in self._issued:
            e[1] += dt_ms
            if e[1] < NONCE_LIFE_MS:
                keep.append(e)
            else:
                self._withdraw(e[0])
        self._issued = keep

    def _withdraw(self, nonce):
        self._withdrawn.append(nonce)
        if len(self._withdrawn) > _USED_MAX:
            self._withdrawn.pop(0)

    def locked(self):
        return self.lock_ms > 0

    def tries_left(self):
        """Answers left before the next lockout."""
        return MAX_FAILURES - self.failures if self.failures < MAX_FAILURES else 1

    # --- challenge and answer ------------------------------------------------------------------------
    def challenge(self, owner=None):
        """A fresh nonce (bytes) for `owner`, replacing only that owner's earlier one; None while locked or when
        there is no key to authenticate against."""
        if self.lock_ms or not self.has_key():
            return None
        while True:
            n = bytes(self._urandom(NONCE_LEN))
            if n not in self._used and not self._is_issued(n):
                break
        self._issued = [e for e in self._issued if e[2] is not owner]
        self._issued.append([n, 0, owner])
        return n

    def _is_issued(self, n, owner=None, any_owner=True):
        for e in self._issued:
            if e[0] == n and (any_owner or e[2] is owner):
                return True
        return False

    def verify(self, nonce, answer, owner=None):
        """Check `answer` (bytes) for `owner`'s `nonce`. Each nonce is good for one answer, right or wrong, so a
        replayed answer fails. Returns the 32-byte passwd pad on success, None on failure (counted) or while
        locked (not counted). A right answer to a challenge that expired or was withdrawn by a lockout is no
        success and no failure either: `stale` is then True (ask again)."""
        self.stale = False
        if self.lock_ms:
            return None
        key = self._secret if self._secret is not None else self._setup
        if nonce is None or not self._is_issued(nonce, owner, False):
            if (nonce is not None and key is not None and nonce in self._withdrawn
                    and isinstance(answer, (bytes, bytearray))
                    and equal(hmac_sha256(self._sha256, key, nonce), answer)):
                self.stale = True
                return None
            self._fail()
            return None
        self._issued = [e for e in self._issued if e[0] != nonce]
        self._used.append(nonce)
        if len(self._used) > _USED_MAX:
            self._used.pop(0)
        if key is None:
            self._fail()
            return None
        expect = hmac_sha256(self._sha256, key, nonce)
        if not isinstance(answer, (bytes, bytearray)) or not equal(expect, answer):
            self._fail()
            return None
        if self.failures or self.lockouts:
            self.failures = 0
            self.lockouts = 0
            self._notify()
        if self._secret is None:
            self._setup = None  # one-time: the setup code is spent by its first successful use
        return hmac_sha256(self._sha256, key, b"passwd" + nonce)

    def _fail(self):
        self.failures += 1
        if self.failures >= MAX_FAILURES:
            # The first lockout after 5 failures; after it expires every further failure locks again with the
            # time doubled, up to the cap.
            ms = LOCK_BASE_MS
            for _ in range(self.lockouts):
                ms *= 2
                if ms >= LOCK_MAX_MS:
                    ms = LOCK_MAX_MS
                    break
            self.lock_ms = ms
            self.lockouts += 1
            for e in self._issued:
                self._withdraw(e[0])
            self._issued = []
        self._notify()

    def _notify(self):
        if self.on_change is not None:
            self.on_change()

    # --- persistence (issue 14: a restart or a crash must not reset the back-off) ---------------------------
    def lock_state(self):
        """(failures, lockouts, lock_ms): what the app persists after `on_change`."""
        return self.failures, self.lockouts, self.lock_ms

    def restore_lock(self, failures, lockouts, lock_ms):
        """Put persisted values back at start-up; values out of their ranges are clamped, never trusted."""
        self.failures = failures if 0 <= failures <= MAX_FAILURES else MAX_FAILURES
        self.lockouts = lockouts if 0 <= lockouts <= 32 else 32
        self.lock_ms = lock_ms if 0 <= lock_ms <= LOCK_MAX_MS else LOCK_MAX_MS

    def unmask(self, pad, masked):
        """The new secret from a `passwd` value (new secret XOR pad)."""
        return bytes(masked[i] ^ pad[i] for i in range(SECRET_LEN))
