"""Deal analysis and hold projection, computed exactly as DOMAIN.md defines them.

Every metric comes with a `Formula`: its expression, the inputs it used (full-precision
strings, so a user can recompute it) and, when it is null, the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal, localcontext

from domain.finance_math import (
    PRECISION,
    AmortizationRow,
    amortization_schedule,
    irr,
    monthly_payment,
    npv,
)
from domain.names import camel_case

ZERO = Decimal(0)
ONE = Decimal(1)
TWELVE = Decimal(12)
SEVENTY_PERCENT = Decimal("0.70")
ONE_PERCENT = Decimal("0.01")

STRATEGIES = ("FLIP", "BRRRR", "BUY_AND_HOLD", "WHOLESALE")
SALE_STRATEGIES = frozenset({"FLIP", "WHOLESALE"})
RENTAL_STRATEGIES = frozenset({"BRRRR", "BUY_AND_HOLD"})
MAX_LOAN_TERM_MONTHS = 1200
MAX_HOLD_YEARS = 100

# Used when an assumption is missing; anything not listed here is required, never invented.
DEFAULTS: dict[str, Decimal | int] = {
    "closing_costs": ZERO,
    "rehab_cost": ZERO,
    "holding_costs": ZERO,
    "down_payment_rate": ONE,
    "loan_term_months": 360,
    "vacancy_rate": ZERO,
    "annual_taxes": ZERO,
    "annual_insurance": ZERO,
    "management_rate": ZERO,
    "maintenance_rate": ZERO,
    "capex_rate": ZERO,
    "other_monthly_expenses": ZERO,
    "selling_cost_rate": ZERO,
    "refinance_costs": ZERO,
    "hold_years": 5,
    "appreciation_rate": ZERO,
    "rent_growth_rate": ZERO,
    "expense_growth_rate": ZERO,
}

Value = Decimal | bool | int | None


@dataclass(frozen=True)
class Assumptions:
    purchase_price: Decimal | None = None
    closing_costs: Decimal | None = None
    rehab_cost: Decimal | None = None
    arv: Decimal | None = None
    holding_costs: Decimal | None = None
    down_payment_rate: Decimal | None = None
    interest_rate: Decimal | None = None
    loan_term_months: int | None = None
    monthly_rent: Decimal | None = None
    vacancy_rate: Decimal | None = None
    annual_taxes: Decimal | None = None
    annual_insurance: Decimal | None = None
    management_rate: Decimal | None = None
    maintenance_rate: Decimal | None = None
    capex_rate: Decimal | None = None
    other_monthly_expenses: Decimal | None = None
    selling_cost_rate: Decimal | None = None
    refinance_ltv: Decimal | None = None
    refinance_costs: Decimal | None = None
    hold_years: int | None = None
    appreciation_rate: Decimal | None = None
    rent_growth_rate: Decimal | None = None
    expense_growth_rate: Decimal | None = None
    discount_rate: Decimal | None = None

    def merged(self, other: Assumptions) -> Assumptions:
        """These assumptions, with the gaps filled from `other`."""
        mine = {f.name: getattr(self, f.name) for f in fields(self)}
        return Assumptions(
            **{name: getattr(other, name) if v is None else v for name, v in mine.items()}
        )


@dataclass(frozen=True)
class Formula:
    name: str
    expression: str
    inputs: dict[str, str | None]
    value: str | None
    reason: str | None


@dataclass(frozen=True)
class DealAnalysis:
    max_allowable_offer: Decimal | None
    total_cash_invested: Decimal | None
    loan_amount: Decimal | None
    net_profit: Decimal | None
    roi: Decimal | None
    gross_scheduled_rent: Decimal | None
    effective_gross_income: Decimal | None
    operating_expenses: Decimal | None
    noi: Decimal | None
    cap_rate: Decimal | None
    annual_cash_flow: Decimal | None
    cash_on_cash: Decimal | None
    dscr: Decimal | None
    grm: Decimal | None
    monthly_payment: Decimal | None
    annual_debt_service: Decimal | None
    irr: Decimal | None
    npv: Decimal | None
    cash_left_in_deal: Decimal | None
    one_percent_rule: bool | None
    formulas: tuple[Formula, ...]


@dataclass(frozen=True)
class ProjectionYear:
    year: int
    gross_rent: Decimal
    noi: Decimal
    debt_service: Decimal
    cash_flow: Decimal
    loan_balance: Decimal
    property_value: Decimal


@dataclass(frozen=True)
class Projection:
    years: tuple[ProjectionYear, ...]
    sale_proceeds: Decimal | None
    irr: Decimal | None
    npv: Decimal | None
    amortization: tuple[AmortizationRow, ...]
    formulas: tuple[Formula, ...]
    reason: str | None


class _Undefined(Exception):
    """A metric that cannot be computed from these inputs; its message is the reason."""


def snake_case(name: str) -> str:
    """A camelCase name as its Python (snake_case) name."""
    return "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in name)


def as_text(value: Value) -> str | None:
    """A value as a full-precision string (no exponent), "true"/"false" for booleans."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return format(value, "f")


