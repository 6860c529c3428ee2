"""Query limits: depth, aliases, root fields, directives, page sizes and cost, before execution.

Depth counts levels of data: a connection's `edges` and an edge's `node` are structure and do
not add a level (`properties { edges { node { deals { ... } } } }` is two levels deep).
Measured on the validated document with its variables, so a request that would exceed a limit
is refused with `QUERY_TOO_COMPLEX` before any resolver runs. The token limit is applied by
the parser (MaxTokensLimiter). Cost: every field costs 1, and a field taking `first` multiplies
the cost of what it selects by its page size (the given `first`, else the default page).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)
from strawberry.extensions import ValidationCache

TOO_COMPLEX = "QUERY_TOO_COMPLEX"
INTROSPECTION_FIELDS = {"__schema", "__type"}


@dataclass(frozen=True)
class QueryLimits:
    max_depth: int = 10
    max_introspection_depth: int = 15
    max_aliases: int = 15
    max_root_fields: int = 20
    max_directives: int = 30
    max_first: int = 100
    max_cost: int = 50_000
    default_page: int = 20
    max_tokens: int = 2_000


@dataclass
class Shape:
    """What a document asks for, summed over its selected operation."""

    depth: int = 0
    introspection_depth: int = 0
    aliases: int = 0
    root_fields: int = 0
    directives: int = 0
    cost: int = 0
    largest_page: int = 0


def _is_relay_plumbing(scope: GraphQLNamedType | None, name: str) -> bool:
    """`edges` of a connection and `node` of an edge: structure, not another level of data."""
    type_name = getattr(scope, "name", "")
    if name == "edges":
        return type_name.endswith("Connection") or type_name.endswith("SearchResult")
    return name == "node" and type_name.endswith("Edge")


class _TooBig(Exception):
    pass


class _Measure:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        default_page: int,
        max_visits: int,
    ) -> None:
        self.max_visits = max_visits
        self.visits = 0
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.default_page = default_page
        self.shape = Shape()

    def fields(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None
    ) -> Iterator[tuple[FieldNode, GraphQLNamedType | None]]:
        """The fields a selection set selects, through fragments (valid documents: no cycles)."""
        if selection_set is None:
            return
        for selection in selection_set.selections:
            self.shape.directives += len(selection.directives or ())
            if isinstance(selection, FieldNode):
                yield selection, parent
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                scope = self.schema.get_type(condition.name.value) if condition else parent
                yield from self.fields(selection.selection_set, scope)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    self.shape.directives += len(fragment.directives or ())
                    scope = self.schema.get_type(fragment.type_condition.name.value)
                    yield from self.fields(fragment.selection_set, scope)

    def cost(
        self,
        selection_set: SelectionSetNode | None,
        parent: GraphQLNamedType | None,
        depth: int,
        introspection: bool,
    ) -> int:
        total = 0
        for node, scope in self.fields(selection_set, parent):
            self.visits += 1
            if self.visits > self.max_visits:
                raise _TooBig  # fragments spread into fragments: stop counting, refuse
            name = node.name.value
            inside = introspection or name in INTROSPECTION_FIELDS
            if inside:
                self.shape.introspection_depth = max(self.shape.introspection_depth, depth)
            else:
                self.shape.depth = max(self.shape.depth, depth)
            if node.alias is not None:
                self.shape.aliases += 1
            definition = self._field(scope, name)
            page = self._page(node, definition)
            child = get_named_type(definition.type) if definition is not None else None
            level = depth if _is_relay_plumbing(scope, name) else depth + 1
            below = self.cost(node.selection_set, child, level, inside)
            total += 1 + page * below
        return total

    def _field(self, scope: GraphQLNamedType | None, name: str) -> GraphQLField | None:
        fields = getattr(scope, "fields", None)  # object and interface types have fields
        return fields.get(name) if fields is not None else None

    def _page(self, node: FieldNode, definition: GraphQLField | None) -> int:
        if definition is None or "first" not in definition.args:
            return 1
        given: Any = None
        for argument in node.arguments or ():
            if argument.name.value != "first":
                continue
            if isinstance(argument.value, IntValueNode):
                given = int(argument.value.value)
            elif isinstance(argument.value, VariableNode):
                given = self.variables.get(argument.value.name.value)
        page = given if isinstance(given, int) and not isinstance(given, bool) else None
        if page is None:
            page = self.default_page
        self.shape.largest_page = max(self.shape.largest_page, page)
        return max(page, 0)


def measure(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any] | None,
    default_page: int = 20,
    max_visits: int = 100_000,
) -> Shape:
    """The depth, aliases, root fields, directives, largest page and cost of one operation."""
    root = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
        OperationType.SUBSCRIPTION: schema.subscription_type,
    }[operation.operation]
    measuring = _Measure(schema, fragments, variables or {}, default_page, max_visits)
    shape = measuring.shape
    roots = measuring.fields(operation.selection_set, root)
    shape.root_fields = sum(1 for _ in islice(roots, max_visits))
    shape.directives = len(operation.directives or ())
    try:
        shape.cost = measuring.cost(operation.selection_set, root, 1, False)
    except _TooBig:
        shape.cost = max(shape.cost, max_visits + 1)
    return shape


def violations(shape: Shape, limits: QueryLimits) -> list[tuple[str, int, int, str]]:
    """Each limit the shape exceeds: (name, limit, actual, message)."""
    checks = [
        ("depth", limits.max_depth, shape.depth, "The query is nested too deeply"),
        (
            "introspectionDepth",
            limits.max_introspection_depth,
            shape.introspection_depth,
            "The introspection query is nested too deeply",
        ),
        ("aliases", limits.max_aliases, shape.aliases, "The query uses too many aliases"),
        ("rootFields", limits.max_root_fields, shape.root_fields, "Too many root fields"),
        ("directives", limits.max_directives, shape.directives, "Too many directives"),
        ("first", limits.max_first, shape.largest_page, "A page size (`first`) is too large"),
        ("cost", limits.max_cost, shape.cost, "The query would cost too much"),
    ]
    return [
        (name, limit, actual, f"{message}: {actual} (at most {limit}).")
        for name, limit, actual, message in checks
        if actual > limit
    ]


def measure_request(
    schema: GraphQLSchema,
    document: Any,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    limits: QueryLimits,
) -> Shape | None:
    """The shape of the operation a request selects (None when the selection is ambiguous)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1:
        return None  # graphql-core reports a missing or ambiguous operation itself
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return measure(
        schema, operations[0], fragments, variables, limits.default_page, limits.max_cost
    )


