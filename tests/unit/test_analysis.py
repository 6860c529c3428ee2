"""Deal analysis and projection with worked, hand-checkable numbers (DOMAIN.md "Formulas")."""

from __future__ import annotations

import math
from dataclasses import replace
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

import numpy_financial as npf
import pytest

from domain.analysis import Assumptions, DealAnalysis, Formula, analyze, project

CENT = Decimal("0.01")
METRIC_NAMES = [
    "maxAllowableOffer",
    "totalCashInvested",
    "loanAmount",
    "netProfit",
    "roi",
    "grossScheduledRent",
    "effectiveGrossIncome",
    "operatingExpenses",
    "noi",
    "capRate",
    "annualCashFlow",
    "cashOnCash",
    "dscr",
    "grm",
    "monthlyPayment",
    "annualDebtService",
    "irr",
    "npv",
    "cashLeftInDeal",
    "onePercentRule",
]


def cents(value: Decimal | None) -> Decimal:
    assert value is not None
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def places(value: Decimal | None, digits: int) -> Decimal:
    assert value is not None
    return value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_EVEN)


def close(ours: Decimal | None, theirs: float) -> bool:
    assert ours is not None
    return math.isclose(float(ours), theirs, rel_tol=1e-9)


def formula(analysis: DealAnalysis, name: str) -> Formula:
    return next(f for f in analysis.formulas if f.name == name)


# Buy and hold: $200,000 at 25 % down, 7 % for 30 years, $2,000 a month.
RENTAL = Assumptions(
    purchase_price=Decimal("200000"),
    closing_costs=Decimal("6000"),
    rehab_cost=Decimal("4000"),
    down_payment_rate=Decimal("0.25"),
    interest_rate=Decimal("0.07"),
    loan_term_months=360,
    monthly_rent=Decimal("2000"),
    vacancy_rate=Decimal("0.05"),
    annual_taxes=Decimal("2400"),
    annual_insurance=Decimal("1200"),
    management_rate=Decimal("0.08"),
    maintenance_rate=Decimal("0.05"),
    capex_rate=Decimal("0.05"),
    hold_years=5,
    rent_growth_rate=Decimal("0.03"),
    expense_growth_rate=Decimal("0.02"),
    appreciation_rate=Decimal("0.03"),
    selling_cost_rate=Decimal("0.06"),
    discount_rate=Decimal("0.08"),
)


def test_buy_and_hold_worked_example() -> None:
    a = analyze("BUY_AND_HOLD", RENTAL)
    assert cents(a.total_cash_invested) == Decimal("60000.00")  # 50,000 + 6,000 + 4,000
    assert cents(a.loan_amount) == Decimal("150000.00")
    assert cents(a.monthly_payment) == Decimal("997.95")
    assert cents(a.annual_debt_service) == Decimal("11975.44")
    assert cents(a.gross_scheduled_rent) == Decimal("24000.00")
    assert cents(a.effective_gross_income) == Decimal("22800.00")  # 24,000 - 5 %
    # 2,400 + 1,200 + 8 % of 22,800 + 10 % of 24,000
    assert cents(a.operating_expenses) == Decimal("7824.00")
    assert cents(a.noi) == Decimal("14976.00")
    assert a.cap_rate == Decimal("0.07488")
    assert cents(a.annual_cash_flow) == Decimal("3000.56")
    assert places(a.cash_on_cash, 4) == Decimal("0.0500")
    assert places(a.dscr, 4) == Decimal("1.2506")
    assert places(a.grm, 2) == Decimal("8.33")
    assert a.one_percent_rule is True
    assert a.max_allowable_offer is None  # no ARV given
    assert formula(a, "maxAllowableOffer").reason == "arv is required"
    assert a.net_profit is None and a.roi is None and a.cash_left_in_deal is None


def test_buy_and_hold_cross_checked_with_numpy_financial() -> None:
    a = analyze("BUY_AND_HOLD", RENTAL)
    assert close(a.monthly_payment, -npf.pmt(0.07 / 12, 360, 150000))
    flows = [-60000.0, *(float(y.cash_flow) for y in project(RENTAL).years)]
    flows[-1] += float(project(RENTAL).sale_proceeds or 0)
    assert close(a.irr, npf.irr(flows))
    assert close(a.npv, npf.npv(0.08, flows))
    assert places(a.irr, 4) == Decimal("0.1098")
    assert cents(a.npv) == Decimal("7900.02")