def _ratio(numerator: Decimal, denominator: Decimal, reason: str) -> Decimal:
    if denominator == 0:
        raise _Undefined(reason)
    return numerator / denominator


class _Sheet:
    """Resolved assumptions and computed metrics, each recorded with its formula."""

    def __init__(self, assumptions: Assumptions) -> None:
        self.assumptions = assumptions
        self.values: dict[str, Value] = {}
        self.reasons: dict[str, str] = {}
        self.formulas: dict[str, Formula] = {}

    def resolve(self, name: str) -> tuple[Value, str | None, bool]:
        """(value, reason when missing, whether a default was used) of a metric or input."""
        if name in self.values:
            return self.values[name], self.reasons.get(name), False
        field = snake_case(name)
        given = getattr(self.assumptions, field)
        if given is not None:
            return given, None, False
        if field in DEFAULTS:
            return DEFAULTS[field], None, True
        return None, f"{name} is required", False

    def number(self, name: str) -> Decimal:
        """A resolved value known to be present, as a Decimal."""
        value = self.resolve(name)[0]
        assert value is not None and not isinstance(value, bool)
        return Decimal(value)

    def define(
        self,
        name: str,
        expression: str,
        inputs: Sequence[str],
        compute: Callable[[Mapping[str, Value]], Value],
        optional: frozenset[str] = frozenset(),
    ) -> None:
        """Compute a metric from its inputs (null with a reason when one is missing)."""
        resolved = {n: self.resolve(n) for n in inputs}
        values = {n: v for n, (v, _, _) in resolved.items()}
        missing = [r for n, (v, r, _) in resolved.items() if v is None and n not in optional]
        value: Value = None
        reason = _join(missing)
        if reason is None:
            try:
                value = compute(values)
            except _Undefined as undefined:
                reason = str(undefined)
        defaulted = [n for n, (_, _, d) in resolved.items() if d]
        self.record(
            Formula(
                name,
                _with_defaults(expression, defaulted, values),
                {n: as_text(v) for n, v in values.items()},
                as_text(value),
                reason,
            ),
            value,
        )

    def record(self, formula: Formula, value: Value) -> None:
        """Store a metric's value, reason and formula."""
        self.values[formula.name] = value
        if formula.reason:
            self.reasons[formula.name] = formula.reason
        self.formulas[formula.name] = formula


def _join(reasons: Sequence[str | None]) -> str | None:
    """Distinct reasons, in order, as one sentence (None when there are none)."""
    parts = (part for reason in reasons if reason for part in reason.split("; "))
    return "; ".join(dict.fromkeys(parts)) or None


def _with_defaults(expression: str, defaulted: Sequence[str], values: Mapping[str, Value]) -> str:
    if not defaulted:
        return expression
    used = ", ".join(f"{n} = {as_text(values[n])}" for n in defaulted)
    return f"{expression}; defaults (not given): {used}"


def _d(values: Mapping[str, Value], name: str) -> Decimal:
    value = values[name]
    assert value is not None and not isinstance(value, bool)
    return Decimal(value)


def _payment(v: Mapping[str, Value]) -> Decimal:
    loan, rate, term = v["loanAmount"], v["interestRate"], v["loanTermMonths"]
    assert isinstance(loan, Decimal) and isinstance(term, int)
    if loan < 0:
        raise _Undefined("loanAmount is negative: downPaymentRate is above 1")
    if loan == 0:
        return ZERO
    if rate is None:
        raise _Undefined("interestRate is required when there is a loan")
    if not 1 <= term <= MAX_LOAN_TERM_MONTHS:
        raise _Undefined(f"loanTermMonths must be between 1 and {MAX_LOAN_TERM_MONTHS}")
    if Decimal(rate) < 0:
        raise _Undefined("interestRate cannot be negative")
    return monthly_payment(loan, Decimal(rate), term)


