"""The PostgreSQL search backend: full text (tsvector), typos (pg_trgm), radius (haversine),
facets (GROUPING SETS). Two statements per search: the page, then, when asked for, the total and
every facet together.

Matching: every query word must match, either as typed or as the prefix of a word of the
address, city, postal code, listing ID, APN, county or state (`search_vector @@ 'word:*'`, GIN
index), or, for words of letters only with at least 4 of them that no property of the tenant
has as typed (a typo, then), with a close spelling (`word <% search_text`: trigram word
similarity >= pg_trgm.word_similarity_threshold, 0.6 by default; trigram GIN index). "Austn"
finds Austin; "787" finds every ZIP code starting 787.

Ranking (`score`, higher first; see `score_expression`): exact matches come in tiers that no
amount of partial matching can reach:
    8  the query is the whole address, or its beginning up to a word break ("12 Main St")
  + 4  the query is the city, or the city and state ("Austin", "Austin TX")
  + 2  the query is the postal code, listing ID or APN
  + 1.4  every word matched as typed or as a prefix (no typo needed), else
    0.4 * (0.75 * word_similarity(query, search_text) + 0.25 * word_similarity(query, city))
    (how close the typo is, the city counting extra; below 0.4)
  + 0.5 * ts_rank (weights: address and city A, ids B, county and state C; capped at 1)
rounded to 6 places, so the cursor can carry it exactly. Ties go to the nearer property (with a
radius), then to the property id.

Radius: a latitude/longitude box narrows (btree; the earthdistance GiST index cannot serve the
application role under row-level security, its operators not being leakproof), then the
great-circle distance on the mean-radius sphere (6,371,008.8 m, as Elasticsearch's arc distance)
decides (haversine in plain float arithmetic).

Indexes and row-level security: PostgreSQL checks the tenant policy before any condition that is
not leakproof, so only leakproof conditions can drive an index scan for the application role.
Migration 0007 marks @@ and the trigram word-similarity operators LEAKPROOF (when it runs as a
superuser), so the full-text and trigram GIN indexes serve; the tenant_id btree indexes always
do.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Float,
    Numeric,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.sql.elements import ColumnElement

from domain.property import Property
from persistence.database import TenantSession
from persistence.property import COLUMNS
from persistence.property import _conditions as filter_conditions
from persistence.search import (
    EARTH_MEAN_RADIUS_M,
    GeoRadius,
    SearchHit,
    SearchRequest,
    SearchResults,
    once,
)
from persistence.search.facets import (
    BEDROOM_BANDS,
    BEDROOMS,
    CITY,
    FIELDS,
    POSTAL_CODE,
    PRICE,
    PRICE_BANDS,
    PROPERTY_TYPE,
    STANDARD_STATUS,
    Summary,
    facet,
)
from persistence.search.text import fuzzy
from persistence.tables import properties

c = properties.c
search_vector = literal_column("properties.search_vector", TSVECTOR)
search_address = literal_column("properties.search_address")
search_city = literal_column("properties.search_city")
SIMPLE = literal_column("'simple'::regconfig")
SCORE_PLACES = 6
DISTANCE_PLACES = 2


def _tsquery(expression: str) -> ColumnElement[Any]:
    # Words are letters and digits only (persistence.search.text), so they are safe tsquery text.
    return func.to_tsquery(SIMPLE, expression)


def _word_matches(request: SearchRequest, word: str) -> ColumnElement[bool]:
    """The word as typed or as a prefix; or, when no property of the tenant has a word starting
    with it (a typo, then), a close spelling. The check is one uncorrelated EXISTS (evaluated
    once per search), so common words never pay for trigram similarity on every row."""
    as_typed = search_vector.op("@@")(_tsquery(f"{word}:*"))
    if not fuzzy(word):
        return as_typed
    known = (
        select(literal(1))
        .select_from(properties)
        .where(c.tenant_id == request.tenant_id, as_typed)
        .limit(1)
        .exists()
    )
    return or_(as_typed, and_(~known, literal(word).op("<%")(c.search_text)))


def _distance_m(request: SearchRequest) -> ColumnElement[Any] | None:
    """Great-circle distance in meters from the search's point (haversine, plain float math:
    far cheaper per row than earthdistance's SQL functions)."""
    near = request.near
    if near is None:
        return None
    lat1, lon1 = math.radians(near.latitude), math.radians(near.longitude)
    lat2, lon2 = func.radians(c.latitude), func.radians(c.longitude)
    half = func.power(func.sin((lat2 - lat1) / 2), 2) + math.cos(lat1) * func.cos(
        lat2
    ) * func.power(func.sin((lon2 - lon1) / 2), 2)
    return 2 * EARTH_MEAN_RADIUS_M * func.asin(func.sqrt(func.least(half, 1.0)))


