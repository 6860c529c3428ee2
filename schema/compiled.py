"""Compiled execution of read queries: plan a document once, then run it level by level.

graphql-core executes every field of every object through the same general machinery: a
resolve-info object, the resolver wrapper with its extension and permission hooks, and value
completion by type. For a dashboard of a thousand objects that is most of the request. A plan
made once per document (and operation) knows, for each selected field, whether it is a plain
attribute of the parent object (read it, serialize it) or needs its resolver (called through
the very same wrapper, with its permission checks, timeouts and loaders), and what to do with
the result. Execution is breadth-first: each level calls all resolvers of a field for all
parents before awaiting any, so DataLoaders batch exactly as before (O(depth) statements).

Anything the plan does not cover — mutations, subscriptions, directives, abstract types,
fragments on other types, duplicate response keys, introspection — is not planned, and any
error while running (a permission refusal, a null where the schema promises a value, a
resolver failing) abandons the compiled run so normal execution produces the response,
errors and all. Queries have no side effects, so running one again is safe; download links
the abandoned run logged are forgotten first.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from inspect import isawaitable
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
)
from graphql.execution.values import get_argument_values, get_variable_values
from graphql.pyutils import Path
from strawberry.extensions import SchemaExtension
from strawberry.types.arguments import convert_arguments

logger = logging.getLogger("reos.compiled")

DEFINITION = "strawberry-definition"
PLAN_CACHE_SIZE = 512


class NotCovered(Exception):
    """The compiled run cannot answer exactly as normal execution would."""


@dataclass(frozen=True)
class DirectCall:
    """A resolver with no field extensions, called without Strawberry's per-call wrapper."""

    field: Any  # the StrawberryField
    function: Any
    passes_self: bool
    parent_name: str | None
    root_name: str | None
    info_name: str | None


@dataclass
class FieldPlan:
    key: str
    node: FieldNode
    definition: Any = None  # GraphQLField; None for __typename
    attribute: str | None = None  # a plain attribute read
    direct: DirectCall | None = None
    typename: str | None = None
    child: ObjectPlan | None = None
    return_type: Any = None


@dataclass
class ObjectPlan:
    type: GraphQLObjectType
    fields: list[FieldPlan] = field(default_factory=list)


@dataclass
class Plan:
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]
    root: ObjectPlan
    json: Any = None  # a JsonPlan when PostgreSQL can build the whole answer


def _is_plain(definition: Any) -> str | None:
    """The attribute name when a field is a plain read: no resolver, hooks or arguments."""
    strawberry_field = (definition.extensions or {}).get(DEFINITION)
    if strawberry_field is None or definition.args:
        return None
    if strawberry_field.base_resolver is not None or strawberry_field.extensions:
        return None
    if getattr(strawberry_field, "permission_classes", None):
        return None
    return strawberry_field.python_name


def _direct_call(definition: Any) -> DirectCall | None:
    """How to call a field's resolver directly, when nothing wraps it but Strawberry itself."""
    strawberry_field = (definition.extensions or {}).get(DEFINITION)
    resolver = getattr(strawberry_field, "base_resolver", None)
    if resolver is None or strawberry_field.extensions:
        return None
    if getattr(strawberry_field, "permission_classes", None):
        return None

    def name(parameter: Any) -> str | None:
        return parameter.name if parameter is not None else None

    return DirectCall(
        strawberry_field,
        resolver.wrapped_func,
        resolver.self_parameter is not None,
        name(resolver.parent_parameter),
        name(resolver.root_parameter),
        name(resolver.info_parameter),
    )


