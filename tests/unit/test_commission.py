"""Commission splits: flat fees, percentage splits, caps, cents that always add up."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.commission import CommissionRule, Share, split_commission
from domain.errors import DomainError, ErrorCode


def amounts(shares: list[Share]) -> dict[str, Decimal]:
    return {share.party: share.amount for share in shares}


def test_three_percent_of_400k_split_70_30_after_a_transaction_fee() -> None:
    gross = Decimal("400000") * Decimal("0.03")  # 12,000.00
    shares = split_commission(
        gross,
        [
            CommissionRule("Transaction fee", flat_fee=Decimal("500")),
            CommissionRule("Agent", rate=Decimal("0.70")),
        ],
        "Brokerage",
    )
    assert amounts(shares) == {
        "Transaction fee": Decimal("500.00"),
        "Agent": Decimal("8050.00"),  # 70 % of 11,500
        "Brokerage": Decimal("3450.00"),  # the other 30 %
    }
    assert [s.party for s in shares] == ["Transaction fee", "Agent", "Brokerage"]
    assert shares[1].basis == "70% of 11500"
    assert shares[2].basis == "remainder"
    assert sum(s.amount for s in shares) == gross


def test_cap_sends_the_excess_to_the_remainder_party() -> None:
    shares = split_commission(
        Decimal("30000.00"),
        [CommissionRule("Agent", rate=Decimal("0.80"), cap=Decimal("20000"))],
        "Brokerage",
    )
    assert amounts(shares) == {"Agent": Decimal("20000.00"), "Brokerage": Decimal("10000.00")}
    assert "capped at 20000" in shares[0].basis


def test_cap_on_a_flat_fee() -> None:
    shares = split_commission(
        Decimal("1000"),
        [CommissionRule("Fee", flat_fee=Decimal("400"), cap=Decimal("250"))],
        "Broker",
    )
    assert amounts(shares) == {"Fee": Decimal("250.00"), "Broker": Decimal("750.00")}


def test_flat_fee_larger_than_the_gross() -> None:
    shares = split_commission(
        Decimal("300.00"),
        [
            CommissionRule("E&O insurance", flat_fee=Decimal("250")),
            CommissionRule("Transaction fee", flat_fee=Decimal("500")),
            CommissionRule("Agent", rate=Decimal("0.70")),
        ],
        "Brokerage",
    )
    assert amounts(shares) == {
        "E&O insurance": Decimal("250.00"),
        "Transaction fee": Decimal("50.00"),  # never more than what is left
        "Agent": Decimal("0.00"),
        "Brokerage": Decimal("0.00"),
    }


def test_gross_one_hundred_split_three_ways() -> None:
    third = Decimal(1) / Decimal(3)
    shares = split_commission(
        Decimal("100.00"), [CommissionRule("A", rate=third), CommissionRule("B", rate=third)], "C"
    )
    assert amounts(shares) == {"A": Decimal("33.33"), "B": Decimal("33.33"), "C": Decimal("33.34")}


def test_three_rules_of_one_third_leave_a_cent_to_the_remainder() -> None:
    third = Decimal(1) / Decimal(3)
    shares = split_commission(
        Decimal("100.00"),
        [CommissionRule(p, rate=third) for p in ("A", "B", "C")],
        "House",
    )
    assert [s.amount for s in shares] == [Decimal("33.33")] * 3 + [Decimal("0.01")]
    assert sum(s.amount for s in shares) == Decimal("100.00")


def test_rounding_up_never_makes_the_remainder_negative() -> None:
    # 0.015 and 0.015 both round half-even to 0.02: 0.04 > 0.03
    shares = split_commission(
        Decimal("0.03"),
        [CommissionRule("A", rate=Decimal("0.5")), CommissionRule("B", rate=Decimal("0.5"))],
        "C",
    )
    assert [s.amount for s in shares] == [Decimal("0.01"), Decimal("0.02"), Decimal("0.00")]
    assert all(s.amount >= 0 for s in shares)


@pytest.mark.parametrize(
    "gross", ["0.01", "0.07", "1.00", "99.99", "12345.67", "1000000.01", "0", "7"]
)
def test_shares_always_sum_to_the_gross(gross: str) -> None:
    rules = [
        CommissionRule("Fee", flat_fee=Decimal("0.335")),
        CommissionRule("A", rate=Decimal("0.3333"), cap=Decimal("50000")),
        CommissionRule("B", rate=Decimal("0.2555")),
        CommissionRule("C", rate=Decimal("0.4112")),
    ]
    shares = split_commission(Decimal(gross), rules, "D")
    assert sum(s.amount for s in shares) == Decimal(gross)
    assert all(s.amount >= 0 and s.amount.as_tuple().exponent == -2 for s in shares)


def test_no_rules_gives_everything_to_the_remainder_party() -> None:
    assert split_commission(Decimal("100"), [], "Broker") == [
        Share("Broker", Decimal("100.00"), "remainder")
    ]


def test_zero_gross() -> None:
    shares = split_commission(Decimal(0), [CommissionRule("Fee", flat_fee=Decimal(10))], "Broker")
    assert amounts(shares) == {"Fee": Decimal("0.00"), "Broker": Decimal("0.00")}


def fields_of(error: DomainError) -> list[tuple[str, ...] | None]:
    return [e.field for e in error.errors]


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(DomainError) as caught:
        split_commission(
            Decimal("-1"),
            [
                CommissionRule("", rate=Decimal("0.5")),
                CommissionRule("Agent", rate=Decimal("1.5")),
                CommissionRule("Fee", rate=Decimal("0.1"), flat_fee=Decimal("5")),
                CommissionRule("Agent", flat_fee=Decimal("-5"), cap=Decimal("-1")),
                CommissionRule("Broker", rate=Decimal("0.1")),
                CommissionRule("Nobody"),
                CommissionRule("x" * 101, rate=Decimal("0")),
            ],
            "Broker",
        )
    assert all(e.code is ErrorCode.INVALID for e in caught.value.errors)
    assert fields_of(caught.value) == [
        ("input", "gross"),
        ("input", "rules", "0", "party"),
        ("input", "rules", "1", "rate"),
        ("input", "rules", "2"),
        ("input", "rules", "3", "flatFee"),
        ("input", "rules", "3", "cap"),
        ("input", "rules", "5"),
        ("input", "rules", "6", "party"),
        ("input", "rules", "3", "party"),  # Agent twice
        ("input", "rules", "4", "party"),  # the remainder party as a rule
        ("input", "rules"),  # rates add up to 2.2
    ]


@pytest.mark.parametrize(
    ("gross", "message"),
    [
        (Decimal("10.001"), "gross has more than two decimal places."),
        (Decimal("-0.01"), "gross cannot be negative."),
        (Decimal("NaN"), "gross must be a finite amount."),
    ],
)
def test_bad_gross(gross: Decimal, message: str) -> None:
    with pytest.raises(DomainError) as caught:
        split_commission(gross, [], "Broker")
    assert [(e.message, e.field) for e in caught.value.errors] == [(message, ("input", "gross"))]


def test_rates_must_not_exceed_one_in_total() -> None:
    with pytest.raises(DomainError) as caught:
        split_commission(
            Decimal(100),
            [CommissionRule("A", rate=Decimal("0.6")), CommissionRule("B", rate=Decimal("0.41"))],
            "C",
        )
    assert fields_of(caught.value) == [("input", "rules")]


def test_at_most_twenty_rules() -> None:
    rules = [CommissionRule(f"P{i}", flat_fee=Decimal(1)) for i in range(21)]
    with pytest.raises(DomainError) as caught:
        split_commission(Decimal(100), rules, "Broker")
    assert fields_of(caught.value) == [("input", "rules")]
    assert len(split_commission(Decimal(100), rules[:20], "Broker")) == 21


def test_blank_remainder_party() -> None:
    with pytest.raises(DomainError) as caught:
        split_commission(Decimal(100), [], "  ")
    assert fields_of(caught.value) == [("input", "remainderParty")]
