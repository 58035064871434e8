"""Property tests of the state record (BM §14.1, §14.3): any in-range state survives encode/decode field for field;
any corruption is rejected with a reason and never raises."""
from binascii import crc32

from hypothesis import given, settings, strategies as st

from shunt.record import Codec, code_range
from state_fields import FIELDS

CODEC = Codec(FIELDS)


@st.composite
def states(draw):
    return {name: draw(st.integers(*code_range(code))) for name, code in FIELDS}


seqs = st.integers(0, 0xFFFFFFFF)


@settings(max_examples=300, deadline=None)
@given(states(), seqs)
def test_any_state_round_trips_field_for_field(state, seq):
    rec = CODEC.encode(state, seq)
    assert len(rec) == CODEC.record_size
    assert CODEC.decode(rec) == ((seq, state), "")


@settings(max_examples=300, deadline=None)
@given(states(), seqs, st.data())
def test_any_corruption_is_rejected_never_raised(state, seq, data):
    rec = bytearray(CODEC.encode(state, seq))
    kind = data.draw(st.sampled_from(["flip", "truncate", "extend", "overwrite", "splice"]))
    if kind == "flip":
        i = data.draw(st.integers(0, len(rec) - 1))
        rec[i] ^= data.draw(st.integers(1, 255))
    elif kind == "truncate":
        rec = rec[:data.draw(st.integers(0, len(rec) - 1))]
    elif kind == "extend":
        rec += data.draw(st.binary(min_size=1, max_size=64))
    elif kind == "overwrite":
        i = data.draw(st.integers(0, len(rec) - 1))
        chunk = data.draw(st.binary(min_size=1, max_size=32))
        old = bytes(rec[i:i + len(chunk)])
        rec[i:i + len(chunk)] = chunk[:len(rec) - i]
        if bytes(rec[i:i + len(chunk)]) == old:
            return  # nothing changed
    else:  # a record whose tail comes from another state: a torn write of a different record
        other = CODEC.encode(data.draw(states()), seq)
        i = data.draw(st.integers(1, len(rec) - 1))
        if other[i:] == bytes(rec[i:]) or other[:i] == bytes(rec[:i]):
            return  # the result is one of the two whole records
        rec[i:] = other[i:]
    result, why = CODEC.decode(bytes(rec))
    assert result is None
    assert why


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_decode(data):
    result, why = CODEC.decode(data)
    assert result is None and why


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=300))
def test_garbage_with_a_valid_crc_and_magic_is_still_refused_unless_the_layout_fits(payload):
    # A record-shaped blob with a correct CRC is only accepted when the version and length are the layout's.
    import struct
    body = b"SSST" + struct.pack("<HHI", CODEC.version, len(payload), 0) + payload
    rec = body + struct.pack("<I", crc32(body) & 0xFFFFFFFF)
    result, why = CODEC.decode(rec)
    if len(payload) == CODEC.payload_size:
        assert result is not None
    else:
        assert result is None and "length" in why