class Planner:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode]):
        self.schema = schema
        self.fragments = fragments

    def fields(self, selection_set: SelectionSetNode, parent: GraphQLObjectType) -> list[Any]:
        found: list[FieldNode] = []
        for selection in selection_set.selections:
            if selection.directives:
                raise NotCovered
            if isinstance(selection, FieldNode):
                found.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is not None and condition.name.value != parent.name:
                    raise NotCovered
                found.extend(self.fields(selection.selection_set, parent))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is None or fragment.type_condition.name.value != parent.name:
                    raise NotCovered
                found.extend(self.fields(fragment.selection_set, parent))
        keys = [(node.alias or node.name).value for node in found]
        if len(set(keys)) != len(keys):
            raise NotCovered  # merging repeated fields is left to graphql-core
        return found

    def object(self, selection_set: SelectionSetNode | None, parent: Any) -> ObjectPlan:
        if selection_set is None or not isinstance(parent, GraphQLObjectType):
            raise NotCovered
        plan = ObjectPlan(parent)
        for node in self.fields(selection_set, parent):
            plan.fields.append(self.field(node, parent))
        return plan

    def field(self, node: FieldNode, parent: GraphQLObjectType) -> FieldPlan:
        name = node.name.value
        key = (node.alias or node.name).value
        if name == "__typename":
            return FieldPlan(key, node, typename=parent.name)
        if name.startswith("__"):
            raise NotCovered
        definition = parent.fields.get(name)
        if definition is None:
            raise NotCovered
        plan = FieldPlan(key, node, definition, _is_plain(definition))
        if plan.attribute is None:
            plan.direct = _direct_call(definition)
        plan.return_type = definition.type
        named = definition.type
        while isinstance(named, (GraphQLNonNull, GraphQLList)):
            named = named.of_type
        if isinstance(named, (GraphQLScalarType, GraphQLEnumType)):
            if node.selection_set is not None:
                raise NotCovered
        else:
            plan.child = self.object(node.selection_set, named)
        return plan


