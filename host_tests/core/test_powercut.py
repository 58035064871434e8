# Power cut at every block program and erase of every save (BM §14.3 "previous or new, never corrupt"), on
# littlefs (VfsLfs2) over a RAM NOR flash under the MicroPython unix port; and the loss bound of a cut run.
import sys

from shunt.record import Codec
from drivers.store import Store
from state_fields import FIELDS, sample_state
import ramblock

MP = sys.implementation.name == "micropython"
CODEC = Codec(FIELDS)
_SRC = "/pc_src"
_CUT = "/pc_cut"
_BLOCKS = 16
_SAVES = 100         # saves in the enumerated sequence; every 5th one rewrites settings.json instead
_AGE = 1000          # saves before it, so the sequence also meets littlefs block relocation (block_cycles 100)


def _settings(k):
    return {"schema": 1, "values": {"capacity": 100 + k, "device_name": "bank %d" % k}}


def _after_cut(image, check_recovery):
    """Mount a copy of the image as after a reboot; load. Optionally save once more and load that back,
    which shows littlefs recovered from the cut. Returns (state, settings)."""
    dev = ramblock.RamFlash(_BLOCKS, image=image)
    ramblock.mount(dev, _CUT)
    try:
        st = Store(_CUT, CODEC)
        vals, diags = st.load_state()
        js, jd = st.load_json("settings.json")
        if check_recovery:
            marker = sample_state(999)
            ok, d = st.save_state(marker)
            assert ok, d
            assert Store(_CUT, CODEC).load_state()[0] == marker
    finally:
        ramblock.umount(_CUT)
    return vals, js


def test_every_cut_point_of_every_save_gives_previous_or_new():
    if not MP:
        return  # littlefs runs only on the unix port (the pytest MicroPython run executes this test)
    ramblock.umount(_SRC)
    dev = ramblock.RamFlash(_BLOCKS)
    ramblock.mount(dev, _SRC, mkfs=True)
    cases = outcome_prev = outcome_new = multi_erase = 0
    try:
        store = Store(_SRC, CODEC)
        store.load_state()
        prev_state = None
        prev_js = None
        for i in range(_AGE):
            prev_state = sample_state(i + 2000)
            assert store.save_state(prev_state)[0]
        for i in range(_SAVES):
            json_step = i % 5 == 4
            base = bytes(dev.data)
            dev.log = []
            if json_step:
                new_js = _settings(i)
                ok, d = store.save_json("settings.json", new_js)
            else:
                new_state = sample_state(i + 1)
                ok, d = store.save_state(new_state)
            assert ok, d
            ops = dev.log
            dev.log = None
            erases = 0
            for op in ops:
                if op[2] is None:
                    erases += 1
            if erases > 1:
                multi_erase += 1
            for k in range(len(ops) + 1):
                modes = (None, "half", "bits") if k < len(ops) else (None,)
                for mode in modes:
                    image = bytearray(base)
                    ramblock.apply_ops(image, dev.block_size, ops[:k], (ops[k], mode) if mode else None, k + i)
                    vals, js = _after_cut(image, check_recovery=(k + i) % 3 == 0)
                    cases += 1
                    if json_step:
                        assert vals == prev_state, (i, k, mode)
                        assert js == prev_js or js == new_js, (i, k, mode, js)
                        hit_new = js == new_js and js != prev_js
                    else:
                        assert js == prev_js, (i, k, mode)
                        assert vals == prev_state or vals == new_state, (i, k, mode)
                        hit_new = vals == new_state
                    if hit_new:
                        outcome_new += 1
                    else:
                        outcome_prev += 1
            if json_step:
                prev_js = new_js
            else:
                prev_state = new_state
    finally:
        dev.log = None
        ramblock.umount(_SRC)
    # The enumeration reached both sides of every commit, and metadata compactions (several erases in one save).
    print("powercut:", cases, "cases", outcome_prev, "previous", outcome_new, "new", multi_erase, "saves with >1 erase")
    assert cases > 300, cases
    assert outcome_prev > _SAVES and outcome_new > _SAVES, (outcome_prev, outcome_new)
    assert multi_erase > 0


def test_erases_per_save_within_the_budget():
    # BM §14.4 budgets at most 2 block erases per save; docs/flash-wear.md uses the measured figure.
    if not MP:
        return
    ramblock.umount(_SRC)
    dev = ramblock.RamFlash(64)
    ramblock.mount(dev, _SRC, mkfs=True)
    try:
        store = Store(_SRC, CODEC)
        store.load_state()
        for k in range(20):  # settle past the first allocations
            store.save_state(sample_state(k))
        e0 = dev.erases
        n = 300
        for k in range(n):
            assert store.save_state(sample_state(k))[0]
        per_save_x100 = (dev.erases - e0) * 100 // n
    finally:
        ramblock.umount(_SRC)
    assert per_save_x100 <= 200, per_save_x100
    assert per_save_x100 >= 50, per_save_x100   # a record is > 128 B: every save writes a new data block