def limit_errors(shape: Shape, limits: QueryLimits) -> list[GraphQLError]:
    """Top-level errors for a measured request that exceeds a limit (empty when within)."""
    return [
        GraphQLError(message, extensions={"code": TOO_COMPLEX, "limit": name, "max": limit})
        for name, limit, _actual, message in violations(shape, limits)
    ]


def count_directives(document: DocumentNode) -> int:
    """Directives anywhere in a document: on operations, fields, fragments and spreads."""
    count = 0
    pending: list[Any] = list(document.definitions)
    while pending:
        node = pending.pop()
        count += len(getattr(node, "directives", None) or ())
        selection_set = getattr(node, "selection_set", None)
        if selection_set is not None:
            pending.extend(selection_set.selections)
    return count


class DocumentCache:
    """Results per parsed document, by identity: the parser cache hands out the same document
    object for the same text, and hashing a document walks its whole tree."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._entries: OrderedDict[int, tuple[Any, Any]] = OrderedDict()

    def get(self, document: Any, compute: Any) -> Any:
        key = id(document)
        entry = self._entries.get(key)
        if entry is not None and entry[0] is document:
            self._entries.move_to_end(key)
            return entry[1]
        value = compute()
        self._entries[key] = (document, value)  # holding the document keeps its id unique
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return value


def _document_errors(document: DocumentNode, max_directives: int) -> list[GraphQLError]:
    found = count_directives(document)
    if found <= max_directives:
        return []
    return [
        GraphQLError(
            f"Too many directives: {found} (at most {max_directives}).",
            extensions={"code": TOO_COMPLEX, "limit": "directives", "max": max_directives},
        )
    ]


class QueryLimitsExtension(ValidationCache):
    """Validate (cached) and refuse a document that exceeds a limit, before execution.

    Directives are counted before validation, so a document stuffed with them never costs a
    validation pass; the other limits are measured on the validated document.
    """

    limits = QueryLimits()
    checked = DocumentCache()  # validation and directive errors by document (one per schema)

    def __init__(self) -> None:
        super().__init__(maxsize=512)

    def on_operation(self) -> Iterator[None]:
        self.execution_context.parse_options["max_tokens"] = self.limits.max_tokens
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        schema, rules = context.schema._schema, context.validation_rules
        errors = self.checked.get(
            document,
            lambda: (
                _document_errors(document, self.limits.max_directives)
                or self.cached_validate_document(schema, document, rules)
            ),
        )
        if not errors:
            shape = measure_request(
                context.schema._schema,
                document,
                context.operation_name,
                context.variables,
                self.limits,
            )
            if shape is not None:
                if hasattr(context.context, "query_cost"):
                    context.context.query_cost = shape.cost
                errors = limit_errors(shape, self.limits)
        context.pre_execution_errors = errors
        yield


def limits_extension(limits: QueryLimits) -> type[QueryLimitsExtension]:
    return type(
        "QueryLimitsExtension",
        (QueryLimitsExtension,),
        {"limits": limits, "checked": DocumentCache()},
    )
