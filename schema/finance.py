"""Accounts, transactions, budgets, money reports, projections and commission splits."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import UNSET
from strawberry.scalars import JSON
from strawberry.types import Info

from domain import ledger
from persistence.finance import Account as AccountRecord
from persistence.finance import Budget as BudgetRecord
from resolvers import finance as resolve
from resolvers.display import projection_for_display
from resolvers.finance import amortization_page
from resolvers.ids import to_global_id
from schema.common import Connection, Node, UserError
from schema.permissions import requires

if TYPE_CHECKING:
    from schema.auth import User
    from schema.deal import Deal

TransactionCategory = strawberry.enum(
    ledger.Category,
    name="TransactionCategory",
    description="IRS Schedule E lines, plus capital, principal and transfers.",
)
Interval = strawberry.enum(ledger.Interval, name="Interval", description="Report period length.")
AccountKind = strawberry.enum(ledger.AccountKind, name="AccountKind")

DealRef = Annotated["Deal", strawberry.lazy("schema.deal")]
UserRef = Annotated["User", strawberry.lazy("schema.auth")]


@strawberry.type(description="Where money sits: a bank, card, loan or escrow account.")
class Account(Node):
    name: str
    kind: AccountKind

    @strawberry.field(description="Opaque global ID.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Account", self.id))  # type: ignore[arg-type]

    @classmethod
    def is_type_of(cls, obj: object, info: Info) -> bool:
        return isinstance(obj, AccountRecord)


@strawberry.type(description="Money in (positive) or out (negative), by Schedule E category.")
class Transaction(Node):
    amount: Decimal = strawberry.field(description="Signed: money in > 0, money out < 0.")
    category: TransactionCategory
    description: str | None
    counterparty: str | None

    @strawberry.field(description="Opaque global ID.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Transaction", self.id))  # type: ignore[arg-type]

    @strawberry.field(description="The day the money moved.")
    def date(self) -> date:
        return self.occurred_on  # type: ignore[attr-defined]

    @strawberry.field(description="Whether this counts in profit and loss.")
    def in_profit_and_loss(self) -> bool:
        return ledger.in_pnl(ledger.Category(self.category))

    @strawberry.field
    async def deal(self, info: Info) -> DealRef | None:
        if self.deal_id is None:  # type: ignore[attr-defined]
            return None
        return await info.context.loaders.deal_by_id.load(self.deal_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def account(self, info: Info) -> Account | None:
        if self.account_id is None:  # type: ignore[attr-defined]
            return None
        return await info.context.loaders.account_by_id.load(self.account_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def created_by(self, info: Info) -> UserRef | None:
        if self.created_by is None:
            return None
        return await info.context.loaders.user_by_id.load(self.created_by)

    @classmethod
    def is_type_of(cls, obj: object, info: Info) -> bool:
        return isinstance(obj, ledger.Transaction)


@strawberry.type(description="A deal's budget for one category, against what was spent.")
class Budget:
    category: TransactionCategory
    amount: Decimal
    spent: Decimal = strawberry.field(description="Expenses net of refunds in this category.")
    exceeded_at: datetime | None = strawberry.field(description="When spending last went over.")

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Budget", self.id))  # type: ignore[arg-type]

    @strawberry.field
    def remaining(self) -> Decimal:
        return self.remaining  # type: ignore[return-value]

    @strawberry.field
    def exceeded(self) -> bool:
        return self.exceeded  # type: ignore[return-value]

    @classmethod
    def is_type_of(cls, obj: object, info: Info) -> bool:
        return isinstance(obj, BudgetRecord)


@strawberry.type
class PnlLine:
    category: TransactionCategory
    amount: Decimal


@strawberry.type(description="Profit and loss: capital, loan principal and transfers stay out.")
class ProfitAndLoss:
    income: list[PnlLine]
    expenses: list[PnlLine] = strawberry.field(description="Positive amounts spent.")
    total_income: Decimal
    total_expenses: Decimal
    net_income: Decimal

    @strawberry.field(name="from")
    def from_(self) -> date:
        return self.start  # type: ignore[attr-defined]

    @strawberry.field
    def to(self) -> date:
        return self.end  # type: ignore[attr-defined]


@strawberry.type(description="Money in and out during one period.")
class CashFlowPeriod:
    label: str = strawberry.field(description="2026-03, 2026-Q1 or 2026.")
    start: date
    end: date
    inflow: Decimal
    outflow: Decimal
    net: Decimal


@strawberry.type(description="One line of a formula sheet: recompute any figure from its inputs.")
class Formula:
    name: str
    expression: str
    inputs: JSON = strawberry.field(description="Input name -> value used (full precision).")
    value: str | None = strawberry.field(description="Full-precision result.")
    reason: str | None = strawberry.field(description="Why the value is null, when it is.")


@strawberry.type(description="One month of a loan.")
class AmortizationPayment:
    month: int
    payment: Decimal
    interest: Decimal
    principal: Decimal
    balance: Decimal

    @strawberry.field(description="Pass as `after` to continue after this month.")
    def cursor(self) -> str:
        return str(self.month)


@strawberry.type(description="One year of a hold.")
class ProjectionYear:
    year: int
    gross_rent: Decimal
    noi: Decimal
    debt_service: Decimal
    cash_flow: Decimal
    loan_balance: Decimal
    property_value: Decimal


@strawberry.type(description="Year-by-year hold with sale, IRR and NPV (money rounded to cents).")
class Projection:
    years: list[ProjectionYear]
    sale_proceeds: Decimal | None
    irr: Decimal | None
    npv: Decimal | None
    formulas: list[Formula]
    reason: str | None

    @strawberry.field(description="The loan's monthly schedule.")
    def amortization(
        self, first: int | None = 360, after: str | None = None
    ) -> list[AmortizationPayment]:
        rows = self.amortization  # type: ignore[attr-defined]
        return amortization_page(rows, first, after)  # type: ignore[return-value]


@strawberry.type
class CommissionShare:
    party: str
    amount: Decimal
    basis: str = strawberry.field(description="How the share was computed.")


@strawberry.type(description="A commission divided by plan; shares always sum to the gross.")
class CommissionSplit:
    gross: Decimal | None
    shares: list[CommissionShare]
    errors: list[UserError]


@strawberry.input
class TransactionFilter:
    deal_id: strawberry.ID | None = None
    account_id: strawberry.ID | None = None
    category: list[TransactionCategory] | None = None
    from_: date | None = strawberry.field(default=None, name="from")
    to: date | None = None


@strawberry.input
class TransactionInput:
    date: date
    amount: Decimal = strawberry.field(description="Signed: money in > 0, money out < 0.")
    category: TransactionCategory
    deal_id: strawberry.ID | None = None
    account_id: strawberry.ID | None = None
    description: str | None = UNSET
    counterparty: str | None = UNSET


@strawberry.input
class BudgetInput:
    deal_id: strawberry.ID
    category: TransactionCategory
    amount: Decimal


@strawberry.input
class AccountInput:
    name: str
    kind: AccountKind


@strawberry.input(
    description="Every field optional; the deal's values fill the gaps. Rates are fractions."
)
class AnalysisAssumptionsInput:
    purchase_price: Decimal | None = UNSET
    closing_costs: Decimal | None = UNSET
    rehab_cost: Decimal | None = UNSET
    arv: Decimal | None = UNSET
    holding_costs: Decimal | None = UNSET
    down_payment_rate: Decimal | None = UNSET
    interest_rate: Decimal | None = UNSET
    loan_term_months: int | None = UNSET
    monthly_rent: Decimal | None = UNSET
    vacancy_rate: Decimal | None = UNSET
    annual_taxes: Decimal | None = UNSET
    annual_insurance: Decimal | None = UNSET
    management_rate: Decimal | None = UNSET
    maintenance_rate: Decimal | None = UNSET
    capex_rate: Decimal | None = UNSET
    other_monthly_expenses: Decimal | None = UNSET
    selling_cost_rate: Decimal | None = UNSET
    refinance_ltv: Decimal | None = UNSET
    refinance_costs: Decimal | None = UNSET
    hold_years: int | None = UNSET
    appreciation_rate: Decimal | None = UNSET
    rent_growth_rate: Decimal | None = UNSET
    expense_growth_rate: Decimal | None = UNSET
    discount_rate: Decimal | None = UNSET


@strawberry.input(description="The same fields as AnalysisAssumptionsInput.")
class ProjectionInput(AnalysisAssumptionsInput):
    pass


@strawberry.input(
    description="One party's cut: a rate of the gross after flat fees, or a flat fee."
)
class CommissionRuleInput:
    party: str
    rate: Decimal | None = UNSET
    flat_fee: Decimal | None = UNSET
    cap: Decimal | None = UNSET


@strawberry.input
class CommissionInput:
    gross: Decimal
    rules: list[CommissionRuleInput]
    remainder_party: str = strawberry.field(
        default="AGENT", description="Who receives what is left after every rule."
    )


@strawberry.type
class AccountPayload:
    account: Account | None
    errors: list[UserError]


@strawberry.type
class TransactionPayload:
    transaction: Transaction | None
    errors: list[UserError]


@strawberry.type
class BudgetPayload:
    budget: Budget | None
    errors: list[UserError]


@strawberry.type
class FinanceQuery:
    @strawberry.field(description="Accounts, by name.", extensions=requires("finance:read"))
    async def accounts(self, info: Info) -> list[Account]:
        return await resolve.accounts(info.context)  # type: ignore[return-value]

    @strawberry.field(
        description="Transactions, newest first.", extensions=requires("finance:read")
    )
    async def transactions(
        self,
        info: Info,
        filter: TransactionFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Transaction]:
        return await resolve.transactions(info.context, filter, first, after)  # type: ignore[return-value]

    @strawberry.field(
        description="Income and expenses by category.", extensions=requires("finance:read")
    )
    async def profit_and_loss(
        self,
        info: Info,
        from_: Annotated[date, strawberry.argument(name="from")],
        to: date,
        deal_id: strawberry.ID | None = None,
    ) -> ProfitAndLoss:
        return await resolve.pnl(info.context, deal_id, from_, to)  # type: ignore[return-value]

    @strawberry.field(
        description="Money in and out per period.", extensions=requires("finance:read")
    )
    async def cash_flow(
        self,
        info: Info,
        from_: Annotated[date, strawberry.argument(name="from")],
        to: date,
        interval: Interval,
        deal_id: strawberry.ID | None = None,
    ) -> list[CashFlowPeriod]:
        return await resolve.cash_flow_report(info.context, deal_id, from_, to, interval)  # type: ignore[return-value]

    @strawberry.field(
        description="A hold projected year by year.", extensions=requires("deals:read")
    )
    async def projection(
        self, info: Info, deal_id: strawberry.ID, input: ProjectionInput
    ) -> Projection:
        result = await resolve.projection(info.context, deal_id, input)
        return projection_for_display(result)  # type: ignore[return-value]

    @strawberry.field(
        description="Divide a commission by plan.", extensions=requires("finance:read")
    )
    def commission_split(self, info: Info, input: CommissionInput) -> CommissionSplit:
        return resolve.commission(info.context, input)  # type: ignore[return-value]


@strawberry.type
class FinanceMutation:
    @strawberry.mutation(extensions=requires("finance:write"))
    async def account_create(self, info: Info, input: AccountInput) -> AccountPayload:
        return await resolve.account_create(info.context, input.name, input.kind)  # type: ignore[return-value]

    @strawberry.mutation(extensions=requires("finance:write"))
    async def transaction_create(self, info: Info, input: TransactionInput) -> TransactionPayload:
        return await resolve.transaction_create(info.context, input)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Set a deal's budget for a category; crossing it fires budget.exceeded once.",
        extensions=requires("finance:write"),
    )
    async def budget_set(self, info: Info, input: BudgetInput) -> BudgetPayload:
        return await resolve.budget_set(info.context, input)  # type: ignore[return-value]