def make_plan(schema: GraphQLSchema, document: Any, operation_name: str | None) -> Plan | None:
    """A plan for the document's query operation, or None when it is not covered."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation != OperationType.QUERY:
        return None
    operation = operations[0]
    if operation.directives or schema.query_type is None:
        return None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    try:
        root = Planner(schema, fragments).object(operation.selection_set, schema.query_type)
    except NotCovered:
        return None
    plan = Plan(operation, fragments, root)
    plan.json = make_json_plan(schema, plan)
    return plan


class PlanCache:
    """Plans by (document text, operation name), least recently used dropped first."""

    def __init__(self, size: int = PLAN_CACHE_SIZE) -> None:
        self.size = size
        self._plans: OrderedDict[tuple[str, str | None], Plan | None] = OrderedDict()

    def get(
        self, schema: GraphQLSchema, query: str, document: Any, operation_name: str | None
    ) -> Plan | None:
        key = (query, operation_name)
        if key in self._plans:
            self._plans.move_to_end(key)
            return self._plans[key]
        plan = make_plan(schema, document, operation_name)
        self._plans[key] = plan
        if len(self._plans) > self.size:
            self._plans.popitem(last=False)
        return plan


class Run:
    """One execution of a plan for one request."""

    def __init__(
        self,
        strawberry_schema: Any,
        plan: Plan,
        context: Any,
        variables: Any,
        field_timeout: float = 0,
    ) -> None:
        self.strawberry_schema = strawberry_schema
        self.schema: GraphQLSchema = strawberry_schema._schema
        self.plan = plan
        self.context = context
        self.variables = variables
        self.field_timeout = field_timeout

    def direct_calls(
        self, plan: FieldPlan, parent: GraphQLObjectType, sources: Sequence[Any]
    ) -> list[Any]:
        """Call a resolver for every source, its arguments converted once for them all."""
        direct = plan.direct
        assert direct is not None
        config = self.strawberry_schema.config
        info = config.info_class(_raw_info=self.info(plan, parent), _field=direct.field)
        raw = get_argument_values(plan.definition, plan.node, self.variables)
        arguments = convert_arguments(
            raw,
            direct.field.arguments,
            scalar_registry=self.strawberry_schema.schema_converter.scalar_registry,
            config=config,
            info=info,
        )
        if direct.info_name:
            arguments[direct.info_name] = info
        function = direct.function
        values = []
        for source in sources:
            if direct.parent_name or direct.root_name:
                arguments = dict(arguments)
                if direct.parent_name:
                    arguments[direct.parent_name] = source
                if direct.root_name:
                    arguments[direct.root_name] = source
            if direct.passes_self:
                values.append(function(source, **arguments))
            else:
                values.append(function(**arguments))
        return values

    def info(self, plan: FieldPlan, parent: GraphQLObjectType) -> GraphQLResolveInfo:
        return GraphQLResolveInfo(
            plan.node.name.value,
            [plan.node],
            plan.return_type,
            parent,
            Path(None, plan.key, parent.name),
            self.schema,
            self.plan.fragments,
            None,
            self.plan.operation,
            self.variables,
            self.context,
            isawaitable,
            None,
            None,
        )

    async def level(self, plan: ObjectPlan, sources: Sequence[Any], targets: list[dict]) -> None:
        """Fill targets (one dict per source) with the plan's fields, then the next level."""
        pending: list[tuple[FieldPlan, dict, Any]] = []
        ready: list[tuple[FieldPlan, dict, Any]] = []
        for field_plan in plan.fields:
            key = field_plan.key
            if field_plan.typename is not None:
                for target in targets:
                    target[key] = field_plan.typename
            elif field_plan.attribute is not None:
                name = field_plan.attribute
                for source, target in zip(sources, targets, strict=True):
                    ready.append((field_plan, target, getattr(source, name)))
            else:
                if field_plan.direct is not None:
                    values = self.direct_calls(field_plan, plan.type, sources)
                else:
                    info = self.info(field_plan, plan.type)
                    arguments = get_argument_values(
                        field_plan.definition, field_plan.node, self.variables
                    )
                    resolve = field_plan.definition.resolve
                    values = [resolve(source, info, **arguments) for source in sources]
                for target, value in zip(targets, values, strict=True):
                    if isawaitable(value):
                        pending.append((field_plan, target, value))
                    else:
                        ready.append((field_plan, target, value))
        if pending:
            values = await self.gather(item[2] for item in pending)
            for (field_plan, target, _), value in zip(pending, values, strict=True):
                if isinstance(value, BaseException):
                    raise NotCovered from value
                ready.append((field_plan, target, value))
        children: dict[int, tuple[FieldPlan, list[Any], list[dict]]] = {}
        for field_plan, target, value in ready:
            collected = None
            if field_plan.child is not None:
                collected = children.setdefault(id(field_plan), (field_plan, [], []))
            target[field_plan.key] = self.complete(value, field_plan.return_type, collected)
        if children:
            await asyncio.gather(
                *(
                    self.level(field_plan.child, child_sources, child_targets)  # type: ignore[arg-type]
                    for field_plan, child_sources, child_targets in children.values()
                )
            )

    async def gather(self, awaitables: Any) -> list[Any]:
        """Await a level's resolvers together (within the field timeout, when there is one)."""
        if self.field_timeout > 0:
            async with asyncio.timeout(self.field_timeout):
                return await asyncio.gather(*awaitables, return_exceptions=True)
        return await asyncio.gather(*awaitables, return_exceptions=True)

    def complete(
        self,
        value: Any,
        type_: GraphQLOutputType,
        children: tuple[FieldPlan, list[Any], list[dict]] | None,
    ) -> Any:
        if isinstance(type_, GraphQLNonNull):
            if value is None:
                raise NotCovered  # normal execution reports the null where it must not be
            type_ = type_.of_type
        if value is None:
            return None
        if isinstance(type_, GraphQLList):
            if isinstance(value, (str, bytes, dict)):
                raise NotCovered
            return [self.complete(item, type_.of_type, children) for item in value]
        if isinstance(type_, (GraphQLScalarType, GraphQLEnumType)):
            serialized = type_.serialize(value)
            if serialized is None:
                raise NotCovered
            return serialized
        assert children is not None and isinstance(type_, GraphQLObjectType)
        if type_.is_type_of is not None and not type_.is_type_of(value, None):
            raise NotCovered
        target: dict[str, Any] = {}
        children[1].append(value)
        children[2].append(target)
        return target


async def run_plan(
    strawberry_schema: Any,
    plan: Plan,
    context: Any,
    raw_variables: Any,
    field_timeout: float = 0,
) -> dict:
    """The data of a planned query, or NotCovered."""
    variables = get_variable_values(
        strawberry_schema._schema, plan.operation.variable_definitions or (), raw_variables or {}
    )
    if isinstance(variables, list):
        raise NotCovered  # coercion errors: reported by normal execution
    if plan.json is not None:
        try:
            return await run_json_plan(plan.json, context, variables)
        except NotCovered:
            pass
    data: dict[str, Any] = {}
    run = Run(strawberry_schema, plan, context, variables, field_timeout)
    await run.level(plan.root, [None], [data])
    return data


