# The Instant Readout key and entropy (issue 12 item 3): ESP-IDF's RNG is pseudo-random until the radio is on.
# A key drawn without entropy (an older firmware drew it before Bluetooth was on) is replaced once, with a
# diagnostic; a key drawn with entropy is kept. Dual runtime.
import os

from app import App, KEY_MARK
from fakes.fake_ina226 import FakeI2C, FakeINA226
from fakes.fake_uart import FakeUART
from fakes.mem_store import MemStore


def _boot(store, entropy):
    return App(FakeI2C(FakeINA226()), FakeUART(), store=store, urandom=os.urandom, log=lambda s: None,
               entropy=entropy)


def test_a_key_drawn_without_entropy_is_replaced_once_with_a_diagnostic():
    store = MemStore()
    k1 = _boot(store, False).settings.values["instant_readout_key"]      # Bluetooth off: no entropy
    assert len(k1) == 16 and KEY_MARK not in store.json
    a = _boot(store, True)
    k2 = a.settings.values["instant_readout_key"]
    assert k2 != k1 and len(k2) == 16
    assert [d for d in a.diagnostics if "replaced once" in d and "instant_readout_key" in d]
    b = _boot(store, True)
    assert b.settings.values["instant_readout_key"] == k2                  # once only
    assert not [d for d in b.diagnostics if "replaced" in d]


def test_a_key_drawn_with_entropy_is_kept():
    store = MemStore()
    k1 = _boot(store, True).settings.values["instant_readout_key"]
    assert _boot(store, True).settings.values["instant_readout_key"] == k1
