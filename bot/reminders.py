"""Sending reminder campaigns and verification warnings through the channels' pipelines.

A reminder is claimed in the database only when the bot's send budget on the platform
(bot/delivery/send_budget.py) grants it a slot, just before it is sent, so a run that is killed loses
at most the few messages actually in flight; a "retry after" pause holds off claiming. Answers are
the pipeline's four results: sent, unreachable and rejected settle a reminder; "retry later" leaves
it to be tried again within the campaign (and by the next run). Campaigns resume where they stopped
and never remind anyone twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.domain import SupplierSpec
from core.events import ChatRef, Reply
from core.ports import DueResident
from core.reminders import VERIFY_PERIOD, Campaign, QuietHours, due_campaign, verification_campaign
from core.service import Outcome
from bot.bootstrap import App
from bot.delivery.pipeline import Pipeline
from bot.delivery.results import Rejected, RetryLater, Sent, Unreachable
from bot.dialogs.notices import reminder, verification_warning
from bot.metrics import Metrics

log = logging.getLogger(__name__)

PAGE = 1000  # residents read per query
VERIFICATION_NOTICE = timedelta(days=31)
MAX_PASSES = 5  # passes over the due residents in one run; "retry later" ones wait for the next run after that


class PlatformSender:
    """Bot-initiated messages of one platform: a slot of the bot's send budget, then the claim, then the send.

    The budget is the pipeline's (shared by the bot's processes when a shared store is configured),
    at this sender's rates. A reminder is claimed just before its slot — or, to a chat that had a
    message within the last second, at once, then sent when the chat is free.
    """

    def __init__(self, pipeline: Pipeline, rate: float, chat_rate: float | None = None) -> None:
        self.pipeline = pipeline
        self.rate = rate
        self._budget = pipeline.budget.at(rate, chat_rate)

    async def send(self, chat: ChatRef, replies: tuple[Reply, ...], language: str,
                   claim: Callable[[], Awaitable[bool]], stopping: Callable[[], bool] = lambda: False) -> str | None:
        """"sent", "unreachable", "rejected" or "retry"; None when not claimed (taken, or stopping)."""
        outbox = self.pipeline.outbox
        claimed = False
        while True:  # a "retry after" holds off claiming, not only sending; a slot granted before it is void
            await outbox.wait_for_resume()
            async with self._budget.reminder(chat.chat_id) as slot:
                if outbox.paused():
                    continue
                if not claimed:
                    if stopping() or not await claim():
                        slot.unused()  # another process has the resident: the slot goes to the next one
                        return None
                    claimed = True
            if await slot.arrive() and not slot.busy and not outbox.paused():
                break
        try:
            messages = self.pipeline.adapter.render(Outcome(chat, language, replies))
        except Exception as exc:
            log.error("reminder could not be rendered (%s)", exc.__class__.__name__)
            return "rejected"
        for i, message in enumerate(messages):
            if i:
                await self._budget.reminder_slot(chat.chat_id)
            result = await outbox.send_one(message)
            if isinstance(result, Sent):
                continue
            if isinstance(result, Unreachable):
                await outbox.mark_unreachable(chat)
                return "unreachable"
            if isinstance(result, Rejected):
                log.warning("reminder rejected by %s (%s)", chat.channel, result.reason)
                return "rejected"
            assert isinstance(result, RetryLater)
            if not result.everyone:
                outbox.pause(result.delay or 1.0)  # the platform is failing: give it a moment
            return "retry"
        return "sent"


@dataclass
class CampaignReport:
    campaign: Campaign
    would_remind: int = 0
    sent: int = 0
    unreachable: int = 0
    rejected: int = 0
    retry: int = 0  # left to retry in the next run
    lost: int = 0
    finished: bool = False


@dataclass
class RunReport:
    quiet: bool = False
    campaigns: list[CampaignReport] = field(default_factory=list)
    verification_warnings: int = 0


class ReminderRunner:
    def __init__(self, app: App, senders: dict[str, PlatformSender], metrics: Metrics | None = None,
                 concurrency: int | None = None) -> None:
        self._app = app
        self._senders = senders
        self._metrics = metrics
        settings = app.settings
        self.quiet = QuietHours(settings.quiet_hours_start, settings.quiet_hours_end)
        self._days_before = settings.reminder_days_before
        fastest = max((s.rate for s in senders.values()), default=1.0)
        self._concurrency = concurrency or max(4, min(64, int(fastest)))  # sends waiting on a reply at once
        self._stopping = False

    def stop(self) -> None:
        """Finish the sends in hand and return; the campaign resumes on the next run."""
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
            campaign = due_campaign(supplier, today, self._days_before)
            if campaign is None:
                continue
            kind = campaign.kind.value
            async with self._app.uow_factory() as uow:
                state = await uow.campaigns.run_state(campaign.supplier, campaign.period, kind)
                count = await uow.campaigns.count_due(campaign.supplier, campaign.period, kind, today,
                                                      self.channels) if dry_run else 0
            if state is not None and state.finished_at is not None:
                continue
            if dry_run:
                report.campaigns.append(CampaignReport(campaign, would_remind=count))
                continue
            report.campaigns.append(await self._run(campaign, supplier, resuming=state is not None))
            if self._stopping:
                break
        if not dry_run and not self._stopping:
            report.verification_warnings = await self._warn_verifications()
        return report

    async def _run(self, campaign: Campaign, supplier: SupplierSpec, resuming: bool) -> CampaignReport:
        report = CampaignReport(campaign)
        kind = campaign.kind.value
        async with self._app.uow_factory() as uow:
            await uow.campaigns.start_run(campaign.supplier, campaign.period, kind, self._app.clock())
            if resuming:
                report.lost = await uow.campaigns.settle_in_flight(campaign.supplier, campaign.period, kind)
            await uow.commit()
        if report.lost:
            log.warning("campaign %s: %d reminder(s) were in flight when an earlier run stopped; "
                        "they may not have arrived and are not sent again", campaign.key, report.lost)
        for _ in range(MAX_PASSES):
            due = await self._pass(campaign, supplier, report)
            if due is None:  # quiet hours or stopping
                return report
            if due == 0:
                async with self._app.uow_factory() as uow:
                    await uow.campaigns.finish_run(campaign.supplier, campaign.period, kind, self._app.clock())
                    await uow.commit()
                report.finished = True
                break
        async with self._app.uow_factory() as uow:
            report.retry = await uow.campaigns.retries_left(campaign.supplier, campaign.period, kind)
        log.info("campaign %s: %d sent, %d unreachable, %d rejected, %d to retry", campaign.key, report.sent,
                 report.unreachable, report.rejected, report.retry)
        return report

    async def _pass(self, campaign: Campaign, supplier: SupplierSpec, report: CampaignReport) -> int | None:
        """One pass over everyone due (new, or left to retry); how many were due, None when cut short."""
        kind = campaign.kind.value
        after, due = 0, 0
        while True:
            if self._stopping or self.quiet.contains(self._now()):
                if self.quiet.contains(self._now()):
                    log.info("campaign %s: quiet hours began; it continues from %s", campaign.key,
                             self.quiet.ends_after(self._now()).strftime("%Y-%m-%d %H:%M"))
                return None
            async with self._app.uow_factory() as uow:
                page = await uow.campaigns.due_residents(campaign.supplier, campaign.period, kind, self._now().date(),
                                                         after, PAGE, self.channels)
            if not page:
                return due
            due += len(page)
            after = page[-1].resident_id
            await self._send_page(campaign, supplier, page, report)

    async def _send_page(self, campaign: Campaign, supplier: SupplierSpec, page: list[DueResident],
                         report: CampaignReport) -> None:
        """Remind each resident of the page (a few at once, each platform at its own pace)."""
        queue: asyncio.Queue[DueResident] = asyncio.Queue()
        for resident in page:
            queue.put_nowait(resident)
        today = self._now().date()

        async def worker() -> None:
            while not queue.empty() and not self._stopping and not self.quiet.contains(self._now()):
                resident = queue.get_nowait()
                state = await self._send_one(resident, reminder(campaign, supplier, resident.accounts, today),
                                             campaign.supplier, str(campaign.period), campaign.kind.value)
                if state is None:
                    continue
                if state != "retry":  # a retry is counted once it is settled
                    setattr(report, state, getattr(report, state) + 1)
                if self._metrics is not None:
                    self._metrics.reminders.labels(resident.chat.channel, state).inc()

        await asyncio.gather(*(worker() for _ in range(min(self._concurrency, len(page)))))

    async def _send_one(self, resident: DueResident, reply: Reply, supplier: str, period: str,
                        campaign: str) -> str | None:
        sender = self._senders.get(resident.chat.channel)
        if sender is None:
            return None

        async def claim() -> bool:
            async with self._app.uow_factory() as uow:
                taken = await uow.campaigns.claim(supplier, period, campaign, resident.resident_id, self._app.clock())
                await uow.commit()
            return taken

        try:
            state = await sender.send(resident.chat, (reply,), resident.language, claim, lambda: self._stopping)
            if state is not None:
                async with self._app.uow_factory() as uow:
                    await uow.campaigns.mark(supplier, period, campaign, [resident.resident_id], state)
                    await uow.commit()

        except Exception as exc:  # the claim, the send or the mark failed: it shows as lost, never twice
            log.error("reminder to a %s resident failed (%s)", resident.chat.channel, exc.__class__.__name__)
            return None
        return state

    async def _warn_verifications(self) -> int:
        today = self._now().date()
        async with self._app.uow_factory() as uow:
            lost = await uow.campaigns.settle_warnings_in_flight()  # held by the campaign lock: no one else's
            due = await uow.campaigns.verifications_due(today, today + VERIFICATION_NOTICE, self.channels)
            await uow.commit()
        if lost:
            log.warning("%d verification warning(s) were in flight when an earlier run stopped; not sent again", lost)
        sent = 0
        for item in due:
            if self._stopping or self.quiet.contains(self._now()):
                break
            resident = DueResident(item.resident_id, item.chat, item.language)
            reply = verification_warning(self._app.suppliers[item.supplier], item.number, item.service, item.zone,
                                         item.serial, item.due)
            state = await self._send_one(resident, reply, item.supplier, VERIFY_PERIOD,
                                         verification_campaign(item.meter_id, item.due))
            sent += state == "sent"
        return sent
