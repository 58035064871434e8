"""shuntctl as a daily tool (issue 20): every read verb ends its output with a newline, `help` explains a setting
from the firmware's own text, `watch` updates in place on a terminal (rich) and prints one table per update into
a pipe, a reader that goes away (`| head`) ends it without a traceback; the simulator's progress bar is tqdm's."""
import io
import os
import subprocess
import sys
import time

from test_shuntctl_e2e import SHUNTCTL, ctl, server  # noqa: F401  (the module's console server fixture)


def test_every_read_verb_ends_with_a_newline(server):  # noqa: F811
    for verb in ("status", "sync-status", "warnings", "history", "list", "help"):
        r = ctl(server, verb, secret=None)
        assert r.returncode == 0, (verb, r.stderr)
        assert r.stdout.endswith("\n"), verb
        assert not r.stdout.endswith("\n\n"), verb


def test_help_explains_a_setting_with_the_firmwares_text(server):  # noqa: F811
    from proto import setting_help
    r = ctl(server, "help", "peukert_exponent", secret=None)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "peukert_exponent"
    assert "about=" + setting_help.TEXT["peukert_exponent"] in r.stdout      # the firmware's own sentence
    assert "range=1.00..1.50" in r.stdout
    r = ctl(server, "help", "no_such_thing", secret=None)
    assert r.returncode != 0 and "Traceback" not in r.stderr


def test_watch_into_a_pipe_prints_one_table_per_update(server):  # noqa: F811
    r = ctl(server, "watch", "--count", "3", "--interval", "0.05", secret=None)
    assert r.returncode == 0, r.stderr
    stamps = [ln for ln in r.stdout.splitlines() if len(ln) == 8 and ln[2] == ":" and ln[5] == ":"]
    assert len(stamps) == 3
    assert r.stdout.count("\nSOC ") == 3 or r.stdout.count("SOC") >= 3
    assert "\x1b[" not in r.stdout                     # no terminal control codes into a pipe or a file


def test_watch_on_a_terminal_updates_in_place(server):  # noqa: F811
    master, slave = os.openpty()
    env = dict(os.environ, COLUMNS="100", LINES="40", TERM="xterm")
    p = subprocess.Popen([sys.executable, str(SHUNTCTL), "--tcp", "127.0.0.1:%d" % server.port, "watch",
                          "--count", "3", "--interval", "0.1"], stdout=slave, stderr=subprocess.PIPE, env=env)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    p.wait(30)
    os.close(master)
    text = out.decode("utf-8", "replace")
    assert p.returncode == 0, p.stderr.read()
    assert text.count("shunt status") >= 3             # each update's title (rich draws the last again at stop)
    assert "\x1b[1A" in text or "\x1b[2K" in text       # rich moved the cursor back up: updated in place
    assert "\x1b[2J" not in text                        # not a whole-screen clear per update


def test_watch_piped_into_head_ends_without_a_traceback(server):  # noqa: F811
    p = subprocess.Popen([sys.executable, str(SHUNTCTL), "--tcp", "127.0.0.1:%d" % server.port, "watch",
                          "--interval", "0.02"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = p.stdout.readline()
    p.stdout.close()                                   # what `head -1` does after its line
    err = p.stderr.read().decode()
    p.wait(30)
    assert first.strip()
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert p.returncode == 141                          # as if killed by SIGPIPE, like other command-line tools


def test_simulator_progress_bar_is_tqdm():
    import simulate
    buf = io.StringIO()
    bar = simulate.Progress("healthy_3day", enabled=True, delay_s=0, file=buf)
    for k in range(11):
        bar(k / 10)
    out = buf.getvalue()
    assert "healthy_3day" in out and "100 %" in out
    quiet = io.StringIO()
    off = simulate.Progress("x", enabled=False, delay_s=0, file=quiet)
    off(0.5)
    off(1.0)
    assert quiet.getvalue() == ""