def test_metrics_are_not_rounded() -> None:
    a = analyze("BUY_AND_HOLD", RENTAL)
    assert a.grm is not None and len(a.grm.as_tuple().digits) > 20
    assert a.monthly_payment is not None and -a.monthly_payment.as_tuple().exponent > 20


# Flip: ARV $250,000, $30,000 of repairs.
FLIP = Assumptions(
    purchase_price=Decimal("150000"),
    arv=Decimal("250000"),
    rehab_cost=Decimal("30000"),
    closing_costs=Decimal("4500"),
    holding_costs=Decimal("6000"),
    selling_cost_rate=Decimal("0.08"),
)


def test_flip_worked_example() -> None:
    a = analyze("FLIP", FLIP)
    assert a.max_allowable_offer == Decimal("145000")  # 0.70 * 250,000 - 30,000
    assert a.net_profit == Decimal("39500")  # 230,000 - 150,000 - 30,000 - 4,500 - 6,000
    assert a.total_cash_invested == Decimal("190500")  # all cash by default
    assert a.loan_amount == 0 and a.monthly_payment == 0 and a.annual_debt_service == 0
    assert places(a.roi, 4) == Decimal("0.2073")  # 39,500 / 190,500


def test_flip_with_hard_money_loan() -> None:
    a = analyze(
        "FLIP",
        replace(
            FLIP,
            down_payment_rate=Decimal("0.10"),
            interest_rate=Decimal("0.12"),
            loan_term_months=12,
        ),
    )
    assert a.loan_amount == Decimal("135000")
    assert a.total_cash_invested == Decimal("55500")  # 15,000 + 4,500 + 30,000 + 6,000
    assert places(a.roi, 4) == Decimal("0.7117")  # 39,500 / 55,500
    assert close(a.monthly_payment, -npf.pmt(0.01, 12, 135000))
    assert cents(a.monthly_payment) == Decimal("11994.59")


@pytest.mark.parametrize("strategy", ["FLIP", "WHOLESALE"])
def test_rental_metrics_are_not_used_for_sale_strategies(strategy: str) -> None:
    a = analyze(strategy, replace(FLIP, monthly_rent=Decimal("2000")))
    for name in ("noi", "capRate", "dscr", "grm", "irr", "npv", "onePercentRule"):
        f = formula(a, name)
        assert f.value is None
        assert f.reason == f"not used for {strategy} deals"
    assert a.noi is None and a.one_percent_rule is None and a.irr is None
    assert formula(a, "cashLeftInDeal").reason == f"not used for {strategy} deals"
    assert a.net_profit == Decimal("39500")


def test_wholesale_uses_the_flip_definitions() -> None:
    a = analyze("WHOLESALE", FLIP)
    assert a.max_allowable_offer == Decimal("145000")
    assert a.net_profit == Decimal("39500")


# BRRRR: buy 100,000, rehab 30,000, refinance at 75 % of a 160,000 ARV.
BRRRR = Assumptions(
    purchase_price=Decimal("100000"),
    rehab_cost=Decimal("30000"),
    closing_costs=Decimal("3000"),
    holding_costs=Decimal("2000"),
    arv=Decimal("160000"),
    refinance_ltv=Decimal("0.75"),
    refinance_costs=Decimal("4000"),
    monthly_rent=Decimal("1500"),
)


def test_brrrr_cash_left_in_deal_all_cash() -> None:
    a = analyze("BRRRR", BRRRR)
    assert a.total_cash_invested == Decimal("135000")
    # 135,000 + 0 - (0.75 * 160,000 - 4,000)
    assert a.cash_left_in_deal == Decimal("19000")
    assert a.net_profit is None
    assert formula(a, "netProfit").reason == "not used for BRRRR deals"


