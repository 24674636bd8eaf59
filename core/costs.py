"""What a billing period's readings will cost, estimated from the supplier's dated tariffs and fees.

Rules (README.md "Tariffs and estimates"):
- A meter's amount is its consumption times the price of each day of the period, averaged over the
  period's days: a price that changes inside the period counts for the days it is in force. A day's
  price is the sum of the tariffs in force that day for the meter's service and zone (all parts).
- If any day of the period has no tariff for the meter, its amount is not known: no price is used
  outside its dates, and the total leaves that meter out, saying so.
- A monthly fee counts for the days of the period it is in force.
- Arithmetic is exact (fractions); the total is rounded to kopiyky once, half up. Each line shown is
  a share of that rounded total (largest remainder), within a kopiyka of its exact amount, so the
  lines always add up to the total the resident reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from math import floor

from core.domain import Fee, SupplierSpec
from core.periods import Period

KOPIYKA = Fraction(1, 100)


@dataclass(frozen=True)
class Usage:
    """One meter's consumption in the period (None when it cannot be counted, as for a new meter)."""

    meter_id: int
    service: str
    zone: str
    consumption: Decimal | None


class Gap(StrEnum):
    NO_PRICE = "no_price"  # no tariff covers (part of) the period
    NO_CONSUMPTION = "no_consumption"  # the consumption is not known


@dataclass(frozen=True)
class MeterCost:
    meter_id: int
    amount: Decimal | None  # None: not known, ``gap`` says why
    gap: Gap | None = None


@dataclass(frozen=True)
class FeeCost:
    fee: Fee
    amount: Decimal


@dataclass(frozen=True)
class Estimate:
    period: Period
    meters: tuple[MeterCost, ...]
    fees: tuple[FeeCost, ...]
    total: Decimal | None  # of the meters known and the fees; None when no meter's amount is known

    @property
    def left_out(self) -> tuple[MeterCost, ...]:
        return tuple(m for m in self.meters if m.amount is None)

    def of_meter(self, meter_id: int) -> MeterCost | None:
        return next((m for m in self.meters if m.meter_id == meter_id), None)


def has_prices(supplier: SupplierSpec) -> bool:
    """Whether the supplier file gives this supplier any price to estimate with."""
    return bool(supplier.tariffs or supplier.fees)


def estimate(supplier: SupplierSpec, period: Period, usages: Iterable[Usage]) -> Estimate:
    """The estimated cost of the period's readings of one account, with its monthly fees."""
    days = _days(period)
    exact: list[Fraction | None] = []
    gaps: list[Gap | None] = []
    used = list(usages)
    for usage in used:
        price = _period_price(supplier, usage, days)
        if usage.consumption is None:
            exact.append(None)
            gaps.append(Gap.NO_CONSUMPTION if price is not None else Gap.NO_PRICE)
        elif price is None:
            exact.append(None)
            gaps.append(Gap.NO_PRICE)
        else:
            exact.append(Fraction(usage.consumption) * price)
            gaps.append(None)
    fees = [(fee, Fraction(fee.amount) * sum(fee.in_force(d) for d in days) / len(days)) for fee in supplier.fees]
    fees = [(fee, amount) for fee, amount in fees if amount]
    known = [a for a in exact if a is not None]
    if not known:
        return Estimate(period, tuple(MeterCost(u.meter_id, None, g) for u, g in zip(used, gaps)), (), None)
    lines = known + [amount for _, amount in fees]
    total = _half_up(sum(lines, Fraction(0)))
    shares = iter(_decimal(share) for share in _shares(lines, total))
    meters = tuple(MeterCost(u.meter_id, next(shares) if a is not None else None, g)
                   for u, a, g in zip(used, exact, gaps))
    return Estimate(period, meters, tuple(FeeCost(fee, next(shares)) for fee, _ in fees), _decimal(total))


def _days(period: Period) -> list[date]:
    first = period.day(1)
    return [first + timedelta(days=n) for n in range(period.days())]


def _period_price(supplier: SupplierSpec, usage: Usage, days: list[date]) -> Fraction | None:
    """The price per unit over the period (days' prices averaged), or None if a day has none."""
    tariffs = [t for t in supplier.tariffs if (t.service, t.zone) == (usage.service, usage.zone)]
    total = Fraction(0)
    for day in days:
        in_force = [t.price for t in tariffs if t.in_force(day)]
        if not in_force:
            return None
        total += sum((Fraction(p) for p in in_force), Fraction(0))
    return total / len(days)


def _half_up(amount: Fraction) -> Fraction:
    """To kopiyky, halves away from zero (ROUND_HALF_UP)."""
    cents = abs(amount) / KOPIYKA
    rounded = floor(cents + Fraction(1, 2))
    return Fraction(rounded if amount >= 0 else -rounded) * KOPIYKA


def _shares(lines: list[Fraction], total: Fraction) -> list[Fraction]:
    """Each line in kopiyky, adding up to ``total``: floors, then the kopiyky left go to the largest
    remainders (the earlier line on a tie)."""
    cents = [line / KOPIYKA for line in lines]
    base = [floor(c) for c in cents]
    left = int(total / KOPIYKA) - sum(base)
    order = sorted(range(len(lines)), key=lambda i: (-(cents[i] - base[i]), i))
    for i in order[:left]:
        base[i] += 1
    return [Fraction(b) * KOPIYKA for b in base]


def _decimal(kopiyky: Fraction) -> Decimal:
    """A whole number of kopiyky as hryvnias with two decimals: exact, nothing left to round."""
    return Decimal(int(kopiyky / KOPIYKA)).scaleb(-2)