def bounding_box(near: GeoRadius) -> tuple[float, float, float | None, float | None]:
    """Latitude and longitude bounds that contain the circle (longitude None: unbounded, near a
    pole or across the antimeridian)."""
    degrees = math.degrees(near.radius_m / EARTH_MEAN_RADIUS_M) * 1.001
    south, north = near.latitude - degrees, near.latitude + degrees
    if north >= 90 or south <= -90:
        return max(south, -90.0), min(north, 90.0), None, None
    spread = (
        math.degrees(
            math.asin(
                min(
                    1.0,
                    math.sin(near.radius_m / EARTH_MEAN_RADIUS_M)
                    / math.cos(math.radians(near.latitude)),
                )
            )
        )
        * 1.001
    )
    west, east = near.longitude - spread, near.longitude + spread
    if west < -180 or east > 180:
        return south, north, None, None
    return south, north, west, east


def _radius_conditions(request: SearchRequest) -> list[ColumnElement[bool]]:
    """A latitude/longitude box (btree on (tenant_id, latitude, longitude); float comparisons
    are leakproof, so it serves under row-level security), then the exact distance."""
    near = request.near
    if near is None:
        return []
    south, north, west, east = bounding_box(near)
    where = [
        c.latitude.is_not(None),
        c.longitude.is_not(None),
        c.latitude.between(south, north),
    ]
    if west is not None and east is not None:
        where.append(c.longitude.between(west, east))
    distance = _distance_m(request)
    assert distance is not None
    where.append(distance <= near.radius_m)
    return where


def conditions(request: SearchRequest) -> list[Any]:
    """Everything a property must satisfy: tenant, filters, words, radius."""
    where = filter_conditions(request.filter)
    where += [_word_matches(request, word) for word in request.words]
    where += _radius_conditions(request)
    return where


def score_expression(words: list[str]) -> ColumnElement[Any]:
    """The ranking score of a property for these words (module docstring); 0 without words."""
    if not words:
        return cast(literal(0), Numeric)
    phrase = " ".join(words)
    every_word = _tsquery(" & ".join(f"{word}:*" for word in words))
    exact_address = or_(search_address == phrase, search_address.like(f"{phrase} %"))
    # City names have no digits and IDs have some: each tier is only computed where it can hold.
    has_digit = any(character.isdigit() for character in phrase)
    exact_city: ColumnElement[bool] = false()
    exact_id: ColumnElement[bool] = false()
    if not has_digit:
        exact_city = or_(
            search_city == phrase,
            search_city.concat(" ").concat(func.lower(c.state_or_province)) == phrase,
        )
    else:
        exact_id = or_(
            func.search_fold(c.postal_code) == phrase,
            func.search_fold(c.listing_id) == phrase,
            func.search_fold(c.parcel_number) == phrase,
        )
    as_typed = search_vector.op("@@")(every_word)
    closeness = 0.75 * cast(func.word_similarity(phrase, c.search_text), Float) + 0.25 * cast(
        func.word_similarity(phrase, search_city), Float
    )  # a misspelt city beats the same misspelling in a street name
    score = (
        case((exact_address, 8), else_=0)
        + case((exact_city, 4), else_=0)
        + case((exact_id, 2), else_=0)
        + case((as_typed, 1.4), else_=0.4 * closeness)  # trigrams only for typo matches
        + 0.5 * func.least(cast(func.ts_rank(search_vector, every_word), Float), 1.0)
    )
    return func.round(cast(score, Numeric), SCORE_PLACES)


