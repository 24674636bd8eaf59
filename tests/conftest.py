from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.events import Reply
from core.service import ConversationService
from core.supplier_config import load_suppliers
from bot.dialogs.render import render
from bot.dialogs.table import CONVERSATION
from tests.fakes import FakeUnitOfWork, Store
from tests.talk import Talk

KYIV = ZoneInfo("Europe/Kyiv")
HEAT = "100000000000001"  # the heat account most conversation tests link


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    """run_bot.py's environment for a command run as a process: a new SQLite file, the clock frozen in November."""
    import os

    clean = {k: v for k, v in os.environ.items() if not k.startswith("KOMUNALKA_")}
    clean.update(KOMUNALKA_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'k.db'}",
                 KOMUNALKA_CLOCK="2026-11-20T12:00:00+02:00")
    return clean


@pytest.fixture
def suppliers():
    return load_suppliers()


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 20, 12, 0, tzinfo=KYIV))


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def service(store, clock, suppliers) -> ConversationService:
    return ConversationService(lambda: FakeUnitOfWork(store), CONVERSATION, suppliers, clock, KYIV)


@pytest.fixture
def heat_account(store):
    """A heat account with a heating and a hot water meter, both read on 28.10.2026."""
    return store.add_account("heat", HEAT, payment="1234.56", meters=[
        {"serial": "HT-1", "service": "heating", "last": "1520.125", "on": date(2026, 10, 28)},
        {"serial": "HW-1", "service": "hot_water", "last": "312.4", "on": date(2026, 10, 28)},
    ])


@pytest.fixture
def talk(service) -> Talk:
    return Talk(service, "console", "1001")


def rendered_everywhere(replies: tuple[Reply, ...]) -> None:
    """Every reply renders in every language: a missing text or parameter fails here."""
    for reply in replies:
        for language in ("uk", "en"):
            render(reply, language)


POSTGRES_ENV = "KOMUNALKA_TEST_POSTGRES_URL"


async def _postgres_database() -> tuple[str, str] | str:
    """A fresh database on the test server: (url, name), or why there is none."""
    import os
    import uuid

    import asyncpg
    from sqlalchemy.engine import make_url

    base = os.environ.get(POSTGRES_ENV)
    if not base:
        return f"PostgreSQL tests skipped: {POSTGRES_ENV} is not set (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test)"
    url = make_url(base)
    name = f"komunalka_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = await asyncpg.connect(user=url.username, password=url.password, host=url.host, port=url.port,
                                      database=url.database, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        return f"PostgreSQL tests skipped: no server answered at {url.host}:{url.port} ({exc.__class__.__name__})"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return url.set(database=name).render_as_string(hide_password=False), name


async def _drop_postgres(base: str, name: str) -> None:
    import os

    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(os.environ[POSTGRES_ENV])
    admin = await asyncpg.connect(user=url.username, password=url.password, host=url.host, port=url.port,
                                  database=url.database)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def postgres():
    """A fresh, empty database on the PostgreSQL test server (its URL), dropped afterwards; skipped without one."""
    made = await _postgres_database()
    if isinstance(made, str):
        pytest.skip(made)
    url, name = made
    try:
        yield url
    finally:
        await _drop_postgres(url, name)


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request, tmp_path):
    """A real, empty database: a SQLite file, and the PostgreSQL server where one answers."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'komunalka.db'}"
        return
    made = await _postgres_database()
    if isinstance(made, str):
        pytest.skip(made)
    url, name = made
    yield url
    await _drop_postgres(url, name)


@pytest.fixture
async def sql_app(database_url, tmp_path):
    """The real application (storage, migrations, conversation) on a real database."""
    from bot.bootstrap import build_app
    from bot.settings import Settings

    app = await build_app(Settings(database_url=database_url, clock=datetime(2026, 11, 20, 12, tzinfo=KYIV),
                                   photo_dir=tmp_path / "photos", _env_file=None))
    yield app
    await app.close()


@pytest.fixture
async def telegram():
    """A fake Telegram Bot API on 127.0.0.1."""
    from tests.fake_telegram import FakeTelegram

    fake = FakeTelegram()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def viber():
    """A fake Viber REST API on 127.0.0.1."""
    from tests.fake_viber import FakeViber

    fake = FakeViber()
    await fake.start()
    yield fake
    await fake.stop()
