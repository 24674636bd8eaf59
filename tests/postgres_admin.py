"""Creating and dropping databases of a PostgreSQL server, for the benchmarks."""

from __future__ import annotations


async def postgres_database(base: str, action: str, name: str) -> None:
    """Create or drop a database of the server at ``base`` (a SQLAlchemy URL)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(base)
    admin = await asyncpg.connect(user=url.username, password=url.password, host=url.host, port=url.port,
                                  database=url.database)
    try:
        if action == "create":
            await admin.execute(f'CREATE DATABASE "{name}"')
        else:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
