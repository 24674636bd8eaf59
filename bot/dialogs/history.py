"""History of the last 12 periods per meter, as text and as a chart."""

from __future__ import annotations

from decimal import Decimal

from core.conversation import Step, Turn
from core.domain import Account, Meter
from core.events import Chart, ChartLine, ChartPanel, Text, t
from core.periods import Period
from bot.dialogs.common import (
    account_label,
    go_menu,
    menu_row,
    meter_label,
    on_own_account,
    own_account,
    show_account_choice,
    unit_of,
)
from bot.dialogs.estimates import history_lines
from bot.dialogs.receipts import history_receipts

HISTORY_PERIODS = 12
SERIAL_TAIL = 4  # digits of a serial that tell two meters of one kind apart


async def open_history(turn: Turn, _: str = "") -> None:
    accounts = await turn.uow.accounts.linked(turn.resident.id)
    if len(accounts) == 1:
        await _show(turn, accounts[0])
    else:
        await turn.goto("history_account")


async def enter_choose(turn: Turn) -> None:
    await show_account_choice(turn, "history_choose_account")


async def _show(turn: Turn, account: Account) -> None:
    turn.session["data"] = {}
    await turn.goto("history_shown", account=account.id)


async def enter_shown(turn: Turn) -> None:
    account = await own_account(turn, str(turn.data.get("account", "")))
    if account is None:
        await go_menu(turn)
        return
    blocks = []
    series: list[tuple[Meter, dict[str, Decimal | None]]] = []
    costs: list[tuple[int, Period, Decimal | None]] = []
    for meter in account.meters:
        readings = await turn.uow.readings.history(meter.id, HISTORY_PERIODS)
        unit = unit_of(turn, account, meter)
        lines = [
            t("history_line", period=r.period, value=r.value, consumption=r.consumption, unit=unit)
            for r in readings
        ]
        costs += [(meter.id, r.period, r.consumption) for r in readings]
        blocks.append(t("history_meter", meter=meter_label(meter), lines=lines or [t("history_empty")]))
        if sum(r.consumption is not None for r in readings) >= 2:
            series.append((meter, {str(r.period): r.consumption for r in readings}))
    turn.say(
        "history", account=account_label(turn, account), meters=blocks, chart=_chart(turn, account, series),
        estimates=history_lines(turn, account, costs),
        receipts=await history_receipts(turn, account, HISTORY_PERIODS),
        buttons=((turn.button("btn_history_other", "other"),), menu_row()),
    )


def _chart(turn: Turn, account: Account, series: list[tuple[Meter, dict[str, Decimal | None]]]) -> Chart | None:
    """Consumption per period, one line per meter and one panel per unit (Gcal and m³ never share an
    axis); only where there is something to compare."""
    if not series:
        return None
    periods = tuple(sorted({p for _, values in series for p in values}))
    by_unit: dict[Text, list[ChartLine]] = {}
    for meter, values in series:
        points = tuple(float(v) if (v := values.get(p)) is not None else None for p in periods)
        by_unit.setdefault(unit_of(turn, account, meter), []).append(
            ChartLine(_chart_label(account, meter), points))
    return Chart(
        title=t("history_chart_title", account=account_label(turn, account)),
        periods=periods,
        panels=tuple(ChartPanel(t("chart_axis", unit=unit), tuple(lines)) for unit, lines in by_unit.items()),
    )


def _chart_label(account: Account, meter: Meter) -> Text:
    """A meter as residents know it: "Electricity (night)"; the serial's last digits only where the
    flat has two such meters (hot water in the kitchen and in the bathroom)."""
    service = t(f"service_{meter.service}")
    name = t("chart_meter_zone", service=service, zone=t(f"zone_{meter.zone}")) if meter.zone else t(
        "chart_meter", service=service)
    twins = [m for m in account.meters if (m.service, m.zone) == (meter.service, meter.zone)]
    if len(twins) < 2:
        return name
    tail = meter.serial[-SERIAL_TAIL:]
    if sum(m.serial[-SERIAL_TAIL:] == tail for m in twins) > 1:  # tails alike: the whole serial
        tail = meter.serial
    return t("chart_meter_serial", meter=name, serial=tail)


async def other_account(turn: Turn, _: str) -> None:
    await turn.goto("history_account")


HISTORY_STEPS = {
    "history_account": Step(enter_choose, buttons={"acc": on_own_account(_show)}),
    "history_shown": Step(enter_shown, buttons={"other": other_account}),
}
