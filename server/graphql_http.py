"""GraphQL over HTTP: GET and POST /graphql, following the GraphQL-over-HTTP specification.

One request, in order: choose the response media type from Accept, refuse what a browser
could send cross-site without a preflight (CSRF), read the JSON body or the query string,
authenticate (a bearer token or a partner API key), resolve the document (plain, APQ or a
trusted document), honour an Idempotency-Key, execute under the request deadline, and answer
with the status code the media type asks for. WebSockets stay on Strawberry's view.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from starlette.requests import Request
from starlette.responses import Response
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType as StrawberryOperationType

from domain.permissions import Principal
from persistence.database import TenantSession
from resolvers.context import Context, Services
from resolvers.loaders import Loaders
from schema.extensions import shape_error
from schema.observation import record_rejection
from schema.rate_limits import buckets_for, rate_limited_error
from server.auth import InvalidToken, principal_from_header
from server.persisted_queries import Partner, RequestRefused

logger = logging.getLogger("reos.http")

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
PREFLIGHT_HEADERS = (
    "authorization",
    "x-api-key",
    "apollo-require-preflight",
    "x-apollo-operation-name",
    "graphql-preflight",
)
SIMPLE_CONTENT_TYPES = ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data")
IDEMPOTENCY_HEADER = "idempotency-key"
INTERNAL_MESSAGE = "Internal server error."


class Refusal(Exception):
    """A request refused before execution: an HTTP status, an error code and a message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = dict(headers or {})
        self.extensions = extensions


@dataclass
class Answer:
    """One operation's response body, with the status and headers it asks for."""

    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def error_body(code: str, message: str, **extensions: Any) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}


def negotiate(accept: str | None) -> str | None:
    """The response media type for an Accept header (application/json when absent)."""
    if not accept:
        return JSON
    for part in accept.replace(" ", "").lower().split(","):
        media_type, *params = part.split(";")
        if any(p.startswith("charset=") and p != "charset=utf-8" for p in params):
            continue
        if media_type == GRAPHQL_RESPONSE:
            return GRAPHQL_RESPONSE
        if media_type in (JSON, "application/*", "*/*"):
            return JSON
    return None


def content_type_of(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def check_csrf(request: Request) -> None:
    """Refuse a request a browser could send cross-site without a CORS preflight."""
    content_type = content_type_of(request)
    if content_type and content_type not in SIMPLE_CONTENT_TYPES:
        return
    if any(request.headers.get(name) for name in PREFLIGHT_HEADERS):
        return
    raise Refusal(
        400,
        "BAD_REQUEST",
        "This request could be a cross-site request forgery: send Content-Type: "
        "application/json, or a non-empty Apollo-Require-Preflight header.",
    )


def _decode_json_param(params: Mapping[str, str], name: str) -> Any:
    raw = params.get(name)
    if raw in (None, ""):
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise Refusal(400, "BAD_REQUEST", f"The `{name}` parameter is not valid JSON.") from None


async def read_request(request: Request) -> Any:
    """The GraphQL request object(s): from the query string (GET) or the JSON body (POST)."""
    if request.method == "GET":
        params = request.query_params
        return {
            "query": params.get("query"),
            "operationName": params.get("operationName"),
            "variables": _decode_json_param(params, "variables"),
            "extensions": _decode_json_param(params, "extensions"),
            "documentId": params.get("documentId"),
        }
    if content_type_of(request) != JSON:
        raise Refusal(
            415,
            "BAD_REQUEST",
            "Send GraphQL requests as application/json.",
            {"Accept-Post": JSON},
        )
    raw = await request.body()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Refusal(400, "BAD_REQUEST", "The request body is not valid JSON.") from None


def check_params(body: Any) -> dict[str, Any]:
    """A well-formed GraphQL request: an object whose parameters have the right JSON types."""
    if not isinstance(body, dict):
        raise Refusal(400, "BAD_REQUEST", "A GraphQL request must be a JSON object.")
    expected = {
        "query": str,
        "operationName": str,
        "variables": dict,
        "extensions": dict,
        "documentId": str,
    }
    for name, kind in expected.items():
        value = body.get(name)
        if value is not None and not isinstance(value, kind):
            article = "an object" if kind is dict else "a string"
            raise Refusal(400, "BAD_REQUEST", f"`{name}` must be {article} or null.")
    return body


def is_request_error(result_errors: list[GraphQLError] | None, data: Any) -> bool:
    """Errors raised before execution (parse, validation, limits): no data at all."""
    return data is None and bool(result_errors) and all(not e.path for e in result_errors or ())


def operation_of(document: str, operation_name: str | None) -> OperationDefinitionNode | None:
    """The operation a request selects, when the document parses and the choice is clear."""
    try:
        parsed = parse(document, max_tokens=10_000)
    except GraphQLError:
        return None
    operations = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    return operations[0] if len(operations) == 1 else None


def asks_for_login(document: str) -> bool:
    """Whether any mutation in the document calls `login` (never allowed in a batch)."""
    try:
        parsed = parse(document, max_tokens=10_000)
    except GraphQLError:
        return False
    for definition in parsed.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            definition.operation == OperationType.MUTATION
        ):
            pending = [definition.selection_set]
            while pending:
                for selection in pending.pop().selections:
                    name = getattr(getattr(selection, "name", None), "value", None)
                    if name == "login" and hasattr(selection, "arguments"):
                        return True
                    if getattr(selection, "selection_set", None) is not None and not hasattr(
                        selection, "arguments"
                    ):
                        pending.append(selection.selection_set)
    return False


