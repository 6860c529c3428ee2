"""Comparable sales ("comps"): which closed sales are comparable to a subject property.

A comp (DOMAIN.md, Property: Comps) is a closed sale of the same tenant:

- StandardStatus `Closed` with a close price and a close date,
- closed within the last `months_back` calendar months up to `as_of` (default 12),
- of the same PropertyType as the subject, and not the subject itself,
- whose living area is within +-20 % of the subject's (0.8 * subject <= comp <= 1.2 * subject),
- within the radius: 0.5 mile by default, widened to 1 mile when fewer than 3 sales qualify
  within 0.5 mile. An explicit radius is searched as given, without widening.

Comps are ordered nearest first, then most recent sale, then id: a total order, so the same
data always gives the same comps in the same order. At most `MAX_COMPS` are kept.

Distances are great-circle miles computed by PostgreSQL's earthdistance (a sphere of radius
earth() = 6,378,168 m); storage hands them in with each candidate. The storage query applies
the same rules to narrow the candidates; `select_comps` applies them again, so the rules live
here and are unit-tested without a database.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum

from domain.errors import DomainError, ErrorCode, FieldError
from domain.property import Property, StandardStatus

DEFAULT_RADIUS_MILES = 0.5
WIDENED_RADIUS_MILES = 1.0
MIN_COMPS = 3
DEFAULT_MONTHS_BACK = 12
AREA_TOLERANCE = Decimal("0.20")
MAX_COMPS = 50  # the most comps one valuation uses (and `comps(first:)` may ask for)
DEFAULT_FIRST = 20
MAX_RADIUS_MILES = 10.0
MAX_MONTHS_BACK = 60
METERS_PER_MILE = 1609.344
CLOSED = StandardStatus.CLOSED.value


class CompGap(Enum):
    """Why a property has no comps (and so no ARV): a reason, never an error."""

    NO_LOCATION = "NO_LOCATION"
    NO_PROPERTY_TYPE = "NO_PROPERTY_TYPE"
    NO_LIVING_AREA = "NO_LIVING_AREA"
    NO_COMPS = "NO_COMPS"


@dataclass(frozen=True, slots=True)
class CompSearch:
    """Where and how far back to look: the radius, an optional wider radius, the months."""

    radius_miles: float = DEFAULT_RADIUS_MILES
    widen_to_miles: float | None = WIDENED_RADIUS_MILES
    months_back: int = DEFAULT_MONTHS_BACK

    @property
    def search_miles(self) -> float:
        """The widest radius this search may use (what storage must look within)."""
        return max(self.radius_miles, self.widen_to_miles or 0.0)


DEFAULT_SEARCH = CompSearch()


@dataclass(frozen=True, slots=True)
class Candidate:
    """A property storage found near a subject, with its distance from the subject."""

    property: Property
    distance_miles: float


@dataclass(frozen=True, slots=True)
class CompSelection:
    """The comps of a subject, the radius they came from, and the gap when there are none."""

    comps: tuple[Candidate, ...]
    radius_miles: float
    widened: bool
    gap: CompGap | None
    reason: str | None


def comp_search(radius_miles: float | None, months_back: int | None) -> CompSearch:
    """A validated search: radiusMiles in (0, 10], monthsBack in [1, 60]; omitted -> defaults."""
    errors: list[FieldError] = []
    if radius_miles is not None and not 0 < radius_miles <= MAX_RADIUS_MILES:
        errors.append(
            FieldError(
                ErrorCode.INVALID,
                f"radiusMiles must be greater than 0 and at most {MAX_RADIUS_MILES:g}.",
                ("radiusMiles",),
            )
        )
    if months_back is not None and not 1 <= months_back <= MAX_MONTHS_BACK:
        errors.append(
            FieldError(
                ErrorCode.INVALID,
                f"monthsBack must be between 1 and {MAX_MONTHS_BACK}.",
                ("monthsBack",),
            )
        )
    if errors:
        raise DomainError(*errors)
    months = DEFAULT_MONTHS_BACK if months_back is None else months_back
    if radius_miles is None:
        return CompSearch(months_back=months)
    return CompSearch(radius_miles=float(radius_miles), widen_to_miles=None, months_back=months)


def comps_first(first: int | None) -> int:
    """How many comps to show: default 20, at most 50."""
    if first is None:
        return DEFAULT_FIRST
    if not 0 <= first <= MAX_COMPS:
        raise DomainError.of(
            ErrorCode.INVALID, f"first must be between 0 and {MAX_COMPS}.", "first"
        )
    return first


def months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier (clamped to the month's last day)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def area_bounds(living_area: Decimal) -> tuple[Decimal, Decimal]:
    """The living areas a comp may have: within +-20 % of the subject's, inclusive."""
    return living_area * (1 - AREA_TOLERANCE), living_area * (1 + AREA_TOLERANCE)


