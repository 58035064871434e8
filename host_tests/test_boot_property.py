"""Property (issue 14): random JSON in settings.json and calibration.json and random bytes (or damaged records) in
the state slots; the real App boots on the real Store. Never an exception, never a valid stored value lost, a
damaged file never replaced by the firmware on its own, W10 raised and a diagnostic naming the file."""
import json
import shutil
import tempfile
from pathlib import Path

from hypothesis import given, settings as hsettings, strategies as st, HealthCheck

from app import App
from drivers.store import Store, SLOTS
from shunt import settings as sst
from shunt.monitor import STATE_FIELDS
from shunt.plausible import check_state
from shunt.record import Codec
from state_fields import sample_state

CODEC = Codec(STATE_FIELDS)
W10 = 1 << 9

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 40, 2 ** 40), st.integers(-3, 20000),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40),
                         st.sampled_from(["", "on", "linked", "ab" * 16, "AB" * 16, "00" * 15]))
json_values = st.recursive(json_scalars, lambda c: st.one_of(st.lists(c, max_size=3),
                                                             st.dictionaries(st.text(max_size=8), c, max_size=3)),
                           max_leaves=6)


@st.composite
def settings_docs(draw):
    """A settings file: mostly a real one with some fields damaged, missing or added; sometimes any JSON."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(json_values)
    s = sst.Settings()
    for name in draw(st.lists(st.sampled_from(sst.NAMES), max_size=6)):
        r = sst.row(name)
        if r[1] in (sst.NUM, sst.LINKED, sst.ENUM, sst.TEMP):
            v = draw(st.integers(r[4], r[5]))
            if r[1] == sst.TEMP:
                v = sst.ZERO_C_CK + 100 * v
            try:
                s.set_stored(name, v)
            except ValueError:
                pass
    s.set_stored("instant_readout_key", bytes(draw(st.binary(min_size=16, max_size=16))))
    d = s.to_dict()
    vals = d["values"]
    for name in draw(st.lists(st.sampled_from(sst.NAMES), max_size=4)):
        if draw(st.booleans()):
            vals[name] = draw(json_values)
        else:
            vals.pop(name, None)
    if kind == 1:
        d["schema"] = draw(json_values)
    if kind == 2:
        d["charged_voltage_user_set"] = draw(json_values)
    return d


def _valid(name, v):
    """The oracle: is `v` a value the settings table allows for `name` (exact type), and its stored form."""
    r = sst.row(name)
    if r[1] == sst.KEY:
        if v == "":
            return True, b""
        b = sst.from_hex(v, 16) if isinstance(v, str) else None
        return b is not None, b
    if isinstance(v, bool) or not isinstance(v, (int, str)):
        return False, None
    if r[1] == sst.TEXT:
        ok = isinstance(v, str) and len(v) <= r[5] and all(0x20 <= ord(c) < 0x7F for c in v)
        return ok, v
    if not isinstance(v, int):
        return False, None
    if r[1] == sst.LINKED and v == -1:
        return True, v
    if r[1] == sst.ENUM:
        allowed = (0, 12, 24, 36, 48) if name == "nominal_voltage" else range(len(r[7]))
        return v in allowed, v
    if r[1] == sst.TEMP:       # issue 18: 0 (off) or whole °C in 0.01 K
        c, rem = divmod(v - sst.ZERO_C_CK, 100)
        return v == 0 or (rem == 0 and r[4] <= c <= r[5]), v
    return r[4] <= v <= r[5], v


slot_bytes = st.one_of(st.none(), st.binary(max_size=300), st.integers(0, 3))


def _slot(kind, k, data):
    """Bytes for a state slot: absent, random, or a record (valid, implausible, or with flipped bits)."""
    if kind is None or isinstance(kind, bytes):
        return kind
    state = sample_state(k)
    if kind == 1:
        state["h7"] = 2000000000 if data.draw(st.booleans()) else state["h7"]
        state["last_sync_s"] = state["op_time_s"] + data.draw(st.integers(0, 2))
    rec = bytearray(CODEC.encode(state, k))
    if kind == 2:
        i = data.draw(st.integers(0, len(rec) - 1))
        rec[i] ^= 1 << data.draw(st.integers(0, 7))
    return bytes(rec)


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(settings_docs(), st.one_of(json_values, st.fixed_dictionaries({"offset_nV": json_values,
                                                                       "op_time_s": json_values})),
       slot_bytes, slot_bytes, st.data())
def test_random_files_never_crash_the_boot_or_lose_a_valid_value(sdoc, cdoc, a, b, data):
    root = Path(tempfile.mkdtemp(prefix="boot_prop_"))
    try:
        raw_s = json.dumps(sdoc).encode()
        raw_c = json.dumps(cdoc).encode()
        (root / "settings.json").write_bytes(raw_s)
        (root / "calibration.json").write_bytes(raw_c)
        (root / "key_entropy.json").write_text('{"drawn_with_entropy": 1}')   # a key drawn with the radio on
        slots = {}
        for name, kind, k in ((SLOTS[0], a, 2), (SLOTS[1], b, 3)):
            blob = _slot(kind, k, data)
            if blob is not None:
                (root / name).write_bytes(blob)
                slots[name] = blob
        rnd = [0]

        def urandom(n):
            rnd[0] += 1
            return bytes((rnd[0] + i) & 0xFF for i in range(n))
        app = App(None, None, store=Store(str(root), CODEC), urandom=urandom, log=lambda s: None)
        state0 = app.monitor.get_state()
        restored0 = app.monitor.restored      # before the samples: a sync among them clears `restored` on purpose
        for _ in range(3):
            app.count_sample(12800, -2000, 1000)

        # settings: every valid stored value is in force
        damaged = False
        vals = sdoc.get("values") if isinstance(sdoc, dict) else None
        if (isinstance(sdoc, dict) and sdoc.get("schema") == 1 and not isinstance(sdoc.get("schema"), bool)
                and isinstance(vals, dict)):
            for name in sst.NAMES:
                if name not in vals:
                    damaged |= name not in sst.ADDED_LATER      # a setting newer than the file takes its default
                    continue
                ok, v = _valid(name, vals[name])
                if ok and not (name == "instant_readout_key" and v == b""):
                    assert app.settings.values[name] == v, (name, vals[name])
                damaged |= not ok
            flag = sdoc.get("charged_voltage_user_set", 0)
            damaged |= not (flag in (0, 1) and not isinstance(flag, bool) and isinstance(flag, int))
        else:
            damaged = True
        if damaged:
            assert (root / "settings.json").read_bytes() == raw_s          # never replaced by the firmware
            assert (root / "settings.bad").read_bytes() == raw_s
            assert app.monitor.warnings & W10
            assert any(d.startswith("settings.json: ") for d in app.diagnostics)

        # calibration: a valid offset is in force, a bad one is named and not used
        nv = cdoc.get("offset_nV") if isinstance(cdoc, dict) else None
        if isinstance(nv, int) and not isinstance(nv, bool) and abs(nv) <= 5000 * app.settings["shunt_rating_mv"]:
            assert app.device.offset_nv == nv
        else:
            assert app.device.offset_nv == 0 and app.monitor.warnings & W10
            assert (root / "calibration.json").read_bytes() == raw_c
            assert any(d.startswith("calibration.json: ") for d in app.diagnostics)

        # state: the newest plausible record is the one restored
        best = None
        for name, blob in slots.items():
            rec, _ = CODEC.decode(blob)
            if rec is not None and check_state(rec[1]) is None and (best is None or rec[0] > best[0]):
                best = rec
        if best is None:
            assert not restored0 and not app.monitor.restored
        else:
            assert restored0
            for name in ("op_time_s", "h4", "h10", "e_chg_cwh", "last_sync_s"):
                assert state0[name] == best[1][name], name
        for name, blob in slots.items():
            rec, _ = CODEC.decode(blob)
            if rec is None or check_state(rec[1]) is not None:
                assert app.monitor.warnings & W10 and any(name in d for d in app.diagnostics)
    finally:
        shutil.rmtree(root)
