"""Webhook throughput of the bot against a bare aiogram echo bot, on this machine, in one run.

Both run as processes against the same local fake Bot API; this script drives N `/start` updates
from N different residents at 40 concurrent connections (Telegram's default max_connections) and
measures, per bot, updates per second (first request to last reply) and the latency from posting an
update to its reply reaching the API. Komunalka records every update in its database before it
answers 200, runs the conversation step in a transaction and sends from its outbox; the echo bot
does none of that.

    .venv/bin/python bench/telegram_webhook.py [--updates 2000] [--database-url URL]
    .venv/bin/python bench/telegram_webhook.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres

With --postgres, the same run also measures one and two bot processes on a new PostgreSQL database of
that server, the two behind a round-robin "load balancer" (updates alternate between their ports).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fake_telegram import FakeTelegram, message_update  # noqa: E402

SECRET = "bench-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_healthy(port: int, proc: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if proc.returncode is not None:
                raise SystemExit(f"bot exited with {proc.returncode}")
            await asyncio.sleep(0.1)
    raise SystemExit("bot did not become healthy")


async def drive(api: FakeTelegram, ports: list[int], updates: int, concurrency: int,
                first_chat: int) -> dict[str, float]:
    posted: dict[int, float] = {}
    chats = list(range(first_chat, first_chat + updates))
    queue: asyncio.Queue[int] = asyncio.Queue()
    for chat in chats:
        queue.put_nowait(chat)
    connector = aiohttp.TCPConnector(limit=concurrency)
    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector) as http:
        async def connection() -> None:
            while not queue.empty():
                chat = queue.get_nowait()
                body = json.dumps(message_update(chat, "/start"))
                posted[chat] = time.perf_counter()
                port = ports[chat % len(ports)]  # a round-robin load balancer
                async with http.post(f"http://127.0.0.1:{port}/telegram/webhook", data=body, headers={
                        "X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}) as r:
                    if r.status != 200:
                        raise SystemExit(f"webhook answered {r.status}")

        await asyncio.gather(*(connection() for _ in range(concurrency)))
    answered: dict[int, float] = {}
    deadline = time.perf_counter() + 300
    wanted = set(chats)
    seen = 0
    while len(answered) < updates and time.perf_counter() < deadline:
        for call in api.calls[seen:]:
            if call.method == "sendMessage" and call.status == 200:
                chat = int(call.params["chat_id"])
                if chat in wanted and chat not in answered:
                    answered[chat] = call.at
        seen = len(api.calls)
        await asyncio.sleep(0.01)
    if len(answered) < updates:
        raise SystemExit(f"only {len(answered)} of {updates} updates were answered")
    # FakeTelegram stamps calls with time.monotonic(); perf_counter shares its clock on Linux
    latencies = sorted(answered[c] - posted[c] for c in chats)
    elapsed = max(answered.values()) - started
    return {
        "updates_per_s": updates / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


async def run_komunalka(api: FakeTelegram, args: argparse.Namespace, workdir: Path, database_url: str,
                        processes: int = 1, first_chat: int = 1_000_000) -> dict[str, float]:
    ports = [free_port() for _ in range(processes)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOMUNALKA_")}
    env.update(KOMUNALKA_DATABASE_URL=database_url,
               KOMUNALKA_TELEGRAM_TOKEN=api.token, KOMUNALKA_TELEGRAM_API_URL=api.url,
               KOMUNALKA_PUBLIC_URL="https://bench.invalid", KOMUNALKA_TELEGRAM_WEBHOOK_SECRET=SECRET,
               KOMUNALKA_HTTP_HOST="127.0.0.1", KOMUNALKA_LOG_LEVEL="WARNING",
               # replies take slots of the bot's send budget: at Telegram's 30 a second this would measure the
               # limit, not the bot (the echo bot has none); the highest rate the settings allow keeps it out of the way
               KOMUNALKA_TELEGRAM_RATE="1000")
    procs = [await asyncio.create_subprocess_exec(sys.executable, str(ROOT / "run_bot.py"), "run", cwd=workdir,
                                                  env={**env, "KOMUNALKA_HTTP_PORT": str(port)}) for port in ports]
    return await measure(api, args, ports, procs, first_chat)


async def run_bare(api: FakeTelegram, args: argparse.Namespace) -> dict[str, float]:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(sys.executable, str(ROOT / "bench" / "bare_aiogram_echo.py"),
                                                "--api", api.url, "--token", api.token, "--port", str(port))
    return await measure(api, args, [port], [proc], first_chat=2_000_000)


async def measure(api: FakeTelegram, args: argparse.Namespace, ports: list[int],
                  procs: list[asyncio.subprocess.Process], first_chat: int) -> dict[str, float]:
    """Warm the bot up, measure it, stop it: the same for every bot."""
    try:
        for port, proc in zip(ports, procs):
            await wait_healthy(port, proc)
        await drive(api, ports, args.warmup, args.concurrency, first_chat + 500_000)
        return await drive(api, ports, args.updates, args.concurrency, first_chat)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            await proc.wait()
        api.calls.clear()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=40)
    parser.add_argument("--database-url", help="default: a new SQLite file")
    parser.add_argument("--postgres", help="a PostgreSQL server URL: also 1 and 2 processes on a new database of it")
    args = parser.parse_args()
    results: list[tuple[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        api = FakeTelegram()
        await api.start()
        try:
            results.append(("bare aiogram echo", await run_bare(api, args)))
            url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            results.append(("komunalka" if args.database_url else "komunalka, SQLite",
                            await run_komunalka(api, args, Path(tmp), url)))
            if args.postgres:
                results += await run_postgres(api, args, Path(tmp))
        finally:
            await api.stop()
    print(f"{args.updates} /start updates from {args.updates} residents, {args.concurrency} connections")
    print(f"{'':32}{'updates/s':>12}{'p50 ms':>10}{'p99 ms':>10}{'÷ bare':>8}")
    bare = results[0][1]["updates_per_s"]
    for name, result in results:
        print(f"{name:32}{result['updates_per_s']:>12.0f}{result['p50_ms']:>10.1f}{result['p99_ms']:>10.1f}"
              f"{result['updates_per_s'] / bare:>8.2f}")


async def run_postgres(api: FakeTelegram, args: argparse.Namespace,
                       workdir: Path) -> list[tuple[str, dict[str, float]]]:
    from sqlalchemy.engine import make_url

    from tests.postgres_admin import postgres_database

    measured = []
    for processes, first_chat in ((1, 3_000_000), (2, 4_000_000)):
        name = f"komunalka_webhook_{uuid.uuid4().hex[:8]}"
        await postgres_database(args.postgres, "create", name)
        try:
            url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
            label = f"komunalka, PostgreSQL, {processes} proc."
            measured.append((label, await run_komunalka(api, args, workdir, url, processes, first_chat)))
        finally:
            await postgres_database(args.postgres, "drop", name)
    return measured


if __name__ == "__main__":
    asyncio.run(main())
