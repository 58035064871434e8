# Flash-wear measurement for docs/flash-wear.md (BM §14.4): the real store saving the real-size state record on
# littlefs over a RAM NOR flash the size of the ESP32 4 MiB layout's vfs partition (512 × 4 KiB blocks).
# Run: .venv/bin/micropython -X heapsize=16M host_tests/core/wear.py [saves] [other_kib]
import sys

_HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
sys.path.insert(0, _HERE + "/../../firmware")
sys.path.insert(0, _HERE)

from shunt.record import Codec
from drivers.store import Store
from state_fields import FIELDS, sample_state
import ramblock

BLOCKS = 512


def main():
    saves = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    other_kib = int(sys.argv[2]) if len(sys.argv) > 2 else 448
    dev = ramblock.RamFlash(BLOCKS)
    ramblock.mount(dev, "/w", mkfs=True)
    # the other files of the board (firmware, boot.py): fixed, never rewritten
    k = 0
    while k * 16 < other_kib:
        f = open("/w/other%d.bin" % k, "wb")
        f.write(b"\x5a" * 16384)
        f.close()
        k += 1
    codec = Codec(FIELDS)
    store = Store("/w", codec)
    store.load_state()
    s = Store("/w", codec)
    s.save_json("settings.json", {"schema": 1, "values": {"capacity": 200}})
    s.save_json("calibration.json", {"offset_nV": 0, "op_time_s": 0})
    e0 = dev.erases
    p0 = dev.progs
    base = list(dev.erase_count)
    for i in range(saves):
        st = sample_state(i)
        ok, d = store.save_state(st)
        if not ok:
            raise SystemExit("save %d failed: %s" % (i, d))
    erases = dev.erases - e0
    per = [dev.erase_count[b] - base[b] for b in range(BLOCKS)]
    used = sum(1 for x in per if x)
    mx = max(per)
    print("record bytes", codec.record_size)
    print("saves", saves, "other files KiB", other_kib)
    print("erases", erases, "per save x1000", erases * 1000 // saves)
    print("programs per save x1000", (dev.progs - p0) * 1000 // saves)
    print("blocks erased at least once", used, "of", BLOCKS)
    print("max erases on one block", mx, "mean over rotating blocks x100", erases * 100 // max(1, used))
    print("max/mean x100", mx * used * 100 // max(1, erases))
    ramblock.umount("/w")


main()
