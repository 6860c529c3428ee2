"""Who a request is for, in context variables: every log line of the request carries it.

The request ID is set by the server's middleware, tenant and user by the request observation
extension once the request is authenticated; `server.logging` adds them to each record.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
tenant_id_var: ContextVar[str | None] = ContextVar("tenant_id", default=None)
user_id_var: ContextVar[str | None] = ContextVar("user_id", default=None)

FIELDS = (("request_id", request_id_var), ("tenant_id", tenant_id_var), ("user_id", user_id_var))


def log_fields() -> dict[str, Any]:
    """The fields that are set in the current context."""
    return {name: value for name, var in FIELDS if (value := var.get()) is not None}