def test_brrrr_refinance_pays_off_the_acquisition_loan() -> None:
    financed = replace(BRRRR, down_payment_rate=Decimal("0.20"), interest_rate=Decimal("0.10"))
    a = analyze("BRRRR", financed)
    assert a.total_cash_invested == Decimal("55000")  # 20,000 + 3,000 + 30,000 + 2,000
    assert a.loan_amount == Decimal("80000")
    assert a.cash_left_in_deal == Decimal("19000")  # 55,000 + 80,000 - 116,000


def test_brrrr_without_refinance_ltv() -> None:
    a = analyze("BRRRR", replace(BRRRR, refinance_ltv=None))
    assert a.cash_left_in_deal is None
    assert formula(a, "cashLeftInDeal").reason == "refinanceLtv is required"


def test_cash_left_in_deal_is_brrrr_only() -> None:
    assert analyze("BUY_AND_HOLD", BRRRR).cash_left_in_deal is None


def test_max_allowable_offer_for_every_strategy_with_an_arv() -> None:
    for strategy in ("FLIP", "BRRRR", "BUY_AND_HOLD", "WHOLESALE"):
        assert analyze(strategy, BRRRR).max_allowable_offer == Decimal("82000")


# Missing inputs and zero denominators: null with a reason, never an exception.


def test_no_rent() -> None:
    a = analyze("BUY_AND_HOLD", replace(RENTAL, monthly_rent=None))
    for name in ("grossScheduledRent", "noi", "capRate", "annualCashFlow", "dscr", "irr", "npv"):
        f = formula(a, name)
        assert f.value is None and f.reason is not None
        assert "monthlyRent is required" in f.reason
    assert a.one_percent_rule is None
    assert cents(a.monthly_payment) == Decimal("997.95")
    assert a.total_cash_invested == Decimal("60000.00")


def test_no_purchase_price() -> None:
    a = analyze("BUY_AND_HOLD", replace(RENTAL, purchase_price=None))
    assert a.total_cash_invested is None and a.loan_amount is None and a.cap_rate is None
    assert formula(a, "totalCashInvested").reason == "purchasePrice is required"
    assert formula(a, "monthlyPayment").reason == "purchasePrice is required"
    assert a.noi == Decimal("14976")  # income does not need the price
    assert a.irr is None and formula(a, "irr").reason is not None


def test_zero_purchase_price() -> None:
    a = analyze(
        "BUY_AND_HOLD",
        replace(RENTAL, purchase_price=Decimal(0), closing_costs=None, rehab_cost=None),
    )
    assert a.cap_rate is None
    assert formula(a, "capRate").reason == "purchasePrice is zero"
    assert a.cash_on_cash is None
    assert formula(a, "cashOnCash").reason == "totalCashInvested is zero"
    assert a.grm == 0
    assert a.dscr is None  # a zero loan has no debt service


def test_no_loan_means_no_dscr() -> None:
    a = analyze("BUY_AND_HOLD", replace(RENTAL, down_payment_rate=None, interest_rate=None))
    assert a.loan_amount == 0 and a.monthly_payment == 0 and a.annual_debt_service == 0
    assert a.dscr is None
    assert formula(a, "dscr").reason == "no debt service (there is no loan)"
    assert a.annual_cash_flow == a.noi
    assert a.total_cash_invested == Decimal("210000")


def test_loan_without_interest_rate() -> None:
    a = analyze("BUY_AND_HOLD", replace(RENTAL, interest_rate=None))
    assert a.monthly_payment is None
    assert formula(a, "monthlyPayment").reason == "interestRate is required when there is a loan"
    assert a.annual_debt_service is None and a.annual_cash_flow is None and a.dscr is None
    assert a.irr is None and a.npv is None
    assert a.noi is not None and a.cap_rate is not None


def test_zero_interest_loan() -> None:
    a = analyze("BUY_AND_HOLD", replace(RENTAL, interest_rate=Decimal(0)))
    with localcontext() as ctx:
        ctx.prec = 40
        assert a.monthly_payment == Decimal(150000) / 360


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"down_payment_rate": Decimal("1.5")}, "loanAmount is negative"),
        ({"loan_term_months": 0}, "loanTermMonths must be between 1 and 1200"),
        ({"interest_rate": Decimal("-0.01")}, "interestRate cannot be negative"),
    ],
)
def test_bad_loan_inputs_become_reasons(change: dict, reason: str) -> None:
    f = formula(analyze("BUY_AND_HOLD", replace(RENTAL, **change)), "monthlyPayment")
    assert f.value is None and f.reason is not None and f.reason.startswith(reason)


