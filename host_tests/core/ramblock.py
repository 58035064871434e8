# RAM block device for littlefs tests under the MicroPython unix port: NOR-flash semantics (erase sets 0xFF,
# program can only clear bits), an operation log for power-cut replay, and erase/program counters for wear.
# Not a test module (no test_ prefix): test_store, test_powercut and wear.py import it.

try:
    import vfs
except ImportError:  # older ports, and CPython (where littlefs is not used)
    try:
        import os as vfs
        vfs.VfsLfs2
    except (ImportError, AttributeError):
        vfs = None

BLOCK_SIZE = 4096
_ERASE = -1


class RamFlash:
    """A block device with the extended interface (readblocks/writeblocks with offset, ioctl 4/5/6) that
    littlefs uses on the ESP32. `log` (when a list) records every program and erase in order as
    (block, offset, bytes) or (block, _ERASE, None), so a test can rebuild the image at any cut point."""

    def __init__(self, blocks, block_size=BLOCK_SIZE, image=None):
        self.block_size = block_size
        self.blocks = blocks
        self.data = bytearray(image) if image is not None else bytearray(b"\xff" * (blocks * block_size))
        self.erases = 0
        self.progs = 0
        self.erase_count = [0] * blocks
        self.log = None

    def readblocks(self, block, buf, offset=0):
        a = block * self.block_size + offset
        buf[:] = self.data[a:a + len(buf)]

    def writeblocks(self, block, buf, offset=None):
        if offset is None:  # the simple interface: erase then program whole blocks
            for i in range(len(buf) // self.block_size):
                self.ioctl(6, block + i)
            offset = 0
        a = block * self.block_size + offset
        d = self.data
        for i in range(len(buf)):
            d[a + i] &= buf[i]  # NOR: programming clears bits only
        self.progs += 1
        if self.log is not None:
            self.log.append((block, offset, bytes(buf)))

    def ioctl(self, op, arg):
        if op == 4:
            return self.blocks
        if op == 5:
            return self.block_size
        if op == 6:
            a = arg * self.block_size
            self.data[a:a + self.block_size] = b"\xff" * self.block_size
            self.erases += 1
            self.erase_count[arg] += 1
            if self.log is not None:
                self.log.append((arg, _ERASE, None))
            return 0
        return 0  # 1 init, 2 deinit, 3 sync: nothing to do


def apply_ops(image, block_size, ops, torn=None, seed=0):
    """Apply logged operations to a bytearray image. `torn` = (op, mode) tears that extra operation: for a
    program, mode "half" programs its first half only, mode "bits" programs every byte with random bits kept
    from the old value (a program interrupted mid-byte); for an erase, "half" erases the first half of the block
    and "bits" sets random bits in it."""
    for blk, off, buf in ops:
        _apply(image, block_size, blk, off, buf, None, 0)
    if torn is not None:
        blk, off, buf = torn[0]
        _apply(image, block_size, blk, off, buf, torn[1], seed)


def _apply(image, bs, blk, off, buf, mode, seed):
    r = (seed * 1103515245 + 12345) & 0x7FFFFFFF
    if off == _ERASE:
        a = blk * bs
        n = bs
        if mode is None:
            image[a:a + n] = b"\xff" * n
        elif mode == "half":
            image[a:a + n // 2] = b"\xff" * (n // 2)
        else:
            for i in range(n):
                r = (r * 1103515245 + 12345) & 0x7FFFFFFF
                image[a + i] |= (r >> 8) & 0xFF
        return
    a = blk * bs + off
    n = len(buf)
    if mode == "half":
        n //= 2
    for i in range(n):
        if mode == "bits":
            r = (r * 1103515245 + 12345) & 0x7FFFFFFF
            image[a + i] &= buf[i] | ((r >> 8) & 0xFF)
        else:
            image[a + i] &= buf[i]


def mount(dev, path, mkfs=False):
    """Mount a VfsLfs2 on dev at path (formatting first if asked). MicroPython only."""
    if mkfs:
        vfs.VfsLfs2.mkfs(dev)
    fs = vfs.VfsLfs2(dev)
    vfs.mount(fs, path)
    return fs


def umount(path):
    try:
        vfs.umount(path)
    except OSError:
        pass
