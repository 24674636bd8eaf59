"""The composition root: builds the application from settings. Nothing connects at import time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from core.domain import SupplierSpec
from core.ports import PictureStore
from core.service import ConversationService
from core.supplier_config import load_suppliers
from bot.delivery.send_budget import SlotStore
from bot.delivery.slots_in_process import InProcessSlots
from bot.dialogs.chart_drawer import ChartDrawer
from bot.dialogs.table import CONVERSATION
from bot.photos.intake import PhotoIntake
from bot.photos.recognizer import start_recognizer
from bot.photos.store import LocalPhotoStore, photo_dir
from bot.settings import Settings
from storage.database import create_engine, migrate, read_only
from storage.pictures import SqlPictures
from storage.uow import SqlUnitOfWork


@dataclass
class App:
    settings: Settings
    engine: AsyncEngine
    suppliers: dict[str, SupplierSpec]
    service: ConversationService
    uow_factory: Callable[[], SqlUnitOfWork]
    clock: Callable[[], datetime]
    charts: ChartDrawer = field(default_factory=ChartDrawer)  # its worker starts at the first chart
    send_slots: SlotStore = field(default_factory=InProcessSlots)  # where the bots' send budgets are kept
    photos: PhotoIntake | None = None  # residents' meter photos: fetched, kept, read
    pictures: PictureStore | None = None  # the pictures Viber fetches from the bot (charts, payment QR codes)

    async def close(self) -> None:
        self.charts.close()
        if self.photos is not None:
            await self.photos.close()
        await self.send_slots.close()
        await self.engine.dispose()


def make_send_slots(settings: Settings, engine: AsyncEngine) -> SlotStore:
    """Redis when configured, else the PostgreSQL database, else this process's memory (SQLite: one process).

    Neither shared store connects here: the first slot asked for does."""
    if settings.redis_url is not None:
        from bot.delivery.slots_redis import RedisSlots

        return RedisSlots(settings.redis_url.get_secret_value())
    if engine.dialect.name == "postgresql":
        from storage.send_slots import PostgresSlots

        return PostgresSlots(settings.database_url)
    return InProcessSlots()


def make_clock(settings: Settings) -> Callable[[], datetime]:
    frozen = settings.clock
    if frozen is not None:
        return lambda: frozen
    return lambda: datetime.now(timezone.utc)


async def build_app(settings: Settings) -> App:
    """Load the supplier file, open the database and bring its schema up to date."""
    suppliers = load_suppliers(settings.suppliers_file)
    engine = create_engine(settings.database_url)
    await migrate(engine)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    clock = make_clock(settings)
    write_lock = asyncio.Lock() if engine.dialect.name == "sqlite" else None

    def uow_factory() -> SqlUnitOfWork:
        return SqlUnitOfWork(sessions, write_lock)

    photos = make_photo_intake(settings)
    service = ConversationService(uow_factory, CONVERSATION, suppliers, clock, settings.zone, photos=photos.store)
    return App(settings, engine, suppliers, service, uow_factory, clock, send_slots=make_send_slots(settings, engine),
               photos=photos, pictures=SqlPictures(uow_factory, read_only(engine), clock))


def make_photo_intake(settings: Settings) -> PhotoIntake:
    """Photos in their folder; recognition when the [ocr] extra is installed (its processes start at the first
    photo) and not switched off."""
    store = LocalPhotoStore(photo_dir(settings.database_url, settings.photo_dir))
    recognizer = start_recognizer(settings.ocr_time_limit_seconds) if settings.ocr else None
    return PhotoIntake(store, recognizer, settings.photo_max_bytes, settings.photo_fetch_timeout_seconds)
