"""Channel names: always tenant-scoped, so a subscriber can only ever hear its own tenant."""

from __future__ import annotations

from typing import Any
from uuid import UUID


def deal_channel(tenant_id: UUID, deal_id: UUID) -> str:
    return f"t:{tenant_id}:deal:{deal_id}"


def project_channel(tenant_id: UUID, project_id: UUID) -> str:
    return f"t:{tenant_id}:project:{project_id}"


def user_channel(tenant_id: UUID, user_id: UUID) -> str:
    return f"t:{tenant_id}:user:{user_id}"


def channels_for(envelope: dict[str, Any]) -> list[str]:
    """Where an outbox event is published: its aggregate's channel (and a user's, for alerts)."""
    tenant = envelope["tenant_id"]
    kind, aggregate = envelope["aggregate_type"], envelope["aggregate_id"]
    channels = [f"t:{tenant}:{kind}:{aggregate}"]
    user = envelope.get("payload", {}).get("user_id")
    if envelope["event_type"].startswith("alert.") and user:
        channels.append(f"t:{tenant}:user:{user}")
    return channels