class CompiledExecution(SchemaExtension):
    """Answer covered queries from a cached plan; fall back to normal execution otherwise."""

    plans: PlanCache = PlanCache()
    enabled = True
    field_timeout: float = 0
    runs = 0  # queries answered from a plan, in this process (for tests and metrics)
    json_runs = 0  # of those, answered as one JSON document built by PostgreSQL

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        if self.enabled and execution.result is None and execution.query:
            plan = self.plans.get(
                execution.schema._schema,
                execution.query,
                execution.graphql_document,
                execution.operation_name,
            )
            if plan is not None:
                await self._run(plan)
        yield

    async def _run(self, plan: Plan) -> None:
        execution = self.execution_context
        context = execution.context
        pending_access = getattr(context, "pending_access", None)
        logged = len(pending_access) if pending_access is not None else 0
        try:
            data = await run_plan(
                execution.schema, plan, context, execution.variables, self.field_timeout
            )
        except Exception as exc:  # NotCovered, or anything a resolver raised: run it normally
            if not isinstance(exc, NotCovered):
                logger.debug("compiled run abandoned", exc_info=True)
            if pending_access is not None:
                del pending_access[logged:]
            return
        execution.result = ExecutionResult(data=data, errors=None)
        CompiledExecution.runs += 1


def compiled_execution(enabled: bool = True, field_timeout: float = 0) -> type[CompiledExecution]:
    return type(
        "CompiledExecution",
        (CompiledExecution,),
        {"enabled": enabled, "plans": PlanCache(), "field_timeout": field_timeout},
    )


# ------------------------------------------------------------------ answers built by PostgreSQL

SAME_ROW = {("Property", "address")}  # object fields whose values are columns of the same row
COMPUTED = {  # resolver fields computed from their row, as SQL ({row} is the row's alias)
    ("Offer", "status"): (
        "(CASE WHEN {row}.status = 'PENDING' AND {row}.expires_at <= clock_timestamp() "
        "THEN 'EXPIRED' ELSE {row}.status END)"
    ),
}
PERMISSIONS = {("Query", "properties"): "properties:read", ("Property", "deals"): "deals:read"}
DEFAULT_PAGE, MAX_PAGE = 20, 100


@dataclass
class Check:
    """What to verify in a JSON answer: nulls where the schema forbids them, enum values."""

    key: str
    non_null: bool
    enum_names: frozenset[str] | None = None
    child: list[Check] | None = None
    many: bool = False
    connection: bool = False


@dataclass
class JsonPlan:
    statement: str
    pages: dict[str, Any]  # SQL parameter -> an IntValueNode's value or a VariableNode's name
    permissions: set[str]
    checks: list[Check]


