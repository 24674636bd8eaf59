"""Kept readings: handed in once their window opens, expired once it closed without them.

A resident may confirm readings outside a supplier's window; they are kept (PENDING) for the window
of their period. Whatever runs first inside that window — the scheduler, `remind`, the console —
hands them in here, and the receipt waits in the outbox in the same transaction. A kept reading
whose window closed before anything ran is expired: it never counts as submitted, and the resident
is told to hand it in again. A page of submissions is one transaction, and only readings still kept
change, so a second run (or a second process) hands in, expires and tells nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from core.conversation import global_button
from core.domain import SupplierSpec, mask_account
from core.events import Reply, Text, encode_replies, t
from core.periods import Period
from core.ports import KeptSubmission, UnitOfWork
from core.submission_window import window_for_submission, window_of_period

log = logging.getLogger(__name__)

PAGE = 100  # submissions per transaction: memory stays flat however many are kept


@dataclass
class KeptReport:
    handed_in: int = 0  # submissions whose kept readings were handed in
    expired: int = 0  # submissions whose window closed before they were handed in
    readings_handed_in: int = 0
    readings_expired: int = 0
    messages: int = 0  # receipts and expiry notices stored in the outbox (none for a forgotten resident)


async def settle_kept_readings(uow_factory: Callable[[], UnitOfWork], suppliers: Mapping[str, SupplierSpec],
                               now: datetime, zone: ZoneInfo, *, page: int = PAGE) -> KeptReport:
    """Hand in the kept readings whose window is open at ``now``; expire those whose window has closed.

    ``now`` is an aware moment; windows are days in ``zone``, the city's time zone. Readings kept for
    a window still to come are left alone. Safe to run at any time, as often as wanted.
    """
    today = now.astimezone(zone).date()
    report = KeptReport()
    async with uow_factory() as uow:
        periods = await uow.kept.periods()
    for period in periods:
        for supplier in suppliers.values():
            window = window_of_period(supplier.window, period)
            if window.contains(today):
                await _settle_period(uow_factory, supplier, period, now, today, page, report, expire=False)
            elif window.closes < today:
                await _settle_period(uow_factory, supplier, period, now, today, page, report, expire=True)
    return report


async def _settle_period(uow_factory: Callable[[], UnitOfWork], supplier: SupplierSpec, period: Period,
                         now: datetime, today: date, page: int, report: KeptReport, *, expire: bool) -> None:
    after = messages = 0
    settled: list[int] = []  # readings per settled submission
    while True:
        async with uow_factory() as uow:
            batch = await uow.kept.pending(supplier.id, period, after, page)
            if not batch:
                break
            counts, sent = await _settle_page(uow, supplier, batch, now, today, expire=expire)
            await uow.commit()
        settled += counts
        messages += sent
        if len(batch) < page:
            break
        after = batch[-1].submission_id
    report.messages += messages
    if expire:
        report.expired += len(settled)
        report.readings_expired += sum(settled)
    else:
        report.handed_in += len(settled)
        report.readings_handed_in += sum(settled)
    if settled:
        log.info("kept readings of %s for %s: %d submission(s) %s", supplier.id, period, len(settled),
                 "expired, their window closed" if expire else "handed in")


async def _settle_page(uow: UnitOfWork, supplier: SupplierSpec, batch: list[KeptSubmission], now: datetime,
                       today: date, *, expire: bool) -> tuple[list[int], int]:
    """Settle a page of submissions in the caller's transaction: readings per submission, messages stored."""
    counts: list[int] = []
    messages = 0
    for item in batch:
        if expire:
            count = await uow.kept.expire(item.submission_id)
            message = expiry_notice(supplier, item, today)
        else:
            count = await uow.kept.hand_in(item.submission_id, now)
            message = handover_receipt(supplier, item.account_number, item.period, item.reference)
        if not count:
            continue  # settled meanwhile by another run
        counts.append(count)
        if item.chat is not None:
            await uow.outbox.add(item.chat, item.language, encode_replies((message,)), now)
            messages += 1
    return counts, messages


def _account(supplier: SupplierSpec, number: str) -> Text:
    return t("account_label", supplier=supplier.names, number=mask_account(number))


def handover_receipt(supplier: SupplierSpec, number: str, period: Period, reference: str) -> Reply:
    """The receipt for kept readings handed in: the account (masked), the period, the reference."""
    return Reply(t("handover_receipt", account=_account(supplier, number), period=period, reference=reference))


def expiry_notice(supplier: SupplierSpec, kept: KeptSubmission, today: date) -> Reply:
    """Kept readings not handed in: which account and period, when intake closed, and when to hand in again."""
    closed = window_of_period(supplier.window, kept.period)
    window, is_open = window_for_submission(supplier.window, today)
    then = (t("kept_expired_open_now", period=window.period, closes=window.closes) if is_open
            else t("kept_expired_opens", period=window.period, opens=window.opens, closes=window.closes))
    submit = global_button("btn_submit_kept", "sub", str(kept.account_id), number=mask_account(kept.account_number))
    return Reply(
        t("kept_expired", account=_account(supplier, kept.account_number), period=kept.period, closes=closed.closes,
          then=then),
        ((submit,),),
    )
