"""The root schema assembled from the domains."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, ParserCache
from strawberry.types import ExecutionContext

from schema.alert import Alert, AlertMutation, AlertQuery
from schema.auth import AuthMutation, AuthQuery, Tenant, User
from schema.compiled import compiled_execution
from schema.construction import (
    Bid,
    ConstructionMutation,
    ConstructionProject,
    ConstructionQuery,
    Contractor,
    Inspection,
    Task,
)
from schema.deal import Deal, DealMutation, DealQuery, Offer, TimelineEntry
from schema.document import Document, DocumentMutation, DocumentQuery, Photo
from schema.extensions import CloseSession, error_policy
from schema.finance import Account, FinanceMutation, FinanceQuery, Transaction
from schema.limits import QueryLimits, limits_extension
from schema.node import NodeQuery
from schema.observation import observation_extension
from schema.partner import PartnerMutation, PartnerQuery
from schema.property import Property, PropertyMutation, PropertyQuery
from schema.rate_limits import RateLimitExtension
from schema.saved_search import (
    SavedSearch,
    SavedSearchMutation,
    SavedSearchQuery,
    WebhookEndpoint,
)
from schema.search import SearchQuery
from schema.subscription import Subscription
from schema.timeouts import apply_field_timeouts


@strawberry.type(description="Read operations.")
class Query(
    NodeQuery,
    AuthQuery,
    PropertyQuery,
    SearchQuery,
    DealQuery,
    FinanceQuery,
    ConstructionQuery,
    DocumentQuery,
    AlertQuery,
    SavedSearchQuery,
    PartnerQuery,
):
    pass


@strawberry.type(description="Write operations: noun first, one input, a payload with errors.")
class Mutation(
    AuthMutation,
    PropertyMutation,
    DealMutation,
    FinanceMutation,
    ConstructionMutation,
    DocumentMutation,
    AlertMutation,
    SavedSearchMutation,
    PartnerMutation,
):
    pass


NODE_TYPES = [
    Property,
    User,
    Tenant,
    Deal,
    Offer,
    TimelineEntry,
    Transaction,
    Account,
    ConstructionProject,
    Contractor,
    Bid,
    Task,
    Inspection,
    Document,
    Photo,
    Alert,
    SavedSearch,
    WebhookEndpoint,
]


class ReosSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Errors are logged once, structured, by ErrorPolicy; nothing else prints them."""


def build_schema(
    introspection: bool = True,
    limits: QueryLimits | None = None,
    field_timeout_seconds: float = 0,
    mask_suggestions: bool = False,
    tracing: bool = False,
    compiled: bool = True,
) -> strawberry.Schema:
    """The schema; without introspection, __schema and __type queries fail validation.

    With mask_suggestions, validation messages give no hints about the schema ("Did you
    mean", type names), so it cannot be rebuilt by probing. With tracing, each operation (and
    each of its SQL statements) is an OpenTelemetry span.
    """
    extensions: list = [
        observation_extension(tracing),  # first: wraps everything, sees the shaped errors
        CloseSession,
        error_policy(mask_suggestions),
        ParserCache(maxsize=512),
        limits_extension(limits or QueryLimits()),  # validates (cached), then measures
        RateLimitExtension,  # after the limits: charges the measured cost
        compiled_execution(compiled, field_timeout_seconds),  # last: plans covered queries
    ]
    if not introspection:
        extensions.append(AddValidationRules([NoSchemaIntrospectionCustomRule]))
    schema = ReosSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=NODE_TYPES,
        extensions=extensions,
    )
    apply_field_timeouts(schema._schema, field_timeout_seconds)
    return schema
