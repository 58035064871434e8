"""The phone page (web/) in real headless Chromium against `tools/simulate.py never_syncs --web`: over the
simulator's WebSocket, and over Web Bluetooth with a fake navigator.bluetooth (host_tests/web_fake_bluetooth.js)
bridged to the same real console. The screenshots in docs/web/ (shown in the README) are taken here."""
from __future__ import annotations

import re
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from web_harness import ROOT, SECRET, SHOTS, Console, ConsoleBridge, Sim, chromium, page_errors


@pytest.fixture
def sim():
    s = Sim("never_syncs")
    yield s
    s.close()


def _wait(driver, cond, timeout=15, msg=""):
    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(lambda d: cond(d), msg)


def _js(driver, script, *args):
    return driver.execute_script(script, *args)


def _status_sample(driver, last_t):
    """Wait for the next dashboard refresh: (V, I, SOC as the console sent them), when the page asked for them
    and when it showed them (the page's Date.now(), ms)."""
    js = ("const g = (id) => document.getElementById(id);"
          "return [g('updated').dataset.t || '', g('updated').dataset.asked || '',"
          "        g('v').dataset.raw, g('i').dataset.raw, g('soc').dataset.raw]")
    r = _wait(driver, lambda d: (lambda r: r if r[0] and r[1] and r[0] != last_t else None)(_js(d, js)),
              msg="no dashboard refresh")
    return r[2:], int(r[1]) / 1000.0, r[0]


def _check_dashboard_matches_vedirect(driver, sim, samples=3):
    """V, I and SOC on the page equal those of a VE.Direct block sent within one second of the refresh (from
    one second before the page asked to one second after it showed them; blocks come once a second)."""
    last = ""
    for _ in range(samples):
        (v, i, soc), asked, last = _status_sample(driver, last)
        shown = int(last) / 1000.0
        _wait(driver, lambda d: sim.blocks and sim.blocks[-1][0] > shown + 1.0, msg="VE.Direct stopped")
        near = [b for t, b in sim.blocks if asked - 1.0 <= t <= shown + 1.0]   # time.time(), as Date.now()
        v_mv = round(float(v.split()[0]) * 1000)
        i_ma = round(float(i.split()[0]) * 1000)
        soc_permille = round(float(soc.split()[0]) * 100) // 10     # VE.Direct SOC is soc_cpct // 10
        assert any(b["V"] == str(v_mv) and b["I"] == str(i_ma) and b["SOC"] == str(soc_permille) for b in near), \
            "page V=%s I=%s SOC=%s asked %.2f shown %.2f; VE.Direct: %s" % (
                v, i, soc, asked, shown, [(round(t, 2), b["V"], b["I"], b["SOC"]) for t, b in sim.blocks[-6:]])


def _shot(driver, name, width, height):
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.set_window_size(width, height)
    time.sleep(0.3)
    driver.save_screenshot(str(SHOTS / name))


def _unlock(driver, secret):
    _wait(driver, lambda d: d.find_element(By.ID, "auth-dialog").get_attribute("open") is not None,
          msg="the page did not ask for the secret")
    box = driver.find_element(By.ID, "secret-in")
    box.clear()
    box.send_keys(secret)
    driver.find_element(By.ID, "auth-ok").click()


def _save(driver, name, value):
    f = driver.find_element(By.ID, "set-" + name)
    f.clear()
    f.send_keys(value)
    driver.find_element(By.CSS_SELECTOR, 'form[data-setting="%s"] button' % name).click()


def _field_state(driver, name, states=("saved", "error")):
    return _wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, 'form[data-setting="%s"]' % name)
                 .get_attribute("data-state") in states and d.find_element(
                     By.CSS_SELECTOR, 'form[data-setting="%s"]' % name).get_attribute("data-state"),
                 msg="no result for %s" % name)


def _field_error(driver, name):
    return driver.find_element(By.CSS_SELECTOR, 'p[data-err="%s"]' % name).text


