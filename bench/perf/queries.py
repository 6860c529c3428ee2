"""The benchmarked queries: one document for our schema and one in PostGraphile's naming each,
and for each a normaliser that turns either answer into the same plain lists of fields.

Both documents ask for the same data in the same order. Differences that are encoding only are
normalised away before the answers are compared: our IDs are global IDs (base64 "Type:uuid"),
PostGraphile's ``id`` is the uuid column, so ours are decoded to the uuid; money is a Decimal
string in both but compared as Decimal; our enums (``ACTIVE_UNDER_CONTRACT``) are the stored
text (``Active Under Contract``) upper-cased with non-alphanumerics as ``_``; timestamps are
compared as instants; our ``address { ... }`` object is PostGraphile's flat columns.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

SEARCH_WORD = "lamar"

# --------------------------------------------------------------------------- documents

OURS_DASHBOARD = """query Dashboard {
  properties(first: 50) { edges { node { id listingId listPrice
    address { unparsedAddress city stateOrProvince postalCode }
    deals(first: 20) { edges { node { id name status strategy purchasePrice
      offers { id amount status party } } } } } } }
}"""
THEIRS_DASHBOARD = """query Dashboard {
  properties(first: 50, orderBy: [CREATED_AT_DESC, ID_DESC]) { edges { node { id listingId listPrice
    unparsedAddress city stateOrProvince postalCode
    deals(first: 20, orderBy: [CREATED_AT_DESC, ID_DESC]) { edges { node {
      id name status strategy purchasePrice
      offers(orderBy: [CREATED_AT_DESC, ID_DESC]) { nodes { id amount status party } } } } } } } }
}"""

OURS_DEAL_DETAIL = """query DealDetail($id: ID!) {
  deal(id: $id) { id name status strategy purchasePrice estimatedRepairs arv
    property { id listingId listPrice address { unparsedAddress city } }
    offers { id amount status party }
    timeline(first: 50) { edges { node { kind message createdAt } } }
    team { role user { name email } } }
}"""
THEIRS_DEAL_DETAIL = """query DealDetail($id: UUID!, $tenantId: UUID!) {
  deal(id: $id, tenantId: $tenantId) { id name status strategy purchasePrice estimatedRepairs arv
    property { id listingId listPrice unparsedAddress city }
    offers(orderBy: [CREATED_AT_DESC, ID_DESC]) { nodes { id amount status party } }
    timelineEntries(first: 50, orderBy: SEQ_DESC) { edges { node { kind message createdAt } } }
    team(orderBy: [ADDED_AT_ASC, USER_ID_ASC]) { nodes { role user { name email } } } }
}"""

SCALARS = (
    "id listingId listPrice bedroomsTotal bathroomsTotalInteger livingArea yearBuilt "
    "latitude longitude daysOnMarket standardStatus"
)
OURS_PROPERTIES = f"""query Properties {{
  properties(first: 100) {{ edges {{ node {{ {SCALARS} }} }} }}
}}"""
THEIRS_PROPERTIES = f"""query Properties {{
  properties(first: 100, orderBy: [CREATED_AT_DESC, ID_DESC]) {{ edges {{ node {{ {SCALARS} }} }} }}
}}"""

OURS_SEARCH = f"""query Search {{
  propertySearch(query: "{SEARCH_WORD}", first: 20) {{ totalCount edges {{ node {{
    id listingId listPrice bedroomsTotal address {{ unparsedAddress city postalCode }} }} }} }}
}}"""
THEIRS_SEARCH = f"""query Search {{
  properties(filter: {{ searchText: {{ includesInsensitive: "{SEARCH_WORD}" }} }}, first: 20,
             orderBy: ID_ASC) {{ totalCount edges {{ node {{
    id listingId listPrice bedroomsTotal unparsedAddress city postalCode }} }} }}
}}"""


# --------------------------------------------------------------------------- normalising


def uuid_of(global_id: str) -> str:
    """The uuid of one of our global IDs (base64 "Type:uuid")."""
    return base64.b64decode(global_id).decode().partition(":")[2]


def money(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def enum(value: str | None) -> str | None:
    return None if value is None else re.sub(r"[^A-Z0-9]+", "_", value.upper()).strip("_")


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _edges(connection: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in connection["edges"]]


def _address(node: dict[str, Any], ours: bool, keys: tuple[str, ...]) -> dict[str, Any]:
    source = node["address"] if ours else node
    return {key: source[key] for key in keys}


def _offer(node: dict[str, Any], ours: bool) -> dict[str, Any]:
    return {
        "id": uuid_of(node["id"]) if ours else node["id"],
        "amount": money(node["amount"]),
        "status": node["status"],
        "party": node["party"],
    }


def _deal_core(node: dict[str, Any], ours: bool) -> dict[str, Any]:
    return {
        "id": uuid_of(node["id"]) if ours else node["id"],
        "name": node["name"],
        "status": node["status"],
        "strategy": node["strategy"],
        "purchasePrice": money(node["purchasePrice"]),
        "offers": [_offer(o, ours) for o in (node["offers"] if ours else node["offers"]["nodes"])],
    }


def normalise_dashboard(data: dict[str, Any], ours: bool) -> list[dict[str, Any]]:
    keys = ("unparsedAddress", "city", "stateOrProvince", "postalCode")
    return [
        {
            "id": uuid_of(node["id"]) if ours else node["id"],
            "listingId": node["listingId"],
            "listPrice": money(node["listPrice"]),
            "address": _address(node, ours, keys),
            "deals": [_deal_core(deal, ours) for deal in _edges(node["deals"])],
        }
        for node in _edges(data["properties"])
    ]


def normalise_deal_detail(data: dict[str, Any], ours: bool) -> dict[str, Any]:
    deal = data["deal"]
    prop = deal["property"]
    timeline = deal["timeline"] if ours else deal["timelineEntries"]
    team = deal["team"] if ours else deal["team"]["nodes"]
    return {
        **_deal_core(deal, ours),
        "estimatedRepairs": money(deal["estimatedRepairs"]),
        "arv": money(deal["arv"]),
        "property": {
            "id": uuid_of(prop["id"]) if ours else prop["id"],
            "listingId": prop["listingId"],
            "listPrice": money(prop["listPrice"]),
            "address": _address(prop, ours, ("unparsedAddress", "city")),
        },
        "timeline": [
            {"kind": e["kind"], "message": e["message"], "createdAt": instant(e["createdAt"])}
            for e in _edges(timeline)
        ],
        "team": [{"role": m["role"], "user": m["user"]} for m in team],
    }


def normalise_properties(data: dict[str, Any], ours: bool) -> list[dict[str, Any]]:
    return [
        {
            "id": uuid_of(node["id"]) if ours else node["id"],
            "listingId": node["listingId"],
            "listPrice": money(node["listPrice"]),
            "bedroomsTotal": node["bedroomsTotal"],
            "bathroomsTotalInteger": node["bathroomsTotalInteger"],
            "livingArea": money(node["livingArea"]),
            "yearBuilt": node["yearBuilt"],
            "latitude": node["latitude"],
            "longitude": node["longitude"],
            "daysOnMarket": node["daysOnMarket"],
            "standardStatus": enum(node["standardStatus"]),
        }
        for node in _edges(data["properties"])
    ]


def normalise_search(data: dict[str, Any], ours: bool) -> dict[str, Any]:
    found = data["propertySearch"] if ours else data["properties"]
    return {
        "totalCount": found["totalCount"],
        "page": [
            {
                "id": uuid_of(node["id"]) if ours else node["id"],
                "listingId": node["listingId"],
                "listPrice": money(node["listPrice"]),
                "bedroomsTotal": node["bedroomsTotal"],
                "address": _address(node, ours, ("unparsedAddress", "city", "postalCode")),
            }
            for node in _edges(found)
        ],
    }


# --------------------------------------------------------------------------- the set


@dataclass(frozen=True)
class Query:
    name: str
    label: str
    ours: str
    theirs: str | None  # None: benchmarked on our server only
    normalise: Callable[[dict[str, Any], bool], Any]
    note: str = ""
    # Variables need the data (the detail deal's IDs); filled in by variables().
    needs_deal: bool = False

    def variables(self, ours: bool, deal_uuid: str, tenant_id: str) -> dict[str, Any] | None:
        if not self.needs_deal:
            return None
        if ours:
            return {"id": base64.b64encode(f"Deal:{deal_uuid}".encode()).decode()}
        return {"id": deal_uuid, "tenantId": tenant_id}

    def count_objects(self, normalised: Any) -> int:
        """Objects in the answer (nodes of every list and nested object), for the report."""
        return _count(normalised)


def _count(value: Any) -> int:
    if isinstance(value, list):
        return sum(_count(item) for item in value)
    if isinstance(value, dict):
        return 1 + sum(_count(item) for item in value.values() if isinstance(item, list | dict))
    return 0


QUERIES: dict[str, Query] = {
    "dashboard": Query(
        name="dashboard",
        label="dashboard: properties(50) > deals(20) > offers",
        ours=OURS_DASHBOARD,
        theirs=THEIRS_DASHBOARD,
        normalise=normalise_dashboard,
    ),
    "deal-detail": Query(
        name="deal-detail",
        label="deal detail: property, offers, timeline(50), team",
        ours=OURS_DEAL_DETAIL,
        theirs=THEIRS_DEAL_DETAIL,
        normalise=normalise_deal_detail,
        needs_deal=True,
    ),
    "properties": Query(
        name="properties",
        label="properties(first: 100), 10 scalars",
        ours=OURS_PROPERTIES,
        theirs=THEIRS_PROPERTIES,
        normalise=normalise_properties,
    ),
    "search": Query(
        name="search",
        label=f'search "{SEARCH_WORD}" (20 + totalCount)',
        ours=OURS_SEARCH,
        theirs=THEIRS_SEARCH,
        normalise=normalise_search,
        note=(
            "ours: propertySearch (full text with prefixes, typo fallback, relevance ranking); "
            "theirs: connection-filter `searchText: {includesInsensitive}` (ILIKE, no ranking)"
        ),
    ),
}