class JsonPlanner:
    """Describe a covered document as one SQL statement returning its JSON answer."""

    def __init__(self, planner: Planner) -> None:
        self.planner = planner
        self.pages: dict[str, Any] = {}
        self.permissions: set[str] = set()
        self.aliases = 0

    def root(self, operation: OperationDefinitionNode, query_type: GraphQLObjectType) -> JsonPlan:
        from persistence.json_read import JsonObject

        root, checks = JsonObject(), []
        for node in self.planner.fields(operation.selection_set, query_type):
            key = (node.alias or node.name).value
            if node.name.value == "__typename":
                root.members.append((key, "'Query'"))
                continue
            definition = query_type.fields.get(node.name.value)
            if definition is None:
                raise NotCovered
            expression, check = self.relation(query_type, node, definition, None)
            root.members.append((key, expression))
            checks.append(check)
        statement = f"SELECT CAST({root.sql()} AS text)"
        return JsonPlan(statement, self.pages, self.permissions, checks)

    def relation(
        self, parent: GraphQLObjectType, node: FieldNode, definition: Any, parent_alias: str | None
    ) -> tuple[str, Check]:
        from persistence.json_read import RELATIONS, rows_json

        relation = RELATIONS.get((parent.name, node.name.value))
        if relation is None:
            raise NotCovered
        permission = PERMISSIONS.get((parent.name, node.name.value))
        if permission:
            self.permissions.add(permission)
        key = (node.alias or node.name).value
        non_null = isinstance(definition.type, GraphQLNonNull)
        named = _unwrap(definition.type)
        self.aliases += 1
        alias = f"r{self.aliases}"
        connection = "first" in definition.args
        if connection:
            limit_param = self.page_parameter(node, definition, alias)
            node_type, node_selection = self.connection_node(node, named)
            body, checks = self.object(node_type, node_selection, alias, relation.table)
            expression = rows_json(relation, alias, parent_alias, body, limit_param, True)
            return expression, Check(key, non_null, child=checks, connection=True)
        if definition.args or not isinstance(_strip_non_null(definition.type), GraphQLList):
            raise NotCovered
        body, checks = self.object(named, node.selection_set, alias, relation.table)
        expression = rows_json(relation, alias, parent_alias, body, None, False)
        return expression, Check(key, non_null, child=checks, many=True)

    def page_parameter(self, node: FieldNode, definition: Any, alias: str) -> str:
        arguments = {argument.name.value: argument.value for argument in node.arguments or ()}
        if set(arguments) - {"first"}:
            raise NotCovered  # filters, orders and cursors are left to normal execution
        name = f"first_{alias}"
        value = arguments.get("first")
        if value is None:
            self.pages[name] = DEFAULT_PAGE
        elif isinstance(value, IntValueNode):
            self.pages[name] = int(value.value)
        elif isinstance(value, VariableNode):
            self.pages[name] = ("variable", value.name.value)
        else:
            raise NotCovered
        return name

    def connection_node(self, node: FieldNode, connection_type: Any) -> tuple[Any, Any]:
        """The node type and selection under `edges { node { ... } }` (nothing else covered)."""
        if not isinstance(connection_type, GraphQLObjectType) or node.selection_set is None:
            raise NotCovered
        edges = self.planner.fields(node.selection_set, connection_type)
        if len(edges) != 1 or edges[0].name.value != "edges" or edges[0].alias is not None:
            raise NotCovered
        edge_type = _unwrap(connection_type.fields["edges"].type)
        inner = self.planner.fields(edges[0].selection_set, edge_type)
        if len(inner) != 1 or inner[0].name.value != "node" or inner[0].alias is not None:
            raise NotCovered
        return _unwrap(edge_type.fields["node"].type), inner[0].selection_set

    def object(
        self, type_: Any, selection_set: Any, alias: str, table: str
    ) -> tuple[Any, list[Check]]:
        from persistence.json_read import JsonObject

        if not isinstance(type_, GraphQLObjectType) or selection_set is None:
            raise NotCovered
        body, checks = JsonObject(), []
        for node in self.planner.fields(selection_set, type_):
            key = (node.alias or node.name).value
            name = node.name.value
            if name == "__typename":
                body.members.append((key, f"'{type_.name}'"))
                continue
            definition = type_.fields.get(name)
            if definition is None:
                raise NotCovered
            non_null = isinstance(definition.type, GraphQLNonNull)
            if (type_.name, name) in SAME_ROW:
                child, child_checks = self.object(
                    _unwrap(definition.type), node.selection_set, alias, table
                )
                body.members.append((key, child.sql()))
                checks.append(Check(key, non_null, child=child_checks))
            elif name == "id" and _unwrap(definition.type).name == "ID":
                global_id = (
                    f"replace(encode(convert_to('{type_.name}:' || {alias}.id::text, 'UTF8'), "
                    "'base64'), E'\\n', '')"
                )
                body.members.append((key, global_id))
            elif (type_.name, name) in COMPUTED:
                computed = COMPUTED[(type_.name, name)].format(row=alias)
                expression, enum_names = self.enum(_strip_non_null(definition.type), computed)
                body.members.append((key, expression))
                checks.append(Check(key, non_null, enum_names))
            elif _is_plain(definition) is not None:
                expression, enum_names = self.scalar(definition, alias, table)
                body.members.append((key, expression))
                checks.append(Check(key, non_null, enum_names))
            else:
                expression, check = self.relation(type_, node, definition, alias)
                body.members.append((key, expression))
                checks.append(check)
        return body, checks

    def enum(self, enum_type: Any, reference: str) -> tuple[str, frozenset[str]]:
        """The enum value's name for a stored value (unknown values fail the answer's check)."""
        if not isinstance(enum_type, GraphQLEnumType):
            raise NotCovered
        cases = " ".join(
            f"WHEN '{str(value.value).replace(chr(39), chr(39) * 2)}' THEN '{name}'"
            for name, value in enum_type.values.items()
        )
        expression = f"CASE {reference} {cases} ELSE '#invalid' END"
        return f"(CASE WHEN {reference} IS NULL THEN NULL ELSE {expression} END)", frozenset(
            enum_type.values
        )

    def scalar(self, definition: Any, alias: str, table: str) -> tuple[str, Any]:
        from sqlalchemy import ARRAY, Boolean, Date, Float, Integer, Numeric, Text
        from sqlalchemy.types import String

        from persistence.json_read import column_exists, column_type

        column = _is_plain(definition)
        if column is None or not column_exists(table, column):
            raise NotCovered
        sql_type = column_type(table, column)
        field_type = _strip_non_null(definition.type)
        reference = f"{alias}.{column}"
        if isinstance(field_type, GraphQLList):
            item = _unwrap(field_type)
            if item.name == "String" and isinstance(sql_type, ARRAY):
                return reference, None
            raise NotCovered
        if isinstance(field_type, GraphQLEnumType):
            return self.enum(field_type, reference)
        accepted = {
            "String": (String, Text),
            "Int": (Integer,),
            "Boolean": (Boolean,),
            "Float": (Float,),
            "Date": (Date,),
        }
        name = field_type.name
        if name == "Decimal" and isinstance(sql_type, Numeric) and not isinstance(sql_type, Float):
            return f"({reference})::text", None
        if name in accepted and isinstance(sql_type, accepted[name]):
            return reference, None
        raise NotCovered


