"""The inbox and outbox as claimed queues, on real SQLite and PostgreSQL: what several processes rely on."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import IntegrityError

from core.events import ChatRef
from bot.cli import quiet_libraries
from core.ports import Claim
from storage.models import InboundEventRow

T0 = datetime(2026, 11, 20, 10, tzinfo=timezone.utc)
LEASE = timedelta(seconds=30)
OLENA = ChatRef("telegram", "5550001")


def held(owner: str, at: datetime = T0) -> Claim:
    return Claim(owner, at + LEASE)


async def test_an_event_held_by_a_live_process_is_not_taken_and_a_dead_one_s_is_after_the_lease(sql_app):
    async with sql_app.uow_factory() as uow:
        await uow.inbox.record_many("telegram", [("1", "{}"), ("2", "{}")], T0, held("alive"))
        await uow.inbox.record_many("telegram", [("3", "{}")], T0)  # recorded, nobody holds it
        await uow.commit()
    async with sql_app.uow_factory() as uow:
        assert await uow.inbox.claim("telegram", held("other"), T0 + timedelta(seconds=1), 10) == [("3", "{}")]
        await uow.commit()
    async with sql_app.uow_factory() as uow:  # "alive" keeps renewing one of its two; the other lapses
        await uow.inbox.renew(held("alive", T0 + timedelta(seconds=20)), ["1"])
        await uow.commit()
    async with sql_app.uow_factory() as uow:
        taken = await uow.inbox.claim("telegram", held("other", T0 + LEASE), T0 + LEASE + timedelta(seconds=1), 10)
        await uow.commit()
    assert [e for e, _ in taken] == ["2", "3"]  # "other" did not renew "3" either; "1" is still held


async def test_a_set_aside_event_is_listed_and_never_claimed_again(sql_app):
    async with sql_app.uow_factory() as uow:
        await uow.inbox.record_many("viber", [("42", '{"event": "message"}')], T0)
        await uow.inbox.set_aside("viber", "42", "AttributeError", 3, T0)
        await uow.commit()
    async with sql_app.uow_factory() as uow:
        assert await uow.inbox.claim("viber", held("p"), T0, 10) == []
        [failed] = await uow.inbox.failed(10)
    assert (failed.id, failed.channel, failed.attempts, failed.error) == ("42", "viber", 3, "AttributeError")
    assert failed.failed_at == T0 and failed.failed_at.tzinfo is not None


async def test_outbox_rows_are_claimed_once_in_order_and_a_lapsed_claim_is_taken_over(sql_app):
    other = ChatRef("telegram", "5550003")
    async with sql_app.uow_factory() as uow:
        first = await uow.outbox.add(OLENA, "uk", "[]", T0, held("dead"))
        second = await uow.outbox.add(OLENA, "uk", "[]", T0)
        third = await uow.outbox.add(other, "uk", "[]", T0)
        fourth = await uow.outbox.add(other, "uk", "[]", T0)
        await uow.commit()
    assert first < second < third < fourth  # the order the steps ran in, whatever the clock says
    async with sql_app.uow_factory() as uow:
        mine = await uow.outbox.claim("telegram", held("p1"), T0, 10)
        await uow.commit()
    async with sql_app.uow_factory() as uow:
        assert await uow.outbox.claim("telegram", held("p2"), T0, 10) == []  # p1 and "dead" hold them all
        await uow.commit()
    assert [r.id for r in mine] == [third, fourth]  # Olena's second waits behind her first
    async with sql_app.uow_factory() as uow:
        taken = await uow.outbox.claim("telegram", held("p2"), T0 + LEASE + timedelta(seconds=1), 10)
        await uow.commit()
    assert [r.id for r in taken] == [first, second, third, fourth]  # nobody renewed: all lapsed


async def test_a_reply_behind_one_another_live_process_is_sending_waits_for_it(sql_app):
    other = ChatRef("telegram", "5550002")
    async with sql_app.uow_factory() as uow:
        first = await uow.outbox.add(OLENA, "uk", "[]", T0, held("p1"))  # p1 is retrying it
        receipt = await uow.outbox.add(OLENA, "uk", "[]", T0)  # a receipt the core stored for the same chat
        elsewhere = await uow.outbox.add(other, "uk", "[]", T0)
        await uow.commit()
    async with sql_app.uow_factory() as uow:
        taken = await uow.outbox.claim("telegram", held("p2"), T0 + timedelta(seconds=1), 10)
        await uow.commit()
    assert [r.id for r in taken] == [elsewhere]  # Olena's receipt must not overtake her earlier reply
    async with sql_app.uow_factory() as uow:
        await uow.outbox.done([first])
        await uow.commit()
    async with sql_app.uow_factory() as uow:
        taken = await uow.outbox.claim("telegram", held("p2"), T0 + timedelta(seconds=2), 10)
    assert [r.id for r in taken] == [receipt]


async def test_a_rejected_row_is_set_aside_listed_and_sent_again_on_retry(sql_app):
    async with sql_app.uow_factory() as uow:
        row = await uow.outbox.add(OLENA, "en", "[]", T0, held("p1"))
        await uow.outbox.record_attempt(row, 1, "TelegramServerError")
        await uow.outbox.set_aside(row, "TelegramBadRequest", T0 + timedelta(minutes=1))
        await uow.commit()
    async with sql_app.uow_factory() as uow:
        assert await uow.outbox.claim("telegram", held("p2"), T0 + timedelta(hours=1), 10) == []
        [failed] = await uow.outbox.failed(10)
        assert (failed.id, failed.attempts, failed.error) == (str(row), 1, "TelegramBadRequest")
        assert await uow.outbox.retry([row], T0 + timedelta(days=2)) == 1
        await uow.commit()
    async with sql_app.uow_factory() as uow:
        [again] = await uow.outbox.claim("telegram", held("p2"), T0 + timedelta(days=2), 10)
        assert await uow.outbox.failed(10) == []
    assert (again.id, again.progress, again.attempts, again.since) == (row, 1, 0, T0 + timedelta(days=2))


async def test_a_failing_insert_leaves_no_personal_data_in_the_exception_or_the_log(sql_app, caplog):
    secret = "Олена Петренко, рахунок 100000000000001, 1234,56"
    async with sql_app.uow_factory() as uow:
        await uow.inbox.record_many("telegram", [("7", secret)], T0)
        await uow.commit()
    quiet_libraries()  # as run_bot.py sets logging up, whatever KOMUNALKA_LOG_LEVEL says
    caplog.set_level(logging.DEBUG)
    with pytest.raises(IntegrityError) as raised:
        async with sql_app.uow_factory() as uow:
            uow.session.add(InboundEventRow(channel="telegram", event_id="7", payload=secret, received_at=T0,
                                            attempts=0))
            await uow.commit()
    logging.getLogger("test").exception("insert failed")  # as a loop that logged the whole exception would
    assert "100000000000001" not in str(raised.value) and "Олена" not in str(raised.value)
    assert "100000000000001" not in caplog.text and "Олена" not in caplog.text
    assert "hidden" in str(raised.value)  # SQLAlchemy says the parameters were hidden