def _define_financing(s: _Sheet) -> None:
    s.define(
        "totalCashInvested",
        "purchasePrice * downPaymentRate + closingCosts + rehabCost + holdingCosts",
        ("purchasePrice", "downPaymentRate", "closingCosts", "rehabCost", "holdingCosts"),
        lambda v: (
            _d(v, "purchasePrice") * _d(v, "downPaymentRate")
            + _d(v, "closingCosts")
            + _d(v, "rehabCost")
            + _d(v, "holdingCosts")
        ),
    )
    s.define(
        "loanAmount",
        "purchasePrice * (1 - downPaymentRate)",
        ("purchasePrice", "downPaymentRate"),
        lambda v: _d(v, "purchasePrice") * (ONE - _d(v, "downPaymentRate")),
    )
    s.define(
        "monthlyPayment",
        "loanAmount * r * (1 + r)^n / ((1 + r)^n - 1), r = interestRate / 12, "
        "n = loanTermMonths; loanAmount / n when r = 0; 0 without a loan",
        ("loanAmount", "interestRate", "loanTermMonths"),
        _payment,
        optional=frozenset({"interestRate"}),
    )
    s.define(
        "annualDebtService",
        "12 * monthlyPayment",
        ("monthlyPayment",),
        lambda v: TWELVE * _d(v, "monthlyPayment"),
    )


def _define_sale(s: _Sheet) -> None:
    s.define(
        "maxAllowableOffer",
        "0.70 * arv - rehabCost",
        ("arv", "rehabCost"),
        lambda v: SEVENTY_PERCENT * _d(v, "arv") - _d(v, "rehabCost"),
    )
    s.define(
        "netProfit",
        "arv * (1 - sellingCostRate) - purchasePrice - rehabCost - closingCosts - holdingCosts",
        ("arv", "sellingCostRate", "purchasePrice", "rehabCost", "closingCosts", "holdingCosts"),
        lambda v: (
            _d(v, "arv") * (ONE - _d(v, "sellingCostRate"))
            - _d(v, "purchasePrice")
            - _d(v, "rehabCost")
            - _d(v, "closingCosts")
            - _d(v, "holdingCosts")
        ),
    )
    s.define(
        "roi",
        "netProfit / totalCashInvested",
        ("netProfit", "totalCashInvested"),
        lambda v: _ratio(
            _d(v, "netProfit"), _d(v, "totalCashInvested"), "totalCashInvested is zero"
        ),
    )


def _define_income(s: _Sheet) -> None:
    s.define(
        "grossScheduledRent",
        "12 * monthlyRent",
        ("monthlyRent",),
        lambda v: TWELVE * _d(v, "monthlyRent"),
    )
    s.define(
        "effectiveGrossIncome",
        "grossScheduledRent * (1 - vacancyRate)",
        ("grossScheduledRent", "vacancyRate"),
        lambda v: _d(v, "grossScheduledRent") * (ONE - _d(v, "vacancyRate")),
    )
    s.define(
        "operatingExpenses",
        "annualTaxes + annualInsurance + managementRate * effectiveGrossIncome + "
        "(maintenanceRate + capexRate) * grossScheduledRent + 12 * otherMonthlyExpenses",
        (
            "annualTaxes",
            "annualInsurance",
            "managementRate",
            "effectiveGrossIncome",
            "maintenanceRate",
            "capexRate",
            "grossScheduledRent",
            "otherMonthlyExpenses",
        ),
        lambda v: (
            _d(v, "annualTaxes")
            + _d(v, "annualInsurance")
            + _d(v, "managementRate") * _d(v, "effectiveGrossIncome")
            + (_d(v, "maintenanceRate") + _d(v, "capexRate")) * _d(v, "grossScheduledRent")
            + TWELVE * _d(v, "otherMonthlyExpenses")
        ),
    )
    s.define(
        "noi",
        "effectiveGrossIncome - operatingExpenses",
        ("effectiveGrossIncome", "operatingExpenses"),
        lambda v: _d(v, "effectiveGrossIncome") - _d(v, "operatingExpenses"),
    )