class GraphQLHTTP:
    """The /graphql HTTP endpoint (a Starlette endpoint for GET and POST)."""

    def __init__(
        self,
        schema: Any,
        *,
        batching: bool,
        max_batch: int,
        request_timeout: float,
        mask_suggestions: bool,
        graphiql: Any = None,
    ) -> None:
        self.schema = schema
        self.batching = batching
        self.max_batch = max_batch
        self.request_timeout = request_timeout
        self.mask_suggestions = mask_suggestions
        self.graphiql = graphiql

    async def handle(self, request: Request) -> Response:
        request_id = request.scope.get("state", {}).get("request_id")
        media_type = negotiate(request.headers.get("accept"))
        try:
            if self.graphiql is not None and self._wants_graphiql(request):
                return await self.graphiql(request)
            if media_type is None:
                raise Refusal(
                    406,
                    "BAD_REQUEST",
                    f"Accept {GRAPHQL_RESPONSE} or {JSON}.",
                )
            if request.method == "GET":
                check_csrf(request)
            body = await read_request(request)
            if isinstance(body, list):
                answer = await self._batch(request, body, media_type)
            else:
                answer = await self._single(request, check_params(body), media_type)
        except Refusal as refusal:
            record_rejection(None, [refusal.code], request_id)
            answer = await self._charge_refused(request) or Answer(
                error_body(refusal.code, refusal.message, **refusal.extensions),
                refusal.status,
                refusal.headers,
            )
        except Exception:
            logger.exception(
                "unexpected error in the HTTP endpoint", extra={"request_id": request_id}
            )
            answer = Answer(error_body("INTERNAL", INTERNAL_MESSAGE, requestId=request_id), 500)
        return self._respond(request, answer, media_type or JSON)

    async def _charge_refused(self, request: Request) -> Answer | None:
        """Charge a request refused before the schema 1 on its address: garbage is not free.

        Returns the 429 answer when the address is over its budget, else None.
        """
        limiter = getattr(request.app.state.services, "rate_limiter", None)
        if limiter is None:
            return None
        address = request.client.host if request.client else "unknown"
        policy = limiter.policy
        buckets = buckets_for(policy, None, None, address)
        decision = await limiter.charge(buckets, 1, policy.window_seconds)
        if decision.allowed:
            return None
        retry_after = max(1, math.ceil(decision.retry_after))
        return Answer(
            {"errors": [rate_limited_error(retry_after).formatted]},
            429,
            {"Retry-After": str(retry_after)},
        )

    def _wants_graphiql(self, request: Request) -> bool:
        return (
            request.method == "GET"
            and "text/html" in request.headers.get("accept", "")
            and not any(k in request.query_params for k in ("query", "documentId", "extensions"))
        )

    def _respond(self, request: Request, answer: Answer, media_type: str) -> Response:
        headers = dict(answer.headers)
        headers.setdefault(
            "Cache-Control",
            "private, no-store" if request.method == "GET" else "no-store",
        )
        if request.method == "GET":
            headers["Vary"] = "Accept, Authorization, X-API-Key"
        content = answer.body if isinstance(answer.body, bytes) else encode(answer.body)
        return Response(content, answer.status, headers, media_type=f"{media_type}; charset=utf-8")

    async def _batch(self, request: Request, bodies: list[Any], media_type: str) -> Answer:
        if not self.batching:
            raise Refusal(400, "BAD_REQUEST", "Batched requests are not enabled.")
        if not bodies:
            raise Refusal(400, "BAD_REQUEST", "A batch must hold at least one operation.")
        if len(bodies) > self.max_batch:
            raise Refusal(
                400,
                "QUERY_TOO_COMPLEX",
                f"A batch may hold at most {self.max_batch} operations.",
                limit="batch",
                max=self.max_batch,
            )
        if request.headers.get(IDEMPOTENCY_HEADER):
            raise Refusal(400, "BAD_REQUEST", "Idempotency-Key is not accepted on batches.")
        checked = [check_params(body) for body in bodies]
        for body in checked:
            if isinstance(body.get("query"), str) and asks_for_login(body["query"]):
                raise Refusal(400, "BAD_REQUEST", "`login` cannot be sent in a batch.")
        answers = [await self._single(request, body, media_type, batched=True) for body in checked]
        headers: dict[str, str] = {}
        for answer in answers:
            headers.update(answer.headers)
        status = 429 if any(a.status == 429 for a in answers) else 200
        return Answer([a.body for a in answers], status, headers)

    async def _single(
        self, request: Request, body: dict[str, Any], media_type: str, batched: bool = False
    ) -> Answer:
        services: Services = request.app.state.services
        context = await self._context(request, services)
        try:
            document = await self._document(body, context, services, batched)
        except RequestRefused as refused:
            record_rejection(body.get("operationName"), [refused.code], context.request_id)
            return await self._charge_refused(request) or Answer(
                error_body(refused.code, refused.message), refused.status
            )
        claim = await self._claim(request, body, document, context, services)
        if isinstance(claim, Answer):
            return claim
        try:
            answer = await self._execute(request, document, body, context, media_type)
        except BaseException:
            if claim is not None:
                await services.idempotency.release(claim)
            raise
        if claim is not None:
            await self._settle(services, claim, answer, media_type)
        return answer

    async def _context(self, request: Request, services: Services) -> Context:
        principal: Principal | None = None
        auth_error: str | None = None
        api_key_id = None
        authorization = request.headers.get("authorization")
        api_key = request.headers.get("x-api-key")
        if authorization and api_key:
            raise Refusal(
                400, "BAD_REQUEST", "Send either an Authorization header or an API key, not both."
            )
        if api_key:
            if services.persisted_queries is None:
                raise Refusal(401, "UNAUTHENTICATED", "API keys are not accepted here.")
            try:
                partner: Partner = await services.persisted_queries.authenticate(api_key)
            except RequestRefused as refused:
                raise Refusal(refused.status, refused.code, refused.message) from None
            principal = Principal(
                user_id=partner.acting_user_id, tenant_id=partner.tenant_id, role=partner.role
            )
            api_key_id = partner.key_id
        else:
            try:
                principal = principal_from_header(services.authenticator, authorization)
            except InvalidToken as exc:
                auth_error = str(exc)
        session = TenantSession(services.engine, principal.tenant_id if principal else None)
        context = Context(
            request=request,
            response=None,
            services=services,
            principal=principal,
            session=session,
            loaders=Loaders(session, principal),
            client_address=request.client.host if request.client else "unknown",
            request_id=request.scope.get("state", {}).get("request_id"),
            auth_error=auth_error,
        )
        if api_key:
            context.api_key_id, context.partner = api_key_id, partner
        return context

    async def _document(
        self, body: dict[str, Any], context: Context, services: Services, batched: bool
    ) -> str:
        store = services.persisted_queries
        partner = context.partner
        if store is None:
            query = body.get("query")
            if not query:
                raise RequestRefused("BAD_REQUEST", "No GraphQL query found in the request.")
            return query
        tenant_id = context.principal.tenant_id if context.principal else None
        document = await store.document_for(body, tenant_id, partner)
        if batched and document != body.get("query") and asks_for_login(document):
            raise RequestRefused("BAD_REQUEST", "`login` cannot be sent in a batch.")
        return document

    async def _claim(
        self,
        request: Request,
        body: dict[str, Any],
        document: str,
        context: Context,
        services: Services,
    ) -> Any:
        """None (no idempotency), an Answer to send now (replay, conflict), or a live claim."""
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if not key or request.method != "POST" or services.idempotency is None:
            return None
        if context.principal is None:
            return None  # keys are scoped to a tenant and a user
        operation = operation_of(document, body.get("operationName"))
        if operation is None or operation.operation != OperationType.MUTATION:
            return None
        from server.idempotency import request_fingerprint

        fingerprint = request_fingerprint({**body, "query": document})
        try:
            claim = await services.idempotency.claim(
                context.principal.tenant_id, context.principal.user_id, key, fingerprint
            )
        except ValueError as exc:
            raise Refusal(400, "BAD_USER_INPUT", str(exc)) from None
        except Exception:
            logger.warning("idempotency store unavailable", exc_info=True)
            raise Refusal(
                503,
                "INTERNAL",
                "The Idempotency-Key could not be checked, so the mutation was not run; retry.",
                {"Retry-After": "1"},
            ) from None
        if claim.outcome == "replay":
            stored = claim.response
            return Answer(stored.body, stored.status, {"Idempotent-Replayed": "true"})
        if claim.outcome == "conflict":
            return Answer(
                error_body(
                    "CONFLICT", "This Idempotency-Key was already used with a different request."
                ),
                409,
            )
        if claim.outcome == "in_progress":
            return Answer(
                error_body("CONFLICT", "A request with this Idempotency-Key is still in progress."),
                409,
                {"Retry-After": "1"},
            )
        return claim

    async def _settle(
        self, services: Services, claim: Any, answer: Answer, media_type: str
    ) -> None:
        from server.idempotency import StoredResponse

        body = answer.body if isinstance(answer.body, dict) else {}
        codes = {e.get("extensions", {}).get("code") for e in body.get("errors", [])}
        if answer.status >= 500 or codes & {"INTERNAL", "TIMEOUT", "RATE_LIMITED"}:
            await services.idempotency.release(claim)
            return
        stored = StoredResponse(answer.status, encode(answer.body), media_type)
        await services.idempotency.complete(claim, stored)

    async def _execute(
        self,
        request: Request,
        document: str,
        body: dict[str, Any],
        context: Context,
        media_type: str,
    ) -> Answer:
        allowed = (
            {StrawberryOperationType.QUERY}
            if request.method == "GET"
            else {
                StrawberryOperationType.QUERY,
                StrawberryOperationType.MUTATION,
            }
        )
        try:
            async with asyncio.timeout(self.request_timeout):
                result = await self.schema.execute(
                    document,
                    variable_values=body.get("variables"),
                    context_value=context,
                    operation_name=body.get("operationName"),
                    allowed_operation_types=allowed,
                    operation_extensions=body.get("extensions"),
                )
        except InvalidOperationTypeError as exc:
            if (
                request.method == "GET"
                and exc.operation_type != StrawberryOperationType.SUBSCRIPTION
            ):
                raise Refusal(
                    405,
                    "BAD_REQUEST",
                    "Only queries can be sent over GET; send mutations with POST.",
                    {"Allow": "POST"},
                ) from None
            raise Refusal(
                400, "BAD_REQUEST", "Subscriptions are served over WebSocket at /graphql."
            ) from None
        except CannotGetOperationTypeError:
            name = body.get("operationName")
            message = (
                f"Unknown operation named '{name}'."
                if name
                else "Must provide an operation name when the document has several."
            )
            return self._request_error("GRAPHQL_VALIDATION_FAILED", message, media_type)
        except MissingQueryError:
            raise Refusal(400, "BAD_REQUEST", "No GraphQL query found in the request.") from None
        except TimeoutError:
            await context.session.close()
            return Answer(
                error_body(
                    "TIMEOUT",
                    "The request took too long and was stopped; a mutation may or may not "
                    "have been applied.",
                ),
                503,
            )
        errors = [
            shape_error(error, context.request_id, self.mask_suggestions)
            for error in result.errors or ()
        ]
        answer_body: dict[str, Any] = {}
        request_error = is_request_error(errors, result.data)
        if not request_error:
            answer_body["data"] = result.data
        if errors:
            answer_body["errors"] = [error.formatted for error in errors]
        if result.extensions:
            answer_body["extensions"] = result.extensions
        status = 400 if request_error and media_type == GRAPHQL_RESPONSE else 200
        if context.status_code is not None:
            status = context.status_code
        return Answer(answer_body, status, dict(context.response_headers))

    def _request_error(self, code: str, message: str, media_type: str) -> Answer:
        return Answer(error_body(code, message), 400 if media_type == GRAPHQL_RESPONSE else 200)


def encode(body: Any) -> bytes:
    return orjson.dumps(body)
