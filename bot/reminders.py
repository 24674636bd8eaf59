"""Sending reminder campaigns, receipts for kept readings and verification warnings.

Every message is recorded before it is sent (a unique row per resident and campaign, in the bot's
database), a few at a time, so a run that is killed continues with those not yet done and never
sends twice; the few in flight at the moment of a crash are logged as such. Sending goes through a
per-platform sender that keeps the platform's rate limits and pauses on "retry after".
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from core.events import ChatRef, Reply, encode_replies
from core.reminders import Campaign, QuietHours, due_campaign
from core.service import Outcome
from core.submission_window import current_window
from bot.bootstrap import App
from bot.dialogs.notices import handed_in, reminder, verification_warning
from storage import reminder_store as store

log = logging.getLogger(__name__)

PAGE = 1000  # residents read per query
VERIFICATION_NOTICE = timedelta(days=31)


class Deliverer(Protocol):
    name: str

    async def deliver(self, outcome: Outcome) -> bool: ...


SAFETY_MARGIN = 0.03  # spacing a little wider than the limit: arrival jitter must not make a burst


class RateLimiter:
    """At most ``rate`` sends a second, evenly spaced, with a small safety margin."""

    def __init__(self, rate: float) -> None:
        self._interval = (1 + SAFETY_MARGIN) / rate
        self._next = 0.0

    async def wait(self) -> None:
        now = time.monotonic()
        slot = max(now, self._next)
        self._next = slot + self._interval
        if slot > now:
            await asyncio.sleep(slot - now)


class PlatformSender:
    """Bot-initiated messages of one platform, within its global and per-chat limits."""

    def __init__(self, channel: Deliverer, rate: float, chat_rate: float | None = None) -> None:
        self.channel = channel
        self._limiter = RateLimiter(rate)
        self._chat_interval = 1 / chat_rate if chat_rate else 0.0
        self._last_by_chat: dict[str, float] = {}

    async def send(self, chat: ChatRef, replies: tuple[Reply, ...], language: str) -> bool:
        if self._chat_interval:
            last = self._last_by_chat.get(chat.chat_id)
            if last is not None and (wait := last + self._chat_interval - time.monotonic()) > 0:
                await asyncio.sleep(wait)
        await self._limiter.wait()
        self._last_by_chat[chat.chat_id] = time.monotonic()
        if len(self._last_by_chat) > 10_000:  # only recent chats matter for spacing
            horizon = time.monotonic() - self._chat_interval
            self._last_by_chat = {k: v for k, v in self._last_by_chat.items() if v > horizon}
        return await self.channel.deliver(Outcome(chat, language, replies))


@dataclass
class CampaignReport:
    campaign: Campaign
    would_remind: int = 0
    sent: int = 0
    unreachable: int = 0
    failed: int = 0
    lost: int = 0
    finished: bool = False


@dataclass
class RunReport:
    quiet: bool = False
    campaigns: list[CampaignReport] = field(default_factory=list)
    handed_in: int = 0
    pending_to_hand_in: int = 0
    verification_warnings: int = 0


class ReminderRunner:
    def __init__(self, app: App, senders: dict[str, PlatformSender], chunk: int | None = None) -> None:
        self._app = app
        self._senders = senders
        settings = app.settings
        self.quiet = QuietHours(settings.quiet_hours_start, settings.quiet_hours_end)
        self._days_before = settings.reminder_days_before
        self._chunk = chunk or max(1, int(settings.telegram_rate))  # about a second of sending
        self._stopping = False

    def stop(self) -> None:
        """Finish the chunk in hand and return; the campaign resumes on the next run."""
        self._stopping = True

    def _now(self) -> datetime:
        return self._app.clock().astimezone(self._app.settings.zone)

    @property
    def channels(self) -> list[str]:
        return list(self._senders) or ["telegram", "viber"]

    async def run_due(self, dry_run: bool = False) -> RunReport:
        """Every campaign due now, once; nothing at all inside quiet hours."""
        report = RunReport()
        if self.quiet.contains(self._now()):
            report.quiet = True
            return report
        for supplier in self._app.suppliers.values():
            today = self._now().date()
            await self._hand_in_kept_readings(supplier.id, today, dry_run, report)
            campaign = due_campaign(supplier, today, self._days_before)
            if campaign is None:
                continue
            async with self._app.uow_factory() as uow:
                state = await store.run_state(uow.session, campaign.supplier, campaign.period, campaign.kind.value)
            if state is not None and state.finished_at is not None:
                continue
            if dry_run:
                async with self._app.uow_factory() as uow:
                    count = await store.count_due(uow.session, campaign.supplier, campaign.period,
                                                  campaign.kind.value, today, self.channels)
                report.campaigns.append(CampaignReport(campaign, would_remind=count))
                continue
            report.campaigns.append(await self._run(campaign, resuming=state is not None))
            if self._stopping:
                break
        if not dry_run and not self._stopping:
            report.verification_warnings = await self._warn_verifications()
        return report

    async def _run(self, campaign: Campaign, resuming: bool) -> CampaignReport:
        report = CampaignReport(campaign)
        kind = campaign.kind.value
        async with self._app.uow_factory() as uow:
            await store.start_run(uow.session, campaign.supplier, campaign.period, kind, self._app.clock())
            if resuming:
                report.lost = await store.settle_in_flight(uow.session, campaign.supplier, campaign.period, kind)
            await uow.commit()
        if report.lost:
            log.warning("campaign %s: %d reminder(s) were in flight when an earlier run stopped; "
                        "they may not have arrived and are not sent again", campaign.key, report.lost)
        supplier = self._app.suppliers[campaign.supplier]
        after = 0
        while not self._stopping:
            if self.quiet.contains(self._now()):
                resume = self.quiet.ends_after(self._now())
                log.info("campaign %s: quiet hours began; it continues from %s", campaign.key,
                         resume.strftime("%Y-%m-%d %H:%M"))
                return report
            async with self._app.uow_factory() as uow:
                page = await store.due_residents(uow.session, campaign.supplier, campaign.period, kind,
                                                 self._now().date(), after, PAGE, self.channels)
            if not page:
                async with self._app.uow_factory() as uow:
                    await store.finish_run(uow.session, campaign.supplier, campaign.period, kind, self._app.clock())
                    await uow.commit()
                report.finished = True
                break
            after = page[-1].resident_id
            for start in range(0, len(page), self._chunk):
                if self._stopping or self.quiet.contains(self._now()):
                    return report
                chunk = page[start:start + self._chunk]
                await self._send_chunk(campaign, supplier, chunk, report)
        log.info("campaign %s: %d sent, %d unreachable, %d failed", campaign.key, report.sent, report.unreachable,
                 report.failed)
        return report

    async def _send_chunk(self, campaign: Campaign, supplier, chunk: list[store.DueResident],  # type: ignore[no-untyped-def]
                          report: CampaignReport) -> None:
        kind = campaign.kind.value
        async with self._app.uow_factory() as uow:
            recorded = set(await store.record_deliveries(uow.session, campaign.supplier, campaign.period, kind,
                                                         [r.resident_id for r in chunk], self._app.clock()))
            await uow.commit()
        today = self._now().date()

        async def one(resident: store.DueResident) -> tuple[int, str]:
            accounts = [(a.account_id, a.number, [(m.service, m.zone, m.serial) for m in a.meters])
                        for a in resident.accounts]
            reply = reminder(campaign, supplier, accounts, today)
            return resident.resident_id, await self._send(resident.chat, (reply,), resident.language)

        results = await asyncio.gather(*(one(r) for r in chunk if r.resident_id in recorded))
        by_state: dict[str, list[int]] = {}
        for resident_id, state in results:
            by_state.setdefault(state, []).append(resident_id)
        async with self._app.uow_factory() as uow:
            for state, ids in by_state.items():
                await store.mark_deliveries(uow.session, campaign.supplier, campaign.period, kind, ids, state)
            await uow.commit()
        report.sent += len(by_state.get("sent", []))
        report.unreachable += len(by_state.get("unreachable", []))
        report.failed += len(by_state.get("failed", []))

    async def _send(self, chat: ChatRef, replies: tuple[Reply, ...], language: str) -> str:
        sender = self._senders.get(chat.channel)
        if sender is None:
            return "failed"
        try:
            return "sent" if await sender.send(chat, replies, language) else "unreachable"
        except Exception as exc:
            log.warning("reminder to a %s resident failed (%s)", chat.channel, exc.__class__.__name__)
            return "failed"

    async def _hand_in_kept_readings(self, supplier_id: str, today, dry_run: bool,  # type: ignore[no-untyped-def]
                                     report: RunReport) -> None:
        """Readings kept outside the window become accepted when it opens; the resident gets a receipt."""
        supplier = self._app.suppliers[supplier_id]
        window = current_window(supplier.window, today)
        if window is None:
            return
        while not self._stopping:
            async with self._app.uow_factory() as uow:
                pending = await store.pending_submissions(uow.session, supplier_id, window.period, 100)
                if dry_run:
                    report.pending_to_hand_in += len(pending)
                    return
                receipts = []
                for item in pending:
                    await store.hand_in(uow.session, item.submission_id, self._app.clock())
                    if item.chat is not None and item.chat.channel in self._senders:
                        reply = handed_in(supplier, item.number, window.period, item.reference)
                        outbox_id = await uow.outbox.add(item.chat, item.language, encode_replies((reply,)),
                                                         self._app.clock())
                        receipts.append((item, reply, outbox_id))
                await uow.commit()  # accepted, and the receipts wait in the outbox: at least once
            report.handed_in += len(pending)
            for item, reply, outbox_id in receipts:
                if item.chat is not None:
                    await self._send(item.chat, (reply,), item.language)
                    async with self._app.uow_factory() as uow:
                        await uow.outbox.done([outbox_id])
                        await uow.commit()
            if len(pending) < 100:
                return

    async def _warn_verifications(self) -> int:
        today = self._now().date()
        async with self._app.uow_factory() as uow:
            due = await store.verifications_due(uow.session, today, today + VERIFICATION_NOTICE, self.channels)
        sent = 0
        for item in due:
            if self._stopping or self.quiet.contains(self._now()):
                break
            campaign = store.verification_campaign(item.meter_id, item.due)
            async with self._app.uow_factory() as uow:
                fresh = await store.record_deliveries(uow.session, item.supplier, "verify", campaign,
                                                      [item.resident_id], self._app.clock())
                await uow.commit()
            if not fresh:
                continue
            reply = verification_warning(self._app.suppliers[item.supplier], item.number, item.service, item.zone,
                                         item.serial, item.due)
            state = await self._send(item.chat, (reply,), item.language)
            async with self._app.uow_factory() as uow:
                await store.mark_deliveries(uow.session, item.supplier, "verify", campaign, [item.resident_id], state)
                await uow.commit()
            sent += state == "sent"
        return sent
