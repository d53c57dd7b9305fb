"""Zones and jurisdictions as data: complete tables, valid zones, and the fallback order."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

import pytest

from recobro.compliance.jurisdictions import JURISDICTIONS, Jurisdiction, jurisdictions_for
from recobro.compliance.zones import COUNTRY_ZONES, STATE_ZONES, zones_for

US_STATES = (
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK "
    "OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC"
).split()
MX_STATES = (
    "AGU BCN BCS CAM CHP CHH CMX COA COL DUR GUA GRO HID JAL MEX MIC MOR NAY NLE OAX PUE QUE ROO SLP SIN SON "
    "TAB TAM TLA VER YUC ZAC"
).split()


def test_every_us_state_and_dc_has_zones() -> None:
    assert len(US_STATES) == 51
    missing = [s for s in US_STATES if f"US-{s}" not in STATE_ZONES]
    assert missing == []


def test_all_32_mexican_states_have_zones() -> None:
    assert len(MX_STATES) == 32
    assert sorted(s for s in STATE_ZONES if s.startswith("MX-")) == sorted(f"MX-{s}" for s in MX_STATES)


def test_colombia_is_on_bogota_time() -> None:
    co = {z for s, zs in STATE_ZONES.items() if s.startswith("CO-") for z in zs}
    assert co == {"America/Bogota"}
    assert "CO-DC" in STATE_ZONES
    assert COUNTRY_ZONES["CO"] == ("America/Bogota",)


def test_every_zone_in_the_tables_exists() -> None:
    for zones in (*STATE_ZONES.values(), *COUNTRY_ZONES.values()):
        assert zones
        for zone in zones:
            ZoneInfo(zone)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("US-AZ", {"America/Phoenix", "America/Denver"}),
        ("US-TX", {"America/Chicago", "America/Denver"}),
        ("US-CA", {"America/Los_Angeles"}),
        ("MX-SON", {"America/Hermosillo"}),
        ("MX-BCN", {"America/Tijuana"}),
        ("MX-ROO", {"America/Cancun"}),
        ("MX-CMX", {"America/Mexico_City"}),
    ],
)
def test_state_zone_rows(state: str, expected: set[str]) -> None:
    assert set(STATE_ZONES[state]) == expected


@pytest.mark.parametrize(
    ("number_zones", "state", "country", "expected"),
    [
        # one zone from the number decides, whatever the state says
        (("America/Phoenix",), "US-NY", "US", ("America/Phoenix",)),
        # several zones: the state decides
        (("America/New_York", "America/Chicago", "America/Denver"), "US-CA", "US", ("America/Los_Angeles",)),
        # several zones, state in lower case
        (("America/New_York", "America/Chicago"), "us-ca", "US", ("America/Los_Angeles",)),
        # several zones, no state: all of them
        (("America/New_York", "America/Chicago"), None, "US", ("America/New_York", "America/Chicago")),
        # several zones, unknown state: all of them
        (("America/New_York", "America/Chicago"), "US-XX", "US", ("America/New_York", "America/Chicago")),
        # no zone: the state
        ((), "MX-SON", "MX", ("America/Hermosillo",)),
        # no zone, no state: the whole country
        ((), None, "CO", ("America/Bogota",)),
        ((), None, "MX", COUNTRY_ZONES["MX"]),
        # nothing places the debtor
        ((), None, "ZZ", ()),
        ((), None, None, ()),
    ],
)
def test_zones_for(
    number_zones: tuple[str, ...], state: str | None, country: str | None, expected: tuple[str, ...]
) -> None:
    assert zones_for(number_zones, state, country) == expected


def test_us_country_fallback_leaves_out_the_territories() -> None:
    assert "Pacific/Guam" not in COUNTRY_ZONES["US"]
    assert "America/Puerto_Rico" not in COUNTRY_ZONES["US"]
    assert {"America/New_York", "Pacific/Honolulu", "America/Anchorage"} <= set(COUNTRY_ZONES["US"])


def test_jurisdiction_rows() -> None:
    assert set(JURISDICTIONS) == {"US", "MX", "CO"}
    for code, j in JURISDICTIONS.items():
        assert j.country == code
        assert len(j.hours) == 7
        assert j.calling_code.startswith("+")
    co = JURISDICTIONS["CO"]
    assert co.hours[6] is None  # Sunday
    assert co.hours[5] == (time(8, 0), time(15, 0))
    assert co.holidays_country == "CO"
    assert co.max_contacts_per_day == 1
    assert JURISDICTIONS["US"].hours[6] == (time(8, 0), time(21, 0))
    assert JURISDICTIONS["MX"].hours[0] == (time(7, 0), time(22, 0))


@pytest.mark.parametrize(
    "hours",
    [
        ((time(8, 0), time(21, 0)),) * 6,  # six days
        ((time(21, 0), time(8, 0)),) * 7,  # inverted
    ],
)
def test_a_bad_row_is_refused(hours: tuple[tuple[time, time], ...]) -> None:
    with pytest.raises(ValueError, match="ZZ"):
        Jurisdiction("ZZ", "Zeta", "Zeta", "+999", "none", hours)


@pytest.mark.parametrize(
    ("country", "number", "expected"),
    [
        ("US", "+16025550123", ("US",)),
        ("MX", "+525512345678", ("MX",)),
        ("MX", "+16025550123", ("MX", "US")),
        ("CO", "+525512345678", ("CO", "MX")),
        ("US", "+442071234567", ("US",)),  # a number no row covers: the account's rules
        ("CA", "+16135550123", None),  # no row for the account's country
        ("co", "+573211234567", ("CO",)),
    ],
)
def test_jurisdictions_for(country: str, number: str, expected: tuple[str, ...] | None) -> None:
    found = jurisdictions_for(country, number)
    assert (None if found is None else tuple(j.country for j in found)) == expected
