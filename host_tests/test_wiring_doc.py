"""board/WIRING.md gives safe advice (issue 12 item 10): the ESP32 ground is the INA226 ground (battery side of the
shunt), so its supply negative must be on the battery side or the supply isolated; opto-coupler outputs such as
the HCPL2531's are open collector and need pull-ups."""
from pathlib import Path

WIRING = (Path(__file__).resolve().parent.parent / "board" / "WIRING.md").read_text()


def _section(title):
    a = WIRING.index("## " + title)
    b = WIRING.find("\n## ", a + 3)
    return " ".join(WIRING[a:b if b > 0 else None].split())


def test_supply_negative_on_the_battery_side_or_isolated():
    power = _section("Powering the ESP32")
    assert "battery-side" in power and "supply negative must also come from the battery side" in power
    assert "isolated" in power.lower()
    assert "system side if it should" not in power       # the old advice shorted the shunt through the ground


def test_opto_coupler_outputs_need_pull_ups():
    link = _section("VE.Direct: levels and isolation")
    assert "HCPL2531" in link and "open collector" in link and "pull-up" in link
