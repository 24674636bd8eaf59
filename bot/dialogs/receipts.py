"""Proof of what was handed in: a receipt's pieces, "my receipts", and a receipt found by its reference.

A resident sees a receipt only if they handed it in or it belongs to an account they have linked now
(a shared account's household); any other reference is answered exactly like one that does not exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from core.conversation import Step, Turn
from core.domain import Account, Meter, Reading, ReadingStatus
from core.events import Text, t
from core.ports import NewReading, Receipt
from core.periods import Period
from bot.dialogs.common import account_label, menu_row, meter_label, unit_text
from bot.dialogs.estimates import estimate_of, total_block, with_meter_lines

RECENT_RECEIPTS = 10
HISTORY_RECEIPTS = 40  # submissions of one account looked at for its history's receipts
REFERENCE_EXAMPLE = "KM-2611-7F3K9Q"
_REFERENCE = re.compile(r"KM(\d{4})([A-Z0-9]{6})")
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015_.]")
# on a Cyrillic keyboard "КМ" looks the same as "KM"
_LOOKALIKES = str.maketrans("АВЕКМНОРСТХ", "ABEKMHOPCTX")
_KEPT = (ReadingStatus.PENDING, ReadingStatus.EXPIRED)


def parse_reference(text: str) -> str | None:
    """A typed reference as issued ("km26117f3k9q" -> "KM-2611-7F3K9Q"); None when it is not one."""
    compact = _SEPARATORS.sub("", text).upper().translate(_LOOKALIKES)
    match = _REFERENCE.fullmatch(compact)
    return f"KM-{match[1]}-{match[2]}" if match else None


def local(turn: Turn, moment: datetime) -> datetime:
    """A stored (UTC) moment in the city's time zone, as every time a resident sees."""
    return moment.astimezone(turn.now.tzinfo)


def value_lines(turn: Turn, account: Account, readings: Iterable[NewReading | Reading], period: Period,
                with_status: bool = False) -> list[Text]:
    """One line per meter: its name and the value handed in (and the reading's status now), each with
    its estimated cost, then the fees and the estimated total (where the supplier file gives prices)."""
    readings = list(readings)
    found = estimate_of(turn, account, period, [(r.meter_id, r.consumption) for r in readings])
    lines = [_value_line(turn, account, r, "receipt_value_status" if with_status else "receipt_value")
             for r in readings]
    return with_meter_lines(lines, [r.meter_id for r in readings], found) + total_block(account, found)


def _value_line(turn: Turn, account: Account, reading: NewReading | Reading, key: str) -> Text:
    meter = next((m for m in account.meters if m.id == reading.meter_id), None)
    status = reading.status if isinstance(reading, Reading) else ReadingStatus.ACCEPTED
    return t(key, meter=meter_label(meter) if meter else "—", value=reading.value, unit=_unit(turn, account, meter),
             status=t(f"receipt_status_{status.value}"))


def _unit(turn: Turn, account: Account, meter: Meter | None) -> Text:
    spec = turn.suppliers.get(account.supplier)
    service = spec.service(meter.service) if spec and meter else None
    return unit_text(service.unit if service else "")


def status_text(readings: Iterable[Reading]) -> Text | str:
    """The receipt's status: its readings' statuses, each once ("accepted, replaced" when only some were)."""
    statuses = list(dict.fromkeys(r.status for r in readings))
    if not statuses:
        return ""
    text = t(f"receipt_status_{statuses[-1].value}")
    for status in reversed(statuses[:-1]):
        text = t("receipt_status_join", first=t(f"receipt_status_{status.value}"), rest=text)
    return text


async def visible_receipt(turn: Turn, reference: str) -> Receipt | None:
    """The receipt, if the resident handed it in or has its account linked now; None otherwise."""
    receipt = await turn.uow.readings.by_reference(reference)
    if receipt is None or receipt.resident_id == turn.resident.id:
        return receipt
    linked = await turn.uow.accounts.linked(turn.resident.id)
    return receipt if any(a.id == receipt.account.id for a in linked) else None


