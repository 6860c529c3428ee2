"""Loan, NPV and IRR math against numpy-financial's published vectors and property cash flows."""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import numpy_financial as npf
import pytest

from domain.finance_math import (
    amortization_schedule,
    irr,
    monthly_payment,
    npv,
    remaining_balance,
)

REL = 1e-9


def dec(values: list[float]) -> list[Decimal]:
    return [Decimal(str(v)) for v in values]


def close(ours: Decimal | None, theirs: float) -> bool:
    assert ours is not None
    return math.isclose(float(ours), theirs, rel_tol=REL)


# numpy-financial docstring vectors


def test_pmt_docstring_vector() -> None:
    ours = monthly_payment(Decimal(200000), Decimal("0.075"), 12 * 15)
    assert close(ours, -npf.pmt(0.075 / 12, 12 * 15, 200000))
    assert math.isclose(float(ours), 1854.0247200054619, rel_tol=REL)


def test_npv_docstring_vector() -> None:
    ours = npv(Decimal("0.281"), dec([-100, 39, 59, 55, 20]))
    assert math.isclose(float(ours), -0.0084785916384548798, rel_tol=1e-6)
    assert close(ours, npf.npv(0.281, [-100, 39, 59, 55, 20]))


@pytest.mark.parametrize(
    ("flows", "published"),
    [
        ([-100, 39, 59, 55, 20], 0.28094842115996066),
        ([-150000, 15000, 25000, 35000, 45000, 60000], 0.0524),
        ([-100, 0, 0, 74], -0.0955),
        ([-100, 100, 0, -7], -0.0833),
        ([-100, 100, 0, 7], 0.0621),
        ([-5, 10.5, 1, -8, 1], 0.0886),
    ],
)
def test_irr_docstring_vectors(flows: list[float], published: float) -> None:
    ours = irr(dec(flows))
    assert ours is not None
    assert close(ours, npf.irr(flows))
    assert round(float(ours), 4) == round(published, 4)


def test_irr_first_vector_to_full_precision() -> None:
    assert close(irr(dec([-100, 39, 59, 55, 20])), 0.28094842115996066)


def test_irr_is_a_root_of_npv_to_1e_10() -> None:
    flows = dec([-150000, 15000, 25000, 35000, 45000, 60000])
    rate = irr(flows)
    assert rate is not None
    assert abs(npv(rate, flows)) < Decimal("1e-20")
    assert npv(rate - Decimal("1e-10"), flows) * npv(rate + Decimal("1e-10"), flows) < 0


# Several IRRs: numpy-financial returns the real root > -1 closest to 0.


@pytest.mark.parametrize(
    "flows",
    [
        [-100, 230, -132],  # roots 10 % and 20 %
        [-1000, 3600, -4310, 1716],  # roots 10 %, 20 %, 30 %
        [100, -230, 132],
        [-10, 21, -11.0002],
    ],
)
def test_several_irrs_pick_the_one_numpy_financial_picks(flows: list[float]) -> None:
    assert close(irr(dec(flows)), npf.irr(flows))


def test_irr_of_flows_with_leading_and_trailing_zeros() -> None:
    assert close(irr(dec([0, -100, 110])), npf.irr([0, -100, 110]))
    assert close(irr(dec([-100, 110, 0])), npf.irr([-100, 110, 0]))


def test_irr_one_period() -> None:
    ours = irr(dec([-100, 110]))
    assert ours is not None
    assert abs(ours - Decimal("0.1")) < Decimal("1e-30")
    assert close(irr(dec([-100, 110])), npf.irr([-100, 110]))


def test_irr_zero_rate() -> None:
    assert irr(dec([-100, 50, 50])) == 0
    assert abs(npf.irr([-100, 50, 50])) < 1e-12


@pytest.mark.parametrize(
    "flows", [[100, 39, 59], [-100, -39, -59], [0, 0, 0], [], [-5], [0, 10, 0, 3]]
)
def test_irr_without_a_sign_change_is_none(flows: list[float]) -> None:
    assert irr(dec(flows)) is None


def test_irr_of_a_total_loss_is_minus_one_hundred_percent_approached() -> None:
    ours = irr(dec([-100, 0, 0, 1e-6]))
    assert ours is not None
    assert close(ours, npf.irr([-100, 0, 0, 1e-6]))


# Property-shaped flows


def test_thirty_year_mortgage_matches_numpy_financial() -> None:
    ours = monthly_payment(Decimal(320000), Decimal("0.0675"), 360)
    assert close(ours, -npf.pmt(0.0675 / 12, 360, 320000))
    assert round(ours, 2) == Decimal("2075.51")


def test_lender_irr_of_a_thirty_year_mortgage_is_its_monthly_rate() -> None:
    payment = monthly_payment(Decimal(320000), Decimal("0.0675"), 360)
    flows = [Decimal(-320000), *[payment] * 360]
    assert len(flows) == 361
    rate = irr(flows)
    assert rate is not None
    assert abs(rate - Decimal("0.0675") / 12) < Decimal("1e-25")
    assert close(rate, npf.irr([float(f) for f in flows]))


