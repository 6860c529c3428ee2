"""What deliveries say: e-mail subjects and bodies, and the webhook JSON body.

IDs in webhook bodies are the API's global IDs, so partners can ask the API for more.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.alert import Alert
from domain.money import money_text
from integrations.delivery.email import Email

MAX_DIGEST_ITEMS = 200


def global_id(type_name: str, local_id: UUID | None) -> str | None:
    """Relay global ID (the same encoding as resolvers/ids.py)."""
    if local_id is None:
        return None
    return base64.b64encode(f"{type_name}:{local_id}".encode()).decode()


def _price(prop: dict[str, Any] | None) -> str:
    if not prop or prop.get("list_price") is None:
        return "no list price"
    return money_text(Decimal(prop["list_price"]))


def _facts(prop: dict[str, Any] | None) -> str:
    if not prop:
        return "(the property was deleted)"
    parts = [_price(prop)]
    if prop.get("bedrooms") is not None:
        parts.append(f"{prop['bedrooms']} bd")
    if prop.get("bathrooms") is not None:
        parts.append(f"{prop['bathrooms']} ba")
    if prop.get("living_area") is not None:
        parts.append(f"{Decimal(prop['living_area']):,.0f} sqft")
    if prop.get("property_type"):
        parts.append(str(prop["property_type"]))
    return " · ".join(parts)


def _reasons(alert: Alert) -> list[str]:
    return [
        f"  - {reason.get('code')} (+{reason.get('weight', 0)}): {reason.get('detail', '')}"
        for reason in alert.reasons
    ]


def _address(prop: dict[str, Any] | None) -> str:
    return str(prop["address"]) if prop else "a property"


def instant_email(to: str, name: str, alert: Alert, prop: dict[str, Any] | None) -> Email:
    """One e-mail for one match, sent as it happens."""
    score = f" (match score {alert.score})" if alert.score is not None else ""
    lines = [
        f"Hi {name},",
        "",
        alert.title + score,
        "",
        _address(prop),
        _facts(prop),
        "",
        alert.body,
    ]
    if alert.reasons:
        lines += ["", "Why it fits:", *_reasons(alert)]
    lines += [
        "",
        f"Property ID: {global_id('Property', alert.property_id)}",
        "You get this because a saved search of yours sends e-mail at once (INSTANT).",
    ]
    return Email(to=to, subject=alert.title[:200], body="\n".join(lines))


def digest_email(
    to: str, name: str, day: date, items: Sequence[tuple[Alert, dict[str, Any] | None]]
) -> Email:
    """One e-mail with every match since the previous digest, best score first."""
    ordered = sorted(items, key=lambda item: (-(item[0].score or 0), str(item[0].id)))
    count = len(ordered)
    noun = "property" if count == 1 else "properties"
    subject = f"Your daily matches for {day.isoformat()}: {count} {noun}"
    intro = f"{count} {noun} matched your saved searches since the last digest:"
    lines = [f"Hi {name},", "", intro, ""]
    for number, (alert, prop) in enumerate(ordered[:MAX_DIGEST_ITEMS], start=1):
        score = f"score {alert.score}" if alert.score is not None else "no score"
        lines += [
            f"{number}. {_address(prop)} — {_facts(prop)} ({score})",
            f"   {alert.body}",
            "",
        ]
    if count > MAX_DIGEST_ITEMS:
        lines.append(f"... and {count - MAX_DIGEST_ITEMS} more in your alert inbox.")
    lines.append("You get this daily because a saved search of yours sends a DAILY digest.")
    return Email(to=to, subject=subject, body="\n".join(lines))


def webhook_body(delivery_id: UUID, alert: Alert, prop: dict[str, Any] | None) -> bytes:
    """The JSON a webhook receives for one alert (compact, keys sorted)."""
    body: dict[str, Any] = {
        "id": str(delivery_id),
        "type": "alert.matched" if alert.kind == "PROPERTY_MATCH" else "alert.created",
        "createdAt": alert.created_at.isoformat() if alert.created_at else None,
        "alert": {
            "id": global_id("Alert", alert.id),
            "kind": alert.kind,
            "title": alert.title,
            "body": alert.body,
            "score": alert.score,
            "reasons": alert.reasons,
            "savedSearchId": global_id("SavedSearch", alert.saved_search_id),
        },
        "property": None,
    }
    if prop:
        body["property"] = {
            "id": global_id("Property", alert.property_id),
            "unparsedAddress": prop.get("address"),
            "city": prop.get("city"),
            "stateOrProvince": prop.get("state"),
            "postalCode": prop.get("postal_code"),
            "listPrice": None if prop.get("list_price") is None else str(prop["list_price"]),
            "bedroomsTotal": prop.get("bedrooms"),
            "bathroomsTotalInteger": prop.get("bathrooms"),
            "livingArea": None if prop.get("living_area") is None else str(prop["living_area"]),
            "propertyType": prop.get("property_type"),
            "standardStatus": prop.get("standard_status"),
            "latitude": prop.get("latitude"),
            "longitude": prop.get("longitude"),
        }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
