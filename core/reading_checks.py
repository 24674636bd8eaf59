"""Checking a parsed value against the meter's previous reading and its usual consumption."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from core.domain import ReadingKind, ServiceSpec

ROLLOVER_ZONE = Decimal("0.9")  # a previous value above 90% of the dial's maximum may roll over
UNUSUAL_FACTOR = 3  # "far above the usual": over three times the average of recent periods
MIN_HISTORY = 2  # periods of consumption needed before "usual" means anything


class Verdict(StrEnum):
    OK = "ok"
    LOWER = "lower"  # below the previous value: refused unless the resident says why
    UNUSUAL = "unusual"  # far above the usual or physically impossible: ask "are you sure?"


@dataclass(frozen=True)
class CheckResult:
    verdict: Verdict
    consumption: Decimal | None = None
    usual: Decimal | None = None  # average monthly consumption, when known
    rollover_possible: bool = False


def consumption_of(value: Decimal, previous: Decimal | None, kind: ReadingKind, service: ServiceSpec) -> Decimal | None:
    """Consumption since the previous reading; unknown for a replaced meter or a first reading."""
    if previous is None or kind is ReadingKind.REPLACED:
        return None
    if kind is ReadingKind.ROLLOVER:
        return service.maximum - previous + value
    return value - previous


def check_reading(
    value: Decimal,
    previous: Decimal | None,
    service: ServiceSpec,
    recent: list[Decimal],
    kind: ReadingKind = ReadingKind.TYPED,
) -> CheckResult:
    """Judge a value; ``recent`` is the consumption of the last periods, newest first.

    A value below the previous one is never taken as a rollover silently: the resident is asked.
    """
    if previous is not None and value < previous and kind is ReadingKind.TYPED:
        return CheckResult(Verdict.LOWER, rollover_possible=previous >= service.maximum * ROLLOVER_ZONE)
    used = consumption_of(value, previous, kind, service)
    usual = sum(recent, Decimal(0)) / len(recent) if len(recent) >= MIN_HISTORY else None
    if used is not None and (
        used > service.max_monthly or (usual is not None and usual > 0 and used > usual * UNUSUAL_FACTOR)
    ):
        return CheckResult(Verdict.UNUSUAL, consumption=used, usual=usual)
    return CheckResult(Verdict.OK, consumption=used, usual=usual)
