"""Receipts on real databases: a resident's last submissions and a submission by its reference."""

from __future__ import annotations

from datetime import timedelta, timezone
from decimal import Decimal

from core.domain import ReadingKind, ReadingStatus
from core.periods import Period
from core.ports import NewReading, Submission
from tests.talk import Talk
from tests.test_storage import NOW, link_and_submit, load_demo


async def hand_in(uow, account, resident_id, reference, at, status=ReadingStatus.ACCEPTED, value="1521") -> None:
    await uow.readings.submit(Submission(
        account.id, resident_id, Period(2026, 11), "console", reference, at, status,
        tuple(NewReading(m.id, Decimal(value), None, None, ReadingKind.TYPED) for m in account.meters)))


async def seed(app):
    """Three residents: 1 hands in twice for heat, 2 once for gas, and a forgotten one for water."""
    await load_demo(app)
    async with app.uow_factory() as uow:
        heat = await uow.accounts.find("heat", "100000000000001")
        gas = await uow.accounts.find("gas", "3000000001")
        water = await uow.accounts.find("water", "20000001")
        ids = [(await uow.residents.get_or_create(chat)).id for chat in (Talk(app.service, "console", str(n)).chat
                                                                          for n in (1, 2))]
        await hand_in(uow, heat, ids[0], "KM-2611-AAAAAA", NOW)
        await hand_in(uow, heat, ids[0], "KM-2611-BBBBBB", NOW + timedelta(hours=1), value="1522")
        await hand_in(uow, gas, ids[1], "KM-2611-CCCCCC", NOW + timedelta(hours=2), ReadingStatus.PENDING, "4420")
        await hand_in(uow, water, None, "KM-2611-DDDDDD", NOW + timedelta(hours=3), value="850")
        await uow.commit()
    return ids, heat, gas, water


async def test_submissions_are_the_residents_and_their_accounts_newest_first(sql_app):
    (first, second), heat, gas, water = await seed(sql_app)
    async with sql_app.uow_factory() as uow:
        mine = await uow.readings.submissions(first, [], 10)
        assert [r.reference for r in mine] == ["KM-2611-BBBBBB", "KM-2611-AAAAAA"]
        newest, older = mine
        assert newest.submitted_at == NOW + timedelta(hours=1)
        assert newest.submitted_at.tzinfo is not None and newest.submitted_at.utcoffset() == timedelta(0)
        assert newest.account.number == "100000000000001" and len(newest.account.meters) == 3
        assert [(r.value, r.status) for r in newest.readings] == [(Decimal("1522"), ReadingStatus.ACCEPTED)] * 3
        assert {r.status for r in older.readings} == {ReadingStatus.REPLACED}
        household = await uow.readings.submissions(second, [heat.id], 10)
        assert [r.reference for r in household] == ["KM-2611-CCCCCC", "KM-2611-BBBBBB", "KM-2611-AAAAAA"]
        assert [r.reference for r in await uow.readings.submissions(second, [heat.id], 2)] == [
            "KM-2611-CCCCCC", "KM-2611-BBBBBB"]
        # the forgotten resident's water submission is nobody's: only its account shows it
        assert [r.reference for r in await uow.readings.submissions(None, [gas.id], 10)] == ["KM-2611-CCCCCC"]
        assert [r.reference for r in await uow.readings.submissions(None, [water.id], 10)] == ["KM-2611-DDDDDD"]
        assert await uow.readings.submissions(None, [], 10) == []


async def test_a_submission_is_found_by_its_reference_with_its_readings(sql_app):
    (_, second), _, gas, _ = await seed(sql_app)
    async with sql_app.uow_factory() as uow:
        found = await uow.readings.by_reference("KM-2611-CCCCCC")
        assert found is not None and found.resident_id == second and found.account.id == gas.id
        assert found.period == Period(2026, 11)
        assert found.submitted_at.astimezone(timezone.utc) == NOW + timedelta(hours=2)
        assert [(r.value, r.status, r.reference) for r in found.readings] == [
            (Decimal("4420"), ReadingStatus.PENDING, "KM-2611-CCCCCC")]
        assert await uow.readings.by_reference("KM-2611-ZZZZZZ") is None


async def test_a_resident_finds_the_receipt_by_a_typed_reference_in_kyiv_time(sql_app):
    await load_demo(sql_app)
    talk = Talk(sql_app.service, "console", "46")
    await link_and_submit(talk)
    await talk.press("btn_confirm")
    reference = str(talk.reply("receipt").text.params["reference"])
    await talk.say(reference.replace("-", "").lower())
    assert talk.keys == ["receipt_card"]
    assert "Передано 20.11.2026 12:00:" in talk.text()
    assert "HT-0001: 1525,5 Гкал — прийнято" in talk.text()
    await talk.press("btn_receipts_all")
    assert f"• 20.11.2026 12:00 · {reference}" in talk.text()
