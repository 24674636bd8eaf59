"""The estimate's pieces that the summary, the receipt and history show (core.costs computes it)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from core.conversation import Turn
from core.costs import Estimate, Gap, MeterCost, Usage, estimate, has_prices
from core.domain import Account
from core.events import Text, t
from core.money import Money
from core.periods import Period
from bot.dialogs.common import meter_label


def estimate_of(turn: Turn, account: Account, period: Period,
                consumption: Iterable[tuple[int, Decimal | None]]) -> Estimate | None:
    """The estimate of these meters' consumption (meter id, consumption) in the period; None where the
    supplier file gives no prices for the account's supplier, so nothing is shown."""
    spec = turn.suppliers.get(account.supplier)
    if spec is None or not has_prices(spec):
        return None
    meters = {m.id: m for m in account.meters}
    usages = [Usage(mid, meters[mid].service, meters[mid].zone, used) for mid, used in consumption if mid in meters]
    return estimate(spec, period, usages)


def meter_line(found: Estimate | None, meter_id: int) -> Text | None:
    """The line under a meter: its estimated amount, or why there is none."""
    cost = found.of_meter(meter_id) if found else None
    if cost is None:
        return None
    if cost.amount is not None:
        return t("estimate_meter", amount=Money(cost.amount))
    return t(f"estimate_meter_{(cost.gap or Gap.NO_PRICE).value}")


def with_meter_lines(lines: list[Text], meter_ids: list[int], found: Estimate | None) -> list[Text]:
    """Each meter's line followed by its estimate line."""
    out: list[Text] = []
    for line, meter_id in zip(lines, meter_ids):
        out.append(line)
        extra = meter_line(found, meter_id)
        if extra is not None:
            out.append(extra)
    return out


def total_block(account: Account, found: Estimate | None) -> list[Text]:
    """The fees, the total and the meters it leaves out, called an estimate; nothing without prices."""
    if found is None:
        return []
    if found.total is None:  # each meter already says why it has no amount: nothing to add them up to
        return [t("estimate_none")]
    lines = [t("estimate_fee", name=fee.fee.names, amount=Money(fee.amount)) for fee in found.fees]
    lines.append(t("estimate_total", amount=Money(found.total)))
    lines += [_left_out(account, cost) for cost in found.left_out]
    return [t("estimate", lines=lines)]


def _left_out(account: Account, cost: MeterCost) -> Text:
    meter = next((m for m in account.meters if m.id == cost.meter_id), None)
    label: Text | str = meter_label(meter) if meter else "—"
    return t(f"estimate_left_out_{(cost.gap or Gap.NO_PRICE).value}", meter=label)


def history_lines(turn: Turn, account: Account, rows: Iterable[tuple[int, Period, Decimal | None]]) -> Text | str:
    """The estimated amount of each period in the history, newest first, from (meter id, period,
    consumption) of the readings shown."""
    by_period: dict[Period, list[tuple[int, Decimal | None]]] = {}
    for meter_id, period, used in rows:
        by_period.setdefault(period, []).append((meter_id, used))
    lines: list[Text] = []
    for period in sorted(by_period, reverse=True):
        found = estimate_of(turn, account, period, by_period[period])
        if found is None:
            return ""
        if found.total is None:
            lines.append(t("history_estimate_none", period=period))
        elif found.left_out:
            lines.append(t("history_estimate_partial", period=period, amount=Money(found.total),
                           count=len(found.left_out)))
        else:
            lines.append(t("history_estimate", period=period, amount=Money(found.total)))
    return t("history_estimates", lines=lines) if lines else ""
