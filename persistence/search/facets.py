"""Facets of a property search: the fields, the bands, and buckets from raw counts.

Both backends count the same way: over every property that matches the whole search (query,
filter and radius), including the facet's own filter, so the buckets of a facet always add up to
the total (plus `other`, the properties in buckets past the first MAX_BUCKETS). Properties without
a value are counted in a bucket whose value is None.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

MAX_BUCKETS = 100

CITY = "city"
POSTAL_CODE = "postal_code"
PROPERTY_TYPE = "property_type"
STANDARD_STATUS = "standard_status"
BEDROOMS = "bedrooms"
PRICE = "price"
FIELDS = (CITY, POSTAL_CODE, PROPERTY_TYPE, STANDARD_STATUS, BEDROOMS, PRICE)

# (label, lowest included, highest included); None: unbounded.
BEDROOM_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0", 0, 0),
    ("1", 1, 1),
    ("2", 2, 2),
    ("3", 3, 3),
    ("4", 4, 4),
    ("5+", 5, None),
)
# (label, lowest included, highest excluded) on listPrice; None: unbounded.
_PRICE_EDGES = (0, 100_000, 200_000, 300_000, 400_000, 500_000, 750_000, 1_000_000, 2_000_000)
PRICE_BANDS: tuple[tuple[str, Decimal, Decimal | None], ...] = tuple(
    (
        f"{low}-{high}" if high is not None else f"{low}+",
        Decimal(low),
        None if high is None else Decimal(high),
    )
    for low, high in zip(_PRICE_EDGES, (*_PRICE_EDGES[1:], None), strict=True)
)
BANDED = {BEDROOMS: [band[0] for band in BEDROOM_BANDS], PRICE: [band[0] for band in PRICE_BANDS]}


def bedroom_band(bedrooms: int | None) -> str | None:
    """The bedroom band of a count ("0".."4", "5+"), None without a count."""
    if bedrooms is None:
        return None
    for label, low, high in BEDROOM_BANDS:
        if bedrooms >= low and (high is None or bedrooms <= high):
            return label
    return None


def price_band(price: Decimal | None) -> str | None:
    """The price band of a list price ("0-100000" ... "2000000+": low included, high excluded)."""
    if price is None:
        return None
    for label, low, high in PRICE_BANDS:
        if price >= low and (high is None or price < high):
            return label
    return None


@dataclass(frozen=True, slots=True)
class Bucket:
    value: str | None
    count: int


@dataclass(frozen=True, slots=True)
class Facet:
    field: str
    buckets: list[Bucket]
    other: int = 0


@dataclass(frozen=True, slots=True)
class Summary:
    """What the whole search matched: the total and the facets."""

    total: int
    facets: list[Facet]


def facet(field: str, counts: Iterable[tuple[str | None, int]], other: int = 0) -> Facet:
    """A facet from (value, count) pairs: bands in band order, other fields by count then value
    (None last), at most MAX_BUCKETS buckets with the rest counted in `other`."""
    pairs = [(value, count) for value, count in counts if count > 0]
    if field in BANDED:
        order = {label: index for index, label in enumerate(BANDED[field])}
        pairs.sort(key=lambda pair: order.get(pair[0], len(order)) if pair[0] else len(order))
    else:
        pairs.sort(key=lambda pair: (pair[0] is None, -pair[1], pair[0] or ""))
    shown, rest = pairs[:MAX_BUCKETS], pairs[MAX_BUCKETS:]
    return Facet(
        field=field,
        buckets=[Bucket(value, count) for value, count in shown],
        other=other + sum(count for _, count in rest),
    )
