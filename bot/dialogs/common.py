"""Pieces several screens share: labels for accounts and meters, and going home."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from core.conversation import Turn, global_button
from core.domain import Account, Meter, mask_account
from core.events import Button, Text, t


def supplier_name(turn: Turn, supplier_id: str) -> dict[str, str]:
    spec = turn.suppliers.get(supplier_id)
    return spec.names if spec else {"uk": supplier_id, "en": supplier_id}


def account_label(turn: Turn, account: Account) -> Text:
    return t("account_label", supplier=supplier_name(turn, account.supplier), number=mask_account(account.number))


PLACE_LENGTH = 24  # of the street part: a button stays readable on a phone


def place_of(address: str, apartment: str) -> Text:
    """Where an account is, short: "12 Khreshchatyk St, apt 15" — tells apart accounts whose numbers end alike."""
    parts = [p.strip() for p in address.split(",") if p.strip()]
    street = ", ".join(parts[1:] if len(parts) > 1 else parts)  # the city is the same for everyone
    if len(street) > PLACE_LENGTH:
        street = street[:PLACE_LENGTH - 1].rstrip() + "…"
    apartment = apartment.strip()
    if street and apartment:
        return t("place_street_apartment", street=street, apartment=apartment)
    return t("place_apartment", apartment=apartment) if apartment else t("place_street", street=street)


def account_choice(turn: Turn, account: Account) -> Text:
    """An account as a resident picks it: supplier, masked number and where it is."""
    return t("account_choice", account=account_label(turn, account), place=place_of(account.address, account.apartment))


def meter_label(meter: Meter) -> Text:
    zone_part = t("zone_part", zone=t(f"zone_{meter.zone}")) if meter.zone else ""
    return t("meter_label", service=t(f"service_{meter.service}"), zone_part=zone_part, serial=meter.serial)


# units as the supplier file spells them -> text keys, so each language shows its own spelling
UNIT_KEYS = {"Гкал": "unit_gcal", "м³": "unit_m3", "м3": "unit_m3", "кВт·год": "unit_kwh", "кВт*год": "unit_kwh"}


def unit_text(unit: str) -> Text:
    """A unit in the resident's language; a unit the texts do not know is shown as the file spells it."""
    key = UNIT_KEYS.get(unit)
    return t(key) if key else t("unit_raw", unit=unit)


def unit_of(turn: Turn, account: Account, meter: Meter) -> Text:
    service = turn.suppliers[account.supplier].service(meter.service)
    return unit_text(service.unit if service else "")


def menu_row() -> tuple[Button, ...]:
    return (global_button("btn_menu", "menu"),)


def continue_row() -> tuple[Button, ...]:
    """Back to the screen the resident is on, whatever it is, its draft kept: under a message that is not a
    screen of its own (a reminder, a notice, the language choice)."""
    return (global_button("btn_continue", "resume"),)


async def resume(turn: Turn, _: str = "") -> None:
    """The screen again, its pictures drawn anew (the amount to pay may have changed since); a question to
    ask afresh ("delete all my data?") is not put again by a button under some later message: the menu."""
    step = turn.table.get(turn.step)
    if step is None or not step.resumable:
        await go_menu(turn)
        return
    await turn.refresh()


async def own_account(turn: Turn, account_id: str) -> Account | None:
    """An account named in a payload, only if the resident has it linked."""
    if not account_id.isdigit():
        return None
    accounts = await turn.uow.accounts.linked(turn.resident.id)
    return next((a for a in accounts if a.id == int(account_id)), None)


async def show_account_choice(turn: Turn, prompt: str, *, submitting: bool = False) -> None:
    """A screen listing the resident's accounts as buttons, or offering to link one; when submitting, also
    handing readings in once for an account not linked."""
    accounts = await turn.uow.accounts.linked(turn.resident.id)
    once = ((turn.button("btn_submit_once", "once"),),) if submitting else ()
    if not accounts:
        turn.say("no_accounts", buttons=((turn.button("btn_link", "link"),), *once, menu_row()))
        return
    rows = tuple((turn.button("account_button", "acc", a.id, account=account_choice(turn, a)),) for a in accounts)
    turn.say(prompt, buttons=rows + once + (menu_row(),))


def on_own_account(then: Callable[[Turn, Account], Awaitable[None]]) -> Callable[[Turn, str], Awaitable[None]]:
    """A button handler for an account payload: stale unless the resident has that account linked."""

    async def handler(turn: Turn, account_id: str) -> None:
        account = await own_account(turn, account_id)
        if account is None:
            turn.say("stale_button")
            await turn.refresh(pictures=False)
            return
        await then(turn, account)

    return handler


async def go_menu(turn: Turn, _: str = "") -> None:
    await drop_draft(turn)
    turn.session["data"] = {}
    await turn.goto("menu")


async def drop_draft(turn: Turn) -> None:
    """The resident leaves a submission unconfirmed (cancel, the menu, a start over): its photos go with it."""
    draft = turn.data.pop("draft", None) or {}
    for name in [*draft.get("photos", {}).values(), *(v.get("evidence") for v in draft.get("values", {}).values())]:
        if name:
            await let_go(turn, name)


async def let_go(turn: Turn, name: str) -> None:
    """A kept photo that nothing will refer to: its record goes now, its file once the step is committed."""
    await turn.uow.photos.remove([name])
    turn.discard.append(name)