def test_monthly_rental_flows_over_thirty_years() -> None:
    flows = [-52000.0] + [310.25] * 359 + [310.25 + 240000.0]
    assert close(irr(dec(flows)), npf.irr(flows))
    assert close(npv(Decimal("0.005"), dec(flows)), npf.npv(0.005, flows))


def test_five_year_hold_with_sale() -> None:
    flows = [-60000, 3000.55, 3485.84, 3986.39, 4502.70, 5035.25 + 76746.14]
    assert close(irr(dec(flows)), npf.irr(flows))
    assert close(npv(Decimal("0.08"), dec(flows)), npf.npv(0.08, flows))


def test_npv_first_flow_is_not_discounted() -> None:
    assert npv(Decimal("0.10"), dec([-100, 110])) == 0
    assert npv(Decimal("0.5"), dec([-100])) == -100
    assert npv(Decimal(0), dec([-100, 30, 30])) == -40


# Payments


def test_zero_rate_payment_is_principal_over_months() -> None:
    assert monthly_payment(Decimal(120000), Decimal(0), 240) == 500
    assert close(monthly_payment(Decimal(1000), Decimal(0), 3), 1000 / 3)


def test_one_period_loan_pays_principal_plus_one_month_interest() -> None:
    ours = monthly_payment(Decimal(10000), Decimal("0.12"), 1)
    assert ours == Decimal("10100")
    assert close(ours, -npf.pmt(0.01, 1, 10000))


def test_zero_principal() -> None:
    assert monthly_payment(Decimal(0), Decimal("0.07"), 360) == 0


@pytest.mark.parametrize(
    ("principal", "months"), [(Decimal(1000), 0), (Decimal(-1), 12), (Decimal(1000), -5)]
)
def test_bad_loan_inputs_raise(principal: Decimal, months: int) -> None:
    with pytest.raises(ValueError):
        monthly_payment(principal, Decimal("0.05"), months)


# Amortization


def test_amortization_sums_and_final_balance() -> None:
    rows = amortization_schedule(Decimal(150000), Decimal("0.07"), 360)
    assert len(rows) == 360
    assert [r.month for r in rows] == list(range(1, 361))
    assert rows[-1].balance == 0
    payment = monthly_payment(Decimal(150000), Decimal("0.07"), 360)
    with localcontext() as ctx:
        ctx.prec = 40
        assert abs(sum(r.principal for r in rows) - 150000) < Decimal("1e-25")
        assert abs(sum(r.payment for r in rows) - 360 * payment) < Decimal("1e-25")
        assert sum(r.principal for r in rows).quantize(Decimal("0.01")) == Decimal("150000.00")
        assert all(r.payment == r.interest + r.principal for r in rows)
    assert all(a.balance > b.balance for a, b in zip(rows, rows[1:], strict=False))


@pytest.mark.parametrize("month", [1, 2, 12, 60, 180, 359, 360])
def test_interest_matches_numpy_financial_ipmt(month: int) -> None:
    rows = amortization_schedule(Decimal(150000), Decimal("0.07"), 360)
    assert close(rows[month - 1].interest, -npf.ipmt(0.07 / 12, month, 360, 150000))
    assert close(rows[month - 1].principal, -npf.ppmt(0.07 / 12, month, 360, 150000))


def test_first_month_worked_by_hand() -> None:
    first = amortization_schedule(Decimal(150000), Decimal("0.07"), 360)[0]
    assert first.interest == Decimal("875")
    assert round(first.payment, 2) == Decimal("997.95")
    assert round(first.principal, 2) == Decimal("122.95")


def test_zero_rate_amortization() -> None:
    rows = amortization_schedule(Decimal(1200), Decimal(0), 12)
    assert all(r.interest == 0 and r.principal == 100 for r in rows)
    assert [r.balance for r in rows][:3] == [1100, 1000, 900]
    assert rows[-1].balance == 0


def test_one_period_amortization() -> None:
    (row,) = amortization_schedule(Decimal(10000), Decimal("0.12"), 1)
    assert (row.payment, row.interest, row.principal, row.balance) == (10100, 100, 10000, 0)


@pytest.mark.parametrize("after", [0, 1, 12, 60, 359, 360])
def test_remaining_balance_agrees_with_schedule_and_numpy(after: int) -> None:
    rows = amortization_schedule(Decimal(150000), Decimal("0.07"), 360)
    ours = remaining_balance(Decimal(150000), Decimal("0.07"), 360, after)
    expected = Decimal(150000) if after == 0 else rows[after - 1].balance
    assert abs(ours - expected) < Decimal("1e-25")
    if after < 360:
        assert close(ours, -npf.fv(0.07 / 12, after, -float(rows[0].payment), 150000))


def test_remaining_balance_rejects_months_outside_the_term() -> None:
    with pytest.raises(ValueError):
        remaining_balance(Decimal(1000), Decimal("0.05"), 12, 13)