def _band(column: Any, bands: Any, upper_inclusive: bool) -> ColumnElement[Any]:
    whens = []
    for label, low, high in bands:
        bounds = [column >= low]
        if high is not None:
            bounds.append(column <= high if upper_inclusive else column < high)
        whens.append((and_(*bounds), label))
    return case(*whens, else_=None)


def page_statement(request: SearchRequest) -> Any:
    """The page: limit + 1 rows after the cursor's key, best first."""
    distance = _distance_m(request)
    distance_key = (
        cast(literal(0), Numeric)
        if distance is None
        else func.round(cast(distance, Numeric), DISTANCE_PLACES)
    )
    inner = (
        select(
            *COLUMNS,
            score_expression(request.words).label("search_score"),
            distance_key.label("search_distance"),
        )
        .where(*conditions(request))
        .subquery("matched")
    )
    order = (-inner.c.search_score, inner.c.search_distance, inner.c.id)
    statement = select(inner)
    if request.after is not None:
        score, distance_m, row_id = request.after
        statement = statement.where(tuple_(*order) > tuple_(-score, distance_m, row_id))
    return statement.order_by(
        inner.c.search_score.desc(), inner.c.search_distance.asc(), inner.c.id.asc()
    ).limit(request.limit + 1)


def summary_statement(request: SearchRequest) -> Any:
    """The total and every facet in one pass: GROUPING SETS, one set per facet, plus ()."""
    inner = (
        select(
            c.city.label(CITY),
            c.postal_code.label(POSTAL_CODE),
            c.property_type.label(PROPERTY_TYPE),
            c.standard_status.label(STANDARD_STATUS),
            _band(c.bedrooms_total, BEDROOM_BANDS, upper_inclusive=True).label(BEDROOMS),
            _band(c.list_price, PRICE_BANDS, upper_inclusive=False).label(PRICE),
        )
        .where(*conditions(request))
        .subquery("matched")
    )
    columns = [inner.c[name] for name in FIELDS]
    return select(
        *columns,
        func.grouping(*columns).label("grouping"),
        func.count().label("n"),
    ).group_by(func.grouping_sets(*columns, text("()")))


def summary_from_rows(rows: Any) -> Summary:
    """Unpack GROUPING SETS rows: bit i of `grouping` is set when FIELDS[i] is rolled up."""
    counts: dict[str, list[tuple[str | None, int]]] = {name: [] for name in FIELDS}
    total = 0
    every = (1 << len(FIELDS)) - 1
    for row in rows:
        if row.grouping == every:
            total = int(row.n)
            continue
        for index, name in enumerate(FIELDS):
            if not row.grouping & (1 << (len(FIELDS) - 1 - index)):
                counts[name].append((row._mapping[name], int(row.n)))
    return Summary(total=total, facets=[facet(name, counts[name]) for name in FIELDS])


class PostgresSearch:
    """Search with the request's own tenant session (RLS applies as to every other read)."""

    name = "pg"

    async def search(self, session: TenantSession, request: SearchRequest) -> SearchResults:
        rows = await session.fetch(page_statement(request))
        hits = []
        for row in rows:
            values = dict(row._mapping)
            score, distance = values.pop("search_score"), values.pop("search_distance")
            prop = Property(**values)
            hits.append(
                SearchHit(
                    property_id=prop.id,
                    property=prop,
                    score=float(score),
                    distance_m=None if request.near is None else float(distance),
                    key=[str(score), str(distance), str(prop.id)],
                )
            )

        async def summary() -> Summary:
            return summary_from_rows(await session.fetch(summary_statement(request)))

        return SearchResults(hits=hits, summary=once(summary))

    def parse_key(self, raw: list[Any]) -> list[Any]:
        score, distance, row_id = raw
        numbers = [Decimal(score), Decimal(distance)]  # strings we issued; floats are refused
        if not all(number.is_finite() for number in numbers):
            raise ValueError("not a finite sort key")
        return [*numbers, UUID(row_id)]

    async def close(self) -> None:
        return None
