"""Bills and payments: per linked account, the supplier's latest balance and the last 12 months of payments
and charges, as the supplier's billing file gave them (`run_bot.py payments import`)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from core.conversation import Step, Turn
from core.domain import Account
from core.events import Text, t
from core.money import Money
from core.payments import Balance, BillingEntry, BillingKind, last_twelve_months, paid_after
from bot.dialogs.paying import amount_due, latest_balance, offer_of, open_pay, pay_buttons, pay_hint
from bot.dialogs.common import account_choice, go_menu, menu_row, on_own_account, own_account, show_account_choice


async def open_money(turn: Turn, _: str = "") -> None:
    accounts = await turn.uow.accounts.linked(turn.resident.id)
    if len(accounts) == 1:
        await _show(turn, accounts[0])
    else:
        await turn.goto("money_account")


async def enter_choose(turn: Turn) -> None:
    await show_account_choice(turn, "money_choose_account")


async def _show(turn: Turn, account: Account) -> None:
    turn.session["data"] = {}
    await turn.goto("money_shown", account=account.id)


async def enter_shown(turn: Turn) -> None:
    # checked again on every showing: an account unlinked meanwhile shows nothing
    account = await own_account(turn, str(turn.data.get("account", "")))
    if account is None:
        await go_menu(turn)
        return
    balance = await latest_balance(turn.uow, account)
    since = last_twelve_months(turn.now.date())
    read_from = min(since, balance.on) if balance else since
    entries = await turn.uow.payments.entries(account.supplier, account.number, read_from)
    others = len(await turn.uow.accounts.linked(turn.resident.id)) > 1
    due = await amount_due(turn, account, balance, entries)
    found = offer_of(turn, account, due)
    turn.say(
        "money", account=account_choice(turn, account), balance=_balance_text(balance),
        pay=pay_hint(turn, account, due, found),
        paid_after=_paid_after(balance, entries), movements=_movements([e for e in entries if e.on >= since], since),
        buttons=pay_buttons(turn, found)
        + (((turn.button("btn_history_other", "other"),),) if others else ()) + (menu_row(),),
    )


def _balance_text(balance: Balance | None) -> Text:
    if balance is None:
        return t("money_no_balance")
    if balance.amount > 0:
        return t("money_owes", on=balance.on, amount=Money(balance.amount))
    if balance.amount < 0:
        return t("money_overpaid", on=balance.on, amount=Money(-balance.amount))
    return t("money_nothing_owed", on=balance.on)


def _paid_after(balance: Balance | None, entries: list[BillingEntry]) -> Text | str:
    """Payments the supplier received after the day of its balance: the balance does not count them yet."""
    if balance is None:
        return ""
    paid = paid_after(balance, entries)
    if not paid:
        return ""
    lines = [t("money_line_payment", on=e.on, amount=Money(e.amount)) for e in paid]
    return t("money_paid_after", on=balance.on, lines=lines, paid=Money(_total(paid)))


def _movements(entries: list[BillingEntry], since: date) -> Text:
    if not entries:
        return t("money_year_empty", since=since)
    lines = [t(f"money_line_{e.kind.value}", on=e.on, amount=Money(e.amount)) for e in entries]
    return t("money_year", since=since, lines=lines,
             paid=Money(_total([e for e in entries if e.kind is BillingKind.PAYMENT])),
             charged=Money(_total([e for e in entries if e.kind is BillingKind.CHARGE])))


def _total(entries: list[BillingEntry]) -> Decimal:
    return sum((e.amount for e in entries), Decimal(0))


async def other_account(turn: Turn, _: str) -> None:
    await turn.goto("money_account")


MONEY_STEPS = {
    "money_account": Step(enter_choose, buttons={"acc": on_own_account(_show)}),
    "money_shown": Step(enter_shown, buttons={"other": other_account, "pay": open_pay}),
}
