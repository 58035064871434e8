"""tools/deploy.py (dry run, build, secret, mpremote call), board/package.json and board/manifest.py against the
firmware tree."""
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIRMWARE = ROOT / "firmware"
DEPLOY = ROOT / "tools" / "deploy.py"
SECRET = "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff"


def expected_board_files():
    """What the board must get, derived from the tree: every firmware .py except fakes, compiled to .mpy, except
    the top-level main.py/boot.py (source); plus board_config.py as source."""
    out = set()
    for p in FIRMWARE.rglob("*.py"):
        rel = p.relative_to(FIRMWARE)
        if rel.parts[0] == "fakes" or "__pycache__" in rel.parts:
            continue
        if len(rel.parts) == 1 and rel.name in ("main.py", "boot.py"):
            out.add(rel.as_posix())
        else:
            out.add(rel.with_suffix(".mpy").as_posix())
    out.add("board_config.py")
    return out


def run(*args):
    return subprocess.run([sys.executable, str(DEPLOY), *args], capture_output=True, text=True, timeout=120)


def listed(stdout):
    return {line.split()[0][1:] for line in stdout.splitlines() if line.startswith("  :")}


def test_dry_run_lists_exactly_the_firmware_tree_and_does_nothing(tmp_path):
    build = tmp_path / "build"
    r = run("--dry-run", "--build-dir", str(build), "--port", "/dev/ttyTEST")
    assert r.returncode == 0, r.stderr
    files = listed(r.stdout)
    assert files == expected_board_files()
    assert "shunt/convert.mpy" in files and "drivers/ina226.mpy" in files
    assert not any("fakes" in f for f in files) and "fakes" not in r.stdout
    assert not any(f.endswith(".py") for f in files - {"main.py", "boot.py", "board_config.py"})
    assert not build.exists()                          # nothing built
    cmd = [line for line in r.stdout.splitlines() if line.strip().startswith("mpremote ")]
    assert len(cmd) == 1
    assert "connect /dev/ttyTEST" in cmd[0] and "fs cp -r" in cmd[0]


def test_dry_run_with_secret_lists_secret_txt_but_never_prints_it(tmp_path):
    r = run("--dry-run", "--build-dir", str(tmp_path / "b"), "--secret", SECRET)
    assert r.returncode == 0, r.stderr
    assert "secret.txt" in listed(r.stdout)
    assert SECRET.lower() not in r.stdout.lower()


def test_bad_secret_is_one_line_error():
    r = run("--dry-run", "--secret", "abc")
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and "Traceback" not in r.stderr
    assert "64 hex" in r.stderr


def test_build_only_compiles_every_file_for_xtensawin(tmp_path):
    build = tmp_path / "build"
    r = run("--build-only", "--build-dir", str(build), "--secret", SECRET)
    assert r.returncode == 0, r.stderr
    got = {p.relative_to(build).as_posix() for p in build.rglob("*") if p.is_file()}
    assert got == expected_board_files() | {"secret.txt"}
    for name in got:
        if name.endswith(".mpy"):
            assert (build / name).read_bytes()[:2] == b"M\x06", name     # mpy v6 (PL §2.4)
    assert (build / "secret.txt").read_text() == SECRET.lower()     # 64 hex chars, no newline
    assert (build / "board_config.py").read_text() == (ROOT / "board" / "board_config.py").read_text()


def test_deploy_runs_one_mpremote_command_and_removes_the_secret(tmp_path):
    log = tmp_path / "args.json"
    fake = tmp_path / "mpremote"
    fake.write_text("#!%s\nimport json, sys\njson.dump(sys.argv[1:], open(%r, 'w'))\n" % (sys.executable, str(log)))
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    build = tmp_path / "build"
    r = run("--build-dir", str(build), "--port", "/dev/ttyTEST", "--mpremote", str(fake), "--secret", SECRET)
    assert r.returncode == 0, r.stderr
    args = json.loads(log.read_text())
    assert args[:3] == ["connect", "/dev/ttyTEST", "exec"]
    cp = args.index("cp")
    assert args[cp - 1] == "fs" and args[cp + 1] == "-r"
    end = args.index(":", cp)
    sources = args[cp + 2:end]
    assert str(build / "shunt") in sources and str(build / "drivers") in sources
    assert str(build / "secret.txt") in sources
    assert args[-2:] == ["+", "reset"]
    assert not (build / "secret.txt").exists()         # the secret does not stay on the host
    # The clean-up removes .py twins that would shadow the new .mpy files on the board.
    assert "/shunt/convert.py" in args[3]


def test_failing_mpremote_is_one_line_error(tmp_path):
    fake = tmp_path / "mpremote"
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    r = run("--build-dir", str(tmp_path / "b"), "--mpremote", str(fake))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "mpremote failed" in r.stderr


