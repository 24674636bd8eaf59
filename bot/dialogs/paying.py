"""Paying from the bills and payments screen: the NBU payment QR code, its link, and the supplier's own page.

The amount is worked out again when the resident presses Pay (never taken from the button), from the
supplier's latest balance or, before any balance, from the estimate of the latest readings handed in.
"""

from __future__ import annotations

from decimal import Decimal

from core.conversation import Step, Turn
from core.domain import Account
from core.events import Button, PaymentQr, Text, t
from core.money import Money
from core.payments import Balance, BillingEntry, paid_after
from core.paying import Basis, Due, PaymentOffer, next_discount, offer
from core.periods import Period
from core.ports import UnitOfWork
from bot.dialogs.common import account_choice, go_menu, menu_row, own_account
from bot.dialogs.estimates import estimate_of


async def amount_due(turn: Turn, account: Account, balance: Balance | None,
                     entries: list[BillingEntry]) -> Due | None:
    """What there is to pay: the balance when the supplier gave one, less the payments it received after
    that day (``entries`` holds them: read from the balance's day on); nothing when that leaves nothing
    owed. Else the estimate of the latest period with readings handed in (None when it cannot be priced)."""
    if balance is not None:
        paid = sum((e.amount for e in paid_after(balance, entries)), Decimal(0))
        owed = balance.amount - paid
        if owed <= 0:
            return None
        return Due(owed, Basis.BALANCE, on=balance.on, balance=balance.amount, paid_since=paid)
    latest: dict[Period, list[tuple[int, Decimal | None]]] = {}
    for meter in account.meters:
        for reading in await turn.uow.readings.history(meter.id, 1):
            latest.setdefault(reading.period, []).append((meter.id, reading.consumption))
    if not latest:
        return None
    period = max(latest)
    found = estimate_of(turn, account, period, latest[period])
    if found is None or found.total is None or found.total <= 0:
        return None
    return Due(found.total, Basis.ESTIMATE, period=period)


def offer_of(turn: Turn, account: Account, due: Due | None) -> PaymentOffer | None:
    supplier = turn.suppliers.get(account.supplier)
    if supplier is None or due is None:
        return None
    return offer(supplier, account.number, due, turn.now.date())


def pay_buttons(turn: Turn, found: PaymentOffer | None) -> tuple[tuple[Button, ...], ...]:
    """The Pay button of the bills and payments screen, with the amount the QR code will ask for."""
    if found is None:
        return ()
    return ((turn.button("btn_pay", "pay", amount=Money(found.amount)),),)


def pay_hint(turn: Turn, account: Account, due: Due | None, found: PaymentOffer | None) -> Text | str:
    """Under the balance, when there is something to pay: the discount (paying now, or the day to pay the
    next bill by, once this month's has passed), or where to pay when the supplier file gives no payment
    details."""
    supplier = turn.suppliers.get(account.supplier)
    if supplier is None or due is None:
        return ""
    if supplier.payment is None:
        return t("money_pay_elsewhere") if due.basis is Basis.BALANCE else ""
    if found is not None and found.discount is not None:
        return t("money_discount", deadline=found.discount.deadline, percent=found.discount.percent)
    discount = next_discount(supplier.payment, turn.now.date())
    return t("money_discount_next", deadline=discount.deadline, percent=discount.percent) if discount else ""


async def latest_balance(uow: UnitOfWork, account: Account) -> Balance | None:
    """The account's balance as of the latest date its supplier gave (above zero owed, below zero overpaid),
    or None before the supplier gave any."""
    return await uow.payments.latest_balance(account.supplier, account.number)


async def open_pay(turn: Turn, _: str) -> None:
    await turn.goto("money_pay", account=turn.data.get("account"))


async def enter_pay(turn: Turn) -> None:
    account = await own_account(turn, str(turn.data.get("account", "")))
    if account is None:
        await go_menu(turn)
        return
    balance = await latest_balance(turn.uow, account)
    entries = await turn.uow.payments.entries(account.supplier, account.number, balance.on) if balance else []
    found = offer_of(turn, account, await amount_due(turn, account, balance, entries))
    back = ((turn.button("btn_back", "back"),), menu_row())
    if found is None:  # paid or changed since the screen was shown
        turn.say("pay_nothing", account=account_choice(turn, account), buttons=back)
        return
    payment = found.request
    due = found.due
    if due.basis is Basis.BALANCE:
        what = t("pay_what_balance", on=due.on, amount=Money(due.balance or due.amount),
                 paid=t("pay_paid_since", paid=Money(due.paid_since)) if due.paid_since else "")
    else:
        what = t("pay_what_estimate", period=due.period, amount=Money(due.amount))
    turn.say(
        "pay", account=account_choice(turn, account), what=what, amount=Money(found.amount),
        discount=t("pay_discount", percent=found.discount.percent, deadline=found.discount.deadline,
                   full=Money(due.amount)) if found.discount else "",
        recipient=payment.recipient, iban=payment.iban, edrpou=payment.code, purpose=payment.purpose,
        page=t("pay_page", url=found.page) if found.page else "",
        qr=PaymentQr(found.link, t("payment_qr_caption")), buttons=back,
    )


async def back_to_money(turn: Turn, _: str) -> None:
    await turn.goto("money_shown", account=turn.data.get("account"))


PAYING_STEPS = {
    "money_pay": Step(enter_pay, buttons={"back": back_to_money}),
}
