"""Two senders of one campaign at once, as two processes would be without the campaign lock.

In production the scheduler's advisory lock lets one process run campaigns; the send budget must
hold even so when two send at once (a `remind` beside a running bot, a lock taken over): the
two-process benchmark and tests run the runner's passes directly, and the per-resident claims keep
anyone from being reminded twice.
"""

from __future__ import annotations

from bot.bootstrap import App
from bot.reminders import MAX_PASSES, CampaignReport, ReminderRunner
from core.reminders import Campaign, due_campaign

SUPPLIER = "heat"


def heat_campaign(app: App) -> Campaign:
    today = app.clock().astimezone(app.settings.zone).date()
    campaign = due_campaign(app.suppliers[SUPPLIER], today, app.settings.reminder_days_before)
    assert campaign is not None, "no heat campaign is due on the app's day"
    return campaign


async def start_campaign(app: App) -> None:
    campaign = heat_campaign(app)
    async with app.uow_factory() as uow:
        await uow.campaigns.start_run(campaign.supplier, campaign.period, campaign.kind.value, app.clock())
        await uow.commit()


async def send_campaign(app: App, runner: ReminderRunner) -> CampaignReport:
    """The passes of the heat campaign due now, without the campaign lock or the run's bookkeeping."""
    campaign = heat_campaign(app)
    report = CampaignReport(campaign)
    for _ in range(MAX_PASSES):
        if not await runner._pass(campaign, app.suppliers[SUPPLIER], report):  # none due, or cut short
            break
    return report