def test_page_over_the_simulators_websocket(sim, tmp_path):
    d = chromium(tmp_path)
    con = Console(sim.ws_url)
    try:
        d.get(sim.url)
        _wait(d, lambda d: d.find_element(By.ID, "link-state").get_attribute("data-state") == "connected",
              msg="the page did not connect")
        _check_dashboard_matches_vedirect(d, sim)

        # never_syncs: charged_voltage 14.6 V above the charger's 14.4 V. The page says which term fails, with
        # the values and the firmware's own advice (help charged_voltage).
        terms = _wait(d, lambda d: d.find_element(By.ID, "sync-terms").text or None, msg="no sync explanation")
        assert "voltage_ok=0" in con.cmd("sync_status")
        assert re.search(r"Voltage \d+\.\d\d V is not above the charged voltage 14\.60 V", terms), terms
        assert "Too high: never syncs" in terms      # proto/setting_help.py TEXT["charged_voltage"]
        assert re.match(r"Not syncing: the voltage (and the .* conditions fail|condition fails)\.$",
                        d.find_element(By.ID, "sync-head").text), d.find_element(By.ID, "sync-head").text
        cols = "return getComputedStyle(document.querySelector('.grid.dash')).gridTemplateColumns.split(' ').length"
        _shot(d, "dashboard-phone.png", 412, 1300)
        assert _js(d, cols) == 1                     # one column below 600 px
        _shot(d, "dashboard-desktop.png", 1280, 900)
        assert _js(d, cols) == 2
        d.set_window_size(412, 915)

        d.get(sim.url + "#settings")
        _wait(d, lambda d: d.find_elements(By.ID, "set-capacity"), msg="no settings form")
        groups = [e.get_attribute("data-group") for e in d.find_elements(By.CSS_SELECTOR, "fieldset.group")]
        assert groups == ["battery", "sync", "alarms", "relay", "device"]
        names = [e.get_attribute("data-setting") for e in d.find_elements(By.CSS_SELECTOR, "form.setting")]
        listed = [ln.split("=")[0] for ln in con.cmd("list")[:-1]]
        assert sorted(names) == sorted(n for n in listed if n != "instant_readout_key")   # built from `list`
        _wait(d, lambda d: "20 h rate" in d.find_element(By.CSS_SELECTOR, 'p[data-help="capacity"]').text,
              msg="no help text for capacity")
        meta = d.find_element(By.CSS_SELECTOR, 'form[data-setting="capacity"] .meta').text
        assert meta == "Range 1..9999 Ah in steps of 1 · default 200 Ah"

        # A wrong secret: refused by the device, nothing changes, the page stays locked.
        _save(d, "capacity", "300")
        _unlock(d, "00" * 32)
        assert _field_state(d, "capacity") == "error"
        assert "AUTH: wrong answer" in _field_error(d, "capacity")
        assert con.get("capacity") == "OK capacity=200 Ah"
        assert d.find_element(By.ID, "lock").get_attribute("data-state") == "locked"

        # The right secret: changed, and the device's own `get` (another session) confirms it.
        _save(d, "capacity", "300")
        _unlock(d, SECRET)
        assert _field_state(d, "capacity") == "saved", _field_error(d, "capacity")
        assert con.get("capacity") == "OK capacity=300 Ah"
        assert d.find_element(By.ID, "lock").get_attribute("data-state") == "unlocked"

        # Out of range: the device's ERR message next to the field, nothing changed.
        _save(d, "capacity", "10000")
        assert _field_state(d, "capacity", ("error",)) == "error"
        assert _field_error(d, "capacity") == ("Not changed: VALUE: capacity '10000': must be 1..9999 Ah in "
                                               "steps of 1 (the device keeps 300 Ah)")
        assert con.get("capacity") == "OK capacity=300 Ah"
        # The test's own session was never authenticated: the page's login is its own (one session per socket).
        assert con.cmd("set capacity 250")[-1].startswith("ERR AUTH")
        d.execute_script("window.scrollTo(0, 0)")
        _shot(d, "settings-phone.png", 412, 1300)

        # History H1..H18 with units; a new Instant Readout key, shown as the device has it.
        d.find_element(By.CSS_SELECTOR, 'nav a[data-tab="history"]').click()
        rows = _wait(d, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#history tr")) == 18 and
                     [r.text for r in d.find_elements(By.CSS_SELECTOR, "#history tr")], msg="no history")
        assert rows[0].startswith("H1 deepest discharge") and rows[0].endswith(" Ah"), rows[0]
        assert rows[6].startswith("H7 min voltage") and rows[6].endswith(" V"), rows[6]
        d.find_element(By.CSS_SELECTOR, 'nav a[data-tab="actions"]').click()
        d.execute_script("window.confirm = () => true")
        d.find_element(By.CSS_SELECTOR, '[data-action="rekey"]').click()
        shown = _wait(d, lambda d: d.find_element(By.ID, "key-out").text,
                      msg="no new key shown: %s" % d.find_element(By.ID, "action-msg").text)
        assert con.login(SECRET) == "OK authenticated"
        key = con.get("instant_readout_key").split("=")[1]
        assert re.fullmatch(r"[0-9a-f]{32}", key) and shown.endswith(key), (shown, key)
        assert page_errors(d) == []
    finally:
        con.close()
        d.quit()


