"""How fast a city's register imports: `run_bot.py accounts import` as the operator runs it.

Generates registers from a seed (5 meter rows and 2 accounts a home), then, on a fresh database, times
and measures the peak memory (the import process's maximum resident set) of: the first import, the same
file again, and a file with 1% of the homes changed (payments, meters gone, meters added).

    .venv/bin/python bench/register_import.py --rows 100000 1000000
    .venv/bin/python bench/register_import.py --rows 1000000 --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.postgres_admin import postgres_database  # noqa: E402
from tests.register_files import write_register  # noqa: E402


def timed_import(env: dict[str, str], path: Path, work: Path) -> tuple[float, float, str]:
    """Seconds, peak MiB (the process's maximum resident set) and the last line printed by one import."""
    out, err = work / "import.out", work / "import.err"
    started = time.perf_counter()
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen([sys.executable, str(ROOT / "run_bot.py"), "accounts", "import", str(path)], env=env,
                                stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"import failed: {err.read_text()[-2000:]}")
    marker = "register import: "  # the phases, as the import logs them
    phases = [line.split(marker, 1)[1] for line in err.read_text().splitlines() if marker in line]
    summary = out.read_text().strip().splitlines()[-1]
    return seconds, usage.ru_maxrss / 1024, "\n    ".join([summary, *phases])


def run(rows: int, database: str, work: Path, postgres: str | None) -> None:
    homes = rows // 5
    first, changed = work / f"register-{rows}.csv", work / f"register-{rows}-changed.csv"
    if not first.exists():
        write_register(first, homes, seed=7)
        write_register(changed, homes, seed=7, changed=0.01)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOMUNALKA_")}
    env["KOMUNALKA_CLOCK"] = "2026-11-20T12:00:00+02:00"
    name = f"komunalka_bench_{uuid.uuid4().hex[:8]}"
    if database == "sqlite":
        env["KOMUNALKA_DATABASE_URL"] = f"sqlite+aiosqlite:///{work / (name + '.db')}"
    else:
        assert postgres is not None
        from sqlalchemy.engine import make_url

        asyncio.run(postgres_database(postgres, "create", name))
        env["KOMUNALKA_DATABASE_URL"] = make_url(postgres).set(database=name).render_as_string(hide_password=False)
    try:
        print(f"{rows:,} meter rows ({homes * 2:,} accounts), {database}:")
        for label, path in (("first import", first), ("same file again", first), ("1% of homes changed", changed)):
            seconds, peak, line = timed_import(env, path, work)
            print(f"  {label:<20} {seconds:7.1f} s  {rows / seconds:9,.0f} rows/s  peak {peak:6.0f} MiB")
            print(f"    {line.split(': ', 1)[1]}")
    finally:
        if database == "postgresql" and postgres:
            asyncio.run(postgres_database(postgres, "drop", name))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000])
    parser.add_argument("--postgres", help="a server URL to measure PostgreSQL too (a database is made and dropped)")
    parser.add_argument("--only-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        for rows in args.rows:
            if not args.only_postgres:
                run(rows, "sqlite", Path(work), None)
            if args.postgres:
                run(rows, "postgresql", Path(work), args.postgres)


if __name__ == "__main__":
    main()