def _define_returns(s: _Sheet) -> None:
    s.define(
        "capRate",
        "noi / purchasePrice",
        ("noi", "purchasePrice"),
        lambda v: _ratio(_d(v, "noi"), _d(v, "purchasePrice"), "purchasePrice is zero"),
    )
    s.define(
        "annualCashFlow",
        "noi - annualDebtService",
        ("noi", "annualDebtService"),
        lambda v: _d(v, "noi") - _d(v, "annualDebtService"),
    )
    s.define(
        "cashOnCash",
        "annualCashFlow / totalCashInvested",
        ("annualCashFlow", "totalCashInvested"),
        lambda v: _ratio(
            _d(v, "annualCashFlow"), _d(v, "totalCashInvested"), "totalCashInvested is zero"
        ),
    )
    s.define(
        "dscr",
        "noi / annualDebtService",
        ("noi", "annualDebtService"),
        lambda v: _ratio(
            _d(v, "noi"), _d(v, "annualDebtService"), "no debt service (there is no loan)"
        ),
    )
    s.define(
        "grm",
        "purchasePrice / grossScheduledRent",
        ("purchasePrice", "grossScheduledRent"),
        lambda v: _ratio(
            _d(v, "purchasePrice"), _d(v, "grossScheduledRent"), "grossScheduledRent is zero"
        ),
    )
    s.define(
        "onePercentRule",
        "monthlyRent >= 0.01 * purchasePrice",
        ("monthlyRent", "purchasePrice"),
        lambda v: _d(v, "monthlyRent") >= ONE_PERCENT * _d(v, "purchasePrice"),
    )
    s.define(
        "cashLeftInDeal",
        "totalCashInvested + loanAmount - (refinanceLtv * arv - refinanceCosts)",
        ("totalCashInvested", "loanAmount", "refinanceLtv", "arv", "refinanceCosts"),
        lambda v: (
            _d(v, "totalCashInvested")
            + _d(v, "loanAmount")
            - (_d(v, "refinanceLtv") * _d(v, "arv") - _d(v, "refinanceCosts"))
        ),
    )


def _sheet(a: Assumptions) -> _Sheet:
    """Every metric of DOMAIN.md for these assumptions, whatever the strategy."""
    sheet = _Sheet(a)
    _define_financing(sheet)
    _define_sale(sheet)
    _define_income(sheet)
    _define_returns(sheet)
    return sheet


# DealAnalysis field order, with the strategies each metric is reported for.
ALL_STRATEGIES = frozenset(STRATEGIES)
METRICS: tuple[tuple[str, frozenset[str]], ...] = (
    ("max_allowable_offer", ALL_STRATEGIES),
    ("total_cash_invested", ALL_STRATEGIES),
    ("loan_amount", ALL_STRATEGIES),
    ("net_profit", SALE_STRATEGIES),
    ("roi", SALE_STRATEGIES),
    ("gross_scheduled_rent", RENTAL_STRATEGIES),
    ("effective_gross_income", RENTAL_STRATEGIES),
    ("operating_expenses", RENTAL_STRATEGIES),
    ("noi", RENTAL_STRATEGIES),
    ("cap_rate", RENTAL_STRATEGIES),
    ("annual_cash_flow", RENTAL_STRATEGIES),
    ("cash_on_cash", RENTAL_STRATEGIES),
    ("dscr", RENTAL_STRATEGIES),
    ("grm", RENTAL_STRATEGIES),
    ("monthly_payment", ALL_STRATEGIES),
    ("annual_debt_service", ALL_STRATEGIES),
    ("irr", RENTAL_STRATEGIES),
    ("npv", RENTAL_STRATEGIES),
    ("cash_left_in_deal", frozenset({"BRRRR"})),
    ("one_percent_rule", RENTAL_STRATEGIES),
)


