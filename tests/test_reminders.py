"""Reminder campaigns against the fake Telegram and Viber servers, on a real database, fixed clock."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from decimal import Decimal

from core.domain import ReadingKind, ReadingStatus
from core.events import ButtonPressed, ChatRef, Reply, encode_replies, t
from core.periods import Period
from core.ports import Claim, NewReading, Submission
from bot.bootstrap import build_app
from bot.delivery.supervisor import LoopHealth
from bot.kept_readings import hand_in_kept_readings
from bot.serve import build_pipelines
from bot.metrics import Metrics
from bot.reminders import PlatformSender, ReminderRunner
from bot.settings import Settings
from bot.telegram.channel import TelegramChannel
from bot.viber.channel import ViberChannel
from storage.models import ResidentRow
from storage.readings_export import accepted_readings
from tests.conftest import KYIV
from tests.reminder_seed import seed
from tests.talk import Talk

CLOSING_DAY = datetime(2026, 11, 27, 10, 0, tzinfo=KYIV)  # heat: 3 days before the 30th


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def world(tmp_path, telegram, viber, database_url):
    clock = Clock(CLOSING_DAY)
    settings = Settings(_env_file=None, database_url=database_url, telegram_token=telegram.token,
                        telegram_api_url=telegram.url, viber_token=viber.token, viber_api_url=viber.url,
                        public_url="https://bot.example.org", telegram_rate=200, viber_rate=200)
    app = await build_app(settings)
    app.clock = clock
    app.service._clock = clock
    metrics = Metrics()
    tg = TelegramChannel(app, metrics)
    vb = ViberChannel(app, metrics)
    vb.backoff_s = 0.05
    pipelines = build_pipelines(app, [tg, vb], metrics, LoopHealth())
    senders = {"telegram": PlatformSender(pipelines[0], settings.telegram_rate, 50),
               "viber": PlatformSender(pipelines[1], settings.viber_rate)}

    async def hand_in_kept() -> tuple[int, int]:
        counts = await hand_in_kept_readings(app, metrics)
        for pipeline in pipelines:
            await pipeline.outbox.drain_once()
        return counts

    yield type("World", (), dict(app=app, clock=clock, runner=lambda: ReminderRunner(app, senders),
                                 telegram=telegram, viber=viber, tg=tg, pipelines=pipelines,
                                 hand_in_kept=hand_in_kept))
    await tg.close()
    await vb.close()
    await app.close()


async def submit(app, chat: ChatRef, values: list[str]) -> None:
    talk = Talk(app.service, chat.channel, chat.chat_id)
    await talk.start()
    await talk.press("btn_submit")
    for value in values:
        await talk.say(value)
    await talk.press("btn_confirm")


async def test_who_is_due_and_what_the_reminder_says(world):
    due, submitted, partly, off, unreachable = await seed(world.app, 5)
    await submit(world.app, ChatRef("telegram", str(submitted)), ["11", "6"])
    await Talk(world.app.service, "telegram", "424242").start()  # a resident with no linked account
    async with world.app.uow_factory() as uow:
        resident = (await uow.session.execute(select(ResidentRow.id).where(
            ResidentRow.external_id == str(partly)))).scalar_one()
        [account] = await uow.accounts.linked(resident)
        heating = next(m for m in account.meters if m.service == "heating")
        await uow.readings.submit(Submission(account.id, resident, Period(2026, 11), "telegram", "KM-2611-PART01",
                                             CLOSING_DAY, ReadingStatus.ACCEPTED,
                                             (NewReading(heating.id, Decimal(11), Decimal(10), Decimal(1),
                                                         ReadingKind.TYPED),)))
        resident_off = (await uow.session.execute(select(ResidentRow.id).where(
            ResidentRow.external_id == str(off)))).scalar_one()
        await uow.reminders.set_enabled(resident_off, "heat", False)
        await uow.residents.set_reachable(ChatRef("telegram", str(unreachable)), False)
        await uow.commit()
    report = await world.runner().run_due()
    heat = next(c for c in report.campaigns if c.campaign.supplier == "heat")
    assert heat.campaign.kind.value == "closing" and heat.finished
    reminded = {int(c.params["chat_id"]) for c in world.telegram.sent() if "Ще не передано" in c.params["text"]}
    assert reminded == {due, partly}
    text = next(c.params["text"] for c in world.telegram.sent(due) if "Ще не передано" in c.params["text"])
    assert "до кінця прийому показників за 11.2026 — 3 дні (останній день 30.11.2026)" in text
    assert "•••0000" in text and "100000000000000" not in text
    assert "Опалення №HT-0" in text and "Гаряча вода №HW-0" in text
    partly_text = next(c.params["text"] for c in world.telegram.sent(partly) if "Ще не передано" in c.params["text"])
    assert "Гаряча вода" in partly_text and "Опалення" not in partly_text


async def test_the_reminder_button_starts_the_submission(world):
    [chat] = await seed(world.app, 1)
    await world.runner().run_due()
    [call] = [c for c in world.telegram.sent(chat)]
    payload = call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    outcome = await world.app.service.handle(ButtonPressed(ChatRef("telegram", str(chat)), payload))
    assert [r.text.key for r in outcome.replies] == ["meter_prompt"]


async def test_a_campaign_run_twice_sends_once(world):
    chats = await seed(world.app, 5)
    await world.runner().run_due()
    await world.runner().run_due()
    assert sorted(int(c.params["chat_id"]) for c in world.telegram.sent()) == chats


async def test_nothing_is_sent_in_quiet_hours_and_the_campaign_waits_for_the_morning(world):
    chats = await seed(world.app, 3)
    world.clock.now = CLOSING_DAY.replace(hour=21, minute=30)
    assert (await world.runner().run_due()).quiet
    world.clock.now = CLOSING_DAY.replace(day=28, hour=8, minute=59)
    assert (await world.runner().run_due()).quiet
    assert world.telegram.sent() == []
    world.clock.now = CLOSING_DAY.replace(day=28, hour=9, minute=0)
    await world.runner().run_due()
    assert sorted(int(c.params["chat_id"]) for c in world.telegram.sent()) == chats


async def test_catching_up_after_downtime_sends_only_the_latest_campaign(world):
    await seed(world.app, 2)
    world.clock.now = datetime(2026, 11, 30, 12, tzinfo=KYIV)  # opens (5th) and closing (27th) were missed
    report = await world.runner().run_due()
    assert [c.campaign.kind.value for c in report.campaigns if c.campaign.supplier == "heat"] == ["last_day"]
    assert len(world.telegram.sent()) == 2
    assert all("сьогодні, 30.11.2026, останній день" in c.params["text"] for c in world.telegram.sent())


async def test_retry_after_pauses_sending_and_every_reminder_still_arrives_once(world):
    chats = await seed(world.app, 4)
    world.telegram.retry_after["sendMessage"].append(1)
    report = await world.runner().run_due()
    assert sorted(int(c.params["chat_id"]) for c in world.telegram.sent()) == chats
    assert world.pipelines[0].outbox.retry_after_met == 1 and report.campaigns[0].sent == 4


async def test_a_resident_who_blocked_the_bot_is_marked_unreachable_and_not_tried_again(world):
    chats = await seed(world.app, 3)
    world.telegram.blocked.add(chats[0])
    await world.runner().run_due()
    async with world.app.uow_factory() as uow:
        reachable = (await uow.session.execute(select(ResidentRow.reachable).where(
            ResidentRow.external_id == str(chats[0])))).scalar_one()
    assert reachable is False
    world.clock.now = datetime(2026, 11, 30, 12, tzinfo=KYIV)
    calls_before = len(world.telegram.method_calls("sendMessage"))
    await world.runner().run_due()
    tried = {int(c.params["chat_id"]) for c in world.telegram.method_calls("sendMessage")[calls_before:]}
    assert tried == set(chats[1:])


async def test_viber_status_6_and_12_in_a_campaign(world):
    chats = [str(c) for c in await seed(world.app, 3, channel="viber")]
    world.viber.statuses[chats[0]].append(6)
    world.viber.statuses[chats[1]].append(12)
    report = await world.runner().run_due()
    heat = report.campaigns[0]
    assert (heat.sent, heat.unreachable) == (2, 1)
    assert sorted(c.body["receiver"] for c in world.viber.sent()) == sorted(chats[1:])


async def test_readings_kept_outside_the_window_are_handed_in_when_it_opens_with_a_receipt(world):
    [chat] = await seed(world.app, 1)
    world.clock.now = datetime(2026, 11, 3, 12, tzinfo=KYIV)  # heat opens on the 5th
    talk = Talk(world.app.service, "telegram", str(chat))
    await talk.start()
    await talk.press("btn_submit")
    await talk.press("btn_keep_for_later")
    await talk.say("11")
    await talk.say("6")
    await talk.press("btn_confirm")
    reference = talk.reply("receipt_pending").text.params["reference"]
    async with world.app.uow_factory() as uow:
        assert await accepted_readings(uow.session, "heat", Period(2026, 11)) == []
    world.clock.now = datetime(2026, 11, 5, 9, 30, tzinfo=KYIV)
    assert await world.hand_in_kept() == (1, 0)
    await world.runner().run_due()
    receipt = [c.params["text"] for c in world.telegram.sent(chat) if "передано постачальнику" in c.params["text"]]
    assert len(receipt) == 1 and reference in receipt[0]
    async with world.app.uow_factory() as uow:
        rows = await accepted_readings(uow.session, "heat", Period(2026, 11))
        assert {r[6] for r in rows} == {11, 6}
        assert await uow.outbox.pending("telegram", 10) == []
    assert not any("Ще не передано" in c.params["text"] for c in world.telegram.sent(chat))  # nothing missing
    assert await world.hand_in_kept() == (0, 0)
    await world.runner().run_due()
    assert len([c for c in world.telegram.sent(chat) if "передано постачальнику" in c.params["text"]]) == 1


async def test_a_meter_whose_verification_lapses_within_a_month_gets_one_warning(world):
    from datetime import date

    [chat] = await seed(world.app, 1, verification_due=date(2026, 12, 15))
    await world.runner().run_due()
    await world.runner().run_due()
    warnings = [c for c in world.telegram.sent(chat) if "Строк повірки" in c.params["text"]]
    assert len(warnings) == 1 and "15.12.2026" in warnings[0].params["text"]


async def test_on_postgresql_only_one_process_at_a_time_runs_campaigns(world):
    from bot.scheduler import campaign_lock, run_locked

    if world.app.engine.dialect.name != "postgresql":
        pytest.skip("with SQLite one process serves the bot; the advisory lock is PostgreSQL's")
    await seed(world.app, 2)
    async with campaign_lock(world.app.engine) as held:  # as another process would hold it
        assert held
        assert await run_locked(world.app.engine, world.runner()) is None
        assert world.telegram.sent() == []
    report = await run_locked(world.app.engine, world.runner())
    assert report is not None and report.campaigns[0].sent == 2


async def test_remind_tries_waiting_replies_once_and_leaves_those_that_fail_for_the_bot(world):
    chat = ChatRef("telegram", "31337")
    async with world.app.uow_factory() as uow:
        await uow.outbox.add(chat, "uk", encode_replies((Reply(t("menu")),)), world.clock())
        await uow.commit()
    world.telegram.failures["sendMessage"].extend(["502"] * 10)  # Telegram is down for a while
    await asyncio.wait_for(world.hand_in_kept(), timeout=10)  # returns; does not wait the day out
    async with world.app.uow_factory() as uow:
        [waiting] = await uow.outbox.pending("telegram", 10)
        assert waiting.attempts == 1
        taken = await uow.outbox.claim("telegram", Claim("run", datetime.now(timezone.utc) + timedelta(seconds=30)),
                                       datetime.now(timezone.utc), 10)
    assert [r.id for r in taken] == [waiting.id]  # not held by the finished command: `run` takes it
