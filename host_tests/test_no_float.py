"""Integer fixed point only (issue 2): no float literal, no float(), no true division anywhere in the firmware that
runs per sample or per second. The ESP32's floats are single precision and allocate; the spec's numbers are
exact integers (battery-monitor.md §0.2)."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The core, the adapters and the app. Excluded: the fake INA226 (a model of the physical world, test-only).
FILES = sorted((ROOT / "firmware" / "shunt").glob("*.py")) + sorted((ROOT / "firmware" / "proto").glob("*.py")) + sorted((ROOT / "firmware" / "drivers").glob("*.py")) \
    + [ROOT / "firmware" / "app.py", ROOT / "firmware" / "main.py"]


def float_uses(source):
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, (float, complex)):
            found.append((node.lineno, "float literal %r" % node.value))
        elif isinstance(node, (ast.BinOp, ast.AugAssign)) and isinstance(node.op, ast.Div):
            found.append((node.lineno, "true division '/'"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("float", "complex"):
            found.append((node.lineno, "%s()" % node.func.id))
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "math":
            found.append((node.lineno, "math.%s" % node.attr))
        elif isinstance(node, ast.Import) and any(a.name in ("math", "fractions", "decimal") for a in node.names):
            found.append((node.lineno, "import of a float module"))
    return found


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_firmware_uses_no_float(path):
    assert float_uses(path.read_text()) == []


def test_the_scan_finds_each_kind_of_float():
    src = "a = 1.5\nb = c / d\nb /= 2\ne = float('3')\nimport math\nf = math.sqrt(2)\ng = self.log(1) // 2\n"
    assert sorted(float_uses(src)) == [(1, "float literal 1.5"), (2, "true division '/'"), (3, "true division '/'"),
                                       (4, "float()"), (5, "import of a float module"), (6, "math.sqrt")]
