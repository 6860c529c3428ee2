"""USPS-style address and parcel normalization, used to make property intake idempotent."""

from __future__ import annotations

import re
from itertools import dropwhile

from domain.errors import DomainError, ErrorCode

_PUNCTUATION = re.compile(r"[.,;:'\"\u2019]")
_NON_WORD = re.compile(r"[\W_]+")
_NON_APN = re.compile(r"[^A-Z0-9]+")
_ORDINAL = re.compile(r"\d+(ST|ND|RD|TH)")
_FRACTION = re.compile(r"\d+/\d+")
_COUNTY_WORD = re.compile(r" (COUNTY|PARISH)$")

# Standard abbreviation -> common variants (USPS Publication 28, Appendix C1).
_SUFFIX_VARIANTS: dict[str, tuple[str, ...]] = {
    "ALY": ("ALLEY", "ALLEE", "ALLY"),
    "AVE": ("AVENUE", "AV", "AVEN", "AVENU", "AVN", "AVNUE"),
    "BLVD": ("BOULEVARD", "BOUL", "BOULV"),
    "CIR": ("CIRCLE", "CIRC", "CIRCL", "CRCL", "CRCLE"),
    "CT": ("COURT", "CRT"),
    "CTR": ("CENTER", "CENTRE", "CEN", "CENT", "CENTR", "CNTER", "CNTR"),
    "CV": ("COVE",),
    "DR": ("DRIVE", "DRIV", "DRV"),
    "EXPY": ("EXPRESSWAY", "EXP", "EXPR", "EXPRESS", "EXPW"),
    "FWY": ("FREEWAY", "FREEWY", "FRWAY", "FRWY"),
    "GRV": ("GROVE", "GROV"),
    "HL": ("HILL",),
    "HTS": ("HEIGHTS", "HT"),
    "HWY": ("HIGHWAY", "HIGHWY", "HIWAY", "HIWY", "HWAY"),
    "LN": ("LANE",),
    "LOOP": (),
    "MT": ("MOUNT", "MNT"),
    "PIKE": ("PIKES",),
    "PKWY": ("PARKWAY", "PARKWY", "PKWAY", "PKY"),
    "PL": ("PLACE",),
    "PLZ": ("PLAZA", "PLZA"),
    "PT": ("POINT",),
    "RD": ("ROAD",),
    "RDG": ("RIDGE", "RDGE"),
    "RUN": (),
    "SQ": ("SQUARE", "SQR", "SQRE", "SQU"),
    "ST": ("STREET", "STR", "STRT"),
    "TER": ("TERRACE", "TERR"),
    "TPKE": ("TURNPIKE", "TRNPK", "TURNPK"),
    "TRL": ("TRAIL", "TRAILS", "TRLS"),
    "VW": ("VIEW",),
    "WAY": ("WY",),
    "XING": ("CROSSING", "CRSSNG"),
}
STREET_SUFFIXES: dict[str, str] = {
    variant: standard
    for standard, variants in _SUFFIX_VARIANTS.items()
    for variant in (standard, *variants)
}
DIRECTIONALS: dict[str, str] = {
    "NORTH": "N", "SOUTH": "S", "EAST": "E", "WEST": "W",
    "NORTHEAST": "NE", "NORTHWEST": "NW", "SOUTHEAST": "SE", "SOUTHWEST": "SW",
    "N": "N", "S": "S", "E": "E", "W": "W", "NE": "NE", "NW": "NW", "SE": "SE", "SW": "SW",
}  # fmt: skip
UNIT_DESIGNATORS: frozenset[str] = frozenset(
    {"APARTMENT", "APT", "UNIT", "SUITE", "STE", "#", "NO", "NUMBER"}
)
_PLACE_WORDS: dict[str, str] = {"SAINT": "ST", "FORT": "FT", "MOUNT": "MT"}


