"""What a resident pays and to whom: the amount (the supplier's balance, or the estimate when there is
none), the discount for paying early, and the NBU QR payment request built from the supplier file.

The bot only ever hands out the supplier's public payment details; the bank app pays. Nothing of the
payer's (card, bank account) passes through Komunalka.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from urllib.parse import quote

from core.domain import PaymentDetails, SupplierSpec
from core.money import to_kopiyky
from core.nbu_qr import PaymentRequest, nbu_link, shortened
from core.periods import Period

class Basis(StrEnum):
    BALANCE = "balance"  # what the supplier says is owed as of a date
    ESTIMATE = "estimate"  # no balance given yet: the estimate of the latest readings handed in


@dataclass(frozen=True)
class Due:
    """An amount to pay. For a balance: ``on`` its date, ``balance`` what the supplier said was owed then and
    ``paid_since`` the payments it received after that day (``amount`` is the difference); for an estimate:
    ``period``, the readings' billing period, which goes in the purpose."""

    amount: Decimal
    basis: Basis
    period: Period | None = None
    on: date | None = None
    balance: Decimal | None = None
    paid_since: Decimal = Decimal(0)


@dataclass(frozen=True)
class Discount:
    """Paying by ``deadline`` takes ``percent`` off."""

    deadline: date
    percent: Decimal

    def applied(self, amount: Decimal) -> Decimal:
        """The amount with the discount taken off, to the kopiyka (half up): rounded once, here."""
        return to_kopiyky(amount * (100 - self.percent) / 100)


@dataclass(frozen=True)
class PaymentOffer:
    """Everything the pay screen shows: what is paid and the link the QR code carries."""

    due: Due
    amount: Decimal  # what the QR code asks for: the discounted amount while the discount holds
    discount: Discount | None  # the one that applies to this payment (its deadline not passed)
    request: PaymentRequest
    link: str
    page: str | None  # the supplier's own payment page for this account and amount


def next_discount(payment: PaymentDetails | None, today: date) -> Discount | None:
    """The nearest discount deadline from today on: this month's day while it has not passed, else next
    month's; None where the supplier gives no discount."""
    if payment is None or payment.discount_by_day is None or payment.discount_percent is None:
        return None
    month = Period.of(today)
    if today.day > payment.discount_by_day:
        month = month.shifted(1)
    return Discount(month.day(payment.discount_by_day), payment.discount_percent)


def purpose(supplier: SupplierSpec, number: str, due: Due) -> str:
    """The purpose of payment as the supplier's accountants read it, in Ukrainian whatever the resident's
    language: the service, the account number and the period (or the balance's date)."""
    what = f"Оплата за послугу «{supplier.names['uk']}», о/р {number}"
    if due.on is not None:
        return f"{what}, залишок на {due.on:%d.%m.%Y}"
    if due.period is not None:
        return f"{what}, період {due.period.month:02d}.{due.period.year}"
    return what


def offer(supplier: SupplierSpec, number: str, due: Due, today: date) -> PaymentOffer | None:
    """The payment of ``due`` to the supplier, or None where the supplier file gives no payment details
    or there is nothing to pay."""
    payment = supplier.payment
    if payment is None or due.amount <= 0:
        return None
    discount = next_discount(payment, today)
    if discount is not None and discount.deadline.month != today.month:
        discount = None  # this month's deadline has passed: the full amount, the next one is only mentioned
    amount = discount.applied(due.amount) if discount else to_kopiyky(due.amount)
    request = shortened(PaymentRequest(
        recipient=payment.recipient, iban=payment.iban, code=payment.edrpou, amount=amount,
        purpose=purpose(supplier, number, due),
    ))
    page = None
    if payment.page_url:
        page = payment.page_url.format(account=quote(number, safe=""), amount=f"{amount:f}")
    return PaymentOffer(due, amount, discount, request, nbu_link(request), page)