def subject_gap(subject: Property) -> CompGap | None:
    """What a subject lacks to be compared at all (location, type, living area), if anything."""
    if subject.latitude is None or subject.longitude is None:
        return CompGap.NO_LOCATION
    if subject.property_type is None:
        return CompGap.NO_PROPERTY_TYPE
    if subject.living_area is None or subject.living_area <= 0:
        return CompGap.NO_LIVING_AREA
    return None


def is_comparable(subject: Property, candidate: Candidate, search: CompSearch, as_of: date) -> bool:
    """Whether a candidate is a comp of the subject within the search's widest radius."""
    comp = candidate.property
    if comp.id == subject.id or comp.tenant_id != subject.tenant_id:
        return False
    if comp.standard_status != CLOSED or comp.close_price is None or comp.close_date is None:
        return False
    if not months_before(as_of, search.months_back) <= comp.close_date <= as_of:
        return False
    if comp.property_type != subject.property_type or subject.living_area is None:
        return False
    if comp.living_area is None:
        return False
    low, high = area_bounds(subject.living_area)
    if not low <= comp.living_area <= high:
        return False
    return candidate.distance_miles <= search.search_miles


def _order(candidate: Candidate) -> tuple[float, int, str]:
    comp = candidate.property
    close = comp.close_date.toordinal() if comp.close_date else 0
    return (candidate.distance_miles, -close, str(comp.id))


def _miles(value: float) -> str:
    return f"{value:g} mile" + ("" if value == 1 else "s")


def _no_comps_reason(subject: Property, search: CompSearch, radius: float) -> str:
    area = f"{subject.living_area:,.0f}" if subject.living_area is not None else "?"
    return (
        f"No closed sales of {subject.property_type} within {_miles(radius)} in the last "
        f"{search.months_back} months with a living area within 20 % of {area} sq ft."
    )


GAP_REASONS = {
    CompGap.NO_LOCATION: "The property has no latitude and longitude, so no sales are near it.",
    CompGap.NO_PROPERTY_TYPE: "The property has no property type to compare sales by.",
    CompGap.NO_LIVING_AREA: "The property has no living area to compare sales by.",
}


def select_comps(
    subject: Property, candidates: list[Candidate], search: CompSearch, as_of: date
) -> CompSelection:
    """The subject's comps, nearest first: within the radius, widened when fewer than 3."""
    gap = subject_gap(subject)
    if gap is not None:
        return CompSelection((), search.radius_miles, False, gap, GAP_REASONS[gap])
    eligible = sorted(
        (c for c in candidates if is_comparable(subject, c, search, as_of)), key=_order
    )
    radius, widened = search.radius_miles, False
    chosen = [c for c in eligible if c.distance_miles <= radius]
    if len(chosen) < MIN_COMPS and search.widen_to_miles and search.widen_to_miles > radius:
        radius, widened = search.widen_to_miles, True
        chosen = [c for c in eligible if c.distance_miles <= radius]
    chosen = chosen[:MAX_COMPS]
    if not chosen:
        reason = _no_comps_reason(subject, search, radius)
        return CompSelection((), radius, widened, CompGap.NO_COMPS, reason)
    return CompSelection(tuple(chosen), radius, widened, None, None)


# Property fields that decide whether and how a sale is a comp (a change re-values neighbours).
COMP_INPUTS = frozenset(
    {
        "close_price",
        "close_date",
        "living_area",
        "latitude",
        "longitude",
        "property_type",
        "bedrooms_total",
        "bathrooms_total_integer",
        "year_built",
    }
)


def changes_comps_nearby(event_type: str, payload: dict[str, object]) -> bool:
    """Whether an event may change neighbours' comps: a closed sale came, went or changed."""
    if event_type in ("property.created", "property.deleted"):
        return payload.get("standard_status") == CLOSED
    if event_type == "property.status_changed":
        return CLOSED in (payload.get("from"), payload.get("to"))
    if event_type == "property.updated":
        changed = payload.get("changed")
        fields = set(changed) if isinstance(changed, list) else set()
        return payload.get("standard_status") == CLOSED and bool(COMP_INPUTS & fields)
    return False
