"""Deterministic demo deals for a seeded tenant: deals, teams, offers, timelines and books.

``demo_deals`` turns a tenant's properties and users into rows for the tables ``accounts``,
``deals``, ``deal_members``, ``offers``, ``timeline_entries``, ``budgets`` and ``transactions``.
Everything comes from ``random.Random(f"reos-deals:{tenant_slug}")`` and the ``today`` argument
(no clock, no global random state), ids are ``uuid5`` of the tenant id and a stable name, so the
same inputs always give the same rows. Standard library only.

The rows tell the stories the application itself would have written: statuses move only along
the deal status machine, offers follow their own (one ACCEPTED offer per deal under contract or
closed), every change has its timeline entry (same kinds, messages and data as the resolvers),
budgets cross and clear by the same rule as ``domain.ledger.crossed``, and amounts are signed
(money in > 0, money out < 0). Timeline entries and transactions come sorted in the order they
should be inserted, so their ``seq`` follows time.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from typing import Any

CENTS = Decimal("0.01")
ZERO = Decimal("0.00")
STRATEGIES = ("FLIP", "BRRRR", "BUY_AND_HOLD", "WHOLESALE")
STATUSES = ("LEAD", "ANALYZING", "OFFER_MADE", "UNDER_CONTRACT", "CLOSED", "DEAD")
RENTAL_STRATEGIES = frozenset({"BRRRR", "BUY_AND_HOLD"})
LABELS = {"FLIP": "Flip", "BRRRR": "BRRRR", "BUY_AND_HOLD": "Rental", "WHOLESALE": "Wholesale"}

# One deal per (status, strategy), plus these many more per status (~40 deals in all).
EXTRA_DEALS = {"LEAD": 2, "ANALYZING": 3, "OFFER_MADE": 3, "UNDER_CONTRACT": 2, "DEAD": 1}
EXTRA_CLOSED = ("BUY_AND_HOLD", "BRRRR", "BUY_AND_HOLD", "BRRRR", "FLIP")

# MLS statuses a deal in each pipeline status is most plausibly about.
PROPERTY_STATUSES = {
    "LEAD": ("Active", "Coming Soon"),
    "ANALYZING": ("Active", "Coming Soon"),
    "OFFER_MADE": ("Active",),
    "UNDER_CONTRACT": ("Pending", "Active Under Contract"),
    "CLOSED": ("Closed",),
    "DEAD": ("Expired", "Withdrawn", "Active"),
}

# What each tenant role may do (mirrors domain.permissions) and the deal role it takes on a team.
CAN = {
    "ADMIN": frozenset({"deals", "offers", "finance", "comment"}),
    "ANALYST": frozenset({"deals", "comment"}),
    "UNDERWRITER": frozenset({"deals", "offers", "finance", "comment"}),
    "OPS": frozenset({"finance", "comment"}),
    "VIEWER": frozenset(),
}
TEAM_ROLE = {
    "ADMIN": "ACQUISITIONS",
    "ANALYST": "ANALYST",
    "UNDERWRITER": "UNDERWRITER",
    "OPS": "PROJECT_MANAGER",
    "VIEWER": "OBSERVER",
}

# Story variants, cycled per status so every one of them shows up.
ANALYZING_VARIANTS = ("plain", "rejected", "plain", "withdrawn")
OFFER_MADE_VARIANTS = ("pending", "countered", "expired", "expired_then_pending")
ACCEPT_VARIANTS = ("direct", "counter_accepted", "rejected_then_accepted")
DEAD_VARIANTS = ("from_lead", "from_analyzing", "offer_expired", "offer_withdrawn")
DEAD_REASONS = {
    "from_lead": "Owner decided not to sell",
    "from_analyzing": "Rehab scope too heavy for the numbers",
    "offer_expired": "Seller took a higher cash offer",
    "offer_withdrawn": "Foundation issues found on the walk-through",
}

CHECKING = "Operating Checking"
CARD = "Renovation Card"
ACCOUNTS = ((CHECKING, "CHECKING"), (CARD, "CREDIT_CARD"))

LENDERS = ("Frost Bank", "Texas Capital Mortgage", "Guild Mortgage", "First Horizon")
HARD_MONEY = ("Lone Star Private Lending", "Kiavi", "RCN Capital")
CONTRACTORS = ("Hill Country Builders", "Bluebonnet Renovations", "Capitol Remodeling Co")
TITLE = ("Independence Title", "Heritage Title", "Stewart Title")
MANAGER = "Cornerstone Property Management"
TENANTS = ("J. Alvarez", "M. Chen", "R. Patel", "S. Johnson", "T. Nguyen", "K. Williams")
REPAIR_JOBS = (
    ("Plumber: water heater valve", 180, 420),
    ("HVAC service call", 150, 380),
    ("Garbage disposal replaced", 220, 360),
    ("Roof leak patched", 350, 950),
    ("Fence repair after storm", 300, 800),
    ("Electrician: GFCI outlets", 160, 340),
    ("Appliance repair: dishwasher", 140, 290),
)
REHAB_DRAWS = (
    "Demolition and haul-off",
    "Framing and structural",
    "Rough plumbing and electrical",
    "Drywall and texture",
    "Kitchen cabinets and counters",
    "Flooring",
    "Paint, trim and fixtures",
    "Final punch list",
)

LEAD_NOTES = (
    "please pull rent comps and the tax history.",
    "drive-by looks good: newer roof, original kitchen.",
    "owner is motivated, inherited property. Worth a look.",
)
REHAB_NOTES = (
    "demo is done and the framing inspection passed.",
    "cabinets arrive next week; flooring starts Monday.",
    "punch list walk-through scheduled for Friday.",
)
RENTAL_NOTES = (
    "tenant reported a slow drain; plumber is scheduled.",
    "annual HVAC service is done, filters replaced.",
    "smoke detectors tested, all good.",
)


OVERRUNS = {
    "REPAIRS": "the sewer line had to be replaced",
    "SUPPLIES": "the fixture upgrades added up",
    "UTILITIES": "the summer electric bills ran high",
    "ADVERTISING": "we sent a second mailer",
    "LEGAL_PROFESSIONAL": "title needed a curative document",
    "MANAGEMENT_FEES": "the budget year has an extra month of fees",
}


@dataclass
class DealPlan:
    """Rows to insert, per table, in insertion order (seq follows created_at / occurred_on)."""

    accounts: list[dict[str, Any]] = field(default_factory=list)
    deals: list[dict[str, Any]] = field(default_factory=list)
    deal_members: list[dict[str, Any]] = field(default_factory=list)
    offers: list[dict[str, Any]] = field(default_factory=list)
    timeline_entries: list[dict[str, Any]] = field(default_factory=list)
    budgets: list[dict[str, Any]] = field(default_factory=list)
    transactions: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class _User:
    id: uuid.UUID
    email: str
    name: str
    role: str

    def can(self, what: str) -> bool:
        return what in CAN.get(self.role, frozenset())


# --------------------------------------------------------------------------- small helpers


def _round(value: Decimal, step: int) -> Decimal:
    """value rounded half-even to a multiple of step, as cents."""
    return ((value / step).quantize(Decimal(1), ROUND_HALF_EVEN) * step).quantize(CENTS)


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENTS, ROUND_HALF_EVEN)


def _factor(rng: random.Random, low: float, high: float) -> Decimal:
    return Decimal(str(round(rng.uniform(low, high), 4)))


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low * 100, high * 100)) / 100


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    following = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (following - timedelta(days=1)).day
    return date(year, month, min(day.day, last_day))


def _month_starts(start: date, end: date) -> list[date]:
    """Every first of a month in [start, end)."""
    first = start if start.day == 1 else _add_months(start.replace(day=1), 1)
    days = []
    while first < end:
        days.append(first)
        first = _add_months(first, 1)
    return days


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), UTC)


def _monthly_payment(loan: Decimal, annual_rate: Decimal, months: int) -> Decimal:
    rate = annual_rate / 12
    if rate == 0:
        return loan / months
    growth = (1 + rate) ** months
    return loan * rate * growth / (growth - 1)


def _money_text(amount: Decimal) -> str:
    """As resolvers.display.money_text: -$1,234.50."""
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def _street(address: str) -> str:
    return address.split(",")[0].strip() or address


def crossed(
    budget_before: Decimal | None,
    spent_before: Decimal,
    budget_after: Decimal,
    spent_after: Decimal,
) -> bool:
    """As domain.ledger.crossed: spending went from within the budget (or none) to over it."""
    was_over = budget_before is not None and spent_before > budget_before
    return not was_over and spent_after > budget_after


# --------------------------------------------------------------------------- tenant context


class _Tenant:
    def __init__(
        self,
        slug: str,
        tenant_id: uuid.UUID,
        today: date,
        users: Sequence[Mapping[str, Any]],
    ) -> None:
        self.rng = random.Random(f"reos-deals:{slug}")
        self.tenant_id = tenant_id
        self.today = today
        self.midnight = _midnight(today)
        self.window_start = _add_months(today, -12)
        self.users = sorted(
            (_User(u["id"], u["email"], u["name"], u["role"]) for u in users),
            key=lambda u: u.email,
        )
        self.accounts = {name: uuid.uuid5(tenant_id, f"account:{name}") for name, _ in ACCOUNTS}
        self.plan = DealPlan()

    def id(self, name: str) -> uuid.UUID:
        return uuid.uuid5(self.tenant_id, name)

    def able(self, what: str) -> list[_User]:
        return [u for u in self.users if u.can(what)]

    def by_role(self, role: str) -> list[_User]:
        return [u for u in self.users if u.role == role]


# --------------------------------------------------------------------------- one deal's story


class _Deal:
    """Builds one deal, step by step, the way the resolvers would have recorded it."""

    def __init__(
        self,
        tenant: _Tenant,
        number: int,
        status: str,
        strategy: str,
        variant: str,
        prop: Mapping[str, Any],
        name: str,
        created_at: datetime,
        limit: datetime,
    ) -> None:
        self.t = tenant
        self.rng = tenant.rng
        self.key = f"deal:{number:02d}"
        self.id = tenant.id(self.key)
        self.target = status
        self.strategy = strategy
        self.variant = variant
        self.prop = prop
        self.name = name
        self.status = "LEAD"
        self.clock = created_at
        self.limit = limit
        self.last: datetime | None = None
        self.entries: list[dict[str, Any]] = []
        self.offers: list[dict[str, Any]] = []
        self.members: list[dict[str, Any]] = []
        self.budgets: dict[str, dict[str, Any]] = {}
        self.spent: dict[str, Decimal] = {}
        self.transactions: list[dict[str, Any]] = []
        self.status_changed_at = created_at
        self.updated_at = created_at
        self.counters = {"entry": 0, "offer": 0, "txn": 0}
        self._numbers()
        self._team()

    # ---- numbers

    def _numbers(self) -> None:
        rng, prop = self.rng, self.prop
        base = Decimal(prop.get("close_price") or prop["list_price"])
        self.base = base
        ranges = {
            "FLIP": ((0.68, 0.80), (0.10, 0.22), (1.08, 1.25)),
            "WHOLESALE": ((0.60, 0.72), (0.12, 0.25), (1.05, 1.20)),
            "BRRRR": ((0.72, 0.85), (0.08, 0.18), (1.08, 1.22)),
            "BUY_AND_HOLD": ((0.92, 0.99), (0.0, 0.04), (0.98, 1.08)),
        }[self.strategy]
        self.purchase = _round(base * _factor(rng, *ranges[0]), 1000)
        self.repairs = _round(base * _factor(rng, *ranges[1]), 500)
        self.arv = max(_round(base * _factor(rng, *ranges[2]), 1000), self.purchase)
        multi_unit = prop.get("property_type") == "Residential Income"
        rent_rate = (0.0075, 0.0095) if multi_unit else (0.0062, 0.0085)
        self.rent = _round(self.arv * _factor(rng, *rent_rate), 25)
        taxes = prop.get("tax_annual_amount")
        self.annual_taxes = (
            _cents(Decimal(taxes)) if taxes else _round(self.purchase * 19 / 1000, 10)
        )
        county = prop.get("county_or_parish")
        self.county = f"{county} County" if county else "County tax office"
        self.annual_insurance = _round(self.purchase * _factor(rng, 0.004, 0.006), 10)
        self.closing_costs = _round(self.purchase * Decimal("0.02"), 100)
        self.interest_rate = Decimal(rng.choice(("0.0650", "0.0675", "0.0700", "0.0725")))
        self.management_rate = Decimal(rng.choice(("0.08", "0.10")))
        self.down_payment_rate = {
            "FLIP": Decimal("0.10"),
            "BRRRR": Decimal("0.20"),
            "BUY_AND_HOLD": Decimal("0.25"),
            "WHOLESALE": Decimal("1"),
        }[self.strategy]
        self.assumptions = self._assumptions()
        if self.target == "LEAD" and self.variant == "bare":
            self.purchase = _cents(Decimal(prop["list_price"]))
            self.repairs_value: Decimal | None = None
            self.arv_value: Decimal | None = None
            self.assumptions = {}
        else:
            self.repairs_value = self.repairs
            self.arv_value = self.arv

    def _assumptions(self) -> dict[str, Any]:
        s = str
        common = {"closing_costs": s(self.closing_costs)}
        if self.strategy in RENTAL_STRATEGIES:
            values = {
                **common,
                "monthly_rent": s(self.rent),
                "down_payment_rate": s(self.down_payment_rate),
                "interest_rate": s(self.interest_rate),
                "loan_term_months": 360,
                "vacancy_rate": self.rng.choice(("0.05", "0.06", "0.08")),
                "annual_taxes": s(self.annual_taxes),
                "annual_insurance": s(self.annual_insurance),
                "management_rate": s(self.management_rate),
                "maintenance_rate": "0.05",
                "capex_rate": "0.05",
                "hold_years": self.rng.choice((5, 7, 10)),
                "appreciation_rate": "0.03",
                "rent_growth_rate": "0.025",
                "expense_growth_rate": "0.02",
                "selling_cost_rate": "0.06",
                "discount_rate": "0.08",
            }
            if self.strategy == "BRRRR":
                loan = self.purchase * (1 - self.down_payment_rate)
                values["refinance_ltv"] = "0.75"
                values["refinance_costs"] = s(_round(self.arv * Decimal("0.02"), 100))
                values["holding_costs"] = s(_round(loan * self.interest_rate / 12 * 4, 100))
            return values
        if self.strategy == "FLIP":
            loan = self.purchase * Decimal("0.90")
            monthly = loan * Decimal("0.11") / 12 + self.annual_taxes / 12 + 150
            return {
                **common,
                "down_payment_rate": "0.10",
                "interest_rate": "0.11",
                "loan_term_months": 12,
                "holding_costs": s(_round(monthly * 5, 100)),
                "selling_cost_rate": "0.08",
                "hold_years": 1,
                "discount_rate": "0.10",
            }
        return {
            "closing_costs": "1500.00",
            "down_payment_rate": "1",
            "selling_cost_rate": "0",
            "hold_years": 1,
        }

    # ---- people

    def _team(self) -> None:
        t, rng = self.t, self.rng
        leads = [u for u in t.users if u.role in ("ADMIN", "ANALYST")] or t.able("deals")
        self.creator = rng.choice(leads or t.users)
        team = [(self.creator, "LEAD", "created")]
        wanted = rng.choice((2, 3))
        chosen = {self.creator.id}

        def add(user: _User | None, when: str) -> None:
            if user is not None and user.id not in chosen and len(team) < 3:
                chosen.add(user.id)
                team.append((user, TEAM_ROLE[user.role], when))

        offering = self.target in ("OFFER_MADE", "UNDER_CONTRACT", "CLOSED") or self.variant in (
            "rejected",
            "withdrawn",
            "offer_expired",
            "offer_withdrawn",
        )
        if offering:
            add(next(iter(t.by_role("UNDERWRITER")), None), "created")
        if self.target in ("UNDER_CONTRACT", "CLOSED") and self.strategy != "WHOLESALE":
            add(next(iter(t.by_role("OPS")), None), "contract")
        others = [u for u in t.users if u.id not in chosen]
        rng.shuffle(others)
        for user in others:
            if len(team) >= wanted:
                break
            add(user, "created")
        self.team = team
        self.offerer = self._actor("offers")
        self.bookkeeper = self._actor("finance", prefer="OPS")

    def _actor(self, what: str, prefer: str | None = None) -> _User:
        on_team = [user for user, _, _ in self.team if user.can(what)]
        anyone = self.t.able(what)
        for pool in (on_team, anyone):
            preferred = [u for u in pool if u.role == prefer]
            if preferred:
                return preferred[0]
            if pool:
                return pool[0]
        return self.creator

    def commenter(self) -> _User:
        pool = [user for user, _, _ in self.team if user.can("comment")]
        return self.rng.choice(pool) if pool else self.creator

    def mention_for(self, author: _User) -> _User | None:
        pool = [user for user, _, _ in self.team if user.id != author.id]
        pool = pool or [u for u in self.t.users if u.id != author.id]
        return self.rng.choice(pool) if pool else None

    # ---- time

    def wait(self, min_hours: float, max_hours: float) -> datetime:
        """Move the clock on, but never past the deal's limit."""
        step = timedelta(minutes=self.rng.randint(int(min_hours * 60), int(max_hours * 60)))
        later = self.clock + step
        if later.hour < 8:  # people work office hours
            later = later.replace(hour=8, minute=self.rng.randint(0, 59))
        elif later.hour >= 19:
            later = (later + timedelta(days=1)).replace(hour=8, minute=self.rng.randint(0, 59))
        if later < self.limit:
            self.clock = later
        else:
            self.clock += timedelta(minutes=self.rng.randint(2, 9))
        return self.clock

    # ---- timeline

    def entry(
        self,
        kind: str,
        actor: _User,
        message: str,
        data: dict[str, Any] | None = None,
        mentions: Sequence[uuid.UUID] = (),
        at: datetime | None = None,
    ) -> datetime:
        at = at or self.clock
        if self.last is not None and at <= self.last:
            at = self.last + timedelta(minutes=self.rng.randint(1, 20))
        self.last = self.clock = at
        self.counters["entry"] += 1
        self.entries.append(
            {
                "id": self.t.id(f"{self.key}:entry:{self.counters['entry']:03d}"),
                "tenant_id": self.t.tenant_id,
                "deal_id": self.id,
                "actor_id": actor.id,
                "kind": kind,
                "message": message,
                "data": data or {},
                "mentions": list(mentions),
                "created_at": at,
            }
        )
        return at

    def comment(self, body: str, author: _User | None = None, at: datetime | None = None) -> None:
        author = author or self.commenter()
        mentioned = self.mention_for(author)
        mentions = [mentioned.id] if mentioned is not None else []
        text = f"@{mentioned.email} {body}" if mentioned else body[0].upper() + body[1:]
        self.entry("COMMENT", author, text, {"body": text}, mentions, at)

    def move(self, target: str, note: str | None = None, actor: _User | None = None) -> None:
        data = {"from": self.status, "to": target, "note": note}
        message = f"Status {self.status} → {target}" + (f": {note}" if note else "")
        at = self.entry("STATUS_CHANGED", actor or self.creator, message, data)
        self.status = target
        self.status_changed_at = self.updated_at = at

    # ---- the first steps

    def create(self) -> None:
        self.entry("DEAL_CREATED", self.creator, f"Deal created: {self.name}")
        self.created_at = self.clock
        for user, role, when in self.team:
            if when == "created":
                self.join(user, role)

    def join(self, user: _User, role: str) -> None:
        if user.id == self.creator.id:
            at = self.clock
        else:
            self.wait(0.05, 0.5)
            at = self.entry(
                "MEMBER_ADDED",
                self.creator,
                f"{user.name} joined as {role}",
                {"user_id": str(user.id), "role": role},
            )
        self.members.append(
            {
                "tenant_id": self.t.tenant_id,
                "deal_id": self.id,
                "user_id": user.id,
                "role": role,
                "added_at": at,
            }
        )

    def save_assumptions(self) -> None:
        if self.assumptions:
            self.wait(2, 26)
            at = self.entry(
                "DEAL_UPDATED",
                self.creator,
                "Updated assumptions",
                {"changes": {"assumptions": self.assumptions}},
            )
            self.updated_at = at

    def analyze(self) -> None:
        self.wait(20, 70)
        self.move("ANALYZING")
        self.save_assumptions()
        self.wait(1, 30)
        self.comment(
            author=self.creator,
            body=f"comps put the ARV near ${self.arv:,.0f} with about ${self.repairs:,.0f} "
            "of repairs. Ready for underwriting.",
        )

    # ---- offers

    def expiry(self, low: int = 5, high: int = 9) -> datetime:
        """A response deadline some days after now, at 17:00."""
        day = self.clock + timedelta(days=self.rng.randint(low, high))
        return day.replace(hour=17, minute=0, second=0, microsecond=0)

    def open_expiry(self) -> datetime:
        """A deadline that is still ahead today: the offer stays open."""
        ahead = self.t.midnight + timedelta(days=self.rng.randint(2, 7), hours=17)
        return max(self.expiry(), ahead)

    def submit(
        self,
        amount: Decimal,
        party: str = "BUYER",
        parent: dict[str, Any] | None = None,
        expires_at: datetime | None | bool = True,
        note: str | None = None,
    ) -> dict[str, Any]:
        """An offer (expires_at True: a deadline some days on), moving ANALYZING deals on."""
        if self.status == "ANALYZING":
            self.move("OFFER_MADE", "offer submitted", self.offerer)
        self.wait(0.1, 1)
        if expires_at is True:
            expires_at = self.expiry()
        assert expires_at is None or isinstance(expires_at, datetime)
        cash = self.strategy in ("FLIP", "WHOLESALE")
        self.counters["offer"] += 1
        offer = {
            "id": self.t.id(f"{self.key}:offer:{self.counters['offer']}"),
            "tenant_id": self.t.tenant_id,
            "deal_id": self.id,
            "parent_id": parent["id"] if parent else None,
            "party": party,
            "amount": amount,
            "earnest_money": max(_round(amount / 100, 500), Decimal("1000.00")),
            "closing_date": (self.clock + timedelta(days=21 if cash else 35)).date(),
            "contingencies": ["Inspection"] if cash else ["Inspection", "Financing", "Appraisal"],
            "note": note
            or ("Cash, 21-day close" if cash else "Conventional financing, 35-day close"),
            "status": "PENDING",
            "expires_at": expires_at,
            "submitted_by": self.offerer.id,
            "responded_by": None,
            "responded_at": None,
            "created_at": None,
        }
        offer["created_at"] = self._offer_entry(offer, "OFFER_SUBMITTED")
        self.offers.append(offer)
        return offer

    def _offer_entry(self, offer: dict[str, Any], kind: str) -> datetime:
        data = {
            "offer_id": str(offer["id"]),
            "amount": str(offer["amount"]),
            "party": offer["party"],
            "status": offer["status"],
            "expires_at": offer["expires_at"].isoformat() if offer["expires_at"] else None,
        }
        if kind == "OFFER_SUBMITTED":
            message = f"{offer['party'].title()} offer of ${offer['amount']:,.2f}"
        else:
            message = f"Offer of ${offer['amount']:,.2f} {offer['status'].lower()}"
        return self.entry(kind, self.offerer, message, data)

    def respond(
        self, offer: dict[str, Any], outcome: str, counter_amount: Decimal | None = None
    ) -> dict[str, Any] | None:
        self.wait(3, 40)
        offer["status"] = outcome
        offer["responded_by"] = self.offerer.id
        offer["responded_at"] = self._offer_entry(offer, "OFFER_RESPONDED")
        if outcome == "ACCEPTED":
            self.move("UNDER_CONTRACT", "offer accepted", self.offerer)
            return None
        if outcome == "COUNTERED":
            assert counter_amount is not None
            party = "SELLER" if offer["party"] == "BUYER" else "BUYER"
            expires = offer["expires_at"] if offer["expires_at"] > self.clock else None
            return self.submit(counter_amount, party, offer, expires, note="Seller counter")
        still_open = [
            o
            for o in self.offers
            if o is not offer
            and o["status"] == "PENDING"
            and (o["expires_at"] is None or o["expires_at"] > self.clock)
        ]
        if self.status == "OFFER_MADE" and not still_open:
            self.move("ANALYZING", f"offer {outcome.lower()}", self.offerer)
        return None

    def negotiate_to_contract(self) -> None:
        """ANALYZING -> ... -> UNDER_CONTRACT with exactly one accepted offer at the price."""
        low = _round(self.purchase * Decimal("0.93"), 1000)
        self.wait(24, 72)
        if self.variant == "counter_accepted":
            ours = self.submit(low)
            counter = self.respond(ours, "COUNTERED", self.purchase)
            assert counter is not None
            self.wait(4, 30)
            self.respond(counter, "ACCEPTED")
        elif self.variant == "rejected_then_accepted":
            first = self.submit(_round(self.purchase * Decimal("0.88"), 1000))
            self.respond(first, "REJECTED")
            self.wait(24, 96)
            self.comment("seller wants a cleaner offer; resubmitting at our number.")
            self.wait(2, 24)
            self.respond(self.submit(self.purchase), "ACCEPTED")
        else:
            self.respond(self.submit(self.purchase), "ACCEPTED")

    # ---- books

    def budget(self, category: str, amount: Decimal, actor: _User | None = None) -> None:
        actor = actor or self.bookkeeper
        amount = _cents(amount)
        previous = self.budgets.get(category)
        budget_id = self.t.id(f"{self.key}:budget:{category}")
        data = {"budget_id": str(budget_id), "category": category, "amount": str(amount)}
        at = self.entry(
            "BUDGET_SET", actor, f"{category} budget set to ${amount:,.2f}", data, at=None
        )
        if previous is None:
            previous_amount = None
            previous = self.budgets[category] = {
                "id": budget_id,
                "tenant_id": self.t.tenant_id,
                "deal_id": self.id,
                "category": category,
                "amount": amount,
                "exceeded_at": None,
                "created_at": at,
                "updated_at": at,
            }
        else:
            previous_amount = previous["amount"]
            previous.update(amount=amount, updated_at=at)
        spent = self.spent.get(category, ZERO)
        self._check(previous, previous_amount, spent, spent, actor)

    def _check(
        self,
        budget: dict[str, Any],
        budget_before: Decimal | None,
        spent_before: Decimal,
        spent_after: Decimal,
        actor: _User,
    ) -> None:
        if crossed(budget_before, spent_before, budget["amount"], spent_after):
            data = {
                "budget_id": str(budget["id"]),
                "category": budget["category"],
                "amount": str(budget["amount"]),
                "spent": str(spent_after),
            }
            message = (
                f"{budget['category']} budget exceeded: ${spent_after:,.2f} spent of "
                f"${budget['amount']:,.2f}"
            )
            budget["exceeded_at"] = self.entry("BUDGET_EXCEEDED", actor, message, data)
        elif spent_after <= budget["amount"] and budget["exceeded_at"] is not None:
            budget["exceeded_at"] = None

    def pay(
        self,
        day: date,
        category: str,
        amount: Decimal,
        description: str,
        counterparty: str | None = None,
        account: str = CHECKING,
        at: datetime | None = None,
    ) -> None:
        """A transaction with its timeline entry and the budget check, as transactionCreate."""
        amount = _cents(amount)
        if amount == 0:
            return
        if at is None:
            start = datetime.combine(day, time(9), UTC)
            step = timedelta(minutes=self.rng.randint(3, 45))
            at = max(start, (self.last or start) + step)
        self.counters["txn"] += 1
        txn_id = self.t.id(f"{self.key}:txn:{self.counters['txn']:03d}")
        data = {
            "transaction_id": str(txn_id),
            "amount": str(amount),
            "category": category,
            "date": day.isoformat(),
        }
        message = f"{category}: {_money_text(amount)}" + (
            f" — {description}" if description else ""
        )
        at = self.entry("TRANSACTION_ADDED", self.bookkeeper, message, data, at=at)
        self.transactions.append(
            {
                "id": txn_id,
                "tenant_id": self.t.tenant_id,
                "account_id": self.t.accounts[account],
                "deal_id": self.id,
                "occurred_on": day,
                "amount": amount,
                "category": category,
                "description": description,
                "counterparty": counterparty,
                "created_by": self.bookkeeper.id,
                "created_at": at,
            }
        )
        before = self.spent.get(category, ZERO)
        after = self.spent[category] = before - amount
        budget = self.budgets.get(category)
        if budget is not None:
            self._check(budget, budget["amount"], before, after, self.bookkeeper)
            if budget["exceeded_at"] == self.last and self.rng.random() < 0.7:
                why = OVERRUNS.get(category, "costs ran higher than planned")
                self.comment(f"we're over the {category} budget: {why}.", self.bookkeeper)

    # ---- rows

    def rows(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tenant_id": self.t.tenant_id,
            "property_id": self.prop["id"],
            "name": self.name,
            "strategy": self.strategy,
            "status": self.status,
            "purchase_price": self.purchase,
            "estimated_repairs": self.repairs_value,
            "arv": self.arv_value,
            "assumptions": self.assumptions,
            "created_by": self.creator.id,
            "status_changed_at": self.status_changed_at,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


# --------------------------------------------------------------------------- stories by status


def _story_lead(deal: _Deal) -> None:
    deal.create()
    deal.save_assumptions()
    if deal.rng.random() < 0.7:
        deal.wait(2, 40)
        deal.comment(deal.rng.choice(LEAD_NOTES))


def _story_analyzing(deal: _Deal) -> None:
    deal.create()
    deal.analyze()
    if deal.variant in ("rejected", "withdrawn"):
        deal.wait(24, 72)
        offer = deal.submit(_round(deal.purchase * Decimal("0.90"), 1000))
        deal.respond(offer, deal.variant.upper())
        deal.wait(2, 30)
        deal.comment("back to the numbers before we try again.")


def _story_offer_made(deal: _Deal) -> None:
    deal.create()
    deal.analyze()
    deal.wait(24, 72)
    low = _round(deal.purchase * Decimal("0.94"), 1000)
    if deal.variant == "pending":
        deal.submit(deal.purchase, expires_at=deal.open_expiry())
    elif deal.variant == "countered":
        ours = deal.submit(low, expires_at=deal.open_expiry())
        deal.respond(ours, "COUNTERED", _round((deal.purchase + deal.base) / 2, 1000))
        deal.wait(1, 10)
        deal.comment("seller countered; let's decide by Friday.")
    else:
        stale = deal.clock + timedelta(days=2)
        deal.submit(low, expires_at=stale.replace(hour=17, minute=0))
        if deal.variant == "expired_then_pending":
            deal.clock = max(deal.clock, stale) + timedelta(hours=deal.rng.randint(20, 60))
            deal.comment("our first offer lapsed without an answer; sending a stronger one.")
            deal.submit(deal.purchase, expires_at=deal.open_expiry())


def _story_dead(deal: _Deal) -> None:
    deal.create()
    reason = DEAD_REASONS[deal.variant]
    if deal.variant != "from_lead":
        deal.analyze()
    if deal.variant == "offer_expired":
        deal.wait(24, 72)
        stale = deal.clock + timedelta(days=2)
        deal.submit(deal.purchase, expires_at=stale.replace(hour=17, minute=0))
        deal.clock = max(deal.clock, stale) + timedelta(hours=deal.rng.randint(6, 48))
    elif deal.variant == "offer_withdrawn":
        deal.wait(24, 72)
        offer = deal.submit(deal.purchase)
        deal.respond(offer, "WITHDRAWN")
    deal.wait(12, 96)
    deal.comment(f"passing on this one: {reason[0].lower() + reason[1:]}.")
    deal.wait(0.2, 3)
    deal.move("DEAD", reason)


def _story_contract(deal: _Deal) -> None:
    """Up to UNDER_CONTRACT: analysis, offers, then budgets and the inspection."""
    deal.create()
    deal.analyze()
    deal.negotiate_to_contract()
    if deal.target == "UNDER_CONTRACT":
        accepted = next(o for o in deal.offers if o["status"] == "ACCEPTED")
        soon = deal.t.today + timedelta(days=deal.rng.randint(5, 25))
        accepted["closing_date"] = max(accepted["closing_date"], soon)
    for user, role, when in deal.team:
        if when == "contract":
            deal.join(user, role)
    deal.wait(2, 30)
    if deal.strategy == "WHOLESALE":
        deal.budget("ADVERTISING", Decimal(deal.rng.choice((400, 500, 750))))
        deal.budget("LEGAL_PROFESSIONAL", Decimal(750))
        deal.comment("under contract; sending it to the buyers list today.")
        return
    allowance = _round(deal.rent * 12 / 20, 100) if deal.strategy == "BUY_AND_HOLD" else ZERO
    deal.budget("REPAIRS", deal.repairs + allowance)
    deal.budget("UTILITIES", Decimal(deal.rng.choice((900, 1200, 1500))))
    if deal.strategy in ("FLIP", "BRRRR"):
        deal.budget("SUPPLIES", _round(deal.repairs / 15, 100))
    deal.wait(20, 72)
    inspector = deal.rng.choice(("Lone Star Inspections", "Capital City Home Inspection"))
    deal.pay(
        deal.clock.date(),
        "LEGAL_PROFESSIONAL",
        -_money(deal.rng, 425, 650),
        "Home inspection",
        inspector,
        at=deal.clock,
    )
    deal.wait(2, 30)
    deal.comment("inspection report is in; please line up contractor walk-throughs.")


def _story_closed(deal: _Deal) -> None:
    _story_contract(deal)
    close_at = deal.limit
    if deal.strategy == "WHOLESALE":
        _wholesale_marketing(deal, close_at.date())
    deal.clock = max(deal.clock, close_at)
    deal.move("CLOSED", "closed", deal.offerer)
    day = deal.clock.date()
    accepted = next(o for o in deal.offers if o["status"] == "ACCEPTED")
    accepted["closing_date"] = day
    title = deal.rng.choice(TITLE)
    if deal.strategy == "WHOLESALE":
        _wholesale_books(deal, day, title)
        return
    cash_to_close = deal.purchase * deal.down_payment_rate + deal.closing_costs
    deal.pay(day, "PURCHASE", -cash_to_close, "Cash to close", title)
    if deal.strategy in RENTAL_STRATEGIES:
        premium = -deal.annual_insurance
        deal.pay(day, "INSURANCE", premium, "Landlord policy, first year", "State Farm")
    if deal.strategy == "FLIP":
        _flip_books(deal, day)
    elif deal.strategy == "BRRRR":
        _brrrr_books(deal, day)
    else:
        loan = _cents(deal.purchase * (1 - deal.down_payment_rate))
        extra: list[tuple[date, float, Callable[[], None]]] = []
        if deal.repairs > 0:
            when = day + timedelta(days=deal.rng.randint(6, 12))
            cost = -_round(deal.repairs * _factor(deal.rng, 0.8, 1.25), 10)
            contractor = deal.rng.choice(CONTRACTORS)
            extra.append(
                (
                    when,
                    0,
                    _payment_step(
                        deal, when, "REPAIRS", cost, "Make-ready: paint and flooring", contractor
                    ),
                )
            )
        _rental_books(deal, day, loan, day, extra)


def _dated(deal: _Deal, events: list[tuple[date, float, Callable[[], None]]]) -> None:
    """Run dated steps in date order (ties in the order given), only those before today."""
    for day, _, step in sorted(events, key=lambda e: (e[0], e[1])):
        if day < deal.t.today:
            step()


def _wholesale_marketing(deal: _Deal, close: date) -> None:
    events: list[tuple[date, float, Callable[[], None]]] = []
    for n, offset in enumerate((-9, -4)):
        when = close - timedelta(days=-offset)
        cost = -_money(deal.rng, 180, 420)
        events.append(
            (when, n, _payment_step(deal, when, "ADVERTISING", cost, "Buyer list mailer"))
        )
    _dated(deal, events)


def _wholesale_books(deal: _Deal, day: date, title: str) -> None:
    rng = deal.rng
    fee = _round(Decimal(rng.randint(8000, 22000)), 500)
    buyer = rng.choice(("Hill Country Holdings LLC", "Riverbend Capital LLC", "Oak Street Homes"))
    events: list[tuple[date, float, Callable[[], None]]] = []
    events.append(
        (
            day,
            5,
            _payment_step(
                deal,
                day,
                "LEGAL_PROFESSIONAL",
                -_money(rng, 450, 900),
                "Assignment contract review",
                title,
            ),
        )
    )
    events.append((day, 6, _payment_step(deal, day, "SALE", fee, "Assignment fee", buyer)))
    _dated(deal, events)


def _payment_step(
    deal: _Deal,
    day: date,
    category: str,
    amount: Decimal,
    description: str,
    counterparty: str | None = None,
    account: str = CHECKING,
) -> Callable[[], None]:
    def step() -> None:
        deal.pay(day, category, amount, description, counterparty, account)

    return step


def _comment_step(deal: _Deal, body: str) -> Callable[[], None]:
    return lambda: deal.comment(body)


def _rehab(
    deal: _Deal, start: date, days: int, factor: Decimal
) -> list[tuple[date, float, Callable[[], None]]]:
    """Contractor draws, supplies and a couple of progress notes over the rehab period."""
    rng = deal.rng
    contractor = rng.choice(CONTRACTORS)
    draws = rng.randint(4, 7)
    weights = [rng.uniform(0.6, 1.4) for _ in range(draws)]
    total = deal.repairs * factor
    events: list[tuple[date, float, Callable[[], None]]] = []
    paid = ZERO
    for n in range(draws):
        amount = _round(total * Decimal(str(weights[n] / sum(weights))), 50)
        if n == draws - 1:
            amount = _cents(total - paid)
        paid += amount
        when = start + timedelta(days=7 + n * (days - 7) // draws)
        label = REHAB_DRAWS[min(n * len(REHAB_DRAWS) // draws, len(REHAB_DRAWS) - 1)]
        events.append(
            (when, 10 + n, _payment_step(deal, when, "REPAIRS", -amount, label, contractor, CARD))
        )
    for n in range(rng.randint(2, 4)):
        when = start + timedelta(days=rng.randint(3, days))
        cost = -_money(rng, 120, 900)
        events.append(
            (
                when,
                30 + n,
                _payment_step(deal, when, "SUPPLIES", cost, "Materials", "Home Depot", CARD),
            )
        )
    for n, index in enumerate(sorted(rng.sample(range(len(REHAB_NOTES)), 2))):
        note = REHAB_NOTES[index]
        when = start + timedelta(days=(n + 1) * days // 3)
        events.append((when, 40 + n, _comment_step(deal, note)))
    return events


def _flip_books(deal: _Deal, close: date) -> None:
    rng = deal.rng
    sold = deal.variant == "sold"
    factor = _factor(rng, 1.06, 1.14) if deal.variant == "over" else _factor(rng, 0.9, 1.1)
    rehab_days = rng.randint(70, 100) if sold else rng.randint(35, 50)
    loan = _cents(deal.purchase * (1 - deal.down_payment_rate))
    lender = rng.choice(HARD_MONEY)
    events = _rehab(deal, close, rehab_days, factor)
    events.append(
        (
            close,
            1,
            _payment_step(
                deal,
                close,
                "INSURANCE",
                -_money(rng, 1200, 2400),
                "Builder's risk policy",
                "Lemonade Insurance",
            ),
        )
    )
    sale_day = close + timedelta(days=rehab_days + rng.randint(35, 55))
    for n, first in enumerate(_month_starts(close + timedelta(days=1), deal.t.today)):
        if sold and first > sale_day:
            break
        interest = _cents(loan * Decimal("0.11") / 12)
        events.append(
            (
                first,
                50 + n,
                _payment_step(
                    deal, first, "OTHER_INTEREST", -interest, "Hard money interest", lender
                ),
            )
        )
        water = first + timedelta(days=14)
        events.append(
            (
                water,
                70 + n,
                _payment_step(
                    deal,
                    water,
                    "UTILITIES",
                    -_money(rng, 60, 180),
                    "Electric and water",
                    "Austin Energy",
                ),
            )
        )
    if sold:
        price = _round(deal.arv * _factor(rng, 0.97, 1.02), 500)
        buyer = rng.choice(("K. Morales", "The Schmidt Family Trust", "A. Okafor"))
        title = rng.choice(TITLE)
        events += [
            (sale_day, 90, _payment_step(deal, sale_day, "SALE", price, "Sale closed", buyer)),
            (
                sale_day,
                91,
                _payment_step(
                    deal,
                    sale_day,
                    "COMMISSIONS",
                    -price * 55 / 1000,
                    "Listing and buyer agent commissions",
                    title,
                ),
            ),
            (
                sale_day,
                92,
                _payment_step(deal, sale_day, "LOAN_PRINCIPAL", -loan, "Hard money payoff", lender),
            ),
            (sale_day, 93, _comment_step(deal, f"sold for ${price:,.0f}. Great work, team!")),
        ]
    _dated(deal, events)


def _brrrr_books(deal: _Deal, close: date) -> None:
    rng = deal.rng
    rehab_days = rng.randint(70, 90)
    loan = _cents(deal.purchase * (1 - deal.down_payment_rate))
    lender = rng.choice(LENDERS)
    events = _rehab(deal, close, rehab_days, _factor(rng, 0.95, 1.12))
    refi_day = deal.t.window_start - timedelta(days=rng.randint(8, 20))
    for n, first in enumerate(_month_starts(close + timedelta(days=1), refi_day)):
        interest = _cents(loan * deal.interest_rate / 12)
        events.append(
            (
                first,
                50 + n,
                _payment_step(
                    deal, first, "MORTGAGE_INTEREST", -interest, "Acquisition loan interest", lender
                ),
            )
        )
    new_loan = _round(deal.arv * Decimal("0.75"), 100)
    refi_costs = Decimal(deal.assumptions["refinance_costs"])

    def raise_budget() -> None:
        repairs = deal.budgets["REPAIRS"]
        allowance = _round(deal.rent * 12 / 20, 100)
        if repairs["exceeded_at"] is not None or deal.spent.get("REPAIRS", ZERO) > 0:
            total = (deal.spent.get("REPAIRS", ZERO) + allowance) / 100
            deal.budget("REPAIRS", total.quantize(Decimal(1), ROUND_CEILING) * 100)

    events += [
        (
            refi_day,
            80,
            _payment_step(
                deal, refi_day, "LOAN_PRINCIPAL", new_loan, "Refinance loan funded", lender
            ),
        ),
        (
            refi_day,
            81,
            _payment_step(
                deal, refi_day, "LOAN_PRINCIPAL", -loan, "Acquisition loan payoff", lender
            ),
        ),
        (
            refi_day,
            82,
            _payment_step(
                deal,
                refi_day,
                "LEGAL_PROFESSIONAL",
                -refi_costs,
                "Refinance closing costs",
                rng.choice(TITLE),
            ),
        ),
        (refi_day, 83, raise_budget),
    ]
    _dated(deal, events)
    _rental_books(deal, close, new_loan, refi_day)


def _rental_books(
    deal: _Deal,
    close: date,
    loan: Decimal,
    loan_start: date,
    extra: Sequence[tuple[date, float, Callable[[], None]]] = (),
) -> None:
    """A year of rental operations: rent, debt service, taxes, insurance, repairs, fees."""
    rng, t = deal.rng, deal.t
    lender = rng.choice(LENDERS)
    tenant = rng.choice(TENANTS)
    payment = _cents(_monthly_payment(loan, deal.interest_rate, 360))
    escrow = rng.random() < 0.5
    pays_water = rng.random() < 0.7
    distributions = rng.random() < 0.6
    rent_start = max(loan_start, close) + timedelta(days=1)
    months = _month_starts(rent_start, t.today)
    if not months:
        return
    if deal.strategy == "BUY_AND_HOLD":
        fees = deal.rent * deal.management_rate * len(months) / 100
        deal.budget("MANAGEMENT_FEES", fees.quantize(Decimal(1), ROUND_CEILING) * 100)
    balance = loan
    events: list[tuple[date, float, Callable[[], None]]] = list(extra)
    renewal = _add_months(close, 12)
    while not escrow and renewal < t.today:
        events.append(
            (
                renewal,
                0.9,
                _payment_step(
                    deal,
                    renewal,
                    "INSURANCE",
                    -deal.annual_insurance,
                    "Landlord policy renewal",
                    "State Farm",
                ),
            )
        )
        renewal = _add_months(renewal, 12)
    for year in range(close.year, t.today.year + 1):
        due = date(year, 1, 31)
        if not escrow and close < due < t.today:
            events.append(
                (
                    due,
                    0.8,
                    _payment_step(
                        deal,
                        due,
                        "TAXES",
                        -deal.annual_taxes,
                        f"Property tax {year - 1}",
                        deal.county,
                    ),
                )
            )
    for n, first in enumerate(months):
        base = 100 * n
        days_left = (t.today - first).days - 1
        rent_day = first + timedelta(days=min(rng.randint(0, 4), days_left))
        month = first.strftime("%B %Y")
        events.append(
            (
                rent_day,
                base + 1,
                _payment_step(deal, rent_day, "RENTS", deal.rent, f"Rent {month}", tenant),
            )
        )
        interest = _cents(balance * deal.interest_rate / 12)
        principal = payment - interest
        balance -= principal
        events += [
            (
                first,
                base,
                _payment_step(
                    deal,
                    first,
                    "MORTGAGE_INTEREST",
                    -interest,
                    f"Mortgage interest {month}",
                    lender,
                ),
            ),
            (
                first,
                base + 0.5,
                _payment_step(
                    deal, first, "LOAN_PRINCIPAL", -principal, f"Mortgage principal {month}", lender
                ),
            ),
        ]
        if escrow:
            events += [
                (
                    first,
                    base + 0.6,
                    _payment_step(
                        deal,
                        first,
                        "TAXES",
                        -deal.annual_taxes / 12,
                        "Escrow: property tax",
                        lender,
                    ),
                ),
                (
                    first,
                    base + 0.7,
                    _payment_step(
                        deal,
                        first,
                        "INSURANCE",
                        -deal.annual_insurance / 12,
                        "Escrow: insurance",
                        lender,
                    ),
                ),
            ]
        fee_day = first + timedelta(days=9)
        fee = deal.rent * deal.management_rate
        events.append(
            (
                fee_day,
                base + 10,
                _payment_step(
                    deal, fee_day, "MANAGEMENT_FEES", -fee, f"Management fee {month}", MANAGER
                ),
            )
        )
        if pays_water:
            water = first + timedelta(days=14)
            events.append(
                (
                    water,
                    base + 20,
                    _payment_step(
                        deal,
                        water,
                        "UTILITIES",
                        -_money(rng, 45, 95),
                        "Water and trash",
                        "Austin Water",
                    ),
                )
            )
        if rng.random() < 0.3:
            job, low, high = rng.choice(REPAIR_JOBS)
            when = first + timedelta(days=rng.randint(3, 24))
            events.append(
                (
                    when,
                    base + 30,
                    _payment_step(
                        deal, when, "REPAIRS", -_money(rng, low, high), job, rng.choice(CONTRACTORS)
                    ),
                )
            )
        if rng.random() < 0.15:
            when = first + timedelta(days=rng.randint(5, 20))
            events.append(
                (
                    when,
                    base + 40,
                    _payment_step(
                        deal,
                        when,
                        "CLEANING_MAINTENANCE",
                        -_money(rng, 90, 220),
                        "Lawn care and gutter cleaning",
                        "GreenScape Austin",
                    ),
                )
            )
        if distributions and n % 6 == 5:
            when = first + timedelta(days=20)
            amount = -_round(deal.rent * _factor(rng, 0.5, 1.2), 100)
            events.append(
                (
                    when,
                    base + 50,
                    _payment_step(deal, when, "TRANSFER", amount, "Owner distribution", "Owner"),
                )
            )
        if n in (4, 9):
            when = first + timedelta(days=rng.randint(6, 18))
            note = (
                f"lease renewed for 12 months at ${deal.rent:,.0f}/mo."
                if n == 9
                else rng.choice(RENTAL_NOTES)
            )
            events.append((when, base + 45, _comment_step(deal, note)))
    _dated(deal, events)


# --------------------------------------------------------------------------- the whole tenant


def _slots(rng: random.Random) -> list[tuple[str, str]]:
    slots: list[tuple[str, str]] = []
    for status in STATUSES:
        slots += [(status, strategy) for strategy in STRATEGIES]
        if status == "CLOSED":
            slots += [(status, strategy) for strategy in EXTRA_CLOSED]
        else:
            slots += [(status, rng.choice(STRATEGIES)) for _ in range(EXTRA_DEALS[status])]
    return slots


def _variant(status: str, strategy: str, index: int, nth: int) -> str:
    """The story variant of a deal: index-th of its status, nth of its status and strategy."""
    if status == "LEAD":
        return ("bare", "priced")[index % 2]
    if status == "ANALYZING":
        return ANALYZING_VARIANTS[index % len(ANALYZING_VARIANTS)]
    if status == "OFFER_MADE":
        return OFFER_MADE_VARIANTS[index % len(OFFER_MADE_VARIANTS)]
    if status == "DEAD":
        return DEAD_VARIANTS[index % len(DEAD_VARIANTS)]
    if status == "CLOSED" and strategy == "FLIP":
        return ("over", "sold")[nth % 2]
    return ACCEPT_VARIANTS[index % len(ACCEPT_VARIANTS)]


def _pick_property(
    rng: random.Random, status: str, props: list[Mapping[str, Any]], used: set[Any]
) -> Mapping[str, Any]:
    def usable(p: Mapping[str, Any]) -> bool:
        return p["id"] not in used and p.get("property_type") != "Land"

    wanted = PROPERTY_STATUSES[status]
    for pool in (
        [p for p in props if usable(p) and p.get("standard_status") in wanted],
        [p for p in props if usable(p)],
        [p for p in props if p["id"] not in used],
        props,
    ):
        if pool:
            chosen = rng.choice(pool)
            used.add(chosen["id"])
            return chosen
    raise ValueError("no properties")


def _dates(t: _Tenant, status: str, strategy: str, variant: str) -> tuple[datetime, datetime]:
    """(creation time, limit): the limit is the closing time for closed deals, else yesterday."""
    rng = t.rng
    at = time(rng.randint(8, 17), rng.randint(0, 59))
    end = t.midnight - timedelta(hours=1)
    if status == "CLOSED":
        if strategy == "BUY_AND_HOLD":
            close = t.window_start - timedelta(days=rng.randint(5, 25))
        elif strategy == "BRRRR":
            close = t.window_start - timedelta(days=rng.randint(110, 130))
        elif strategy == "FLIP":
            close = t.today - timedelta(
                days=rng.randint(170, 200) if variant == "sold" else rng.randint(55, 80)
            )
        else:
            close = t.today - timedelta(days=rng.randint(20, 60))
        close_at = datetime.combine(close, time(rng.randint(10, 15), 0), UTC)
        created = close_at - timedelta(days=rng.randint(45, 70))
        return created.replace(hour=at.hour, minute=at.minute), close_at
    days = {
        "LEAD": (3, 25),
        "ANALYZING": (14, 40),
        "OFFER_MADE": (14, 30),
        "UNDER_CONTRACT": (30, 55),
        "DEAD": (30, 120),
    }[status]
    created = datetime.combine(t.today - timedelta(days=rng.randint(*days)), at, UTC)
    return created, end


STORIES: dict[str, Callable[[_Deal], None]] = {
    "LEAD": _story_lead,
    "ANALYZING": _story_analyzing,
    "OFFER_MADE": _story_offer_made,
    "UNDER_CONTRACT": _story_contract,
    "CLOSED": _story_closed,
    "DEAD": _story_dead,
}


def demo_deals(
    tenant_slug: str,
    tenant_id: uuid.UUID,
    today: date,
    properties: Sequence[Mapping[str, Any]],
    users: Sequence[Mapping[str, Any]],
) -> DealPlan:
    """The demo deals of a tenant and everything around them, as rows per table.

    properties: the tenant's properties, mappings with at least id, list_price, close_price,
    standard_status, unparsed_address and city (property_type and tax_annual_amount are used
    when present). users: the tenant's users, mappings with id, email, name and role.
    An empty plan when the tenant has no priced properties or no users.
    """
    t = _Tenant(tenant_slug, tenant_id, today, users)
    props = sorted(
        (p for p in properties if p.get("list_price") or p.get("close_price")),
        key=lambda p: str(p["id"]),
    )
    if not props or not t.users:
        return t.plan
    used: set[Any] = set()
    per_status: dict[str, int] = {}
    seen: dict[tuple[str, str], int] = {}
    built: list[_Deal] = []
    first_dead: Mapping[str, Any] | None = None
    for number, (status, strategy) in enumerate(_slots(t.rng), start=1):
        index = per_status.get(status, 0)
        per_status[status] = index + 1
        variant = _variant(status, strategy, index, seen.get((status, strategy), 0))
        seen[(status, strategy)] = seen.get((status, strategy), 0) + 1
        prop = _pick_property(t.rng, status, props, used)
        name = f"{_street(str(prop['unparsed_address']))} {LABELS[strategy]}"
        created, limit = _dates(t, status, strategy, variant)
        deal = _Deal(t, number, status, strategy, variant, prop, name, created, limit)
        STORIES[status](deal)
        assert deal.status == status, (deal.key, deal.status, status)
        built.append(deal)
        if status == "DEAD" and first_dead is None:
            first_dead = prop
    if first_dead is not None:
        # A second look at a property whose first deal died: a property with two deals.
        number = len(built) + 1
        created = datetime.combine(today - timedelta(days=t.rng.randint(2, 5)), time(10), UTC)
        name = f"{_street(str(first_dead['unparsed_address']))} Flip (second look)"
        deal = _Deal(
            t,
            number,
            "LEAD",
            "FLIP",
            "priced",
            first_dead,
            name,
            created,
            t.midnight - timedelta(hours=1),
        )
        _story_lead(deal)
        built.append(deal)
    return _plan(t, built)


def _plan(t: _Tenant, built: list[_Deal]) -> DealPlan:
    plan = t.plan
    earliest = min(d.created_at for d in built) - timedelta(days=1)
    plan.accounts = [
        {
            "id": t.accounts[name],
            "tenant_id": t.tenant_id,
            "name": name,
            "kind": kind,
            "created_at": earliest,
        }
        for name, kind in ACCOUNTS
    ]
    for deal in built:
        plan.deals.append(deal.rows())
        plan.deal_members += deal.members
        plan.offers += deal.offers
        plan.budgets += deal.budgets.values()
        plan.timeline_entries += deal.entries
        plan.transactions += deal.transactions
    plan.timeline_entries.sort(key=lambda e: (e["created_at"], str(e["id"])))
    plan.transactions.sort(key=lambda x: (x["occurred_on"], x["created_at"], str(x["id"])))
    return plan
