"""Deals, their team, offers and comments, each change with its timeline entry and events."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry import UNSET

from domain.deal import (
    OFFERABLE,
    Deal,
    DealMember,
    DealRole,
    DealStatus,
    Offer,
    OfferAction,
    OfferParty,
    OfferStatus,
    check_money,
    check_transition,
    counter_party,
    mentioned_emails,
    respond,
    validate_deal_fields,
)
from domain.errors import DomainError, ErrorCode, FieldError
from domain.property import camel_case
from domain.timeline import MAX_COMMENT_LENGTH, TimelineEntry, TimelineKind
from persistence import deal as store
from persistence import property as property_store
from persistence import users as user_store
from persistence.deal import DEAL_SORT, DealListQuery
from resolvers.analysis_input import assumptions_to_json, camel_keys
from resolvers.context import Context
from resolvers.errors import bad_input, run_write
from resolvers.ids import from_global_id, to_global_id
from resolvers.pagination import Page, build_page, page_size
from resolvers.timeline import deal_event, record

DEAL_NOT_FOUND = FieldError(ErrorCode.NOT_FOUND, "No deal with this ID.", ("id",))
MAX_CONTINGENCIES = 20


@dataclass
class DealResult:
    deal: Deal | None = None
    errors: list[FieldError] = field(default_factory=list)


@dataclass
class OfferResult:
    offer: Offer | None = None
    counter_offer: Offer | None = None
    errors: list[FieldError] = field(default_factory=list)


@dataclass
class TimelineEntryResult:
    entry: TimelineEntry | None = None
    errors: list[FieldError] = field(default_factory=list)


def now() -> datetime:
    return datetime.now(UTC)


def decode(global_id: str, type_name: str, *path: str) -> UUID:
    """A local ID from a global one, or INVALID at path."""
    try:
        return from_global_id(global_id, expected=type_name)[1]
    except DomainError as error:
        raise DomainError(replace(error.errors[0], field=tuple(path) or ("id",))) from error


def decode_query_id(global_id: str, type_name: str) -> UUID:
    try:
        return decode(global_id, type_name)
    except DomainError as error:
        raise bad_input(error.errors[0].message) from error


async def deal_by_id(ctx: Context, global_id: str) -> Deal | None:
    ctx.require("deals:read")
    return await ctx.loaders.deal_by_id.load(decode_query_id(global_id, "Deal"))


def deal_cursor(deal: Deal) -> str:
    return DEAL_SORT.cursor(deal.created_at, deal.id)


def decode_after(after: str | None) -> tuple[Any, Any] | None:
    if not after:
        return None
    try:
        return DEAL_SORT.decode(after)
    except DomainError as error:
        raise bad_input(error.errors[0].message) from error


async def deals(ctx: Context, filter: Any, first: int | None, after: str | None) -> Page[Deal]:
    principal = ctx.require("deals:read")
    limit = page_size(first)
    position = decode_after(after)
    query = DealListQuery(tenant_id=principal.tenant_id)
    if filter is not None:
        query.statuses = [s.value for s in filter.status] if filter.status else None
        query.strategies = [s.value for s in filter.strategy] if filter.strategy else None
        if filter.property_id:
            query.property_id = decode_query_id(filter.property_id, "Property")
        query.created_from = filter.created_from
        query.created_to = filter.created_to
    rows = await store.list_deals(ctx.session, query, position, limit)

    async def count() -> int:
        return await store.count_deals(ctx.session, query)

    return build_page(rows, limit, deal_cursor, count, after)


async def property_deals(
    ctx: Context, property_id: UUID, first: int | None, after: str | None
) -> Page[Deal]:
    ctx.require("deals:read")
    limit = page_size(first)
    decode_after(after)
    rows = await ctx.loaders.deals_by_property_id.load((property_id, limit, after))

    async def count() -> int:
        return await ctx.loaders.deal_count_by_property_id.load(property_id)

    return build_page(rows, limit, deal_cursor, count, after)


def _money_values(data: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in ("purchase_price", "estimated_repairs", "arv"):
        value = getattr(data, name, UNSET)
        if value is not UNSET:
            values[name] = value
    return values


async def deal_create(ctx: Context, data: Any) -> DealResult:
    principal = ctx.require("deals:write")
    try:
        property_id = decode(data.property_id, "Property", "input", "propertyId")
        name = " ".join((data.name or "").split()) if data.name not in (UNSET, None) else None
        values = {"name": name, **_money_values(data)}
        validate_deal_fields(values)
    except DomainError as error:
        return DealResult(errors=list(error.errors))

    async def create(conn: AsyncConnection) -> Deal:
        prop = await property_store.get_for_update(conn, principal.tenant_id, property_id)
        if prop is None:
            raise DomainError.of(
                ErrorCode.NOT_FOUND, "No property with this ID.", "input", "propertyId"
            )
        deal = await store.insert_deal(
            conn,
            principal.tenant_id,
            {
                **values,
                "name": name or prop.unparsed_address,
                "property_id": property_id,
                "strategy": data.strategy.value,
                "status": DealStatus.LEAD.value,
                "created_by": principal.user_id,
            },
        )
        await store.set_member(
            conn, principal.tenant_id, deal.id, principal.user_id, DealRole.LEAD.value
        )
        created = deal_event(
            ctx,
            deal.id,
            "deal.created",
            {"strategy": deal.strategy, "property_id": str(property_id)},
        )
        await record(
            conn,
            ctx,
            deal.id,
            TimelineKind.DEAL_CREATED,
            f"Deal created: {deal.name}",
            events=[created],
        )
        return deal

    deal, errors = await run_write(ctx, create)
    return DealResult(deal=deal, errors=errors)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


async def deal_update(ctx: Context, global_id: str, data: Any) -> DealResult:
    principal = ctx.require("deals:write")
    try:
        deal_id = decode(global_id, "Deal")
        values: dict[str, Any] = _money_values(data)
        if data.name not in (UNSET, None):
            values["name"] = " ".join(data.name.split())
        if data.strategy not in (UNSET, None):
            values["strategy"] = data.strategy.value
        problems: list[FieldError] = []
        if data.assumptions not in (UNSET, None):
            try:
                values["assumptions"] = assumptions_to_json(data.assumptions)
            except DomainError as error:
                problems += error.errors
        try:
            validate_deal_fields(values)
        except DomainError as error:
            problems = [*error.errors, *problems]
        if problems:
            raise DomainError(*problems)
    except DomainError as error:
        return DealResult(errors=list(error.errors))

    async def apply(conn: AsyncConnection) -> Deal:
        current = await store.get_deal_for_update(conn, principal.tenant_id, deal_id)
        if current is None:
            raise DomainError(DEAL_NOT_FOUND)
        if "assumptions" in values:
            values["assumptions"] = {**current.assumptions, **values["assumptions"]}
        changes = {k: v for k, v in values.items() if getattr(current, k) != v}
        if not changes:
            return current
        deal = await store.update_deal(conn, principal.tenant_id, deal_id, changes)
        names = sorted(camel_case(name) for name in changes)
        summary = {
            camel_case(k): camel_keys(v) if k == "assumptions" else _text(v)
            for k, v in changes.items()
        }
        updated = deal_event(ctx, deal_id, "deal.updated", {"changed": names})
        await record(
            conn,
            ctx,
            deal_id,
            TimelineKind.DEAL_UPDATED,
            "Updated " + ", ".join(names),
            {"changes": summary},
            events=[updated],
        )
        return deal

    deal, errors = await run_write(ctx, apply)
    return DealResult(deal=deal, errors=errors)


async def _move(
    conn: AsyncConnection, ctx: Context, deal: Deal, target: DealStatus, note: str | None = None
) -> Deal:
    """Change a deal's status by the machine's rules, with its timeline entry and event."""
    source = DealStatus(deal.status)
    check_transition(source, target)
    tenant_id = ctx.require().tenant_id
    moved = await store.update_deal(
        conn, tenant_id, deal.id, {"status": target.value, "status_changed_at": now()}
    )
    payload = {"from": source.value, "to": target.value, "note": note}
    message = f"Status {source.value} → {target.value}" + (f": {note}" if note else "")
    await record(
        conn,
        ctx,
        deal.id,
        TimelineKind.STATUS_CHANGED,
        message,
        payload,
        events=[deal_event(ctx, deal.id, "deal.status_changed", payload)],
    )
    return moved


async def deal_status_change(
    ctx: Context, global_id: str, status: Any, note: str | None
) -> DealResult:
    principal = ctx.require("deals:write")
    try:
        deal_id = decode(global_id, "Deal")
        if note is not None and len(note) > 2000:
            raise DomainError.of(ErrorCode.INVALID, "note is over 2000 characters.", "note")
    except DomainError as error:
        return DealResult(errors=list(error.errors))

    async def change(conn: AsyncConnection) -> Deal:
        deal = await store.get_deal_for_update(conn, principal.tenant_id, deal_id)
        if deal is None:
            raise DomainError(DEAL_NOT_FOUND)
        return await _move(conn, ctx, deal, DealStatus(status.value), note)

    deal, errors = await run_write(ctx, change)
    return DealResult(deal=deal, errors=errors)


async def deal_member_set(ctx: Context, deal_gid: str, user_gid: str, role: Any) -> DealResult:
    principal = ctx.require("deals:write")
    try:
        deal_id = decode(deal_gid, "Deal", "dealId")
        user_id = decode(user_gid, "User", "userId")
    except DomainError as error:
        return DealResult(errors=list(error.errors))

    async def add(conn: AsyncConnection) -> Deal:
        deal = await store.get_deal_for_update(conn, principal.tenant_id, deal_id)
        if deal is None:
            raise DomainError.of(ErrorCode.NOT_FOUND, "No deal with this ID.", "dealId")
        user = await user_store.get_user(conn, principal.tenant_id, user_id)
        if user is None:
            raise DomainError.of(ErrorCode.NOT_FOUND, "No user with this ID.", "userId")
        await store.set_member(conn, principal.tenant_id, deal_id, user_id, role.value)
        await record(
            conn,
            ctx,
            deal_id,
            TimelineKind.MEMBER_ADDED,
            f"{user.name} joined as {role.value}",
            {"user_id": str(user_id), "role": role.value},
        )
        return deal

    deal, errors = await run_write(ctx, add)
    return DealResult(deal=deal, errors=errors)


async def deal_member_remove(ctx: Context, deal_gid: str, user_gid: str) -> DealResult:
    principal = ctx.require("deals:write")
    try:
        deal_id = decode(deal_gid, "Deal", "dealId")
        user_id = decode(user_gid, "User", "userId")
    except DomainError as error:
        return DealResult(errors=list(error.errors))

    async def remove(conn: AsyncConnection) -> Deal:
        deal = await store.get_deal_for_update(conn, principal.tenant_id, deal_id)
        if deal is None:
            raise DomainError.of(ErrorCode.NOT_FOUND, "No deal with this ID.", "dealId")
        if not await store.remove_member(conn, principal.tenant_id, deal_id, user_id):
            raise DomainError.of(ErrorCode.NOT_FOUND, "This user is not on the deal.", "userId")
        await record(
            conn,
            ctx,
            deal_id,
            TimelineKind.MEMBER_REMOVED,
            "A member left the deal",
            {"user_id": str(user_id)},
        )
        return deal

    deal, errors = await run_write(ctx, remove)
    return DealResult(deal=deal, errors=errors)


def _offer_values(data: Any, at: datetime) -> dict[str, Any]:
    errors = check_money(data.amount, ("input", "amount"), positive=True)
    earnest = data.earnest_money if data.earnest_money is not UNSET else None
    errors += check_money(earnest, ("input", "earnestMoney"))
    expires_at = data.expires_at if data.expires_at is not UNSET else None
    if expires_at is not None:
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=UTC)
        if expires_at <= at:
            errors.append(
                FieldError(
                    ErrorCode.INVALID, "expiresAt must be in the future.", ("input", "expiresAt")
                )
            )
    contingencies = (
        [" ".join(c.split()) for c in (data.contingencies or [])] if data.contingencies else []
    )
    if len(contingencies) > MAX_CONTINGENCIES or any(not c or len(c) > 200 for c in contingencies):
        errors.append(
            FieldError(
                ErrorCode.INVALID,
                "Up to 20 contingencies of 1-200 characters.",
                ("input", "contingencies"),
            )
        )
    note = data.note if data.note is not UNSET else None
    if note is not None and len(note) > 2000:
        errors.append(
            FieldError(ErrorCode.INVALID, "note is over 2000 characters.", ("input", "note"))
        )
    if errors:
        raise DomainError(*errors)
    party = data.party if data.party not in (UNSET, None) else OfferParty.BUYER
    return {
        "amount": data.amount,
        "party": party.value,
        "earnest_money": earnest,
        "closing_date": data.closing_date if data.closing_date is not UNSET else None,
        "contingencies": contingencies,
        "note": note,
        "expires_at": expires_at,
    }


async def offer_submit(ctx: Context, deal_gid: str, data: Any) -> OfferResult:
    principal = ctx.require("offers:write")
    try:
        deal_id = decode(deal_gid, "Deal", "dealId")
        values = _offer_values(data, now())
    except DomainError as error:
        return OfferResult(errors=list(error.errors))

    async def submit(conn: AsyncConnection) -> Offer:
        deal = await store.get_deal_for_update(conn, principal.tenant_id, deal_id)
        if deal is None:
            raise DomainError.of(ErrorCode.NOT_FOUND, "No deal with this ID.", "dealId")
        status = DealStatus(deal.status)
        if status not in OFFERABLE:
            allowed = ", ".join(s.value for s in OFFERABLE)
            raise DomainError.of(
                ErrorCode.INVALID_TRANSITION,
                f"Offers are made on deals in {allowed}; this deal is {status.value}.",
                "dealId",
            )
        if status is DealStatus.ANALYZING:
            await _move(conn, ctx, deal, DealStatus.OFFER_MADE, "offer submitted")
        offer = await store.insert_offer(
            conn,
            principal.tenant_id,
            {**values, "deal_id": deal_id, "submitted_by": principal.user_id},
        )
        await _offer_entry(conn, ctx, offer, "offer.received", TimelineKind.OFFER_SUBMITTED)
        return offer

    offer, errors = await run_write(ctx, submit)
    return OfferResult(offer=offer, errors=errors)


async def _offer_entry(
    conn: AsyncConnection, ctx: Context, offer: Offer, event_type: str, kind: TimelineKind
) -> None:
    payload = {
        "offer_id": str(offer.id),
        "amount": str(offer.amount),
        "party": offer.party,
        "status": offer.status,
        "expires_at": offer.expires_at.isoformat() if offer.expires_at else None,
    }
    if kind is TimelineKind.OFFER_SUBMITTED:
        message = f"{offer.party.title()} offer of ${offer.amount:,.2f}"
    else:
        message = f"Offer of ${offer.amount:,.2f} {offer.status.lower()}"
    event = deal_event(ctx, offer.deal_id, event_type, payload, aggregate="deal")
    await record(conn, ctx, offer.deal_id, kind, message, payload, events=[event])


async def offer_respond(
    ctx: Context, global_id: str, action: Any, counter_amount: Decimal | None
) -> OfferResult:
    principal = ctx.require("offers:write")
    try:
        offer_id = decode(global_id, "Offer")
    except DomainError as error:
        return OfferResult(errors=list(error.errors))
    tenant_id = principal.tenant_id
    chosen = OfferAction(action.value)

    async def answer(conn: AsyncConnection) -> tuple[Offer, Offer | None]:
        found = await store.get_offer(conn, tenant_id, offer_id)
        if found is None:
            raise DomainError.of(ErrorCode.NOT_FOUND, "No offer with this ID.", "id")
        deal = await store.get_deal_for_update(conn, tenant_id, found.deal_id)
        offer = await store.get_offer(conn, tenant_id, offer_id)  # re-read under the deal's lock
        assert deal is not None and offer is not None
        at = now()
        outcome = respond(offer, chosen, at, counter_amount)
        siblings = await store.offers_of_deal(conn, tenant_id, deal.id)
        if outcome is OfferStatus.ACCEPTED:
            if any(o.status == OfferStatus.ACCEPTED.value for o in siblings):
                raise DomainError.of(
                    ErrorCode.CONFLICT, "Another offer on this deal was accepted.", "id"
                )
            check_transition(DealStatus(deal.status), DealStatus.UNDER_CONTRACT)
        answered = await store.set_offer_status(
            conn, tenant_id, offer.id, outcome.value, principal.user_id
        )
        await _offer_entry(conn, ctx, answered, "offer.responded", TimelineKind.OFFER_RESPONDED)
        counter = None
        if outcome is OfferStatus.ACCEPTED:
            await _move(conn, ctx, deal, DealStatus.UNDER_CONTRACT, "offer accepted")
        elif outcome is OfferStatus.COUNTERED:
            counter = await store.insert_offer(
                conn,
                tenant_id,
                {
                    "deal_id": deal.id,
                    "parent_id": offer.id,
                    "party": counter_party(OfferParty(offer.party)).value,
                    "amount": counter_amount,
                    "earnest_money": offer.earnest_money,
                    "closing_date": offer.closing_date,
                    "contingencies": offer.contingencies,
                    "expires_at": offer.expires_at
                    if offer.expires_at and offer.expires_at > at
                    else None,
                    "submitted_by": principal.user_id,
                },
            )
            await _offer_entry(conn, ctx, counter, "offer.received", TimelineKind.OFFER_SUBMITTED)
        elif DealStatus(deal.status) is DealStatus.OFFER_MADE:
            still_open = [
                o
                for o in siblings
                if o.id != offer.id and o.effective_status(at) is OfferStatus.PENDING
            ]
            if not still_open:
                await _move(conn, ctx, deal, DealStatus.ANALYZING, f"offer {outcome.value.lower()}")
        return answered, counter

    result, errors = await run_write(ctx, answer)
    if result is None:
        return OfferResult(errors=errors)
    return OfferResult(offer=result[0], counter_offer=result[1])


async def timeline_comment_add(ctx: Context, deal_gid: str, body: str) -> TimelineEntryResult:
    principal = ctx.require("timeline:comment")
    text = body.strip()
    try:
        deal_id = decode(deal_gid, "Deal", "dealId")
        if not text or len(text) > MAX_COMMENT_LENGTH:
            raise DomainError.of(
                ErrorCode.INVALID, f"A comment is 1-{MAX_COMMENT_LENGTH} characters.", "body"
            )
    except DomainError as error:
        return TimelineEntryResult(errors=list(error.errors))

    async def comment(conn: AsyncConnection) -> TimelineEntry:
        deal = await store.get_deal_for_update(conn, principal.tenant_id, deal_id)
        if deal is None:
            raise DomainError.of(ErrorCode.NOT_FOUND, "No deal with this ID.", "dealId")
        users = await user_store.users_by_emails(conn, principal.tenant_id, mentioned_emails(text))
        mentions = [user.id for user in users]
        return await record(
            conn, ctx, deal_id, TimelineKind.COMMENT, text, {"body": text}, mentions=mentions
        )

    entry, errors = await run_write(ctx, comment)
    return TimelineEntryResult(entry=entry, errors=errors)


async def timeline(
    ctx: Context, deal: Deal, first: int | None, after: str | None
) -> Page[TimelineEntry]:
    limit = page_size(first)
    position = None
    if after:
        try:
            position = store.TIMELINE_SORT.decode(after)
        except DomainError as error:
            raise bad_input(error.errors[0].message) from error
    rows = await ctx.loaders.timeline_by_deal_id.load((deal.id, limit, position))

    async def count() -> int:
        return await ctx.loaders.timeline_count_by_deal_id.load(deal.id)

    return build_page(rows, limit, lambda e: store.TIMELINE_SORT.cursor(e.seq, e.id), count, after)


async def members(ctx: Context, deal: Deal) -> list[DealMember]:
    return await ctx.loaders.members_by_deal_id.load(deal.id)


async def offers(ctx: Context, deal: Deal) -> list[Offer]:
    return await ctx.loaders.offers_by_deal_id.load(deal.id)


def offer_global_id(offer: Offer) -> str:
    return to_global_id("Offer", offer.id)