async def history_receipts(turn: Turn, account: Account, periods: int) -> Text | str:
    """The history's receipts of the account's last ``periods`` periods, with the readings still kept or expired."""
    found = await turn.uow.readings.submissions(None, [account.id], HISTORY_RECEIPTS)
    shown = set(sorted({r.period for r in found}, reverse=True)[:periods])
    lines: list[Text] = []
    for receipt in (r for r in found if r.period in shown):
        lines.append(t("history_receipt", period=receipt.period, reference=receipt.reference,
                       at=local(turn, receipt.submitted_at), status=status_text(receipt.readings)))
        kept = [r for r in receipt.readings if r.status in _KEPT]
        lines += [_value_line(turn, account, r, "history_kept_value") for r in kept]
    return t("history_receipts", lines=lines) if lines else ""


async def open_receipts(turn: Turn, _: str = "") -> None:
    turn.session["data"] = {}
    await turn.goto("receipts")


async def enter_receipts(turn: Turn) -> None:
    accounts = await turn.uow.accounts.linked(turn.resident.id)
    found = await turn.uow.readings.submissions(turn.resident.id, [a.id for a in accounts], RECENT_RECEIPTS)
    lines = [t("receipts_line", at=local(turn, r.submitted_at), reference=r.reference,
               account=account_label(turn, r.account), period=r.period, status=status_text(r.readings))
             for r in found]
    buttons = [turn.button("receipt_button", "r", r.reference, reference=r.reference) for r in found]
    rows = tuple(tuple(buttons[i:i + 2]) for i in range(0, len(buttons), 2))
    turn.say("receipts" if found else "receipts_none", lines=lines, example=REFERENCE_EXAMPLE,
             buttons=rows + (menu_row(),))


async def receipt_pressed(turn: Turn, reference: str) -> None:
    await _show(turn, parse_reference(reference) or "")


async def reference_typed(turn: Turn, text: str) -> None:
    reference = parse_reference(text)
    if reference is None:
        turn.say("receipt_bad_reference", example=REFERENCE_EXAMPLE)
        await turn.refresh()
        return
    await _show(turn, reference)


async def menu_text(turn: Turn, text: str) -> None:
    """The menu takes no typed text but a receipt's reference."""
    reference = parse_reference(text)
    if reference is None:
        turn.say("use_buttons")
        await turn.refresh()
        return
    await _show(turn, reference)


async def _show(turn: Turn, reference: str) -> None:
    if await visible_receipt(turn, reference) is None:
        # someone else's reference is answered exactly like an unknown one
        turn.say("receipt_not_found", reference=reference or "—", example=REFERENCE_EXAMPLE)
        await turn.refresh()
        return
    turn.session["data"] = {}
    await turn.goto("receipt_shown", reference=reference)


async def enter_receipt(turn: Turn) -> None:
    reference = str(turn.data.get("reference", ""))
    receipt = await visible_receipt(turn, reference)
    if receipt is None:  # the account was unlinked since
        turn.say("receipt_not_found", reference=reference, example=REFERENCE_EXAMPLE)
        await turn.goto("receipts")
        return
    turn.say("receipt_card", reference=receipt.reference, account=account_label(turn, receipt.account),
             period=receipt.period, at=local(turn, receipt.submitted_at),
             lines=value_lines(turn, receipt.account, receipt.readings, receipt.period, with_status=True),
             notes=_handed_in_later(turn, receipt),
             buttons=((turn.button("btn_receipts_all", "list"),), menu_row()))


def _handed_in_later(turn: Turn, receipt: Receipt) -> Text | str:
    """Kept readings are handed in when the window opens: say when that was."""
    later = [r.accepted_at for r in receipt.readings if r.status is ReadingStatus.ACCEPTED
             and r.accepted_at is not None and r.accepted_at > receipt.submitted_at]
    return t("receipt_handed_in", at=local(turn, max(later))) if later else ""


RECEIPT_STEPS = {
    "receipts": Step(enter_receipts, buttons={"r": receipt_pressed}, text=reference_typed, numbers=False),
    "receipt_shown": Step(enter_receipt, buttons={"list": open_receipts}, text=reference_typed, numbers=False),
}
