"""Which campaign is due on which day, and quiet hours: pure calendar logic with a fixed clock."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from core.periods import Period
from core.reminders import CampaignKind, QuietHours, campaigns_of_window, due_campaign
from core.supplier_config import load_suppliers
from tests.conftest import KYIV

SUPPLIERS = load_suppliers()


@pytest.mark.parametrize("supplier, day, kind, period", [
    ("heat", date(2026, 11, 4), None, None),  # window closed
    ("heat", date(2026, 11, 5), CampaignKind.OPENS, "2026-11"),  # first day
    ("heat", date(2026, 11, 26), CampaignKind.OPENS, "2026-11"),
    ("heat", date(2026, 11, 27), CampaignKind.CLOSING, "2026-11"),  # 3 days before the 30th
    ("heat", date(2026, 11, 30), CampaignKind.LAST_DAY, "2026-11"),  # last day
    ("heat", date(2026, 12, 1), None, None),
    ("water", date(2026, 12, 10), CampaignKind.OPENS, "2026-12"),
    ("water", date(2026, 12, 28), CampaignKind.CLOSING, "2026-12"),
    ("gas", date(2026, 11, 28), CampaignKind.OPENS, "2026-11"),  # crosses the month's end
    ("gas", date(2026, 12, 1), CampaignKind.OPENS, "2026-11"),
    ("gas", date(2026, 12, 2), CampaignKind.CLOSING, "2026-11"),
    ("gas", date(2026, 12, 5), CampaignKind.LAST_DAY, "2026-11"),
    ("electricity", date(2026, 11, 29), CampaignKind.OPENS, "2026-11"),  # a 5-day window: closing on day 1
    ("electricity", date(2026, 12, 3), CampaignKind.LAST_DAY, "2026-11"),
])
def test_the_latest_campaign_due_on_a_day(supplier, day, kind, period):
    campaign = due_campaign(SUPPLIERS[supplier], day, 3)
    assert (campaign.kind if campaign else None, str(campaign.period) if campaign else None) == (kind, period)


def test_a_campaign_knows_its_deadline_and_day():
    campaigns = campaigns_of_window(SUPPLIERS["heat"], date(2026, 11, 20), 3)
    assert [(c.kind, c.day) for c in campaigns] == [
        (CampaignKind.OPENS, date(2026, 11, 5)), (CampaignKind.CLOSING, date(2026, 11, 27)),
        (CampaignKind.LAST_DAY, date(2026, 11, 30))]
    assert {c.deadline for c in campaigns} == {date(2026, 11, 30)} and campaigns[0].period == Period(2026, 11)


def test_when_closing_falls_on_the_opening_day_only_one_campaign_is_kept():
    campaigns = campaigns_of_window(SUPPLIERS["electricity"], date(2026, 11, 30), 4)
    assert [c.kind for c in campaigns] == [CampaignKind.CLOSING, CampaignKind.LAST_DAY]


@pytest.mark.parametrize("clock, quiet", [
    (time(8, 59), True), (time(9, 0), False), (time(20, 59), False), (time(21, 0), True), (time(0, 0), True),
    (time(3, 30), True),
])
def test_quiet_hours(clock, quiet):
    assert QuietHours().contains(datetime.combine(date(2026, 11, 20), clock, KYIV)) is quiet


@pytest.mark.parametrize("day", [date(2026, 3, 29), date(2026, 10, 25)])  # Kyiv's daylight-saving days
def test_daylight_saving_days_keep_quiet_hours_and_campaigns_in_local_time(day):
    assert QuietHours().contains(datetime.combine(day, time(8, 30), KYIV))
    assert not QuietHours().contains(datetime.combine(day, time(9, 30), KYIV))
    resume = QuietHours().ends_after(datetime.combine(day, time(3, 30), KYIV))
    assert (resume.hour, resume.minute, resume.date()) == (9, 0, day)
    campaign = due_campaign(SUPPLIERS["heat"], day, 3)
    assert campaign is not None and campaign.day <= day