def test_no_discount_rate_means_no_npv_but_an_irr() -> None:
    a = analyze("BUY_AND_HOLD", replace(RENTAL, discount_rate=None))
    assert a.npv is None and formula(a, "npv").reason == "discountRate is required"
    assert a.irr is not None


def test_everything_missing() -> None:
    for strategy in ("FLIP", "BRRRR", "BUY_AND_HOLD", "WHOLESALE"):
        a = analyze(strategy, Assumptions())
        assert all(f.value is None and f.reason for f in a.formulas)


def test_unknown_strategy_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        analyze("TIMESHARE", RENTAL)


# Formulas


def test_one_formula_per_metric_in_order() -> None:
    a = analyze("BUY_AND_HOLD", RENTAL)
    assert [f.name for f in a.formulas] == METRIC_NAMES
    assert formula(a, "onePercentRule").value == "true"
    assert formula(a, "onePercentRule").inputs == {"monthlyRent": "2000", "purchasePrice": "200000"}
    assert formula(a, "dscr").expression == "noi / annualDebtService"
    assert set(formula(a, "operatingExpenses").inputs) == {
        "annualTaxes",
        "annualInsurance",
        "managementRate",
        "effectiveGrossIncome",
        "maintenanceRate",
        "capexRate",
        "grossScheduledRent",
        "otherMonthlyExpenses",
    }
    assert formula(a, "irr").inputs["cashFlow0"] == "-60000.00"
    assert len([k for k in formula(a, "npv").inputs if k.startswith("cashFlow")]) == 6


def test_formula_values_are_full_precision_and_recomputable() -> None:
    a = analyze("BUY_AND_HOLD", RENTAL)
    with localcontext() as ctx:
        ctx.prec = 40
        cap = formula(a, "capRate")
        assert Decimal(cap.inputs["noi"] or "") / Decimal(cap.inputs["purchasePrice"] or "") == (
            Decimal(cap.value or "")
        )
        dscr = formula(a, "dscr")
        noi, debt = dscr.inputs["noi"], dscr.inputs["annualDebtService"]
        assert Decimal(noi or "") / Decimal(debt or "") == Decimal(dscr.value or "")
    assert Decimal(formula(a, "monthlyPayment").value or "") == a.monthly_payment
    assert "E" not in (formula(a, "grm").value or "")


def test_defaults_are_shown_in_the_formula() -> None:
    a = analyze("FLIP", Assumptions(purchase_price=Decimal(100000), arv=Decimal(150000)))
    tci = formula(a, "totalCashInvested")
    assert tci.inputs["downPaymentRate"] == "1" and tci.inputs["closingCosts"] == "0"
    assert "defaults (not given): downPaymentRate = 1, closingCosts = 0" in tci.expression
    assert formula(a, "monthlyPayment").inputs["loanTermMonths"] == "360"


def test_merged_assumptions_prefer_their_own_values() -> None:
    deal = Assumptions(purchase_price=Decimal(100000), arv=Decimal(150000), rehab_cost=Decimal(1))
    given = Assumptions(purchase_price=Decimal(95000), monthly_rent=Decimal(1200))
    merged = given.merged(deal)
    assert merged.purchase_price == Decimal(95000)
    assert merged.arv == Decimal(150000) and merged.rehab_cost == Decimal(1)
    assert merged.monthly_rent == Decimal(1200) and merged.interest_rate is None


# Projection


