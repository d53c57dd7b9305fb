"""Reference codes the import checks cells against: ISO 4217 currencies, ISO 3166-2 subdivisions.

Only the subdivisions of the countries Recobro dials today (MX, US) are listed; for any other
country the import checks the shape of the code only.
"""

from __future__ import annotations

# Active ISO 4217 currency codes (funds, metals and test codes left out: a debt is never owed in them).
CURRENCIES: frozenset[str] = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN
    BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL
    GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF
    KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR
    MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG
    SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD
    UYU UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL
    """.split()
)

# The currency an account is in when the file does not say, by the account's country.
DEFAULT_CURRENCY: dict[str, str] = {
    "MX": "MXN",
    "US": "USD",
    "PR": "USD",
    "CO": "COP",
    "PE": "PEN",
    "CL": "CLP",
    "AR": "ARS",
    "GT": "GTQ",
    "HN": "HNL",
    "SV": "USD",
    "NI": "NIO",
    "CR": "CRC",
    "PA": "USD",
    "DO": "DOP",
    "EC": "USD",
    "BO": "BOB",
    "PY": "PYG",
    "UY": "UYU",
    "VE": "VES",
    "ES": "EUR",
    "CA": "CAD",
    "BR": "BRL",
}

_MX = """AGU BCN BCS CAM CHH CHP CMX COA COL DUR GRO GUA HID JAL MEX MIC MOR NAY NLE OAX PUE QUE ROO SIN
SLP SON TAB TAM TLA VER YUC ZAC"""
_US = """AK AL AR AZ CA CO CT DC DE FL GA HI IA ID IL IN KS KY LA MA MD ME MI MN MO MS MT NC ND NE NH NJ
NM NV NY OH OK OR PA RI SC SD TN TX UT VA VT WA WI WV WY AS GU MP PR UM VI"""

SUBDIVISIONS: dict[str, frozenset[str]] = {
    "MX": frozenset(f"MX-{c}" for c in _MX.split()),
    "US": frozenset(f"US-{c}" for c in _US.split()),
}

# Codes withdrawn from ISO 3166-2 that creditors' systems still send.
RENAMED_SUBDIVISIONS: dict[str, str] = {"MX-DIF": "MX-CMX"}