def test_package_json_maps_every_firmware_file():
    pj = json.loads((ROOT / "board" / "package.json").read_text())
    targets = {t for t, _ in pj["urls"]}
    want = {f[:-4] + ".py" if f.endswith(".mpy") else f for f in expected_board_files()}
    assert targets == want, "board/package.json is stale: run python tools/deploy.py --write-package-json"
    for target, url in pj["urls"]:
        assert url.startswith("github:")
        where = "board/" if target == "board_config.py" else "firmware/"
        assert url.endswith("/" + where + target), (target, url)
    assert ["aioble", "latest"] in pj["deps"]


def test_manifest_freezes_the_packages_and_not_the_fakes():
    calls = []
    env = {
        "include": lambda *a, **k: calls.append(("include",) + a),
        "require": lambda *a, **k: calls.append(("require",) + a),
        "package": lambda name, base_path=".", **k: calls.append(("package", name, base_path)),
        "module": lambda name, base_path=".", **k: calls.append(("module", name, base_path)),
    }
    board = ROOT / "board"
    exec(compile((board / "manifest.py").read_text(), "manifest.py", "exec"), env)
    assert ("require", "aioble") in calls
    packages = {c[1] for c in calls if c[0] == "package"}
    assert packages == {"shunt", "proto", "drivers"}
    for kind, name, base in (c for c in calls if c[0] in ("package", "module")):
        assert "fakes" not in name
        path = (board / base / name).resolve()
        if kind == "module" and not path.exists() and name == "app.py":
            pytest.skip("firmware/app.py is not written yet")
        assert path.exists(), path


def _dry_run_cmd(*extra):
    import shlex
    r = run("--dry-run", "--port", "/dev/ttyTEST", *extra)
    assert r.returncode == 0, r.stderr
    line = [ln for ln in r.stdout.splitlines() if ln.strip().startswith("mpremote ")][0]
    return shlex.split(line)


def _steps(cmd):
    steps, cur = [], []
    for a in cmd[3:]:
        if a == "+":
            steps.append(cur)
            cur = []
        else:
            cur.append(a)
    return steps + [cur]


def test_deploy_sequence_survives_a_running_firmware_and_its_watchdog():
    # Issue 12 items 2 and 8: against a board already running the firmware (WDT armed, cannot be stopped:
    # ports/esp32/machine_wdt.c), the watchdog gets its longest timeout before the copy, a reset during the copy
    # comes back in safe mode, aioble is installed, and the flag goes only after everything was copied.
    steps = _steps(_dry_run_cmd())
    kinds = [s[0] if s[0] != "fs" else "fs " + s[1] for s in steps]
    assert kinds == ["exec", "fs cp", "mip", "exec", "reset"], kinds
    main_src = (FIRMWARE / "main.py").read_text()
    import re
    idle = int(re.search(r"^WDT_IDLE_MS = const\((\d+)\)", main_src, re.M).group(1))
    assert "machine.WDT(timeout=%d)" % idle in steps[0][1]
    assert 'open(\\"safe_mode\\"' in steps[0][1]
    assert steps[2] == ["mip", "install", "aioble"]
    assert 'os.remove("safe_mode")' in steps[3][1]
    assert "aioble" not in " ".join(_dry_run_cmd("--no-aioble"))


def test_deploy_board_side_code_runs_on_micropython(tmp_path):
    # The exec strings of steps 2 and 5 run on the MicroPython unix port against a fake machine.WDT (a board's
    # flash = a temporary directory): the flag appears, a stale .py is removed, the flag is removed at the end.
    import shutil
    mp = shutil.which("micropython") or str(Path(sys.executable).parent / "micropython")
    steps = _steps(_dry_run_cmd())
    (tmp_path / "machine.py").write_text("log = []\ndef WDT(id=0, timeout=5000):\n    log.append(timeout)\n")
    board = tmp_path / "flash"
    (board / "shunt").mkdir(parents=True)
    code = steps[0][1].replace(" /shunt/convert.py", " " + str(board) + "/shunt/convert.py")
    (board / "shunt" / "convert.py").write_text("stale")
    script = ("import sys\nsys.path.insert(0, %r)\nimport os\nos.chdir(%r)\n%s\nimport machine\n"
              "print(machine.log, 'safe_mode' in os.listdir())\n%s\nprint('safe_mode' in os.listdir())\n"
              % (str(tmp_path), str(board), code, steps[3][1]))
    r = subprocess.run([mp, "-c", script], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr + r.stdout
    idle = int(steps[0][1].split("machine.WDT(timeout=")[1].split(")")[0])
    assert r.stdout.split("\n")[:2] == ["[%d] True" % idle, "False"], r.stdout
    assert not (board / "shunt" / "convert.py").exists()