def _strip_non_null(type_: Any) -> Any:
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


def _unwrap(type_: Any) -> Any:
    while isinstance(type_, (GraphQLNonNull, GraphQLList)):
        type_ = type_.of_type
    return type_


def make_json_plan(schema: GraphQLSchema, plan: Plan) -> JsonPlan | None:
    """One statement answering the whole plan, or None when some part is not covered."""
    if schema.query_type is None:
        return None
    try:
        return JsonPlanner(Planner(schema, plan.fragments)).root(plan.operation, schema.query_type)
    except NotCovered:
        return None


def check_answer(value: Any, checks: list[Check]) -> None:
    """NotCovered when the answer has a null the schema forbids, or an unknown enum value."""
    for check in checks:
        item = value.get(check.key)
        if item is None:
            if check.non_null:
                raise NotCovered
            continue
        if check.enum_names is not None and item not in check.enum_names:
            raise NotCovered
        if check.child is None:
            continue
        if check.connection:
            for edge in item["edges"]:
                check_answer(edge["node"], check.child)
        elif check.many:
            for element in item:
                check_answer(element, check.child)
        else:
            check_answer(item, check.child)


async def run_json_plan(plan: JsonPlan, context: Any, variables: Any) -> dict:
    """The data of a plan answered by PostgreSQL in one statement, or NotCovered."""
    from persistence.json_read import read_json

    principal = getattr(context, "principal", None)
    if principal is None or not all(principal.can(p) for p in plan.permissions):
        raise NotCovered  # normal execution reports UNAUTHENTICATED / FORBIDDEN
    params: dict[str, Any] = {"tenant_id": str(principal.tenant_id)}
    for name, source in plan.pages.items():
        value = variables.coerced.get(source[1]) if isinstance(source, tuple) else source
        if value is None:
            value = DEFAULT_PAGE
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_PAGE:
            raise NotCovered  # invalid or empty pages: normal execution answers them
        params[name] = value
    data = await read_json(context.session, plan.statement, params)
    check_answer(data, plan.checks)
    CompiledExecution.json_runs += 1
    return data
