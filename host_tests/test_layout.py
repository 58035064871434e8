"""Imports point down (docs/architecture.md): shunt (core) <- proto <- drivers <- app <- main. An AST scan of
every firmware import, including the ones inside functions; the core imports no hardware, clock or file system."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRMWARE = ROOT / "firmware"
FLOOR = {"shunt": 0, "proto": 1, "drivers": 2, "fakes": 2, "app": 3, "tasks": 3, "main": 4}
# Modules the core and the protocols may not import: hardware, clock, file system, transports.
NOT_PURE = {"machine", "bluetooth", "aioble", "esp32", "network", "time", "os", "uos", "utime", "socket", "json"}


def _imports(src):
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


def _floor(path):
    rel = path.relative_to(FIRMWARE)
    return FLOOR[rel.parts[0] if len(rel.parts) > 1 else rel.stem]


def violations(path, src):
    mine = _floor(path)
    name = path.relative_to(ROOT)
    for line, top in _imports(src):
        if top in FLOOR and FLOOR[top] > mine:
            yield "%s:%d imports %s (floor %d above %d)" % (name, line, top, FLOOR[top], mine)
        if mine <= 1 and top in NOT_PURE:
            yield "%s:%d imports %s: the core and the protocols stay pure" % (name, line, top)


def test_every_firmware_import_points_down():
    files = sorted(FIRMWARE.rglob("*.py"))
    assert len(files) > 30
    bad = [v for path in files for v in violations(path, path.read_text())]
    assert not bad, "\n".join(bad)


def test_the_scan_reports_an_upward_or_impure_import():
    p = FIRMWARE / "shunt" / "monitor.py"
    src = p.read_text()
    assert list(violations(p, src)) == []
    assert len(list(violations(p, src + "\nfrom drivers.store import Store\n"))) == 1
    assert len(list(violations(p, src + "\ndef f():\n    import machine\n"))) == 1
