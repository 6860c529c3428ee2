"""The root schema assembled from the domains."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, ParserCache, ValidationCache
from strawberry.types import ExecutionContext

from schema.alert import Alert, AlertMutation, AlertQuery
from schema.auth import AuthMutation, AuthQuery, Tenant, User
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
from schema.extensions import CloseSession, ErrorPolicy
from schema.finance import Account, FinanceMutation, FinanceQuery, Transaction
from schema.limits import QueryLimits, limits_extension
from schema.node import NodeQuery
from schema.property import Property, PropertyMutation, PropertyQuery
from schema.saved_search import (
    SavedSearch,
    SavedSearchMutation,
    SavedSearchQuery,
    WebhookEndpoint,
)
from schema.search import SearchQuery
from schema.subscription import Subscription


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
    introspection: bool = True, limits: QueryLimits | None = None
) -> strawberry.Schema:
    """The schema; without introspection, __schema and __type queries fail validation."""
    extensions: list = [
        CloseSession,
        ErrorPolicy,
        ParserCache(maxsize=512),
        ValidationCache(maxsize=512),
        limits_extension(limits or QueryLimits()),  # after ValidationCache: measures valid ones
    ]
    if not introspection:
        extensions.append(AddValidationRules([NoSchemaIntrospectionCustomRule]))
    return ReosSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=NODE_TYPES,
        extensions=extensions,
    )
