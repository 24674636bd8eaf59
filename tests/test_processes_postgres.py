"""Several `run_bot.py run` processes on one PostgreSQL behind one webhook URL, as a city runs them.

Residents talk to the bot through a load balancer that alternates between two processes while
Telegram redelivers some updates to the other one; one process is SIGKILLed with work in hand and
restarted. A reminder campaign survives the death of the process that was running it.

What the pipeline guarantees across processes, and so what is asserted: an update is recorded once
and stepped once, whichever process gets it and however often; one resident's steps run in the
order the resident sent them when each waits for the bot's answer to the one before (as a resident
does: a button can only be pressed once its message has arrived); a dead process's recorded events
and unsent replies are taken over once its claims lapse.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import signal
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from storage.models import AccountRow, LinkRow, ResidentRow
from tests.fake_telegram import FakeTelegram, message_update
from tests.test_telegram_process import ROOT, SECRET, free_port, healthy, wait_for
from tests.test_two_processes import CLOCK, DEMO, LEASE_S, accounts_import

CLOSING_DAY = "2026-11-27T10:00:00+02:00"  # heat's "closing" campaign is due
HELD = ("sendMessage", "editMessageText")  # what a resident sees arrives by these


class Served:
    """`run_bot.py run` on a port of 127.0.0.1; its log goes to a file (a pipe nobody reads fills and stalls it)."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as sink:
            self.proc = await asyncio.create_subprocess_exec(sys.executable, str(ROOT / "run_bot.py"), "run",
                                                             env=self.env, stdout=sink, stderr=sink)
        try:
            if await healthy(self.proc, self.port):
                return
        except AssertionError as slow:
            raise AssertionError(f"{slow}:\n{self.logged()}") from None
        raise AssertionError(self.logged())

    def logged(self) -> str:
        return self.log.read_text(errors="replace")

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> int | None:
        """SIGTERM, as an orchestrator stops it; a process already gone is left alone."""
        if self.proc is None or self.proc.returncode is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), timeout=30)


