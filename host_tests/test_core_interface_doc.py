"""docs/core-interface.md is tested against the code: every `name(...)` and `.name` it lists under a section
heading exists on that section's module or class (an instance where the heading shows a constructor call)."""
import importlib
import re
from pathlib import Path

from shunt.settings import Settings
from shunt.monitor import Monitor
from shunt.zero_current import ZeroCurrent
from proto.device import Device

DOC = Path(__file__).resolve().parent.parent / "docs" / "core-interface.md"


def _targets():
    s = Settings()
    mon = Monitor(s)
    return {
        "shunt.settings": [importlib.import_module("shunt.settings"), s],
        "shunt.monitor.Monitor(settings)": [mon, importlib.import_module("shunt.monitor")],
        "shunt.sync": [importlib.import_module("shunt.sync")],
        "shunt.fixed": [importlib.import_module("shunt.fixed")],
        "shunt.zero_current.ZeroCurrent()": [ZeroCurrent()],
        "proto.device.Device(monitor, settings, storage, urandom, zero, offset_nv, offset_op_s, log)":
            [Device(mon, s, None, zero=ZeroCurrent())],
    }


def _names(text):
    """The API names of one section: `name(` callables and `.name` attributes inside backticks."""
    out = set()
    for tick in re.findall(r"`([^`]+)`", text):
        m = re.match(r"^\.?([A-Za-z_]\w*)\(", tick)
        if m:
            out.add(m.group(1))
        m = re.match(r"^\.([A-Za-z_]\w*)$", tick)
        if m:
            out.add(m.group(1))
    return out


def sections(doc):
    parts = re.split(r"^## `([^`]+)`.*$", doc, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def missing(doc, targets):
    bad = []
    for head, body in sections(doc).items():
        if head not in targets:
            continue
        for name in sorted(_names(body)):
            if name in ("Settings", "Monitor", "ValueError", "OSError"):
                continue
            if not any(hasattr(t, name) for t in targets[head]):
                bad.append("%s: %s" % (head, name))
    return bad


def test_every_documented_name_exists():
    doc = DOC.read_text()
    targets = _targets()
    assert set(targets) <= set(sections(doc)), set(targets) - set(sections(doc))
    assert missing(doc, targets) == []


def test_a_stale_name_is_caught():
    # `apply_zero_current` was documented for years without existing (issue 16).
    doc = DOC.read_text().replace("`zero_current_ok()`", "`apply_zero_current(offset_nv)`")
    assert missing(doc, _targets()) == ["shunt.monitor.Monitor(settings): apply_zero_current"]