def analyze(strategy: str, a: Assumptions) -> DealAnalysis:
    """Every DealAnalysis metric for a strategy; inapplicable or uncomputable ones are null."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}")
    with localcontext() as ctx:
        ctx.prec = PRECISION
        sheet = _sheet(a)
        if strategy in RENTAL_STRATEGIES:
            projection = _projection(sheet)
            for formula in projection.formulas:
                if formula.name in ("irr", "npv"):
                    sheet.record(formula, getattr(projection, formula.name))
    values: dict[str, Value] = {}
    formulas: list[Formula] = []
    for field, strategies in METRICS:
        name = camel_case(field)
        formula = sheet.formulas.get(name) or Formula(
            name, PROJECTION_EXPRESSIONS[name], {}, None, None
        )
        if strategy in strategies:
            values[field] = sheet.values.get(name)
        else:
            values[field] = None
            formula = Formula(name, formula.expression, formula.inputs, None, _unused(strategy))
        formulas.append(formula)
    return DealAnalysis(**values, formulas=tuple(formulas))  # type: ignore[arg-type]


def _unused(strategy: str) -> str:
    return f"not used for {strategy} deals"


def project(a: Assumptions) -> Projection:
    """The year-by-year hold, the sale at the end, and the IRR and NPV of its cash flows."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return _projection(_sheet(a))


PROJECTION_EXPRESSIONS = {
    "grossRent": "grossScheduledRent * (1 + rentGrowthRate)^(t - 1)",
    "noi": "grossRent * (1 - vacancyRate) * (1 - managementRate) "
    "- (maintenanceRate + capexRate) * grossRent "
    "- (annualTaxes + annualInsurance + 12 * otherMonthlyExpenses) "
    "* (1 + expenseGrowthRate)^(t - 1)",
    "debtService": "monthlyPayment * (payments due in year t: 12 while the loan runs)",
    "cashFlow": "noi - debtService",
    "loanBalance": "amortization balance after month min(12 * t, loanTermMonths)",
    "propertyValue": "(arv or purchasePrice) * (1 + appreciationRate)^t",
    "saleProceeds": "propertyValue * (1 - sellingCostRate) - loanBalance, at t = holdYears",
    "irr": "rate where sum(cashFlow_t / (1 + rate)^t) = 0, t = 0..holdYears, "
    "cashFlow_0 = -totalCashInvested, saleProceeds added to the last year",
    "npv": "sum(cashFlow_t / (1 + discountRate)^t), t = 0..holdYears",
}


def _amortization(s: _Sheet) -> tuple[AmortizationRow, ...]:
    """The loan's whole schedule, or nothing when there is no loan or it cannot be computed."""
    loan, payment = s.values["loanAmount"], s.values["monthlyPayment"]
    if loan is None or payment is None or Decimal(loan) <= 0:
        return ()
    rate = s.number("interestRate")
    term = int(s.number("loanTermMonths"))
    return tuple(amortization_schedule(Decimal(loan), rate, term))


def _blocker(s: _Sheet) -> str | None:
    """Why no projection can be made from these assumptions, if it cannot."""
    hold = s.resolve("holdYears")[0]
    assert isinstance(hold, int)
    reasons = [s.reasons.get(n) for n in ("totalCashInvested", "noi", "monthlyPayment")]
    if not 1 <= hold <= MAX_HOLD_YEARS:
        reasons.append(f"holdYears must be between 1 and {MAX_HOLD_YEARS}")
    return _join(reasons)


def _projection(s: _Sheet) -> Projection:
    amortization = _amortization(s)
    reason = _blocker(s)
    if reason is not None:
        blocked = tuple(
            Formula(name, expression, {}, None, reason)
            for name, expression in PROJECTION_EXPRESSIONS.items()
        )
        return Projection((), None, None, None, amortization, blocked, reason)
    hold = int(s.number("holdYears"))
    years = tuple(_year(s, t, amortization) for t in range(1, hold + 1))
    last = years[-1]
    sale = last.property_value * (ONE - s.number("sellingCostRate")) - last.loan_balance
    flows = [-s.number("totalCashInvested"), *(y.cash_flow for y in years)]
    flows[-1] += sale
    rate, rate_reason = _irr(flows)
    value, value_reason = _npv(s.resolve("discountRate")[0], flows)
    formulas = (
        *_year_formulas(s, last, amortization),
        Formula(
            "saleProceeds",
            PROJECTION_EXPRESSIONS["saleProceeds"],
            {
                "propertyValue": as_text(last.property_value),
                "sellingCostRate": as_text(s.number("sellingCostRate")),
                "loanBalance": as_text(last.loan_balance),
            },
            as_text(sale),
            None,
        ),
        Formula(
            "irr", PROJECTION_EXPRESSIONS["irr"], _flow_inputs(flows), as_text(rate), rate_reason
        ),
        Formula(
            "npv",
            PROJECTION_EXPRESSIONS["npv"],
            {"discountRate": as_text(s.resolve("discountRate")[0]), **_flow_inputs(flows)},
            as_text(value),
            value_reason,
        ),
    )
    return Projection(years, sale, rate, value, amortization, formulas, None)