def environment(url: str, api: FakeTelegram, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOMUNALKA_")}
    env.update(KOMUNALKA_DATABASE_URL=url, KOMUNALKA_TELEGRAM_TOKEN=api.token, KOMUNALKA_TELEGRAM_API_URL=api.url,
               KOMUNALKA_PUBLIC_URL="https://bot.example.org", KOMUNALKA_TELEGRAM_WEBHOOK_SECRET=SECRET,
               KOMUNALKA_HTTP_HOST="127.0.0.1", KOMUNALKA_HTTP_PORT=str(port),
               KOMUNALKA_CLAIM_LEASE_SECONDS=str(LEASE_S), **extra)
    return env


async def command(url: str, *args: str, **extra: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOMUNALKA_")}
    env.update(KOMUNALKA_DATABASE_URL=url, KOMUNALKA_CLOCK=CLOCK, **extra)
    proc = await asyncio.create_subprocess_exec(sys.executable, str(ROOT / "run_bot.py"), *args, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0, err.decode()
    return out.decode()


def heat_register(path: Path, numbers: list[str], with_demo: bool = False) -> Path:
    """A heat register of accounts shaped like the demo's (two hot water meters), in the demo file's columns."""
    header = next(csv.reader(DEMO.read_text(encoding="utf-8").splitlines()))
    with path.open("w", encoding="utf-8", newline="") as out:
        if with_demo:
            out.write(DEMO.read_text(encoding="utf-8").rstrip("\n") + "\n")
        else:
            csv.writer(out).writerow(header)
        rows = csv.DictWriter(out, header, restval="")
        for n, number in enumerate(numbers):
            meters = ((f"HT-9{n:03d}", "heating", "1520.125"), (f"HW-8{n:03d}", "hot_water", "312.4"),
                      (f"HW-9{n:03d}", "hot_water", "98.75"))
            for serial, service, last in meters:
                rows.writerow(dict(supplier="heat", account=number, address="Kyiv, 1 Test St", apartment=str(n + 1),
                                   last_payment="1234.56", meter=serial, service=service, last_reading=last,
                                   last_reading_date="2026-10-28"))
    return path


def engine_for(url: str) -> AsyncEngine:
    return create_async_engine(url, poolclass=NullPool)


async def one_value(engine: AsyncEngine, sql: str, **params: object) -> Any:
    async with engine.connect() as connection:
        return (await connection.execute(text(sql), params)).scalar()


# the resident, the load balancer, Telegram

class LoadBalancer:
    """One webhook URL in front of the processes. A process that does not answer (dead, or not up yet)
    is passed over for the next, as Telegram tries again and the balancer's health check would."""

    def __init__(self, processes: list[Served]) -> None:
        self.processes = processes
        self.statuses: list[int] = []
        self.answered: Counter[str] = Counter()  # by the process's log name
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))

    async def post(self, update: dict[str, Any], first: int) -> int:
        """To processes[first]; on no answer, to the next one, and so on: the status of the one that answered."""
        for attempt in range(200):
            process = self.processes[(first + attempt) % len(self.processes)]
            try:
                async with self.http.post(f"http://127.0.0.1:{process.port}/telegram/webhook", json=update,
                                          headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as response:
                    self.statuses.append(response.status)
                    self.answered[process.log.name] += 1
                    return response.status
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
        raise AssertionError("no process answered")

    async def deliver(self, update: dict[str, Any], first: int, redelivery: str | None) -> None:
        """Once, to ``first``; "again": to the other process too once answered (Telegram waited too long for
        the answer); "together": to both at once."""
        if redelivery == "together":
            await asyncio.gather(self.post(update, first), self.post(update, first + 1))
            return
        await self.post(update, first)
        if redelivery == "again":
            await self.post(update, first + 1)

    async def close(self) -> None:
        await self.http.close()


DEMO_HEAT = "100000000000001"
TAPPED = {1: "🏠 Мої рахунки", 2: "➕ Додати рахунок", 3: "Тепло та гаряча вода", 6: "📝 Передати показники",
          10: "✅ Підтвердити"}
ANSWERS = ("Вітаю!", "У вас ще немає доданих рахунків", "Оберіть постачальника", "Введіть номер особового рахунку",
           "Щоб підтвердити, що рахунок ваш", "{account} додано", "Лічильник 1 з 3", "Лічильник 2 з 3",
           "Лічильник 3 з 3", "Перевірте показники", "Номер квитанції: KM-2611-")
SUBMIT, CONFIRM = 6, 10  # the steps that start the submission and confirm it


@dataclass
class Resident:
    """Links a heat account and hands in its three meters: eleven steps, each once the answer to the last came."""

    n: int
    chat: int
    account: str
    waiting: tuple[int, int] = (0, 0)  # the step whose answer is awaited, and how many screens came before it
    last_update: dict[str, Any] = field(default_factory=dict)

    @property
    def values(self) -> list[str]:
        """Typed for the first, second and third meter asked."""
        return [f"{1521 + self.n},5", f"{313 + self.n}", f"{99 + self.n},25"]

    def update(self, api: FakeTelegram, step: int) -> dict[str, Any]:
        said = {0: "/start", 4: self.account, 5: "1234,56", 7: self.values[0], 8: self.values[1], 9: self.values[2]}
        return message_update(self.chat, said[step]) if step in said else api.tap(self.chat, TAPPED[step])

    def answers(self) -> list[str]:
        return [a.format(account=f"•••{self.account[-4:]}") for a in ANSWERS]


class City:
    """Residents talking to the bot in parallel through the load balancer."""

    def __init__(self, api: FakeTelegram, balancer: LoadBalancer) -> None:
        self.api, self.balancer = api, balancer

    async def send(self, resident: Resident, step: int, to: int | None = None, redelivery: str | None = None) -> None:
        resident.waiting = (step, len(self.api.texts(resident.chat)))
        resident.last_update = resident.update(self.api, step)
        if to is None:  # the balancer alternates: a resident's consecutive updates go to different processes,
            to = resident.n + step  # and half of them are delivered twice, one way or the other
            redelivery = ("again", None, "together", None)[(resident.n + step) % 4]
        await self.balancer.deliver(resident.last_update, to, redelivery)

    async def answered(self, resident: Resident) -> None:
        step, before = resident.waiting
        expected = resident.answers()[step]
        try:
            await wait_for(lambda: any(expected in t for t in self.api.texts(resident.chat)[before:]), seconds=45)
        except AssertionError:
            raise AssertionError(f"resident {resident.n}, step {step}: no {expected!r} in "
                                 f"{self.api.texts(resident.chat)[before:]}") from None

    async def talk(self, resident: Resident, steps: range, sent: bool = False) -> None:
        for step in steps:
            if not (sent and step == steps.start):
                await self.send(resident, step)
            await self.answered(resident)

    def in_flight(self, chat: int) -> bool:
        return any(c.status == 0 and c.method in HELD and int(c.params["chat_id"]) == chat for c in self.api.calls)


async def until(check: Callable[[], Any], seconds: float = 15) -> None:
    """Like wait_for, for a condition that has to ask the database."""
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_residents_behind_alternating_processes_one_killed_and_restarted_submit_once_and_in_order(
        postgres, telegram, tmp_path):
    api = telegram
    residents = [Resident(n, 8_100_000 + n, DEMO_HEAT if n == 0 else f"1000000000001{n:02d}") for n in range(8)]
    await accounts_import(postgres, heat_register(tmp_path / "register.csv", [r.account for r in residents[1:]],
                                                  with_demo=True))
    ports = [free_port(), free_port()]
    # quiet hours around the frozen noon: heat's "opens" campaign would remind residents mid-conversation
    env = [environment(postgres, api, port, KOMUNALKA_CLOCK=CLOCK, KOMUNALKA_QUIET_HOURS_START="11:00",
                       KOMUNALKA_QUIET_HOURS_END="13:00") for port in ports]
    first, second = (Served(e, p, tmp_path / f"{name}.log") for e, p, name in zip(env, ports, ("first", "second")))
    restarted = Served(env[0], ports[0], tmp_path / "restarted.log")
    balancer = LoadBalancer([first, second])
    city = City(api, balancer)
    engine = engine_for(postgres)
    restarting: asyncio.Task[None] | None = None
    try:
        await asyncio.gather(first.start(), second.start())
        await asyncio.gather(*(city.talk(r, range(SUBMIT)) for r in residents))  # accounts linked

        # The first process dies with work in hand. Three residents' next steps were handled by it, their
        # replies on the way to Telegram (which never gets them) ...
        for method in HELD:
            api.hold[method] = asyncio.Event()
        replies_lost, step_lost = residents[1:4], residents[4]
        for r in replies_lost:
            await city.send(r, SUBMIT, to=0, redelivery="again" if r.n % 2 else None)
        await wait_for(lambda: all(city.in_flight(r.chat) for r in replies_lost))
        # ... and one resident's step was recorded, answered 200, and was waiting for the resident's row
        async with engine.connect() as other:
            await other.execute(text("SELECT id FROM residents WHERE channel = 'telegram' AND external_id = :chat "
                                     "FOR UPDATE"), {"chat": str(step_lost.chat)})
            await city.send(step_lost, SUBMIT, to=0)
            await until(lambda: one_value(engine, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                                  "current_database() AND wait_event_type = 'Lock'"))
            # and nothing else: what it sent has been settled (a reply sent in the instant before a kill
            # may come twice, which the README allows and this test does not look at)
            await until(lambda: one_value(engine, f"SELECT count(*) = {len(replies_lost)} FROM outbox"))
            await first.kill()
            dropped = [int(c.params["chat_id"]) for c in api.calls if c.status == 0 and c.method in HELD]
            assert sorted(dropped) == [r.chat for r in replies_lost]
            for method in HELD:
                api.failures[method].extend(["502"] * sum(c.status == 0 for c in api.method_calls(method)))
            api.release()
            await other.rollback()
        await balancer.post(step_lost.last_update, 1)  # Telegram sends it again, to the other process: a repeat

        # Restarted at the same address; until it listens, the other process takes everything
        balancer.processes[0] = restarted
        restarting = asyncio.create_task(restarted.start())
        others = [r for r in residents if r not in replies_lost and r is not step_lost]
        await asyncio.gather(*(city.talk(r, range(SUBMIT, SUBMIT + 1)) for r in others))
        await restarting
        await asyncio.gather(*(city.talk(r, range(SUBMIT + 1, CONFIRM + 1)) for r in others), *(
            city.talk(r, range(SUBMIT, CONFIRM + 1), sent=True) for r in [*replies_lost, step_lost]))
    finally:
        if restarting is not None:
            await asyncio.gather(restarting, return_exceptions=True)
        await balancer.close()
        codes = list(await asyncio.gather(restarted.stop(), second.stop()))
        if first.proc is not None and first.proc.returncode is None:
            await first.kill()
    assert codes == [0, 0], restarted.logged() + second.logged()
    assert Counter(balancer.statuses) == Counter({200: len(balancer.statuses)})  # no 5xx, nothing refused
    assert balancer.answered["restarted.log"] > 0

    for r in residents:  # every screen once, in the order of the steps
        answers = r.answers()
        screens = [next(i for i, a in enumerate(answers) if a in t) for t in api.texts(r.chat)
                   if any(a in t for a in answers)]
        assert screens == list(range(CONFIRM + 1)), (r.n, screens, [t[:60] for t in api.texts(r.chat)])

    rows = list(csv.DictReader(io.StringIO(await command(postgres, "readings", "export", "--supplier", "heat",
                                                         "--period", "2026-11"))))
    assert len(rows) == 3 * len(residents)
    for r in residents:  # one receipt each, and exactly its readings, each on the meter it was typed for
        [receipt] = [t for t in api.texts(r.chat) if "Номер квитанції" in t]
        reference = re.search(r"KM-2611-[0-9A-Z]+", receipt)
        asked = [re.search(r"Лічильник \d з 3: .*№(\S+)", t) for t in api.texts(r.chat)]
        meters = [m.group(1) for m in asked if m]
        mine = [row for row in rows if row["account"] == r.account]
        assert {row["meter"]: Decimal(row["reading"]) for row in mine} == {
            meter: Decimal(value.replace(",", ".")) for meter, value in zip(meters, r.values)}
        assert len(mine) == 3 and reference is not None
        assert {(row["reference"], row["channel"]) for row in mine} == {(reference.group(0), "telegram")}

    assert await one_value(engine, "SELECT count(*) FROM inbound_events WHERE handled_at IS NULL "
                                   "OR failed_at IS NOT NULL") == 0
    assert await one_value(engine, "SELECT count(*) FROM outbox") == 0
    await engine.dispose()


async def link(engine: AsyncEngine, numbers: list[str], first_chat: int) -> list[int]:
    """Telegram residents, one per heat account, linked (as the conversation links them)."""
    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    async with AsyncSession(engine) as session:
        accounts = dict((await session.execute(select(AccountRow.number, AccountRow.id).where(
            AccountRow.supplier == "heat", AccountRow.number.in_(numbers)))).all())
        residents = [ResidentRow(channel="telegram", external_id=str(first_chat + n), language="uk", reachable=True,
                                 session="{}", created_at=now, updated_at=now) for n in range(len(numbers))]
        session.add_all(residents)
        await session.flush()
        session.add_all(LinkRow(resident_id=resident.id, account_id=accounts[number], created_at=now)
                        for resident, number in zip(residents, numbers))
        await session.commit()
    return [first_chat + n for n in range(len(numbers))]


async def test_a_campaign_whose_process_is_killed_is_finished_by_the_other_reminding_no_one_twice(
        postgres, telegram, tmp_path):
    api = telegram
    numbers = [f"2000000000{n:05d}" for n in range(40)]
    await accounts_import(postgres, heat_register(tmp_path / "register.csv", numbers))
    engine = engine_for(postgres)
    chats = await link(engine, numbers, first_chat=9_100_000)
    async with engine.connect() as connection:  # as servers are often set up: the lock must not depend on it
        database = (await connection.execute(text("SELECT current_database()"))).scalar()
        await connection.execute(text(f'ALTER DATABASE "{database}" SET idle_in_transaction_session_timeout = '
                                      "'3s'"))
        await connection.commit()
    ports = free_port(), free_port()
    # the first sends slowly (few reminders in flight at once); the other at Telegram's usual 30 a second
    holder = Served(environment(postgres, api, ports[0], KOMUNALKA_CLOCK=CLOSING_DAY, KOMUNALKA_TELEGRAM_RATE="5"),
                    ports[0], tmp_path / "holder.log")
    standby = Served(environment(postgres, api, ports[1], KOMUNALKA_CLOCK=CLOSING_DAY), ports[1],
                     tmp_path / "standby.log")

    async def finished() -> bool:
        return await one_value(engine, "SELECT finished_at IS NOT NULL FROM reminder_runs WHERE supplier = 'heat' "
                                       "AND period = '2026-11' AND campaign = 'closing'") is True

    standby_started: asyncio.Task[None] | None = None
    try:
        await holder.start()
        # the other starts after the holder's scheduler did: its first try at the campaigns comes later
        standby_started = asyncio.create_task(standby.start())
        await wait_for(lambda: len(api.sent()) >= 3, seconds=30)  # it took the lock: the campaign is under way
        api.hold["sendMessage"] = asyncio.Event()  # Telegram stops answering: its reminders in hand hang
        await standby_started
        await wait_for(lambda: "another process is running the campaigns" in standby.logged(), seconds=30)
        await holder.kill()  # its lock goes with its connection
        in_flight = {int(c.params["chat_id"]) for c in api.method_calls("sendMessage") if c.status == 0}
        api.failures["sendMessage"].extend(["502"] * len(in_flight))  # they never reach anyone
        api.release()
        await until(finished, seconds=30)  # the other takes over at its next try, within a lease
    finally:
        if standby_started is not None:
            await asyncio.gather(standby_started, return_exceptions=True)
        if holder.proc is not None and holder.proc.returncode is None:
            await holder.kill()
        code = await standby.stop()
    assert code == 0, standby.logged()
    received = Counter(int(c.params["chat_id"]) for c in api.sent())
    assert received == Counter({chat: 1 for chat in chats if chat not in in_flight})  # no one twice, no one left
    assert in_flight  # the holder's sends in hand at the kill (a few: its rate sets how many at a time)
    async with engine.connect() as connection:
        states: dict[str, int] = dict((await connection.execute(text(
            "SELECT state, count(*) FROM reminder_deliveries WHERE supplier = 'heat' AND period = '2026-11' "
            "AND campaign = 'closing' GROUP BY state"))).all())
    assert states == {"sent": len(chats) - len(in_flight), "lost": len(in_flight)}  # in flight: lost, not resent
    said = re.search(r"(\d+) reminder\(s\) were in flight when an earlier run stopped", standby.logged())
    assert said is not None and int(said.group(1)) == len(in_flight)
    await engine.dispose()


async def test_a_process_stopped_mid_campaign_sends_the_reminders_in_hand_and_loses_none(postgres, telegram, tmp_path):
    api = telegram
    numbers = [f"3000000000{n:05d}" for n in range(20)]
    await accounts_import(postgres, heat_register(tmp_path / "register.csv", numbers))
    engine = engine_for(postgres)
    await link(engine, numbers, first_chat=9_200_000)
    port = free_port()
    bot = Served(environment(postgres, api, port, KOMUNALKA_CLOCK=CLOSING_DAY, KOMUNALKA_TELEGRAM_RATE="5"), port,
                 tmp_path / "bot.log")
    api.delay = 0.5  # each reminder takes a while to send: some are in hand when the stop comes
    try:
        await bot.start()
        await wait_for(lambda: len(api.sent()) >= 2, seconds=30)
    finally:
        code = await bot.stop()  # SIGTERM: a rolling deploy
    async with engine.connect() as connection:
        states = (await connection.execute(text(
            "SELECT r.external_id, d.state FROM reminder_deliveries d JOIN residents r ON r.id = d.resident_id"))).all()
    await engine.dispose()
    assert [state for _, state in states if state != "sent"] == []  # none left "sending": none counted lost
    assert sorted(int(chat) for chat, _ in states) == sorted(int(c.params["chat_id"]) for c in api.sent())
    assert code == 0 and "Traceback" not in bot.logged(), bot.logged()


async def test_a_photo_one_process_fetches_holds_the_value_the_other_got_and_either_serves_it(
        postgres, telegram, tmp_path):
    """A resident sends a meter photo, then types the value before the bot answered: the balancer gives the
    photo to one process and the value to the other. The value waits for the photo (which takes longer than a
    claim's lease to download), and the photo, kept in the one folder, is the operator's from either process."""
    from tests.test_photo_pipeline import photo_update
    from tests.test_telegram import jpeg

    api = telegram
    olena = Resident(0, 8_200_000, DEMO_HEAT)
    await accounts_import(postgres, DEMO)
    ports = [free_port(), free_port()]
    env = [environment(postgres, api, port, KOMUNALKA_CLOCK=CLOCK, KOMUNALKA_QUIET_HOURS_START="11:00",
                       KOMUNALKA_QUIET_HOURS_END="13:00", KOMUNALKA_PHOTO_DIR=str(tmp_path / "photos"),
                       KOMUNALKA_OCR="false", KOMUNALKA_OPERATOR_TOKEN="operator-token-1") for port in ports]
    processes = [Served(e, p, tmp_path / f"{name}.log") for e, p, name in zip(env, ports, ("first", "second"))]
    balancer = LoadBalancer(processes)
    city = City(api, balancer)
    try:
        await asyncio.gather(*(p.start() for p in processes))
        await city.talk(olena, range(SUBMIT + 1))  # linked, at the first meter's prompt
        before = len(api.texts(olena.chat))
        api.download_delay = 1.5 * LEASE_S
        api.add_file("photo-1", jpeg((1600, 1200)))
        assert await balancer.post(photo_update(olena.chat, "photo-1", 60_000), 0) == 200
        assert await balancer.post(message_update(olena.chat, olena.values[0]), 1) == 200
        await wait_for(lambda: len(api.texts(olena.chat)) >= before + 2, seconds=30)
        answers = api.texts(olena.chat)[before:]
        assert "Фото додам до показника" in answers[0] and answers[1].startswith("Лічильник 2 з 3"), answers
        api.download_delay = 0
        await city.talk(olena, range(SUBMIT + 2, CONFIRM + 1))

        rows = list(csv.DictReader(io.StringIO(await command(postgres, "readings", "export", "--supplier", "heat",
                                                             "--period", "2026-11"))))
        [photographed] = [row for row in rows if row["photo"]]
        assert Decimal(photographed["reading"]) == Decimal(olena.values[0].replace(",", "."))
        kept = []
        async with aiohttp.ClientSession() as http:
            for process in processes:
                async with http.get(f"http://127.0.0.1:{process.port}/photos/{photographed['photo']}",
                                    headers={"Authorization": "Bearer operator-token-1"}) as response:
                    assert response.status == 200
                    kept.append(await response.read())
        assert kept[0] == kept[1] and kept[0].startswith(b"\xff\xd8")  # the same JPEG from both
    finally:
        await balancer.close()
        codes = list(await asyncio.gather(*(p.stop() for p in processes)))
    assert codes == [0, 0], processes[0].logged() + processes[1].logged()
    assert Counter(balancer.statuses) == Counter({200: len(balancer.statuses)})
