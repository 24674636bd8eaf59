"""Engines and migrations: SQLite tuned for concurrent writers, PostgreSQL with the same code."""

from __future__ import annotations

from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

SQLITE_BUSY_TIMEOUT_S = 30


READ_ONLY = "komunalka_read_only"  # execution option: this engine view only reads (SQLite: a deferred BEGIN)


def read_only(engine: AsyncEngine) -> AsyncEngine:
    """The same engine and pool for transactions that only read: on SQLite they leave the write lock alone."""
    return engine.execution_options(**{READ_ONLY: True})


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; on SQLite every transaction takes the write lock when it begins.

    SQLite lets two transactions read and then fail (or lose an update) when both try to write;
    ``BEGIN IMMEDIATE`` makes the second wait for the first instead, up to the busy timeout.
    """
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S}, hide_parameters=True,
                                     **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(connection: Connection) -> None:
            # a read-only transaction (an export) takes no write lock: in WAL mode it reads its snapshot while
            # the bot goes on writing
            read_only = connection.get_execution_options().get(READ_ONLY)
            connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    # bound parameters (residents' texts, account numbers) never reach exception text or logs
    return create_async_engine(url, hide_parameters=True, **kwargs)


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("storage").joinpath("migrations")))
    config.attributes["connection"] = connection
    return config


MIGRATION_LOCK_KEY = 0x4B4D5F4D4947  # "KM_MIG"


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration; a no-op when it is there already.

    On PostgreSQL several processes starting at once take turns (a transaction-scoped advisory lock):
    the first migrates, the others then find the schema current, instead of racing on the same DDL.
    """
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        await connection.run_sync(lambda sync: command.upgrade(_alembic_config(sync), "head"))


async def schema_revision(engine: AsyncEngine) -> str:
    async with engine.connect() as connection:
        return str((await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar_one())
