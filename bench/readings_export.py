"""Readings export at city scale: a million accepted readings to a file, its time and its peak memory.

Fills a new SQLite database (and, with --postgres URL, a new database on that server, dropped afterwards) with
N accepted heat readings of November 2026 by bulk Core INSERTs (an account with two meters and one submission
for every two readings; tests/test_readings_export.py seeds them), then runs the operator's command as a process:

    run_bot.py readings export --supplier heat --period 2026-11 --out FILE

and prints the rows it wrote, the seconds, rows per second and its peak memory: the export process's maximum
resident set size, resource.getrusage(RUSAGE_CHILDREN) in a small launcher whose only child it is (started from
this process, grown by the filling, its figure would be this process's: Linux keeps the larger across exec).
The same for an empty period gives the interpreter's and libraries' share, and a database a tenth the size
shows whether memory grows with the rows.

    .venv/bin/python bench/readings_export.py [--readings 1000000] [--smaller 100000]
        [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.bootstrap import build_app  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.test_readings_export import seed_accepted_readings  # noqa: E402

MIB = 2**20
# runs its arguments as its only child; prints the child's seconds and max RSS (KiB on Linux) last on stderr
LAUNCHER = ("import resource, subprocess, sys, time; started = time.monotonic(); code = subprocess.call(sys.argv[1:]); "
            "print(time.monotonic() - started, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
            "file=sys.stderr); sys.exit(code)")


async def fill(url: str, readings: int) -> float:
    """Migrate a new database and put the readings in; the seconds it took."""
    app = await build_app(Settings(_env_file=None, database_url=url))
    try:
        started = time.monotonic()
        await seed_accepted_readings(app.engine, readings)
        async with app.engine.begin() as conn:
            await conn.exec_driver_sql("ANALYZE")  # the planner sees a city, not an empty database
        return time.monotonic() - started
    finally:
        await app.close()


def export(url: str, period: str, out: Path) -> tuple[int, float, int]:
    """Run the export as the operator does: (readings it reported, seconds, its max RSS in bytes)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOMUNALKA_")}
    env["KOMUNALKA_DATABASE_URL"] = url
    result = subprocess.run([sys.executable, "-c", LAUNCHER, sys.executable, str(ROOT / "run_bot.py"), "readings",
                             "export", "--supplier", "heat", "--period", period, "--out", str(out)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    *said, measured = result.stderr.splitlines()
    if result.returncode:
        raise SystemExit(f"the export failed ({result.returncode}):\n" + "\n".join(said))
    seconds, max_rss = measured.split()
    reported = int(said[-1].rsplit(": ", 1)[1].split()[0])  # "FILE: N reading(s)"
    return reported, float(seconds), int(max_rss) * 1024


async def measure(name: str, url: str, readings: int, workdir: Path) -> None:
    filled = await fill(url, readings)
    out = workdir / f"{name}-{readings}.csv"
    _, _, idle = export(url, "2026-10", out)  # no readings that month: the process's own weight
    rows, elapsed, peak = export(url, "2026-11", out)
    with out.open(encoding="utf-8") as f:
        lines = sum(1 for _ in f) - 1
    assert rows == lines == readings, (rows, lines, readings)
    print(f"{name}: {rows:,} rows in {elapsed:.1f} s = {rows / elapsed:,.0f} rows/s, "
          f"{out.stat().st_size / MIB:.0f} MiB of CSV; peak memory (max RSS of the export process) "
          f"{peak / MIB:.0f} MiB, {idle / MIB:.0f} MiB of it for an empty period; database filled in {filled:.0f} s")
    out.unlink()


@asynccontextmanager
async def postgres_database(base: str) -> AsyncIterator[str]:
    """A new database on the server of ``base`` for the run, dropped afterwards."""
    url = make_url(base)
    name = f"komunalka_bench_{uuid.uuid4().hex[:12]}"

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(user=url.username, password=url.password, host=url.host, port=url.port,
                                           database=url.database)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    await admin(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readings", type=int, default=1_000_000, help="accepted readings to export")
    parser.add_argument("--smaller", type=int, help="readings of the comparison database (default: a tenth; "
                                                    "0: none)")
    parser.add_argument("--postgres", metavar="URL", help="also on this PostgreSQL server, e.g. "
                                                          "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    smaller = args.readings // 10 if args.smaller is None else args.smaller
    sizes = [n for n in (smaller, args.readings) if n]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for size in sizes:
            await measure("sqlite", f"sqlite+aiosqlite:///{workdir / f'export-{size}.db'}", size, workdir)
        if args.postgres:
            for size in sizes:
                async with postgres_database(args.postgres) as url:
                    await measure("postgresql", url, size, workdir)


if __name__ == "__main__":
    asyncio.run(main())
