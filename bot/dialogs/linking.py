"""Linking an account: supplier, number, proof; and the list of linked accounts.

A number that does not exist and a wrong proof get the same answer, after the proof, so the bot
cannot be used to find out which accounts exist. Five wrong proofs for one number in 24 hours, from
any number of residents, lock linking of that number for 24 hours.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from core.conversation import Step, Turn
from core.domain import Account, normalize_account_number
from core.events import Button, Text, t
from core.reading_parser import parse_amount
from bot.dialogs.common import account_choice, account_label, go_menu, menu_row, own_account
from bot.dialogs.submission import submit_once

MAX_FAILURES = 5
WARN_AFTER = 2  # from the second wrong proof on, say how many tries are left
LOCK_PERIOD = timedelta(hours=24)


async def open_link(turn: Turn, _: str = "") -> None:
    turn.data.pop("once", None)
    await turn.goto("link_supplier")


async def open_once(turn: Turn, _: str = "") -> None:
    """Hand in readings for an account once, without linking it (for a relative or a neighbour).

    The same number and proof as for linking, under the same lockout; nothing is linked.
    """
    turn.data["once"] = True
    await turn.goto("link_supplier")


async def enter_supplier(turn: Turn) -> None:
    rows = tuple((turn.button("supplier_button", "sup", sid, name=spec.names),) for sid, spec in turn.suppliers.items())
    turn.say("once_choose_supplier" if turn.data.get("once") else "link_choose_supplier", buttons=rows + (menu_row(),))


async def supplier_chosen(turn: Turn, supplier: str) -> None:
    if supplier not in turn.suppliers:
        turn.say("stale_button")
        await turn.refresh()
        return
    turn.data.update(supplier=supplier, proof="payment")
    await turn.goto("link_number")


async def enter_number(turn: Turn) -> None:
    spec = turn.suppliers[turn.data["supplier"]]
    turn.say(
        "link_type_number",
        supplier=spec.names,
        example=spec.account_example,
        buttons=((turn.button("btn_back", "back"),), menu_row()),
    )


async def number_typed(turn: Turn, text: str) -> None:
    spec = turn.suppliers[turn.data["supplier"]]
    number = normalize_account_number(text)
    if not spec.account_number_ok(number):
        turn.say("link_bad_number", supplier=spec.names, example=spec.account_example,
                 buttons=((turn.button("btn_back", "back"),), menu_row()))
        return
    if await _locked(turn, spec.id, number):
        return
    turn.data["number"] = number
    await turn.goto("link_proof")


async def enter_proof(turn: Turn) -> None:
    by_apartment = turn.data.get("proof") == "apartment"
    turn.say("link_type_apartment" if by_apartment else "link_type_payment", buttons=_proof_buttons(turn))


def _proof_buttons(turn: Turn) -> tuple[tuple[Button, ...], ...]:
    other = (turn.button("btn_use_payment", "pay") if turn.data.get("proof") == "apartment"
             else turn.button("btn_use_apartment", "apt"))
    return ((other,), (turn.button("btn_back", "back"),))


async def use_apartment(turn: Turn, _: str) -> None:
    turn.data["proof"] = "apartment"
    await turn.goto("link_proof")


async def use_payment(turn: Turn, _: str) -> None:
    turn.data["proof"] = "payment"
    await turn.goto("link_proof")


async def proof_typed(turn: Turn, text: str) -> None:
    supplier, number, by = turn.data["supplier"], turn.data["number"], turn.data.get("proof")
    if by != "apartment" and parse_amount(text) is None:
        turn.say("link_bad_amount", buttons=_proof_buttons(turn))  # a format check: says nothing of the account
        return
    if await _locked(turn, supplier, number):
        return
    account = await turn.uow.accounts.find(supplier, number)
    if account is not None and _proof_matches(account, by, text):
        if turn.data.get("once"):
            await submit_once(turn, account)
        else:
            await _link(turn, account)
        return
    attempts = turn.uow.link_attempts
    await attempts.record_failure(supplier, number, turn.now)
    failures = await attempts.failures_since(supplier, number, turn.now - LOCK_PERIOD)
    if failures >= MAX_FAILURES:
        await attempts.lock(supplier, number, turn.now + LOCK_PERIOD)
        _say_locked(turn, supplier, turn.now + LOCK_PERIOD)
        await go_menu(turn)
        return
    turn.say("link_failed")
    if failures >= WARN_AFTER:
        turn.say("link_tries_left", left=MAX_FAILURES - failures)
    await turn.refresh()


def _proof_matches(account: Account, by: str | None, text: str) -> bool:
    if by == "apartment":
        # the apartment is the alternative only where the supplier has no payment on file
        typed = text.strip().casefold().lstrip("№# ").replace("кв.", "").strip()
        return account.last_payment is None and typed != "" and typed == account.apartment.strip().casefold()
    return account.last_payment is not None and parse_amount(text) == account.last_payment


async def _locked(turn: Turn, supplier: str, number: str) -> bool:
    until = await turn.uow.link_attempts.locked_until(supplier, number)
    if until is None or until <= turn.now:
        return False
    _say_locked(turn, supplier, until)
    await go_menu(turn)
    return True


def _say_locked(turn: Turn, supplier: str, until: datetime) -> None:
    """Locked: until when, and who can help sooner (the supplier's contacts)."""
    spec = turn.suppliers.get(supplier)
    turn.say("link_locked", until=until, supplier=spec.names if spec else supplier,
             contacts=spec.contacts if spec and spec.contacts else t("contacts_unknown"))


async def _link(turn: Turn, account: Account) -> None:
    added = await turn.uow.accounts.link(turn.resident.id, account.id, turn.now)
    turn.say("link_done" if added else "link_already", account=account_label(turn, account))
    await go_menu(turn)


async def back_to_supplier(turn: Turn, _: str) -> None:
    await turn.goto("link_supplier")


async def back_to_number(turn: Turn, _: str) -> None:
    await turn.goto("link_number")


async def open_accounts(turn: Turn, _: str = "") -> None:
    await turn.goto("accounts")


async def enter_accounts(turn: Turn) -> None:
    accounts = await turn.uow.accounts.linked(turn.resident.id)
    rows = tuple(
        (turn.button("btn_unlink", "unlink", a.id, account=account_choice(turn, a)),) for a in accounts
    )
    lines = [_with_address(turn, a) if a.address else account_label(turn, a) for a in accounts]
    turn.say(
        "accounts_list" if accounts else "accounts_none",
        accounts=lines,
        buttons=((turn.button("btn_link", "link"),),) + rows + ((turn.button("btn_submit_once", "once"),), menu_row()),
    )


def _with_address(turn: Turn, account: Account) -> Text:
    return t("account_with_address", account=account_label(turn, account), address=account.address)


async def ask_unlink(turn: Turn, account_id: str) -> None:
    account = await own_account(turn, account_id)
    if account is None:
        turn.say("stale_button")
        await turn.refresh()
        return
    turn.data["unlink"] = account.id
    await turn.goto("unlink_confirm")


async def enter_unlink(turn: Turn) -> None:
    account = await own_account(turn, str(turn.data.get("unlink", "")))
    if account is None:
        await go_menu(turn)
        return
    turn.say("unlink_confirm", account=account_choice(turn, account),
             buttons=((turn.button("btn_unlink_yes", "yes"), turn.button("btn_no", "no")),))


async def unlink(turn: Turn, _: str) -> None:
    account = await own_account(turn, str(turn.data.pop("unlink", "")))
    if account is not None:
        await turn.uow.accounts.unlink(turn.resident.id, account.id)
        turn.say("unlinked", account=account_label(turn, account))
    await turn.goto("accounts")


async def keep_link(turn: Turn, _: str) -> None:
    turn.data.pop("unlink", None)
    await turn.goto("accounts")


LINKING_STEPS = {
    "link_supplier": Step(enter_supplier, buttons={"sup": supplier_chosen}),
    "link_number": Step(enter_number, buttons={"back": back_to_supplier}, text=number_typed),
    "link_proof": Step(enter_proof, buttons={"apt": use_apartment, "pay": use_payment, "back": back_to_number},
                       text=proof_typed),
    "accounts": Step(enter_accounts, buttons={"link": open_link, "unlink": ask_unlink, "once": open_once}),
    "unlink_confirm": Step(enter_unlink, buttons={"yes": unlink, "no": keep_link}, resumable=False),
}
