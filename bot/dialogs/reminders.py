"""Reminder preferences: on by default for every linked supplier, off on request."""

from __future__ import annotations

from core.conversation import Step, Turn
from core.events import t
from bot.dialogs.common import menu_row, supplier_name


async def open_reminders(turn: Turn, _: str = "") -> None:
    await turn.goto("reminders")


async def enter_reminders(turn: Turn) -> None:
    suppliers = sorted({a.supplier for a in await turn.uow.accounts.linked(turn.resident.id)})
    if not suppliers:
        turn.say("reminders_none", buttons=(menu_row(),))
        return
    off = await turn.uow.reminders.disabled(turn.resident.id)
    rows = tuple(
        (turn.button("btn_reminder_off" if s not in off else "btn_reminder_on", "toggle", s,
                     supplier=supplier_name(turn, s)),)
        for s in suppliers
    )
    lines = [t("reminder_state_off" if s in off else "reminder_state_on", supplier=supplier_name(turn, s))
             for s in suppliers]
    turn.say("reminders", lines=lines, buttons=rows + (menu_row(),))


async def toggle(turn: Turn, supplier: str) -> None:
    linked = {a.supplier for a in await turn.uow.accounts.linked(turn.resident.id)}
    if supplier not in linked:
        turn.say("stale_button")
        await turn.refresh()
        return
    off = await turn.uow.reminders.disabled(turn.resident.id)
    await turn.uow.reminders.set_enabled(turn.resident.id, supplier, supplier in off)
    turn.say("reminder_turned_on" if supplier in off else "reminder_turned_off", supplier=supplier_name(turn, supplier))
    await turn.goto("reminders")


REMINDER_STEPS = {
    "reminders": Step(enter_reminders, buttons={"toggle": toggle}),
}