def _fake_bluetooth_js():
    src = (ROOT / "firmware" / "drivers" / "ble_nus.py").read_text()
    uuids = dict(re.findall(r'_(NUS|RX|TX)_UUID = bluetooth\.UUID\("([0-9A-Fa-f-]{36})"\)', src))
    js = (ROOT / "host_tests" / "web_fake_bluetooth.js").read_text()
    # Web Bluetooth names UUIDs in lower case; the fake refuses any other spelling, as Chrome does.
    return (js.replace("__SVC__", uuids["NUS"].lower()).replace("__RX__", uuids["RX"].lower())
            .replace("__TX__", uuids["TX"].lower()))


def test_page_over_web_bluetooth(sim, tmp_path):
    d = chromium(tmp_path)
    con = Console(sim.ws_url)
    try:
        d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _fake_bluetooth_js()})
        d.get(sim.url + "?transport=ble")
        _wait(d, lambda d: d.find_element(By.ID, "link-state").get_attribute("data-state") == "idle")
        assert _js(d, "return window.__fakeBle.requested") is None    # nothing before the user's click
        d.find_element(By.ID, "connect").click()                       # a user gesture, as requestDevice needs
        _wait(d, lambda d: d.find_element(By.ID, "link-state").get_attribute("data-state") == "connected",
              msg="no BLE connection: %s" % d.find_element(By.ID, "link-state").text)
        assert "Shunt-1A2B" in d.find_element(By.ID, "link-state").text
        _check_dashboard_matches_vedirect(d, sim, samples=2)
        terms = _wait(d, lambda d: d.find_element(By.ID, "sync-terms").text or None, msg="no sync explanation")
        assert "not above the charged voltage 14.60 V" in terms

        d.get(sim.url + "?transport=ble&load=2#settings")   # a new page: a new GATT connection and console session
        d.find_element(By.ID, "connect").click()
        _wait(d, lambda d: d.find_elements(By.ID, "set-capacity"), msg="no settings form over BLE")
        _save(d, "capacity", "280")
        _unlock(d, SECRET)
        assert _field_state(d, "capacity") == "saved", _field_error(d, "capacity")
        assert con.get("capacity") == "OK capacity=280 Ah"

        rec = _js(d, "return window.__fakeBle")
        assert rec["errors"] == []                       # no overlapping GATT operation, no long write, no bad UUID
        assert max(rec["writes"]) == 20                  # MTU-sized chunks: `auth <64 hex>` is 70 bytes
        assert len(rec["writes"]) > rec["lines"]         # so some lines went out in several writes
        assert rec["maxNotify"] == 20 and rec["notifications"] > 100   # replies arrived in 20-byte pieces
        assert "6e400001-b5a3-f393-e0a9-e50e24dcca9e" in rec["requested"]
        assert page_errors(d) == []
    finally:
        con.close()
        d.quit()


def test_setup_code_then_a_secret_of_ones_own(tmp_path):
    """A new device: the one-time setup code unlocks, the page offers passwd with a new secret drawn by
    WebCrypto, sends it masked, and shows it once; the device then accepts that secret (checked from a session of
    the test's own). Not ticking "remember" leaves nothing in the browser's storage."""
    b = ConsoleBridge()
    d = None
    try:
        d = chromium(tmp_path)
        d.get(b.url)
        _wait(d, lambda d: d.find_element(By.ID, "link-state").get_attribute("data-state") == "connected")
        d.find_element(By.ID, "lock").click()
        _unlock(d, b.setup_code)
        _wait(d, lambda d: d.find_element(By.ID, "passwd-dialog").get_attribute("open") is not None,
              msg="no offer to set a secret after the setup code")
        new = d.find_element(By.ID, "new-secret").text
        assert re.fullmatch(r"[0-9a-f]{64}", new)
        d.find_element(By.ID, "passwd-ok").click()
        _wait(d, lambda d: new in d.find_element(By.ID, "secret-out").text, msg="the new secret was not shown")
        con = Console(b.ws_url)
        try:
            assert con.login(new) == "OK authenticated"
        finally:
            con.close()
        assert _js(d, "return localStorage.getItem('shunt.secret')") is None
        assert page_errors(d) == []

        # Offline once loaded: with the server gone the service worker still serves the page.
        _wait(d, lambda d: _js(d, "return !!navigator.serviceWorker.controller"), msg="no service worker")
        b.close()
        d.refresh()
        _wait(d, lambda d: d.find_element(By.CSS_SELECTOR, "h1").text == "Smart shunt", msg="not offline")
        _wait(d, lambda d: d.find_element(By.ID, "link-state").get_attribute("data-state") == "idle")
    finally:
        if d is not None:
            d.quit()
        b.close()                           # also when the browser is missing: no server left running
