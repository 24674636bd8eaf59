"""The campaign runner's rules on in-memory fakes: claimed at the slot, settled only by a final answer."""

from __future__ import annotations

from collections import defaultdict, deque
from datetime import datetime

import pytest

from core.events import ChatRef, PhotoProblem
from core.ports import RunState
from core.service import ConversationService, Outcome
from bot.bootstrap import App
from bot.delivery.adapter import Parsed, PhotoRefused, Recorded
from bot.delivery.pipeline import Pipeline, PipelineSettings
from bot.delivery.results import SENT, Rejected, RetryLater, SendResult, Unreachable
from bot.delivery.supervisor import LoopHealth
from bot.dialogs.table import CONVERSATION
from bot.metrics import Metrics
from bot.reminders import PlatformSender, ReminderRunner
from bot.settings import Settings
from tests.conftest import KYIV
from tests.fakes import FakeUnitOfWork, Store

CLOSING_DAY = datetime(2026, 11, 27, 10, 0, tzinfo=KYIV)  # heat: the "closing" campaign is due


class ScriptedTelegram:
    """A channel whose platform answers as the test says, per chat; Sent when nothing is said."""

    name = "telegram"

    def __init__(self) -> None:
        self.delivered: list[str] = []
        self.attempts: list[str] = []
        self.answers: dict[str, deque[SendResult]] = defaultdict(deque)

    def render(self, outcome: Outcome) -> list[object]:
        return [outcome.chat.chat_id]

    async def send(self, message: object) -> SendResult:
        chat_id = str(message)
        self.attempts.append(chat_id)
        answer = self.answers[chat_id].popleft() if self.answers[chat_id] else SENT
        if answer is SENT:
            self.delivered.append(chat_id)
        return answer

    def mount(self, web_app, pipeline) -> None: ...

    def loops(self, pipeline):
        return {}

    def parse(self, item: Recorded) -> Parsed:
        return Parsed()

    def sender(self, item: Recorded) -> ChatRef | None:
        return None

    async def acknowledge(self, token: str, outcome: Outcome | None = None) -> None: ...

    async def fetch_photo(self, ref: str, max_bytes: int, timeout_s: float) -> bytes:
        raise PhotoRefused(PhotoProblem.UNAVAILABLE, "reminders receive no photos")

    async def close(self) -> None: ...


class World:
    def __init__(self, suppliers) -> None:
        self.store = Store()
        self.now = CLOSING_DAY
        self.channel = ScriptedTelegram()
        settings = Settings(_env_file=None, telegram_rate=1000, telegram_chat_rate=10)
        uow_factory = lambda: FakeUnitOfWork(self.store)  # noqa: E731
        service = ConversationService(uow_factory, CONVERSATION, suppliers, self.clock, KYIV)
        # the ignore: an App without an engine, on the fake unit of work (the runner uses neither's SQL side)
        self.app = App(settings, None, suppliers, service, uow_factory, self.clock)  # type: ignore[arg-type]
        pipeline = Pipeline(self.channel, service, uow_factory, self.clock, Metrics(), LoopHealth(),
                            PipelineSettings(owner="test"))
        self.sender = PlatformSender(pipeline, settings.telegram_rate, settings.telegram_chat_rate)

    def clock(self) -> datetime:
        return self.now

    def runner(self) -> ReminderRunner:
        return ReminderRunner(self.app, {"telegram": self.sender})

    def resident(self, chat_id: str, **row) -> int:
        resident_id = self.store._id()
        self.store.residents[ChatRef("telegram", chat_id)] = {"id": resident_id, "language": "uk", "reachable": True,
                                                              "session": {}, **row}
        account = self.store.add_account("heat", f"1000000000000{resident_id:02d}",
                                         meters=[{"service": "heating", "serial": f"HT-{resident_id}", "last": "1"}])
        self.store.links.append((resident_id, account.id))
        return resident_id

    def states(self) -> dict[str, str]:
        ids = {row["id"]: chat.chat_id for chat, row in self.store.residents.items()}
        return {ids[k[0]]: state for k, state in self.store.deliveries.items() if k[1:] == ("heat", "2026-11",
                                                                                            "closing")}


@pytest.fixture
def world(suppliers) -> World:
    return World(suppliers)


async def test_each_answer_settles_the_reminder_its_own_way_and_a_passing_failure_is_retried_in_the_run(world):
    for chat in ("sent", "blocked", "refused", "flaky"):
        world.resident(chat)
    world.channel.answers["blocked"].append(Unreachable("forbidden"))
    world.channel.answers["refused"].append(Rejected("TelegramBadRequest"))
    world.channel.answers["flaky"].extend([RetryLater("TelegramServerError", 0.01), RetryLater("timeout", 0.01)])
    report = await world.runner().run_due()
    [heat] = [c for c in report.campaigns if c.campaign.supplier == "heat"]
    assert (heat.sent, heat.unreachable, heat.rejected, heat.retry, heat.finished) == (2, 1, 1, 0, True)
    assert sorted(world.channel.delivered) == ["flaky", "sent"]
    assert world.states() == {"sent": "sent", "blocked": "unreachable", "refused": "rejected", "flaky": "sent"}
    assert world.store.residents[ChatRef("telegram", "blocked")]["reachable"] is False


async def test_a_platform_that_keeps_failing_leaves_the_campaign_open_for_the_next_run(world):
    world.resident("down")
    world.channel.answers["down"].extend([RetryLater("TelegramServerError", 0.01)] * 5)
    report = await world.runner().run_due()
    [heat] = [c for c in report.campaigns if c.campaign.supplier == "heat"]
    assert (heat.sent, heat.retry, heat.finished) == (0, 1, False)
    assert world.states() == {"down": "retry"}  # never counted as sent
    again = await world.runner().run_due()
    [heat] = [c for c in again.campaigns if c.campaign.supplier == "heat"]
    assert (heat.sent, heat.finished) == (1, True) and world.channel.delivered == ["down"]


async def test_a_run_that_died_mid_send_counts_the_one_in_flight_as_lost_and_never_sends_it_again(world):
    world.resident("in-flight")
    world.resident("not-yet")
    in_flight_id = world.store.residents[ChatRef("telegram", "in-flight")]["id"]
    world.store.campaign_runs[("heat", "2026-11", "closing")] = RunState(CLOSING_DAY, None)  # started, not finished
    world.store.deliveries[(in_flight_id, "heat", "2026-11", "closing")] = "sending"  # claimed, then the kill
    report = await world.runner().run_due()
    [heat] = [c for c in report.campaigns if c.campaign.supplier == "heat"]
    assert (heat.lost, heat.sent, heat.finished) == (1, 1, True)
    assert world.channel.attempts == ["not-yet"]


async def test_nothing_is_claimed_inside_quiet_hours(world):
    world.resident("night")
    world.now = CLOSING_DAY.replace(hour=22)
    assert (await world.runner().run_due()).quiet
    assert world.store.deliveries == {} and world.channel.attempts == []
