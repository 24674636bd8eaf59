#!/usr/bin/env python3
"""Back up Komunalka's database into a directory, check the copy, and keep the newest few.

The database is the bot's: ``KOMUNALKA_DATABASE_URL`` (komunalka-backup.service reads the bot's environment
file), or ``--url``. The bot may keep running meanwhile.

- PostgreSQL: ``pg_dump --format=custom`` (one consistent snapshot), read back with ``pg_restore --list``
  before it is kept. Restore with ``pg_restore``.
- SQLite: SQLite's online backup API in one step (Python's ``Connection.backup``), a consistent snapshot
  of the committed data, WAL included, while the bot goes on writing. Not the ``sqlite3`` shell's
  ``.backup``: it copies 100 pages at a time and starts again whenever another process writes in between,
  so on a busy database it may never finish. The copy is one self-contained file (journal mode DELETE),
  checked with ``PRAGMA integrity_check``. Restore by putting it in place of the database file, with the
  bot stopped and the old ``-wal`` and ``-shm`` files removed.

A copy is written beside its final name and renamed into place once checked; older copies are removed only
after a new one is kept. Exit code 0 when a copy was kept, 1 when the backup failed (old copies untouched),
2 for a database URL this script cannot back up.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_URL = "sqlite+aiosqlite:///komunalka.db"  # bot/settings.py's default, relative to the working directory
COPY_NAME = re.compile(r"komunalka-\d{8}T\d{6}Z\.(sqlite3|dump)")
PARTIAL_NAME = re.compile(r"\.komunalka-\d{8}T\d{6}Z\.(sqlite3|dump)\.partial")
STALE_PARTIAL_S = 24 * 3600  # a partial copy left by a killed run


class BackupFailed(Exception):
    pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="backup.py", description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--dir", type=Path, default=Path("/var/backups/komunalka"), help="where the copies go")
    parser.add_argument("--keep", type=int, default=14, help="how many copies to keep, newest first (default 14)")
    parser.add_argument("--url", default=os.environ.get("KOMUNALKA_DATABASE_URL", DEFAULT_URL),
                        help="the database (default: KOMUNALKA_DATABASE_URL)")
    args = parser.parse_args(argv)
    if args.keep < 1:
        parser.error("--keep must be at least 1")
    try:
        url = make_url(args.url)
    except ArgumentError:
        print("backup: KOMUNALKA_DATABASE_URL is not a database URL", file=sys.stderr)  # it may hold a password
        return 2
    os.umask(0o077)  # the copies hold residents' personal data
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    try:
        args.dir.mkdir(parents=True, exist_ok=True)
        if url.get_backend_name() == "sqlite":
            if not url.database or url.database == ":memory:":
                print("backup: the SQLite URL names no database file", file=sys.stderr)
                return 2
            final = args.dir / f"komunalka-{stamp}.sqlite3"
            what = _write_checked(final, lambda partial: backup_sqlite(Path(url.database or ""), partial))
        elif url.get_backend_name() == "postgresql":
            final = args.dir / f"komunalka-{stamp}.dump"
            what = _write_checked(final, lambda partial: backup_postgres(url, partial))
        else:
            print(f"backup: cannot back up a {url.get_backend_name()} database", file=sys.stderr)
            return 2
        removed = rotate(args.dir, args.keep)
    except (BackupFailed, OSError) as exc:
        print(f"backup failed: {exc}", file=sys.stderr)
        return 1
    copies = "copy" if len(removed) == 1 else "copies"
    print(f"{final}: {final.stat().st_size} bytes, {what}; {len(removed)} older {copies} removed, keeping {args.keep}")
    return 0


def _write_checked(final: Path, write: Callable[[Path], str]) -> str:
    """Write to a partial file beside ``final``, make it durable and rename it into place."""
    partial = final.with_name(f".{final.name}.partial")
    try:
        what = write(partial)
        with partial.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(partial, final)
        directory = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return what
    finally:
        partial.unlink(missing_ok=True)


def backup_sqlite(database: Path, target: Path) -> str:
    """A consistent copy of a live SQLite database; says which schema revision it holds."""
    if not database.is_file():
        raise BackupFailed(f"{database}: no such database file")
    # read-write, never create: a reader of a WAL database writes its -shm file; a typo must not make a new one
    source = sqlite3.connect(database.absolute().as_uri() + "?mode=rw", uri=True, timeout=30)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)  # pages=-1: every page in one step, under one read transaction
            copy.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
            problems = [row[0] for row in copy.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise BackupFailed(f"the copy fails its integrity check: {problems[:3]}")
            revision = _revision(copy)
        finally:
            copy.close()
    except sqlite3.Error as exc:
        raise BackupFailed(f"{database}: {exc}") from None
    finally:
        source.close()
    return f"schema revision {revision}"


def _revision(copy: sqlite3.Connection) -> str:
    try:
        row = copy.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        row = None
    if row is None:
        raise BackupFailed("not a Komunalka database (no schema revision)")
    return str(row[0])


def backup_postgres(url: URL, target: Path) -> str:
    """pg_dump's custom format, read back by pg_restore before it counts."""
    env = libpq_environment(url)
    for tool in ("pg_dump", "pg_restore"):
        if shutil.which(tool) is None:
            raise BackupFailed(f"{tool} not found: install the PostgreSQL client of the server's major version "
                               "(postgresql-client-NN)")
    # an unlogged table is emptied by every crash by design: nothing in it is worth restoring
    _run(["pg_dump", "--format=custom", "--no-unlogged-table-data", "--file", str(target)], env)
    listing = _run(["pg_restore", "--list", str(target)], env)
    if not re.search(r"TABLE DATA \S+ alembic_version ", listing):
        raise BackupFailed("not a Komunalka database (the dump holds no alembic_version)")
    return f"{sum(' TABLE DATA ' in line for line in listing.splitlines())} tables"


def libpq_environment(url: URL) -> dict[str, str]:
    """The URL as libpq's PG* variables: a password in the environment, not on a command line that `ps` shows."""
    env = dict(os.environ)
    given = {"PGHOST": url.host or _query(url, "host"), "PGPORT": str(url.port) if url.port else None,
             "PGUSER": url.username, "PGPASSWORD": url.password, "PGDATABASE": url.database,
             "PGSSLMODE": _query(url, "sslmode") or _query(url, "ssl")}
    env.update({name: value for name, value in given.items() if value})
    return env


def _query(url: URL, key: str) -> str | None:
    value = url.query.get(key)
    return value if isinstance(value, str) else None


def _run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupFailed(f"{command[0]} exit {done.returncode}: {done.stderr.strip()[-500:]}")
    return done.stdout


def rotate(directory: Path, keep: int) -> list[Path]:
    """Remove all but the newest ``keep`` copies (names sort by time), and partial copies a killed run left."""
    copies = sorted(p for p in directory.iterdir() if COPY_NAME.fullmatch(p.name))
    removed = copies[:-keep]
    for path in removed:
        path.unlink()
    for path in directory.iterdir():
        if PARTIAL_NAME.fullmatch(path.name) and time.time() - path.stat().st_mtime > STALE_PARTIAL_S:
            path.unlink()
    return removed


if __name__ == "__main__":
    sys.exit(main())