def test_projection_grows_year_by_year() -> None:
    p = project(RENTAL)
    assert p.reason is None
    assert [y.year for y in p.years] == [1, 2, 3, 4, 5]
    y1, y2 = p.years[0], p.years[1]
    assert y1.gross_rent == Decimal(24000) and y2.gross_rent == Decimal("24720")
    assert cents(y1.noi) == Decimal("14976.00")
    # 24,720 * 0.95 * 0.92 - 0.10 * 24,720 - 3,600 * 1.02
    assert cents(y2.noi) == Decimal("15461.28")
    assert len({y.debt_service for y in p.years}) == 1
    assert cents(y1.debt_service) == Decimal("11975.44")
    balances = [y.loan_balance for y in p.years]
    assert balances == sorted(balances, reverse=True) and len(set(balances)) == 5
    assert balances[-1] == p.amortization[59].balance
    assert cents(balances[-1]) == Decimal("141197.38")
    assert cents(p.years[-1].property_value) == Decimal("231854.81")  # 200,000 * 1.03^5
    assert cents(p.sale_proceeds) == Decimal("76746.14")
    with localcontext() as ctx:
        ctx.prec = 40
        assert all(y.cash_flow == y.noi - y.debt_service for y in p.years)


def test_projection_irr_and_npv_equal_numpy_financial_on_its_own_flows() -> None:
    p = project(RENTAL)
    assert p.sale_proceeds is not None
    flows = [-60000.0, *(float(y.cash_flow) for y in p.years)]
    flows[-1] += float(p.sale_proceeds)
    assert close(p.irr, npf.irr(flows))
    assert close(p.npv, npf.npv(0.08, flows))
    a = analyze("BUY_AND_HOLD", RENTAL)
    assert (a.irr, a.npv) == (p.irr, p.npv)


def test_projection_covers_the_whole_loan_term() -> None:
    p = project(RENTAL)
    assert len(p.amortization) == 360 and p.amortization[-1].balance == 0
    assert [f.name for f in p.formulas][-3:] == ["saleProceeds", "irr", "npv"]


def test_projection_values_the_sale_on_arv_when_known() -> None:
    p = project(replace(RENTAL, arv=Decimal(250000), appreciation_rate=None))
    assert all(y.property_value == Decimal(250000) for y in p.years)


def test_loan_paid_off_during_the_hold() -> None:
    p = project(replace(RENTAL, loan_term_months=18))
    debt = [y.debt_service for y in p.years]
    assert abs(debt[1] - debt[0] / 2) < Decimal("1e-20")  # 6 payments in year 2
    assert debt[2:] == [0, 0, 0]
    assert [y.loan_balance for y in p.years][1:] == [0, 0, 0, 0]


def test_projection_without_rent_keeps_the_amortization() -> None:
    p = project(replace(RENTAL, monthly_rent=None))
    assert p.years == () and p.irr is None and p.npv is None and p.sale_proceeds is None
    assert p.reason == "monthlyRent is required"
    assert len(p.amortization) == 360
    assert all(f.value is None and f.reason == p.reason for f in p.formulas)


def test_projection_without_purchase_price() -> None:
    p = project(replace(RENTAL, purchase_price=None))
    assert p.years == () and p.amortization == ()
    assert p.reason is not None and "purchasePrice is required" in p.reason


def test_projection_with_zero_growth_and_no_loan() -> None:
    p = project(Assumptions(purchase_price=Decimal(100000), monthly_rent=Decimal(1000)))
    assert len(p.years) == 5  # holdYears defaults to 5
    assert all(y.noi == Decimal(12000) and y.debt_service == 0 for y in p.years)
    assert p.amortization == () and p.npv is None
    # -100,000, then 12,000 a year and the house back at cost: 12 % a year
    assert p.irr is not None and abs(p.irr - Decimal("0.12")) < Decimal("1e-25")


def test_projection_irr_without_sign_change() -> None:
    p = project(
        Assumptions(
            purchase_price=Decimal(100000),
            down_payment_rate=Decimal(0),
            interest_rate=Decimal("0.05"),
            monthly_rent=Decimal(1000),
        )
    )
    assert p.irr is None
    irr_formula = next(f for f in p.formulas if f.name == "irr")
    assert irr_formula.reason == "the cash flows never change sign, so there is no IRR"


def test_bad_hold_years() -> None:
    p = project(replace(RENTAL, hold_years=0))
    assert p.years == () and p.reason == "holdYears must be between 1 and 100"
