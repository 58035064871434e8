# Power cut at every block program and erase of every save (BM §14.3 "previous or new, never corrupt"), on
# littlefs (VfsLfs2) over a RAM NOR flash under the MicroPython unix port; and the loss bound of a cut run.
from check import micropython_only

from shunt.record import Codec
from drivers.store import Store
from state_fields import FIELDS, sample_state
import ramblock

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
    micropython_only()
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
    # BM §14.4 budgets at most 2 block erases per save; docs/flash-wear.md plans with 1.25 (measured: 1.08 on the
    # 512-block partition, 1.10 here). This keeps that planning figure honest.
    micropython_only()
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
    assert per_save_x100 <= 125, per_save_x100
    assert per_save_x100 >= 50, per_save_x100   # a record is > 128 B: every save writes a new data block


# ---- a run cut at random seconds and restarted from flash (BM §14.3 loss bound) -------------------------------

_CAP_AH = 200
_CU = 360000000                       # cu per mAh (BM §0.1)
_SEGMENTS = ((1200, -20000), (1800, -1000), (600, -150000), (1200, 50), (900, 10000), (1500, -3000))


def _profile():
    """(second, current mA) for a 2 h day of use, with a deterministic jitter of up to ±5 %."""
    out = []
    seed = 7
    t = 0
    for n, i_ma in _SEGMENTS:
        for _ in range(n):
            seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
            j = (seed >> 8) % 1001 - 500                      # -500 … 500 (0.01 % units)
            out.append(i_ma + i_ma * j // 10000)
            t += 1
    return out


def _ce_cu(d):
    return d["ce_mah"] * _CU + d["ce_rem"]


def _qp_pu(d):
    return (d["qp_mah"] * _CU + d["qp_rem_cu"]) * 65536 + d["qp_frac"]


def _step(mon, i_ma):
    for _ in range(mon.sample(12400, i_ma, 1000)):
        mon.second()


def test_cut_and_restarted_run_loses_at_most_one_save_interval():
    from shunt.monitor import Monitor
    from shunt.settings import Settings
    from shunt.saver import Saver, NONE
    from test_store import Fs

    prof = _profile()
    cuts = []
    seed = 99
    while len(cuts) < 12:
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        c = 60 + (seed >> 4) % (len(prof) - 60)
        if c not in cuts:
            cuts.append(c)
    fs = Fs(64)
    try:
        mon = Monitor(Settings())
        store = fs.store()
        assert store.load_state()[0] is None
        saver = Saver()
        saver.start(mon.op_time_s, None)
        # CE after each second of the uncut run, as (mAh, remainder) pairs of small ints: CE in cu is a long
        # integer on a 32-bit build, and 7 200 of them do not fit the MicroPython runner's heap
        from array import array
        ce_mah = array("i")
        ce_rem = array("i")
        worst_x1000 = 0
        restarted = []
        for t in range(len(prof)):
            _step(mon, prof[t])
            st = mon.get_state()
            reason = saver.due(mon.op_time_s, st, _CAP_AH)
            if reason != NONE:
                ok, d = store.save_state(st)
                assert ok, d
                saver.saved(mon.op_time_s, st, reason)
            ce_mah.append(st["ce_mah"])
            ce_rem.append(st["ce_rem"])
            if t not in cuts:
                continue
            # power cut after this second: what a restart finds on flash
            flash, diags = fs.store().load_state()
            assert flash is not None and diags == []
            i_max = 0
            for k in range(max(0, t - 60), t + 1):
                i_max = max(i_max, abs(prof[k]))
            last60 = abs((ce_mah[t] - ce_mah[t - 60]) * _CU + ce_rem[t] - ce_rem[t - 60])
            bound = max(_CAP_AH * _CU + i_max * 1000 * 100, last60)   # 1 mA for 1 s = 100 000 cu
            lost_ce = abs(_ce_cu(st) - _ce_cu(flash))
            lost_qp = abs(_qp_pu(st) - _qp_pu(flash))
            assert lost_ce <= bound, (t, lost_ce, bound)
            assert lost_qp <= bound * 65536 * 105 // 100, (t, lost_qp)   # Peukert factor ≤ 1.05 here
            assert 0 <= st["op_time_s"] - flash["op_time_s"] <= 600, t
            worst_x1000 = max(worst_x1000, lost_ce * 1000 // bound)
            if t == cuts[0] or t == cuts[1]:
                # restart from flash and run the rest of the day: the end differs by exactly the lost counting
                m2 = Monitor(Settings())
                m2.set_state(flash)
                assert m2.restored == 1
                for k in range(t + 1, len(prof)):
                    _step(m2, prof[k])
                restarted.append((_ce_cu(m2.get_state()), _ce_cu(st) - _ce_cu(flash)))
        end = _ce_cu(mon.get_state())
        assert len(restarted) == 2
        for ce_end, lost in restarted:
            assert ce_end == end - lost, (ce_end, end, lost)
        assert worst_x1000 > 0   # the cuts did land between saves
    finally:
        fs.close()
