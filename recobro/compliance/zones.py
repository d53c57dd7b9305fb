"""Where the debtor is in time: the IANA zones a call must respect.

The number's own zones (from phonenumbers, see ``numbers.parse_phone``) decide when there is
exactly one. A number with several zones (US toll-free numbers list dozens) or none falls back
to the account's state (ISO 3166-2); with no usable state, a several-zone number must be inside
the window in every one of its zones, and a zoneless number in every zone of its country.

The state table is data. A state that really spans zones lists all of them (first the one most
of its people live in), and the caller requires the window open in each: Texas' El Paso keeps
Mountain time, Florida's panhandle Central, Mexico's northern border strip US daylight saving.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

_NY = "America/New_York"
_CHI = "America/Chicago"
_DEN = "America/Denver"
_LA = "America/Los_Angeles"
_MX = "America/Mexico_City"
_BOG = "America/Bogota"

_US: dict[str, tuple[str, ...]] = {
    "AL": (_CHI,),
    "AK": ("America/Anchorage", "America/Juneau", "America/Sitka", "America/Metlakatla",
           "America/Yakutat", "America/Nome", "America/Adak"),
    "AZ": ("America/Phoenix", _DEN),  # the Navajo Nation keeps daylight saving
    "AR": (_CHI,),
    "CA": (_LA,),
    "CO": (_DEN,),
    "CT": (_NY,),
    "DE": (_NY,),
    "DC": (_NY,),
    "FL": (_NY, _CHI),
    "GA": (_NY,),
    "HI": ("Pacific/Honolulu",),
    "ID": ("America/Boise", _LA),
    "IL": (_CHI,),
    "IN": ("America/Indiana/Indianapolis", _CHI),
    "IA": (_CHI,),
    "KS": (_CHI, _DEN),
    "KY": ("America/Kentucky/Louisville", _CHI),
    "LA": (_CHI,),
    "ME": (_NY,),
    "MD": (_NY,),
    "MA": (_NY,),
    "MI": ("America/Detroit", "America/Menominee"),
    "MN": (_CHI,),
    "MS": (_CHI,),
    "MO": (_CHI,),
    "MT": (_DEN,),
    "NE": (_CHI, _DEN),
    "NV": (_LA,),
    "NH": (_NY,),
    "NJ": (_NY,),
    "NM": (_DEN,),
    "NY": (_NY,),
    "NC": (_NY,),
    "ND": ("America/North_Dakota/Center", _DEN),
    "OH": (_NY,),
    "OK": (_CHI,),
    "OR": (_LA, "America/Boise"),
    "PA": (_NY,),
    "RI": (_NY,),
    "SC": (_NY,),
    "SD": (_CHI, _DEN),
    "TN": (_CHI, _NY),
    "TX": (_CHI, _DEN),
    "UT": (_DEN,),
    "VT": (_NY,),
    "VA": (_NY,),
    "WA": (_LA,),
    "WV": (_NY,),
    "WI": (_CHI,),
    "WY": (_DEN,),
}

_US_TERRITORIES: dict[str, tuple[str, ...]] = {
    "PR": ("America/Puerto_Rico",),
    "VI": ("America/St_Thomas",),
    "GU": ("Pacific/Guam",),
    "MP": ("Pacific/Saipan",),
    "AS": ("Pacific/Pago_Pago",),
}

_MX_BORDER = "America/Matamoros"  # Coahuila, Nuevo León, Tamaulipas border strip (US DST)
_MX_STATES: dict[str, tuple[str, ...]] = {
    "AGU": (_MX,),
    "BCN": ("America/Tijuana",),
    "BCS": ("America/Mazatlan",),
    "CAM": ("America/Merida",),
    "CHP": (_MX,),
    "CHH": ("America/Chihuahua", "America/Ciudad_Juarez", "America/Ojinaga"),
    "CMX": (_MX,),
    "COA": ("America/Monterrey", _MX_BORDER),
    "COL": (_MX,),
    "DUR": ("America/Monterrey",),
    "GUA": (_MX,),
    "GRO": (_MX,),
    "HID": (_MX,),
    "JAL": (_MX,),
    "MEX": (_MX,),
    "MIC": (_MX,),
    "MOR": (_MX,),
    "NAY": ("America/Mazatlan", "America/Bahia_Banderas"),
    "NLE": ("America/Monterrey", _MX_BORDER),
    "OAX": (_MX,),
    "PUE": (_MX,),
    "QUE": (_MX,),
    "ROO": ("America/Cancun",),
    "SLP": (_MX,),
    "SIN": ("America/Mazatlan",),
    "SON": ("America/Hermosillo",),
    "TAB": (_MX,),
    "TAM": ("America/Monterrey", _MX_BORDER),
    "TLA": (_MX,),
    "VER": (_MX,),
    "YUC": ("America/Merida",),
    "ZAC": (_MX,),
}

# Colombia: 32 departments and the capital district, all on Bogotá time.
_CO_DEPARTMENTS = (
    "AMA", "ANT", "ARA", "ATL", "BOL", "BOY", "CAL", "CAQ", "CAS", "CAU", "CES", "CHO", "COR",
    "CUN", "DC", "GUA", "GUV", "HUI", "LAG", "MAG", "MET", "NAR", "NSA", "PUT", "QUI", "RIS",
    "SAP", "SAN", "SUC", "TOL", "VAC", "VAU", "VID",
)


def _table() -> dict[str, tuple[str, ...]]:
    table: dict[str, tuple[str, ...]] = {}
    for code, zones in (_US | _US_TERRITORIES).items():
        table[f"US-{code}"] = zones
    for code, zones in _MX_STATES.items():
        table[f"MX-{code}"] = zones
    for code in _CO_DEPARTMENTS:
        table[f"CO-{code}"] = (_BOG,)
    return table


def _union(prefix: str, exclude: frozenset[str] = frozenset()) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for state, zones in STATE_ZONES.items():
        if state.startswith(prefix) and state not in exclude:
            seen.update(dict.fromkeys(zones))
    return tuple(seen)


STATE_ZONES: Mapping[str, tuple[str, ...]] = MappingProxyType(_table())

# A zoneless number with no usable state must be inside the window in every zone of its
# country (the territories dial with their own country codes, so they are left out of US).
COUNTRY_ZONES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "US": _union("US-", frozenset(f"US-{t}" for t in _US_TERRITORIES)),
    "MX": _union("MX-"),
    "CO": (_BOG,),
})


def zones_for(number_zones: tuple[str, ...], state: str | None, country: str | None) -> tuple[str, ...]:
    """The zones whose local time the call must respect; empty when nothing places the debtor.

    One zone from the number decides; otherwise the state's zones; otherwise every zone the
    number lists; otherwise every zone of the country.
    """
    if len(number_zones) == 1:
        return number_zones
    if state:
        by_state = STATE_ZONES.get(state.upper())
        if by_state:
            return by_state
    if number_zones:
        return number_zones
    if country:
        return COUNTRY_ZONES.get(country.upper(), ())
    return ()
