"""INSERT ... ON CONFLICT DO NOTHING on either database, and how many rows a statement touched."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Result
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase


async def insert_ignoring_conflict(session: AsyncSession, model: type[DeclarativeBase], values: dict[str, Any]) -> bool:
    """True when a row was inserted."""
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    result = await session.execute(insert(model).values(**values).on_conflict_do_nothing())
    return bool(rows_affected(result))


def rows_affected(result: Result[Any]) -> int:
    """Rows an INSERT, UPDATE or DELETE touched. AsyncSession.execute is typed to give a plain Result; for
    such a statement it is a CursorResult, which counts them."""
    return int(cast(CursorResult[Any], result).rowcount)