def _irr(flows: Sequence[Decimal]) -> tuple[Decimal | None, str | None]:
    if all(v >= 0 for v in flows) or all(v <= 0 for v in flows):
        return None, "the cash flows never change sign, so there is no IRR"
    rate = irr(flows)
    return rate, None if rate is not None else "no rate makes the NPV of the cash flows zero"


def _npv(rate: Value, flows: Sequence[Decimal]) -> tuple[Decimal | None, str | None]:
    if rate is None:
        return None, "discountRate is required"
    if Decimal(rate) <= -ONE:
        return None, "discountRate must be above -1"
    return npv(Decimal(rate), flows), None


def _flow_inputs(flows: Sequence[Decimal]) -> dict[str, str | None]:
    return {f"cashFlow{t}": as_text(flow) for t, flow in enumerate(flows)}


def _payments_in_year(t: int, term: int) -> int:
    return max(0, min(12, term - 12 * (t - 1)))


def _year(s: _Sheet, t: int, amortization: Sequence[AmortizationRow]) -> ProjectionYear:
    """Year t of the hold: rent and fixed costs grown, debt service, balance and value."""
    rent = s.number("grossScheduledRent") * (ONE + s.number("rentGrowthRate")) ** (t - 1)
    income = rent * (ONE - s.number("vacancyRate"))
    fixed = (
        s.number("annualTaxes")
        + s.number("annualInsurance")
        + TWELVE * s.number("otherMonthlyExpenses")
    ) * (ONE + s.number("expenseGrowthRate")) ** (t - 1)
    expenses = (
        fixed
        + s.number("managementRate") * income
        + (s.number("maintenanceRate") + s.number("capexRate")) * rent
    )
    noi = income - expenses
    term = int(s.number("loanTermMonths"))
    debt = s.number("monthlyPayment") * _payments_in_year(t, term) if amortization else ZERO
    balance = amortization[min(12 * t, term) - 1].balance if amortization else ZERO
    value = _base_value(s) * (ONE + s.number("appreciationRate")) ** t
    return ProjectionYear(t, rent, noi, debt, noi - debt, balance, value)


def _base_value(s: _Sheet) -> Decimal:
    arv = s.resolve("arv")[0]
    return Decimal(arv) if arv is not None else s.number("purchasePrice")


def _year_formulas(
    s: _Sheet, year: ProjectionYear, amortization: Sequence[AmortizationRow]
) -> tuple[Formula, ...]:
    """The yearly formulas, evaluated for the last year of the hold (t = holdYears)."""
    t = {"t": str(year.year)}

    def given(*names: str) -> dict[str, str | None]:
        return {n: as_text(s.resolve(n)[0]) for n in names}

    def formula(name: str, inputs: dict[str, str | None], value: Decimal) -> Formula:
        return Formula(name, PROJECTION_EXPRESSIONS[name], {**inputs, **t}, as_text(value), None)

    rates = ("vacancyRate", "managementRate", "maintenanceRate", "capexRate")
    fixed = ("annualTaxes", "annualInsurance", "otherMonthlyExpenses", "expenseGrowthRate")
    loan = ("loanAmount", "interestRate", "loanTermMonths")
    return (
        formula("grossRent", given("grossScheduledRent", "rentGrowthRate"), year.gross_rent),
        formula("noi", {"grossRent": as_text(year.gross_rent), **given(*rates, *fixed)}, year.noi),
        formula("debtService", given("monthlyPayment", "loanTermMonths"), year.debt_service),
        formula(
            "cashFlow",
            {"noi": as_text(year.noi), "debtService": as_text(year.debt_service)},
            year.cash_flow,
        ),
        formula("loanBalance", given(*loan) if amortization else {}, year.loan_balance),
        formula(
            "propertyValue",
            given("arv", "purchasePrice", "appreciationRate"),
            year.property_value,
        ),
    )
