"""Defects found by trying the bot as a resident would: each test failed before its fix."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from core.domain import Reading, ReadingKind, ReadingStatus
from core.periods import Period
from tests.talk import Talk
from tests.test_conversation import HEAT, link, submit_start


@pytest.fixture
def heat_account(store):
    return store.add_account("heat", HEAT, payment="1234.56", meters=[
        {"serial": "HT-1", "service": "heating", "last": "1500", "on": date(2026, 10, 20)},
        {"serial": "HW-1", "service": "hot_water", "last": "312.4", "on": date(2026, 10, 20)},
    ])


# 1. times in the city's zone, whatever zone storage gives back

async def test_the_lock_time_is_kyiv_time_the_first_time_and_every_later_time(service, heat_account):
    for n in range(5):
        attacker = Talk(service, "telegram", f"a{n}")
        await link(attacker, proof="1.00")
    assert attacker.keys[0] == "link_locked"
    assert "21.11.2026 12:00" in attacker.text()  # 20.11 12:00 Kyiv + 24 h
    later = Talk(service, "telegram", "later")
    await link(later, number="", proof=HEAT)
    assert later.keys[0] == "link_locked"
    assert "21.11.2026 12:00" in later.text()  # read back from storage, in UTC: still Kyiv time


async def test_the_previous_reading_date_is_the_day_in_kyiv(talk, store, heat_account):
    heating = heat_account.meters[0]
    late_evening = datetime(2026, 10, 27, 23, 30, tzinfo=timezone.utc)  # 28.10 01:30 in Kyiv
    store.readings.append(Reading(heating.id, Period(2026, 10), Decimal("1510"), Decimal("1500"), Decimal("10"),
                                  ReadingKind.TYPED, ReadingStatus.ACCEPTED, late_evening, "telegram",
                                  "KM-2610-AAAAAA", late_evening))
    await link(talk)
    await submit_start(talk)
    assert "1510" in talk.text() and "28.10.2026" in talk.text()


# 7. a lockout with a way out

async def test_tries_left_are_said_from_the_second_wrong_proof_and_the_lock_gives_the_contacts(talk, heat_account):
    await link(talk, proof="1.00")
    assert talk.keys == ["link_failed", "link_type_payment"]
    await talk.say("2.00")
    assert talk.keys == ["link_failed", "link_tries_left", "link_type_payment"]
    assert "Залишилося спроб: 3" in talk.text()
    await talk.say("3.00")
    await talk.say("4.00")
    assert "1 try left" in talk.text("en")
    await talk.say("5.00")
    assert talk.keys == ["link_locked", "menu"]
    assert "1557" in talk.text() and "1557" in talk.text("en")  # the heat company's call centre