def normalize_street_line(line: str) -> str:
    """Return the USPS-style form of a street line, e.g. "45 N OAK AVE UNIT 3"."""
    tokens = _tokenize(line)
    start = _house_number_length(tokens)
    unit_at = _unit_position(tokens, start)
    name = _normalize_name(tokens[start:unit_at])
    unit_id = list(dropwhile(lambda token: token in UNIT_DESIGNATORS, tokens[unit_at:]))
    unit = ["UNIT", *unit_id] if unit_id else []
    return " ".join([*tokens[:start], *name, *unit])


def normalize_city(city: str) -> str:
    """Return the city upper-cased with punctuation dropped and SAINT/FORT/MOUNT abbreviated."""
    words = _NON_WORD.sub(" ", city.upper()).split()
    return " ".join(_PLACE_WORDS.get(word, word) for word in words)


def address_key(street_line: str, city: str, state: str) -> str:
    """Return the identity key of a street address: "STREET LINE|CITY|STATE"."""
    return f"{normalize_street_line(street_line)}|{normalize_city(city)}|{state.strip().upper()}"


def street_line(
    street_number: str | None,
    street_name: str | None,
    unit_number: str | None,
    unparsed_address: str | None,
) -> str | None:
    """Return the street line from address components, or None when nothing is usable."""
    number = (street_number or "").strip()
    name = (street_name or "").strip()
    unit = (unit_number or "").strip()
    if number and name:
        return f"{number} {name} UNIT {unit}" if unit else f"{number} {name}"
    first_part = (unparsed_address or "").split(",", 1)[0].strip()
    return first_part or None


def parcel_key(parcel_number: str, county: str | None, state: str | None) -> str:
    """Return the identity key of a parcel: "STATE|COUNTY|APN"."""
    apn = _NON_APN.sub("", parcel_number.upper())
    if not apn:
        raise DomainError.of(ErrorCode.INVALID, "Parcel number must contain letters or digits.")
    county_name = _COUNTY_WORD.sub("", normalize_city(county or ""))
    return f"{(state or '').strip().upper()}|{county_name}|{apn}"


def _tokenize(line: str) -> list[str]:
    """Split an upper-cased street line into words, separating a leading "#" from the unit id."""
    tokens: list[str] = []
    for word in _PUNCTUATION.sub(" ", line.upper()).split():
        head, hash_sign, tail = word.partition("#")
        if hash_sign and (not head or head in UNIT_DESIGNATORS):
            tokens.extend(token for token in (head, hash_sign, tail) if token)
        else:
            tokens.append(word)
    return tokens


def _house_number_length(tokens: list[str]) -> int:
    """Return how many leading tokens form the house number ("123", "123 1/2" or none)."""
    if not tokens or not tokens[0][0].isdigit() or _ORDINAL.fullmatch(tokens[0]):
        return 0
    return 2 if len(tokens) > 1 and _FRACTION.fullmatch(tokens[1]) else 1


def _unit_position(tokens: list[str], start: int) -> int:
    """Return the index of the unit designator that is followed by a unit id, else len(tokens)."""
    for index in range(start + 1, len(tokens)):
        rest = tokens[index + 1 :]
        if tokens[index] in UNIT_DESIGNATORS and any(t not in UNIT_DESIGNATORS for t in rest):
            return index
    return len(tokens)


def _normalize_name(words: list[str]) -> list[str]:
    """Abbreviate the suffix and directionals of a street name when they are not the name itself."""
    if not words:
        return []
    last = len(words) - 1
    pre = 0 if words[0] in DIRECTIONALS else None
    post = last if last > 0 and words[last] in DIRECTIONALS else None
    candidate = last - 1 if post is not None else last
    suffix = candidate if candidate > 0 and words[candidate] in STREET_SUFFIXES else None
    if all(index in (pre, post, suffix) for index in range(len(words))):
        # A directional is the street name itself ("WEST ST"): keep the leading one as written.
        if pre is not None:
            pre = None
        else:
            post = None
    result = list(words)
    for index in (pre, post):
        if index is not None:
            result[index] = DIRECTIONALS[result[index]]
    if suffix is not None:
        result[suffix] = STREET_SUFFIXES[result[suffix]]
    return result
