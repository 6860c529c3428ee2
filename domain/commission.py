"""Commission splits by brokerage plan: flat fees, percentage splits with caps, a remainder.

The shares are in cents and always add up to the gross exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from domain.errors import DomainError, ErrorCode, FieldError

PRECISION = 40
CENT = Decimal("0.01")
ZERO = Decimal(0)
ONE = Decimal(1)
MAX_RULES = 20
MAX_PARTY_LENGTH = 100
PATH = ("input",)


@dataclass(frozen=True)
class CommissionRule:
    party: str
    rate: Decimal | None = None
    flat_fee: Decimal | None = None
    cap: Decimal | None = None


@dataclass(frozen=True)
class Share:
    party: str
    amount: Decimal
    basis: str


def _error(message: str, *field: str) -> FieldError:
    return FieldError(ErrorCode.INVALID, message, (*PATH, *field))


def _finite(value: Decimal | None) -> bool:
    return value is None or value.is_finite()


def _party_errors(party: str, where: tuple[str, ...], what: str) -> list[FieldError]:
    name = party.strip()
    if not name:
        return [_error(f"{what} cannot be blank.", *where)]
    if len(name) > MAX_PARTY_LENGTH:
        return [_error(f"{what} is longer than {MAX_PARTY_LENGTH} characters.", *where)]
    return []


def _gross_errors(gross: Decimal) -> list[FieldError]:
    if not gross.is_finite():
        return [_error("gross must be a finite amount.", "gross")]
    if gross < 0:
        return [_error("gross cannot be negative.", "gross")]
    if gross.as_tuple().exponent < -2:  # type: ignore[operator]
        return [_error("gross has more than two decimal places.", "gross")]
    return []


def _rule_errors(rule: CommissionRule, index: int) -> list[FieldError]:
    """Problems with one rule's own values."""
    where = ("rules", str(index))
    errors = _party_errors(rule.party, (*where, "party"), "party")
    if (rule.rate is None) == (rule.flat_fee is None):
        errors.append(_error("Give exactly one of rate or flatFee.", *where))
    if not _finite(rule.rate) or (rule.rate is not None and not ZERO <= rule.rate <= ONE):
        errors.append(_error("rate must be between 0 and 1.", *where, "rate"))
    for name, value in (("flatFee", rule.flat_fee), ("cap", rule.cap)):
        if not _finite(value) or (value is not None and value < 0):
            errors.append(_error(f"{name} must be a finite amount of at least 0.", *where, name))
    return errors


def _plan_errors(rules: Sequence[CommissionRule], remainder_party: str) -> list[FieldError]:
    """Problems across rules: count, duplicate parties, the remainder party, the rate total."""
    errors = _party_errors(remainder_party, ("remainderParty",), "remainderParty")
    if len(rules) > MAX_RULES:
        errors.append(_error(f"At most {MAX_RULES} rules.", "rules"))
    seen = {remainder_party.strip().casefold()}
    for index, rule in enumerate(rules):
        key = rule.party.strip().casefold()
        if key and key in seen:
            message = (
                "party is the remainder party; it gets the remainder, not a rule."
                if key == remainder_party.strip().casefold()
                else f"party {rule.party.strip()!r} appears in more than one rule."
            )
            errors.append(_error(message, "rules", str(index), "party"))
        seen.add(key)
    rates = [r.rate for r in rules if r.rate is not None and r.rate.is_finite()]
    if sum(rates, ZERO) > ONE:
        errors.append(_error("The rates add up to more than 1.", "rules"))
    return errors


def validate_split(
    gross: Decimal, rules: Sequence[CommissionRule], remainder_party: str
) -> list[FieldError]:
    """Every problem with a commission split request."""
    errors = _gross_errors(gross)
    for index, rule in enumerate(rules):
        errors += _rule_errors(rule, index)
    return errors + _plan_errors(rules, remainder_party)


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _capped(amount: Decimal, cap: Decimal | None) -> tuple[Decimal, str]:
    if cap is not None and amount > cap:
        return cap, f", capped at {_text(cap)}"
    return amount, ""


def _exact_shares(gross: Decimal, rules: Sequence[CommissionRule]) -> list[tuple[Decimal, str]]:
    """Unrounded (amount, basis) per rule: flat fees first, then rates on what they left."""
    shares: list[tuple[Decimal, str] | None] = [None] * len(rules)
    left = gross
    for index, rule in enumerate(rules):
        if rule.flat_fee is not None:
            amount, note = _capped(min(rule.flat_fee, left), rule.cap)
            shares[index] = (amount, f"flat fee {_text(rule.flat_fee)}{note}")
            left -= amount
    base = left
    for index, rule in enumerate(rules):
        if rule.rate is not None:
            amount, note = _capped(rule.rate * base, rule.cap)
            shares[index] = (amount, f"{_text(rule.rate * 100)}% of {_text(base)}{note}")
    return [share for share in shares if share is not None]


def _in_cents(gross: Decimal, amounts: list[Decimal]) -> tuple[list[Decimal], Decimal]:
    """Amounts rounded half-even to cents and the remainder that makes them sum to gross."""
    rounded = [a.quantize(CENT, rounding=ROUND_HALF_EVEN) for a in amounts]
    remainder = gross - sum(rounded, ZERO)
    for index in sorted(range(len(rounded)), key=lambda i: -rounded[i]):
        if remainder >= 0:
            break
        taken = min(rounded[index], -remainder)
        rounded[index] -= taken
        remainder += taken
    return rounded, remainder.quantize(CENT)


def split_commission(
    gross: Decimal, rules: Sequence[CommissionRule], remainder_party: str
) -> list[Share]:
    """Each party's share of the gross in cents, the remainder party last; sums to the gross."""
    errors = validate_split(gross, rules, remainder_party)
    if errors:
        raise DomainError(*errors)
    with localcontext() as ctx:
        ctx.prec = PRECISION
        exact = _exact_shares(gross, rules)
        amounts, remainder = _in_cents(gross, [amount for amount, _ in exact])
    shares = [
        Share(rule.party.strip(), amount, basis)
        for rule, amount, (_, basis) in zip(rules, amounts, exact, strict=True)
    ]
    return [*shares, Share(remainder_party.strip(), remainder, "remainder")]
